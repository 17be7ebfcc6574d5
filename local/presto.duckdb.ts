/**
 * The local coordinator's engine: DuckDB (`@duckdb/node-api`, in memory), whose dialect is close
 * to Trino's, so statements go to it as the client wrote them (presto.duckdb.sql.ts adjusts
 * comments, `U&'…'` literals and two reserved names). The sample data and catalogs are set up in
 * presto.duckdb.catalogs.ts; types, values and errors are mapped to Trino's in
 * presto.duckdb.types.ts and presto.duckdb.errors.ts.
 *
 * Read-only is DuckDB's own: every Trino transaction is a DuckDB connection inside
 * `BEGIN TRANSACTION READ ONLY`, so DuckDB refuses any write in it however the SQL is dressed up
 * (a read-write Trino transaction is one too: Hive writes only in autocommit). What a read-only
 * DuckDB transaction still allows (ATTACH/DETACH, SET, PRAGMA, CHECKPOINT, COPY, extensions) are
 * DuckDB statements with no Trino equivalent: the engine runs only the statement types Trino has
 * (DuckDB's own classification of the prepared statement), and the instance has no file access
 * and a locked configuration. DuckDB also lets a read-only transaction write its connection's
 * temp catalog (`CREATE TEMP TABLE …`, not Trino SQL): that is refused, and a transaction's
 * connection is closed when it ends, so nothing left in it outlives the transaction.
 */
import {
  type DuckDBConnection,
  DuckDBInstance,
  type DuckDBResultReader,
  type DuckDBType,
  StatementType,
} from "@duckdb/node-api";
import { createCatalogs, FUNCTIONS_SCHEMA, INSTANCE_CONFIG } from "./presto.duckdb.catalogs.ts";
import { type ErrorContext, trinoError } from "./presto.duckdb.errors.ts";
import { type DuckDbSql, duckDbCatalog, duckDbSchema, duckDbSql, quoted, trinoCatalog } from "./presto.duckdb.sql.ts";
import { trinoTypeName, trinoValue } from "./presto.duckdb.types.ts";
import type {
  EngineTransaction,
  ExecuteOptions,
  PrestoEngine,
  RuntimeQuery,
  Session,
  StatementResult,
  TransactionMode,
} from "./presto.engine.ts";
import { TrinoError } from "./presto.errors.ts";
import { Cursor, isSymbol, isWord, type Token, tokenize } from "./presto.lexer.ts";
import {
  ddlResult,
  describe,
  explainOptions,
  type Metadata,
  notSupported,
  sessionProperty,
  show,
  updateTypeOf,
  use,
  varcharResult,
} from "./presto.statements.ts";

export interface DuckDbEngineOptions {
  seed: number;
  /** A statement producing more rows fails (results are held in memory). */
  maxResultRows: number;
  /** Rows of system.runtime.queries. */
  runtimeQueries: () => RuntimeQuery[];
}

/**
 * The statement types DuckDB may run: those Trino has; all but SELECT and EXPLAIN write. MERGE is
 * refused as Hive refuses it for plain tables.
 */
const RUNNABLE = new Set([
  StatementType.SELECT,
  StatementType.INSERT,
  StatementType.UPDATE,
  StatementType.DELETE,
  StatementType.CREATE,
  StatementType.ALTER,
  StatementType.DROP,
  StatementType.EXPLAIN,
]);
/** Trino statements the local coordinator does not implement (DuckDB would read some of them its own way). */
const NOT_IMPLEMENTED = new Set("PREPARE EXECUTE DEALLOCATE GRANT REVOKE DENY REFRESH ANALYZE".split(" "));
/** Operators of DuckDB's profile that change data: an EXPLAIN ANALYZE of a write writes. */
const WRITING_OPERATOR = /INSERT|DELETE|UPDATE|CREATE_TABLE_AS|MERGE/;
const IDLE_CONNECTIONS = 8;

export async function startDuckDbEngine(options: DuckDbEngineOptions): Promise<PrestoEngine> {
  const instance = await DuckDBInstance.create(":memory:", INSTANCE_CONFIG);
  const setup = await instance.connect();
  try {
    await createCatalogs(setup, options);
  } finally {
    setup.closeSync();
  }
  return new DuckDbEngine(instance, options.maxResultRows);
}

