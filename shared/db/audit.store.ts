import { drizzle } from "drizzle-orm/d1";
import type { Caller } from "../auth/caller";
import { type AuditDecision, auditEvents } from "./fleet.schema";

/** One refusal or approval answer; timestamps as epoch ms so it survives JSON (the session outbox). */
export interface AuditRecord {
  id: string;
  at: number;
  serverName: string;
  callerKind: "user" | "service" | "anonymous";
  callerId: string;
  action: string;
  decision: AuditDecision;
  reason: string;
  /** SHA-256 of the tool call's arguments, when the record is about one call. */
  argsDigest?: string | null;
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

/** The human's answer (or the lack of one) to an approval request for one tool call. */
export function approvalDecision(
  serverName: string,
  caller: Caller,
  toolName: string,
  argsDigest: string,
  decision: Exclude<AuditDecision, "denied">,
  action: string,
): AuditRecord {
  return {
    id: crypto.randomUUID(),
    at: Date.now(),
    serverName,
    callerKind: caller.kind,
    callerId: caller.id,
    action: `approval ${toolName}`,
    decision,
    reason: action,
    argsDigest,
  };
}

/**
 * A decision (or a refused attempt at one) on the registry's approval page, by the signed-in
 * `caller`, about one approval request for `toolName` on `serverName`.
 */
export function approvalPageDecision(
  serverName: string,
  caller: Caller | undefined,
  toolName: string,
  argsDigest: string | null,
  decision: "approved" | "rejected" | "refused",
  reason: string,
): AuditRecord {
  return {
    id: crypto.randomUUID(),
    at: Date.now(),
    serverName,
    callerKind: caller?.kind ?? "anonymous",
    callerId: caller?.id ?? "anonymous",
    action: `approval decision ${toolName}`,
    decision,
    reason,
    argsDigest,
  };
}

/** D1 allows 100 bound parameters per statement; an audit row has 9 columns. */
const ROWS_PER_STATEMENT = 11;

/** Writes audit records in one batch, idempotently by id. */
export async function writeAuditEvents(d1: D1Database, records: readonly AuditRecord[]): Promise<void> {
  if (records.length === 0) return;
  const db = drizzle(d1);
  const rows = records.map((record) => ({ ...record, at: new Date(record.at), argsDigest: record.argsDigest ?? null }));
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
