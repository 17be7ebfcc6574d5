/**
 * A query as the local coordinator tracks it, and the documents the client protocol describes it
 * with: `QueryResults` (the answer to the POST and to each GET of `nextUri`), its `stats`,
 * `QueryInfo` (GET /v1/query/{id}), column type signatures, and Trino's duration format.
 */

import type { RuntimeQuery, Session, StatementResult } from "./presto.engine.ts";
import type { QueryError } from "./presto.errors.ts";
import type { TransactionDirective } from "./presto.transactions.ts";

export type QueryState = "QUEUED" | "RUNNING" | "FINISHED" | "FAILED";

export interface LocalQuery {
  readonly id: string;
  readonly slug: string;
  readonly sql: string;
  readonly session: Session;
  readonly createdAt: number;
  state: QueryState;
  startedAt?: number;
  endedAt?: number;
  lastActivityAt: number;
  queuedPollsLeft: number;
  runningPollsLeft: number;
  runningPollsDone: number;
  /** Set once executed; rows are released when finished, failed or canceled. */
  result?: StatementResult;
  rowCount: number;
  rowsSent: number;
  processedBytes: number;
  cpuMillis: number;
  error?: QueryError;
  /** Token of the response last served (a retried GET gets it again) and of the next one. */
  lastToken: number;
  nextToken: number;
  lastResponse?: string;
  /** Whether the client sent a transaction header at all (`NONE` counts): Trino's "client transaction support". */
  clientTransactionSupport: boolean;
  /** Transaction headers to send once the query is done (START TRANSACTION, COMMIT, ROLLBACK). */
  transactionDirective: TransactionDirective;
}

const SPLITS_PER_QUERY = 16;

/** Drops the rows of a query that no client will fetch any more; the rest of its result stays. */
export function releaseRows(query: LocalQuery): void {
  if (query.result) query.result = { ...query.result, rows: [] };
}

/** Units of airlift's Duration, largest first, in milliseconds. */
const DURATION_UNITS = Object.entries({ d: 86_400_000, h: 3_600_000, m: 60_000, s: 1000, ms: 1, us: 1e-3, ns: 1e-6 });

/** airlift Duration formatting, as Trino serializes durations: `12.34ms`, `1.50s`. */
export function formatDuration(ms: number): string {
  const [unit, size] = DURATION_UNITS.find(([, size]) => ms >= size) ?? ["ns", 1e-6];
  return `${(ms / size).toFixed(2)}${unit}`;
}

/** A 0..1 fraction as a percentage with two decimals. */
const percent = (fraction: number): number => Math.round(fraction * 10_000) / 100;

const isoTime = (ms: number | undefined): string | undefined =>
  ms === undefined ? undefined : new Date(ms).toISOString();

export const isTerminal = (state: QueryState): boolean => state === "FINISHED" || state === "FAILED";

type TypeArgument =
  | { kind: "LONG"; value: number }
  | { kind: "TYPE"; value: TypeSignature }
  | { kind: "NAMED_TYPE"; value: { fieldName?: { name: string; delimited: boolean }; typeSignature: TypeSignature } };

interface TypeSignature {
  rawType: string;
  arguments: TypeArgument[];
}

/**
 * Trino's client type signature of a type name: `decimal(10,2)` has LONG arguments,
 * `array(varchar)` and `map(k, v)` TYPE arguments, `row(a bigint)` NAMED_TYPE ones; unbounded
 * varchar carries its maximum length like Trino does.
 */
export function typeSignature(type: string): TypeSignature {
  const open = type.indexOf("(");
  const close = type.lastIndexOf(")");
  if (open < 0 || close < open) {
    return { rawType: type, arguments: type === "varchar" ? [{ kind: "LONG", value: 2_147_483_647 }] : [] };
  }
  const rawType = `${type.slice(0, open)}${type.slice(close + 1)}`;
  const members = splitMembers(type.slice(open + 1, close));
  if (members.every((member) => /^\d+$/.test(member))) {
    return { rawType, arguments: members.map((member) => ({ kind: "LONG", value: Number(member) })) };
  }
  if (rawType === "row") {
    return {
      rawType,
      arguments: members.map((member) => {
        const [, name, fieldType = member] = /^("(?:[^"]|"")*"|[a-z_][a-z0-9_]*) (.+)$/.exec(member) ?? [];
        const fieldName = name ? { name: name.replace(/^"|"$/g, ""), delimited: name.startsWith('"') } : undefined;
        return { kind: "NAMED_TYPE", value: { fieldName, typeSignature: typeSignature(fieldType) } };
      }),
    };
  }
  return { rawType, arguments: members.map((member) => ({ kind: "TYPE", value: typeSignature(member) })) };
}

/** Splits `a, map(b, c), d` at the commas outside parentheses. */
function splitMembers(text: string): string[] {
  const members = [""];
  let depth = 0;
  for (const char of text) {
    if (char === "(") depth++;
    if (char === ")") depth--;
    if (char === "," && depth === 0) members.push("");
    else members[members.length - 1] += char;
  }
  return members.map((member) => member.trim());
}

