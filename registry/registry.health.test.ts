/**
 * Live status in workerd with real D1: the probe against real HTTP servers (healthy, MCP-only,
 * failing, unreachable, too slow), what one run records, pruning, the concurrency cap, the
 * scheduled handler, and a D1 failure that must fail the run instead of vanishing.
 */
import { createExecutionContext, createScheduledController, env, waitOnExecutionContext } from "cloudflare:test";
import { count, eq } from "drizzle-orm";
import { afterEach, beforeAll, describe, expect, inject, it, vi } from "vitest";
import { healthChecks } from "../shared/db/fleet.schema";
import type { ServerJson } from "../shared/registry/registry.contract";
import { type HealthCheckResult, runHealthChecks, scheduledHealth } from "./registry.health";
import { addReview, db, getServerRow, listHealthChecks, publishVersion, setLifecycle } from "./registry.store";
import { testServerJson } from "./registry.testing";

const targets = inject("healthTargets");
/** The targets answer after 15 ms (test/support/health-targets.global.ts). */
const ANSWER_DELAY_MS = 15;
const TIMEOUT_MS = 800;

const SERVERS = {
  "hc-healthy": targets.healthy,
  "hc-auth-only": targets.authOnly,
  "hc-failing": targets.failing,
  "hc-slow": targets.slow,
  "hc-unreachable": targets.unreachable,
};
type Seeded = keyof typeof SERVERS;
const NOT_PROBED = [
  ["hc-draft", "draft"],
  ["hc-deprecated", "deprecated"],
  ["hc-retired", "retired"],
] as const;

function serverJson(name: string, origin: string): ServerJson {
  return testServerJson(name, {
    title: `${name} server`,
    description: `Health probe target ${name}`,
    remoteUrl: `${origin}/mcp`,
    team: "platform",
    supportChannel: "#platform",
    onCall: "platform-oncall",
  });
}

function byServer(results: HealthCheckResult[]): Record<Seeded, HealthCheckResult> {
  return Object.fromEntries(results.map((result) => [result.server, result])) as Record<Seeded, HealthCheckResult>;
}

async function checksOf(name: string): Promise<number> {
  const [row] = await db(env.DB).select({ n: count() }).from(healthChecks).where(eq(healthChecks.serverName, name));
  return row?.n ?? 0;
}

async function maxInFlight(): Promise<number> {
  const stats = (await (await fetch(`${targets.healthy}/stats`)).json()) as { maxInFlight: number };
  return stats.maxInFlight;
}

beforeAll(async () => {
  for (const [name, origin] of Object.entries(SERVERS)) {
    await publishVersion(env.DB, name, serverJson(name, origin), "test");
    await setLifecycle(env.DB, name, { from: "draft", to: "in_review" }, "test");
    // A reviewer vetted its URL (registry.probe.test.ts: URLs nobody reviewed are not probed).
    const review = { serverName: name, version: "1.0.0", kind: "security", state: "approved" } as const;
    await addReview(env.DB, { ...review, notes: "", reviewer: "rita", at: new Date() }, "user:rita");
  }
  // An approved server is probed like one in review. Drafts (anyone in a group may publish one,
  // with any https URL), deprecated and retired servers are not probed at all.
  await setLifecycle(env.DB, "hc-healthy", { from: "in_review", to: "approved" }, "test");
  for (const [name, lifecycle] of NOT_PROBED) {
    await publishVersion(env.DB, name, serverJson(name, targets.healthy), "test");
    if (lifecycle !== "draft") await setLifecycle(env.DB, name, { from: "draft", to: lifecycle }, "test");
  }
});

afterEach(() => {
  vi.restoreAllMocks();
});

