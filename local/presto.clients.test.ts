/**
 * Independent Trino clients against the local coordinator: trinodb's `trino-client` and the
 * `presto-client` package (in both its header dialects), as they come from npm — paging through
 * many pages, an error with its position, the types and encoding of a row with an array, a map,
 * a row, a timestamp and a decimal, Basic auth.
 * Run: `npm exec -- node --test local/presto.clients.test.ts`
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import presto, { type Column, type ExecuteOptions } from "presto-client";
import { BasicAuth, type QueryResult, Trino } from "trino-client";
import type { PrestoUpstream } from "./presto.upstream.ts";
import { startPrestoUpstream } from "./presto.upstream.ts";

let upstream: PrestoUpstream;
before(async () => {
  upstream = await startPrestoUpstream({ pageSize: 500, password: "s3cret" });
});
after(() => upstream.close());

const trino = () =>
  Trino.create({ server: upstream.url, catalog: "hive", schema: "sales", auth: new BasicAuth("alice", "s3cret") });

async function pagesOf(sql: string): Promise<QueryResult[]> {
  const pages: QueryResult[] = [];
  for await (const page of await trino().query(sql)) pages.push(page);
  return pages;
}

interface Execution {
  columns?: Column[];
  rows: unknown[][];
  pages: number;
  states: string[];
  error?: { message: string } & Record<string, unknown>;
}

/** Runs a statement with presto-client and collects what its callbacks report. */
function execute(options: Omit<ExecuteOptions, "query">, sql: string, engine?: "presto" | "trino"): Promise<Execution> {
  const client = new presto.Client({
    host: "127.0.0.1",
    port: upstream.port,
    user: "bob",
    catalog: "hive",
    schema: "ads",
    checkInterval: 5,
    engine,
    basic_auth: { user: "bob", password: "s3cret" },
  });
  const execution: Execution = { rows: [], pages: 0, states: [] };
  return new Promise((resolve) => {
    client.execute({
      ...options,
      query: sql,
      state: (_, __, stats) => execution.states.push(stats.state),
      columns: (_, columns) => {
        execution.columns = columns;
      },
      data: (_, rows) => {
        execution.pages++;
        execution.rows.push(...rows);
      },
      success: () => resolve(execution),
      error: (error) => resolve({ ...execution, error }),
    });
  });
}

test("trino-client pages through 10 000 rows in pages of 500", async () => {
  const pages = await pagesOf("SELECT order_id, status, total FROM orders ORDER BY order_id");
  const data = pages.filter((page) => page.data);
  assert.equal(data.length, 20);
  const rows = data.flatMap((page) => page.data ?? []);
  assert.deepEqual(
    rows.map((row) => row[0]),
    Array.from({ length: 10_000 }, (_, index) => index + 1),
  );
  assert.deepEqual(
    pages.find((page) => page.columns)?.columns?.map(({ name, type }) => [name, type]),
    [
      ["order_id", "bigint"],
      ["status", "varchar"],
      ["total", "double"],
    ],
  );
  assert.equal(pages.at(-1)?.stats?.state, "FINISHED");
});

test("trino-client gets an error with its position", async () => {
  const failed = (await pagesOf("SELECT order_id,\n       nope\nFROM orders")).find((page) => page.error);
  assert.deepEqual(
    { ...failed?.error, failureInfo: undefined },
    {
      message: "line 2:8: Column 'nope' cannot be resolved",
      errorCode: 47,
      errorName: "COLUMN_NOT_FOUND",
      errorType: "USER_ERROR",
      errorLocation: { lineNumber: 2, columnNumber: 8 },
      failureInfo: undefined,
    },
  );
});

test("trino-client reads Trino's types and encoding of arrays, maps, rows, timestamps and decimals", async () => {
  const pages = await pagesOf(
    `SELECT ARRAY['a', 'b'] AS tags, MAP(ARRAY['k'], ARRAY[1]) AS counts,
       CAST(ROW(7, 'x') AS ROW(id bigint, name varchar)) AS item,
       CAST(TIMESTAMP '2024-01-31 10:00:00.123' AS timestamp(3)) AS at, CAST(12.5 AS decimal(10,2)) AS price,
       DATE '2024-02-29' AS day, true AS flag, CAST(NULL AS varchar) AS nothing, 7 / 2 AS half`,
  );
  const columns = pages.find((page) => page.columns)?.columns as (Column & { typeSignature: unknown })[];
  assert.deepEqual(
    columns.map(({ name, type }) => [name, type]),
    [
      ["tags", "array(varchar)"],
      ["counts", "map(varchar, integer)"],
      ["item", "row(id bigint, name varchar)"],
      ["at", "timestamp(3)"],
      ["price", "decimal(10,2)"],
      ["day", "date"],
      ["flag", "boolean"],
      ["nothing", "varchar"],
      ["half", "integer"],
    ],
  );
  assert.deepEqual(columns[0]?.typeSignature, {
    rawType: "array",
    arguments: [{ kind: "TYPE", value: { rawType: "varchar", arguments: [{ kind: "LONG", value: 2_147_483_647 }] } }],
  });
  assert.deepEqual(pages.find((page) => page.data)?.data, [
    [["a", "b"], { k: 1 }, [7, "x"], "2024-01-31 10:00:00.123", "12.50", "2024-02-29", true, null, 3],
  ]);
});

test("trino-client reads query info and cancels", async () => {
  const first = await (await trino().query("SELECT * FROM hive.ads.impressions")).next();
  const id = (first.value as QueryResult).id;
  assert.equal((await trino().queryInfo(id)).query, "SELECT * FROM hive.ads.impressions");
  await trino().cancel(id);
  assert.equal(upstream.queries.get(id)?.state, "FAILED");
  assert.equal(upstream.queries.get(id)?.error?.errorName, "USER_CANCELED");
});

test("presto-client pages through 20 000 rows with X-Presto-* headers", async () => {
  const { rows, pages, columns, states, error } = await execute({}, "SELECT * FROM impressions");
  assert.equal(error, undefined);
  assert.equal(rows.length, 20_000);
  assert.equal(pages, 40);
  assert.deepEqual(
    columns?.map(({ name, type }) => `${name} ${type}`),
    ["campaign_id bigint", "day date", "impressions bigint", "clicks bigint", "spend double", "conversions bigint"],
  );
  assert.deepEqual(states, ["QUEUED", "RUNNING", "FINISHED"]);
  const query = [...upstream.queries.values()].find((each) => each.sql === "SELECT * FROM impressions");
  assert.equal(query?.session.user, "bob");
  assert.equal(query?.session.schema, "ads");
});

test("presto-client gets errors with their position, in both header dialects", async () => {
  for (const engine of ["presto", "trino"] as const) {
    const { error } = await execute({}, "SELECT *\nFROM hive.sales.nope", engine);
    assert.equal(error?.message, "line 2:6: Table 'hive.sales.nope' does not exist", engine);
    assert.deepEqual(error?.errorLocation, { lineNumber: 2, columnNumber: 6 });
    assert.equal(error?.errorName, "TABLE_NOT_FOUND");
  }
});

test("presto-client with the trino engine: columns, data and the session catalog", async () => {
  const { columns, rows } = await execute(
    {},
    "SELECT status, count(*) AS n FROM campaigns GROUP BY status ORDER BY status",
    "trino",
  );
  assert.deepEqual(
    columns?.map(({ name, type }) => [name, type]),
    [
      ["status", "varchar"],
      ["n", "bigint"],
    ],
  );
  assert.equal(
    rows.reduce((sum, row) => sum + Number(row[1]), 0),
    200,
  );
});
