import {
  BadArgumentError,
  UpstreamRejectedError,
  UpstreamTimeoutError,
  UpstreamUnavailableError,
} from "../../shared/mcp/errors";

/**
 * What the Trino/Presto client protocol carries, as the client reads it: the result types the
 * client returns, the wire shapes it parses, and how a failed query becomes a tool error.
 */

export interface QueryProgress {
  state: string;
  /** 0..100, when the coordinator reports it. */
  progress?: number;
  completedSplits?: number;
  totalSplits?: number;
  processedRows?: number;
}

export interface QueryColumn {
  name: string;
  type: string;
}

export interface QueryResult {
  queryId: string;
  columns: QueryColumn[];
  rows: unknown[][];
  /** More rows existed beyond `maxRows`; the query was canceled once they were seen. */
  truncated: boolean;
  state: string;
  updateType?: string;
  stats: { elapsedTimeMillis?: number; processedRows?: number; processedBytes?: number };
}

/** The coordinator's account of a failed query. */
export interface PrestoQueryError {
  queryId: string;
  message: string;
  errorName: string;
  errorCode: number;
  errorType: string;
  lineNumber?: number;
  columnNumber?: number;
}

/** What `query` throws when the coordinator reports the query failed. */
export type PrestoQueryFailure = (UpstreamRejectedError | UpstreamUnavailableError) & { queryError: PrestoQueryError };

export interface QueryInfo {
  queryId: string;
  state: string;
  query: string;
  user: string;
  /** As the coordinator formats it, e.g. "1.52s". */
  elapsedTime: string;
  progress?: number;
  error?: PrestoQueryError;
}

export const UPSTREAM = "Presto";
/** 502/503/504 come from gateways in front of the coordinator; the protocol says to retry the GET shortly. */
const GATEWAY_RETRY_STATUSES = new Set([502, 503, 504]);
/** Error types that describe the cluster's trouble rather than the query's. */
const RETRIABLE_ERROR_TYPES = new Set(["INTERNAL_ERROR", "INSUFFICIENT_RESOURCES", "EXTERNAL"]);
export const QUERY_ID = /^\d{8}_\d{6}_\d{5}_[a-z0-9]{5}$/;

/** Where a running query stands, for cancelling it when `query` gives up. */
export interface Cursor {
  queryId?: string;
  nextUri?: string;
}

export interface StatementStats {
  state: string;
  progressPercentage?: number;
  completedSplits?: number;
  totalSplits?: number;
  processedRows?: number;
  processedBytes?: number;
  elapsedTimeMillis?: number;
}

export interface WireError {
  message?: string;
  errorCode?: number;
  errorName?: string;
  errorType?: string;
  errorLocation?: { lineNumber?: number; columnNumber?: number };
}

/** One `QueryResults` document: the answer to the POST and to each GET of `nextUri`. */
export interface StatementPage {
  id: string;
  nextUri?: string;
  columns?: QueryColumn[];
  data?: unknown[][];
  stats: StatementStats;
  error?: WireError;
  updateType?: string;
}

/** The parts of `GET /v1/query/{id}` (Trino/Presto `QueryInfo`) that `queryInfo` reports. */
export interface WireQueryInfo {
  queryId: string;
  state: string;
  query?: string;
  session?: { user?: string };
  queryStats?: { elapsedTime?: string; progressPercentage?: number };
  errorType?: string;
  errorCode?: { code?: number; name?: string; type?: string };
  failureInfo?: { message?: string; errorLocation?: { lineNumber?: number; columnNumber?: number } };
}

export function asStatementPage(body: unknown): StatementPage {
  const page = body as Partial<StatementPage> | null;
  if (typeof page?.id !== "string" || typeof page.stats?.state !== "string") {
    throw new UpstreamUnavailableError(`${UPSTREAM} answered with something that is not a query result`);
  }
  return page as StatementPage;
}

