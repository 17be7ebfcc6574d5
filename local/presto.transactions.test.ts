/**
 * The local coordinator reads SQL and runs transactions as Trino does: comment rules, EXPLAIN
 * ANALYZE executing its statement, and read-only transactions refusing writes.
 * Run: `npm exec -- node --test local/presto.transactions.test.ts`
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { type Json, run, runReadOnly, TRINO_SESSION } from "./presto.protocol.testing.ts";
import type { PrestoUpstream } from "./presto.upstream.ts";
import { startPrestoUpstream } from "./presto.upstream.ts";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const BYPASS = "EXPLAIN --\rANALYZE INSERT INTO hive.sales.orders\nSELECT * FROM hive.sales.orders";

let upstream: PrestoUpstream;
before(async () => {
  upstream = await startPrestoUpstream({ queuedPolls: 0, runningPolls: 0 });
});
after(() => upstream.close());

const count = async (table: string): Promise<number> =>
  Number((await run(upstream.url, `SELECT count(*) FROM ${table}`)).rows[0]?.[0]);

const errorOf = (final: Json) => ({
  name: final.error?.errorName,
  code: final.error?.errorCode,
  message: final.error?.message,
});

test("ends a -- comment at CR and at CRLF, like Trino's lexer", async () => {
  assert.deepEqual((await run(upstream.url, "SELECT 1 --\r, 2")).rows, [[1, 2]]);
  assert.deepEqual((await run(upstream.url, "SELECT 1 -- c\r\n, 2")).rows, [[1, 2]]);
  assert.deepEqual((await run(upstream.url, "SELECT 1 -- c\n, 2")).rows, [[1, 2]]);
});

test("does not nest /* */ comments and refuses an unterminated one", async () => {
  assert.deepEqual((await run(upstream.url, "SELECT 1 /* a /* b */, 2")).rows, [[1, 2]]);
  const unterminated = await run(upstream.url, "SELECT 1 /* never closed");
  assert.equal(unterminated.final.error?.errorName, "SYNTAX_ERROR");
});

test("reads U&'…' as one string literal with its escapes", async () => {
  assert.deepEqual((await run(upstream.url, "SELECT U&'\\0041\\+01F600 I''m' AS s")).rows, [["A😀 I'm"]]);
});

test("EXPLAIN ANALYZE runs its statement: a write shows in /_local/stats", async () => {
  await run(
    upstream.url,
    "CREATE TABLE hive.sales.explained AS SELECT customer_id FROM customers WHERE customer_id <= 5",
  );
  upstream.resetStats();
  const sql =
    "EXPLAIN ANALYZE INSERT INTO hive.sales.explained SELECT customer_id FROM customers WHERE customer_id <= 3";
  const explained = await run(upstream.url, sql);
  assert.equal(explained.final.error, undefined, explained.final.error?.message);
  assert.match(String(explained.rows[0]?.[0]), /INSERT: Input: 3 rows/);
  assert.equal(await count("hive.sales.explained"), 8);
  assert.equal(upstream.stats().writes, 1);
  assert.deepEqual(upstream.stats().lastWrites, [sql]);
  assert.deepEqual((await run(upstream.url, "EXPLAIN ANALYZE SELECT count(*) FROM explained")).final.error, undefined);
  assert.equal(upstream.stats().writes, 1, "a query is not a write");

  const ddl = await run(upstream.url, "EXPLAIN ANALYZE DROP TABLE hive.sales.explained");
  assert.deepEqual(errorOf(ddl.final), {
    name: "NOT_SUPPORTED",
    code: 13,
    message: "EXPLAIN ANALYZE doesn't support statement type: DropTable",
  });
  await run(upstream.url, "DROP TABLE hive.sales.explained");
});

test("the CR bypass of the old guard is a write without a transaction, refused inside a read-only one", async (t) => {
  const own = await startPrestoUpstream({ queuedPolls: 0, runningPolls: 0 });
  t.after(() => own.close());
  const { start, statement, end } = await runReadOnly(own.url, BYPASS);
  assert.equal(start.final.updateType, "START TRANSACTION");
  assert.deepEqual(errorOf(statement.final), {
    name: "READ_ONLY_VIOLATION",
    code: 23,
    message: "Cannot execute write in a read-only transaction",
  });
  assert.equal(end.final.updateType, "ROLLBACK");
  assert.equal(own.stats().writes, 0);

  const outside = await run(own.url, BYPASS);
  assert.equal(outside.final.error, undefined);
  assert.equal(own.stats().writes, 1, "what a real Trino would have done");
  assert.deepEqual((await run(own.url, "SELECT count(*) FROM hive.sales.orders")).rows, [[20_000]]);
});

