/**
 * Self-check of the local Presto/Trino coordinator over real HTTP.
 * Run: `npm exec -- node --test local/presto.upstream.test.ts`
 */
import assert from "node:assert/strict";
import type { TestContext } from "node:test";
import { after, before, test } from "node:test";
import type { PrestoUpstream, PrestoUpstreamOptions } from "./presto.upstream.ts";
import { startPrestoUpstream } from "./presto.upstream.ts";

// biome-ignore lint/suspicious/noExplicitAny: protocol responses are checked field by field.
type Json = any;

const TRINO_SESSION = { "X-Trino-User": "alice", "X-Trino-Catalog": "hive", "X-Trino-Schema": "sales" };

interface Run {
  responses: Json[];
  rows: unknown[][];
  columns: Json[] | undefined;
  final: Json;
  headers: Headers;
}

async function submit(url: string, sql: string, headers: Record<string, string> = TRINO_SESSION): Promise<Json> {
  const response = await fetch(`${url}/v1/statement`, { method: "POST", body: sql, headers });
  assert.equal(response.status, 200, await response.clone().text());
  return response.json();
}

/** Submits a statement and follows nextUri until the query is done, like a Trino client. */
async function run(url: string, sql: string, headers: Record<string, string> = TRINO_SESSION): Promise<Run> {
  let body = await submit(url, sql, headers);
  const responses = [body];
  const rows: unknown[][] = [];
  let columns: Json[] | undefined;
  let lastHeaders = new Headers();
  while (body.nextUri) {
    const response = await fetch(body.nextUri, { headers });
    assert.equal(response.status, 200);
    lastHeaders = response.headers;
    body = await response.json();
    responses.push(body);
    columns = body.columns ?? columns;
    rows.push(...(body.data ?? []));
  }
  return { responses, rows, columns, final: body, headers: lastHeaders };
}

/** A dedicated coordinator, closed when the test ends. */
async function startServer(t: TestContext, options: PrestoUpstreamOptions): Promise<PrestoUpstream> {
  const server = await startPrestoUpstream(options);
  t.after(() => server.close());
  return server;
}

/** The coordinator shared by tests that need no special options. */
let upstream: PrestoUpstream;

before(async () => {
  upstream = await startPrestoUpstream();
});

after(() => upstream.close());

test("pages a 10 000-row result through QUEUED, RUNNING and FINISHED", async () => {
  const { responses, rows, columns, final } = await run(upstream.url, "SELECT * FROM hive.sales.orders");
  const states = responses.map((response) => response.stats.state);
  assert.deepEqual(states.slice(0, 4), ["QUEUED", "QUEUED", "RUNNING", "RUNNING"]);
  assert.equal(final.stats.state, "FINISHED");
  assert.equal(final.nextUri, undefined);
  assert.equal(final.stats.progressPercentage, 100);

  assert.match(
    responses[0].nextUri,
    /^http:\/\/127\.0\.0\.1:\d+\/v1\/statement\/queued\/\d{8}_\d{6}_\d{5}_[a-z]{5}\/y[0-9a-f]+\/1$/,
  );
  assert.match(responses[2].nextUri, /\/v1\/statement\/executing\/.+\/3$/);
  assert.equal(responses[0].columns, undefined);
  assert.equal(responses[2].data, undefined, "RUNNING polls carry progress, not data");

  const pages = responses.filter((response) => response.data);
  assert.ok(pages.length >= 10, `${pages.length} pages`);
  assert.ok(pages.every((page) => page.data.length <= 1000));
  assert.equal(rows.length, 10_000);
  assert.equal(new Set(rows.map((row) => row[0])).size, 10_000);

  const progress = responses.map((response) => response.stats.progressPercentage);
  assert.deepEqual(
    progress,
    [...progress].sort((a, b) => a - b),
    "progress never goes back",
  );
  assert.ok(responses[2].stats.completedSplits < responses[2].stats.totalSplits);

  assert.deepEqual(
    columns?.map((column) => [column.name, column.type]),
    [
      ["order_id", "bigint"],
      ["customer_id", "bigint"],
      ["order_date", "date"],
      ["created_at", "timestamp(3)"],
      ["status", "varchar"],
      ["channel", "varchar"],
      ["total", "double"],
    ],
  );
  assert.deepEqual(columns?.[0].typeSignature, { rawType: "bigint", arguments: [] });
  const [orderId, , orderDate, createdAt, status, , total] = rows[0] as [
    number,
    number,
    string,
    string,
    string,
    string,
    number,
  ];
  assert.equal(typeof orderId, "number");
  assert.match(orderDate, /^\d{4}-\d{2}-\d{2}$/);
  assert.match(createdAt, /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d{3}$/);
  assert.equal(typeof status, "string");
  assert.equal(typeof total, "number");
});

