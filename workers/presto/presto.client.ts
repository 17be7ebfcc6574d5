import {
  BadArgumentError,
  UpstreamRejectedError,
  UpstreamTimeoutError,
  UpstreamUnavailableError,
} from "../../shared/mcp/errors";
import { upstreamFetch } from "../../shared/upstream/upstream.fetch";
import type { PrestoConfig } from "./presto.config";
import {
  appendRows,
  asStatementPage,
  assertQueryId,
  type Cursor,
  compactQueryInfo,
  isGatewayError,
  progressOf,
  QUERY_ID,
  type QueryColumn,
  type QueryInfo,
  type QueryProgress,
  type QueryResult,
  queryFailure,
  type StatementPage,
  transactionNotStarted,
  UPSTREAM,
  type WireQueryInfo,
} from "./presto.wire";

export { type PrestoConfig, readPrestoConfig } from "./presto.config";
export type {
  PrestoQueryError,
  PrestoQueryFailure,
  QueryColumn,
  QueryInfo,
  QueryProgress,
  QueryResult,
} from "./presto.wire";

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

export interface QueryOptions {
  /** End user on whose behalf the query runs (`X-Trino-User` / `X-Presto-User`); defaults to the service user. */
  user?: string;
  catalog?: string;
  schema?: string;
  maxRows: number;
  signal?: AbortSignal;
  onProgress?: (progress: QueryProgress) => void | Promise<void>;
}

export interface RequestOptions {
  user?: string;
  signal?: AbortSignal;
}

/** A cancel is awaited, but never for longer than this. */
const CANCEL_TIMEOUT_MS = 2_000;
/** Ending a transaction (COMMIT/ROLLBACK) is awaited, but never for longer than this. */
const END_TRANSACTION_TIMEOUT_MS = 5_000;
/** The transaction header's value outside a transaction, as Trino's clients send it. */
const NO_TRANSACTION = "NONE";
/** 502/503/504 come from gateways in front of the coordinator; the protocol says to retry the GET shortly. */
const GATEWAY_RETRIES = 4;
const GATEWAY_RETRY_DELAY_MS = 100;

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
