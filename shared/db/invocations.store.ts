import { drizzle } from "drizzle-orm/d1";
import { type InvocationRow, invocations } from "./fleet.schema";

/** What a session records per tools/call; timestamps as epoch ms so it survives JSON. */
export interface InvocationRecord {
  id: string;
  serverName: string;
  toolName: string;
  sessionId: string;
  callerKind: "user" | "service";
  callerId: string;
  startedAt: number;
  durationMs: number;
  outcome: "ok" | "error";
  errorClass: string | null;
  minutesSaved: number;
  argsDigest: string;
}

/** D1 allows 100 bound parameters per statement; an invocation row has 12 columns. */
const ROWS_PER_STATEMENT = 8;

/**
 * Writes invocations to D1 in one batch (one implicit transaction). Idempotent by id, so a
 * batch retried after an ambiguous failure never double-counts.
 */
export async function writeInvocations(d1: D1Database, records: readonly InvocationRecord[]): Promise<void> {
  if (records.length === 0) return;
  const db = drizzle(d1);
  const rows: InvocationRow[] = records.map((r) => ({ ...r, startedAt: new Date(r.startedAt) }));
  const statements = [];
  for (let i = 0; i < rows.length; i += ROWS_PER_STATEMENT) {
    statements.push(
      db
        .insert(invocations)
        .values(rows.slice(i, i + ROWS_PER_STATEMENT))
        .onConflictDoNothing(),
    );
  }
  const [first, ...rest] = statements;
  if (first) await db.batch([first, ...rest]);
}