/** A DuckDB connection, with the search path it was last given; statements on it run one at a time. */
class Link {
  readonly connection: DuckDBConnection;
  path: string | undefined;
  #queue: Promise<unknown> = Promise.resolve();

  constructor(connection: DuckDBConnection) {
    this.connection = connection;
  }

  serially<T>(work: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(work, work);
    this.#queue = run.catch(() => undefined);
    return run;
  }
}

class DuckDbTransaction implements EngineTransaction {
  readonly mode: TransactionMode;
  readonly link: Link;
  ended = false;

  constructor(mode: TransactionMode, link: Link) {
    this.mode = mode;
    this.link = link;
  }
}

interface Statement {
  sql: string;
  tokens: Token[];
  session: Session;
  mode?: TransactionMode;
  signal?: AbortSignal;
}

class DuckDbEngine implements PrestoEngine {
  readonly #instance: DuckDBInstance;
  readonly #maxResultRows: number;
  readonly #idle: Link[] = [];
  readonly #transactions = new Set<DuckDbTransaction>();
  #closed = false;

  constructor(instance: DuckDBInstance, maxResultRows: number) {
    this.#instance = instance;
    this.#maxResultRows = maxResultRows;
  }

  async begin(mode: TransactionMode): Promise<EngineTransaction> {
    const link = await this.#acquire();
    try {
      await link.connection.run("BEGIN TRANSACTION READ ONLY");
    } catch (error) {
      this.#release(link, false);
      throw error;
    }
    const transaction = new DuckDbTransaction(mode, link);
    this.#transactions.add(transaction);
    return transaction;
  }

  async end(transaction: EngineTransaction, commit: boolean): Promise<void> {
    const own = transaction as DuckDbTransaction;
    if (own.ended) return;
    own.ended = true;
    this.#transactions.delete(own);
    try {
      await own.link.serially(() => own.link.connection.run(commit ? "COMMIT" : "ROLLBACK"));
    } finally {
      // Never used again: what the transaction left in the connection's own temp catalog goes with it.
      this.#release(own.link, false);
    }
  }

  async close(): Promise<void> {
    this.#closed = true;
    for (const transaction of this.#transactions) await this.end(transaction, false).catch(() => undefined);
    for (const link of this.#idle.splice(0)) link.connection.closeSync();
    this.#instance.closeSync();
  }

  async execute(sql: string, session: Session, options: ExecuteOptions = {}): Promise<StatementResult> {
    const tokens = tokenize(sql);
    const semicolon = tokens.find((token) => isSymbol(token, ";"));
    if (semicolon) throw new TrinoError("SYNTAX_ERROR", "mismatched input ';'. Expecting: <EOF>", semicolon.start);
    if (tokens.length === 0) throw new TrinoError("SYNTAX_ERROR", "mismatched input '<EOF>'", sql.length);
    const statement = { sql, tokens, session, mode: options.transaction?.mode, signal: options.signal };
    const cursor = new Cursor(tokens, sql.length);
    const keyword = (tokens[0] as Token).text.toUpperCase();
    if (keyword === "SET" || keyword === "RESET") return sessionProperty(cursor);
    if (keyword === "CALL") {
      if (options.transaction) {
        throw new TrinoError("NOT_SUPPORTED", "Procedures cannot be called within a transaction (use autocommit mode)");
      }
      throw notSupported("CALL", cursor.start);
    }
    if (NOT_IMPLEMENTED.has(keyword)) throw notSupported(keyword, cursor.start);
    const temporary = temporaryObject(tokens);
    if (temporary) throw new TrinoError("SYNTAX_ERROR", `mismatched input '${temporary.text}'`, temporary.start);
    return this.#withLink(options.transaction, async (link) => {
      await this.#useSession(link, session);
      const metadata = this.#metadata(link);
      switch (keyword) {
        case "USE":
          return use(cursor, session, metadata);
        case "SHOW":
          return show(cursor, session, metadata);
        case "DESCRIBE":
        case "DESC":
          return describe(cursor, session, metadata);
        case "EXPLAIN":
          return this.#explain(link, cursor, statement);
        default:
          return this.#run(link, duckDbSql(sql, tokens), statement);
      }
    });
  }

