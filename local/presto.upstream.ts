/**
 * A local Presto/Trino-compatible coordinator for local runs and tests.
 *
 * It speaks the Trino client REST protocol (https://trino.io/docs/current/develop/client-protocol.html)
 * over real HTTP and runs SQL against an embedded SQLite database holding the
 * deterministic sample data of presto.sample-data.ts. Every Trino schema is an
 * ATTACHed in-memory SQLite database named `<catalog>__<schema>`, and
 * `catalog.schema.table` references are rewritten to it.
 *
 * Besides the protocol it offers test controls that real Trino lacks:
 * `/_local/faults` (make requests fail or stall) and `/_local/stats` (what SQL
 * reached the coordinator).
 *
 * Run directly: `node local/presto.upstream.ts [--port 8090] [--host 127.0.0.1] [--password secret]`.
 */
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from "node:http";
import { createServer, STATUS_CODES } from "node:http";
import type { SQLInputValue, SQLOutputValue, StatementSync } from "node:sqlite";
import { DatabaseSync } from "node:sqlite";
import type { ErrorLocation, QueryError } from "./presto.errors.ts";
import { TrinoError, toQueryError } from "./presto.errors.ts";
import type { Token } from "./presto.lexer.ts";
import {
  identifierValue,
  isIdentifier,
  isSymbol,
  isWord,
  matchingParen,
  quoteIdentifier,
  render,
  splitTopLevel,
  stringValue,
  synthetic,
  tokenize,
} from "./presto.lexer.ts";
import { DEFAULT_SAMPLE_SEED, loadSampleData, SAMPLE_CATALOG, SAMPLE_SCHEMAS } from "./presto.sample-data.ts";
import {
  parseTransactionHeader,
  type TransactionDirective,
  type TransactionStats,
  Transactions,
  transactionControl,
  type WriteAccess,
} from "./presto.transactions.ts";

export type { ErrorLocation, QueryError };

// ---------------------------------------------------------------------------
// Public API
// ---------------------------------------------------------------------------

export interface PrestoFaults {
  /** Answer protocol requests with this HTTP status instead of handling them (e.g. 503). */
  statusCode?: number;
  /** Stall protocol requests this long before answering (or failing with statusCode). */
  delayMs?: number;
  /** How many protocol requests (`/v1/...`) are affected; unlimited when omitted. */
  count?: number;
}

export interface PrestoUpstreamOptions {
  /** Default 0: an ephemeral port (the CLI defaults to 8090). */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
  /** When set, protocol requests need `Authorization: Basic base64(user:password)`. */
  password?: string;
  /** GETs that still answer QUEUED after the POST. Default 1. */
  queuedPolls?: number;
  /** GETs that answer RUNNING (with progress, no data) before data pages. Default 2. */
  runningPolls?: number;
  /** Maximum rows per response. Default 1000. */
  pageSize?: number;
  /** How long each RUNNING poll takes. Default 0. */
  pollDelayMs?: number;
  /** Faults active from the start (see POST /_local/faults). */
  faults?: PrestoFaults;
  /** Seed of the sample data. */
  seed?: number;
  /** Queries kept in memory; the oldest are dropped beyond this. Default 1000. */
  maxQueries?: number;
  /** Finished or abandoned queries are dropped after this long. Default 5 minutes. */
  queryRetentionMs?: number;
  /** A query producing more rows fails (the results are held in memory). Default 1 000 000. */
  maxResultRows?: number;
  /** An explicit transaction unused this long is forgotten (Trino's transaction.idle-timeout). Default 5 minutes. */
  transactionIdleTimeoutMs?: number;
}

export type QueryState = "QUEUED" | "RUNNING" | "FINISHED" | "FAILED";

export interface Session {
  user: string;
  catalog?: string;
  schema?: string;
  source?: string;
  clientInfo?: string;
  /** The explicit transaction the query runs in (Trino's session representation carries it too). */
  transactionId?: string;
}

export interface Column {
  name: string;
  /** Trino type name, e.g. `bigint`, `varchar`, `timestamp(3)`. */
  type: string;
}

/** What a statement produced; rows hold JSON values as Trino sends them. */
export interface StatementResult {
  columns: Column[];
  rows: unknown[][];
  updateType?: string;
  updateCount?: number;
  setCatalog?: string;
  setSchema?: string;
  setSessionProperty?: { name: string; value: string };
  resetSessionProperty?: string;
  /** The statement changed data or schema (counted in /_local/stats `writes`). */
  wrote?: boolean;
}

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

export interface PrestoUpstreamStats {
  /** POST /v1/statement requests that got past fault injection, valid or not. */
  statements: number;
  /** By first keyword, lowercased: `select`, `with`, `show`, `insert`, ... */
  statementsByKind: Record<string, number>;
  /** The last 50 SQL texts received. */
  lastStatements: string[];
  canceled: number;
  /** Protocol requests (`/v1/...`) received, including faulted ones. */
  requests: number;
  /** Protocol requests that a fault delayed or failed. */
  faulted: number;
  /** Statements that changed data or schema (an EXPLAIN ANALYZE of a write counts: it runs it). */
  writes: number;
  /** The last 50 SQL texts that wrote. */
  lastWrites: string[];
  /**
   * The last 50 requests to the query resource (`GET` / `DELETE /v1/query/{id}`) with the user
   * they were made as: whose access control a coordinator applies to viewing and killing.
   */
  lastQueryRequests: { method: "GET" | "DELETE"; queryId: string; user: string }[];
  /** Explicit transactions: started, committed, rolled back, and open now. */
  transactions: TransactionStats;
}

export interface PrestoUpstream {
  url: string;
  port: number;
  queries: Map<string, LocalQuery>;
  stats(): PrestoUpstreamStats;
  resetStats(): void;
  setFaults(faults: PrestoFaults): void;
  clearFaults(): void;
  close(): Promise<void>;
}

export async function startPrestoUpstream(options: PrestoUpstreamOptions = {}): Promise<PrestoUpstream> {
  const coordinator = new Coordinator(options);
  const server = createServer((request, response) => coordinator.handle(request, response));
  const host = options.host ?? "127.0.0.1";
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, host, () => resolve());
  });
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : (options.port ?? 0);
  return {
    url: `http://${host.includes(":") ? `[${host}]` : host}:${port}`,
    port,
    queries: coordinator.queries,
    stats: () => coordinator.stats(),
    resetStats: () => coordinator.resetStats(),
    setFaults: (faults) => coordinator.setFaults(faults),
    clearFaults: () => coordinator.clearFaults(),
    close: async () => {
      coordinator.close();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
    },
  };
}

// ---------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------

const notSupported = (what: string, position?: number): TrinoError =>
  new TrinoError("NOT_SUPPORTED", `${what} is not supported by the local coordinator`, position);

const catalogNotFound = (catalog: string, position?: number): TrinoError =>
  new TrinoError("CATALOG_NOT_FOUND", `Catalog '${catalog}' not found`, position);

const schemaNotFound = (schema: string, position?: number): TrinoError =>
  new TrinoError("SCHEMA_NOT_FOUND", `Schema '${schema}' does not exist`, position);

const tableNotFound = (table: string, position?: number): TrinoError =>
  new TrinoError("TABLE_NOT_FOUND", `Table '${table}' does not exist`, position);

const tableExists = (table: string, position?: number): TrinoError =>
  new TrinoError("TABLE_ALREADY_EXISTS", `Table '${table}' already exists`, position);

const missingCatalog = (position?: number): TrinoError =>
  new TrinoError("MISSING_CATALOG_NAME", "Catalog must be specified when session catalog is not set", position);

const missingSchema = (position?: number): TrinoError =>
  new TrinoError("MISSING_SCHEMA_NAME", "Schema must be specified when session schema is not set", position);

// ---------------------------------------------------------------------------
// Tokens
// ---------------------------------------------------------------------------

/** A tiny recursive-descent helper for the statements handled without SQLite. */
class Cursor {
  readonly tokens: Token[];
  readonly sqlLength: number;
  index = 0;

  constructor(tokens: Token[], sqlLength: number) {
    this.tokens = tokens;
    this.sqlLength = sqlLength;
  }

  get current(): Token | undefined {
    return this.tokens[this.index];
  }

  get position(): number {
    return this.current?.start ?? this.sqlLength;
  }

  /** Where the statement starts: Trino locates most semantic errors of DDL and SHOW there. */
  get start(): number {
    return this.tokens[0]?.start ?? 0;
  }

  accept(...words: string[]): boolean {
    if (!isWord(this.current, ...words)) return false;
    this.index++;
    return true;
  }

  /** Accepts `words` in sequence (e.g. `IF NOT EXISTS`) if the first one is there. */
  acceptSequence(first: string, ...rest: string[]): boolean {
    if (!this.accept(first)) return false;
    for (const word of rest) this.expect(word);
    return true;
  }

  expect(...words: string[]): string {
    const word = this.current?.text.toUpperCase() ?? "";
    if (!this.accept(...words)) throw this.unexpected(words.map((expected) => `'${expected}'`).join(", "));
    return word;
  }

  acceptSymbol(symbol: string): boolean {
    if (!isSymbol(this.current, symbol)) return false;
    this.index++;
    return true;
  }

  expectSymbol(symbol: string): void {
    if (!this.acceptSymbol(symbol)) throw this.unexpected(`'${symbol}'`);
  }

  /** `a`, `a.b` or `a.b.c`, lowercased. */
  name(): QualifiedName {
    const start = this.position;
    const parts: string[] = [];
    do {
      const token = this.current;
      if (!token || !isIdentifier(token)) throw this.unexpected("<identifier>");
      parts.push(identifierValue(token));
      this.index++;
    } while (this.acceptSymbol("."));
    return { parts, start };
  }

  string(): string {
    const token = this.current;
    if (token?.kind !== "string") throw this.unexpected("<string>");
    this.index++;
    return stringValue(token);
  }

  /** Tokens up to the `)` matching an already consumed `(`; the cursor moves past it. */
  parenthesized(): Token[] {
    const close = matchingParen(this.tokens, this.index - 1);
    const inside = this.tokens.slice(this.index, close);
    this.index = close;
    this.expectSymbol(")");
    return inside;
  }

  rest(): Token[] {
    const rest = this.tokens.slice(this.index);
    this.index = this.tokens.length;
    return rest;
  }

  expectEnd(): void {
    if (this.current) throw this.unexpected("<EOF>");
  }

  unexpected(expecting: string): TrinoError {
    const found = this.current ? this.current.text : "<EOF>";
    return new TrinoError("SYNTAX_ERROR", `mismatched input '${found}'. Expecting: ${expecting}`, this.position);
  }
}

interface QualifiedName {
  parts: string[];
  start: number;
}

// ---------------------------------------------------------------------------
// Trino SQL → SQLite SQL
// ---------------------------------------------------------------------------

/** Rewrites Trino-only syntax into SQLite equivalents. */
function translateDialect(tokens: Token[]): Token[] {
  return rewriteLimits(rewriteCasts(rewriteExtract(stripTypedLiterals(rewriteUnicodeStrings(tokens)))));
}

/** `U&'\\0041'` → `'A'` (SQLite has no Unicode escapes). */
function rewriteUnicodeStrings(tokens: Token[]): Token[] {
  return tokens.map((token) =>
    token.kind === "string" && /^[uU]&/.test(token.text)
      ? synthetic(`'${stringValue(token).replaceAll("'", "''")}'`, token.start, "string")
      : token,
  );
}