test("sample tables have their documented sizes", async () => {
  const counts = {
    "hive.sales.customers": 2000,
    "hive.sales.products": 197,
    "hive.sales.orders": 10_000,
    "hive.sales.order_items": 24_603,
    "hive.ads.campaigns": 200,
    "hive.ads.impressions": 20_000,
  };
  for (const [table, expected] of Object.entries(counts)) {
    const { rows, columns } = await run(upstream.url, `SELECT count(*) FROM ${table}`);
    assert.deepEqual(rows, [[expected]], table);
    assert.deepEqual(
      columns?.map((column) => [column.name, column.type]),
      [["_col0", "bigint"]],
    );
  }
});

test("translates analytics SQL: joins, CTEs, date literals, Trino functions", async () => {
  const { rows, columns, final } = await run(
    upstream.url,
    `WITH recent AS (
       SELECT * FROM orders WHERE order_date >= DATE '2024-01-01' AND status = 'completed'
     )
     SELECT c.country, date_trunc('month', r.order_date) AS month, count(*) AS orders, round(sum(r.total), 2) AS revenue
     FROM recent r JOIN hive.sales.customers c ON c.customer_id = r.customer_id
     WHERE EXTRACT(YEAR FROM r.order_date) = 2024
     GROUP BY 1, 2
     ORDER BY revenue DESC
     FETCH FIRST 3 ROWS ONLY`,
  );
  assert.equal(final.error, undefined, final.error?.message);
  // DuckDB's date_trunc of a date is a timestamp (Trino's is a date).
  assert.deepEqual(
    columns?.map((column) => column.type),
    ["varchar", "timestamp(6)", "bigint", "double"],
  );
  assert.equal(rows.length, 3);
  assert.match(String(rows[0]?.[1]), /^2024-\d{2}-01 00:00:00\.000000$/);
});

test("reports syntax errors with a 1-based line and column", async () => {
  const { final } = await run(upstream.url, "SELECT order_id\n  FORM orders");
  assert.equal(final.stats.state, "FAILED");
  assert.equal(final.nextUri, undefined);
  assert.deepEqual(
    {
      errorName: final.error.errorName,
      errorCode: final.error.errorCode,
      errorType: final.error.errorType,
      errorLocation: final.error.errorLocation,
    },
    {
      errorName: "SYNTAX_ERROR",
      errorCode: 1,
      errorType: "USER_ERROR",
      errorLocation: { lineNumber: 2, columnNumber: 8 },
    },
  );
  assert.match(final.error.message, /^line 2:8: mismatched input 'orders'/);
  assert.equal(final.error.failureInfo.message, final.error.message);
  assert.deepEqual(final.error.failureInfo.stack, []);
});

test("reports unknown catalogs, schemas, tables and columns like Trino", async () => {
  const cases = [
    ["SELECT * FROM hive.sales.nope", "TABLE_NOT_FOUND", 46, "line 1:15: Table 'hive.sales.nope' does not exist"],
    ["SELECT * FROM hive.nope.orders", "SCHEMA_NOT_FOUND", 45, "line 1:15: Schema 'nope' does not exist"],
    ["SELECT * FROM nope.sales.orders", "CATALOG_NOT_FOUND", 44, "line 1:15: Catalog 'nope' not found"],
    ["SELECT nope FROM orders", "COLUMN_NOT_FOUND", 47, "line 1:8: Column 'nope' cannot be resolved"],
    ["MERGE INTO orders USING customers ON true WHEN MATCHED THEN DELETE", "NOT_SUPPORTED", 13, undefined],
  ] as const;
  for (const [sql, errorName, errorCode, message] of cases) {
    const { final } = await run(upstream.url, sql);
    assert.equal(final.error?.errorName, errorName, sql);
    assert.equal(final.error.errorCode, errorCode, sql);
    if (message) assert.equal(final.error.message, message);
  }
  const noSchema = await run(upstream.url, "SELECT * FROM orders", { "X-Trino-User": "alice" });
  assert.equal(noSchema.final.error.errorName, "MISSING_SCHEMA_NAME");
});

