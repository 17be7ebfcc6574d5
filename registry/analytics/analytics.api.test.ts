/**
 * The analytics API in workerd with real D1: invocations written through the kit's store (with
 * their rollups), then the summary, CSV, series, feedback (only the caller, once), the estimate
 * blend and owners' overrides, on data small enough to compute by hand.
 */
import { env } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import { type InvocationRecord, writeInvocations } from "../../shared/db/invocations.store";
import { userIdOf } from "../../test/workers/mcp-client";
import { callRegistry as call, testServerJson } from "../registry.testing";
import { effectiveMinutes } from "./analytics.estimate";
import { percentileMs } from "./analytics.percentile";

const OWNER = "olga; groups=ana-team; scopes=registry:read registry:write";
// Rating is a write: the caller's token has registry:write (a read-only one is tested below).
const CALLER = "cato; groups=finance; scopes=registry:read registry:write";
const CALLER_READ_ONLY = "cato; groups=finance; scopes=registry:read";
const OTHER = "otto; groups=ads; scopes=registry:read";
const ADMIN = "ada; groups=admins; scopes=registry:read registry:write";

// biome-ignore lint/suspicious/noExplicitAny: the tests read the API's JSON as data
type Json = any;

let seq = 0;
function invocation(overrides: Partial<InvocationRecord>): InvocationRecord {
  seq += 1;
  return {
    id: `inv-${String(seq).padStart(4, "0")}`,
    serverName: "ana",
    toolName: "ana_query",
    sessionId: "s",
    callerKind: "user",
    callerId: userIdOf("cato"),
    startedAt: Date.UTC(2026, 9, 5, 12),
    durationMs: 80,
    outcome: "ok",
    errorClass: null,
    minutesSaved: 6,
    argsDigest: "0".repeat(64),
    callerGroup: "finance",
    approval: null,
    ...overrides,
  };
}

const tool = (name: string, minutesSaved: number) => ({
  name,
  description: `${name} tool`,
  annotations: { readOnlyHint: true },
  access: {},
  needsApproval: false,
  minutesSaved,
});

beforeAll(async () => {
  const published = await call("POST", "/v0.1/publish", {
    as: OWNER,
    body: testServerJson("ana", { team: "ana-team", tools: [tool("ana_query", 6), tool("ana_report", 30)] }),
  });
  expect(published.status).toBe(201);
  const october = Date.UTC(2026, 9, 5, 12);
  const september = Date.UTC(2026, 8, 10, 12);
  await writeInvocations(env.DB, [
    // October: 10 successful ana_query by cato (6 min each), 2 errors, 1 denial, 1 ana_report by otto.
    ...Array.from({ length: 10 }, (_, i) => invocation({ startedAt: october + i * 60_000, durationMs: 40 + i * 30 })),
    invocation({ outcome: "error", errorClass: "upstream_rejected", minutesSaved: 0 }),
    invocation({ outcome: "error", errorClass: "upstream_unavailable", minutesSaved: 0 }),
    invocation({ outcome: "error", errorClass: "denied", minutesSaved: 0 }),
    invocation({ toolName: "ana_report", minutesSaved: 30, callerId: userIdOf("otto"), callerGroup: "ads" }),
    // September: 5 successful calls.
    ...Array.from({ length: 5 }, () => invocation({ startedAt: september })),
  ]);
});

