/**
 * The local coordinator's protocol server: Trino's client REST protocol over HTTP
 * (https://trino.io/docs/current/develop/client-protocol.html) — POST /v1/statement, paging by
 * `nextUri` through QUEUED, RUNNING and FINISHED, cancellation, GET /v1/query/{id}, both header
 * dialects, Basic auth, the transaction protocol — in front of a PrestoEngine
 * (presto.engine.ts). Test controls real Trino lacks: `/_local/faults` (make requests fail or
 * stall) and `/_local/stats` (what SQL reached the coordinator, what wrote).
 */
import { randomBytes } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { STATUS_CODES } from "node:http";
import type { PrestoEngine, RuntimeQuery, Session, StatementResult } from "./presto.engine.ts";
import { type QueryError, TrinoError, toQueryError } from "./presto.errors.ts";
import {
  type Dialect,
  dialectOf,
  firstHeader,
  type PrestoFaults,
  readBody,
  sameSecret,
  sendJson,
  sendNoContent,
  sendText,
  validateFaults,
} from "./presto.http.ts";
import { tokenize } from "./presto.lexer.ts";
import {
  isTerminal,
  type LocalQuery,
  queryInfo,
  queryResults,
  releaseRows,
  runtimeQuery,
  serverInfo,
} from "./presto.query.ts";
import { ddlResult } from "./presto.statements.ts";
import { parseTransactionHeader, Transactions, transactionControl } from "./presto.transactions.ts";
import type { PrestoUpstreamOptions, PrestoUpstreamStats } from "./presto.upstream.ts";

const MAX_SQL_BYTES = 1_000_000;
const LAST_STATEMENTS = 50;

const STATEMENT_PATH = /^\/v1\/statement\/(?:queued|executing)\/([^/]+)\/([^/]+)\/(\d+)$/;
const QUERY_PATH = /^\/v1\/query\/([^/]+)$/;
const STAGE_PATH = /^\/v1\/stage\/([^/]+)$/;

interface Settings {
  password?: string;
  queuedPolls: number;
  runningPolls: number;
  pageSize: number;
  pollDelayMs: number;
  maxQueries: number;
  queryRetentionMs: number;
}

interface ActiveFaults {
  statusCode?: number;
  delayMs: number;
  remaining: number;
}

type CoordinatorStats = Omit<PrestoUpstreamStats, "transactions">;

function emptyStats(): CoordinatorStats {
  return {
    statements: 0,
    statementsByKind: {},
    lastStatements: [],
    canceled: 0,
    requests: 0,
    faulted: 0,
    writes: 0,
    lastWrites: [],
    lastQueryRequests: [],
  };
}

export class Coordinator {
  readonly queries = new Map<string, LocalQuery>();
  readonly #settings: Settings;
  readonly #engine: PrestoEngine;
  readonly #transactions: Transactions;
  readonly #coordinatorId = Array.from(randomBytes(5), (byte) => String.fromCharCode(97 + (byte % 26))).join("");
  readonly #startedAt = Date.now();
  readonly #sleepers = new Set<() => void>();
  readonly #locks = new WeakMap<LocalQuery, Promise<void>>();
  /** Queries the engine is running, to stop when they are canceled. */
  readonly #running = new Map<LocalQuery, AbortController>();
  readonly #executions = new Set<Promise<void>>();
  #stats = emptyStats();
  #faults: ActiveFaults | undefined;
  #queryCounter = 0;
  #closed = false;

