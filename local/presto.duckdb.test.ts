/**
 * The DuckDB engine behind the local coordinator: read-only enforced by DuckDB's own read-only
 * transactions, only Trino's statement types run, Trino's function names, column names, error
 * positions and metadata, and a running statement stopped by a cancel.
 * Run: `npm exec -- node --test local/presto.duckdb.test.ts`
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { startDuckDbEngine } from "./presto.duckdb.ts";
import type { PrestoEngine } from "./presto.engine.ts";
import { TrinoError } from "./presto.errors.ts";
import { type Json, run, TRINO_SESSION } from "./presto.protocol.testing.ts";
import { DEFAULT_SAMPLE_SEED } from "./presto.sample-data.ts";
import type { PrestoUpstream } from "./presto.upstream.ts";
import { startPrestoUpstream } from "./presto.upstream.ts";

const SESSION = { user: "alice", catalog: "hive", schema: "sales" };

let engine: PrestoEngine;
let upstream: PrestoUpstream;
before(async () => {
  engine = await startDuckDbEngine({ seed: DEFAULT_SAMPLE_SEED, maxResultRows: 100_000, runtimeQueries: () => [] });
  upstream = await startPrestoUpstream({ queuedPolls: 0, runningPolls: 0 });
});
after(async () => {
  await engine.close();
  await upstream.close();
});

const failure = (promise: Promise<unknown>): Promise<TrinoError> =>
  promise.then(
    () => assert.fail("expected the statement to fail"),
    (error: unknown) => {
      assert.ok(error instanceof TrinoError, String(error));
      return error;
    },
  );

const errorOf = (final: Json) => `${final.error?.errorName}: ${final.error?.message}`;

test("DuckDB's read-only transaction refuses the write, whatever the statement starts with", async () => {
  const writes = [
    "WITH x AS (SELECT 1 AS id) DELETE FROM orders WHERE order_id IN (SELECT id FROM x)",
    "CREATE TABLE hive.sales.copy AS WITH x AS (SELECT 1 AS id) SELECT * FROM x",
    "EXPLAIN ANALYZE UPDATE orders SET status = 'x'",
    "COMMENT ON TABLE orders IS 'x'",
  ];
  for (const mode of ["read-only", "read-write"] as const) {
    for (const sql of writes) {
      const transaction = await engine.begin(mode);
      const error = await failure(engine.execute(sql, SESSION, { transaction }));
      assert.equal(error.errorName, mode === "read-only" ? "READ_ONLY_VIOLATION" : "AUTOCOMMIT_WRITE_CONFLICT", sql);
      await engine.end(transaction, false);
    }
  }
  // The one write a DuckDB read-only transaction allows, its connection's temp catalog, is not Trino SQL.
  const scratch = await engine.begin("read-only");
  for (const sql of [
    "CREATE TEMP TABLE scratch AS SELECT 1 AS x",
    "EXPLAIN ANALYZE CREATE OR REPLACE LOCAL TEMPORARY TABLE scratch AS SELECT 1 AS x",
  ]) {
    assert.equal((await failure(engine.execute(sql, SESSION, { transaction: scratch }))).errorName, "SYNTAX_ERROR");
  }
  const temp = await failure(
    engine.execute("CREATE TABLE temp.main.scratch AS SELECT 1", SESSION, { transaction: scratch }),
  );
  assert.equal(temp.errorName, "SYNTAX_ERROR"); // DuckDB: only TEMPORARY tables may use the temp catalog
  await engine.end(scratch, false);
  const read = await engine.begin("read-only");
  const count = await engine.execute("SELECT count(*), max(status) FROM orders", SESSION, { transaction: read });
  assert.deepEqual(count.rows, [[10_000, "shipped"]]);
  await engine.end(read, true);
});

test("runs only the statement types Trino has: DuckDB's own are refused and the catalogs stay", async () => {
  const refusals = {
    "DETACH hive": "NOT_SUPPORTED",
    "ATTACH ':memory:' AS other": "NOT_SUPPORTED",
    "PRAGMA threads = 1": "NOT_SUPPORTED",
    CHECKPOINT: "NOT_SUPPORTED",
    "INSTALL httpfs": "NOT_SUPPORTED",
    "COPY hive.sales.orders TO '/tmp/orders.csv'": "PERMISSION_DENIED",
    "SELECT * FROM read_csv('/etc/passwd')": "PERMISSION_DENIED",
    "SET threads = 1": "NOT_SUPPORTED",
  };
  for (const [sql, errorName] of Object.entries(refusals)) {
    assert.equal((await run(upstream.url, sql)).final.error?.errorName, errorName, sql);
  }
  assert.deepEqual((await run(upstream.url, "SHOW CATALOGS")).rows, [["hive"], ["system"]]);
  assert.deepEqual((await run(upstream.url, "SELECT count(*) FROM hive.sales.orders")).rows, [[10_000]]);
  assert.equal(upstream.stats().writes, 0);
});

test("speaks Trino's function names and integer division", async () => {
  const { rows } = await run(
    upstream.url,
    `SELECT approx_distinct(status), count_if(total > 100), regexp_replace('a-b-c', '-'),
       regexp_replace('a-b-c', '-', '+'), regexp_like('abc', 'b'), day_of_week(DATE '2024-01-01'),
       CAST(date_add('month', 1, DATE '2024-01-31') AS date), date_diff('day', DATE '2024-01-01', DATE '2024-03-01'),
       7 / 2, 7.0 / 2, element_at(ARRAY[1, 2], -1), element_at(MAP(ARRAY['k'], ARRAY[1]), 'k')
     FROM orders`,
  );
  // Integer division is Trino's; a decimal divided is a double in DuckDB (Trino keeps a decimal).
  assert.deepEqual(rows, [[5, 7642, "abc", "a+b+c", true, 1, "2024-02-29", 60, 3, 3.5, 2, 1]]);
});

test("names columns like Trino: aliases and column names kept, other expressions _col<n>", async () => {
  const { columns } = await run(
    upstream.url,
    'SELECT count(*), o.status, sum(total) AS "Total Revenue", 1 + 1 FROM orders o GROUP BY o.status LIMIT 1',
  );
  assert.deepEqual(
    columns?.map((column) => [column.name, column.type]),
    [
      ["_col0", "bigint"],
      ["status", "varchar"],
      ["Total Revenue", "double"],
      ["_col3", "integer"],
    ],
  );
  const values = await run(upstream.url, "SELECT * FROM (VALUES (1, 'a')) AS t (n, s)");
  assert.deepEqual(
    values.columns?.map((column) => column.name),
    ["n", "s"],
  );
});

test("locates errors in the client's text, after comments, U& literals and multi-byte characters", async () => {
  const cases = [
    ["SELECT U&'\\0041', 'é😀', nope FROM orders", "line 1:26: Column 'nope' cannot be resolved"],
    ["/* a /* b */ SELECT\r\n  nope FROM orders", "line 2:3: Column 'nope' cannot be resolved"],
    ["SELECT 1 FROM system.runtime.nope", "line 1:15: Table 'system.runtime.nope' does not exist"],
    ["SELECT * FROM sales.nope", "line 1:15: Table 'hive.sales.nope' does not exist"],
    ["SELECT nope(1)", "line 1:8: Function 'nope' not registered"],
    ["SELECT 1; SELECT 2", "line 1:9: mismatched input ';'. Expecting: <EOF>"],
  ];
  for (const [sql, message] of cases)
    assert.equal((await run(upstream.url, sql as string)).final.error?.message, message);
  const noCatalog = await run(upstream.url, "SELECT * FROM sales.orders", { "X-Trino-User": "alice" });
  assert.equal(
    errorOf(noCatalog.final),
    "MISSING_CATALOG_NAME: line 1:15: Catalog must be specified when session catalog is not set",
  );
});

