/**
 * A local Presto/Trino-compatible coordinator for local runs and tests.
 *
 * It speaks the Trino client REST protocol (presto.coordinator.ts) over real HTTP in front of an
 * embedded DuckDB (presto.duckdb.ts), whose dialect is close to Trino's, holding the
 * deterministic sample data of presto.sample-data.ts in the catalogs `hive` and `system` as Trino
 * shows them. Read-only transactions are DuckDB read-only transactions: the engine itself
 * refuses their writes.
 *
 * Besides the protocol it offers test controls that real Trino lacks: `/_local/faults` (make
 * requests fail or stall) and `/_local/stats` (what SQL reached the coordinator, what wrote).
 *
 * Run directly: `node local/presto.upstream.ts [--port 8090] [--host 127.0.0.1] [--password secret]`
 * (Node 22 from the npm scripts: `npm exec -- node local/presto.upstream.ts`).
 */
import { createServer } from "node:http";
import { Coordinator } from "./presto.coordinator.ts";
import { startDuckDbEngine } from "./presto.duckdb.ts";
import type { PrestoFaults } from "./presto.http.ts";
import type { LocalQuery } from "./presto.query.ts";
import { DEFAULT_SAMPLE_SEED } from "./presto.sample-data.ts";
import type { TransactionStats } from "./presto.transactions.ts";

export type { Column, Session, StatementResult } from "./presto.engine.ts";
export type { ErrorLocation, QueryError } from "./presto.errors.ts";
export type { PrestoFaults } from "./presto.http.ts";
export type { LocalQuery, QueryState } from "./presto.query.ts";

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
  /** Statements the engine ran that changed data or schema (an EXPLAIN ANALYZE of a write counts: it runs it). */
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
  let coordinator: Coordinator | undefined;
  const engine = await startDuckDbEngine({
    seed: options.seed ?? DEFAULT_SAMPLE_SEED,
    maxResultRows: options.maxResultRows ?? 1_000_000,
    runtimeQueries: () => coordinator?.runtimeQueries() ?? [],
  });
  const running = new Coordinator(options, engine);
  coordinator = running;
  const server = createServer((request, response) => running.handle(request, response));
  const host = options.host ?? "127.0.0.1";
  try {
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(options.port ?? 0, host, () => resolve());
    });
  } catch (error) {
    await running.close();
    throw error;
  }
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : (options.port ?? 0);
  return {
    url: `http://${host.includes(":") ? `[${host}]` : host}:${port}`,
    port,
    queries: running.queries,
    stats: () => running.stats(),
    resetStats: () => running.resetStats(),
    setFaults: (faults) => running.setFaults(faults),
    clearFaults: () => running.clearFaults(),
    close: async () => {
      const stopped = running.close(); // wakes stalled requests first
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await Promise.all([closed, stopped]);
    },
  };
}

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
