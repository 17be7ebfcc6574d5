import {
  BadArgumentError,
  ToolError,
  UpstreamRejectedError,
  UpstreamTimeoutError,
  UpstreamUnavailableError,
} from "../../shared/mcp/errors";
import { upstreamFetch } from "../../shared/upstream/upstream.fetch";

/**
 * A client for the Trino/Presto client REST protocol
 * (https://trino.io/docs/current/develop/client-protocol.html): POST the statement, follow
 * `nextUri` until it is absent, DELETE `nextUri` to cancel.
 *
 * Every query runs inside a read-only transaction unless configured off: START TRANSACTION
 * READ ONLY (answered with `X-Trino-Started-Transaction-Id`), the statement with
 * `X-Trino-Transaction-Id: <id>`, then COMMIT (or ROLLBACK when it failed, was cut short or
 * canceled). A write that got past the SQL guard is then refused by the coordinator itself
 * (READ_ONLY_VIOLATION). Outside a transaction the client sends `X-Trino-Transaction-Id: NONE`,
 * as Trino's own clients do. The `X-Presto-*` names are used with PRESTO_DIALECT=presto.
 */

export interface PrestoConfig {
  /** Coordinator base URL, without a trailing slash. */
  url: string;
  /** Which header family the coordinator speaks: `X-Trino-*` or `X-Presto-*`. */
  dialect: "trino" | "presto";
  /** Default (service) user; also the HTTP Basic user when a password is set. */
  user: string;
  password?: string;
  catalog?: string;
  schema?: string;
  source: string;
  /** Limit for each HTTP call. */
  requestTimeoutMs: number;
  /** Limit for a whole query, from submission to its last page. */
  queryTimeoutMs: number;
  /** Run each query inside START TRANSACTION READ ONLY … COMMIT (default true). */
  readOnlyTransaction: boolean;
  /** Catalogs whose connector table functions (SQL pass-through, e.g. system.query) the guard allows. */
  passthroughCatalogs: string[];
}

export interface QueryProgress {
  state: string;
  /** 0..100, when the coordinator reports it. */
  progress?: number;
  completedSplits?: number;
  totalSplits?: number;
  processedRows?: number;
}

export interface QueryOptions {
  /** End user on whose behalf the query runs (`X-Trino-User` / `X-Presto-User`); defaults to the service user. */
  user?: string;
  catalog?: string;
  schema?: string;
  maxRows: number;
  signal?: AbortSignal;
  onProgress?: (progress: QueryProgress) => void | Promise<void>;
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

export interface RequestOptions {
  user?: string;
  signal?: AbortSignal;
}

const UPSTREAM = "Presto";
const DEFAULT_USER = "mcp-fleet";
const DEFAULT_SOURCE = "mcp-fleet";
const DEFAULT_REQUEST_TIMEOUT_MS = 10_000;
const DEFAULT_QUERY_TIMEOUT_MS = 120_000;
/** A cancel is awaited, but never for longer than this. */
const CANCEL_TIMEOUT_MS = 2_000;
/** Ending a transaction (COMMIT/ROLLBACK) is awaited, but never for longer than this. */
const END_TRANSACTION_TIMEOUT_MS = 5_000;
/** The transaction header's value outside a transaction, as Trino's clients send it. */
const NO_TRANSACTION = "NONE";
/** 502/503/504 come from gateways in front of the coordinator; the protocol says to retry the GET shortly. */
const GATEWAY_RETRY_STATUSES = new Set([502, 503, 504]);
const GATEWAY_RETRIES = 4;
const GATEWAY_RETRY_DELAY_MS = 100;
/** Error types that describe the cluster's trouble rather than the query's. */
const RETRIABLE_ERROR_TYPES = new Set(["INTERNAL_ERROR", "INSUFFICIENT_RESOURCES", "EXTERNAL"]);
const QUERY_ID = /^\d{8}_\d{6}_\d{5}_[a-z0-9]{5}$/;

export function readPrestoConfig(env: Record<string, unknown>): PrestoConfig {
  return {
    url: coordinatorUrl(setting(env, "PRESTO_URL")),
    dialect: dialect(setting(env, "PRESTO_DIALECT")),
    user: setting(env, "PRESTO_USER") ?? DEFAULT_USER,
    password: setting(env, "PRESTO_PASSWORD"),
    catalog: setting(env, "PRESTO_CATALOG"),
    schema: setting(env, "PRESTO_SCHEMA"),
    source: setting(env, "PRESTO_SOURCE") ?? DEFAULT_SOURCE,
    requestTimeoutMs: milliseconds(env, "PRESTO_REQUEST_TIMEOUT_MS", DEFAULT_REQUEST_TIMEOUT_MS),
    queryTimeoutMs: milliseconds(env, "PRESTO_QUERY_TIMEOUT_MS", DEFAULT_QUERY_TIMEOUT_MS),
    readOnlyTransaction: flag(env, "PRESTO_READ_ONLY_TRANSACTION", true),
    passthroughCatalogs: list(setting(env, "PRESTO_PASSTHROUGH_CATALOGS")),
  };
}

export class PrestoClient {
  readonly config: PrestoConfig;
  private readonly headerPrefix: string;
  private readonly authorization: string | undefined;

