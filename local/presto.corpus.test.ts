/**
 * The local coordinator against the read-only corpus (presto.corpus.ts): inside a read-only
 * transaction no disguised write writes (the covering third of the corpus, see
 * coveringDisguisedWrites), harmless reads run, and outside one the corpus's
 * writes do write (so the coordinator can see a bypass).
 * Run: `npm exec -- node --test local/presto.corpus.test.ts`
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import {
  coveringDisguisedWrites,
  DISGUISES,
  disguisedWrites,
  HARMLESS,
  WRITE_STATEMENT_KINDS,
  WRITE_STATEMENTS,
} from "./presto.corpus.ts";
import { run, runReadOnly } from "./presto.protocol.testing.ts";
import type { PrestoUpstream } from "./presto.upstream.ts";
import { startPrestoUpstream } from "./presto.upstream.ts";

let upstream: PrestoUpstream;
before(async () => {
  upstream = await startPrestoUpstream({ queuedPolls: 0, runningPolls: 0 });
});
after(() => upstream.close());

/** What a write could change: row counts, tables, schemas. */
async function snapshot(url: string): Promise<unknown> {
  const rows = async (sql: string) => (await run(url, sql)).rows;
  return {
    orders: await rows("SELECT count(*), sum(total), max(status) FROM hive.sales.orders"),
    customers: await rows("SELECT count(*) FROM hive.sales.customers"),
    tables: await rows("SHOW TABLES FROM hive.sales"),
    columns: await rows("DESCRIBE hive.sales.orders"),
    schemas: await rows("SHOW SCHEMAS FROM hive"),
  };
}

test("the coordinator's share of the corpus keeps every statement, every disguise, every disguise on every kind", () => {
  const cases = coveringDisguisedWrites();
  assert.ok(cases.length < disguisedWrites().length / 2, `${cases.length} cases`);
  assert.deepEqual(new Set(cases.map((c) => c.statement)), new Set(WRITE_STATEMENTS));
  for (const [kind, statements] of Object.entries(WRITE_STATEMENT_KINDS)) {
    const tried = new Set(cases.filter((c) => statements.includes(c.statement)).map((c) => c.disguise));
    assert.deepEqual(tried, new Set(DISGUISES.map((d) => d.name)), kind);
  }
  const asIs = cases.filter((c) => c.disguise === "as is").map((c) => c.statement);
  assert.deepEqual(asIs, [...WRITE_STATEMENTS]);
});

// Every statement in every disguise goes through the guard in workers/presto/presto.corpus.test.ts
// (a parse each); here each case is a transaction over HTTP, so the covering third of them.
test("no disguised write writes when sent inside a read-only transaction", async () => {
  const cases = coveringDisguisedWrites();
  assert.ok(cases.length > 600, `${cases.length} cases`);
  const before = await snapshot(upstream.url);
  upstream.resetStats();
  let next = 0;
  const worker = async () => {
    while (next < cases.length) await runReadOnly(upstream.url, (cases[next++] as { sql: string }).sql);
  };
  await Promise.all(Array.from({ length: 8 }, worker));
  const { writes, lastWrites, transactions } = upstream.stats();
  assert.equal(writes, 0, `these wrote: ${JSON.stringify(lastWrites)}`);
  assert.equal(transactions.started, cases.length);
  assert.deepEqual(await snapshot(upstream.url), before);
});

test("runs the harmless reads that contain write words, and they write nothing", async () => {
  upstream.resetStats();
  for (const { sql, rows } of HARMLESS) {
    const { statement } = await runReadOnly(upstream.url, sql);
    assert.equal(statement.final.error, undefined, `${JSON.stringify(sql)}: ${statement.final.error?.message}`);
    if (rows) assert.deepEqual(statement.rows, rows, sql);
  }
  assert.equal(upstream.stats().writes, 0);
});

test("outside a transaction the corpus's writes do write: a bypass would show", async (t) => {
  const own = await startPrestoUpstream({ queuedPolls: 0, runningPolls: 0 });
  t.after(() => own.close());
  const insert = WRITE_STATEMENTS[0] as string;
  for (const sql of [insert, `EXPLAIN --\r${"ANALYZE"} ${insert}`, `-- SELECT 1\r${insert}`]) {
    const before = own.stats().writes;
    const { final } = await run(own.url, sql);
    assert.equal(final.error, undefined, final.error?.message);
    assert.equal(own.stats().writes, before + 1, sql);
  }
});
