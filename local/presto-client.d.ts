/** The parts of the untyped `presto-client` package (npm) the coordinator's tests use. */
declare module "presto-client" {
  export interface ClientOptions {
    host?: string;
    port?: number;
    user?: string;
    catalog?: string;
    schema?: string;
    source?: string;
    /** Milliseconds between polls of a query that has no data yet (default 800). */
    checkInterval?: number;
    /** Header family: `presto` (X-Presto-*, the default) or `trino` (X-Trino-*). */
    engine?: "presto" | "trino";
    basic_auth?: { user: string; password: string };
  }

  export interface Column {
    name: string;
    type: string;
  }

  export interface ExecuteOptions {
    query: string;
    catalog?: string;
    schema?: string;
    user?: string;
    headers?: Record<string, string>;
    state?: (error: unknown, queryId: string, stats: { state: string }) => void;
    columns?: (error: unknown, columns: Column[]) => void;
    data?: (error: unknown, rows: unknown[][], columns: Column[], stats: { state: string }) => void;
    success?: (error: unknown, stats: { state: string }) => void;
    /** Gets the query's `error` from the coordinator as is (or a client failure with a message). */
    error?: (error: { message: string } & Record<string, unknown>) => void;
  }

  export class Client {
    constructor(options: ClientOptions);
    execute(options: ExecuteOptions): void;
  }

  const presto: { Client: typeof Client };
  export default presto;
}