/** `DATE '2024-01-01'` → `'2024-01-01'` (dates and timestamps are ISO text in SQLite). */
function stripTypedLiterals(tokens: Token[]): Token[] {
  return tokens.filter(
    (token, index) => !(isWord(token, "DATE", "TIMESTAMP", "TIME") && tokens[index + 1]?.kind === "string"),
  );
}

const EXTRACT_FUNCTIONS: Record<string, string> = {
  YEAR: "year",
  QUARTER: "quarter",
  MONTH: "month",
  WEEK: "week",
  DAY: "day",
  DAY_OF_MONTH: "day",
  DAY_OF_WEEK: "day_of_week",
  DOW: "day_of_week",
  DAY_OF_YEAR: "day_of_year",
  DOY: "day_of_year",
  HOUR: "hour",
  MINUTE: "minute",
  SECOND: "second",
};

/** `EXTRACT(YEAR FROM x)` → `year(x)`. */
function rewriteExtract(tokens: Token[]): Token[] {
  const out: Token[] = [];
  for (let index = 0; index < tokens.length; index++) {
    const token = tokens[index] as Token;
    const field = tokens[index + 2]?.text.toUpperCase() ?? "";
    if (
      isWord(token, "EXTRACT") &&
      isSymbol(tokens[index + 1], "(") &&
      EXTRACT_FUNCTIONS[field] &&
      isWord(tokens[index + 3], "FROM")
    ) {
      out.push(synthetic(EXTRACT_FUNCTIONS[field], token.start), tokens[index + 1] as Token);
      index += 3;
    } else {
      out.push(token);
    }
  }
  return out;
}

/** SQLite type names giving the cast result of each Trino type the intended storage class. */
const CAST_TYPES: Record<string, string> = {
  varchar: "TEXT",
  char: "TEXT",
  bigint: "INTEGER",
  integer: "INTEGER",
  int: "INTEGER",
  smallint: "INTEGER",
  tinyint: "INTEGER",
  boolean: "INTEGER",
  double: "REAL",
  real: "REAL",
  decimal: "REAL",
};

/** `CAST(x AS date)` → `date(x)`, `CAST(x AS varchar)` → `CAST(x AS TEXT)`, `TRY_CAST` → `CAST`. */
function rewriteCasts(tokens: Token[]): Token[] {
  const out: Token[] = [];
  for (let index = 0; index < tokens.length; index++) {
    const token = tokens[index] as Token;
    const close =
      isWord(token, "CAST", "TRY_CAST") && isSymbol(tokens[index + 1], "(") ? matchingParen(tokens, index + 1) : -1;
    const as = close < 0 ? -1 : lastTopLevelWord(tokens, index + 2, close, "AS");
    if (as < 0) {
      out.push(token);
      continue;
    }
    const operand = rewriteCasts(tokens.slice(index + 2, as));
    const type = normalizeTypeText(render(tokens.slice(as + 1, close)));
    out.push(...castExpression(operand, type, token.start));
    index = close;
  }
  return out;
}

/** Index of the last `word` outside parentheses between `from` and `to`, or -1. */
function lastTopLevelWord(tokens: Token[], from: number, to: number, word: string): number {
  let depth = 0;
  let found = -1;
  for (let index = from; index < to; index++) {
    if (isSymbol(tokens[index], "(")) depth++;
    else if (isSymbol(tokens[index], ")")) depth--;
    else if (depth === 0 && isWord(tokens[index], word)) found = index;
  }
  return found;
}

function castExpression(operand: Token[], type: string, start: number): Token[] {
  const base = baseType(type);
  const call = (name: string, ...leading: Token[]): Token[] => [
    synthetic(name, start),
    synthetic("(", start, "symbol"),
    ...leading,
    ...operand,
    synthetic(")", start, "symbol"),
  ];
  if (base === "date") return call("date");
  if (base === "timestamp")
    return call("strftime", synthetic("'%Y-%m-%d %H:%M:%f'", start, "string"), synthetic(",", start, "symbol"));
  return [
    synthetic("CAST", start),
    synthetic("(", start, "symbol"),
    ...operand,
    synthetic("AS", start),
    synthetic(CAST_TYPES[base] ?? quoteIdentifier(type), start),
    synthetic(")", start, "symbol"),
  ];
}

/** Trino's `OFFSET n [ROWS]`, `FETCH FIRST n ROWS ONLY` and `LIMIT ALL` in SQLite's `LIMIT n OFFSET m` form. */
function rewriteLimits(tokens: Token[]): Token[] {
  const out: Token[] = [];
  for (let index = 0; index < tokens.length; index++) {
    const token = tokens[index] as Token;
    if (isWord(token, "OFFSET") && tokens[index + 1]?.kind === "number") {
      const offset = tokens[index + 1] as Token;
      let next = index + 2 + (isWord(tokens[index + 2], "ROW", "ROWS") ? 1 : 0);
      const limit = readLimit(tokens, next);
      next = limit ? limit.end : next;
      out.push(synthetic("LIMIT", token.start), limit?.count ?? synthetic("-1", token.start, "number"), token, offset);
      index = next - 1;
      continue;
    }
    const limit = readLimit(tokens, index);
    if (limit) {
      out.push(synthetic("LIMIT", token.start), limit.count);
      index = limit.end - 1;
    } else {
      out.push(token);
    }
  }
  return out;
}

/** Reads `LIMIT n`, `LIMIT ALL` or `FETCH FIRST|NEXT [n] ROW|ROWS ONLY|WITH TIES` at `index`. */
function readLimit(tokens: Token[], index: number): { count: Token; end: number } | undefined {
  const token = tokens[index];
  if (!token) return undefined;
  if (isWord(token, "LIMIT") && isWord(tokens[index + 1], "ALL"))
    return { count: synthetic("-1", token.start, "number"), end: index + 2 };
  if (isWord(token, "LIMIT") && tokens[index + 1]) return { count: tokens[index + 1] as Token, end: index + 2 };
  if (!isWord(token, "FETCH") || !isWord(tokens[index + 1], "FIRST", "NEXT")) return undefined;
  let next = index + 2;
  const count = tokens[next]?.kind === "number" ? (tokens[next++] as Token) : synthetic("1", token.start, "number");
  if (isWord(tokens[next], "ROW", "ROWS")) next++;
  if (isWord(tokens[next], "ONLY")) next++;
  else if (isWord(tokens[next], "WITH") && isWord(tokens[next + 1], "TIES")) next += 2;
  return { count, end: next };
}

interface TableReference {
  catalog: string;
  schema: string;
  table: string;
  start: number;
  /** Set when the name cannot be resolved at all (e.g. no session schema). */
  problem?: TrinoError;
}

const databaseName = (catalog: string, schema: string): string => `${catalog}__${schema}`;

/** A Trino table as SQLite names it: `"catalog__schema"."table"`. */
const sqliteTable = (catalog: string, schema: string, table: string): string =>
  `${quoteIdentifier(databaseName(catalog, schema))}.${quoteIdentifier(table)}`;

/** Keywords that end a FROM clause, so later commas no longer separate tables. */
const FROM_CLAUSE_END = new Set(
  "WHERE GROUP HAVING ORDER LIMIT OFFSET FETCH UNION INTERSECT EXCEPT WINDOW SELECT VALUES SET RETURNING".split(" "),
);

/**
 * Rewrites table names after FROM, JOIN, INTO, UPDATE and FROM-list commas to
 * their SQLite database. CTE names, subqueries and table functions are left alone.
 */
function qualifyTableReferences(tokens: Token[], session: Session): { tokens: Token[]; references: TableReference[] } {
  const cteNames = collectCteNames(tokens);
  const inFrom: boolean[] = [false]; // per parenthesis depth
  const out: Token[] = [];
  const references: TableReference[] = [];
  let expectTable = false;
  for (let index = 0; index < tokens.length; index++) {
    const token = tokens[index] as Token;
    if (expectTable) {
      expectTable = false;
      const name = readTableName(tokens, index);
      if (name && !(name.parts.length === 1 && cteNames.has(name.parts[0] as string))) {
        const reference = resolveReference(name.parts, token.start, session);
        references.push(reference);
        out.push(synthetic(sqliteTable(reference.catalog, reference.schema, reference.table), token.start, "quoted"));
        index = name.end - 1;
        continue;
      }
    }
    out.push(token);
    const depth = inFrom.length - 1;
    if (isSymbol(token, "(")) inFrom.push(false);
    else if (isSymbol(token, ")")) inFrom.length = Math.max(1, depth);
    else if (isWord(token, "FROM") && !isWord(tokens[index - 1], "DISTINCT")) {
      inFrom[depth] = true; // not `IS [NOT] DISTINCT FROM`
      expectTable = true;
    } else if (isWord(token, "JOIN", "INTO") || (index === 0 && isWord(token, "UPDATE"))) expectTable = true;
    else if (isSymbol(token, ",")) expectTable = inFrom[depth] === true;
    else if (token.kind === "word" && FROM_CLAUSE_END.has(token.text.toUpperCase())) inFrom[depth] = false;
  }
  return { tokens: out, references };
}

/** A dotted name at `index` that is not a table function call (`name(`). */
function readTableName(tokens: Token[], index: number): (QualifiedName & { end: number }) | undefined {
  if (!isIdentifier(tokens[index])) return undefined;
  const parts = [identifierValue(tokens[index] as Token)];
  let end = index + 1;
  while (isSymbol(tokens[end], ".") && isIdentifier(tokens[end + 1])) {
    parts.push(identifierValue(tokens[end + 1] as Token));
    end += 2;
  }
  if (isSymbol(tokens[end], "(")) return undefined;
  return { parts, start: (tokens[index] as Token).start, end };
}

/** Names defined by `WITH name [(columns)] AS (...)`. */
function collectCteNames(tokens: Token[]): Set<string> {
  const names = new Set<string>();
  if (!tokens.some((token) => isWord(token, "WITH"))) return names;
  for (let index = 1; index < tokens.length; index++) {
    const previous = tokens[index - 1];
    if (!isWord(previous, "WITH", "RECURSIVE") && !isSymbol(previous, ",")) continue;
    if (!isIdentifier(tokens[index])) continue;
    let next = index + 1;
    if (isSymbol(tokens[next], "(")) next = matchingParen(tokens, next) + 1;
    if (isWord(tokens[next], "AS") && isSymbol(tokens[next + 1], "("))
      names.add(identifierValue(tokens[index] as Token));
  }
  return names;
}

/** Completes a 1–3 part table name with the session catalog and schema. */
function resolveReference(parts: string[], start: number, session: Session): TableReference {
  const table = parts[parts.length - 1] as string;
  const schema = parts.length > 1 ? parts[parts.length - 2] : session.schema;
  const catalog = parts.length > 2 ? parts[parts.length - 3] : session.catalog;
  let problem: TrinoError | undefined;
  if (parts.length > 3) {
    problem = new TrinoError("SYNTAX_ERROR", `Too many dots in table name: ${parts.join(".")}`, start);
  } else if (schema === undefined) {
    problem = missingSchema(start);
  } else if (catalog === undefined) {
    problem = missingCatalog(start);
  }
  return { catalog: catalog ?? "", schema: schema ?? "", table, start, problem };
}

/** Finds where a (possibly dotted) name occurs in the statement, for error locations. */
function locate(tokens: Token[], dottedName: string): number | undefined {
  const parts = dottedName.split(".").map((part) => part.replace(/^"|"$/g, "").toLowerCase());
  const matches = (index: number): boolean =>
    parts.every((part, offset) => {
      const token = tokens[index + offset * 2];
      const dot = offset === 0 || isSymbol(tokens[index + offset * 2 - 1], ".");
      return dot && token !== undefined && isIdentifier(token) && identifierValue(token) === part;
    });
  return tokens.find((_, index) => matches(index))?.start;
}