  constructor(config: PrestoConfig) {
    this.config = config;
    this.headerPrefix = config.dialect === "trino" ? "X-Trino" : "X-Presto";
    this.authorization = config.password ? basicAuthorization(config.user, config.password) : undefined;
  }

  /**
   * Runs one statement and collects up to `maxRows` rows. Cancels the query on the coordinator
   * when more rows remain, when `signal` aborts, or when the query timeout elapses.
   */
  async query(sql: string, options: QueryOptions): Promise<QueryResult> {
    const deadline = AbortSignal.timeout(this.config.queryTimeoutMs);
    const signal = options.signal ? AbortSignal.any([deadline, options.signal]) : deadline;
    const cursor: Cursor = {};
    let transactionId: string | undefined;
    let result: QueryResult | undefined;
    try {
      if (this.config.readOnlyTransaction) transactionId = await this.startReadOnlyTransaction(options.user, signal);
      result = await this.run(sql, options, signal, cursor, transactionId ?? NO_TRANSACTION);
      return result;
    } catch (error) {
      const timedOut = deadline.aborted;
      if (cursor.nextUri) await this.cancelQuietly(cursor.nextUri, options.user);
      if (timedOut) throw new UpstreamTimeoutError(this.queryTimeoutMessage(cursor.queryId));
      if (options.signal?.aborted) throw options.signal.reason;
      throw error;
    } finally {
      // A cut-short query was canceled, which aborts its transaction: only ROLLBACK ends that.
      const end = result && !result.truncated ? "COMMIT" : "ROLLBACK";
      if (transactionId) await this.endTransaction(transactionId, end, options.user);
    }
  }

  async queryInfo(queryId: string, options: RequestOptions = {}): Promise<QueryInfo> {
    assertQueryId(queryId);
    try {
      const url = `${this.config.url}/v1/query/${queryId}`;
      const { body } = await this.fetchJson(url, { headers: this.identityHeaders(options.user) }, options.signal);
      return compactQueryInfo(body as WireQueryInfo);
    } catch (error) {
      // Trino answers 410 Gone for a query it does not know (any more); some versions and proxies 404.
      if (error instanceof UpstreamRejectedError && (error.status === 404 || error.status === 410)) {
        throw new UpstreamRejectedError(
          `No query ${queryId} on the coordinator (unknown, or already dropped from its history)`,
          error.status,
        );
      }
      throw error;
    }
  }

  /**
   * Cancels a query: given its id, with `DELETE /v1/query/{id}`; given a `nextUri` of its
   * results, with `DELETE nextUri`. The URL must be on the configured coordinator.
   */
  async cancel(queryIdOrNextUri: string, options: RequestOptions = {}): Promise<void> {
    const url = QUERY_ID.test(queryIdOrNextUri)
      ? `${this.config.url}/v1/query/${queryIdOrNextUri}`
      : this.coordinatorResultsUrl(queryIdOrNextUri);
    await upstreamFetch(
      url,
      { method: "DELETE", headers: this.identityHeaders(options.user) },
      { upstream: UPSTREAM, timeoutMs: this.config.requestTimeoutMs, signal: options.signal },
    );
  }

  /** START TRANSACTION READ ONLY; the id the coordinator gave. Nothing else is sent when it fails. */
  private async startReadOnlyTransaction(user: string | undefined, signal: AbortSignal): Promise<string> {
    let transactionId: string | undefined;
    const cursor: Cursor = {};
    const onHeaders = (headers: Headers) => {
      transactionId = headers.get(`${this.headerPrefix}-Started-Transaction-Id`) ?? transactionId;
    };
    try {
      await this.run("START TRANSACTION READ ONLY", { user, maxRows: 1 }, signal, cursor, NO_TRANSACTION, onHeaders);
    } catch (error) {
      if (cursor.nextUri) await this.cancelQuietly(cursor.nextUri, user);
      throw transactionNotStarted(error);
    }
    if (!transactionId) {
      throw transactionNotStarted(
        new UpstreamUnavailableError(`its answer had no ${this.headerPrefix}-Started-Transaction-Id header`),
      );
    }
    return transactionId;
  }

