/**
 * The invocation outbox: records (invocations, audit events) wait in the session object's
 * storage until they are in D1, flushed in batches off the call's path. A batch D1 refuses stays
 * and is retried with backoff; after DEAD_LETTER_AFTER failed flushes in a row each record of the
 * batch is tried on its own, and one D1 refuses alone goes to `dead_letters` (kept whole, counted
 * in /health, logged), so one bad record cannot hold the rest back or keep the object alive.
 * While D1 is down altogether (the dead-letter write fails too) everything stays in the outbox.
 */
import { type AuditRecord, writeAuditEvents } from "../db/audit.store";
import { writeDeadLetter } from "../db/dead-letters.store";
import { type InvocationRecord, writeInvocations } from "../db/invocations.store";
import type { OutboxRecord, SessionStorage } from "./session.storage";

/** Records are flushed to D1 this soon after the first record of a batch… */
export const FLUSH_DELAY_MS = 2_000;
/** …a durable alarm, at most this far ahead, backs the in-memory timer up (eviction)… */
export const FLUSH_BACKSTOP_MS = 30_000;
/** …and retries with backoff while D1 keeps failing… */
const FLUSH_RETRY_MS = [1_000, 5_000, 15_000, 60_000];
/** …until this many flushes in a row failed (about 5 minutes): then records are tried one by one. */
export const DEAD_LETTER_AFTER = 8;
const OUTBOX_BATCH = 400;

export interface OutboxOptions {
  storage: SessionStorage;
  d1: () => D1Database;
  serverName: string;
  /** A flush failed: the outbox must be retried by this time. */
  retryBy(at: number): void;
}

export class Outbox {
  readonly #options: OutboxOptions;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #flushing: Promise<boolean> | undefined;
  /** Failed flushes in a row (persisted: an eviction does not reset the count). */
  #failed: number | undefined;

  constructor(options: OutboxOptions) {
    this.#options = options;
  }

  /** Queues one record; returns the time by which the alarm must back the flush up. */
  enqueue(record: OutboxRecord): number {
    this.#options.storage.enqueue(record);
    this.#timer ??= setTimeout(() => {
      this.#timer = undefined;
      void this.flush();
    }, FLUSH_DELAY_MS);
    return Date.now() + FLUSH_BACKSTOP_MS;
  }

  /** Writes the whole outbox to D1; true when it is empty afterwards. Single-flight. */
  flush(): Promise<boolean> {
    this.#flushing ??= this.#drain().finally(() => {
      this.#flushing = undefined;
    });
    return this.#flushing;
  }

  /** How long to wait before retrying after the latest failure. */
  async retryDelay(): Promise<number> {
    const failed = await this.#failedFlushes();
    return FLUSH_RETRY_MS[Math.min(Math.max(failed - 1, 0), FLUSH_RETRY_MS.length - 1)] ?? 60_000;
  }

  async #failedFlushes(): Promise<number> {
    this.#failed ??= await this.#options.storage.failedFlushes();
    return this.#failed;
  }

  async #setFailed(count: number): Promise<void> {
    if ((await this.#failedFlushes()) === count) return;
    this.#failed = count;
    await this.#options.storage.setFailedFlushes(count);
  }

  async #drain(): Promise<boolean> {
    const { storage } = this.#options;
    for (;;) {
      const batch = await storage.peekOutbox(OUTBOX_BATCH);
      if (batch.records.length === 0) break;
      try {
        await writeOutbox(this.#options.d1(), batch.records);
        await storage.dropOutbox(batch.keys);
      } catch (error) {
        const failed = (await this.#failedFlushes()) + 1;
        await this.#setFailed(failed);
        if (failed < DEAD_LETTER_AFTER || !(await this.#oneByOne(batch, failed))) {
          console.error(
            `invocation flush to D1 failed (${failed} in a row); ${await storage.outboxSize()} records kept for retry`,
            error,
          );
          this.#options.retryBy(Date.now() + (await this.retryDelay()));
          return false;
        }
      }
    }
    await this.#setFailed(0);
    return true;
  }

  /** Each record alone; one D1 refuses goes to dead_letters. False when D1 is down altogether. */
  async #oneByOne(batch: { keys: string[]; records: OutboxRecord[] }, attempts: number): Promise<boolean> {
    const { storage, serverName } = this.#options;
    const d1 = this.#options.d1();
    for (const [index, record] of batch.records.entries()) {
      const key = batch.keys[index] as string;
      try {
        await writeOutbox(d1, [record]);
      } catch (refusal) {
        const error = rootMessage(refusal);
        try {
          await writeDeadLetter(d1, {
            id: record.id,
            serverName,
            target: record.table,
            record,
            error,
            attempts,
            at: Date.now(),
          });
        } catch {
          return false;
        }
        console.error(
          JSON.stringify({ deadLetter: record.id, server: serverName, target: record.table, error, record }),
        );
      }
      await storage.dropOutbox([key]);
    }
    return true;
  }
}

/** What D1 said: the innermost cause (drizzle wraps it in "Failed query: …" with the whole statement). */
function rootMessage(error: unknown): string {
  let current = error;
  while (current instanceof Error && current.cause instanceof Error) current = current.cause;
  return current instanceof Error ? current.message : String(current);
}

async function writeOutbox(d1: D1Database, records: readonly OutboxRecord[]): Promise<void> {
  const invocations: InvocationRecord[] = [];
  const audits: AuditRecord[] = [];
  for (const record of records) {
    if (record.table === "invocations") {
      const { table: _table, ...invocation } = record;
      invocations.push(invocation);
    } else {
      const { table: _table, ...audit } = record;
      audits.push(audit);
    }
  }
  // Both writes are idempotent by id: a retry after a partial failure double-counts nothing.
  await Promise.all([writeInvocations(d1, invocations), writeAuditEvents(d1, audits)]);
}