  async #withLink<T>(transaction: EngineTransaction | undefined, work: (link: Link) => Promise<T>): Promise<T> {
    if (transaction) {
      const own = transaction as DuckDbTransaction;
      if (own.ended) throw new TrinoError("UNKNOWN_TRANSACTION", "The transaction has ended");
      return own.link.serially(() => work(own.link));
    }
    const link = await this.#acquire();
    try {
      return await work(link);
    } finally {
      this.#release(link, true);
    }
  }

  async #acquire(): Promise<Link> {
    return this.#idle.pop() ?? new Link(await this.#instance.connect());
  }

  #release(link: Link, reusable: boolean): void {
    if (reusable && !this.#closed && this.#idle.length < IDLE_CONNECTIONS) this.#idle.push(link);
    else link.connection.closeSync();
  }

  /** Unqualified names resolve in the session's catalog and schema, and functions in the macros' schema too. */
  async #useSession(link: Link, session: Session): Promise<void> {
    const catalog = session.catalog === undefined ? undefined : quoted(duckDbCatalog(session.catalog));
    const schema = session.schema === undefined ? "main" : quoted(duckDbSchema(session.schema));
    const path = catalog ? `${catalog}.${schema}` : FUNCTIONS_SCHEMA;
    if (link.path === path) return;
    const searchPath = `${path},${FUNCTIONS_SCHEMA}`.replaceAll("'", "''");
    try {
      await link.connection.run(`USE ${path}; SET search_path = '${searchPath}'`);
      link.path = path;
    } catch {
      // An unknown session catalog or schema: names that need it fail to resolve, as in Trino.
      await link.connection.run(`USE ${FUNCTIONS_SCHEMA}; SET search_path = '${FUNCTIONS_SCHEMA}'`);
      link.path = FUNCTIONS_SCHEMA;
    }
  }

  /** Runs one statement in DuckDB and answers as Trino does. */
  async #run(link: Link, sql: DuckDbSql, statement: Statement): Promise<StatementResult> {
    const context = errorContext(sql, statement);
    try {
      const prepared = await link.connection.prepare(sql.text);
      try {
        const type = prepared.statementType;
        if (type === StatementType.MERGE_INTO) {
          throw new TrinoError("NOT_SUPPORTED", "Hive merge is only supported for transactional tables");
        }
        if (!RUNNABLE.has(type)) throw notSupported(`${StatementType[type]} (a DuckDB statement)`, 0);
        const reader = await this.#interruptible(link, statement.signal, () =>
          prepared.runAndReadUntil(this.#maxResultRows + 1),
        );
        return await this.#answer(link, sql, statement, type, reader);
      } finally {
        prepared.destroySync();
      }
    } catch (error) {
      throw trinoError(error, context);
    }
  }

  async #answer(
    link: Link,
    sql: DuckDbSql,
    statement: Statement,
    type: StatementType,
    reader: DuckDBResultReader,
  ): Promise<StatementResult> {
    if (reader.currentRowCount > this.#maxResultRows) {
      throw new TrinoError(
        "EXCEEDED_LOCAL_MEMORY_LIMIT",
        `Query exceeded the local coordinator's limit of ${this.#maxResultRows} result rows`,
      );
    }
    if (type === StatementType.SELECT || type === StatementType.EXPLAIN) {
      const types = reader.columnTypes();
      const names = await columnNames(link, sql, reader.columnNames());
      return {
        columns: names.map((name, index) => ({ name, type: trinoTypeName(String(types[index])) })),
        rows: reader.getRows().map((row) => row.map((value, index) => trinoValue(value, types[index] as DuckDBType))),
      };
    }
    const updateType = updateTypeOf(statement.tokens, StatementType[type]);
    const count = reader.getRows()[0]?.[0];
    const counted = type !== StatementType.CREATE || count !== undefined;
    if (type === StatementType.DROP || type === StatementType.ALTER || !counted || updateType === "TRUNCATE TABLE") {
      return { ...ddlResult(updateType), wrote: true };
    }
    const rows = Number(count ?? 0);
    return { columns: [{ name: "rows", type: "bigint" }], rows: [[rows]], updateType, updateCount: rows, wrote: true };
  }

  /** EXPLAIN: DuckDB's plan; EXPLAIN ANALYZE runs the statement (a write writes) and reports DuckDB's profile. */
  async #explain(link: Link, cursor: Cursor, statement: Statement): Promise<StatementResult> {
    const options = explainOptions(cursor);
    const from = (options.statement[0] as Token).start;
    const format = options.format === "TEXT" ? "" : ` (FORMAT ${options.format.toLowerCase()})`;
    const prefix = options.analyze ? "EXPLAIN (ANALYZE, FORMAT json) " : `EXPLAIN${format} `;
    const sql = duckDbSql(statement.sql, statement.tokens, from, options.type === "VALIDATE" ? "" : prefix);
    const context = errorContext(sql, statement);
    if (options.type === "VALIDATE") {
      try {
        (await link.connection.prepare(sql.text)).destroySync();
      } catch (error) {
        throw trinoError(error, context);
      }
      return { columns: [{ name: "Valid", type: "boolean" }], rows: [[true]] };
    }
    const result = await this.#run(link, sql, statement);
    const plan = String((result.rows[0] as unknown[] | undefined)?.[1] ?? "");
    if (!options.analyze) return varcharResult(["Query Plan"], [[plan.trim()]]);
    const profile = formatProfile(JSON.parse(plan));
    return { ...varcharResult(["Query Plan"], [[profile.text]]), wrote: profile.wrote };
  }

  async #interruptible<T>(link: Link, signal: AbortSignal | undefined, work: () => Promise<T>): Promise<T> {
    const interrupt = () => link.connection.interrupt();
    signal?.addEventListener("abort", interrupt, { once: true });
    try {
      if (signal?.aborted) throw new TrinoError("USER_CANCELED", "Query was canceled");
      return await work();
    } finally {
      signal?.removeEventListener("abort", interrupt);
    }
  }

  /** Catalogs, schemas, tables and columns from the information_schema views, on the statement's connection. */
  #metadata(link: Link): Metadata {
    const strings = async (sql: string, values: string[] = []): Promise<string[][]> =>
      (await link.connection.runAndReadAll(sql, values)).getRows().map((row) => row.map(String));
    const view = (catalog: string, table: string) =>
      `${quoted(duckDbCatalog(catalog))}.trino_information_schema.${table}`;
    const catalogs = async () =>
      (await strings("SELECT database_name FROM duckdb_databases() WHERE NOT internal AND database_name <> 'memory'"))
        .map(([name]) => trinoCatalog(name as string))
        .sort();
    return {
      catalogs,
      schemas: async (catalog) =>
        (await strings(`SELECT schema_name FROM ${view(catalog, "schemata")} ORDER BY 1`)).map(
          ([name]) => name as string,
        ),
      tables: async (catalog, schema) =>
        (
          await strings(`SELECT table_name FROM ${view(catalog, "tables")} WHERE table_schema = $1 ORDER BY 1`, [
            schema,
          ])
        ).map(([name]) => name as string),
      columns: async (catalog, schema, table) =>
        (
          await strings(
            `SELECT column_name, data_type FROM ${view(catalog, "columns")} WHERE table_schema = $1 AND table_name = $2 ORDER BY ordinal_position`,
            [schema, table],
          )
        ).map(([name, type]) => ({ name: name as string, type: type as string })),
    };
  }
}

