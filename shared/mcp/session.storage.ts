/**
 * The session object's own SQLite storage: what `initialize` carried (to rebuild the session
 * after eviction), the SSE event log (for `Last-Event-ID` resumption) and the invocation outbox.
 * Tables are created when a session is, never on a mere lookup: an object that only answered
 * 404 writes nothing and leaves nothing behind.
 */
import type { EventId, EventStore, JSONRPCMessage, StreamId } from "@modelcontextprotocol/server";
import type { Caller } from "../auth/caller";
import type { AuditRecord } from "../db/audit.store";
import type { InvocationRecord } from "../db/invocations.store";

/** What waits in a session's outbox for D1: invocations and audit records (denials). */
export type OutboxRecord = ({ table: "invocations" } & InvocationRecord) | ({ table: "audit_events" } & AuditRecord);

const SCHEMA = `
CREATE TABLE IF NOT EXISTS session (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  session_id TEXT NOT NULL,
  owner TEXT NOT NULL,
  initialize TEXT NOT NULL,
  transport TEXT NOT NULL DEFAULT 'streamable',
  created_at INTEGER NOT NULL,
  last_active_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS events (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  stream_id TEXT NOT NULL,
  message TEXT NOT NULL,
  created_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS events_stream ON events (stream_id, seq);`;

const OUTBOX = "outbox:";
/** How many flushes in a row failed (outside the outbox prefix, so never listed with its records). */
const OUTBOX_ATTEMPTS = "outbox-attempts";
/** Durable Object storage writes and deletes at most this many keys per call. */
const DELETE_CHUNK = 128;
const PUT_CHUNK = 128;
/** How long finished calls' records wait to be written together (see enqueue). */
const GROUP_COMMIT_MS = 100;

/** Streamable HTTP (2025-03-26 and later) or the legacy HTTP+SSE transport (2024-11-05). */
export type SessionTransport = "streamable" | "sse";

export interface SessionRecord {
  sessionId: string;
  transport: SessionTransport;
  owner: Caller;
  /** The client's `initialize` request, replayed into a fresh transport on wake (none for SSE). */
  initialize: JSONRPCMessage | null;
  createdAt: number;
  lastActiveAt: number;
}

/**
 * The event log is pruned as it grows (every PRUNE_EVERY events stored): events older than
 * EVENT_RETENTION_MS go, and only the newest MAX_EVENTS are kept. A client resuming from a pruned
 * event gets an error and opens a fresh stream.
 */
export const EVENT_RETENTION_MS = 15 * 60_000;
export const MAX_EVENTS = 5_000;
const PRUNE_EVERY = 100;

export class SessionStorage {
  readonly #storage: DurableObjectStorage;
  readonly #sql: SqlStorage;
  readonly #pending = new Map<string, OutboxRecord>();
  #commitTimer: ReturnType<typeof setTimeout> | undefined;
  #schemaReady = false;

  constructor(storage: DurableObjectStorage) {
    this.#storage = storage;
    this.#sql = storage.sql;
  }

  /** Creates the tables (and adds columns newer than an existing table). Only when something is stored. */
  #ensureSchema(): void {
    if (this.#schemaReady) return;
    this.#sql.exec(SCHEMA);
    const columns = this.#sql.exec<{ name: string }>("PRAGMA table_info(session)").toArray();
    if (!columns.some((column) => column.name === "transport")) {
      this.#sql.exec("ALTER TABLE session ADD COLUMN transport TEXT NOT NULL DEFAULT 'streamable'");
    }
    this.#schemaReady = true;
  }

  #hasTables(): boolean {
    if (this.#schemaReady) return true;
    const found = this.#sql
      .exec<{ n: number }>("SELECT count(*) AS n FROM sqlite_master WHERE type = 'table' AND name = 'session'")
      .one();
    return found.n > 0;
  }

  load(): SessionRecord | undefined {
    if (!this.#hasTables()) return undefined;
    this.#ensureSchema();
    const row = this.#sql
      .exec<Record<string, string | number | null>>("SELECT * FROM session WHERE id = 1")
      .toArray()[0];
    if (!row) return undefined;
    return {
      sessionId: String(row.session_id),
      transport: row.transport === "sse" ? "sse" : "streamable",
      owner: JSON.parse(String(row.owner)) as Caller,
      initialize: JSON.parse(String(row.initialize)) as JSONRPCMessage | null,
      createdAt: Number(row.created_at),
      lastActiveAt: Number(row.last_active_at),
    };
  }

  create(record: Omit<SessionRecord, "lastActiveAt">): void {
    this.#ensureSchema();
    this.#sql.exec(
      "INSERT INTO session (id, session_id, transport, owner, initialize, created_at, last_active_at) VALUES (1, ?, ?, ?, ?, ?, ?)",
      record.sessionId,
      record.transport,
      JSON.stringify(record.owner),
      JSON.stringify(record.initialize),
      record.createdAt,
      record.createdAt,
    );
  }

