/**
 * The engine interface of the local Presto/Trino coordinator: what the protocol server
 * (presto.coordinator.ts) asks of the SQL engine behind it. The protocol side owns HTTP, query
 * states, paging, stats and the transaction protocol (presto.transactions.ts); the engine runs one
 * statement at a time, in autocommit or inside a transaction it opened, and refuses what the
 * transaction does not allow itself (the DuckDB engine: presto.duckdb.ts).
 */

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
  /** Trino type name, e.g. `bigint`, `varchar`, `timestamp(3)`, `array(varchar)`. */
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
  /** The engine changed data or schema (counted in /_local/stats `writes`). */
  wrote?: boolean;
}

/**
 * How an explicit transaction may write. Trino's Hive connector writes only in autocommit, so a
 * `read-write` transaction refuses writes too, with another error (AUTOCOMMIT_WRITE_CONFLICT).
 */
export type TransactionMode = "read-only" | "read-write";

/** An engine transaction, opened at START TRANSACTION and ended at COMMIT, ROLLBACK or expiry. */
export interface EngineTransaction {
  readonly mode: TransactionMode;
}

export interface ExecuteOptions {
  /** The transaction to run in; autocommit without one. */
  transaction?: EngineTransaction;
  /** Aborted when the query is canceled: the engine stops the statement. */
  signal?: AbortSignal;
}

export interface PrestoEngine {
  /** Runs one statement; throws TrinoError (presto.errors.ts). */
  execute(sql: string, session: Session, options?: ExecuteOptions): Promise<StatementResult>;
  begin(mode: TransactionMode): Promise<EngineTransaction>;
  /** Commits, or rolls back when `commit` is false; a transaction ends once, later calls do nothing. */
  end(transaction: EngineTransaction, commit: boolean): Promise<void>;
  close(): Promise<void>;
}

/** A row of system.runtime.queries, which the engine reads from the protocol side when queried. */
export interface RuntimeQuery {
  queryId: string;
  state: string;
  user: string;
  source: string | null;
  query: string;
  queuedTimeMs: number;
  created: number;
  started: number | null;
  ended: number | null;
  errorType: string | null;
  errorCode: string | null;
}