describe("runHealthChecks", () => {
  it("probes the servers in review or approved and tells up from down, with the reason", async () => {
    const results = await runHealthChecks(env, { timeoutMs: TIMEOUT_MS });
    const seen = byServer(results);
    expect(results.map((result) => result.server).sort()).toEqual(Object.keys(SERVERS).sort());
    for (const [name] of NOT_PROBED) expect(await checksOf(name), name).toBe(0);

    expect(seen["hc-healthy"]).toMatchObject({ up: true, httpStatus: 200, error: null });
    expect(seen["hc-healthy"].latencyMs).toBeGreaterThanOrEqual(ANSWER_DELAY_MS - 1);
    // No /health (404), but the MCP endpoint wants a token: alive.
    expect(seen["hc-auth-only"]).toMatchObject({ up: true, httpStatus: 401, error: null });
    expect(seen["hc-auth-only"].latencyMs).toBeGreaterThanOrEqual(ANSWER_DELAY_MS - 1);
    expect(seen["hc-failing"]).toMatchObject({ up: false, httpStatus: 500, error: "HTTP 500" });
    expect(seen["hc-failing"].latencyMs).toBeGreaterThanOrEqual(ANSWER_DELAY_MS - 1);
    expect(seen["hc-unreachable"]).toMatchObject({ up: false, httpStatus: null });
    expect(seen["hc-unreachable"].error).toMatch(/^connection failed: /);
    expect(seen["hc-slow"]).toMatchObject({ up: false, httpStatus: null, error: `timed out after ${TIMEOUT_MS} ms` });
    expect(seen["hc-slow"].latencyMs).toBeGreaterThanOrEqual(TIMEOUT_MS - 50);
  });

  it("records each result in health_checks and the servers' last health", async () => {
    const before = Date.now();
    const results = byServer(await runHealthChecks(env, { timeoutMs: TIMEOUT_MS }));
    for (const name of Object.keys(SERVERS) as Seeded[]) {
      const [latest] = await listHealthChecks(env.DB, name, 1);
      const result = results[name];
      expect(latest, name).toMatchObject({
        serverName: name,
        up: result.up,
        latencyMs: result.latencyMs,
        httpStatus: result.httpStatus,
        error: result.error,
      });
      expect(latest?.at.getTime()).toBeGreaterThanOrEqual(before);
      const server = await getServerRow(env.DB, name);
      expect(server, name).toMatchObject({
        healthUp: result.up,
        healthLatencyMs: result.latencyMs,
        healthError: result.error,
      });
      expect(server?.healthCheckedAt?.getTime()).toBe(result.at.getTime());
    }
    for (const [name] of NOT_PROBED) {
      expect(await checksOf(name), name).toBe(0);
      expect((await getServerRow(env.DB, name))?.healthUp, name).toBeNull();
    }
  });

  it("keeps the newest 50 checks per server", async () => {
    const old = Array.from({ length: 60 }, (_, i) => ({
      serverName: "hc-healthy",
      at: new Date(Date.UTC(2026, 0, 1, 0, i)),
      up: false,
      latencyMs: 1,
      httpStatus: 503,
      error: "HTTP 503",
    }));
    for (let i = 0; i < old.length; i += 10)
      await db(env.DB)
        .insert(healthChecks)
        .values(old.slice(i, i + 10));
    expect(await checksOf("hc-healthy")).toBeGreaterThan(60);

    await runHealthChecks(env, { timeoutMs: TIMEOUT_MS });
    expect(await checksOf("hc-healthy")).toBe(50);
    const kept = await listHealthChecks(env.DB, "hc-healthy", 100);
    expect(kept[0]).toMatchObject({ up: true, httpStatus: 200 });
    // The oldest went first: the 10 newest of the old rows survive behind the real checks.
    const oldKept = kept.filter((check) => check.httpStatus === 503).map((check) => check.at.getTime());
    expect(Math.min(...oldKept)).toBe(old[old.length - oldKept.length]?.at.getTime());
    // Servers with fewer checks keep all of them.
    expect(await checksOf("hc-failing")).toBe(3);
  });

  it("probes in parallel, never more at once than the cap", async () => {
    await fetch(`${targets.healthy}/stats/reset`, { method: "POST" });
    await runHealthChecks(env, { timeoutMs: TIMEOUT_MS, concurrency: 2 });
    expect(await maxInFlight()).toBe(2);

    await fetch(`${targets.healthy}/stats/reset`, { method: "POST" });
    await runHealthChecks(env, { timeoutMs: TIMEOUT_MS, concurrency: 1 });
    expect(await maxInFlight()).toBe(1);
  });
});

describe("scheduledHealth (the cron's handler)", () => {
  beforeAll(async () => {
    // The handler probes with the default 5 s timeout: the slow server is retired first.
    await setLifecycle(env.DB, "hc-slow", { from: "in_review", to: "retired" }, "test");
  });

  it("runs the checks inside the scheduled event", async () => {
    const before = { healthy: await checksOf("hc-healthy"), slow: await checksOf("hc-slow") };
    const started = Date.now();

    const ctx = createExecutionContext();
    await scheduledHealth(createScheduledController({ cron: "*/1 * * * *" }), env, ctx);
    await waitOnExecutionContext(ctx);

    const [latest] = await listHealthChecks(env.DB, "hc-healthy", 1);
    expect(latest?.at.getTime()).toBeGreaterThanOrEqual(started);
    expect(await checksOf("hc-healthy")).toBe(Math.min(50, before.healthy + 1));
    expect(await checksOf("hc-slow")).toBe(before.slow);
    expect((await getServerRow(env.DB, "hc-failing"))?.healthError).toBe("HTTP 500");
  });

  it("fails the run, with the results in the log, when D1 cannot record them", async () => {
    const logged = vi.spyOn(console, "error").mockImplementation(() => {});
    const failing = {
      prepare: (query: string) => env.DB.prepare(query),
      batch: () => Promise.reject(new Error("D1_ERROR: database is overloaded")),
    } as unknown as D1Database;
    const before = await checksOf("hc-healthy");

    const ctx = createExecutionContext();
    const run = scheduledHealth(createScheduledController(), { ...env, DB: failing }, ctx);
    const failure = /recording \d+ health checks in D1 failed: D1_ERROR: database is overloaded/;
    await expect(run).rejects.toThrow(failure);
    // The scheduled event itself fails (what the cron's status shows), through waitUntil too.
    await expect(waitOnExecutionContext(ctx)).rejects.toThrow(failure);
    expect(String(logged.mock.calls[0]?.[0])).toMatch(/"server":"hc-healthy","at":\d+,"up":1/);
    expect(await checksOf("hc-healthy")).toBe(before);
  });
});