/**
 * `CREATE [OR REPLACE] TEMP|TEMPORARY|LOCAL|GLOBAL …` anywhere in the statement (under EXPLAIN
 * ANALYZE too): not Trino SQL, and the one write DuckDB allows in a read-only transaction (its
 * connection's temp catalog).
 */
function temporaryObject(tokens: Token[]): Token | undefined {
  for (let index = 0; index < tokens.length; index++) {
    if (!isWord(tokens[index], "CREATE")) continue;
    let next = index + 1;
    while (isWord(tokens[next], "OR", "REPLACE")) next++;
    if (isWord(tokens[next], "TEMP", "TEMPORARY", "LOCAL", "GLOBAL")) return tokens[next];
  }
  return undefined;
}

function errorContext(sql: DuckDbSql, statement: Statement): ErrorContext {
  return {
    sql,
    tokens: statement.tokens,
    sqlLength: statement.sql.length,
    session: statement.session,
    mode: statement.mode,
  };
}

const SIMPLE_NAME = /^[\p{L}_][\p{L}\p{N}_]*$/u;
const LITERAL_NAME = /^(?:null|true|false)$/i;

interface SelectNode {
  type: string;
  left?: SelectNode;
  select_list?: { class: string; alias: string }[];
  from_table?: { type: string };
}