test("speaks the transaction protocol: started id, transaction id, clear", async () => {
  const start = await run(upstream.url, "START TRANSACTION READ ONLY", {
    ...TRINO_SESSION,
    "X-Trino-Transaction-Id": "NONE",
  });
  const id = start.header("x-trino-started-transaction-id") ?? "";
  assert.match(id, UUID);
  const session = { ...TRINO_SESSION, "X-Trino-Transaction-Id": id };
  assert.deepEqual((await run(upstream.url, "SELECT count(*) FROM customers", session)).rows, [[2000]]);
  const info = upstream.queries.get(start.final.id);
  assert.equal(info?.state, "FINISHED");

  const commit = await run(upstream.url, "COMMIT", session);
  assert.equal(commit.final.updateType, "COMMIT");
  assert.equal(commit.header("x-trino-clear-transaction-id"), "true");
  const gone = await run(upstream.url, "SELECT 1", session);
  assert.deepEqual(errorOf(gone.final), {
    name: "UNKNOWN_TRANSACTION",
    code: 20,
    message: `Unknown transaction ID: ${id}. Possibly expired? Commands ignored until end of transaction block`,
  });
  assert.deepEqual(upstream.stats().transactions, { started: 1, committed: 1, rolledBack: 0, open: 0 });
});

test("finishes transaction statements as soon as they leave the queue, like Trino's data-definition tasks", async (t) => {
  const paced = await startPrestoUpstream({ queuedPolls: 1, runningPolls: 3 });
  t.after(() => paced.close());
  const start = await run(paced.url, "START TRANSACTION READ ONLY", {
    ...TRINO_SESSION,
    "X-Trino-Transaction-Id": "NONE",
  });
  // No RUNNING polls with progress only: the one RUNNING answer carries the result row.
  assert.deepEqual(
    start.responses.map((response) => [response.stats.state, response.data]),
    [
      ["QUEUED", undefined],
      ["QUEUED", undefined],
      ["RUNNING", [[true]]],
      ["FINISHED", undefined],
    ],
  );
  const session = { ...TRINO_SESSION, "X-Trino-Transaction-Id": start.header("x-trino-started-transaction-id") ?? "" };
  const query = await run(paced.url, "SELECT 1", session);
  assert.ok(query.responses.filter((response) => response.stats.state === "RUNNING").length >= 3);
  const commit = await run(paced.url, "COMMIT", session);
  assert.equal(commit.responses.length, 4);
});

test("a failed statement aborts the transaction until ROLLBACK", async () => {
  const start = await run(upstream.url, "START TRANSACTION READ ONLY", {
    ...TRINO_SESSION,
    "X-Trino-Transaction-Id": "none",
  });
  const session = { ...TRINO_SESSION, "X-Trino-Transaction-Id": start.header("x-trino-started-transaction-id") ?? "" };
  assert.equal((await run(upstream.url, "DELETE FROM orders", session)).final.error?.errorName, "READ_ONLY_VIOLATION");
  const aborted = await run(upstream.url, "SELECT 1", session);
  assert.deepEqual(errorOf(aborted.final), {
    name: "TRANSACTION_ALREADY_ABORTED",
    code: 22,
    message: "Current transaction is aborted, commands ignored until end of transaction block",
  });
  const rollback = await run(upstream.url, "ROLLBACK", session);
  assert.equal(rollback.final.error, undefined);
  assert.equal(rollback.header("x-trino-clear-transaction-id"), "true");
});

