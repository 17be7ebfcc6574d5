/**
 * The registry's D1 queries (drizzle): servers with their versions, tools, current reviews and
 * last health, read as `ServerEntry`; writes as single D1 batches, so nothing is half-written.
 */
import { and, desc, eq, gt, inArray, ne, or, type SQL, sql } from "drizzle-orm";
import { type DrizzleD1Database, drizzle } from "drizzle-orm/d1";
import semver from "semver";
import {
  healthChecks,
  type Lifecycle,
  REVIEW_KINDS,
  type ReviewKind,
  type ReviewRow,
  reviews,
  type ServerEventRow,
  type ServerRow,
  type ServerVersionRow,
  type ServiceRule,
  serverEvents,
  servers,
  serverVersions,
  type ToolRow,
  tools,
} from "../shared/db/fleet.schema";
import type { ServerPolicy } from "../shared/registry/access";
import { PUBLISHER_META, type ServerJson } from "../shared/registry/registry.contract";
import { inventoryDigest, publishedInventory } from "../shared/registry/tool.digest";

/** One version of one server with everything the registry knows about it. */
export interface ServerEntry {
  server: ServerRow;
  version: ServerVersionRow;
  tools: ToolRow[];
  reviews: Record<ReviewKind, ReviewRow | null>;
}

export interface ServerQuery {
  /** A case-insensitive substring of the name, title or description. */
  search?: string;
  /** Each of these must be a substring of the name, title or description (the MCP search tool's words). */
  words?: string[];
  team?: string;
  lifecycle?: Lifecycle;
  /** Leave out drafts (their text is unreviewed). */
  excludeDrafts?: boolean;
  /**
   * Only what reviewers approved: servers with an approved version that are approved, deprecated
   * or retired, at that version (the public view; see isPublic).
   */
  approvedOnly?: boolean;
  status?: "up" | "down" | "unknown";
  updatedSince?: Date;
  /** Only each server's latest version (`version=latest`). */
  latestOnly?: boolean;
  /** A specific version string (`version=1.2.0`). */
  version?: string;
  /** Opaque cursor from a previous page. */
  cursor?: string;
  limit: number;
}

export class InvalidCursorError extends Error {}

type BatchItem = Parameters<DrizzleD1Database["batch"]>[0][number];

export function db(d1: D1Database): DrizzleD1Database {
  return drizzle(d1);
}