describe("analytics summary", () => {
  it("answers the month's totals, breakdowns, MoM change and top tools to the owning team", async () => {
    const response = await call("GET", "/v0.1/analytics/summary?month=2026-10", { as: OWNER });
    expect(response.status).toBe(200);
    const summary: Json = await response.json();
    expect(summary).toMatchObject({
      month: "2026-10",
      invocations: 14,
      activeUsers: 2,
      // 10 × 6 + 30 = 90 minutes.
      hoursSaved: { estimate: 1.5, effective: 1.5 },
      denials: 1,
      successRate: Math.round((11 / 14) * 10_000) / 10_000,
      // September: 5 calls, 30 minutes.
      change: { invocations: 1.8, activeUsers: 1, hoursSaved: 2 },
    });
    expect(summary.byServer).toEqual([expect.objectContaining({ name: "ana", team: "ana-team", invocations: 14 })]);
    expect(summary.topTools.map((t: Json) => [t.tool, t.hoursSaved])).toEqual([
      ["ana_query", 1],
      ["ana_report", 0.5],
    ]);
    expect(summary.byGroup.map((g: Json) => [g.name, g.invocations, g.activeUsers])).toEqual([
      ["finance", 13, 1],
      ["ads", 1, 1],
    ]);
    expect(summary.byTeam).toEqual([expect.objectContaining({ name: "ana-team", invocations: 14 })]);
  });

  it("shows another team only the fleet's totals, admins everything; CSV too", async () => {
    const other: Json = await (await call("GET", "/v0.1/analytics/summary?month=2026-10", { as: OTHER })).json();
    expect(other.invocations).toBe(14);
    expect(other.byServer).toEqual([]);
    expect(other.byTool).toEqual([]);
    expect(other.topTools).toEqual([]);
    const admin: Json = await (await call("GET", "/v0.1/analytics/summary?month=2026-10", { as: ADMIN })).json();
    expect(admin.byTool).toHaveLength(2);
    const csv = await call("GET", "/v0.1/analytics/summary?month=2026-10&format=csv", { as: OWNER });
    expect(csv.headers.get("content-type")).toContain("text/csv");
    const lines = (await csv.text()).trim().split("\r\n");
    expect(lines[0]).toMatch(/^scope,name,invocations,activeUsers,hoursSavedEstimate/);
    expect(lines[1]).toMatch(/^fleet,2026-10,14,2,1\.5,1\.5,/);
    expect(lines).toContainEqual(expect.stringMatching(/^tool,ana\/ana_report,1,1,0\.5,/));
  });

  it("refuses without a token, and names a bad month", async () => {
    expect((await call("GET", "/v0.1/analytics/summary?month=2026-10")).status).toBe(401);
    const bad = await call("GET", "/v0.1/analytics/summary?month=2026-13", { as: OWNER });
    expect(bad.status).toBe(400);
    expect(await bad.text()).toContain("query.month");
  });

  it("answers day and month series; another team's server detail is refused", async () => {
    const days: Json = await (
      await call("GET", "/v0.1/analytics/series?period=day&from=2026-10-01&to=2026-11-01", { as: OWNER })
    ).json();
    expect(days.points).toEqual([
      expect.objectContaining({ start: "2026-10-05", invocations: 14, activeUsers: 2, successes: 11 }),
    ]);
    const months: Json = await (
      await call("GET", "/v0.1/analytics/series?period=month&from=2026-08-01&to=2026-11-01&server=ana", { as: OWNER })
    ).json();
    expect(months.points.map((p: Json) => [p.start, p.invocations, p.hoursSaved.estimate])).toEqual([
      ["2026-09-01", 5, 0.5],
      ["2026-10-01", 14, 1.5],
    ]);
    const refused = await call("GET", "/v0.1/analytics/series?period=day&server=ana", { as: OTHER });
    expect(refused.status).toBe(403);
  });

  it("is in the OpenAPI document", async () => {
    const doc: Json = await (await call("GET", "/openapi.json")).json();
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining(["/v0.1/analytics/summary", "/v0.1/analytics/series", "/v0.1/feedback"]),
    );
  });
});

