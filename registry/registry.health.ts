/**
 * Live status: every minute (root wrangler.toml `[triggers]`) the registry probes each server in
 * review or approved, at a remote a reviewer vetted (listProbeTargets), and records the results.
 * Drafts are never probed, nor URLs no reviewer has looked at: anyone in a group may publish a
 * server with any https URL, and the registry must not become a scanner of whatever they name;
 * deprecated and retired servers are out of service.
 * The Worker runs with `global_fetch_strictly_public`, so a probe goes out as a request from the
 * public Internet would (never straight to an origin behind this account's zones).
 *
 * A probe: GET <remote origin>/health (the kit serves it; 2xx = up). A server that has no such
 * endpoint (404/405) is asked the MCP way instead: an `initialize` POST to its remote URL, where
 * 200, or 401 (it wants a token: it is alive), counts as up. Anything else is down, with the
 * reason ("HTTP 500", "timed out after 5000 ms", "connection failed: …"). One deadline covers a
 * whole probe; probes run in parallel, at most `concurrency` at a time.
 *
 * Recording: one D1 batch per run (one transaction, three statements whatever the number of
 * servers): the results into health_checks, the denormalised servers.health_* columns, and the
 * history pruned to the newest `keep` per server. If that write fails, the results are logged
 * and the error is rethrown, so the scheduled run shows as failed.
 */
import { and, eq, inArray, sql } from "drizzle-orm";
import { reviews, servers, serverVersions } from "../shared/db/fleet.schema";
import { preferredRemote, type ServerJson } from "../shared/registry/registry.contract";
import type { RegistryEnv } from "./registry.env";
import { db } from "./registry.store";

export const PROBE_TIMEOUT_MS = 5_000;
/** Workers keep at most six connections open per invocation; more would only queue. */
export const PROBE_CONCURRENCY = 6;
/** Health checks kept per server. */
export const HEALTH_HISTORY = 50;

export interface HealthCheckOptions {
  /** Deadline of one probe, both of its requests included (ms). */
  timeoutMs?: number;
  /** Probes in flight at once. */
  concurrency?: number;
  /** Health checks kept per server after this run. */
  keep?: number;
}

/** A server to probe: its short name and the remote its latest version publishes. */
export interface ProbeTarget {
  server: string;
  remote: { type: "streamable-http" | "sse"; url: string } | undefined;
}

export interface HealthCheckResult {
  server: string;
  /** When the probe started. */
  at: Date;
  up: boolean;
  /** Time to the answer that decided (or to the failure). */
  latencyMs: number;
  /** HTTP status of the answer that decided, when there was one. */
  httpStatus: number | null;
  error: string | null;
}

/** Probes every server in review or approved and records the results; returns them. */
export async function runHealthChecks(
  env: Pick<RegistryEnv, "DB">,
  options: HealthCheckOptions = {},
): Promise<HealthCheckResult[]> {
  const timeoutMs = options.timeoutMs ?? PROBE_TIMEOUT_MS;
  const targets = await listProbeTargets(env.DB);
  const results = await mapConcurrently(targets, options.concurrency ?? PROBE_CONCURRENCY, (target) =>
    probe(target, timeoutMs),
  );
  await recordHealthChecks(env.DB, results, options.keep ?? HEALTH_HISTORY);
  const down = results.filter((result) => !result.up);
  console.log(
    JSON.stringify({
      event: "health_checks",
      probed: results.length,
      up: results.length - down.length,
      down: down.map((result) => `${result.server}: ${result.error}`),
    }),
  );
  return results;
}

/**
 * The cron's handler (`scheduled(controller, env, ctx)` of the registry Worker). The run is kept
 * alive with waitUntil and also returned, so a failed run fails the scheduled event.
 */
export function scheduledHealth(
  _controller: ScheduledController,
  env: Pick<RegistryEnv, "DB">,
  ctx: ExecutionContext,
): Promise<void> {
  const run = runHealthChecks(env).then(() => undefined);
  ctx.waitUntil(run);
  return run;
}

/** The lifecycles whose servers are probed. */
export const PROBED_LIFECYCLES = ["in_review", "approved"] as const;

/**
 * Servers in review or approved, each at a remote a reviewer vetted: its approved version's, or,
 * for a server never approved, its latest version's once that version's current security review
 * is approved. Owners alone can put any URL in review (draft → in_review is theirs, and so is
 * publishing a new version): that URL is not probed until a reviewer has looked at it.
 */
export async function listProbeTargets(d1: D1Database): Promise<ProbeTarget[]> {
  const securityApproved = sql`(SELECT ${reviews.state} FROM ${reviews}
    WHERE ${reviews.serverName} = ${servers.name} AND ${reviews.version} = ${servers.latestVersion}
      AND ${reviews.kind} = 'security'
    ORDER BY ${reviews.at} DESC LIMIT 1) = 'approved'`;
  const vettedVersion = sql`CASE WHEN ${servers.approvedVersion} IS NOT NULL THEN ${servers.approvedVersion}
    WHEN ${securityApproved} THEN ${servers.latestVersion} END`;
  const rows = await db(d1)
    .select({ server: servers.name, document: serverVersions.document })
    .from(servers)
    .innerJoin(
      serverVersions,
      and(eq(serverVersions.serverName, servers.name), eq(serverVersions.version, vettedVersion)),
    )
    .where(inArray(servers.lifecycle, [...PROBED_LIFECYCLES]))
    .orderBy(servers.name);
  return rows.map(({ server, document }) => ({ server, remote: preferredRemote(document as Partial<ServerJson>) }));
}

