/**
 * Raw invocations are kept in D1 for a window (ANALYTICS_RETENTION_DAYS, default 90); older days
 * are exported to R2 as NDJSON, usually one object per UTC day (`invocations/dt=YYYY-MM-DD/<export
 * time>-<first id>.ndjson`, one JSON object per call with the columns' names; multipart above
 * 5 MiB), then deleted from D1: only the rows the object holds, only once it is complete. A day
 * has several objects when it holds more than MAX_OBJECT_ROWS calls, when calls arrive for it
 * after its export (they go out in another object of that day), or when a tick was cut short
 * between an export and its deletion. The rollups stay forever. Runs on the registry's cron, a
 * few days per tick, oldest first; every object is recorded in `analytics_exports` (the
 * watermark: one row per object, with its day, rows and bytes).
 */
import { dayOf } from "./analytics.period";

export const DEFAULT_RETENTION_DAYS = 90;
/** Days exported per cron tick (each at most a few seconds at 100x the seed's volume). */
const DAYS_PER_TICK = 3;
const PAGE_ROWS = 5_000;
/**
 * Rows per object: a larger day goes out in several objects. Bounds what one run holds (the
 * ids it will delete, one part's bytes), not what a day may hold.
 */
export const MAX_OBJECT_ROWS = 200_000;
/** Ids per DELETE statement (one JSON parameter), statements per D1 batch. */
const DELETE_IDS = 1_000;
const DELETE_BATCH = 10;
const NDJSON = "application/x-ndjson";
/** R2 multipart parts must be at least 5 MiB (all but the last). */
const PART_BYTES = 5 * 1024 * 1024;

export interface RetentionEnv {
  DB: D1Database;
  /** The export bucket; without it nothing is deleted (fail closed: no export, no deletion). */
  ANALYTICS_EXPORT?: R2Bucket;
  ANALYTICS_RETENTION_DAYS?: string;
}

export interface RetentionRun {
  days: { day: string; key: string; rows: number; bytes: number }[];
  skipped?: string;
}

/** The window in days: a whole number ≥ 1, else the default (a bad setting never deletes more). */
export function retentionDays(env: Pick<RetentionEnv, "ANALYTICS_RETENTION_DAYS">): number {
  const days = Number(env.ANALYTICS_RETENTION_DAYS);
  return Number.isSafeInteger(days) && days >= 1 ? days : DEFAULT_RETENTION_DAYS;
}

export async function runRetention(env: RetentionEnv, now = Date.now()): Promise<RetentionRun> {
  const bucket = env.ANALYTICS_EXPORT;
  if (!bucket) return { days: [], skipped: "no ANALYTICS_EXPORT bucket bound: raw invocations are kept" };
  const cutoffDay = dayOf(now - retentionDays(env) * 86_400_000);
  const cutoff = Date.parse(`${cutoffDay}T00:00:00Z`);
  const run: RetentionRun = { days: [] };
  for (let i = 0; i < DAYS_PER_TICK; i++) {
    const oldest = await env.DB.prepare("SELECT min(started_at) AS at FROM invocations WHERE started_at < ?1")
      .bind(cutoff)
      .first<{ at: number | null }>();
    if (oldest?.at === null || oldest?.at === undefined) break;
    run.days.push(await exportDay(env.DB, bucket, dayOf(oldest.at), now));
  }
  return run;
}

/**
 * Exports up to MAX_OBJECT_ROWS of a day's rows (oldest first) to one object — multipart once
 * they pass PART_BYTES — then deletes exactly the rows it exported, by id: a row that lands
 * for the day while it is being exported (an outbox retried late) is neither lost nor deleted
 * unexported; it goes out in another object of that day later. Any failure before the object is
 * complete aborts the upload and deletes nothing.
 */
async function exportDay(db: D1Database, bucket: R2Bucket, day: string, now: number) {
  const from = Date.parse(`${day}T00:00:00Z`);
  const to = from + 86_400_000;
  const encoder = new TextEncoder();
  const ids: string[] = [];
  let bytes = 0;
  let pending: Uint8Array[] = [];
  let pendingBytes = 0;
  let key = "";
  let upload: R2MultipartUpload | undefined;
  const parts: R2UploadedPart[] = [];
  const flushPart = async () => {
    upload ??= await bucket.createMultipartUpload(key, { httpMetadata: { contentType: NDJSON } });
    parts.push(await upload.uploadPart(parts.length + 1, concat(pending, pendingBytes)));
    pending = [];
    pendingBytes = 0;
  };
  let after = { at: from - 1, id: "" };
  try {
    while (ids.length < MAX_OBJECT_ROWS) {
      const { results } = await db
        .prepare(
          `SELECT * FROM invocations WHERE started_at >= ?1 AND started_at < ?2 AND (started_at, id) > (?3, ?4)
            ORDER BY started_at, id LIMIT ?5`,
        )
        .bind(from, to, after.at, after.id, Math.min(PAGE_ROWS, MAX_OBJECT_ROWS - ids.length))
        .all<Record<string, unknown>>();
      if (results.length === 0) break;
      // One object per export run of a day, named by when and by its first call (unique).
      key ||= `invocations/dt=${day}/${new Date(now).toISOString().replace(/[:.]/g, "-")}-${results[0]?.id}.ndjson`;
      const chunk = encoder.encode(`${results.map((row) => JSON.stringify(row)).join("\n")}\n`);
      pending.push(chunk);
      pendingBytes += chunk.byteLength;
      bytes += chunk.byteLength;
      for (const row of results) ids.push(String(row.id));
      const last = results[results.length - 1] as { started_at: number; id: string };
      after = { at: last.started_at, id: last.id };
      if (pendingBytes >= PART_BYTES) await flushPart();
    }
    if (upload) {
      if (pendingBytes > 0) await flushPart();
      await upload.complete(parts);
    } else {
      await bucket.put(key, concat(pending, pendingBytes), { httpMetadata: { contentType: NDJSON } });
    }
  } catch (error) {
    // Nothing was deleted; the day is exported again, whole, on a later tick.
    await upload?.abort().catch(() => undefined);
    throw error;
  }
  // The watermark first, then the rows: exactly those in the object. (A tick cut short between
  // the two exports the rows left again: an object may repeat a call, never miss one.)
  // One row per object (a key clash fails the insert: then nothing is deleted).
  await db
    .prepare("INSERT INTO analytics_exports (object_key, day, rows, bytes, exported_at) VALUES (?1, ?2, ?3, ?4, ?5)")
    .bind(key, day, ids.length, bytes, now)
    .run();
  for (let i = 0; i < ids.length; i += DELETE_BATCH * DELETE_IDS) {
    const statements = [];
    for (let j = i; j < Math.min(ids.length, i + DELETE_BATCH * DELETE_IDS); j += DELETE_IDS) {
      statements.push(
        db
          .prepare("DELETE FROM invocations WHERE id IN (SELECT value FROM json_each(?1))")
          .bind(JSON.stringify(ids.slice(j, j + DELETE_IDS))),
      );
    }
    await db.batch(statements);
  }
  await db.prepare("UPDATE analytics_exports SET deleted_at = ?2 WHERE object_key = ?1").bind(key, now).run();
  return { day, key, rows: ids.length, bytes };
}

function concat(chunks: Uint8Array[], length: number): Uint8Array {
  const out = new Uint8Array(length);
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return out;
}