test("cancels through DELETE on nextUri and on /v1/query/{id}", async () => {
  const canceledBefore = upstream.stats().canceled;
  const queued = await submit(upstream.url, "SELECT * FROM hive.ads.impressions");
  const running = await (await fetch(queued.nextUri, { headers: TRINO_SESSION })).json();
  const deleted = await fetch(running.nextUri, { method: "DELETE", headers: TRINO_SESSION });
  assert.equal(deleted.status, 204);

  const after = await (await fetch(running.nextUri, { headers: TRINO_SESSION })).json();
  assert.equal(after.stats.state, "FAILED");
  assert.equal(after.nextUri, undefined);
  assert.equal(after.error.errorName, "USER_CANCELED");
  assert.equal(after.error.errorCode, 3);
  assert.equal(after.error.message, "Query was canceled");

  const info = await (await fetch(`${upstream.url}/v1/query/${queued.id}`, { headers: TRINO_SESSION })).json();
  assert.equal(info.state, "FAILED");
  assert.deepEqual(info.errorCode, { code: 3, name: "USER_CANCELED", type: "USER_ERROR" });
  assert.equal(info.session.user, "alice");
  assert.equal(upstream.queries.get(queued.id)?.result, undefined, "canceled before execution");

  const other = await submit(upstream.url, "SELECT 1");
  const killed = await fetch(`${upstream.url}/v1/query/${other.id}`, { method: "DELETE", headers: TRINO_SESSION });
  assert.equal(killed.status, 204);
  assert.equal(upstream.queries.get(other.id)?.state, "FAILED");
  assert.equal(upstream.stats().canceled, canceledBefore + 2);
});

test("views and kills a query by id only as a user, and records who did", async () => {
  const query = await submit(upstream.url, "SELECT 1");
  for (const method of ["GET", "DELETE"]) {
    const anonymous = await fetch(`${upstream.url}/v1/query/${query.id}`, { method });
    assert.equal(anonymous.status, 400, method);
    assert.equal(await anonymous.text(), "User must be set");
  }
  assert.equal(upstream.queries.get(query.id)?.state === "FAILED", false, "an anonymous DELETE kills nothing");
  await fetch(`${upstream.url}/v1/query/${query.id}`, { headers: { "X-Presto-User": "bob" } });
  await fetch(`${upstream.url}/v1/query/${query.id}`, { method: "DELETE", headers: { "X-Trino-User": "carol" } });
  assert.deepEqual(upstream.stats().lastQueryRequests.slice(-2), [
    { method: "GET", queryId: query.id, user: "bob" },
    { method: "DELETE", queryId: query.id, user: "carol" },
  ]);
});

test("answers retried GETs idempotently and rejects unknown or stale URIs", async () => {
  const first = await submit(upstream.url, "SELECT 1 AS one");
  const second = await (await fetch(first.nextUri, { headers: TRINO_SESSION })).text();
  const retried = await (await fetch(first.nextUri, { headers: TRINO_SESSION })).text();
  assert.equal(retried, second);

  const unknown = await fetch(first.nextUri.replace(first.id, "20240101_000000_00000_zzzzz"));
  assert.equal(unknown.status, 404);
  assert.equal(await unknown.text(), "Query not found");
  const stale = await fetch(first.nextUri.replace(/\/1$/, "/7"), { headers: TRINO_SESSION });
  assert.equal(stale.status, 410);
  assert.equal((await fetch(`${upstream.url}/v1/query/nope`)).status, 404);
});

test("executes a statement once even when its GET is retried", async () => {
  await run(upstream.url, "CREATE TABLE hive.sales.retry_log (id bigint)");
  let body = await submit(upstream.url, "INSERT INTO retry_log VALUES (1)");
  while (body.nextUri) {
    const uri = body.nextUri;
    body = await (await fetch(uri, { headers: TRINO_SESSION })).json();
    await fetch(uri, { headers: TRINO_SESSION }); // a client retry of the same token
  }
  assert.deepEqual((await run(upstream.url, "SELECT count(*) FROM retry_log")).rows, [[1]]);
  await run(upstream.url, "DROP TABLE retry_log");
});

