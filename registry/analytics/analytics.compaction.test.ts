/**
 * The per-person active_users rows do not grow without bound: in workerd with real D1, periods
 * that ended before the retention window are compacted to counts and their rows deleted; the
 * dashboards read the same numbers before and after; open periods keep their rows; a call
 * recorded after its period was compacted does not change the counts and is pruned on the next
 * tick; a second run has nothing to do.
 */
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { type InvocationRecord, writeInvocations } from "../../shared/db/invocations.store";
import { compactActiveUsers, finalBefore } from "./analytics.compaction";
import { loadMonth, loadSeries, monthTotals } from "./analytics.queries";

const DAY = 86_400_000;
// Retention 90 days: the window starts on 2025-03-17 (a Monday).
const NOW = Date.UTC(2025, 5, 15, 12);

let n = 0;
function call(day: string, user: string, server: string, tool: string, group = "cmp-g1"): InvocationRecord {
  n += 1;
  return {
    id: `cmp-${String(n).padStart(4, "0")}`,
    serverName: server,
    toolName: tool,
    sessionId: "compaction",
    callerKind: user.startsWith("service:") ? "service" : "user",
    callerId: user.startsWith("service:") ? user : `user:${user}`,
    startedAt: Date.parse(`${day}T10:00:00Z`) + n * 1000,
    durationMs: 20,
    outcome: "ok",
    errorClass: null,
    minutesSaved: 3,
    argsDigest: "0".repeat(64),
    callerGroup: group,
    approval: null,
  };
}

async function rowsOf(period: string) {
  const { results } = await env.DB.prepare(
    "SELECT DISTINCT start FROM active_users WHERE period = ?1 AND server_name LIKE 'cmp-%' ORDER BY start",
  )
    .bind(period)
    .all<{ start: string }>();
  return results.map((row) => row.start);
}

async function dashboards() {
  const users = (points: { start: string; activeUsers: number }[]) =>
    Object.fromEntries(points.map((point) => [point.start, point.activeUsers]));
  const february = await loadMonth(env.DB, "2025-02", new Map());
  return {
    days: users(await loadSeries(env.DB, "day", "2025-02-01", "2025-03-20")),
    daysOfB: users(await loadSeries(env.DB, "day", "2025-02-01", "2025-03-20", "cmp-b")),
    weeks: users(await loadSeries(env.DB, "week", "2025-02-03", "2025-03-24")),
    months: users(await loadSeries(env.DB, "month", "2025-02-01", "2025-04-01")),
    february: february.activeUsers,
    februaryTotal: (await monthTotals(env.DB, "2025-02")).activeUsers,
  };
}

describe("active-user compaction", () => {
  it("says which periods are final at a cutoff", () => {
    expect(finalBefore("d", "2025-03-17")).toBe("2025-03-17");
    expect(finalBefore("w", "2025-03-17")).toBe("2025-03-11"); // the week of 03-10 has ended
    expect(finalBefore("m", "2025-03-17")).toBe("2025-03-01");
  });

  it("compacts periods that ended before the window to counts, deletes their rows, reads the same", async () => {
    await writeInvocations(env.DB, [
      call("2025-02-03", "u1", "cmp-a", "t1"),
      call("2025-02-03", "u2", "cmp-a", "t1"),
      call("2025-02-03", "u1", "cmp-b", "t2"),
      call("2025-02-03", "service:bot", "cmp-a", "t1", "service"),
      call("2025-02-05", "u3", "cmp-b", "t2", "cmp-g2"),
      call("2025-02-05", "u1", "cmp-a", "t1"),
      call("2025-03-16", "u2", "cmp-a", "t1"),
      call("2025-03-17", "u1", "cmp-a", "t1"),
    ]);
    const before = await dashboards();
    expect(before.days).toEqual({ "2025-02-03": 2, "2025-02-05": 2, "2025-03-16": 1, "2025-03-17": 1 });
    expect(before.daysOfB).toEqual({ "2025-02-03": 1, "2025-02-05": 1 });
    expect(before.weeks).toEqual({ "2025-02-03": 3, "2025-03-10": 1, "2025-03-17": 1 });
    expect(before.months).toEqual({ "2025-02-01": 3, "2025-03-01": 2 });
    expect(before.february.fleet).toBe(3);
    expect(Object.fromEntries(before.february.byServer)).toEqual({ "cmp-a": 2, "cmp-b": 2 });
    expect(Object.fromEntries(before.february.byGroup)).toEqual({ "cmp-g1": 2, "cmp-g2": 1 });

    const run = await compactActiveUsers({ DB: env.DB }, NOW);
    expect(run.periods.map((p) => `${p.period} ${p.start}`)).toEqual([
      "d 2025-02-03",
      "d 2025-02-05",
      "d 2025-03-16",
      "w 2025-02-03",
      "w 2025-03-10",
      "m 2025-02-01",
    ]);
    // Only the open periods keep per-person rows: the window's day and week, and March.
    expect(await rowsOf("d")).toEqual(["2025-03-17"]);
    expect(await rowsOf("w")).toEqual(["2025-03-17"]);
    expect(await rowsOf("m")).toEqual(["2025-03-01"]);
    expect(await dashboards()).toEqual(before);
    expect((await compactActiveUsers({ DB: env.DB }, NOW)).periods).toEqual([]);

    // A call recorded late for a compacted period: its counts stand, its rows go on the next tick.
    await writeInvocations(env.DB, [call("2025-02-06", "u4", "cmp-a", "t1")]);
    const late = await dashboards();
    expect(late.weeks).toEqual(before.weeks);
    expect(late.february).toEqual(before.february);
    expect(late.days["2025-02-06"]).toBe(1); // a day nobody had used yet: counted
    const again = await compactActiveUsers({ DB: env.DB }, NOW);
    expect(again.periods.map((p) => `${p.period} ${p.start} ${p.deleted}`)).toEqual([
      "d 2025-02-06 1",
      "w 2025-02-03 1",
      "m 2025-02-01 1",
    ]);
    expect(await rowsOf("d")).toEqual(["2025-03-17"]);
    expect((await dashboards()).weeks).toEqual(before.weeks);
  });

  it("keeps everything inside the window", async () => {
    const recent = new Date(NOW - 10 * DAY).toISOString().slice(0, 10);
    await writeInvocations(env.DB, [call(recent, "u9", "cmp-c", "t1")]);
    await compactActiveUsers({ DB: env.DB }, NOW);
    const kept = await env.DB.prepare("SELECT count(*) AS n FROM active_users WHERE server_name = 'cmp-c'").first();
    expect(kept).toEqual({ n: 3 });
  });
});
