/**
 * The official MCP Registry response shapes (ServerResponse, ServerList), built from
 * `ServerEntry`s: server.json exactly as published, the official `_meta`, and the fleet's
 * governance block.
 *
 * Two views: the public one (what a syncing registry client or an anonymous reader gets) and the
 * detailed one, for a caller with a registry:read token, which adds on-call (in the governance
 * block and in server.json's publisher metadata), reviewer names, review notes and the health
 * probe's raw error. `detail` says which.
 */
import type { ReviewRow } from "../shared/db/fleet.schema";
import { FLEET_META, OFFICIAL_META, PUBLISHER_META, type PublisherMeta } from "../shared/registry/registry.contract";
import { type ServerEntry, versionInReview } from "./registry.store";

export type OfficialStatus = "active" | "deprecated" | "deleted";

export interface HealthSummary {
  status: "up" | "down" | "unknown";
  checkedAt?: string;
  latencyMs?: number;
  error?: string;
}

/** The lifecycle overrides a version's own status: a deprecated server's versions are all deprecated. */
export function officialStatus(entry: ServerEntry): OfficialStatus {
  if (entry.server.lifecycle === "retired") return "deleted";
  if (entry.server.lifecycle === "deprecated") return "deprecated";
  return entry.version.status;
}

/** Up, down or unknown, with latency; the probe's error (what the URL answered) only with `detail`. */
export function healthOf(entry: Pick<ServerEntry, "server">, detail: boolean): HealthSummary {
  const { healthUp, healthCheckedAt, healthLatencyMs, healthError } = entry.server;
  if (healthUp === null || !healthCheckedAt) return { status: "unknown" };
  return {
    status: healthUp ? "up" : "down",
    checkedAt: healthCheckedAt.toISOString(),
    latencyMs: healthLatencyMs ?? undefined,
    ...(detail && healthError ? { error: healthError } : {}),
  };
}

/** A review record; who reviewed and their notes only with `detail`. */
export function reviewJson(review: ReviewRow, detail: boolean) {
  return {
    id: review.id,
    kind: review.kind,
    state: review.state,
    ...(detail ? { reviewer: review.reviewer } : {}),
    at: review.at.toISOString(),
    ...(detail ? { notes: review.notes } : {}),
    version: review.version,
  };
}

/**
 * server.json as published; in the public view without the publisher's on-call contact (the only
 * field of it that needs a signed-in caller), so an anonymous sync cannot harvest it.
 */
export function documentFor(document: Record<string, unknown>, detail: boolean): Record<string, unknown> {
  const meta = document._meta as Record<string, Record<string, unknown> | undefined> | undefined;
  const publisher = meta?.[PUBLISHER_META];
  if (detail || !publisher || !("onCall" in publisher)) return document;
  const { onCall: _hidden, ...shown } = publisher;
  return { ...document, _meta: { ...meta, [PUBLISHER_META]: shown } };
}

function publisherOf(document: Record<string, unknown>): Partial<PublisherMeta> | undefined {
  const meta = document._meta as Record<string, Partial<PublisherMeta> | undefined> | undefined;
  return meta?.[PUBLISHER_META];
}

/**
 * What the version offers besides its tools' rows, as its document published it (the document is
 * what the inventory digest covers): each tool's task mode and asks, its resources, resource
 * templates and prompts (empty lists for a version that has none, or was published before they were carried).
 */
function offeredBy(document: Record<string, unknown>) {
  const publisher = publisherOf(document);
  const byName = new Map((publisher?.tools ?? []).map((tool) => [tool.name, tool]));
  return {
    toolExtras: (name: string) => {
      const { task, asks } = byName.get(name) ?? {};
      return { ...(task ? { task } : {}), ...(asks ? { asks } : {}) };
    },
    resources: publisher?.resources ?? [],
    resourceTemplates: publisher?.resourceTemplates ?? [],
    prompts: publisher?.prompts ?? [],
  };
}

export function toServerResponse(entry: ServerEntry, detail: boolean) {
  const { server, version } = entry;
  const review = (kind: keyof ServerEntry["reviews"]) => {
    const current = entry.reviews[kind];
    return current && reviewJson(current, detail);
  };
  const offered = offeredBy(version.document);
  return {
    server: documentFor(version.document, detail),
    _meta: {
      [OFFICIAL_META]: {
        status: officialStatus(entry),
        publishedAt: version.publishedAt.toISOString(),
        updatedAt: version.updatedAt.toISOString(),
        // The public view holds only the approved version: the latest a reader without a token can sync.
        isLatest: detail ? version.isLatest : true,
      },
      [FLEET_META]: {
        name: server.name,
        team: server.team,
        // The public view shows the approved version: its support channel, not a newer one's in review.
        supportChannel: detail
          ? server.supportChannel
          : (publisherOf(version.document)?.supportChannel ?? server.supportChannel),
        ...(detail ? { onCall: server.onCall } : {}),
        lifecycle: server.lifecycle,
        lifecycleChangedAt: server.lifecycleChangedAt.toISOString(),
        /** What the last approval covered; the server refuses to serve anything else. */
        approvedVersion: server.approvedVersion,
        approvedToolsDigest: server.approvedToolsDigest,
        /** The newest version published, and the one waiting for reviewers (null when none is): registry:read only. */
        ...(detail ? { latestVersion: server.latestVersion, versionInReview: versionInReview(server) } : {}),
        /** This version's inventory digest (server text, tools, resources, prompts: shared/registry/tool.digest.ts). */
        toolsDigest: version.toolsDigest,
        environments: server.environments,
        allowedGroups: server.allowedGroups,
        allowedServices: server.allowedServices,
        reviews: { security: review("security"), legal: review("legal"), genai: review("genai") },
        tools: entry.tools.map((tool) => ({
          name: tool.name,
          description: tool.description,
          annotations: tool.annotations,
          access: tool.access,
          needsApproval: tool.needsApproval,
          minutesSaved: tool.minutesSaved,
          ...offered.toolExtras(tool.name),
        })),
        resources: offered.resources,
        resourceTemplates: offered.resourceTemplates,
        prompts: offered.prompts,
        health: healthOf(entry, detail),
      },
    },
  };
}

export type ServerResponse = ReturnType<typeof toServerResponse>;