/** The first token that starts with `text`, as SQLite quotes tokens in syntax errors. */
const tokenAt = (tokens: Token[], text: string): number | undefined =>
  tokens.find((token) => token.text.toLowerCase().startsWith(text.toLowerCase()))?.start;

const SQLITE_ERRORS: [RegExp, (match: RegExpExecArray, tokens: Token[], sqlLength: number) => TrinoError][] = [
  [
    /^near "([\s\S]*)": syntax error/,
    ([, near = ""], tokens) => new TrinoError("SYNTAX_ERROR", `mismatched input '${near}'`, tokenAt(tokens, near)),
  ],
  [/^incomplete input/, (_, __, sqlLength) => new TrinoError("SYNTAX_ERROR", "mismatched input '<EOF>'", sqlLength)],
  [
    /^unrecognized token: "([\s\S]*)"/,
    ([, text = ""], tokens) =>
      new TrinoError("SYNTAX_ERROR", `token recognition error at: '${text}'`, tokenAt(tokens, text)),
  ],
  [
    /^no such column: ([^\s]+)/,
    ([, name = ""], tokens) =>
      new TrinoError(
        "COLUMN_NOT_FOUND",
        `Column '${name.replaceAll('"', "")}' cannot be resolved`,
        locate(tokens, name),
      ),
  ],
  [
    /^no such function: (\S+)/,
    ([, name = ""], tokens) =>
      new TrinoError("FUNCTION_NOT_FOUND", `Function '${name}' not registered`, locate(tokens, name)),
  ],
  [
    /^wrong number of arguments to function (\w+)/,
    ([, name = ""], tokens) =>
      new TrinoError("FUNCTION_NOT_FOUND", `Unexpected parameters for function ${name}`, locate(tokens, name)),
  ],
  [
    /^no such table: (\S+)/,
    ([, name = ""], tokens) =>
      new TrinoError("TABLE_NOT_FOUND", `Table '${name.replace("__", ".")}' does not exist`, tokens[0]?.start),
  ],
  [
    /^ambiguous column name: (\S+)/,
    ([, name = ""], tokens) => new TrinoError("AMBIGUOUS_NAME", `Column '${name}' is ambiguous`, locate(tokens, name)),
  ],
];

/** Maps an error from SQLite onto Trino's error names and wording. */
function translateSqliteError(error: unknown, tokens: Token[], sqlLength: number): TrinoError {
  if (error instanceof TrinoError) return error;
  const message = error instanceof Error ? error.message : String(error);
  if ((error as { code?: unknown }).code !== "ERR_SQLITE_ERROR") {
    return new TrinoError("GENERIC_INTERNAL_ERROR", message);
  }
  for (const [pattern, translate] of SQLITE_ERRORS) {
    const match = pattern.exec(message);
    if (match) return translate(match, tokens, sqlLength);
  }
  return new TrinoError("GENERIC_USER_ERROR", message, tokens[0]?.start);
}

// ---------------------------------------------------------------------------
// Types and values
// ---------------------------------------------------------------------------

const baseType = (type: string): string => type.replace(/\(.*$/, "").trim();

const normalizeTypeText = (text: string): string =>
  text
    .trim()
    .toLowerCase()
    .replace(/\s+/g, " ")
    .replace(/\s*\(\s*/g, "(")
    .replace(/\s*,\s*/g, ",")
    .replace(/\s*\)/g, ")");

const TYPE_ALIASES: Record<string, string> = {
  int: "integer",
  text: "varchar",
  string: "varchar",
  float: "real",
  "double precision": "double",
  bool: "boolean",
  timestamp: "timestamp(3)",
  "timestamp with time zone": "timestamp(3) with time zone",
  blob: "varbinary",
};

const TRINO_TYPE = new RegExp(
  [
    "(?:bigint|integer|smallint|tinyint|double|real|boolean|date|varbinary|json|uuid|varchar)",
    String.raw`(?:varchar|char)\(\d+\)`,
    String.raw`decimal\(\d+(?:,\d+)?\)`,
    String.raw`timestamp\(\d\)(?: with time zone)?`,
    String.raw`time(?:\(\d\))?`,
  ]
    .map((alternative) => `^${alternative}$`)
    .join("|"),
);

/** The Trino type for a SQLite declared type (which is the Trino type for tables created here). */
function trinoTypeOf(declared: string): string | undefined {
  const normalized = normalizeTypeText(declared);
  const type = TYPE_ALIASES[normalized] ?? normalized;
  return TRINO_TYPE.test(type) ? type : undefined;
}

const DATE_TEXT = /^\d{4}-\d{2}-\d{2}$/;
const TIMESTAMP_TEXT = /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(?:\.\d{1,3})?$/;

function valueType(value: SQLOutputValue): string {
  if (typeof value === "bigint") return "bigint";
  if (typeof value === "number") return "double";
  if (typeof value !== "string") return "varbinary";
  if (DATE_TEXT.test(value)) return "date";
  return TIMESTAMP_TEXT.test(value) ? "timestamp(3)" : "varchar";
}

/** Type of an expression column, from its values' SQLite storage classes. */
function inferType(rows: SQLOutputValue[][], index: number): string {
  const types = new Set<string>();
  for (const row of rows) {
    const value = row[index] ?? null;
    if (value !== null) types.add(valueType(value));
  }
  if (types.size === 0) return "unknown";
  if (types.size === 1) return [...types][0] as string;
  return types.size === 2 && types.has("bigint") && types.has("double") ? "double" : "varchar";
}

/** A SQLite value as Trino's JSON encoding of the given type. */
function toJsonValue(value: SQLOutputValue, type: string): unknown {
  if (value === null) return null;
  if (value instanceof Uint8Array) return Buffer.from(value).toString("base64");
  switch (baseType(type)) {
    case "boolean":
      return typeof value === "string" ? value.toLowerCase() === "true" : Number(value) !== 0;
    case "bigint":
    case "integer":
    case "smallint":
    case "tinyint":
    case "double":
    case "real": {
      const number = Number(value);
      return Number.isNaN(number) ? value : number;
    }
    case "decimal":
      return Number(value).toFixed(Number(/,(\d+)\)/.exec(type)?.[1] ?? 0));
    case "varchar":
    case "char":
    case "date":
    case "timestamp":
    case "time":
      return String(value);
    default:
      return typeof value === "bigint" ? Number(value) : value;
  }
}

/** A query result value back as a SQLite value (CREATE TABLE AS): booleans become 0/1. */
const toSqliteValue = (value: unknown): SQLInputValue =>
  typeof value === "boolean" ? Number(value) : (value as SQLInputValue);

const SIMPLE_NAME = /^[\p{L}_][\p{L}\p{N}_]*$/u;
const LITERAL_NAME = /^(?:null|true|false|current_date|current_time|current_timestamp)$/i;

/** Trino names unaliased expression columns `_col<index>`. */
function columnName(column: { column: string | null; name: string }, index: number): string {
  const unaliasedExpression =
    column.column === null && (!SIMPLE_NAME.test(column.name) || LITERAL_NAME.test(column.name));
  return unaliasedExpression ? `_col${index}` : column.name;
}

// ---------------------------------------------------------------------------
// Trino functions missing from SQLite
// ---------------------------------------------------------------------------

type Scalar = (...args: SQLOutputValue[]) => SQLInputValue;

const DAY_MS = 86_400_000;

function invalidArgument(message: string): TrinoError {
  return new TrinoError("INVALID_FUNCTION_ARGUMENT", message);
}

/** Parses ISO date (`2024-01-31`) or timestamp (`2024-01-31 10:00:00.000`) text as UTC. */
function temporal(value: SQLOutputValue): { ms: number; dateOnly: boolean } {
  const text = String(value);
  const dateOnly = DATE_TEXT.test(text);
  const zone = /(?:[zZ]|[+-]\d\d:?\d\d)$/.test(text) ? "" : "Z";
  const ms = Date.parse(dateOnly ? `${text}T00:00:00Z` : `${text.replace(" ", "T")}${zone}`);
  if (Number.isNaN(ms)) throw invalidArgument(`Value cannot be cast to date or timestamp: ${text}`);
  return { ms, dateOnly };
}

function formatTemporal(ms: number, dateOnly: boolean): string {
  const iso = new Date(ms).toISOString();
  return dateOnly ? iso.slice(0, 10) : `${iso.slice(0, 10)} ${iso.slice(11, 23)}`;
}

const weekdayIndex = (date: Date): number => (date.getUTCDay() + 6) % 7; // Monday = 0

function isoWeek(date: Date): number {
  const thursday = Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), date.getUTCDate() + 3 - weekdayIndex(date));
  const yearStart = Date.UTC(new Date(thursday).getUTCFullYear(), 0, 1);
  return Math.floor((thursday - yearStart) / DAY_MS / 7) + 1;
}

const dayOfYear = (date: Date): number =>
  Math.floor((date.getTime() - Date.UTC(date.getUTCFullYear(), 0, 1)) / DAY_MS) + 1;

const datePart =
  (part: (date: Date) => number): Scalar =>
  (value) =>
    BigInt(part(new Date(temporal(value).ms)));

const FIXED_UNITS: Record<string, number> = {
  millisecond: 1,
  second: 1000,
  minute: 60_000,
  hour: 3_600_000,
  day: DAY_MS,
  week: 7 * DAY_MS,
};
const MONTH_UNITS: Record<string, number> = { month: 1, quarter: 3, year: 12 };

/** Adds calendar months, clamping the day like Trino (Jan 31 + 1 month = Feb 28/29). */
function addMonths(ms: number, months: number): number {
  const date = new Date(ms);
  const target = new Date(Date.UTC(date.getUTCFullYear(), date.getUTCMonth() + months, 1));
  const lastDay = new Date(Date.UTC(target.getUTCFullYear(), target.getUTCMonth() + 1, 0)).getUTCDate();
  const timeOfDay = ms - Math.floor(ms / DAY_MS) * DAY_MS;
  return target.getTime() + (Math.min(date.getUTCDate(), lastDay) - 1) * DAY_MS + timeOfDay;
}

function monthsBetween(from: number, to: number): number {
  const a = new Date(from);
  const b = new Date(to);
  let months = (b.getUTCFullYear() - a.getUTCFullYear()) * 12 + b.getUTCMonth() - a.getUTCMonth();
  if (months > 0 && addMonths(from, months) > to) months--;
  if (months < 0 && addMonths(from, months) < to) months++;
  return months;
}

function dateTrunc(unit: SQLOutputValue, value: SQLOutputValue): string {
  const { ms, dateOnly } = temporal(value);
  const date = new Date(ms);
  const [year, month] = [date.getUTCFullYear(), date.getUTCMonth()];
  const floorTo = (size: number): number => Math.floor(ms / size) * size;
  const starts: Record<string, () => number> = {
    second: () => floorTo(1000),
    minute: () => floorTo(60_000),
    hour: () => floorTo(3_600_000),
    day: () => floorTo(DAY_MS),
    week: () => floorTo(DAY_MS) - weekdayIndex(date) * DAY_MS,
    month: () => Date.UTC(year, month, 1),
    quarter: () => Date.UTC(year, month - (month % 3), 1),
    year: () => Date.UTC(year, 0, 1),
  };
  const start = starts[String(unit).toLowerCase()];
  if (!start) throw invalidArgument(`'${unit}' is not a valid Timestamp field`);
  return formatTemporal(start(), dateOnly);
}

