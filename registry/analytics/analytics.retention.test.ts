/**
 * Retention in workerd with real D1 and real (local) R2: days older than the window are exported
 * as NDJSON, one object per day (or several: each recorded in the watermark), and deleted; rollups stay; a second
 * run has nothing to do; without a bucket nothing is deleted. A day larger than one part (5 MiB)
 * goes out complete as a multipart object; when R2 fails nothing is deleted (and the upload is
 * aborted); a call that lands for the day during its export is not deleted unexported.
 */
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { type InvocationRecord, writeInvocations } from "../../shared/db/invocations.store";
import { MAX_OBJECT_ROWS, retentionDays, runRetention } from "./analytics.retention";

const DAY = 86_400_000;
const NOW = Date.UTC(2026, 11, 2, 12);

function record(id: string, startedAt: number, sessionId = "retention"): InvocationRecord {
  return {
    id,
    serverName: "keep",
    toolName: "keep_tool",
    sessionId,
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

/** The real bucket, with a hook before each upload step (to fail it, or to write to D1 meanwhile). */
function hookedBucket(hook: (step: "put" | "part" | "complete", n: number) => Promise<void>) {
  const bucket = env.ANALYTICS_EXPORT as R2Bucket;
  const seen = { parts: 0, aborted: 0, puts: 0 };
  const wrapped = {
    list: bucket.list.bind(bucket),
    get: bucket.get.bind(bucket),
    async put(...args: Parameters<R2Bucket["put"]>) {
      seen.puts += 1;
      await hook("put", seen.puts);
      return bucket.put(...args);
    },
    async createMultipartUpload(...args: Parameters<R2Bucket["createMultipartUpload"]>) {
      const upload = await bucket.createMultipartUpload(...args);
      return {
        key: upload.key,
        uploadId: upload.uploadId,
        async uploadPart(n: number, body: Uint8Array) {
          seen.parts += 1;
          await hook("part", n);
          return upload.uploadPart(n, body);
        },
        async complete(parts: R2UploadedPart[]) {
          await hook("complete", parts.length);
          return upload.complete(parts);
        },
        async abort() {
          seen.aborted += 1;
          return upload.abort();
        },
      };
    },
  };
  return { bucket: wrapped as unknown as R2Bucket, seen };
}

async function objectLines(prefix: string) {
  const bucket = env.ANALYTICS_EXPORT as R2Bucket;
  const listed = await bucket.list({ prefix });
  const lines: { id: string }[] = [];
  let bytes = 0;
  const sorted = listed.objects.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  for (const object of sorted) {
    const text = (await (await bucket.get(object.key))?.text()) ?? "";
    bytes += object.size;
    lines.push(
      ...text
        .trim()
        .split("\n")
        .map((line) => JSON.parse(line)),
    );
  }
  return { objects: listed.objects.length, keys: sorted.map((object) => object.key), lines, bytes };
}

/** Session ids padded so that a day's NDJSON passes the 5 MiB part size with fewer rows. */
const PADDING = "p".repeat(400);

async function bigDay(prefix: string, day: number, count: number) {
  const ids = Array.from({ length: count }, (_, i) => `${prefix}-${String(i).padStart(6, "0")}`);
  for (let i = 0; i < count; i += 2_000) {
    await writeInvocations(
      env.DB,
      ids.slice(i, i + 2_000).map((id, j) => record(id, day + Math.floor((i + j) / 10), `${prefix}-${PADDING}`)),
    );
  }
  return ids;
}

const countOf = async (sessionPrefix: string) =>
  (
    await env.DB.prepare("SELECT count(*) AS n FROM invocations WHERE session_id LIKE ?1")
      .bind(`${sessionPrefix}-%`)
      .first<{ n: number }>()
  )?.n;

describe("the export of a large day, and failures", () => {
  it("exports a day larger than one part (5 MiB) completely, as a multipart object, then deletes it", async () => {
    const day = Date.UTC(2026, 6, 10, 1);
    const ids = await bigDay("big", day, 12_000);
    const { bucket, seen } = hookedBucket(async () => undefined);
    const run = await runRetention({ DB: env.DB, ANALYTICS_EXPORT: bucket }, NOW);
    // (2026-07-01 is the call the no-bucket test above left.)
    expect(run.days.map((d) => [d.day, d.rows])).toEqual([
      ["2026-07-01", 1],
      ["2026-07-10", 12_000],
    ]);
    expect(seen.parts).toBeGreaterThanOrEqual(2);
    expect(seen.puts).toBe(1); // the small day
    const exported = await objectLines("invocations/dt=2026-07-10/");
    expect(exported.objects).toBe(1);
    expect(exported.bytes).toBeGreaterThan(5 * 1024 * 1024);
    expect(exported.lines.map((line) => line.id)).toEqual(ids);
    expect(await countOf("big")).toBe(0);
    expect(MAX_OBJECT_ROWS).toBeGreaterThan(12_000);
  });

  it("deletes nothing when a part, the completion or a put fails, and aborts the upload", async () => {
    const day = Date.UTC(2026, 6, 12, 1);
    const ids = await bigDay("fail", day, 12_000);
    for (const failing of ["part", "complete"] as const) {
      const { bucket, seen } = hookedBucket(async (step, n) => {
        if (step === failing && (step === "complete" || n === 2)) throw new Error(`injected: R2 ${step} failed`);
      });
      await expect(runRetention({ DB: env.DB, ANALYTICS_EXPORT: bucket }, NOW)).rejects.toThrow(/injected: R2/);
      expect(seen.aborted).toBe(1);
      expect(await countOf("fail")).toBe(ids.length);
      expect(await env.DB.prepare("SELECT day FROM analytics_exports WHERE day = '2026-07-12'").first()).toBeNull();
    }
    expect((await objectLines("invocations/dt=2026-07-12/")).objects).toBe(0);
    // A small day goes out with one put: when it fails, nothing is deleted either.
    await writeInvocations(env.DB, [record("small-1", Date.UTC(2026, 6, 11, 5), "small-1")]);
    const { bucket: broken } = hookedBucket(async (step) => {
      if (step === "put") throw new Error("injected: R2 put failed");
    });
    await expect(runRetention({ DB: env.DB, ANALYTICS_EXPORT: broken }, NOW)).rejects.toThrow(/injected/);
    expect(await countOf("small")).toBe(1);
    // R2 recovers: everything goes out, then is deleted.
    const run = await runRetention({ DB: env.DB, ANALYTICS_EXPORT: env.ANALYTICS_EXPORT as R2Bucket }, NOW);
    expect(run.days.map((d) => [d.day, d.rows])).toEqual([
      ["2026-07-11", 1],
      ["2026-07-12", 12_000],
    ]);
    expect((await objectLines("invocations/dt=2026-07-12/")).lines.map((line) => line.id)).toEqual(ids);
    expect([await countOf("fail"), await countOf("small")]).toEqual([0, 0]);
  });

  it("does not delete a call that lands for the day while the day is being exported", async () => {
    const day = Date.UTC(2026, 6, 14, 3);
    await writeInvocations(env.DB, [record("race-b", day + 2_000, "race-x"), record("race-c", day + 3_000, "race-x")]);
    // A retried outbox writes an earlier call of the same day after the export read the day.
    let left: unknown[] = [];
    const { bucket } = hookedBucket(async (step, n) => {
      if (step === "put" && n === 1) await writeInvocations(env.DB, [record("race-a", day + 1_000, "race-x")]);
      // The second object of the day: what the first one left in D1.
      if (step === "put" && n === 2) {
        left = (await env.DB.prepare("SELECT id FROM invocations WHERE session_id = 'race-x'").all()).results;
      }
    });
    const run = await runRetention({ DB: env.DB, ANALYTICS_EXPORT: bucket }, NOW);
    // The late call was not deleted with the first object: it goes out in a second one.
    expect(left).toEqual([{ id: "race-a" }]);
    expect(run.days.map((d) => [d.day, d.rows])).toEqual([
      ["2026-07-14", 2],
      ["2026-07-14", 1],
    ]);
    const exported = await objectLines("invocations/dt=2026-07-14/");
    expect(exported.objects).toBe(2);
    expect(exported.lines.map((line) => line.id).sort()).toEqual(["race-a", "race-b", "race-c"]);
    expect(await countOf("race")).toBe(0);
    // Both objects are in the watermark, each with its own rows.
    expect(await watermarkOf("2026-07-14")).toEqual(
      exported.keys.map((key) => ({ object_key: key, rows: key.endsWith("-race-b.ndjson") ? 2 : 1, deleted_at: NOW })),
    );
  });

  it("records every object of a day whose late calls are exported on a later tick", async () => {
    const day = Date.UTC(2026, 6, 16, 3);
    await writeInvocations(env.DB, [record("late-1", day + 1_000, "late-x"), record("late-2", day + 2_000, "late-x")]);
    const bucket = env.ANALYTICS_EXPORT as R2Bucket;
    await runRetention({ DB: env.DB, ANALYTICS_EXPORT: bucket }, NOW);
    // Calls of that day arrive after its export (an outbox retried days later).
    await writeInvocations(env.DB, [record("late-0", day, "late-x"), record("late-3", day + 3_000, "late-x")]);
    const later = NOW + 60_000;
    const run = await runRetention({ DB: env.DB, ANALYTICS_EXPORT: bucket }, later);
    expect(run.days.map((d) => [d.day, d.rows])).toEqual([["2026-07-16", 2]]);
    const exported = await objectLines("invocations/dt=2026-07-16/");
    expect(exported.objects).toBe(2);
    expect(exported.lines.map((line) => line.id).sort()).toEqual(["late-0", "late-1", "late-2", "late-3"]);
    const watermark = await watermarkOf("2026-07-16");
    expect(watermark.map((row) => row.object_key)).toEqual(exported.keys);
    expect(watermark.map((row) => [row.rows, row.deleted_at])).toEqual([
      [2, NOW],
      [2, later],
    ]);
    expect(await countOf("late")).toBe(0);
  });
});

async function watermarkOf(day: string) {
  const { results } = await env.DB.prepare(
    "SELECT object_key, rows, deleted_at FROM analytics_exports WHERE day = ?1 ORDER BY object_key",
  )
    .bind(day)
    .all<{ object_key: string; rows: number; deleted_at: number }>();
  return results;
}