test("refuses transaction statements as Trino does", async () => {
  const noSupport = await run(upstream.url, "START TRANSACTION");
  assert.deepEqual(errorOf(noSupport.final), {
    name: "INCOMPATIBLE_CLIENT",
    code: 27,
    message: "Client does not support transactions",
  });
  const notIn = await run(upstream.url, "COMMIT", { ...TRINO_SESSION, "X-Trino-Transaction-Id": "NONE" });
  assert.deepEqual(errorOf(notIn.final), {
    name: "NOT_IN_TRANSACTION",
    code: 21,
    message: "No transaction in progress",
  });

  const { start } = await runReadOnly(upstream.url, "SELECT 1");
  const id = start.header("x-trino-started-transaction-id") ?? "";
  const ended = await run(upstream.url, "ROLLBACK WORK", { ...TRINO_SESSION, "X-Trino-Transaction-Id": id });
  assert.equal(ended.final.error?.errorName, "UNKNOWN_TRANSACTION", "already rolled back");

  const open = await run(upstream.url, "START TRANSACTION", { ...TRINO_SESSION, "X-Trino-Transaction-Id": "NONE" });
  const inside = { ...TRINO_SESSION, "X-Trino-Transaction-Id": open.header("x-trino-started-transaction-id") ?? "" };
  const nested = await run(upstream.url, "START TRANSACTION READ ONLY", inside);
  assert.deepEqual(errorOf(nested.final), {
    name: "NOT_SUPPORTED",
    code: 13,
    message: "Nested transactions not supported",
  });
  await run(upstream.url, "ROLLBACK", inside);

  const malformed = await fetch(`${upstream.url}/v1/statement`, {
    method: "POST",
    body: "SELECT 1",
    headers: { ...TRINO_SESSION, "X-Trino-Transaction-Id": "not-a-uuid" },
  });
  assert.equal(malformed.status, 400);
  assert.equal(await malformed.text(), "Invalid UUID string: not-a-uuid");
});

test("refuses procedures inside a transaction, as Trino does", async () => {
  const { statement } = await runReadOnly(
    upstream.url,
    "CALL system.sync_partition_metadata('sales', 'orders', 'FULL')",
  );
  assert.deepEqual(errorOf(statement.final), {
    name: "NOT_SUPPORTED",
    code: 13,
    message: "Procedures cannot be called within a transaction (use autocommit mode)",
  });
});

test("a write in a read-write transaction: Hive writes only in autocommit", async () => {
  const start = await run(upstream.url, "START TRANSACTION READ WRITE", {
    ...TRINO_SESSION,
    "X-Trino-Transaction-Id": "NONE",
  });
  const session = { ...TRINO_SESSION, "X-Trino-Transaction-Id": start.header("x-trino-started-transaction-id") ?? "" };
  const insert = await run(upstream.url, "INSERT INTO orders SELECT * FROM orders", session);
  assert.deepEqual(errorOf(insert.final), {
    name: "AUTOCOMMIT_WRITE_CONFLICT",
    code: 25,
    message: "Catalog only supports writes using autocommit: hive",
  });
  await run(upstream.url, "ROLLBACK", session);
});

test("session statements are allowed in a read-only transaction and are not writes", async () => {
  upstream.resetStats();
  const use = await runReadOnly(upstream.url, "USE hive.ads");
  assert.equal(use.statement.final.error, undefined);
  assert.equal(use.statement.header("x-trino-set-schema"), "ads");
  const set = await runReadOnly(upstream.url, "SET SESSION query_max_run_time = '1h'");
  assert.equal(set.statement.final.error, undefined);
  assert.equal(upstream.stats().writes, 0);
});

test("uses the X-Presto-* names with a Presto client", async () => {
  const presto = { "X-Presto-User": "bob", "X-Presto-Catalog": "hive", "X-Presto-Schema": "sales" };
  const { start, statement, end } = await runReadOnly(upstream.url, "SELECT count(*) FROM campaigns", {
    ...presto,
    "X-Presto-Schema": "ads",
  });
  assert.match(start.header("x-presto-started-transaction-id") ?? "", UUID);
  assert.equal(start.header("x-trino-started-transaction-id"), null);
  assert.deepEqual(statement.rows, [[200]]);
  assert.equal(end.header("x-presto-clear-transaction-id"), "true");
});

test("forgets transactions idle for longer than the idle timeout", async (t) => {
  const short = await startPrestoUpstream({ queuedPolls: 0, runningPolls: 0, transactionIdleTimeoutMs: 50 });
  t.after(() => short.close());
  const start = await run(short.url, "START TRANSACTION READ ONLY", {
    ...TRINO_SESSION,
    "X-Trino-Transaction-Id": "NONE",
  });
  const id = start.header("x-trino-started-transaction-id") ?? "";
  await new Promise((resolve) => setTimeout(resolve, 120));
  const late = await run(short.url, "SELECT 1", { ...TRINO_SESSION, "X-Trino-Transaction-Id": id });
  assert.equal(late.final.error?.errorName, "UNKNOWN_TRANSACTION");
  assert.equal(short.stats().transactions.open, 0);
});