function dateAdd(unit: SQLOutputValue, amount: SQLOutputValue, value: SQLOutputValue): string {
  const { ms, dateOnly } = temporal(value);
  const name = String(unit).toLowerCase();
  const fixed = FIXED_UNITS[name];
  const months = MONTH_UNITS[name];
  if (fixed) return formatTemporal(ms + Number(amount) * fixed, dateOnly);
  if (months) return formatTemporal(addMonths(ms, Number(amount) * months), dateOnly);
  throw invalidArgument(`'${unit}' is not a valid Timestamp field`);
}

function dateDiff(unit: SQLOutputValue, from: SQLOutputValue, to: SQLOutputValue): bigint {
  const [start, end] = [temporal(from).ms, temporal(to).ms];
  const name = String(unit).toLowerCase();
  const fixed = FIXED_UNITS[name];
  const months = MONTH_UNITS[name];
  if (fixed) return BigInt(Math.trunc((end - start) / fixed));
  if (months) return BigInt(Math.trunc(monthsBetween(start, end) / months));
  throw invalidArgument(`'${unit}' is not a valid Timestamp field`);
}

const truth = (value: boolean): bigint => (value ? 1n : 0n);

function pad(value: SQLOutputValue, size: SQLOutputValue, filler: SQLOutputValue, atStart: boolean): string {
  const text = String(value);
  const length = Number(size);
  if (text.length >= length) return text.slice(0, length);
  return atStart ? text.padStart(length, String(filler)) : text.padEnd(length, String(filler));
}

const extreme =
  (pickSecond: (a: SQLOutputValue, b: SQLOutputValue) => boolean): Scalar =>
  (...values) =>
    values.reduce((best, value) => (pickSecond(best, value) ? value : best)) as SQLInputValue;

/**
 * Trino scalar functions; all return NULL on a NULL argument. Rest parameters mean varargs.
 * INTEGER arguments arrive as bigint (and REAL as number) so values keep their storage class.
 */
const SCALAR_FUNCTIONS: Record<string, Scalar> = {
  year: datePart((date) => date.getUTCFullYear()),
  quarter: datePart((date) => Math.floor(date.getUTCMonth() / 3) + 1),
  month: datePart((date) => date.getUTCMonth() + 1),
  week: datePart(isoWeek),
  week_of_year: datePart(isoWeek),
  day: datePart((date) => date.getUTCDate()),
  day_of_month: datePart((date) => date.getUTCDate()),
  day_of_week: datePart((date) => weekdayIndex(date) + 1),
  dow: datePart((date) => weekdayIndex(date) + 1),
  day_of_year: datePart(dayOfYear),
  doy: datePart(dayOfYear),
  hour: datePart((date) => date.getUTCHours()),
  minute: datePart((date) => date.getUTCMinutes()),
  second: datePart((date) => date.getUTCSeconds()),
  date_trunc: dateTrunc,
  date_add: dateAdd,
  date_diff: dateDiff,
  from_iso8601_date: (value) => formatTemporal(temporal(value).ms, true),
  strpos: (text, search) => BigInt(String(text).indexOf(String(search)) + 1),
  starts_with: (text, prefix) => truth(String(text).startsWith(String(prefix))),
  regexp_like: (text, pattern) => truth(new RegExp(String(pattern)).test(String(text))),
  regexp_extract: (...[text, pattern, group = 0n]) =>
    new RegExp(String(pattern)).exec(String(text))?.[Number(group)] ?? null,
  regexp_replace: (...[text, pattern, replacement = ""]) =>
    String(text).replace(new RegExp(String(pattern), "g"), String(replacement)),
  split_part: (text, delimiter, index) => String(text).split(String(delimiter))[Number(index) - 1] ?? null,
  reverse: (text) => [...String(text)].reverse().join(""),
  lpad: (text, size, filler) => pad(text, size, filler, true),
  rpad: (text, size, filler) => pad(text, size, filler, false),
  greatest: extreme((best, value) => (value as number) > (best as number)),
  least: extreme((best, value) => (value as number) < (best as number)),
  truncate: (value) => Math.trunc(Number(value)),
  try: (value) => value,
};

interface AggregateSpec<State> {
  init: () => State;
  step: (state: State, ...args: SQLOutputValue[]) => void;
  result: (state: State) => SQLInputValue;
}

/** node:sqlite takes a function's SQL arity from its `length`, which wrappers must keep. */
function withArity<Fn extends (...args: never[]) => unknown>(fn: Fn, length: number): Fn {
  return Object.defineProperty(fn, "length", { value: length });
}

function defineAggregate<State>(db: DatabaseSync, names: string[], spec: AggregateSpec<State>): void {
  const step = (state: SQLInputValue, ...args: SQLOutputValue[]): SQLInputValue => {
    spec.step(state as unknown as State, ...args);
    return state;
  };
  for (const name of names) {
    db.aggregate(name, {
      // node:sqlite accepts any JavaScript value as accumulator; its typings only allow SQL values.
      start: spec.init as unknown as () => SQLInputValue,
      step: withArity(step, spec.step.length),
      result: (state) => spec.result(state as unknown as State),
      deterministic: true,
      useBigIntArguments: true,
    });
  }
}

interface Moments {
  count: number;
  mean: number;
  m2: number;
}

/** Variance-style aggregates, using Welford's online algorithm. */
const momentsAggregate = (result: (moments: Moments) => number | null): AggregateSpec<Moments> => ({
  init: () => ({ count: 0, mean: 0, m2: 0 }),
  step: (state, value) => {
    if (value === null) return;
    const x = Number(value);
    state.count++;
    const delta = x - state.mean;
    state.mean += delta / state.count;
    state.m2 += delta * (x - state.mean);
  },
  result,
});

function variance(moments: Moments, population: boolean): number | null {
  const divisor = population ? moments.count : moments.count - 1;
  return divisor > 0 ? moments.m2 / divisor : null;
}

const squareRoot = (value: number | null): number | null => (value === null ? null : Math.sqrt(value));

function registerAggregates(db: DatabaseSync): void {
  defineAggregate(db, ["count_if"], {
    init: () => ({ count: 0 }),
    step: (state, value) => {
      if (value !== null && Number(value) !== 0) state.count++;
    },
    result: (state) => BigInt(state.count),
  });
  defineAggregate(db, ["approx_distinct"], {
    init: () => new Set<SQLOutputValue>(),
    step: (state, value) => {
      if (value !== null) state.add(value);
    },
    result: (state) => BigInt(state.size),
  });
  defineAggregate(db, ["arbitrary", "any_value"], {
    init: () => ({ value: null as SQLOutputValue }),
    step: (state, value) => {
      if (state.value === null) state.value = value;
    },
    result: (state) => state.value as SQLInputValue,
  });
  defineAggregate(db, ["bool_and", "every"], {
    init: () => ({ value: null as boolean | null }),
    step: (state, value) => {
      if (value !== null) state.value = (state.value ?? true) && Number(value) !== 0;
    },
    result: (state) => (state.value === null ? null : truth(state.value)),
  });
  defineAggregate(db, ["bool_or"], {
    init: () => ({ value: null as boolean | null }),
    step: (state, value) => {
      if (value !== null) state.value = (state.value ?? false) || Number(value) !== 0;
    },
    result: (state) => (state.value === null ? null : truth(state.value)),
  });
  for (const [name, wins] of [
    ["max_by", (key: number, best: number) => key > best],
    ["min_by", (key: number, best: number) => key < best],
  ] as const) {
    defineAggregate(db, [name], {
      init: () => ({ value: null as SQLOutputValue, key: null as SQLOutputValue }),
      step: (state, value, key) => {
        if (key === null || (state.key !== null && !wins(key as number, state.key as number))) return;
        state.value = value;
        state.key = key;
      },
      result: (state) => state.value as SQLInputValue,
    });
  }
  defineAggregate(
    db,
    ["variance", "var_samp"],
    momentsAggregate((moments) => variance(moments, false)),
  );
  defineAggregate(
    db,
    ["var_pop"],
    momentsAggregate((moments) => variance(moments, true)),
  );
  defineAggregate(
    db,
    ["stddev", "stddev_samp"],
    momentsAggregate((moments) => squareRoot(variance(moments, false))),
  );
  defineAggregate(
    db,
    ["stddev_pop"],
    momentsAggregate((moments) => squareRoot(variance(moments, true))),
  );
  defineAggregate(db, ["approx_percentile"], {
    init: () => ({ values: [] as number[], percentile: 0.5, integral: true }),
    step: (state, value, percentile) => {
      if (value === null) return;
      state.values.push(Number(value));
      state.percentile = Number(percentile);
      state.integral &&= typeof value === "bigint";
    },
    result: (state) => {
      if (state.values.length === 0) return null;
      const sorted = state.values.sort((a, b) => a - b);
      const value = sorted[Math.round(state.percentile * (sorted.length - 1))] as number;
      return state.integral ? BigInt(value) : value;
    },
  });
}

function registerTrinoFunctions(db: DatabaseSync): void {
  for (const [name, implementation] of Object.entries(SCALAR_FUNCTIONS)) {
    const nullSafe: Scalar = (...args) => (args.includes(null) ? null : implementation(...args));
    const options = { deterministic: true, useBigIntArguments: true, varargs: implementation.length === 0 };
    db.function(name, options, withArity(nullSafe, implementation.length));
  }
  db.function("now", () => formatTemporal(Date.now(), false));
  registerAggregates(db);
}

// ---------------------------------------------------------------------------
// Catalogs: one ATTACHed SQLite database per Trino schema
// ---------------------------------------------------------------------------

const INFORMATION_SCHEMA = "information_schema";

const INFORMATION_SCHEMA_TABLES: Record<string, Column[]> = {
  schemata: [
    { name: "catalog_name", type: "varchar" },
    { name: "schema_name", type: "varchar" },
  ],
  tables: [
    { name: "table_catalog", type: "varchar" },
    { name: "table_schema", type: "varchar" },
    { name: "table_name", type: "varchar" },
    { name: "table_type", type: "varchar" },
  ],
  columns: [
    { name: "table_catalog", type: "varchar" },
    { name: "table_schema", type: "varchar" },
    { name: "table_name", type: "varchar" },
    { name: "column_name", type: "varchar" },
    { name: "ordinal_position", type: "bigint" },
    { name: "column_default", type: "varchar" },
    { name: "is_nullable", type: "varchar" },
    { name: "data_type", type: "varchar" },
  ],
};

const columnDefinitions = (columns: Column[]): string =>
  columns.map((column) => `${quoteIdentifier(column.name)} ${quoteIdentifier(column.type)}`).join(", ");

interface ResolvedTable {
  catalog: string;
  schema: string;
  table: string;
  /** `catalog.schema.table`, for messages. */
  name: string;
  /** `"catalog__schema"."table"`, for SQLite. */
  qualified: string;
  exists: boolean;
}

class Catalogs {
  readonly #db: DatabaseSync;
  readonly #schemas = new Map<string, Set<string>>();
  /** Live tables (information_schema, system.runtime.queries) are rebuilt before each read. */
  readonly #liveTables = new Map<string, () => void>();

  constructor(db: DatabaseSync) {
    this.#db = db;
  }

  addCatalog(catalog: string): void {
    this.#schemas.set(catalog, new Set());
    this.attach(catalog, INFORMATION_SCHEMA);
    for (const [table, columns] of Object.entries(INFORMATION_SCHEMA_TABLES)) {
      this.defineLiveTable(catalog, INFORMATION_SCHEMA, table, columns, () =>
        this.#informationSchemaRows(catalog, table),
      );
    }
  }