describe("rates, latency and approvals in the summary", () => {
  it("computes success and error rates, p50/p95 from the latency histogram, and approval counts", async () => {
    const july = Date.UTC(2026, 6, 7, 9);
    await writeInvocations(env.DB, [
      ...Array.from({ length: 12 }, () => invocation({ startedAt: july, durationMs: 30 })), // ≤ 50 ms
      ...Array.from({ length: 4 }, () => invocation({ startedAt: july, durationMs: 200 })), // ≤ 250 ms
      invocation({ startedAt: july, durationMs: 2_000, approval: "approved" }), // ≤ 2 500 ms
      ...Array.from({ length: 2 }, () =>
        invocation({ startedAt: july, durationMs: 700, outcome: "error", errorClass: "upstream_rejected" }),
      ), // ≤ 1 000 ms
      invocation({ startedAt: july, durationMs: 80, outcome: "error", errorClass: "denied", minutesSaved: 0 }),
      invocation({
        startedAt: july,
        durationMs: 90,
        outcome: "error",
        errorClass: "not_approved",
        approval: "declined",
        minutesSaved: 0,
      }),
    ]);
    const response = await call("GET", "/v0.1/analytics/summary?month=2026-07", { as: ADMIN });
    expect(response.status).toBe(200);
    const summary: Json = await response.json();
    // 21 calls: 17 ok, 3 errors (a denial is counted apart), 1 denial.
    expect(summary).toMatchObject({
      invocations: 21,
      denials: 1,
      successRate: Math.round((17 / 21) * 10_000) / 10_000,
      errorRate: Math.round((3 / 21) * 10_000) / 10_000,
      approvals: { requested: 2, granted: 1, declined: 1 },
      // Histogram 12 | 2 | 4 | 0 | 2 | 1: the 11th call is in the first bucket (≤ 50 ms), the 20th
      // in the fifth (≤ 1 000 ms).
      latencyMs: { p50: 50, p95: 1_000 },
    });
    const csv = await call("GET", "/v0.1/analytics/summary?month=2026-07&format=csv", { as: ADMIN });
    const [header, fleet] = (await csv.text()).trim().split("\r\n");
    const row = Object.fromEntries((header ?? "").split(",").map((column, i) => [column, (fleet ?? "").split(",")[i]]));
    expect(row).toMatchObject({ approvalsRequested: "2", approvalsGranted: "1", p50Ms: "50", p95Ms: "1000" });
  });

  it("takes a percentile as the upper bound of its bucket; none of an empty histogram", () => {
    expect(percentileMs([0, 0, 0], 0.5)).toBeNull();
    expect(percentileMs([1, 1, 1, 1], 0.5)).toBe(100); // the 2nd of 4: second bucket
    expect(percentileMs([0, 0, 0, 0, 0, 0, 0, 0, 0, 3], 0.95)).toBe(30_000); // the overflow bucket answers the last bound
  });
});