test("shows the system catalog and each catalog's information_schema as Trino does", async () => {
  assert.deepEqual((await run(upstream.url, "SHOW SCHEMAS FROM system")).rows, [["information_schema"], ["runtime"]]);
  assert.deepEqual((await run(upstream.url, "SHOW TABLES FROM system.runtime")).rows, [["queries"]]);
  const describe = await run(upstream.url, "DESCRIBE system.runtime.queries");
  assert.deepEqual(
    describe.rows.find((row) => row[0] === "created"),
    ["created", "timestamp(3)", "", ""],
  );
  const tables = await run(
    upstream.url,
    "SELECT table_schema, table_name FROM information_schema.tables WHERE table_schema <> 'information_schema' ORDER BY 1, 2",
  );
  assert.deepEqual(tables.rows, [
    ["ads", "campaigns"],
    ["ads", "impressions"],
    ["sales", "customers"],
    ["sales", "order_items"],
    ["sales", "orders"],
    ["sales", "products"],
  ]);
  const create = await run(upstream.url, "SHOW CREATE TABLE hive.ads.campaigns");
  assert.match(String(create.rows[0]?.[0]), /^CREATE TABLE hive\.ads\.campaigns \(\n {3}campaign_id bigint,/);
});

test("a cancel stops a statement DuckDB is running", async () => {
  const sql = "SELECT count(*) FROM hive.ads.impressions a, hive.ads.impressions b, hive.sales.orders c";
  const posted = await (
    await fetch(`${upstream.url}/v1/statement`, { method: "POST", body: sql, headers: TRINO_SESSION })
  ).json();
  const running = fetch(posted.nextUri, { headers: TRINO_SESSION }).then((response) => response.json());
  await new Promise((resolve) => setTimeout(resolve, 300));
  const started = performance.now();
  await fetch(`${upstream.url}/v1/query/${posted.id}`, { method: "DELETE", headers: TRINO_SESSION });
  const answer = await running;
  assert.ok(performance.now() - started < 5_000, "the statement stopped");
  assert.equal(answer.stats.state, "FAILED");
  assert.equal(answer.error.errorName, "USER_CANCELED");
  assert.deepEqual((await run(upstream.url, "SELECT 1")).rows, [[1]]);
});