/** The row of system.runtime.queries for a query. */
export function runtimeQuery(query: LocalQuery): RuntimeQuery {
  return {
    queryId: query.id,
    state: query.state,
    user: query.session.user,
    source: query.session.source ?? null,
    query: query.sql,
    queuedTimeMs: (query.startedAt ?? Date.now()) - query.createdAt,
    created: query.createdAt,
    started: query.startedAt ?? null,
    ended: query.endedAt ?? null,
    errorType: query.error?.errorType ?? null,
    errorCode: query.error?.errorName ?? null,
  };
}

export function queryResults(
  query: LocalQuery,
  base: string,
  page: unknown[][] | undefined,
  runningPolls: number,
): Record<string, unknown> {
  const phase = query.state === "QUEUED" ? "queued" : "executing";
  const columns = query.state === "QUEUED" || query.error ? undefined : query.result?.columns;
  return {
    id: query.id,
    infoUri: `${base}/ui/query.html?${query.id}`,
    partialCancelUri: query.state === "RUNNING" ? `${base}/v1/stage/${query.id}.0` : undefined,
    nextUri: isTerminal(query.state)
      ? undefined
      : `${base}/v1/statement/${phase}/${query.id}/${query.slug}/${query.nextToken}`,
    columns: columns?.map((column) => ({ ...column, typeSignature: typeSignature(column.type) })),
    data: page?.length ? page : undefined,
    stats: queryStats(query, runningPolls),
    error: query.error,
    warnings: [],
    updateType: query.error ? undefined : query.result?.updateType,
    updateCount: query.error ? undefined : query.result?.updateCount,
  };
}

/** 0..1: RUNNING polls and delivered data pages each advance the progress. */
function progress(query: LocalQuery, runningPolls: number): number {
  if (query.state === "FINISHED") return 1;
  if (!query.result) return 0;
  const delivered = query.rowCount > 0 ? query.rowsSent / query.rowCount : 0;
  return (query.runningPollsDone + delivered) / (runningPolls + 1);
}

function queryStats(query: LocalQuery, runningPolls: number): Record<string, unknown> {
  const now = Date.now();
  const fraction = progress(query, runningPolls);
  const totalSplits = query.result ? SPLITS_PER_QUERY : 0;
  const completedSplits = Math.round(totalSplits * fraction);
  const runningSplits = query.state === "RUNNING" ? Math.min(4, totalSplits - completedSplits) : 0;
  const queuedSplits = query.state === "RUNNING" ? totalSplits - completedSplits - runningSplits : 0;
  const started = query.startedAt ?? now;
  const ended = query.endedAt ?? now;
  return {
    state: query.state,
    queued: query.state === "QUEUED",
    scheduled: query.result !== undefined,
    progressPercentage: percent(fraction),
    runningPercentage: totalSplits ? percent(runningSplits / totalSplits) : 0,
    nodes: query.result ? 1 : 0,
    totalSplits,
    queuedSplits,
    runningSplits,
    completedSplits,
    cpuTimeMillis: Math.round(query.cpuMillis),
    wallTimeMillis: Math.max(0, ended - started),
    queuedTimeMillis: started - query.createdAt,
    elapsedTimeMillis: ended - query.createdAt,
    processedRows: query.rowCount,
    processedBytes: query.processedBytes,
    physicalInputBytes: query.processedBytes,
    peakMemoryBytes: query.processedBytes,
    spilledBytes: 0,
  };
}

export function queryInfo(query: LocalQuery, base: string, runningPolls: number): Record<string, unknown> {
  const now = Date.now();
  const started = query.startedAt ?? now;
  const ended = query.endedAt ?? now;
  return {
    queryId: query.id,
    state: query.state,
    query: query.sql,
    self: `${base}/v1/query/${query.id}`,
    session: { queryId: query.id, ...query.session },
    queryStats: {
      createTime: isoTime(query.createdAt),
      executionStartTime: isoTime(query.startedAt),
      endTime: isoTime(query.endedAt),
      elapsedTime: formatDuration(ended - query.createdAt),
      queuedTime: formatDuration(started - query.createdAt),
      executionTime: formatDuration(Math.max(0, ended - started)),
      totalCpuTime: formatDuration(query.cpuMillis),
      processedInputPositions: query.rowCount,
      processedInputDataSize: `${query.processedBytes}B`,
      progressPercentage: percent(progress(query, runningPolls)),
    },
    scheduled: query.result !== undefined,
    updateType: query.result?.updateType,
    errorType: query.error?.errorType,
    errorCode: query.error
      ? { code: query.error.errorCode, name: query.error.errorName, type: query.error.errorType }
      : undefined,
    failureInfo: query.error?.failureInfo,
  };
}

export function serverInfo(startedAt: number): Record<string, unknown> {
  return {
    nodeVersion: { version: "local-439" },
    environment: "local",
    coordinator: true,
    starting: false,
    uptime: formatDuration(Date.now() - startedAt),
  };
}
