import { getTableColumns, getTableName } from "drizzle-orm";
import { LATENCY_BOUNDS_MS, LATENCY_COLUMNS } from "./analytics.schema";
import { type ApprovalOutcome, invocations } from "./fleet.schema";

/** What a session records per tools/call; timestamps as epoch ms so it survives JSON. */
export interface InvocationRecord {
  /** A UUIDv7 (time-ordered); also the `fleet/invocationId` in the tool result's `_meta`. */
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
  /** The caller's primary business group (see `primaryGroup`). */
  callerGroup: string;
  /** How an approval request for the call ended; null when none was asked. */
  approval: ApprovalOutcome | null;
}

/** The group a call is counted under: a user's first business group, `service` for services. */
export function primaryGroup(caller: { kind: "user" | "service"; groups: readonly string[] }): string {
  if (caller.kind === "service") return "service";
  return caller.groups[0] ?? "";
}

/** Schema property → column, straight from the drizzle table (so the two cannot drift apart). */
const COLUMNS = Object.entries(getTableColumns(invocations)) as [keyof InvocationRecord, { name: string }][];
const TABLE = getTableName(invocations);

/*
 * The JSON parameter is converted to JSONB once per statement (`jsonb(?1)`): each row's fields
 * are then read without re-parsing its text (measured: 4x faster rollups for a 4 000-row batch).
 */

/**
 * The rows of the batch that are not in D1 yet (the JSON parameter, deduplicated by id). Every
 * rollup statement reads it before the invocations are inserted, all in one D1 batch (one
 * transaction): a batch retried after an ambiguous failure finds its rows already there and
 * counts nothing twice.
 */
const FRESH_ROWS = `WITH fresh AS (SELECT ${COLUMNS.map(([, column]) => `j.value ->> '$.${column.name}' AS "${column.name}"`).join(", ")}
    FROM json_each(jsonb(?1)) AS j
    WHERE NOT EXISTS (SELECT 1 FROM "${TABLE}" AS i WHERE i.id = j.value ->> '$.id')
    GROUP BY j.value ->> '$.id'),
  dated AS (SELECT *, strftime('%Y-%m-%d', started_at / 1000, 'unixepoch') AS day FROM fresh)`;

/** CASE expression giving a call's latency bucket index. */
const BUCKET = `CASE ${LATENCY_BOUNDS_MS.map((bound, i) => `WHEN duration_ms <= ${bound} THEN ${i}`).join(" ")} ELSE ${LATENCY_BOUNDS_MS.length} END`;

/** Sums the fresh rows into a usage table keyed by `period` (an expression of `day`). */
function usageRollup(table: "usage_daily" | "usage_monthly", period: string, rows = FRESH_ROWS): string {
  const buckets = LATENCY_COLUMNS.map((_column, i) => `SUM(CASE WHEN bucket = ${i} THEN 1 ELSE 0 END)`).join(", ");
  const sums = [
    "invocations",
    "successes",
    "errors",
    "denials",
    "approvals_requested",
    "approvals_granted",
    "approvals_declined",
    "minutes_code",
    "duration_ms_total",
    ...LATENCY_COLUMNS,
  ];
  return `${rows}
    INSERT INTO ${table} (day, server_name, tool_name, caller_group, ${sums.join(", ")})
    SELECT ${period} AS period, server_name, tool_name, caller_group,
      COUNT(*),
      SUM(outcome = 'ok'),
      SUM(outcome = 'error' AND coalesce(error_class, '') <> 'denied'),
      SUM(coalesce(error_class, '') = 'denied'),
      SUM(approval IS NOT NULL),
      SUM(coalesce(approval, '') = 'approved'),
      SUM(coalesce(approval, '') = 'declined'),
      SUM(CASE WHEN outcome = 'ok' THEN minutes_saved ELSE 0 END),
      SUM(duration_ms),
      ${buckets}
    FROM (SELECT *, ${BUCKET} AS bucket FROM dated) WHERE true
    GROUP BY period, server_name, tool_name, caller_group
    ON CONFLICT (day, server_name, tool_name, caller_group) DO UPDATE SET
      ${sums.map((column) => `${column} = ${column} + excluded.${column}`).join(", ")}`;
}

