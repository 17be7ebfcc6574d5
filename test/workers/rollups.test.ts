/**
 * Invocations and their rollups land in one D1 batch: usage per day × server × tool × group,
 * exact distinct users per day, week and month, and every tool result names its invocation.
 */
import { env, runDurableObjectAlarm } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { type InvocationRecord, writeInvocations } from "../../shared/db/invocations.store";
import { INVOCATION_ID_META } from "../../shared/mcp/tool.invoke";
import { connect } from "./mcp-client";

const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

function stubOf(sessionId: string) {
  return env.SESSIONS.get(env.SESSIONS.idFromString(sessionId));
}

async function usageOf(group: string) {
  const { results } = await env.DB.prepare("SELECT * FROM usage_daily WHERE caller_group = ? ORDER BY tool_name")
    .bind(group)
    .all<Record<string, number | string>>();
  return results;
}

describe("rollups written with the invocations", () => {
  it("gives every result its invocation id and counts calls, outcomes, approvals and users", async () => {
    const { client, transport } = await connect({
      user: "rolf; groups=rollup-a,data-eng; scopes=echo:read echo:write",
      onElicit: (message) => ({ action: message.includes("keep") ? "decline" : "accept", content: { approve: true } }),
    });
    const ids: string[] = [];
    const call = async (name: string, args: Record<string, unknown>) => {
      const result = await client.callTool({ name, arguments: args });
      const id = (result._meta as Record<string, unknown>)[INVOCATION_ID_META];
      expect(id).toMatch(UUID_V7);
      ids.push(id as string);
    };
    await call("echo_say", { text: "a" });
    await call("echo_say", { text: "b" });
    await call("echo_fail", { mode: "rejected" });
    await call("echo_admin_report", {});
    await call("echo_delete_item", { item: "gone" });
    await call("echo_delete_item", { item: "keep" });
    await runDurableObjectAlarm(stubOf(transport.sessionId as string));

    const rows = await env.DB.prepare(`SELECT id, caller_group, approval FROM invocations WHERE session_id = ?`)
      .bind(transport.sessionId as string)
      .all<{ id: string; caller_group: string; approval: string | null }>();
    expect(rows.results.map((row) => row.id).sort()).toEqual([...ids].sort());
    expect(new Set(rows.results.map((row) => row.caller_group))).toEqual(new Set(["rollup-a"]));

    const usage = await usageOf("rollup-a");
    const byTool = Object.fromEntries(usage.map((row) => [row.tool_name, row]));
    expect(byTool.echo_say).toMatchObject({ invocations: 2, successes: 2, errors: 0, denials: 0, minutes_code: 1 });
    expect(byTool.echo_fail).toMatchObject({ invocations: 1, successes: 0, errors: 1, minutes_code: 0 });
    expect(byTool.echo_admin_report).toMatchObject({ invocations: 1, errors: 0, denials: 1 });
    expect(byTool.echo_delete_item).toMatchObject({
      invocations: 2,
      successes: 1,
      errors: 1,
      approvals_requested: 2,
      approvals_granted: 1,
      approvals_declined: 1,
      minutes_code: 2,
    });
    const buckets = usage.map((row) =>
      Array.from({ length: 10 }, (_, i) => Number(row[`lat_${i}`])).reduce((a, b) => a + b, 0),
    );
    expect(buckets).toEqual(usage.map((row) => row.invocations));

    const users = await env.DB.prepare(
      "SELECT period, count(DISTINCT caller_id) AS n, count(*) AS rows FROM active_users WHERE caller_group = 'rollup-a' GROUP BY period ORDER BY period",
    ).all<{ period: string; n: number; rows: number }>();
    expect(users.results).toEqual([
      { period: "d", n: 1, rows: 4 },
      { period: "m", n: 1, rows: 4 },
      { period: "w", n: 1, rows: 4 },
    ]);
  });

  it("counts a retried batch once, and buckets days, ISO weeks and months in UTC", async () => {
    const base: Omit<InvocationRecord, "id" | "startedAt"> = {
      serverName: "echo",
      toolName: "echo_say",
      sessionId: "retry-session",
      callerKind: "user",
      callerId: "user:retry",
      durationMs: 120,
      outcome: "ok",
      errorClass: null,
      minutesSaved: 3,
      argsDigest: "0".repeat(64),
      callerGroup: "rollup-retry",
      approval: null,
    };
    // Sunday 2026-11-29 23:59:59.999 UTC and Monday 2026-11-30 00:00 UTC: two ISO weeks, one month.
    const sunday = Date.UTC(2026, 10, 29, 23, 59, 59, 999);
    const batch = [
      { ...base, id: "r-1", startedAt: sunday },
      { ...base, id: "r-2", startedAt: sunday + 1 },
      { ...base, id: "r-3", startedAt: Date.UTC(2026, 11, 1, 8), durationMs: 40_000 },
    ];
    await writeInvocations(env.DB, batch.slice(0, 2));
    await writeInvocations(env.DB, batch); // a retry of the first two, plus one more
    await writeInvocations(env.DB, batch);
    const usage = await env.DB.prepare(
      "SELECT day, invocations, minutes_code, lat_2, lat_9 FROM usage_daily WHERE caller_group = 'rollup-retry' ORDER BY day",
    ).all();
    expect(usage.results).toEqual([
      { day: "2026-11-29", invocations: 1, minutes_code: 3, lat_2: 1, lat_9: 0 },
      { day: "2026-11-30", invocations: 1, minutes_code: 3, lat_2: 1, lat_9: 0 },
      { day: "2026-12-01", invocations: 1, minutes_code: 3, lat_2: 0, lat_9: 1 },
    ]);
    const periods = await env.DB.prepare(
      "SELECT period, start FROM active_users WHERE caller_id = 'user:retry' ORDER BY period, start",
    ).all();
    expect(periods.results).toEqual([
      { period: "d", start: "2026-11-29" },
      { period: "d", start: "2026-11-30" },
      { period: "d", start: "2026-12-01" },
      { period: "m", start: "2026-11-01" },
      { period: "m", start: "2026-12-01" },
      { period: "w", start: "2026-11-23" },
      { period: "w", start: "2026-11-30" },
    ]);
    const count = await env.DB.prepare(
      "SELECT count(*) AS n FROM invocations WHERE session_id = 'retry-session'",
    ).first();
    expect(count).toEqual({ n: 3 });
  });
});
