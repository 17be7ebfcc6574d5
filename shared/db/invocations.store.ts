import { getTableColumns, getTableName, sql } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { invocations } from "./fleet.schema";

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

/** Schema property → column, straight from the drizzle table (so the two cannot drift apart). */
const COLUMNS = Object.entries(getTableColumns(invocations)) as [keyof InvocationRecord, { name: string }][];

const INSERT_FROM_JSON = sql.raw(
  `INSERT INTO "${getTableName(invocations)}" (${COLUMNS.map(([, column]) => `"${column.name}"`).join(", ")}) ` +
    `SELECT ${COLUMNS.map(([, column]) => `value ->> '$.${column.name}'`).join(", ")} FROM json_each(`,
);

/**
 * Writes a batch of invocations to D1 in one statement: the rows travel as one JSON parameter
 * (D1 caps bound parameters per statement at 100; an invocation has 12 columns). Idempotent by
 * id, so a batch retried after an ambiguous failure never double-counts.
 */
export async function writeInvocations(d1: D1Database, records: readonly InvocationRecord[]): Promise<void> {
  if (records.length === 0) return;
  const rows = records.map((record) => Object.fromEntries(COLUMNS.map(([key, column]) => [column.name, record[key]])));
  await drizzle(d1).run(sql`${INSERT_FROM_JSON}${JSON.stringify(rows)}) WHERE true ON CONFLICT (id) DO NOTHING`);
}