/** One probe: /health first, the MCP endpoint when there is no /health. Never throws. */
export async function probe(target: ProbeTarget, timeoutMs: number): Promise<HealthCheckResult> {
  const at = new Date();
  /** Latency is that of the request that decided (the MCP request's, after a /health 404). */
  let decidedFrom = performance.now();
  const result = (up: boolean, httpStatus: number | null, error: string | null): HealthCheckResult => ({
    server: target.server,
    at,
    up,
    latencyMs: Math.round(performance.now() - decidedFrom),
    httpStatus,
    error,
  });
  if (!target.remote) return result(false, null, "no remote URL published");
  const signal = AbortSignal.timeout(timeoutMs);
  try {
    const health = await send(new URL("/health", target.remote.url), { signal });
    if (health.ok) return result(true, health.status, null);
    if (health.status !== 404 && health.status !== 405) return result(false, health.status, `HTTP ${health.status}`);
    decidedFrom = performance.now();
    const mcp = await askMcp(target.remote, signal);
    if (mcp.status === 200 || mcp.status === 401) return result(true, mcp.status, null);
    return result(false, mcp.status, `HTTP ${health.status} on /health, HTTP ${mcp.status} from the MCP endpoint`);
  } catch (error) {
    if (signal.aborted) return result(false, null, `timed out after ${timeoutMs} ms`);
    return result(false, null, `connection failed: ${error instanceof Error ? error.message : String(error)}`);
  }
}

/**
 * Writes a run's results in one batch: health_checks rows, the servers' last health, and the
 * history pruned to `keep` per server. Results are passed as one JSON parameter (json_each),
 * so the batch has three statements however many servers there are. Results for a server
 * that no longer exists are skipped. On failure: logs the results and rethrows.
 */
export async function recordHealthChecks(d1: D1Database, results: HealthCheckResult[], keep: number): Promise<void> {
  if (results.length === 0) return;
  const rows = JSON.stringify(
    results.map((result) => ({
      server: result.server,
      at: result.at.getTime(),
      up: result.up ? 1 : 0,
      latencyMs: result.latencyMs,
      httpStatus: result.httpStatus,
      error: result.error,
    })),
  );
  const field = (name: string) => `json_extract(r.value, '$.${name}')`;
  try {
    await d1.batch([
      d1
        .prepare(
          `INSERT INTO health_checks (server_name, at, up, latency_ms, http_status, error)
           SELECT s.name, ${field("at")}, ${field("up")}, ${field("latencyMs")}, ${field("httpStatus")}, ${field("error")}
           FROM json_each(?1) AS r JOIN servers AS s ON s.name = ${field("server")}`,
        )
        .bind(rows),
      d1
        .prepare(
          `UPDATE servers SET health_up = ${field("up")}, health_checked_at = ${field("at")},
             health_latency_ms = ${field("latencyMs")}, health_error = ${field("error")}
           FROM json_each(?1) AS r WHERE servers.name = ${field("server")}`,
        )
        .bind(rows),
      d1
        .prepare(
          `DELETE FROM health_checks WHERE id IN (
             SELECT id FROM (
               SELECT id, row_number() OVER (PARTITION BY server_name ORDER BY at DESC, id DESC) AS newest
               FROM health_checks
               WHERE server_name IN (SELECT json_extract(value, '$.server') FROM json_each(?1))
             ) WHERE newest > ?2)`,
        )
        .bind(rows, keep),
    ]);
  } catch (error) {
    console.error(`recording ${results.length} health checks in D1 failed; the results were: ${rows}`, error);
    throw new Error(
      `recording ${results.length} health checks in D1 failed: ${error instanceof Error ? error.message : String(error)}`,
      { cause: error },
    );
  }
}

/** One request of a probe; its body is not needed, so it is released at once. */
async function send(
  url: URL | string,
  init: { method?: string; signal: AbortSignal; headers?: Record<string, string>; body?: string },
): Promise<Response> {
  const response = await fetch(url, {
    ...init,
    // A probe asks the published URL only; it never follows the answer elsewhere.
    redirect: "manual",
    headers: { "user-agent": "mcp-fleet-registry-health/1", ...init.headers },
  });
  await response.body?.cancel();
  return response;
}

/** The MCP way of asking "are you there?": initialize (Streamable HTTP) or open the stream (legacy SSE). */
async function askMcp(remote: NonNullable<ProbeTarget["remote"]>, signal: AbortSignal): Promise<Response> {
  if (remote.type === "sse") {
    return send(remote.url, { signal, headers: { accept: "text/event-stream" } });
  }
  const response = await send(remote.url, {
    method: "POST",
    signal,
    headers: { "content-type": "application/json", accept: "application/json, text/event-stream" },
    body: JSON.stringify({
      jsonrpc: "2.0",
      id: 1,
      method: "initialize",
      params: {
        protocolVersion: "2025-11-25",
        capabilities: {},
        clientInfo: { name: "mcp-fleet-registry-health", version: "1.0.0" },
      },
    }),
  });
  // A server that opened a session for the probe is told it can end it.
  const session = response.headers.get("mcp-session-id");
  if (response.status === 200 && session) {
    await send(remote.url, { method: "DELETE", signal, headers: { "mcp-session-id": session } }).catch(() => {});
  }
  return response;
}

/** Runs `task` over `items`, at most `limit` at a time, results in the items' order. */
async function mapConcurrently<T, R>(items: readonly T[], limit: number, task: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const lanes = Array.from({ length: Math.min(Math.max(1, limit), items.length) }, async () => {
    for (let index = next++; index < items.length; index = next++) {
      results[index] = await task(items[index] as T);
    }
  });
  await Promise.all(lanes);
  return results;
}
