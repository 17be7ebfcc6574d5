/**
 * The official MCP Registry response shapes (ServerResponse, ServerList), built from
 * `ServerEntry`s: server.json exactly as published, the official `_meta`, and the fleet's
 * governance block.
 */
import type { ReviewRow } from "../shared/db/fleet.schema";
import { FLEET_META, OFFICIAL_META } from "../shared/registry/registry.contract";
import type { ServerEntry } from "./registry.store";

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

export function healthOf(entry: Pick<ServerEntry, "server">): HealthSummary {
  const { healthUp, healthCheckedAt, healthLatencyMs, healthError } = entry.server;
  if (healthUp === null || !healthCheckedAt) return { status: "unknown" };
  return {
    status: healthUp ? "up" : "down",
    checkedAt: healthCheckedAt.toISOString(),
    latencyMs: healthLatencyMs ?? undefined,
    ...(healthError ? { error: healthError } : {}),
  };
}

export function reviewJson(review: ReviewRow) {
  return {
    id: review.id,
    kind: review.kind,
    state: review.state,
    reviewer: review.reviewer,
    at: review.at.toISOString(),
    notes: review.notes,
    version: review.version,
  };
}

export function toServerResponse(entry: ServerEntry) {
  const { server, version } = entry;
  return {
    server: version.document,
    _meta: {
      [OFFICIAL_META]: {
        status: officialStatus(entry),
        publishedAt: version.publishedAt.toISOString(),
        updatedAt: version.updatedAt.toISOString(),
        isLatest: version.isLatest,
      },
      [FLEET_META]: {
        name: server.name,
        team: server.team,
        supportChannel: server.supportChannel,
        onCall: server.onCall,
        lifecycle: server.lifecycle,
        lifecycleChangedAt: server.lifecycleChangedAt.toISOString(),
        environments: server.environments,
        allowedGroups: server.allowedGroups,
        allowedServices: server.allowedServices,
        reviews: {
          security: entry.reviews.security && reviewJson(entry.reviews.security),
          legal: entry.reviews.legal && reviewJson(entry.reviews.legal),
          genai: entry.reviews.genai && reviewJson(entry.reviews.genai),
        },
        tools: entry.tools.map((tool) => ({
          name: tool.name,
          description: tool.description,
          annotations: tool.annotations,
          access: tool.access,
          needsApproval: tool.needsApproval,
          minutesSaved: tool.minutesSaved,
        })),
        health: healthOf(entry),
      },
    },
  };
}

export type ServerResponse = ReturnType<typeof toServerResponse>;