  attach(catalog: string, schema: string): void {
    this.#db.exec(`ATTACH DATABASE ':memory:' AS ${quoteIdentifier(databaseName(catalog, schema))}`);
    this.#schemas.get(catalog)?.add(schema);
  }

  detach(catalog: string, schema: string): void {
    this.#db.exec(`DETACH DATABASE ${quoteIdentifier(databaseName(catalog, schema))}`);
    this.#schemas.get(catalog)?.delete(schema);
  }

  /** Creates a table whose rows are recomputed by `rows()` whenever a statement reads it. */
  defineLiveTable(
    catalog: string,
    schema: string,
    table: string,
    columns: Column[],
    rows: () => SQLInputValue[][],
  ): void {
    const qualified = sqliteTable(catalog, schema, table);
    this.#db.exec(`CREATE TABLE ${qualified} (${columnDefinitions(columns)})`);
    const insert = `INSERT INTO ${qualified} VALUES (${columns.map(() => "?").join(", ")})`;
    this.#liveTables.set(qualified, () => {
      this.#db.exec("BEGIN");
      this.#db.exec(`DELETE FROM ${qualified}`);
      const statement = this.#db.prepare(insert);
      for (const row of rows()) statement.run(...row);
      this.#db.exec("COMMIT");
    });
  }

  refresh(reference: TableReference): void {
    this.#liveTables.get(sqliteTable(reference.catalog, reference.schema, reference.table))?.();
  }

  catalogNames(): string[] {
    return [...this.#schemas.keys()].sort();
  }

  hasCatalog(catalog: string): boolean {
    return this.#schemas.has(catalog);
  }

  schemaNames(catalog: string): string[] {
    return [...(this.#schemas.get(catalog) ?? [])].sort();
  }

  hasSchema(catalog: string, schema: string): boolean {
    return this.#schemas.get(catalog)?.has(schema) ?? false;
  }

  tableNames(catalog: string, schema: string): string[] {
    const rows = this.#db
      .prepare("SELECT name FROM pragma_table_list WHERE schema = ? AND type = 'table' ORDER BY name")
      .all(databaseName(catalog, schema));
    return rows.map((row) => String(row.name)).filter((name) => !name.startsWith("sqlite_"));
  }

  columns(catalog: string, schema: string, table: string): Column[] {
    const rows = this.#db
      .prepare("SELECT name, type FROM pragma_table_xinfo(?, ?) ORDER BY cid")
      .all(table, databaseName(catalog, schema));
    return rows.map((row) => ({ name: String(row.name), type: trinoTypeOf(String(row.type)) ?? "varchar" }));
  }

  /** Checks that the catalog and schema exist; `position` locates the error. */
  checkSchema(catalog: string, schema: string, position: number): void {
    if (!this.hasCatalog(catalog)) throw catalogNotFound(catalog, position);
    if (!this.hasSchema(catalog, schema)) throw schemaNotFound(schema, position);
  }

  resolveTable(reference: TableReference): ResolvedTable {
    if (reference.problem) throw reference.problem;
    const { catalog, schema, table } = reference;
    this.checkSchema(catalog, schema, reference.start);
    return {
      catalog,
      schema,
      table,
      name: `${catalog}.${schema}.${table}`,
      qualified: sqliteTable(catalog, schema, table),
      exists: this.tableNames(catalog, schema).includes(table),
    };
  }

  #informationSchemaRows(catalog: string, table: string): SQLInputValue[][] {
    const rows: SQLInputValue[][] = [];
    for (const schema of this.schemaNames(catalog)) {
      if (table === "schemata") rows.push([catalog, schema]);
      for (const name of table === "schemata" ? [] : this.tableNames(catalog, schema)) {
        if (table === "tables") rows.push([catalog, schema, name, "BASE TABLE"]);
        if (table !== "columns") continue;
        this.columns(catalog, schema, name).forEach((column, index) => {
          rows.push([catalog, schema, name, column.name, index + 1, null, "YES", column.type]);
        });
      }
    }
    return rows;
  }
}

// ---------------------------------------------------------------------------
// SQL engine
// ---------------------------------------------------------------------------

const SYSTEM_QUERIES_COLUMNS: Column[] = [
  { name: "query_id", type: "varchar" },
  { name: "state", type: "varchar" },
  { name: "user", type: "varchar" },
  { name: "source", type: "varchar" },
  { name: "query", type: "varchar" },
  { name: "queued_time_ms", type: "bigint" },
  { name: "created", type: "timestamp(3)" },
  { name: "started", type: "timestamp(3)" },
  { name: "end", type: "timestamp(3)" },
  { name: "error_type", type: "varchar" },
  { name: "error_code", type: "varchar" },
];

/** Statements Trino has but the local coordinator does not implement. */
const UNSUPPORTED_STATEMENTS = new Set(
  "ANALYZE CALL COMMENT COMMIT DEALLOCATE DENY EXECUTE GRANT MERGE PREPARE REFRESH REVOKE ROLLBACK START".split(" "),
);

const QUERY_KEYWORDS = ["SELECT", "WITH", "VALUES"];

/** SHOW statements the parser recognizes; only the first five are implemented. */
const SHOW_KINDS = "CATALOGS SCHEMAS TABLES COLUMNS CREATE FUNCTIONS SESSION STATS GRANTS ROLES".split(" ");
const DML_KEYWORDS = ["INSERT", "UPDATE", "DELETE"];
/** Statements that change data or schema: refused outside autocommit by assertWritable. */
const WRITE_KEYWORDS = [...DML_KEYWORDS, "CREATE", "DROP", "ALTER", "TRUNCATE"];

/** Trino's transaction manager refuses writes in a read-only transaction; Hive writes only in autocommit. */
function assertWritable(access: WriteAccess): void {
  if (access === "read-only") {
    throw new TrinoError("READ_ONLY_VIOLATION", "Cannot execute write in a read-only transaction");
  }
  if (access === "read-write") {
    throw new TrinoError(
      "AUTOCOMMIT_WRITE_CONFLICT",
      `Catalog only supports writes using autocommit: ${SAMPLE_CATALOG}`,
    );
  }
}

/** Objects whose name completes a DDL statement's type, as in Trino's AST classes (DropTable, SetSession). */
const DDL_OBJECTS = new Set(["TABLE", "VIEW", "SCHEMA", "FUNCTION", "ROLE", "CATALOG", "SESSION", "TRANSACTION"]);
/** Statement kinds EXPLAIN ANALYZE runs: queries, SHOW/DESCRIBE, writes of rows, ANALYZE. */
const EXPLAIN_ANALYZE_KINDS = [
  ...QUERY_KEYWORDS,
  "TABLE",
  "SHOW",
  "DESCRIBE",
  "DESC",
  "EXPLAIN",
  "INSERT",
  "UPDATE",
  "DELETE",
  "MERGE",
  "ANALYZE",
  "REFRESH",
];

/**
 * Trino's AST class name of a data-definition statement (which EXPLAIN ANALYZE refuses), e.g.
 * DropTable; undefined for statements it runs. CREATE TABLE … AS is an insert, so it runs.
 */
function dataDefinitionType(tokens: Token[]): string | undefined {
  const [first, second] = tokens;
  const keyword = isSymbol(first, "(") ? "SELECT" : (first?.text.toUpperCase() ?? "");
  if (EXPLAIN_ANALYZE_KINDS.includes(keyword)) return undefined;
  const createsTableAs =
    keyword === "CREATE" &&
    tokens.some((token) => isWord(token, "TABLE")) &&
    tokens.some((token) => isWord(token, "AS"));
  if (createsTableAs) return undefined;
  const words = [keyword];
  if (isWord(second, "MATERIALIZED")) words.push("MATERIALIZED", "VIEW");
  else if (second && DDL_OBJECTS.has(second.text.toUpperCase())) words.push(second.text.toUpperCase());
  return words.map((word) => word.charAt(0) + word.slice(1).toLowerCase()).join("");
}

const varcharResult = (names: string[], rows: string[][]): StatementResult => ({
  columns: names.map((name) => ({ name, type: "varchar" })),
  rows,
});

/** DDL answers like Trino: a single boolean `result` column. */
const ddlResult = (updateType: string): StatementResult => ({
  columns: [{ name: "result", type: "boolean" }],
  rows: [[true]],
  updateType,
});

const rowCountResult = (updateType: string, count: number): StatementResult => ({
  columns: [{ name: "rows", type: "bigint" }],
  rows: [[count]],
  updateType,
  updateCount: count,
});

const escapeRegExp = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/** SQL LIKE pattern (with optional escape character) as a predicate. */
function likePredicate(pattern: string, escapeChar?: string): (value: string) => boolean {
  let source = "";
  for (let index = 0; index < pattern.length; index++) {
    const char = pattern[index] as string;
    if (char === escapeChar) source += escapeRegExp(pattern[++index] ?? "");
    else if (char === "%") source += "[\\s\\S]*";
    else if (char === "_") source += "[\\s\\S]";
    else source += escapeRegExp(char);
  }
  const regex = new RegExp(`^${source}$`);
  return (value) => regex.test(value);
}

function formatPlan(rows: Record<string, SQLOutputValue>[]): string {
  const depths = new Map<number, number>([[0, -1]]);
  const lines = ["Local SQLite plan (EXPLAIN QUERY PLAN)"];
  for (const row of rows) {
    const depth = (depths.get(Number(row.parent)) ?? -1) + 1;
    depths.set(Number(row.id), depth);
    lines.push(`${"    ".repeat(depth)}- ${row.detail}`);
  }
  return lines.join("\n");
}

interface EngineOptions {
  seed: number;
  maxResultRows: number;
  /** Rows of system.runtime.queries. */
  runtimeQueries: () => SQLInputValue[][];
}

class SqlEngine {
  readonly #db = new DatabaseSync(":memory:");
  readonly #catalogs = new Catalogs(this.#db);
  readonly #maxResultRows: number;

  constructor(options: EngineOptions) {
    this.#maxResultRows = options.maxResultRows;
    // Trino's LIKE is case-sensitive; SQLite's is not by default.
    this.#db.exec("PRAGMA case_sensitive_like = ON");
    registerTrinoFunctions(this.#db);
    this.#catalogs.addCatalog(SAMPLE_CATALOG);
    for (const schema of SAMPLE_SCHEMAS) this.#catalogs.attach(SAMPLE_CATALOG, schema);
    loadSampleData(this.#db, (schema) => databaseName(SAMPLE_CATALOG, schema), options.seed);
    this.#catalogs.addCatalog("system");
    this.#catalogs.attach("system", "runtime");
    this.#catalogs.defineLiveTable("system", "runtime", "queries", SYSTEM_QUERIES_COLUMNS, options.runtimeQueries);
  }

  close(): void {
    this.#db.close();
  }

  /**
   * Runs one statement; throws TrinoError. `access` is how it may write (the protocol layer's
   * transaction state): a write in a read-only transaction is refused like Trino refuses it.
   */
  execute(sql: string, session: Session, access: WriteAccess = "autocommit"): StatementResult {
    const tokens = tokenize(sql);
    try {
      return this.#dispatch(new Cursor(tokens, sql.length), session, access);
    } catch (error) {
      throw translateSqliteError(error, tokens, sql.length);
    }
  }

  #dispatch(cursor: Cursor, session: Session, access: WriteAccess): StatementResult {
    const { tokens } = cursor;
    const semicolon = tokens.find((token) => isSymbol(token, ";"));
    if (semicolon) throw new TrinoError("SYNTAX_ERROR", "mismatched input ';'. Expecting: <EOF>", semicolon.start);
    const first = tokens[0];
    const keyword = isSymbol(first, "(") ? "SELECT" : (first?.text.toUpperCase() ?? "");
    const writes = WRITE_KEYWORDS.includes(keyword);
    if (writes) assertWritable(access);
    if (keyword === "CALL" && access !== "autocommit") {
      throw new TrinoError("NOT_SUPPORTED", "Procedures cannot be called within a transaction (use autocommit mode)");
    }
    const result = this.#statement(cursor, session, access, keyword);
    return writes ? { ...result, wrote: true } : result;
  }

  #statement(cursor: Cursor, session: Session, access: WriteAccess, keyword: string): StatementResult {
    const { tokens } = cursor;
    const first = tokens[0];
    if (QUERY_KEYWORDS.includes(keyword)) return this.#query(tokens, session);
    if (DML_KEYWORDS.includes(keyword)) return this.#modify(tokens, session, keyword);
    switch (keyword) {
      case "SHOW":
        return this.#show(cursor, session);
      case "DESCRIBE":
      case "DESC":
        cursor.index = 1;
        return this.#showColumns(cursor, session);
      case "EXPLAIN":
        return this.#explain(cursor, session, access);
      case "USE":
        return this.#use(cursor, session);
      case "SET":
      case "RESET":
        return this.#sessionProperty(cursor);
      case "CREATE":
        return this.#create(cursor, session);
      case "DROP":
        return this.#drop(cursor, session);
      case "ALTER":
        return this.#alter(cursor, session);
      case "TRUNCATE":
        return this.#truncate(cursor, session);
    }
    if (UNSUPPORTED_STATEMENTS.has(keyword)) {
      throw notSupported(keyword, first?.start);
    }
    throw cursor.unexpected("'SELECT', 'WITH', 'SHOW', 'DESCRIBE', 'EXPLAIN', 'INSERT', 'CREATE', ...");
  }

  /** Rewrites and prepares a query or DML statement, reporting errors like Trino. */
  #prepare(tokens: Token[], session: Session): StatementSync {
    const rewritten = qualifyTableReferences(translateDialect(tokens), session);
    for (const reference of rewritten.references) if (!reference.problem) this.#catalogs.refresh(reference);
    try {
      return this.#db.prepare(render(rewritten.tokens));
    } catch (error) {
      const last = tokens[tokens.length - 1];
      const failure = translateSqliteError(error, rewritten.tokens, last ? last.start + last.text.length : 0);
      // Trino parses before it analyzes: syntax errors win over unknown tables.
      if (failure.errorName !== "SYNTAX_ERROR") {
        for (const reference of rewritten.references) {
          const table = this.#catalogs.resolveTable(reference);
          if (!table.exists) throw tableNotFound(table.name, reference.start);
        }
      }
      throw failure;
    }
  }

  #query(tokens: Token[], session: Session): StatementResult {
    const statement = this.#prepare(tokens, session);
    statement.setReadBigInts(true); // tells INTEGER from REAL values for type inference
    statement.setReturnArrays(true);
    const rows: SQLOutputValue[][] = [];
    for (const row of statement.iterate()) {
      if (rows.length === this.#maxResultRows) {
        throw new TrinoError(
          "EXCEEDED_LOCAL_MEMORY_LIMIT",
          `Query exceeded the local coordinator's limit of ${this.#maxResultRows} result rows`,
        );
      }
      rows.push(row as unknown as SQLOutputValue[]);
    }
    const columns = statement.columns().map((column, index) => ({
      name: columnName(column, index),
      type: (column.type && trinoTypeOf(column.type)) || inferType(rows, index),
    }));
    return {
      columns,
      rows: rows.map((row) => row.map((value, index) => toJsonValue(value, (columns[index] as Column).type))),
    };
  }

  #modify(tokens: Token[], session: Session, keyword: string): StatementResult {
    const { changes } = this.#prepare(tokens, session).run();
    return rowCountResult(keyword, Number(changes));
  }

  #show(cursor: Cursor, session: Session): StatementResult {
    cursor.expect("SHOW");
    const start = cursor.start;
    const what = cursor.expect(...SHOW_KINDS);
    const list = (header: string, names: (matches: (name: string) => boolean) => string[]): StatementResult =>
      varcharResult(
        [header],
        names(this.#likeClause(cursor)).map((name) => [name]),
      );
    switch (what) {
      case "CATALOGS":
        return list("Catalog", (matches) => this.#catalogs.catalogNames().filter(matches));
      case "SCHEMAS": {
        const catalog = this.#resolveCatalog(cursor.accept("FROM", "IN") ? cursor.name() : undefined, session, start);
        return list("Schema", (matches) => this.#catalogs.schemaNames(catalog).filter(matches));
      }
      case "TABLES": {
        const schema = this.#resolveSchema(cursor.accept("FROM", "IN") ? cursor.name() : undefined, session, start);
        return list("Table", (matches) => this.#catalogs.tableNames(schema.catalog, schema.schema).filter(matches));
      }
      case "COLUMNS":
        cursor.expect("FROM", "IN");
        return this.#showColumns(cursor, session);
      case "CREATE":
        cursor.expect("TABLE");
        return this.#showCreateTable(cursor, session);
      default:
        throw notSupported(`SHOW ${what}`, start);
    }
  }

  /** `SHOW COLUMNS FROM t [LIKE p]` and `DESCRIBE t`; the cursor is at the table name. */
  #showColumns(cursor: Cursor, session: Session): StatementResult {
    const table = this.#existingTable(cursor.name(), session, cursor.start);
    const matches = this.#likeClause(cursor);
    const rows = this.#catalogs
      .columns(table.catalog, table.schema, table.table)
      .filter((column) => matches(column.name))
      .map((column) => [column.name, column.type, "", ""]);
    return varcharResult(["Column", "Type", "Extra", "Comment"], rows);
  }

  #showCreateTable(cursor: Cursor, session: Session): StatementResult {
    const table = this.#existingTable(cursor.name(), session, cursor.start);
    cursor.expectEnd();
    const columns = this.#catalogs
      .columns(table.catalog, table.schema, table.table)
      .map((column) => `   ${column.name} ${column.type}`);
    return varcharResult(
      ["Create Table"],
      [[`CREATE TABLE ${table.catalog}.${table.schema}.${table.table} (\n${columns.join(",\n")}\n)`]],
    );
  }

  /** Optional `LIKE pattern [ESCAPE char]`, then the end of the statement. */
  #likeClause(cursor: Cursor): (value: string) => boolean {
    let matches: (value: string) => boolean = () => true;
    if (cursor.accept("LIKE")) {
      const pattern = cursor.string();
      matches = likePredicate(pattern, cursor.accept("ESCAPE") ? cursor.string() : undefined);
    }
    cursor.expectEnd();
    return matches;
  }

  #explain(cursor: Cursor, session: Session, access: WriteAccess): StatementResult {
    cursor.expect("EXPLAIN");
    if (cursor.accept("ANALYZE")) {
      cursor.accept("VERBOSE");
      return this.#explainAnalyze(cursor.rest(), cursor.sqlLength, session, access);
    }
    let type = "DISTRIBUTED";
    if (cursor.acceptSymbol("(")) {
      do {
        if (cursor.expect("TYPE", "FORMAT") === "TYPE") {
          type = cursor.expect("LOGICAL", "DISTRIBUTED", "VALIDATE", "IO");
        } else {
          cursor.expect("TEXT", "GRAPHVIZ", "JSON");
        }
      } while (cursor.acceptSymbol(","));
      cursor.expectSymbol(")");
    }
    const explained = cursor.rest();
    if (!isWord(explained[0], ...QUERY_KEYWORDS, ...DML_KEYWORDS)) {
      throw notSupported("EXPLAIN of statements other than queries, INSERT, UPDATE and DELETE", explained[0]?.start);
    }
    const statement = this.#prepare(explained, session);
    if (type === "VALIDATE") return { columns: [{ name: "Valid", type: "boolean" }], rows: [[true]] };
    const plan = this.#db.prepare(`EXPLAIN QUERY PLAN ${statement.sourceSQL}`).all();
    return varcharResult(["Query Plan"], [[formatPlan(plan)]]);
  }

  /** EXPLAIN ANALYZE runs the statement (a write writes), then reports what it did. */
  #explainAnalyze(explained: Token[], sqlLength: number, session: Session, access: WriteAccess): StatementResult {
    const unsupported = dataDefinitionType(explained);
    if (unsupported)
      throw new TrinoError("NOT_SUPPORTED", `EXPLAIN ANALYZE doesn't support statement type: ${unsupported}`);
    const started = performance.now();
    const inner = this.#dispatch(new Cursor(explained, sqlLength), session, access);
    const rows = inner.updateCount ?? inner.rows.length;
    const elapsed = formatDuration(performance.now() - started);
    const plan = [
      `Queued: 0.00ms, Analysis: 0.00ms, Planning: 0.00ms, Execution: ${elapsed}`,
      "Fragment 0 [SINGLE]",
      `    CPU: ${elapsed}, Input: ${rows} rows, Output: ${rows} rows`,
      `    ${inner.updateType ?? "Output"} (local SQLite)`,
    ].join("\n");
    return { ...varcharResult(["Query Plan"], [[plan]]), wrote: inner.wrote };
  }

  #use(cursor: Cursor, session: Session): StatementResult {
    cursor.expect("USE");
    const name = cursor.name();
    cursor.expectEnd();
    const resolved = this.#resolveSchema(name, session, name.start);
    return { ...ddlResult("USE"), setCatalog: resolved.catalog, setSchema: resolved.schema };
  }

  /** `SET SESSION name = value` / `RESET SESSION name`: echoed back for the client to keep. */
  #sessionProperty(cursor: Cursor): StatementResult {
    const reset = cursor.expect("SET", "RESET") === "RESET";
    cursor.expect("SESSION");
    const name = cursor.name().parts.join(".");
    if (reset) {
      cursor.expectEnd();
      return { ...ddlResult("RESET SESSION"), resetSessionProperty: name };
    }
    cursor.expectSymbol("=");
    const value = cursor.current?.kind === "string" ? cursor.string() : render(cursor.rest());
    cursor.expectEnd();
    return { ...ddlResult("SET SESSION"), setSessionProperty: { name, value } };
  }

  #create(cursor: Cursor, session: Session): StatementResult {
    cursor.expect("CREATE");
    const replace = cursor.acceptSequence("OR", "REPLACE");
    if (!replace && cursor.accept("SCHEMA")) return this.#createSchema(cursor, session);
    if (!cursor.accept("TABLE")) {
      throw notSupported(`CREATE ${cursor.current?.text.toUpperCase() ?? ""}`, cursor.position);
    }
    const ifNotExists = cursor.acceptSequence("IF", "NOT", "EXISTS");
    const name = cursor.name();
    const table = this.#catalogs.resolveTable(resolveReference(name.parts, name.start, session));
    const definitions = cursor.acceptSymbol("(") ? cursor.parenthesized() : undefined;
    skipTableOptions(cursor);
    const query = definitions ? undefined : this.#createTableQuery(cursor);
    cursor.expectEnd();
    if (table.exists && !ifNotExists && !replace) throw tableExists(table.name, cursor.start);
    const skip = table.exists && ifNotExists;
    if (query) return skip ? rowCountResult("CREATE TABLE", 0) : this.#createTableAs(table, query, session);
    if (!skip) this.#transaction(() => this.#replaceTable(table, columnDefinitionsSql(definitions ?? [])));
    return ddlResult("CREATE TABLE");
  }

  #createTableAs(
    table: ResolvedTable,
    query: { tokens: Token[]; withData: boolean },
    session: Session,
  ): StatementResult {
    const result = this.#query(query.tokens, session);
    const unnamed = result.columns.findIndex((column) => /^_col\d+$/.test(column.name));
    if (unnamed >= 0) {
      const message = `Column name not specified at position ${unnamed + 1}`;
      throw new TrinoError("MISSING_COLUMN_NAME", message, query.tokens[0]?.start);
    }
    const rows = query.withData ? result.rows : [];
    this.#transaction(() => {
      this.#replaceTable(table, columnDefinitions(result.columns));
      const insert = this.#db.prepare(
        `INSERT INTO ${table.qualified} VALUES (${result.columns.map(() => "?").join(", ")})`,
      );
      for (const row of rows) insert.run(...row.map(toSqliteValue));
    });
    return rowCountResult("CREATE TABLE", rows.length);
  }

  /** Creates the table, first dropping an existing one (CREATE OR REPLACE). */
  #replaceTable(table: ResolvedTable, columns: string): void {
    if (table.exists) this.#db.exec(`DROP TABLE ${table.qualified}`);
    this.#db.exec(`CREATE TABLE ${table.qualified} (${columns})`);
  }

  /** `AS query [WITH [NO] DATA]`; a query may be parenthesized. */
  #createTableQuery(cursor: Cursor): { tokens: Token[]; withData: boolean } {
    cursor.expect("AS");
    let tokens = cursor.rest();
    const tail = tokens
      .slice(-3)
      .map((token) => token.text.toUpperCase())
      .join(" ");
    const withData = !tail.endsWith("WITH NO DATA");
    if (tail.endsWith("WITH NO DATA")) tokens = tokens.slice(0, -3);
    else if (tail.endsWith("WITH DATA")) tokens = tokens.slice(0, -2);
    if (isSymbol(tokens[0], "(") && matchingParen(tokens, 0) === tokens.length - 1) tokens = tokens.slice(1, -1);
    return { tokens, withData };
  }

  #createSchema(cursor: Cursor, session: Session): StatementResult {
    const ifNotExists = cursor.acceptSequence("IF", "NOT", "EXISTS");
    const { catalog, schema } = this.#schemaName(cursor.name(), session);
    skipTableOptions(cursor);
    cursor.expectEnd();
    const start = cursor.start;
    if (!this.#catalogs.hasCatalog(catalog)) throw catalogNotFound(catalog, start);
    if (catalog !== SAMPLE_CATALOG) {
      throw new TrinoError("NOT_SUPPORTED", "This connector does not support creating schemas", start);
    }
    if (this.#catalogs.hasSchema(catalog, schema)) {
      if (ifNotExists) return ddlResult("CREATE SCHEMA");
      throw new TrinoError("SCHEMA_ALREADY_EXISTS", `Schema '${catalog}.${schema}' already exists`, start);
    }
    this.#catalogs.attach(catalog, schema);
    return ddlResult("CREATE SCHEMA");
  }

  #drop(cursor: Cursor, session: Session): StatementResult {
    cursor.expect("DROP");
    const start = cursor.start;
    const kind = cursor.expect("TABLE", "SCHEMA", "VIEW", "MATERIALIZED", "ROLE", "FUNCTION");
    if (kind !== "TABLE" && kind !== "SCHEMA") throw notSupported(`DROP ${kind}`, start);
    const ifExists = cursor.acceptSequence("IF", "EXISTS");
    const name = cursor.name();
    if (kind === "SCHEMA") return this.#dropSchema(cursor, session, name, ifExists);
    cursor.expectEnd();
    const table = this.#catalogs.resolveTable(resolveReference(name.parts, name.start, session));
    if (!table.exists && !ifExists) throw tableNotFound(table.name, start);
    if (table.exists) this.#db.exec(`DROP TABLE ${table.qualified}`);
    return ddlResult("DROP TABLE");
  }

  #dropSchema(cursor: Cursor, session: Session, name: QualifiedName, ifExists: boolean): StatementResult {
    const cascade = cursor.accept("CASCADE");
    if (!cascade) cursor.accept("RESTRICT");
    cursor.expectEnd();
    const start = cursor.start;
    const { catalog, schema } = this.#schemaName(name, session);
    if (!this.#catalogs.hasSchema(catalog, schema)) {
      if (ifExists) return ddlResult("DROP SCHEMA");
      throw schemaNotFound(`${catalog}.${schema}`, start);
    }
    if (catalog !== SAMPLE_CATALOG || schema === INFORMATION_SCHEMA) {
      throw new TrinoError("NOT_SUPPORTED", "This connector does not support dropping schemas", start);
    }
    if (!cascade && this.#catalogs.tableNames(catalog, schema).length > 0) {
      throw new TrinoError("SCHEMA_NOT_EMPTY", `Cannot drop non-empty schema '${schema}'`, start);
    }
    this.#catalogs.detach(catalog, schema);
    return ddlResult("DROP SCHEMA");
  }

  /** ALTER TABLE ... RENAME TO / ADD COLUMN / DROP COLUMN / RENAME COLUMN. */
  #alter(cursor: Cursor, session: Session): StatementResult {
    cursor.expect("ALTER");
    const start = cursor.start;
    if (!cursor.accept("TABLE")) throw notSupported(`ALTER ${cursor.current?.text.toUpperCase() ?? ""}`, start);
    const ifExists = cursor.acceptSequence("IF", "EXISTS");
    const name = cursor.name();
    const table = this.#catalogs.resolveTable(resolveReference(name.parts, name.start, session));
    const action = cursor.expect("RENAME", "ADD", "DROP", "SET", "EXECUTE");
    if (action === "RENAME" && cursor.accept("TO")) return this.#renameTable(cursor, session, table, ifExists);
    if (action === "SET" || action === "EXECUTE") throw notSupported(`ALTER TABLE ... ${action}`, start);
    cursor.expect("COLUMN");
    const updateType = `${action} COLUMN`;
    if (!table.exists) {
      if (ifExists) return ddlResult(updateType);
      throw tableNotFound(table.name, start);
    }
    const rest = cursor.rest();
    const clause = action === "ADD" ? columnDefinitionsSql(rest) : render(rest);
    this.#db.exec(`ALTER TABLE ${table.qualified} ${updateType} ${clause}`);
    return ddlResult(updateType);
  }

  #renameTable(cursor: Cursor, session: Session, table: ResolvedTable, ifExists: boolean): StatementResult {
    const name = cursor.name();
    cursor.expectEnd();
    const start = cursor.start;
    const target = this.#catalogs.resolveTable(resolveReference(name.parts, name.start, session));
    if (!table.exists) {
      if (ifExists) return ddlResult("RENAME TABLE");
      throw tableNotFound(table.name, start);
    }
    if (target.catalog !== table.catalog || target.schema !== table.schema) {
      throw notSupported("Renaming a table into another schema", name.start);
    }
    if (target.exists) throw tableExists(target.name, name.start);
    this.#db.exec(`ALTER TABLE ${table.qualified} RENAME TO ${quoteIdentifier(target.table)}`);
    return ddlResult("RENAME TABLE");
  }

  #truncate(cursor: Cursor, session: Session): StatementResult {
    cursor.expect("TRUNCATE");
    cursor.expect("TABLE");
    const table = this.#existingTable(cursor.name(), session, cursor.start);
    cursor.expectEnd();
    this.#db.exec(`DELETE FROM ${table.qualified}`);
    return ddlResult("TRUNCATE TABLE");
  }

  #existingTable(name: QualifiedName, session: Session, position: number): ResolvedTable {
    const table = this.#catalogs.resolveTable(resolveReference(name.parts, position, session));
    if (!table.exists) throw tableNotFound(table.name, position);
    return table;
  }

  #resolveCatalog(name: QualifiedName | undefined, session: Session, position: number): string {
    if (name && name.parts.length > 1)
      throw new TrinoError("SYNTAX_ERROR", `Too many parts in catalog name: ${name.parts.join(".")}`, name.start);
    const catalog = name?.parts[0] ?? session.catalog;
    if (catalog === undefined) throw missingCatalog(position);
    if (!this.#catalogs.hasCatalog(catalog)) throw catalogNotFound(catalog, position);
    return catalog;
  }

  /** `[catalog.]schema`, or the session schema when no name is given; must exist. */
  #resolveSchema(
    name: QualifiedName | undefined,
    session: Session,
    position: number,
  ): { catalog: string; schema: string } {
    const resolved = name ? this.#schemaName(name, session) : { catalog: session.catalog, schema: session.schema };
    if (resolved.schema === undefined) throw missingSchema(position);
    if (resolved.catalog === undefined) throw missingCatalog(position);
    this.#catalogs.checkSchema(resolved.catalog, resolved.schema, position);
    return { catalog: resolved.catalog, schema: resolved.schema };
  }

  #schemaName(name: QualifiedName, session: Session): { catalog: string; schema: string } {
    if (name.parts.length > 2)
      throw new TrinoError("SYNTAX_ERROR", `Too many parts in schema name: ${name.parts.join(".")}`, name.start);
    const schema = name.parts[name.parts.length - 1] as string;
    const catalog = name.parts.length === 2 ? (name.parts[0] as string) : session.catalog;
    if (catalog === undefined) throw missingCatalog(name.start);
    return { catalog, schema };
  }

  #transaction(work: () => void): void {
    this.#db.exec("BEGIN");
    try {
      work();
      this.#db.exec("COMMIT");
    } catch (error) {
      this.#db.exec("ROLLBACK");
      throw error;
    }
  }
}