  /**
   * COMMIT or ROLLBACK, best effort: the transaction only ever read, so a failure to end it
   * changes nothing, and the coordinator drops idle transactions itself (transaction.idle-timeout).
   */
  private async endTransaction(transactionId: string, statement: "COMMIT" | "ROLLBACK", user: string | undefined) {
    const signal = AbortSignal.timeout(Math.min(END_TRANSACTION_TIMEOUT_MS, this.config.queryTimeoutMs));
    try {
      await this.run(statement, { user, maxRows: 1 }, signal, {}, transactionId);
    } catch {
      // See above: nothing to undo.
    }
  }

  private async run(
    sql: string,
    options: QueryOptions,
    signal: AbortSignal,
    cursor: Cursor,
    transaction: string,
    onHeaders?: (headers: Headers) => void,
  ): Promise<QueryResult> {
    let page = await this.submit(sql, options, transaction, signal, onHeaders);
    const rows: unknown[][] = [];
    let columns: QueryColumn[] | undefined;
    let updateType: string | undefined;
    for (;;) {
      cursor.queryId = page.id;
      cursor.nextUri = page.nextUri;
      columns ??= page.columns?.map(({ name, type }) => ({ name, type }));
      updateType ??= page.updateType;
      const truncated = appendRows(rows, page.data, options.maxRows);
      await options.onProgress?.(progressOf(page.stats));
      if (page.error) throw queryFailure(page.id, page.error);
      if (truncated && page.nextUri) await this.cancelQuietly(page.nextUri, options.user);
      if (truncated || !page.nextUri) {
        const { state, elapsedTimeMillis, processedRows, processedBytes } = page.stats;
        const stats = { elapsedTimeMillis, processedRows, processedBytes };
        return { queryId: page.id, columns: columns ?? [], rows, truncated, state, updateType, stats };
      }
      page = await this.nextPage(page.nextUri, page.id, options.user, signal, onHeaders);
    }
  }

  private async submit(
    sql: string,
    options: QueryOptions,
    transaction: string,
    signal: AbortSignal,
    onHeaders: ((headers: Headers) => void) | undefined,
  ): Promise<StatementPage> {
    const headers = {
      ...this.identityHeaders(options.user),
      ...this.sessionHeaders(options),
      [`${this.headerPrefix}-Transaction-Id`]: transaction,
      "Content-Type": "text/plain; charset=utf-8",
    };
    const url = `${this.config.url}/v1/statement`;
    const response = await this.fetchJson(url, { method: "POST", headers, body: sql }, signal);
    onHeaders?.(response.headers);
    return asStatementPage(response.body);
  }

  /** GET `nextUri`, retrying the gateway errors (502/503/504) the protocol calls intermittent. */
  private async nextPage(
    nextUri: string,
    queryId: string,
    user: string | undefined,
    signal: AbortSignal,
    onHeaders: ((headers: Headers) => void) | undefined,
  ): Promise<StatementPage> {
    for (let attempt = 1; ; attempt++) {
      try {
        const response = await this.fetchJson(nextUri, { headers: this.identityHeaders(user) }, signal);
        onHeaders?.(response.headers);
        return asStatementPage(response.body);
      } catch (error) {
        if (!isGatewayError(error)) throw error;
        if (attempt > GATEWAY_RETRIES) {
          throw new UpstreamUnavailableError(
            `${UPSTREAM} answered HTTP ${error.status} ${attempt} times in a row while returning the results of query ${queryId}; try again later`,
            error.status,
          );
        }
        await sleep(GATEWAY_RETRY_DELAY_MS * attempt, signal);
      }
    }
  }

  /** Best effort, but awaited: a failed cancel must not hide the result or the error being returned. */
  private async cancelQuietly(nextUri: string, user: string | undefined): Promise<void> {
    try {
      await upstreamFetch(
        nextUri,
        { method: "DELETE", headers: this.identityHeaders(user) },
        { upstream: UPSTREAM, timeoutMs: Math.min(CANCEL_TIMEOUT_MS, this.config.requestTimeoutMs) },
      );
    } catch {
      // The coordinator also abandons a query whose results nobody fetches.
    }
  }