test("accepts X-Presto-* headers and answers in the same dialect", async () => {
  const presto = {
    "X-Presto-User": "bob",
    "X-Presto-Catalog": "hive",
    "X-Presto-Schema": "ads",
    "X-Presto-Source": "test",
  };
  const { rows } = await run(upstream.url, "SELECT count(*) FROM campaigns", presto);
  assert.deepEqual(rows, [[200]]);
  const use = await run(upstream.url, "USE hive.sales", presto);
  assert.equal(use.final.updateType, "USE");
  assert.equal(use.headers.get("x-presto-set-schema"), "sales");
  assert.equal(use.headers.get("x-trino-set-schema"), null);
});

test("requires a user: 400 like Trino", async () => {
  const response = await fetch(`${upstream.url}/v1/statement`, { method: "POST", body: "SELECT 1" });
  assert.equal(response.status, 400);
  assert.match(response.headers.get("content-type") ?? "", /^text\/plain/);
  assert.equal(await response.text(), "User must be set");
});

test("enforces HTTP Basic auth when a password is configured", async (t) => {
  const secured = await startServer(t, { password: "s3cret", queuedPolls: 0, runningPolls: 0 });
  const basic = (credentials: string): string => `Basic ${Buffer.from(credentials).toString("base64")}`;
  const post = (headers: Record<string, string>) =>
    fetch(`${secured.url}/v1/statement`, { method: "POST", body: "SELECT 1", headers });

  const missing = await post({ "X-Trino-User": "carol" });
  assert.equal(missing.status, 401);
  assert.equal(missing.headers.get("www-authenticate"), 'Basic realm="Presto"');
  assert.equal((await post({ "X-Trino-User": "carol", Authorization: basic("carol:wrong") })).status, 401);

  const headers = { Authorization: basic("carol:s3cret") };
  const { rows, responses } = await run(secured.url, "SELECT 1", headers);
  assert.deepEqual(rows, [[1]]);
  assert.equal(secured.queries.get(responses[0].id)?.session.user, "carol", "the principal is the default user");
  assert.equal((await fetch(`${secured.url}/v1/query/${responses[0].id}`)).status, 401);
});

test("actually performs writes and reports them like Trino", async () => {
  upstream.resetStats();
  const create = await run(
    upstream.url,
    "CREATE TABLE hive.sales.notes (id bigint, body varchar, created date) WITH (format = 'ORC')",
  );
  assert.equal(create.final.updateType, "CREATE TABLE");
  assert.deepEqual(create.rows, [[true]]);
  const insert = await run(
    upstream.url,
    "INSERT INTO notes VALUES (1, 'hello', DATE '2024-05-01'), (2, 'bye', DATE '2024-05-02')",
  );
  assert.equal(insert.final.updateType, "INSERT");
  assert.equal(insert.final.updateCount, 2);
  assert.deepEqual(insert.rows, [[2]]);
  const ctas = await run(upstream.url, "CREATE TABLE note_copy AS SELECT id, body, created FROM notes WHERE id = 2");
  assert.equal(ctas.final.updateCount, 1);
  assert.deepEqual((await run(upstream.url, "DESCRIBE note_copy")).rows, [
    ["id", "bigint", "", ""],
    ["body", "varchar", "", ""],
    ["created", "date", "", ""],
  ]);
  assert.equal((await run(upstream.url, "DELETE FROM notes WHERE id = 1")).final.updateCount, 1);
  assert.deepEqual((await run(upstream.url, "SELECT * FROM notes")).rows, [[2, "bye", "2024-05-02"]]);
  assert.equal((await run(upstream.url, "DROP TABLE notes")).final.updateType, "DROP TABLE");
  await run(upstream.url, "DROP TABLE note_copy");

  const stats = await (await fetch(`${upstream.url}/_local/stats`)).json();
  assert.equal(stats.statements, 8);
  assert.deepEqual(stats.statementsByKind, { create: 2, insert: 1, describe: 1, delete: 1, select: 1, drop: 2 });
  assert.equal(
    stats.lastStatements[1],
    "INSERT INTO notes VALUES (1, 'hello', DATE '2024-05-01'), (2, 'bye', DATE '2024-05-02')",
  );
});