  touch(at: number): void {
    if (!this.#schemaReady) return;
    this.#sql.exec("UPDATE session SET last_active_at = ? WHERE id = 1", at);
  }

  /** Drops the session and its events; the outbox is kept until it has been flushed. */
  forgetSession(): void {
    if (this.#hasTables()) this.#sql.exec("DELETE FROM session; DELETE FROM events;");
  }

  /** Deletes everything the object stores, tables included (the object then costs nothing). */
  async wipe(): Promise<void> {
    this.#pending.clear();
    if (this.#commitTimer !== undefined) clearTimeout(this.#commitTimer);
    this.#commitTimer = undefined;
    await this.#storage.deleteAlarm();
    await this.#storage.deleteAll();
    this.#schemaReady = false;
  }

  // --- invocation outbox ---

  /**
   * Buffers one record for D1 in this object's storage, keyed by time and id. Records are
   * group-committed: those of calls finishing within GROUP_COMMIT_MS of each other are written
   * in one storage transaction, so a busy session pays one durable write per batch instead of
   * one per call (measured: a write per call cost 10–15 % of tools/call throughput at concurrency 10). The window
   * is the only time a record lives in memory alone: eviction, restarts and D1 outages lose
   * nothing; a hard crash of the process within those milliseconds could.
   */
  enqueue(record: OutboxRecord): void {
    const at = record.table === "invocations" ? record.startedAt : record.at;
    this.#pending.set(`${OUTBOX}${String(at).padStart(15, "0")}:${record.id}`, record);
    this.#commitTimer ??= setTimeout(() => void this.commitPending(), GROUP_COMMIT_MS);
  }

  /** Writes the records waiting in memory to storage (one transaction per 128 records). */
  async commitPending(): Promise<void> {
    if (this.#commitTimer !== undefined) clearTimeout(this.#commitTimer);
    this.#commitTimer = undefined;
    if (this.#pending.size === 0) return;
    const entries = [...this.#pending];
    this.#pending.clear();
    for (let i = 0; i < entries.length; i += PUT_CHUNK) {
      await this.#storage.put(Object.fromEntries(entries.slice(i, i + PUT_CHUNK)));
    }
  }

  async peekOutbox(limit: number): Promise<{ keys: string[]; records: OutboxRecord[] }> {
    await this.commitPending();
    const entries = await this.#storage.list<OutboxRecord>({ prefix: OUTBOX, limit });
    return { keys: [...entries.keys()], records: [...entries.values()] };
  }

  async dropOutbox(keys: readonly string[]): Promise<void> {
    for (let i = 0; i < keys.length; i += DELETE_CHUNK) await this.#storage.delete(keys.slice(i, i + DELETE_CHUNK));
  }

  async failedFlushes(): Promise<number> {
    return (await this.#storage.get<number>(OUTBOX_ATTEMPTS)) ?? 0;
  }

  async setFailedFlushes(count: number): Promise<void> {
    if (count === 0) await this.#storage.delete(OUTBOX_ATTEMPTS);
    else await this.#storage.put(OUTBOX_ATTEMPTS, count);
  }

  async outboxSize(): Promise<number> {
    await this.commitPending();
    return (await this.#storage.list({ prefix: OUTBOX })).size;
  }

  // --- SSE events (resumability) ---

  pruneEvents(now: number): void {
    if (!this.#hasTables()) return;
    this.#sql.exec("DELETE FROM events WHERE created_at < ?", now - EVENT_RETENTION_MS);
    this.#sql.exec("DELETE FROM events WHERE seq <= (SELECT max(seq) FROM events) - ?", MAX_EVENTS);
  }

  eventStore(): EventStore {
    this.#ensureSchema();
    const sql = this.#sql;
    const prune = (now: number) => this.pruneEvents(now);
    return {
      async storeEvent(streamId: StreamId, message: JSONRPCMessage): Promise<EventId> {
        const now = Date.now();
        const { seq } = sql
          .exec<{ seq: number }>(
            "INSERT INTO events (stream_id, message, created_at) VALUES (?, ?, ?) RETURNING seq",
            streamId,
            JSON.stringify(message),
            now,
          )
          .one();
        if (seq % PRUNE_EVERY === 0) prune(now);
        return String(seq);
      },
      async getStreamIdForEventId(eventId: EventId): Promise<StreamId | undefined> {
        const row = sql
          .exec<{ stream_id: string }>("SELECT stream_id FROM events WHERE seq = ?", Number(eventId))
          .toArray()[0];
        return row?.stream_id;
      },
      async replayEventsAfter(eventId, { send }): Promise<StreamId> {
        const origin = sql
          .exec<{ stream_id: string }>("SELECT stream_id FROM events WHERE seq = ?", Number(eventId))
          .toArray()[0];
        if (!origin) throw new Error(`Unknown or expired event id ${eventId}`);
        const later = sql
          .exec<{ seq: number; message: string }>(
            "SELECT seq, message FROM events WHERE stream_id = ? AND seq > ? ORDER BY seq",
            origin.stream_id,
            Number(eventId),
          )
          .toArray();
        for (const event of later) {
          const message = JSON.parse(event.message) as JSONRPCMessage;
          // Priming events are empty placeholders, not messages.
          if (Object.keys(message).length > 0) await send(String(event.seq), message);
        }
        return origin.stream_id;
      },
    };
  }
}