  /** `engine` is started by the caller (startPrestoUpstream), reading its runtime queries from `queries`. */
  constructor(options: PrestoUpstreamOptions, engine: PrestoEngine) {
    this.#settings = {
      password: options.password,
      queuedPolls: options.queuedPolls ?? 1,
      runningPolls: options.runningPolls ?? 2,
      pageSize: Math.max(1, options.pageSize ?? 1000),
      pollDelayMs: options.pollDelayMs ?? 0,
      maxQueries: Math.max(1, options.maxQueries ?? 1000),
      queryRetentionMs: options.queryRetentionMs ?? 5 * 60_000,
    };
    this.#engine = engine;
    this.#transactions = new Transactions({
      engine,
      idleTimeoutMs: options.transactionIdleTimeoutMs ?? 5 * 60_000,
      max: Math.max(1, options.maxQueries ?? 1000),
    });
    if (options.faults) this.setFaults(options.faults);
  }

  stats(): PrestoUpstreamStats {
    return { ...structuredClone(this.#stats), transactions: this.#transactions.stats() };
  }

  resetStats(): void {
    this.#stats = emptyStats();
    this.#transactions.resetStats();
  }

  setFaults(faults: PrestoFaults): void {
    const valid = validateFaults(faults);
    if (typeof valid === "string") throw new TypeError(valid);
    this.#faults = {
      statusCode: valid.statusCode,
      delayMs: valid.delayMs ?? 0,
      remaining: valid.count ?? Number.POSITIVE_INFINITY,
    };
  }

  clearFaults(): void {
    this.#faults = undefined;
  }

  async close(): Promise<void> {
    this.#closed = true;
    for (const wake of this.#sleepers) wake();
    for (const controller of this.#running.values()) controller.abort();
    await Promise.allSettled(this.#executions);
    await this.#transactions.close();
    await this.#engine.close();
  }

  /** The rows of system.runtime.queries. */
  runtimeQueries(): RuntimeQuery[] {
    return [...this.queries.values()].map(runtimeQuery);
  }

  handle(request: IncomingMessage, response: ServerResponse): void {
    this.#route(request, response).catch((error: unknown) => {
      sendText(response, 500, error instanceof Error ? error.message : String(error));
    });
  }

  async #route(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const path = new URL(request.url ?? "/", "http://localhost").pathname;
    const method = request.method ?? "GET";
    if (path.startsWith("/_local/")) return this.#control(request, response, method, path);
    if (!path.startsWith("/v1/")) return sendText(response, 404, "Not Found");
    this.#stats.requests++;
    if ((await this.#injectFault(response)) || this.#closed) return;

    const base = `http://${request.headers.host ?? "localhost"}`;
    if (path === "/v1/info" && method === "GET") return sendJson(response, 200, serverInfo(this.#startedAt));
    if (path === "/v1/statement" && method === "POST") return this.#submit(request, response, base);
    const statement = STATEMENT_PATH.exec(path);
    const query = statement ?? QUERY_PATH.exec(path);
    if (query && (method === "GET" || method === "DELETE")) {
      const principal = this.#authenticate(request, response);
      if (principal === false) return;
      const found = this.queries.get(decodeURIComponent(query[1] as string));
      if (!found || (statement && statement[2] !== found.slug)) return sendText(response, 404, "Query not found");
      if (!statement) {
        // Trino's QueryResource checks the caller's identity against the query's owner
        // (checkCanViewQueryOwnedBy / checkCanKillQueryOwnedBy): it needs a user, as a statement does.
        const user = firstHeader(request.headers, `x-${dialectOf(request.headers).toLowerCase()}-user`) ?? principal;
        if (user === undefined) return sendText(response, 400, "User must be set");
        this.#stats.lastQueryRequests.push({ method, queryId: found.id, user });
        if (this.#stats.lastQueryRequests.length > LAST_STATEMENTS) this.#stats.lastQueryRequests.shift();
      }
      if (method === "DELETE") {
        this.#cancel(found);
        return sendNoContent(response);
      }
      if (statement) return this.#poll(response, found, Number(statement[3]), base, dialectOf(request.headers));
      return sendJson(response, 200, queryInfo(found, base, this.#settings.runningPolls));
    }
    // Partial cancellation (stop producing more splits) has nothing to stop here.
    if (STAGE_PATH.test(path) && method === "DELETE") return sendNoContent(response);
    return sendText(response, 404, "Not Found");
  }

  async #control(request: IncomingMessage, response: ServerResponse, method: string, path: string): Promise<void> {
    if (path === "/_local/stats" && method === "GET") return sendJson(response, 200, this.stats());
    if (path === "/_local/stats" && method === "DELETE") {
      this.resetStats();
      return sendNoContent(response);
    }
    if (path === "/_local/faults" && method === "DELETE") {
      this.clearFaults();
      return sendNoContent(response);
    }
    if (path === "/_local/faults" && method === "POST") {
      let faults: PrestoFaults | string;
      try {
        faults = validateFaults(JSON.parse((await readBody(request, MAX_SQL_BYTES)) ?? ""));
      } catch {
        faults = "Expected a JSON object";
      }
      if (typeof faults === "string") return sendText(response, 400, faults);
      this.setFaults(faults);
      return sendJson(response, 200, faults);
    }
    return sendText(response, 404, "Not Found");
  }

  async #injectFault(response: ServerResponse): Promise<boolean> {
    const fault = this.#faults;
    if (!fault) return false;
    if (--fault.remaining <= 0) this.#faults = undefined;
    this.#stats.faulted++;
    await this.#sleep(fault.delayMs);
    if (fault.statusCode === undefined) return false;
    sendText(response, fault.statusCode, STATUS_CODES[fault.statusCode] ?? "Injected fault");
    return true;
  }

  /** The authenticated user, undefined without password auth, or false after answering 401. */
  #authenticate(request: IncomingMessage, response: ServerResponse): string | undefined | false {
    const password = this.#settings.password;
    if (password === undefined) return undefined;
    const match = /^Basic\s+(\S+)$/i.exec(request.headers.authorization ?? "");
    const credentials = match ? Buffer.from(match[1] as string, "base64").toString("utf8") : "";
    const separator = credentials.indexOf(":");
    if (separator > 0 && sameSecret(credentials.slice(separator + 1), password)) return credentials.slice(0, separator);
    sendText(response, 401, "Unauthorized", { "WWW-Authenticate": 'Basic realm="Presto"' });
    return false;
  }

  async #submit(request: IncomingMessage, response: ServerResponse, base: string): Promise<void> {
    const sql = await readBody(request, MAX_SQL_BYTES);
    if (sql === undefined) return sendText(response, 413, `Query text exceeds ${MAX_SQL_BYTES} bytes`);
    this.#record(sql);
    const principal = this.#authenticate(request, response);
    if (principal === false) return;
    const dialect = dialectOf(request.headers);
    const header = (name: string): string | undefined =>
      firstHeader(request.headers, `x-${dialect.toLowerCase()}-${name}`);
    const user = header("user") ?? principal;
    if (user === undefined) return sendText(response, 400, "User must be set");
    if (sql.trim() === "") return sendText(response, 400, "SQL statement is empty");
    const rawTransaction = request.headers[`x-${dialect.toLowerCase()}-transaction-id`];
    const transaction = parseTransactionHeader(Array.isArray(rawTransaction) ? rawTransaction[0] : rawTransaction);
    if (!transaction.ok) return sendText(response, 400, transaction.message);

    this.#prune();
    const query = this.#createQuery(
      sql,
      {
        user,
        catalog: header("catalog")?.toLowerCase(),
        schema: header("schema")?.toLowerCase(),
        source: header("source"),
        clientInfo: header("client-info"),
        transactionId: transaction.transactionId,
      },
      transaction.clientSupport,
    );
    this.queries.set(query.id, query);
    this.#respond(response, query, base, dialect, undefined);
  }

  #record(sql: string): void {
    const kind =
      tokenize(sql)
        .find((token) => token.kind === "word")
        ?.text.toLowerCase() ?? "unknown";
    this.#stats.statements++;
    this.#stats.statementsByKind[kind] = (this.#stats.statementsByKind[kind] ?? 0) + 1;
    this.#stats.lastStatements.push(sql);
    if (this.#stats.lastStatements.length > LAST_STATEMENTS) this.#stats.lastStatements.shift();
  }

  #createQuery(sql: string, session: Session, clientTransactionSupport: boolean): LocalQuery {
    const now = Date.now();
    const stamp = new Date(now).toISOString().replace(/[-:]/g, "").replace("T", "_").slice(0, 15);
    const number = String(this.#queryCounter++ % 100_000).padStart(5, "0");
    return {
      id: `${stamp}_${number}_${this.#coordinatorId}`,
      slug: `y${randomBytes(16).toString("hex")}`,
      sql,
      session,
      createdAt: now,
      state: "QUEUED",
      lastActivityAt: now,
      queuedPollsLeft: this.#settings.queuedPolls,
      runningPollsLeft: this.#settings.runningPolls,
      runningPollsDone: 0,
      rowCount: 0,
      rowsSent: 0,
      processedBytes: 0,
      cpuMillis: 0,
      lastToken: 0,
      nextToken: 1,
      clientTransactionSupport,
      transactionDirective: {},
    };
  }

  /** Drops queries finished or idle for longer than the retention, then the oldest beyond the cap. */
  #prune(): void {
    const now = Date.now();
    for (const [id, query] of this.queries) {
      if (now - (query.endedAt ?? query.lastActivityAt) > this.#settings.queryRetentionMs) this.queries.delete(id);
    }
    for (const id of this.queries.keys()) {
      if (this.queries.size < this.#settings.maxQueries) break;
      this.queries.delete(id);
    }
  }

  async #poll(
    response: ServerResponse,
    query: LocalQuery,
    token: number,
    base: string,
    dialect: Dialect,
  ): Promise<void> {
    await this.#withLock(query, async () => {
      query.lastActivityAt = Date.now();
      if (token === query.lastToken && query.lastResponse !== undefined) {
        return sendJson(response, 200, query.lastResponse); // a retry
      }
      if (token !== query.nextToken) return sendText(response, 410, `Invalid token ${token} for query ${query.id}`);
      const page = await this.#advance(query);
      if (this.#closed) return;
      query.lastToken = token;
      query.nextToken = token + 1;
      this.#respond(response, query, base, dialect, page);
    });
  }

  /** Serializes polls of one query, so a retried GET cannot advance it twice. */
  async #withLock(query: LocalQuery, work: () => Promise<void>): Promise<void> {
    const previous = this.#locks.get(query) ?? Promise.resolve();
    const current = previous.then(work);
    this.#locks.set(
      query,
      current.catch(() => undefined),
    );
    await current;
  }

  /** Moves the query one step: QUEUED polls, execution, RUNNING polls, data pages, FINISHED. */
  async #advance(query: LocalQuery): Promise<unknown[][] | undefined> {
    if (query.state === "QUEUED") {
      if (query.queuedPollsLeft > 0) {
        query.queuedPollsLeft--;
        return undefined;
      }
      const execution = this.#execute(query);
      this.#executions.add(execution);
      await execution.finally(() => this.#executions.delete(execution));
    }
    if (query.state === "RUNNING" && query.runningPollsLeft > 0) {
      query.runningPollsLeft--;
      await this.#sleep(this.#settings.pollDelayMs);
      query.runningPollsDone++;
      return undefined;
    }
    if (query.state !== "RUNNING" || !query.result) return undefined;
    if (query.rowsSent < query.rowCount) {
      const page = query.result.rows.slice(query.rowsSent, query.rowsSent + this.#settings.pageSize);
      query.rowsSent += page.length;
      return page;
    }
    query.state = "FINISHED";
    query.endedAt = Date.now();
    releaseRows(query);
    return undefined;
  }

  async #execute(query: LocalQuery): Promise<void> {
    query.state = "RUNNING";
    query.startedAt = Date.now();
    const started = performance.now();
    const controller = new AbortController();
    this.#running.set(query, controller);
    try {
      const result = await this.#run(query, controller.signal);
      if (query.state !== "RUNNING") return; // canceled meanwhile
      query.result = result;
      query.rowCount = result.rows.length;
      query.processedBytes = Buffer.byteLength(JSON.stringify(result.rows));
      if (result.wrote) this.#recordWrite(query.sql);
    } catch (error) {
      if (query.state === "RUNNING") this.#fail(query, toQueryError(error, query.sql));
    } finally {
      this.#running.delete(query);
      query.cpuMillis = performance.now() - started;
    }
  }

  /** Transaction statements are the protocol's own; every other statement goes to the engine. */
  async #run(query: LocalQuery, signal: AbortSignal): Promise<StatementResult> {
    const { transactionId } = query.session;
    const control = transactionControl(tokenize(query.sql));
    if (control) {
      // Like Trino's data-definition tasks: done as soon as it leaves the queue, no RUNNING polls.
      query.runningPollsLeft = 0;
      const header = { transactionId, clientSupport: query.clientTransactionSupport };
      return ddlResult(await this.#transactions.control(control, header, query.transactionDirective));
    }
    const transaction = this.#transactions.engineTransaction(transactionId);
    return this.#engine.execute(query.sql, query.session, { transaction, signal });
  }

  #recordWrite(sql: string): void {
    this.#stats.writes++;
    this.#stats.lastWrites.push(sql);
    if (this.#stats.lastWrites.length > LAST_STATEMENTS) this.#stats.lastWrites.shift();
  }

  /** Fails the query and, as Trino does, the explicit transaction it ran in. */
  #fail(query: LocalQuery, error: QueryError): void {
    if (query.session.transactionId) this.#transactions.fail(query.session.transactionId);
    query.state = "FAILED";
    query.error = error;
    query.endedAt = Date.now();
    releaseRows(query);
  }

  #cancel(query: LocalQuery): void {
    if (isTerminal(query.state)) return;
    this.#fail(query, toQueryError(new TrinoError("USER_CANCELED", "Query was canceled"), query.sql));
    this.#running.get(query)?.abort();
    this.#stats.canceled++;
  }

  #respond(
    response: ServerResponse,
    query: LocalQuery,
    base: string,
    dialect: Dialect,
    page: unknown[][] | undefined,
  ): void {
    const body = JSON.stringify(queryResults(query, base, page, this.#settings.runningPolls));
    query.lastResponse = body;
    sendJson(response, 200, body, this.#sessionHeaders(query, dialect));
  }

  /** `X-Trino-Set-*` headers a statement such as USE or SET SESSION asks the client to apply. */
  #sessionHeaders(query: LocalQuery, dialect: Dialect): Record<string, string> {
    const result = query.state === "FINISHED" ? query.result : undefined;
    const prefix = `X-${dialect}`;
    const headers: Record<string, string> = {};
    const { startedTransactionId, clearTransactionId } = query.transactionDirective;
    if (startedTransactionId && query.state === "FINISHED") {
      headers[`${prefix}-Started-Transaction-Id`] = startedTransactionId;
    }
    if (clearTransactionId && isTerminal(query.state)) headers[`${prefix}-Clear-Transaction-Id`] = "true";
    if (result?.setCatalog) headers[`${prefix}-Set-Catalog`] = result.setCatalog;
    if (result?.setSchema) headers[`${prefix}-Set-Schema`] = result.setSchema;
    if (result?.setSessionProperty) {
      headers[`${prefix}-Set-Session`] =
        `${result.setSessionProperty.name}=${encodeURIComponent(result.setSessionProperty.value)}`;
    }
    if (result?.resetSessionProperty) headers[`${prefix}-Clear-Session`] = result.resetSessionProperty;
    return headers;
  }

  /** A timer that close() cuts short, so stalled requests never keep the process alive. */
  #sleep(ms: number): Promise<void> {
    if (ms <= 0 || this.#closed) return Promise.resolve();
    return new Promise((resolve) => {
      const wake = (): void => {
        clearTimeout(timer);
        this.#sleepers.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      this.#sleepers.add(wake);
    });
  }
}
