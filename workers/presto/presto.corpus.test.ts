import { describe, expect, inject, it } from "vitest";
import { DISGUISES, disguisedWrites, HARMLESS, WRITE_STATEMENTS } from "../../local/presto.corpus";
import { BadArgumentError } from "../../shared/mcp/errors";
import { connect, textOf } from "../../test/workers/mcp-client";
import { assertReadOnlySql } from "./presto.statement";

/**
 * The read-only corpus (local/presto.corpus.ts) against the guard, and through presto_run_query
 * against the local coordinator: no disguised write is accepted or reaches the coordinator, and
 * the harmless reads that contain write words run. local/presto.corpus.test.ts sends the same
 * corpus straight to the coordinator inside read-only transactions.
 */

const upstream = inject("upstreamUrl");
const ALICE = "alice; groups=data-eng,ads";

async function upstreamStats(): Promise<{ statements: number; writes: number; lastStatements: string[] }> {
  return (await fetch(`${upstream}/_local/stats`)).json();
}

function refusal(sql: string): string {
  try {
    assertReadOnlySql(sql);
  } catch (error) {
    expect(error).toBeInstanceOf(BadArgumentError);
    expect((error as BadArgumentError).argument).toBe("sql");
    return (error as Error).message;
  }
  throw new Error(`the guard accepted ${JSON.stringify(sql)}`);
}

describe("the guard refuses every write in every disguise", () => {
  it.each(disguisedWrites())("$name", ({ sql }) => {
    refusal(sql);
  });

  it.each(WRITE_STATEMENTS)("parses %s as Trino SQL and refuses it by its kind", (sql) => {
    expect(refusal(sql)).toMatch(/statements are not allowed: this tool only reads|PRESTO_PASSTHROUGH_CATALOGS/);
  });
});

describe("the statements the read-only transaction does not refuse", () => {
  // Trino runs these outside the connectors' transactions (CreateCatalogTask and DropCatalogTask
  // call the catalog manager; session statements change only the session): inside START
  // TRANSACTION READ ONLY they still run. The guard is the only layer that refuses them.
  it.each([
    ["CREATE CATALOG evil USING memory", "CREATE CATALOG statements are not allowed"],
    ["DROP CATALOG hive", "DROP CATALOG statements are not allowed"],
    ["SET SESSION query_max_run_time = '1h'", "SET SESSION statements are not allowed"],
    ["RESET SESSION query_max_run_time", "RESET SESSION statements are not allowed"],
    ["USE hive.sales", "USE statements are not allowed"],
    ["PREPARE p FROM DELETE FROM hive.sales.orders", "PREPARE statements are not allowed"],
  ])("the guard refuses %s", (sql, reason) => {
    expect(refusal(sql)).toContain(reason);
  });
});

describe("through presto_run_query", () => {
  const shown = new Set([
    "as is",
    "a -- comment ended by CR",
    "under EXPLAIN --\\rANALYZE",
    "comments between all words",
  ]);
  const sample = WRITE_STATEMENTS.flatMap((statement) =>
    DISGUISES.filter((disguise) => shown.has(disguise.name)).map((disguise) => disguise.apply(statement)),
  );

  it(`refuses ${sample.length} disguised writes without sending anything to the coordinator`, async () => {
    expect(sample.length).toBe(WRITE_STATEMENTS.length * shown.size);
    const { client } = await connect({ user: ALICE });
    const before = await upstreamStats();
    for (const sql of sample) {
      const result = (await client.callTool({ name: "presto_run_query", arguments: { sql } })) as { isError?: boolean };
      expect(result.isError, sql).toBe(true);
      expect(textOf(result)).toContain('Invalid argument "sql"');
    }
    const after = await upstreamStats();
    expect(after.statements).toBe(before.statements);
    expect(after.writes).toBe(before.writes);
  });

  it.each(HARMLESS)("runs $sql", async ({ sql, rows }) => {
    const { client } = await connect({ user: ALICE });
    const before = await upstreamStats();
    const result = (await client.callTool({ name: "presto_run_query", arguments: { sql } })) as {
      isError?: boolean;
      structuredContent?: { rowCount: number };
    };
    expect(result.isError, textOf(result)).toBeFalsy();
    if (rows) expect(result.structuredContent?.rowCount).toBe(rows.length);
    expect((await upstreamStats()).writes).toBe(before.writes);
  });
});