/** Skips `COMMENT 'text'` and `WITH (property = value, ...)` after a table or schema name. */
function skipTableOptions(cursor: Cursor): void {
  for (;;) {
    if (cursor.accept("COMMENT")) {
      cursor.string();
    } else if (isWord(cursor.current, "WITH") && isSymbol(cursor.tokens[cursor.index + 1], "(")) {
      cursor.index += 2;
      cursor.parenthesized();
    } else {
      return;
    }
  }
}

/** Trino column definitions as SQLite ones. */
const columnDefinitionsSql = (tokens: Token[]): string => splitTopLevel(tokens).map(columnDefinitionSql).join(", ");

/**
 * `name type [NOT NULL] [COMMENT '...'] [WITH (...)]` as `"name" "type" [NOT NULL]`: the
 * Trino type becomes the SQLite declared type.
 */
function columnDefinitionSql(definition: Token[]): string {
  const [name, ...rest] = definition;
  if (!name || !isIdentifier(name)) {
    const found = name?.text ?? "<EOF>";
    throw new TrinoError("SYNTAX_ERROR", `mismatched input '${found}'. Expecting: <identifier>`, name?.start);
  }
  const typeEnd = rest.findIndex(
    (token, index) => isWord(token, "NOT", "COMMENT") || (isWord(token, "WITH") && !isWord(rest[index + 1], "TIME")),
  );
  const typeTokens = typeEnd < 0 ? rest : rest.slice(0, typeEnd);
  const type = trinoTypeOf(render(typeTokens));
  if (!type) {
    const message = `Unknown type '${normalizeTypeText(render(typeTokens))}' for column '${identifierValue(name)}'`;
    throw new TrinoError("TYPE_NOT_FOUND", message, typeTokens[0]?.start ?? name.start);
  }
  const notNull = isWord(rest[typeEnd], "NOT") ? " NOT NULL" : "";
  return `${quoteIdentifier(identifierValue(name))} ${quoteIdentifier(type)}${notNull}`;
}