/** Keyset pagination over (server name, version): stable while servers are being published. */
export async function searchServers(
  d1: D1Database,
  query: ServerQuery,
): Promise<{ entries: ServerEntry[]; nextCursor?: string }> {
  const orm = db(d1);
  const where: (SQL | undefined)[] = [];
  if (query.latestOnly) where.push(eq(serverVersions.isLatest, true));
  if (query.version) where.push(eq(serverVersions.version, query.version));
  for (const text of [query.search, ...(query.words ?? [])]) {
    if (!text) continue;
    const pattern = `%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
    where.push(
      or(
        sql`${serverVersions.serverName} LIKE ${pattern} ESCAPE '\\'`,
        sql`${serverVersions.title} LIKE ${pattern} ESCAPE '\\'`,
        sql`${serverVersions.description} LIKE ${pattern} ESCAPE '\\'`,
      ),
    );
  }
  if (query.team) where.push(eq(servers.team, query.team));
  if (query.lifecycle) where.push(eq(servers.lifecycle, query.lifecycle));
  if (query.excludeDrafts) where.push(ne(servers.lifecycle, "draft"));
  if (query.approvedOnly) {
    where.push(inArray(servers.lifecycle, [...PUBLIC_LIFECYCLES]), eq(serverVersions.version, servers.approvedVersion));
  }
  if (query.status === "up") where.push(eq(servers.healthUp, true));
  if (query.status === "down") where.push(eq(servers.healthUp, false));
  if (query.status === "unknown") where.push(sql`${servers.healthUp} IS NULL`);
  if (query.updatedSince) where.push(gt(serverVersions.updatedAt, query.updatedSince));
  if (query.cursor) {
    const [name, version] = decodeCursor(query.cursor);
    where.push(sql`(${serverVersions.serverName}, ${serverVersions.version}) > (${name}, ${version})`);
  }
  const rows = await orm
    .select({ server: servers, version: serverVersions })
    .from(serverVersions)
    .innerJoin(servers, eq(servers.name, serverVersions.serverName))
    .where(and(...where))
    .orderBy(serverVersions.serverName, serverVersions.version)
    .limit(query.limit + 1);
  const page = rows.slice(0, query.limit);
  const last = page.at(-1);
  const nextCursor =
    rows.length > query.limit && last ? encodeCursor(last.version.serverName, last.version.version) : undefined;
  return { entries: await withDetails(d1, page), nextCursor };
}

/** One version (or the latest) of a server; undefined when there is none. */
export async function getServerEntry(
  d1: D1Database,
  name: string,
  version: string | "latest",
): Promise<ServerEntry | undefined> {
  const orm = db(d1);
  const rows = await orm
    .select({ server: servers, version: serverVersions })
    .from(serverVersions)
    .innerJoin(servers, eq(servers.name, serverVersions.serverName))
    .where(
      and(
        eq(serverVersions.serverName, name),
        version === "latest" ? eq(serverVersions.isLatest, true) : eq(serverVersions.version, version),
      ),
    )
    .limit(1);
  const [entry] = await withDetails(d1, rows);
  return entry;
}

/** Every version of a server, newest first. */
export async function listVersions(d1: D1Database, name: string): Promise<ServerEntry[]> {
  const rows = await db(d1)
    .select({ server: servers, version: serverVersions })
    .from(serverVersions)
    .innerJoin(servers, eq(servers.name, serverVersions.serverName))
    .where(eq(serverVersions.serverName, name))
    .orderBy(desc(serverVersions.publishedAt));
  return withDetails(d1, rows);
}

export async function getServerRow(d1: D1Database, name: string): Promise<ServerRow | undefined> {
  const [row] = await db(d1).select().from(servers).where(eq(servers.name, name)).limit(1);
  return row;
}

/** What a domain server enforces (the `serverPolicy` RPC). */
export async function getServerPolicy(d1: D1Database, name: string): Promise<ServerPolicy | null> {
  const row = await getServerRow(d1, name);
  return row ? policyOf(row) : null;
}

/**
 * The version reviewers approved (what domain servers serve and agents may read), else the
 * latest; undefined when there is no such server.
 */
export async function getServedEntry(d1: D1Database, name: string): Promise<ServerEntry | undefined> {
  const server = await getServerRow(d1, name);
  if (!server) return undefined;
  return (
    (server.approvedVersion ? await getServerEntry(d1, name, server.approvedVersion) : undefined) ??
    getServerEntry(d1, name, "latest")
  );
}

/** Lifecycles whose approved version anyone may read: approved, and the ends of approved servers. */
export const PUBLIC_LIFECYCLES = ["approved", "deprecated", "retired"] as const;

/** Whether anyone (no token) may read this server: reviewers approved a version of it. */
export function isPublic(server: ServerRow): server is ServerRow & { approvedVersion: string } {
  return server.approvedVersion !== null && (PUBLIC_LIFECYCLES as readonly string[]).includes(server.lifecycle);
}

/**
 * The version waiting for reviewers: the latest of a server in review, or of an approved server
 * whose latest is not the approved one; null otherwise.
 */
export function versionInReview(server: ServerRow): string | null {
  if (server.lifecycle === "in_review") return server.latestVersion;
  if (server.lifecycle === "approved" && server.latestVersion !== server.approvedVersion) return server.latestVersion;
  return null;
}

/** A server row's governance, as the access evaluation reads it. */
export function policyOf(server: ServerRow): ServerPolicy {
  return {
    name: server.name,
    lifecycle: server.lifecycle,
    environments: server.environments,
    allowedGroups: server.allowedGroups,
    allowedServices: server.allowedServices,
    approvedVersion: server.approvedVersion,
    toolsDigest: server.approvedToolsDigest,
  };
}

export async function listReviews(d1: D1Database, name: string): Promise<ReviewRow[]> {
  return db(d1).select().from(reviews).where(eq(reviews.serverName, name)).orderBy(desc(reviews.at));
}

export async function listEvents(d1: D1Database, name: string, limit = 100): Promise<ServerEventRow[]> {
  return db(d1)
    .select()
    .from(serverEvents)
    .where(eq(serverEvents.serverName, name))
    .orderBy(desc(serverEvents.at))
    .limit(limit);
}

export async function listHealthChecks(d1: D1Database, name: string, limit = 50) {
  return db(d1)
    .select()
    .from(healthChecks)
    .where(eq(healthChecks.serverName, name))
    .orderBy(desc(healthChecks.at))
    .limit(limit);
}

/** Distinct owning teams, for the page's filter. */
export async function listTeams(d1: D1Database): Promise<string[]> {
  const rows = await db(d1).selectDistinct({ team: servers.team }).from(servers).orderBy(servers.team);
  return rows.map((row) => row.team);
}

export class ConflictError extends Error {}

/**
 * Publishes a version: creates the server on first publish (draft), adds the version, its tools
 * and the digest of its tool inventory, moves `isLatest` when this version is the highest. One
 * batch: all or nothing.
 */
export async function publishVersion(
  d1: D1Database,
  shortName: string,
  document: ServerJson,
  actor: string,
  now = new Date(),
): Promise<void> {
  const orm = db(d1);
  const meta = document._meta[PUBLISHER_META];
  const existing = await getServerRow(d1, shortName);
  const versions = existing
    ? await orm
        .select({ version: serverVersions.version })
        .from(serverVersions)
        .where(eq(serverVersions.serverName, shortName))
    : [];
  if (versions.some((row) => row.version === document.version)) {
    throw new ConflictError(`version ${document.version} of ${shortName} is already published; publish a new version`);
  }
  const isLatest = versions.every((row) => semver.gt(document.version, row.version));
  const statements: BatchItem[] = [];
  if (existing) {
    statements.push(
      orm
        .update(servers)
        .set({
          // Environments, groups and services are proposed on the first publish only; afterwards
          // they change through PUT .../access. The owning team changes only by an admin's publish.
          team: meta.team,
          ...(isLatest
            ? { supportChannel: meta.supportChannel, onCall: meta.onCall, latestVersion: document.version }
            : {}),
          updatedAt: now,
        })
        .where(eq(servers.name, shortName)),
    );
    if (isLatest) {
      // An approval covers the version that was reviewed: a new latest version of an approved
      // server is in review (servers.latestVersion differs from approvedVersion) while the
      // approved version, and only it, keeps serving, until reviewers approve the new one.
      statements.push(
        orm
          .update(serverVersions)
          .set({ isLatest: false, updatedAt: now })
          .where(and(eq(serverVersions.serverName, shortName), eq(serverVersions.isLatest, true))),
      );
    }
  } else {
    statements.push(
      orm.insert(servers).values({
        name: shortName,
        team: meta.team,
        supportChannel: meta.supportChannel,
        onCall: meta.onCall,
        lifecycle: "draft",
        lifecycleChangedAt: now,
        environments: meta.environments,
        allowedGroups: meta.allowedGroups ?? [],
        allowedServices: meta.allowedServices ?? false,
        latestVersion: document.version,
        createdAt: now,
        updatedAt: now,
      }),
    );
  }
  statements.push(
    orm.insert(serverVersions).values({
      serverName: shortName,
      version: document.version,
      title: document.title,
      description: document.description,
      document,
      status: "active",
      isLatest,
      toolsDigest: await inventoryDigest(publishedInventory(document)),
      publishedBy: actor,
      publishedAt: now,
      updatedAt: now,
    }),
  );
  for (const tool of meta.tools) {
    const { name, description, annotations, access, needsApproval, minutesSaved } = tool;
    statements.push(
      orm.insert(tools).values({
        serverName: shortName,
        version: document.version,
        name,
        description,
        annotations,
        access,
        needsApproval,
        minutesSaved,
      }),
    );
  }
  statements.push(event(orm, shortName, actor, "publish", { version: document.version, isLatest }, now));
  try {
    await orm.batch(statements as [BatchItem, ...BatchItem[]]);
  } catch (error) {
    // A concurrent publish of the same server or version got there first.
    if (/UNIQUE constraint failed/i.test(String((error as Error).cause ?? error))) {
      throw new ConflictError(`${shortName} ${document.version} was published concurrently; read it and retry`);
    }
    throw error;
  }
}

/**
 * Moves a server from `change.from` to `change.to`, if it is still at `from`. Approving records
 * what was approved (the version and its tools digest) in the same statement, on condition that
 * this version is still the latest: `change.version` is the version the reviews were for (when
 * omitted, whatever is latest when the statement runs). The event and the versions' updatedAt
 * are written only if the change landed. Returns whether it did (false: changed meanwhile).
 */
export async function setLifecycle(
  d1: D1Database,
  name: string,
  change: { from: Lifecycle; to: Lifecycle; note?: string; version?: string },
  actor: string,
  now = new Date(),
): Promise<boolean> {
  const orm = db(d1);
  const approving = change.to === "approved";
  const approvedVersion = change.version ?? sql`${servers.latestVersion}`;
  const eventId = crypto.randomUUID();
  const detail = {
    from: change.from,
    to: change.to,
    note: change.note ?? "",
    ...(approving && change.version ? { version: change.version } : {}),
  };
  const [updated] = await orm.batch([
    orm
      .update(servers)
      .set({
        lifecycle: change.to,
        lifecycleChangedAt: now,
        updatedAt: now,
        ...(approving
          ? {
              approvedVersion: sql`${approvedVersion}`,
              approvedToolsDigest: sql`(SELECT ${serverVersions.toolsDigest} FROM ${serverVersions}
                WHERE ${serverVersions.serverName} = ${name} AND ${serverVersions.version} = ${approvedVersion})`,
            }
          : {}),
      })
      .where(
        and(
          eq(servers.name, name),
          eq(servers.lifecycle, change.from),
          approving && change.version ? eq(servers.latestVersion, change.version) : undefined,
        ),
      )
      .returning({ name: servers.name }),
    eventIfChanged(orm, name, actor, "lifecycle", detail, now, eventId),
    orm
      .update(serverVersions)
      .set({ updatedAt: now })
      .where(
        and(
          eq(serverVersions.serverName, name),
          sql`EXISTS (SELECT 1 FROM ${serverEvents} WHERE ${serverEvents.id} = ${eventId})`,
        ),
      ),
  ]);
  return updated.length === 1;
}

export async function addReview(
  d1: D1Database,
  review: Omit<ReviewRow, "id" | "reviewerGroups" | "reviewerSubject"> & {
    reviewerGroups?: string[];
    /** Caller.subject; defaults to the reviewer (tests that record reviews directly). */
    reviewerSubject?: string;
  },
  actor: string,
): Promise<ReviewRow> {
  const orm = db(d1);
  const row: ReviewRow = {
    ...review,
    reviewerGroups: review.reviewerGroups ?? [],
    reviewerSubject: review.reviewerSubject ?? review.reviewer,
    id: crypto.randomUUID(),
  };
  await orm.batch([
    orm.insert(reviews).values(row),
    orm.update(servers).set({ updatedAt: review.at }).where(eq(servers.name, review.serverName)),
    touchVersions(orm, review.serverName, review.at),
    event(
      orm,
      review.serverName,
      actor,
      "review",
      { kind: review.kind, state: review.state, version: review.version },
      review.at,
    ),
  ]);
  return row;
}

export async function setAccess(
  d1: D1Database,
  name: string,
  access: { allowedGroups: string[]; allowedServices: ServiceRule; environments?: string[] },
  actor: string,
  now = new Date(),
): Promise<void> {
  const orm = db(d1);
  await orm.batch([
    orm
      .update(servers)
      .set({
        allowedGroups: access.allowedGroups,
        allowedServices: access.allowedServices,
        ...(access.environments ? { environments: access.environments } : {}),
        updatedAt: now,
      })
      .where(eq(servers.name, name)),
    touchVersions(orm, name, now),
    event(orm, name, actor, "access", access, now),
  ]);
}

/**
 * Governance changes bump every version's updatedAt (each version carries the governance block and
 * the lifecycle-derived status), so `updated_since` syncs see them.
 */
function touchVersions(orm: DrizzleD1Database, name: string, now: Date) {
  return orm.update(serverVersions).set({ updatedAt: now }).where(eq(serverVersions.serverName, name));
}

/**
 * The event, written only if the statement just before it in the batch changed a row (SQLite's
 * changes()): how a batch records a conditional update without recording one that did not land.
 */
function eventIfChanged(
  orm: DrizzleD1Database,
  serverName: string,
  actor: string,
  action: ServerEventRow["action"],
  detail: Record<string, unknown>,
  at: Date,
  id: string = crypto.randomUUID(),
) {
  // The columns in the table's order (drizzle lists them all for INSERT ... SELECT).
  return orm
    .insert(serverEvents)
    .select(
      sql`SELECT ${id}, ${serverName}, ${at.getTime()}, ${actor}, ${action}, ${JSON.stringify(detail)} WHERE changes() = 1`,
    );
}

function event(
  orm: DrizzleD1Database,
  serverName: string,
  actor: string,
  action: ServerEventRow["action"],
  detail: Record<string, unknown>,
  at: Date,
) {
  return orm.insert(serverEvents).values({ id: crypto.randomUUID(), serverName, at, actor, action, detail });
}

/** Adds tools and current reviews to (server, version) rows, in one round trip. */
async function withDetails(
  d1: D1Database,
  rows: { server: ServerRow; version: ServerVersionRow }[],
): Promise<ServerEntry[]> {
  if (rows.length === 0) return [];
  const orm = db(d1);
  const names = [...new Set(rows.map((row) => row.server.name))];
  const [toolRows, reviewRows] = await orm.batch([
    orm
      .select()
      .from(tools)
      .where(inArray(tools.serverName, sql`(SELECT value FROM json_each(${JSON.stringify(names)}))`))
      .orderBy(tools.name),
    orm
      .select()
      .from(reviews)
      .where(inArray(reviews.serverName, sql`(SELECT value FROM json_each(${JSON.stringify(names)}))`))
      .orderBy(desc(reviews.at)),
  ]);
  return rows.map(({ server, version }) => {
    const current = Object.fromEntries(REVIEW_KINDS.map((kind) => [kind, null])) as ServerEntry["reviews"];
    for (const review of reviewRows) {
      // A review speaks for the version it looked at.
      if (review.serverName === server.name && review.version === version.version && current[review.kind] === null) {
        current[review.kind] = review;
      }
    }
    return {
      server,
      version,
      tools: toolRows.filter((tool) => tool.serverName === server.name && tool.version === version.version),
      reviews: current,
    };
  });
}

function encodeCursor(name: string, version: string): string {
  return btoa(JSON.stringify([name, version])).replace(/=+$/, "");
}

function decodeCursor(cursor: string): [string, string] {
  try {
    const value = JSON.parse(atob(cursor)) as unknown;
    if (Array.isArray(value) && value.length === 2 && value.every((part) => typeof part === "string")) {
      return value as [string, string];
    }
  } catch {
    // fall through
  }
  throw new InvalidCursorError("cursor is not one this registry issued");
}