/** Day, ISO week (from Monday) and month of every person's call: exact distinct users per period. */
const activeUsersRollup = (rows: string) => `${rows}
    INSERT OR IGNORE INTO active_users (period, start, server_name, tool_name, caller_id, caller_group)
    SELECT 'd', day, server_name, tool_name, caller_id, caller_group FROM dated WHERE caller_kind = 'user'
    UNION ALL
    SELECT 'w', date(day, 'weekday 0', '-6 days'), server_name, tool_name, caller_id, caller_group FROM dated WHERE caller_kind = 'user'
    UNION ALL
    SELECT 'm', substr(day, 1, 7) || '-01', server_name, tool_name, caller_id, caller_group FROM dated WHERE caller_kind = 'user'`;
const ACTIVE_USERS_ROLLUP = activeUsersRollup(FRESH_ROWS);

/**
 * The same rollups computed from every row of the invocations table at once (the bench's
 * generator loads raw rows in bulk, then rolls them up with these; the definitions are shared).
 */
export function rollupsOfTable(): string[] {
  const rows = `WITH dated AS (SELECT *, strftime('%Y-%m-%d', started_at / 1000, 'unixepoch') AS day FROM "${TABLE}")`;
  return [
    usageRollup("usage_daily", "day", rows),
    usageRollup("usage_monthly", "substr(day, 1, 7) || '-01'", rows),
    activeUsersRollup(rows),
  ];
}

const INSERT_ROWS = `INSERT INTO "${TABLE}" (${COLUMNS.map(([, column]) => `"${column.name}"`).join(", ")})
  SELECT ${COLUMNS.map(([, column]) => `value ->> '$.${column.name}'`).join(", ")} FROM json_each(jsonb(?1)) WHERE true
  ON CONFLICT (id) DO NOTHING`;

/** The batch's statements in order (rollups first, rows last), each bound to `invocationsJson`. */
export const INVOCATION_STATEMENTS = [
  usageRollup("usage_daily", "day"),
  usageRollup("usage_monthly", "substr(day, 1, 7) || '-01'"),
  ACTIVE_USERS_ROLLUP,
  INSERT_ROWS,
] as const;

/**
 * Writes a batch of invocations and their rollups to D1 in one batch (one transaction): the rows
 * travel as one JSON parameter per statement (D1 caps bound parameters per statement at 100).
 * Idempotent by id: the rollups count only the rows not yet in D1, and the rows are inserted
 * last, so a batch retried after an ambiguous failure never double-counts.
 */
export async function writeInvocations(
  d1: D1Database,
  records: readonly InvocationRecord[],
): Promise<{ rowsRead: number; rowsWritten: number }> {
  if (records.length === 0) return { rowsRead: 0, rowsWritten: 0 };
  const json = invocationsJson(records);
  const results = await d1.batch(INVOCATION_STATEMENTS.map((statement) => d1.prepare(statement).bind(json)));
  // What D1 bills: rows read and written (indexes included), as the bench counts them.
  return results.reduce(
    (sum, result) => ({
      rowsRead: sum.rowsRead + (result.meta.rows_read ?? 0),
      rowsWritten: sum.rowsWritten + (result.meta.rows_written ?? 0),
    }),
    { rowsRead: 0, rowsWritten: 0 },
  );
}

/** The records as the statements' one JSON parameter (rows keyed by column name). */
export function invocationsJson(records: readonly InvocationRecord[]): string {
  // Records queued before callerGroup and approval existed may still wait in an outbox.
  const rows = records.map((record) => {
    const complete: InvocationRecord = {
      ...record,
      callerGroup: record.callerGroup ?? "",
      approval: record.approval ?? null,
    };
    return Object.fromEntries(COLUMNS.map(([key, column]) => [column.name, complete[key]]));
  });
  return JSON.stringify(rows);
}