describe("feedback and estimates", () => {
  it("blends the owner's estimate with ratings: (K·E + Σv) / (K + n)", () => {
    // E = 6; ratings: yes 16 min, yes (no minutes → 6), four times no → Σv = 22, n = 6, K = 10.
    expect(effectiveMinutes(6, { ratings: 6, helped: 2, helpedWithMinutes: 1, minutesGiven: 16 })).toBe(82 / 16);
    expect(effectiveMinutes(6, { ratings: 0, helped: 0, helpedWithMinutes: 0, minutesGiven: 0 })).toBe(6);
  });

  it("lets only the caller rate a call, once, and the effective hours follow", async () => {
    const rate = (as: string, invocationId: string, helped: boolean, minutes?: number) =>
      call("POST", "/v0.1/feedback", { as, body: { invocationId, helped, ...(minutes ? { minutes } : {}) } });
    expect((await rate(OTHER, "inv-0001", true)).status).toBe(403);
    expect((await rate(CALLER, "inv-9999", true)).status).toBe(404);
    expect((await rate(CALLER, "inv-0001", true, 16)).status).toBe(201);
    const again = await rate(CALLER, "inv-0001", false);
    expect(again.status).toBe(409);
    expect(await again.text()).toContain("already rated");
    expect((await rate(CALLER, "inv-0002", true)).status).toBe(201);
    for (const id of ["inv-0003", "inv-0004", "inv-0005", "inv-0006"]) {
      expect((await rate(CALLER, id, false)).status).toBe(201);
    }
    const summary: Json = await (await call("GET", "/v0.1/analytics/summary?month=2026-10", { as: OWNER })).json();
    // ana_query: 10 successes × 82/16 min = 51.25 min; ana_report: 30 min → 81.25 min = 1.354 h.
    expect(summary.hoursSaved).toEqual({ estimate: 1.5, effective: 1.4 });
    const query = summary.byTool.find((t: Json) => t.tool === "ana_query");
    expect(query.hoursSaved.effective).toBe(Math.round((10 * 82) / 16 / 6) / 10);
  });

  it("lets the owning team override an estimate, keeps the history, and applies it from its day", async () => {
    const put = (as: string, minutes: number | null, effectiveFrom: string) =>
      call("PUT", "/v0.1/servers/ana/tools/ana_report/estimate", {
        as,
        body: { minutes, effectiveFrom, reason: "measured with the finance team" },
      });
    expect((await put(OTHER, 60, "2026-10")).status).toBe(403);
    expect((await put(OWNER, 60, "2026-10")).status).toBe(200);
    const summary: Json = await (await call("GET", "/v0.1/analytics/summary?month=2026-10", { as: OWNER })).json();
    expect(summary.byTool.find((t: Json) => t.tool === "ana_report").hoursSaved.estimate).toBe(1);
    expect((await put(OWNER, null, "2026-10")).status).toBe(200);
    const history: Json = await (await call("GET", "/v0.1/servers/ana/estimates", { as: OTHER })).json();
    expect(history.overrides.map((o: Json) => o.minutes)).toEqual([null, 60]);
    const back: Json = await (await call("GET", "/v0.1/analytics/summary?month=2026-10", { as: OWNER })).json();
    expect(back.byTool.find((t: Json) => t.tool === "ana_report").hoursSaved.estimate).toBe(0.5);
    const badMonth = await put(OWNER, 1, "2026-10-15");
    expect(badMonth.status).toBe(400);
    expect(await badMonth.text()).toContain("body.effectiveFrom");
    const unknown = await call("PUT", "/v0.1/servers/ana/tools/nope/estimate", {
      as: OWNER,
      body: { minutes: 1, reason: "x" },
    });
    expect(unknown.status).toBe(404);
  });

  it("needs registry:write to rate, caps minutes at 8 hours with a 400 naming the field, rates a service's own call", async () => {
    const rate = (as: string, body: Record<string, unknown>) => call("POST", "/v0.1/feedback", { as, body });
    const readOnly = await rate(CALLER_READ_ONLY, { invocationId: "inv-0015", helped: true });
    expect(readOnly.status).toBe(403);
    expect(readOnly.headers.get("www-authenticate")).toContain('error="insufficient_scope"');
    expect(readOnly.headers.get("www-authenticate")).toContain("registry:write");

    const tooMany = await rate(CALLER, { invocationId: "inv-0015", helped: true, minutes: 481 });
    expect(tooMany.status).toBe(400);
    const tooManyText = await tooMany.text();
    expect(tooManyText).toContain("body.minutes");
    expect(tooManyText).toContain("480");
    const withoutHelp = await rate(CALLER, { invocationId: "inv-0015", helped: false, minutes: 5 });
    expect(withoutHelp.status).toBe(400);
    expect(await withoutHelp.text()).toContain("body.minutes");
    // Nothing was recorded by the refusals: the call can still be rated, with a whole working day.
    expect((await rate(CALLER, { invocationId: "inv-0015", helped: true, minutes: 480 })).status).toBe(201);

    // A service rates its own calls (with registry:write), nobody else's.
    await writeInvocations(env.DB, [
      invocation({ id: "inv-svc-1", callerKind: "service", callerId: "service:etl-bot", callerGroup: "service" }),
    ]);
    expect(
      (await rate("service:other-bot; scopes=registry:write", { invocationId: "inv-svc-1", helped: true })).status,
    ).toBe(403);
    expect(
      (await rate("service:etl-bot; scopes=registry:read", { invocationId: "inv-svc-1", helped: true })).status,
    ).toBe(403);
    expect(
      (await rate("service:etl-bot; scopes=registry:write", { invocationId: "inv-svc-1", helped: true })).status,
    ).toBe(201);
  });
});
