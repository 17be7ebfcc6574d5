/**
 * A minimal Trino protocol client for tests of the local coordinator: POST a statement, follow
 * `nextUri`, keep every response's headers (real clients read session and transaction headers
 * from each one), and run a statement inside a read-only transaction as the Presto server does.
 */

// biome-ignore lint/suspicious/noExplicitAny: protocol responses are checked field by field.
export type Json = any;

export interface Run {
  responses: Json[];
  rows: unknown[][];
  columns: Json[] | undefined;
  final: Json;
  /** Headers of the last response. */
  headers: Headers;
  /** The last value a response gave for `name` (e.g. `x-trino-started-transaction-id`). */
  header(name: string): string | null;
}

export const TRINO_SESSION = { "X-Trino-User": "alice", "X-Trino-Catalog": "hive", "X-Trino-Schema": "sales" };

/** Submits a statement and follows nextUri until the query is done, like a Trino client. */
export async function run(url: string, sql: string, headers: Record<string, string> = TRINO_SESSION): Promise<Run> {
  const posted = await fetch(`${url}/v1/statement`, { method: "POST", body: sql, headers });
  if (posted.status !== 200) throw new Error(`POST /v1/statement: ${posted.status} ${await posted.text()}`);
  const allHeaders = [posted.headers];
  let body: Json = await posted.json();
  const responses = [body];
  const rows: unknown[][] = [];
  let columns: Json[] | undefined;
  while (body.nextUri) {
    const response = await fetch(body.nextUri, { headers });
    if (response.status !== 200) throw new Error(`GET nextUri: ${response.status} ${await response.text()}`);
    allHeaders.push(response.headers);
    body = await response.json();
    responses.push(body);
    columns = body.columns ?? columns;
    rows.push(...(body.data ?? []));
  }
  const header = (name: string): string | null =>
    allHeaders.reduce<string | null>((last, each) => each.get(name) ?? last, null);
  return { responses, rows, columns, final: body, headers: allHeaders[allHeaders.length - 1] as Headers, header };
}

/** START TRANSACTION READ ONLY, the statement with the transaction's id, then ROLLBACK. */
export async function runReadOnly(
  url: string,
  sql: string,
  headers: Record<string, string> = TRINO_SESSION,
): Promise<{ start: Run; statement: Run; end: Run }> {
  const prefix = Object.keys(headers).some((name) => name.toLowerCase().startsWith("x-presto-"))
    ? "X-Presto"
    : "X-Trino";
  const start = await run(url, "START TRANSACTION READ ONLY", { ...headers, [`${prefix}-Transaction-Id`]: "NONE" });
  const id = start.header(`${prefix}-Started-Transaction-Id`);
  if (!id) throw new Error(`START TRANSACTION gave no transaction id: ${JSON.stringify(start.final.error)}`);
  const inTransaction = { ...headers, [`${prefix}-Transaction-Id`]: id };
  const statement = await run(url, sql, inTransaction);
  const end = await run(url, "ROLLBACK", inTransaction);
  return { start, statement, end };
}