/**
 * Trino's names for the result columns: an alias or a column's own name, else `_col<index>`.
 * DuckDB names an unaliased expression by its text, so when a name is not a plain identifier
 * DuckDB's own parse of the query (json_serialize_sql) says which columns are expressions.
 */
async function columnNames(link: Link, sql: DuckDbSql, names: string[]): Promise<string[]> {
  if (names.every((name) => SIMPLE_NAME.test(name) && !LITERAL_NAME.test(name))) return names;
  const key = `${sql.text}\u0000${names.join("\u0000")}`;
  const known = COLUMN_NAMES.get(key);
  if (known) return known;
  const parsed = (
    await link.connection.runAndReadAll("SELECT json_serialize_sql(CAST($1 AS VARCHAR))", [sql.text])
  ).getRows()[0]?.[0];
  const tree = JSON.parse(String(parsed)) as { error?: boolean; statements?: { node: SelectNode }[] };
  const result = trinoColumnNames(tree.error ? undefined : tree.statements?.[0]?.node, names);
  if (COLUMN_NAMES.size >= 500) COLUMN_NAMES.delete(COLUMN_NAMES.keys().next().value as string);
  COLUMN_NAMES.set(key, result);
  return result;
}

/** Column names of recent queries, by DuckDB text and DuckDB's names: a repeated query is not parsed again. */
const COLUMN_NAMES = new Map<string, string[]>();

function trinoColumnNames(tree: SelectNode | undefined, names: string[]): string[] {
  let node = tree;
  while (node?.type === "SET_OPERATION_NODE") node = node.left;
  const list = node?.select_list;
  const stars = list?.filter((item) => item.class === "STAR").length ?? 0;
  if (!list || stars > 1) return names;
  const starWidth = names.length - (list.length - stars);
  const out: string[] = [];
  for (const item of list) {
    const width = item.class === "STAR" ? starWidth : 1;
    for (let k = 0; k < width; k++) {
      const index = out.length;
      const named = item.alias !== "" || item.class === "COLUMN_REF";
      const values = item.class === "STAR" && node?.from_table?.type === "EXPRESSION_LIST";
      out.push(values || !(named || item.class === "STAR") ? `_col${index}` : (names[index] ?? `_col${index}`));
    }
  }
  return out.length === names.length ? out : names;
}

interface ProfileNode {
  operator_type?: string;
  operator_cardinality?: number;
  operator_timing?: number;
  extra_info?: Record<string, unknown>;
  latency?: number;
  children?: ProfileNode[];
}

/** DuckDB's EXPLAIN ANALYZE profile as a text plan, and whether an operator wrote. */
function formatProfile(root: ProfileNode): { text: string; wrote: boolean } {
  const lines = [`Local DuckDB plan (EXPLAIN ANALYZE), ${milliseconds(root.latency ?? 0)} in total`];
  let wrote = false;
  const walk = (node: ProfileNode, depth: number) => {
    const type = node.operator_type ?? "";
    wrote ||= WRITING_OPERATOR.test(type);
    const table = node.extra_info?.Table ? ` (${String(node.extra_info.Table)})` : "";
    const rows = node.operator_cardinality ?? 0;
    const shown = type !== "EXPLAIN_ANALYZE" && type !== "";
    if (shown) {
      const input = (node.children ?? []).reduce((sum, child) => sum + (child.operator_cardinality ?? 0), 0);
      const counts = `${node.children?.length ? `Input: ${rowCount(input)}, ` : ""}Output: ${rowCount(rows)}`;
      lines.push(`${"    ".repeat(depth)}- ${type}${table}: ${counts}, ${milliseconds(node.operator_timing ?? 0)}`);
    }
    for (const child of node.children ?? []) walk(child, shown ? depth + 1 : depth);
  };
  walk(root, 0);
  return { text: lines.join("\n"), wrote };
}

const milliseconds = (seconds: number): string => `${(seconds * 1000).toFixed(2)}ms`;
const rowCount = (rows: number): string => `${rows} ${rows === 1 ? "row" : "rows"}`;
