import { drizzle } from "drizzle-orm/d1";
import type { Caller } from "../auth/caller";
import { auditEvents } from "./fleet.schema";

/** One refusal; timestamps as epoch ms so it survives JSON (the session outbox). */
export interface AuditRecord {
  id: string;
  at: number;
  serverName: string;
  callerKind: "user" | "service" | "anonymous";
  callerId: string;
  action: string;
  decision: "denied";
  reason: string;
}

export function denial(serverName: string, caller: Caller | undefined, action: string, reason: string): AuditRecord {
  return {
    id: crypto.randomUUID(),
    at: Date.now(),
    serverName,
    callerKind: caller?.kind ?? "anonymous",
    callerId: caller?.id ?? "anonymous",
    action,
    decision: "denied",
    reason,
  };
}

/** D1 allows 100 bound parameters per statement; an audit row has 8 columns. */
const ROWS_PER_STATEMENT = 12;

/** Writes audit records in one batch, idempotently by id. */
export async function writeAuditEvents(d1: D1Database, records: readonly AuditRecord[]): Promise<void> {
  if (records.length === 0) return;
  const db = drizzle(d1);
  const rows = records.map((record) => ({ ...record, at: new Date(record.at) }));
  const statements = [];
  for (let i = 0; i < rows.length; i += ROWS_PER_STATEMENT) {
    statements.push(
      db
        .insert(auditEvents)
        .values(rows.slice(i, i + ROWS_PER_STATEMENT))
        .onConflictDoNothing(),
    );
  }
  const [first, ...rest] = statements;
  if (first) await db.batch([first, ...rest]);
}
