/**
 * Retention in workerd with real D1 and real (local) R2: days older than the window are exported
 * as NDJSON, one object per day, recorded in the watermark and deleted; rollups stay; a second
 * run has nothing to do; without a bucket nothing is deleted.
 */
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { type InvocationRecord, writeInvocations } from "../../shared/db/invocations.store";
import { retentionDays, runRetention } from "./analytics.retention";

const DAY = 86_400_000;
const NOW = Date.UTC(2026, 11, 2, 12);

function record(id: string, startedAt: number): InvocationRecord {
  return {
    id,
    serverName: "keep",
    toolName: "keep_tool",
    sessionId: "retention",
    callerKind: "user",
    callerId: "user:rene",
    startedAt,
    durationMs: 20,
    outcome: "ok",
    errorClass: null,
    minutesSaved: 2,
    argsDigest: "0".repeat(64),
    callerGroup: "retention-group",
    approval: null,
  };
}

describe("raw invocation retention", () => {
  it("exports each old day to R2 as NDJSON, then deletes it from D1 and keeps the rollups", async () => {
    const old1 = Date.UTC(2026, 7, 1, 9); // 2026-08-01: older than 90 days
    const old2 = Date.UTC(2026, 7, 3, 9);
    const recent = NOW - 10 * DAY;
    await writeInvocations(env.DB, [
      ...Array.from({ length: 7 }, (_, i) => record(`ret-a-${i}`, old1 + i * 1000)),
      ...Array.from({ length: 3 }, (_, i) => record(`ret-b-${i}`, old2 + i * 1000)),
      record("ret-recent", recent),
    ]);
    const bucket = env.ANALYTICS_EXPORT as R2Bucket;
    const run = await runRetention({ DB: env.DB, ANALYTICS_EXPORT: bucket }, NOW);
    expect(run.days.map((d) => [d.day, d.rows])).toEqual([
      ["2026-08-01", 7],
      ["2026-08-03", 3],
    ]);
    const listed = await bucket.list({ prefix: "invocations/dt=2026-08-01/" });
    expect(listed.objects).toHaveLength(1);
    const text = await (await bucket.get(listed.objects[0]?.key as string))?.text();
    const lines = (text ?? "")
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line));
    expect(lines.map((line) => line.id)).toEqual(Array.from({ length: 7 }, (_, i) => `ret-a-${i}`));
    expect(lines[0]).toMatchObject({ server_name: "keep", tool_name: "keep_tool", caller_id: "user:rene" });

    const left = await env.DB.prepare("SELECT id FROM invocations WHERE session_id = 'retention'").all();
    expect(left.results).toEqual([{ id: "ret-recent" }]);
    const rollup = await env.DB.prepare(
      "SELECT SUM(invocations) AS n FROM usage_daily WHERE caller_group = 'retention-group'",
    ).first();
    expect(rollup).toEqual({ n: 11 });
    const watermark = await env.DB.prepare("SELECT day, rows, deleted_at FROM analytics_exports ORDER BY day").all();
    expect(watermark.results).toEqual([
      { day: "2026-08-01", rows: 7, deleted_at: NOW },
      { day: "2026-08-03", rows: 3, deleted_at: NOW },
    ]);
    expect((await runRetention({ DB: env.DB, ANALYTICS_EXPORT: bucket }, NOW)).days).toEqual([]);
  });

  it("deletes nothing without a bucket, and reads a bad window as the default", async () => {
    await writeInvocations(env.DB, [record("ret-nobucket", Date.UTC(2026, 6, 1))]);
    const run = await runRetention({ DB: env.DB }, NOW);
    expect(run.skipped).toContain("no ANALYTICS_EXPORT bucket");
    expect(await env.DB.prepare("SELECT id FROM invocations WHERE id = 'ret-nobucket'").first()).toEqual({
      id: "ret-nobucket",
    });
    expect(retentionDays({ ANALYTICS_RETENTION_DAYS: "0" })).toBe(90);
    expect(retentionDays({ ANALYTICS_RETENTION_DAYS: "30" })).toBe(30);
  });
});