// ---------------------------------------------------------------------------
// Coordinator: the protocol over HTTP
// ---------------------------------------------------------------------------

const MAX_SQL_BYTES = 1_000_000;
const SPLITS_PER_QUERY = 16;
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

type Dialect = "Trino" | "Presto";

const isTerminal = (state: QueryState): boolean => state === "FINISHED" || state === "FAILED";

/** Drops the rows of a query that no client will fetch any more; the rest of its result stays. */
function releaseRows(query: LocalQuery): void {
  if (query.result) query.result = { ...query.result, rows: [] };
}

/** Units of airlift's Duration, largest first, in milliseconds. */
const DURATION_UNITS = Object.entries({ d: 86_400_000, h: 3_600_000, m: 60_000, s: 1000, ms: 1, us: 1e-3, ns: 1e-6 });

/** airlift Duration formatting, as Trino serializes durations: `12.34ms`, `1.50s`. */
function formatDuration(ms: number): string {
  const [unit, size] = DURATION_UNITS.find(([, size]) => ms >= size) ?? ["ns", 1e-6];
  return `${(ms / size).toFixed(2)}${unit}`;
}

/** A 0..1 fraction as a percentage with two decimals. */
const percent = (fraction: number): number => Math.round(fraction * 10_000) / 100;

const isoTime = (ms: number | undefined): string | undefined =>
  ms === undefined ? undefined : new Date(ms).toISOString();