  private async fetchJson(
    url: string,
    init: RequestInit,
    signal: AbortSignal | undefined,
  ): Promise<{ body: unknown; headers: Headers }> {
    const response = await upstreamFetch(url, init, {
      upstream: UPSTREAM,
      timeoutMs: this.config.requestTimeoutMs,
      signal,
    });
    try {
      return { body: await response.json(), headers: response.headers };
    } catch (error) {
      if (signal?.aborted) throw error;
      if (error instanceof SyntaxError)
        throw new UpstreamUnavailableError(`${UPSTREAM} answered with a body that is not JSON`);
      if (error instanceof Error && error.name === "TimeoutError") {
        throw new UpstreamTimeoutError(
          `${UPSTREAM} did not finish answering within ${this.config.requestTimeoutMs} ms; try again later`,
        );
      }
      throw new UpstreamUnavailableError(`${UPSTREAM} broke off its answer (${String(error)}); try again later`);
    }
  }

  private identityHeaders(user: string | undefined): Record<string, string> {
    const headers: Record<string, string> = { [`${this.headerPrefix}-User`]: user ?? this.config.user };
    if (this.authorization) headers.Authorization = this.authorization;
    return headers;
  }

  /** Session headers; the protocol needs them on the initial POST only. */
  private sessionHeaders(options: QueryOptions): Record<string, string> {
    const headers: Record<string, string> = { [`${this.headerPrefix}-Source`]: this.config.source };
    const catalog = options.catalog ?? this.config.catalog;
    const schema = options.schema ?? this.config.schema;
    if (catalog) headers[`${this.headerPrefix}-Catalog`] = catalog;
    if (schema) headers[`${this.headerPrefix}-Schema`] = schema;
    return headers;
  }

  private coordinatorResultsUrl(nextUri: string): string {
    const coordinator = new URL(this.config.url).origin;
    if (!URL.canParse(nextUri) || new URL(nextUri).origin !== coordinator) {
      throw new BadArgumentError(
        "queryId",
        `${JSON.stringify(nextUri.slice(0, 140))} is neither a query id (like 20241126_153012_00001_abcde) nor a results URL on ${coordinator}`,
      );
    }
    return nextUri;
  }