/** Appends rows up to `maxRows`; true when `data` held more than fit. */
export function appendRows(rows: unknown[][], data: unknown[][] | undefined, maxRows: number): boolean {
  for (const row of data ?? []) {
    if (rows.length >= maxRows) return true;
    rows.push(row);
  }
  return false;
}

export function progressOf(stats: StatementStats): QueryProgress {
  return {
    state: stats.state,
    progress: stats.progressPercentage,
    completedSplits: stats.completedSplits,
    totalSplits: stats.totalSplits,
    processedRows: stats.processedRows,
  };
}

export function parseQueryError(queryId: string, error: WireError): PrestoQueryError {
  return {
    queryId,
    message: error.message ?? "no message",
    errorName: error.errorName ?? "UNKNOWN",
    errorCode: error.errorCode ?? 0,
    errorType: error.errorType ?? "UNKNOWN",
    lineNumber: error.errorLocation?.lineNumber,
    columnNumber: error.errorLocation?.columnNumber,
  };
}

export function queryFailure(queryId: string, wireError: WireError): PrestoQueryFailure {
  const queryError = parseQueryError(queryId, wireError);
  const location =
    queryError.lineNumber === undefined ? "" : ` at line ${queryError.lineNumber}, column ${queryError.columnNumber}`;
  const failure =
    queryError.errorName === "USER_CANCELED"
      ? new UpstreamRejectedError(`Query ${queryId} was canceled before it finished (USER_CANCELED)`)
      : RETRIABLE_ERROR_TYPES.has(queryError.errorType)
        ? new UpstreamUnavailableError(
            `Query ${queryId} failed: ${queryError.message} (${queryError.errorName}, ${queryError.errorType}); try again later`,
          )
        : new UpstreamRejectedError(
            `Query ${queryId} failed: ${queryError.message} (${queryError.errorName}${location})`,
          );
  return Object.assign(failure, { queryError });
}

export function compactQueryInfo(info: WireQueryInfo): QueryInfo {
  return {
    queryId: info.queryId,
    state: info.state,
    query: info.query ?? "",
    user: info.session?.user ?? "",
    elapsedTime: info.queryStats?.elapsedTime ?? "",
    progress: info.queryStats?.progressPercentage,
    error: info.errorCode ? queryInfoError(info) : undefined,
  };
}

export function queryInfoError(info: WireQueryInfo): PrestoQueryError {
  return parseQueryError(info.queryId, {
    message: info.failureInfo?.message,
    errorCode: info.errorCode?.code,
    errorName: info.errorCode?.name,
    errorType: info.errorCode?.type ?? info.errorType,
    errorLocation: info.failureInfo?.errorLocation,
  });
}

/** The failure of START TRANSACTION, saying that the query itself was not sent. */
export function transactionNotStarted(error: unknown): unknown {
  const why = (reason: string) =>
    `${UPSTREAM} could not start a read-only transaction, so the query was not sent: ${reason}` +
    " (a coordinator that cannot run transactions needs PRESTO_READ_ONLY_TRANSACTION=false)";
  if (error instanceof UpstreamRejectedError) return new UpstreamRejectedError(why(error.message), error.status);
  if (error instanceof UpstreamUnavailableError) return new UpstreamUnavailableError(why(error.message), error.status);
  if (error instanceof UpstreamTimeoutError) return new UpstreamTimeoutError(why(error.message));
  return error;
}

export function isGatewayError(error: unknown): error is UpstreamUnavailableError & { status: number } {
  return error instanceof UpstreamUnavailableError && GATEWAY_RETRY_STATUSES.has(error.status ?? 0);
}

export function assertQueryId(queryId: string): void {
  if (!QUERY_ID.test(queryId)) {
    throw new BadArgumentError(
      "queryId",
      `${JSON.stringify(queryId.slice(0, 140))} is not a query id; query ids look like 20241126_153012_00001_abcde`,
    );
  }
}