const timestampText = (ms: number | undefined): string | null => (ms === undefined ? null : formatTemporal(ms, false));

/** Trino client type signature; unbounded varchar carries its maximum length like Trino does. */
function typeSignature(type: string): { rawType: string; arguments: { kind: "LONG"; value: number }[] } {
  const match = /^([a-z]+)(?:\(([\d,]+)\))?(.*)$/.exec(type);
  const rawType = `${match?.[1] ?? type}${match?.[3] ?? ""}`;
  const values = match?.[2] ? match[2].split(",").map(Number) : rawType === "varchar" ? [2_147_483_647] : [];
  return { rawType, arguments: values.map((value) => ({ kind: "LONG", value })) };
}

function firstHeader(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  const first = Array.isArray(value) ? value[0] : value;
  return first === undefined || first === "" ? undefined : first;
}

/** Trino and Presto clients send `X-Trino-*` or `X-Presto-*`; one request uses one dialect. */
function dialectOf(headers: IncomingHttpHeaders): Dialect {
  if (headers["x-trino-user"] !== undefined) return "Trino";
  if (headers["x-presto-user"] !== undefined) return "Presto";
  return Object.keys(headers).some((name) => name.startsWith("x-presto-")) ? "Presto" : "Trino";
}

const sameSecret = (a: string, b: string): boolean =>
  timingSafeEqual(createHash("sha256").update(a).digest(), createHash("sha256").update(b).digest());

function readBody(request: IncomingMessage, limit: number): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    request.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size <= limit) chunks.push(chunk);
    });
    request.on("end", () => resolve(size > limit ? undefined : Buffer.concat(chunks).toString("utf8")));
    request.on("error", reject);
  });
}

function send(response: ServerResponse, status: number, body: string, headers: Record<string, string>): void {
  if (response.headersSent || response.destroyed) return;
  response.writeHead(status, { "Content-Length": String(Buffer.byteLength(body)), ...headers });
  response.end(body);
}

const sendText = (response: ServerResponse, status: number, text: string, headers: Record<string, string> = {}): void =>
  send(response, status, text, { "Content-Type": "text/plain; charset=utf-8", ...headers });

const sendJson = (
  response: ServerResponse,
  status: number,
  value: unknown,
  headers: Record<string, string> = {},
): void =>
  send(response, status, typeof value === "string" ? value : JSON.stringify(value), {
    "Content-Type": "application/json",
    ...headers,
  });

const sendNoContent = (response: ServerResponse): void => {
  if (!response.headersSent && !response.destroyed) response.writeHead(204).end();
};

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

/** The faults described by a JSON body, or what is wrong with it. */
function validateFaults(value: unknown): PrestoFaults | string {
  if (typeof value !== "object" || value === null) return "Expected a JSON object";
  const { statusCode, delayMs, count } = value as Record<string, unknown>;
  const valid = (field: unknown, check: (number: number) => boolean): boolean =>
    field === undefined || (typeof field === "number" && check(field));
  if (!valid(statusCode, (code) => Number.isInteger(code) && code >= 100 && code <= 599)) {
    return "statusCode must be an HTTP status code";
  }
  if (!valid(delayMs, (delay) => Number.isFinite(delay) && delay >= 0)) return "delayMs must be a non-negative number";
  if (!valid(count, (n) => Number.isInteger(n) && n > 0)) return "count must be a positive integer";
  if (statusCode === undefined && delayMs === undefined) return "Set statusCode and/or delayMs";
  return { statusCode, delayMs, count } as PrestoFaults;
}

class Coordinator {
  readonly queries = new Map<string, LocalQuery>();
  readonly #settings: Settings;
  readonly #engine: SqlEngine;
  readonly #transactions: Transactions;
  readonly #coordinatorId = Array.from(randomBytes(5), (byte) => String.fromCharCode(97 + (byte % 26))).join("");
  readonly #startedAt = Date.now();
  readonly #sleepers = new Set<() => void>();
  readonly #locks = new WeakMap<LocalQuery, Promise<void>>();
  #stats = emptyStats();
  #faults: ActiveFaults | undefined;
  #queryCounter = 0;
  #closed = false;

  constructor(options: PrestoUpstreamOptions) {
    this.#settings = {
      password: options.password,
      queuedPolls: options.queuedPolls ?? 1,
      runningPolls: options.runningPolls ?? 2,
      pageSize: Math.max(1, options.pageSize ?? 1000),
      pollDelayMs: options.pollDelayMs ?? 0,
      maxQueries: Math.max(1, options.maxQueries ?? 1000),
      queryRetentionMs: options.queryRetentionMs ?? 5 * 60_000,
    };
    this.#engine = new SqlEngine({
      seed: options.seed ?? DEFAULT_SAMPLE_SEED,
      maxResultRows: options.maxResultRows ?? 1_000_000,
      runtimeQueries: () => this.#runtimeQueryRows(),
    });
    this.#transactions = new Transactions({
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

  close(): void {
    this.#closed = true;
    for (const wake of this.#sleepers) wake();
    this.#engine.close();
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
    if (path === "/v1/info" && method === "GET") return sendJson(response, 200, this.#info());
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
        this.#stats.lastQueryRequests.push({ method: method as "GET" | "DELETE", queryId: found.id, user });
        if (this.#stats.lastQueryRequests.length > LAST_STATEMENTS) this.#stats.lastQueryRequests.shift();
      }
      if (method === "DELETE") {
        this.#cancel(found);
        return sendNoContent(response);
      }
      if (statement) return this.#poll(response, found, Number(statement[3]), base, dialectOf(request.headers));
      return sendJson(response, 200, this.#queryInfo(found, base));
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
      this.#execute(query);
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

  #execute(query: LocalQuery): void {
    query.state = "RUNNING";
    query.startedAt = Date.now();
    const started = performance.now();
    try {
      query.result = this.#run(query);
      query.rowCount = query.result.rows.length;
      query.processedBytes = Buffer.byteLength(JSON.stringify(query.result.rows));
      if (query.result.wrote) this.#recordWrite(query.sql);
    } catch (error) {
      this.#fail(query, toQueryError(error, query.sql));
    }
    query.cpuMillis = performance.now() - started;
  }

  /** Transaction statements are the protocol's own; every other statement goes to the engine. */
  #run(query: LocalQuery): StatementResult {
    const { transactionId } = query.session;
    const control = transactionControl(tokenize(query.sql));
    if (control) {
      // Like Trino's data-definition tasks: done as soon as it leaves the queue, no RUNNING polls.
      query.runningPollsLeft = 0;
      const header = { transactionId, clientSupport: query.clientTransactionSupport };
      return ddlResult(this.#transactions.control(control, header, query.transactionDirective));
    }
    return this.#engine.execute(query.sql, query.session, this.#transactions.accessFor(transactionId));
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
    this.#stats.canceled++;
  }

  #respond(
    response: ServerResponse,
    query: LocalQuery,
    base: string,
    dialect: Dialect,
    page: unknown[][] | undefined,
  ): void {
    const body = JSON.stringify(this.#queryResults(query, base, page));
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

  #queryResults(query: LocalQuery, base: string, page: unknown[][] | undefined): Record<string, unknown> {
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
      stats: this.#queryStats(query),
      error: query.error,
      warnings: [],
      updateType: query.error ? undefined : query.result?.updateType,
      updateCount: query.error ? undefined : query.result?.updateCount,
    };
  }

  /** 0..1: RUNNING polls and delivered data pages each advance the progress. */
  #progress(query: LocalQuery): number {
    if (query.state === "FINISHED") return 1;
    if (!query.result) return 0;
    const delivered = query.rowCount > 0 ? query.rowsSent / query.rowCount : 0;
    return (query.runningPollsDone + delivered) / (this.#settings.runningPolls + 1);
  }

  #queryStats(query: LocalQuery): Record<string, unknown> {
    const now = Date.now();
    const progress = this.#progress(query);
    const totalSplits = query.result ? SPLITS_PER_QUERY : 0;
    const completedSplits = Math.round(totalSplits * progress);
    const runningSplits = query.state === "RUNNING" ? Math.min(4, totalSplits - completedSplits) : 0;
    const queuedSplits = query.state === "RUNNING" ? totalSplits - completedSplits - runningSplits : 0;
    const started = query.startedAt ?? now;
    const ended = query.endedAt ?? now;
    return {
      state: query.state,
      queued: query.state === "QUEUED",
      scheduled: query.result !== undefined,
      progressPercentage: percent(progress),
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

  #queryInfo(query: LocalQuery, base: string): Record<string, unknown> {
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
        progressPercentage: percent(this.#progress(query)),
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

  #info(): Record<string, unknown> {
    return {
      nodeVersion: { version: "local-439" },
      environment: "local",
      coordinator: true,
      starting: false,
      uptime: formatDuration(Date.now() - this.#startedAt),
    };
  }

  #runtimeQueryRows(): SQLInputValue[][] {
    return [...this.queries.values()].map((query) => [
      query.id,
      query.state,
      query.session.user,
      query.session.source ?? null,
      query.sql,
      (query.startedAt ?? Date.now()) - query.createdAt,
      timestampText(query.createdAt),
      timestampText(query.startedAt),
      timestampText(query.endedAt),
      query.error?.errorType ?? null,
      query.error?.errorName ?? null,
    ]);
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

// ---------------------------------------------------------------------------
// CLI
// ---------------------------------------------------------------------------

function argument(args: string[], name: string): string | undefined {
  const index = args.indexOf(name);
  return index >= 0 ? args[index + 1] : undefined;
}

async function main(args: string[]): Promise<void> {
  const upstream = await startPrestoUpstream({
    port: Number(argument(args, "--port") ?? 8090),
    host: argument(args, "--host") ?? "127.0.0.1",
    password: argument(args, "--password"),
  });
  console.log(`Local Presto/Trino coordinator listening on ${upstream.url}`);
  const stop = (): void => {
    upstream.close().then(() => process.exit(0));
  };
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
}

if (process.argv[1] === import.meta.filename) {
  main(process.argv.slice(2)).catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
}