  private queryTimeoutMessage(queryId: string | undefined): string {
    const limit = `${this.config.queryTimeoutMs} ms`;
    return queryId
      ? `Query ${queryId} did not finish within ${limit} and was canceled; narrow the query or try again later`
      : `${UPSTREAM} did not accept the query within ${limit}; try again later`;
  }
}

// ---- protocol shapes ----

/** Where a running query stands, for cancelling it when `query` gives up. */
interface Cursor {
  queryId?: string;
  nextUri?: string;
}

interface StatementStats {
  state: string;
  progressPercentage?: number;
  completedSplits?: number;
  totalSplits?: number;
  processedRows?: number;
  processedBytes?: number;
  elapsedTimeMillis?: number;
}

interface WireError {
  message?: string;
  errorCode?: number;
  errorName?: string;
  errorType?: string;
  errorLocation?: { lineNumber?: number; columnNumber?: number };
}

/** One `QueryResults` document: the answer to the POST and to each GET of `nextUri`. */
interface StatementPage {
  id: string;
  nextUri?: string;
  columns?: QueryColumn[];
  data?: unknown[][];
  stats: StatementStats;
  error?: WireError;
  updateType?: string;
}

/** The parts of `GET /v1/query/{id}` (Trino/Presto `QueryInfo`) that `queryInfo` reports. */
interface WireQueryInfo {
  queryId: string;
  state: string;
  query?: string;
  session?: { user?: string };
  queryStats?: { elapsedTime?: string; progressPercentage?: number };
  errorType?: string;
  errorCode?: { code?: number; name?: string; type?: string };
  failureInfo?: { message?: string; errorLocation?: { lineNumber?: number; columnNumber?: number } };
}

function asStatementPage(body: unknown): StatementPage {
  const page = body as Partial<StatementPage> | null;
  if (typeof page?.id !== "string" || typeof page.stats?.state !== "string") {
    throw new UpstreamUnavailableError(`${UPSTREAM} answered with something that is not a query result`);
  }
  return page as StatementPage;
}

/** Appends rows up to `maxRows`; true when `data` held more than fit. */
function appendRows(rows: unknown[][], data: unknown[][] | undefined, maxRows: number): boolean {
  for (const row of data ?? []) {
    if (rows.length >= maxRows) return true;
    rows.push(row);
  }
  return false;
}

function progressOf(stats: StatementStats): QueryProgress {
  return {
    state: stats.state,
    progress: stats.progressPercentage,
    completedSplits: stats.completedSplits,
    totalSplits: stats.totalSplits,
    processedRows: stats.processedRows,
  };
}

function parseQueryError(queryId: string, error: WireError): PrestoQueryError {
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

function queryFailure(queryId: string, wireError: WireError): PrestoQueryFailure {
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

function compactQueryInfo(info: WireQueryInfo): QueryInfo {
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

function queryInfoError(info: WireQueryInfo): PrestoQueryError {
  return parseQueryError(info.queryId, {
    message: info.failureInfo?.message,
    errorCode: info.errorCode?.code,
    errorName: info.errorCode?.name,
    errorType: info.errorCode?.type ?? info.errorType,
    errorLocation: info.failureInfo?.errorLocation,
  });
}

/** The failure of START TRANSACTION, saying that the query itself was not sent. */
function transactionNotStarted(error: unknown): unknown {
  const why = (reason: string) =>
    `${UPSTREAM} could not start a read-only transaction, so the query was not sent: ${reason}` +
    " (a coordinator that cannot run transactions needs PRESTO_READ_ONLY_TRANSACTION=false)";
  if (error instanceof UpstreamRejectedError) return new UpstreamRejectedError(why(error.message), error.status);
  if (error instanceof UpstreamUnavailableError) return new UpstreamUnavailableError(why(error.message), error.status);
  if (error instanceof UpstreamTimeoutError) return new UpstreamTimeoutError(why(error.message));
  return error;
}

function isGatewayError(error: unknown): error is UpstreamUnavailableError & { status: number } {
  return error instanceof UpstreamUnavailableError && GATEWAY_RETRY_STATUSES.has(error.status ?? 0);
}

function assertQueryId(queryId: string): void {
  if (!QUERY_ID.test(queryId)) {
    throw new BadArgumentError(
      "queryId",
      `${JSON.stringify(queryId.slice(0, 140))} is not a query id; query ids look like 20241126_153012_00001_abcde`,
    );
  }
}

function basicAuthorization(user: string, password: string): string {
  const bytes = new TextEncoder().encode(`${user}:${password}`);
  return `Basic ${btoa(String.fromCharCode(...bytes))}`;
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal.addEventListener("abort", onAbort, { once: true });
  });
}

// ---- configuration ----

function configError(message: string): ToolError {
  return new ToolError(`The Presto server is misconfigured: ${message}`, "internal");
}

/** A non-empty setting as text; wrangler `[vars]` may hold numbers. */
function setting(env: Record<string, unknown>, name: string): string | undefined {
  const value = env[name];
  if (typeof value !== "string" && typeof value !== "number") return undefined;
  const text = String(value).trim();
  return text === "" ? undefined : text;
}

function coordinatorUrl(value: string | undefined): string {
  if (value === undefined)
    throw configError("PRESTO_URL is not set; set it to the coordinator URL, e.g. https://presto.example.com:8443");
  if (!URL.canParse(value) || !["http:", "https:"].includes(new URL(value).protocol)) {
    throw configError(`PRESTO_URL must be an http(s) URL, got ${JSON.stringify(value)}`);
  }
  return value.replace(/\/+$/, "");
}

function dialect(value: string | undefined): PrestoConfig["dialect"] {
  const name = (value ?? "trino").toLowerCase();
  if (name !== "trino" && name !== "presto") {
    throw configError(`PRESTO_DIALECT must be "trino" or "presto", got ${JSON.stringify(value)}`);
  }
  return name;
}

function flag(env: Record<string, unknown>, name: string, fallback: boolean): boolean {
  const value = setting(env, name)?.toLowerCase();
  if (value === undefined) return fallback;
  if (value === "true" || value === "false") return value === "true";
  throw configError(`${name} must be "true" or "false", got ${JSON.stringify(setting(env, name))}`);
}

/** A comma-separated setting as lowercase names, blanks dropped. */
function list(value: string | undefined): string[] {
  return (value ?? "")
    .split(",")
    .map((entry) => entry.trim().toLowerCase())
    .filter(Boolean);
}

function milliseconds(env: Record<string, unknown>, name: string, fallback: number): number {
  const value = setting(env, name);
  if (value === undefined) return fallback;
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed <= 0) {
    throw configError(`${name} must be a positive number of milliseconds, got ${JSON.stringify(value)}`);
  }
  return parsed;
}