test("answers SHOW, DESCRIBE, EXPLAIN and the metadata tables", async () => {
  assert.deepEqual((await run(upstream.url, "SHOW CATALOGS")).rows, [["hive"], ["system"]]);
  assert.deepEqual((await run(upstream.url, "SHOW SCHEMAS FROM hive")).rows, [
    ["ads"],
    ["information_schema"],
    ["sales"],
  ]);
  assert.deepEqual((await run(upstream.url, "SHOW TABLES FROM hive.ads LIKE 'camp%'")).rows, [["campaigns"]]);
  const describe = await run(upstream.url, "DESCRIBE hive.ads.impressions");
  assert.deepEqual(
    describe.columns?.map((column) => column.name),
    ["Column", "Type", "Extra", "Comment"],
  );
  assert.deepEqual(describe.rows[1], ["day", "date", "", ""]);

  const explain = await run(upstream.url, "EXPLAIN SELECT * FROM orders WHERE total > 100");
  assert.deepEqual(
    explain.columns?.map((column) => [column.name, column.type]),
    [["Query Plan", "varchar"]],
  );
  assert.match(String(explain.rows[0]?.[0]), /SCAN/);
  assert.deepEqual((await run(upstream.url, "EXPLAIN (TYPE VALIDATE) SELECT * FROM orders")).rows, [[true]]);

  const columns = await run(
    upstream.url,
    `SELECT column_name, data_type FROM hive.information_schema.columns
     WHERE table_name = 'customers' ORDER BY ordinal_position LIMIT 2`,
  );
  assert.deepEqual(columns.rows, [
    ["customer_id", "bigint"],
    ["name", "varchar"],
  ]);
  const live = await run(
    upstream.url,
    "SELECT state, query FROM system.runtime.queries WHERE query LIKE '%runtime.queries%'",
  );
  assert.deepEqual(live.rows[0], [
    "RUNNING",
    "SELECT state, query FROM system.runtime.queries WHERE query LIKE '%runtime.queries%'",
  ]);
});

test("injects faults: status codes for the next requests, then delays", async () => {
  const set = await fetch(`${upstream.url}/_local/faults`, {
    method: "POST",
    body: JSON.stringify({ statusCode: 503, count: 2 }),
  });
  assert.equal(set.status, 200);
  const faultedBefore = upstream.stats().faulted;
  assert.equal((await fetch(`${upstream.url}/v1/info`)).status, 503);
  const post = await fetch(`${upstream.url}/v1/statement`, {
    method: "POST",
    body: "SELECT 1",
    headers: TRINO_SESSION,
  });
  assert.equal(post.status, 503);
  assert.equal(await post.text(), "Service Unavailable");
  assert.equal((await fetch(`${upstream.url}/v1/info`)).status, 200);
  assert.equal(upstream.stats().faulted, faultedBefore + 2);

  await fetch(`${upstream.url}/_local/faults`, { method: "POST", body: JSON.stringify({ delayMs: 150 }) });
  const started = performance.now();
  assert.equal((await fetch(`${upstream.url}/v1/info`)).status, 200);
  assert.ok(performance.now() - started >= 140);
  assert.equal((await fetch(`${upstream.url}/_local/faults`, { method: "DELETE" })).status, 204);
  const info = await (await fetch(`${upstream.url}/v1/info`)).json();
  assert.deepEqual(
    { ...info, uptime: undefined },
    {
      nodeVersion: { version: "local-439" },
      environment: "local",
      coordinator: true,
      starting: false,
      uptime: undefined,
    },
  );
  assert.equal((await fetch(`${upstream.url}/_local/faults`, { method: "POST", body: "{}" })).status, 400);
});

test("makes RUNNING polls take pollDelayMs, reporting progress", async (t) => {
  const slow = await startServer(t, { pollDelayMs: 60, runningPolls: 3, queuedPolls: 0, pageSize: 50 });
  const started = performance.now();
  const { responses, rows } = await run(slow.url, "SELECT * FROM hive.ads.campaigns");
  assert.ok(performance.now() - started >= 180);
  const running = responses.filter((response) => response.stats.state === "RUNNING" && !response.data);
  assert.deepEqual(
    running.map((response) => response.stats.progressPercentage),
    [25, 50, 75],
  );
  assert.equal(rows.length, 200);
  assert.equal(responses.filter((response) => response.data).length, 4);
});

test("keeps the query map bounded and releases delivered rows", async (t) => {
  const small = await startServer(t, { maxQueries: 3, queuedPolls: 0, runningPolls: 0 });
  let lastId = "";
  for (let index = 0; index < 5; index++) lastId = (await run(small.url, `SELECT ${index}`)).final.id;
  assert.ok(small.queries.size <= 3);
  assert.deepEqual(small.queries.get(lastId)?.result?.rows, []);
  assert.equal(small.queries.get(lastId)?.rowCount, 1);
});
