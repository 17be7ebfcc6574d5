import { describe, expect, it } from "vitest";
import { BadArgumentError } from "../../shared/mcp/errors";
import { assertIdentifier, assertReadOnlySql, quoteIdentifier } from "./presto.statement";

function refusal(sql: string): string {
  try {
    assertReadOnlySql(sql);
  } catch (error) {
    expect(error).toBeInstanceOf(BadArgumentError);
    expect((error as BadArgumentError).argument).toBe("sql");
    return (error as Error).message;
  }
  throw new Error(`expected ${JSON.stringify(sql)} to be refused`);
}

describe("assertReadOnlySql accepts one read statement", () => {
  const accepted: [sql: string, kind: string, statement?: string][] = [
    ["SELECT 1", "select"],
    ["select * from hive.sales.orders", "select"],
    ["SeLeCt 1", "select"],
    ["SELECT 1;", "select", "SELECT 1"],
    ["SELECT 1 ;  \n", "select", "SELECT 1"],
    ["  SELECT 1 -- trailing comment", "select", "SELECT 1"],
    ["SELECT 1; -- done", "select", "SELECT 1"],
    ["-- leading comment\nSELECT 1", "select", "SELECT 1"],
    ["/* DELETE FROM t; */ SELECT 1", "select", "SELECT 1"],
    ["SELECT /* ; DROP TABLE x */ 1", "select", "SELECT /* ; DROP TABLE x */ 1"],
    ["SELECT 1 -- ; DROP TABLE x\n", "select", "SELECT 1"],
    ["SELECT 'a;b' AS x", "select"],
    ["SELECT 'it''s; DROP TABLE x' AS x", "select"],
    ["SELECT '--not a comment', '/* nor this */'", "select"],
    ['SELECT "weird;column" FROM t', "select"],
    ['SELECT "say ""hi""; DROP" FROM t', "select"],
    ["SELECT 'DELETE FROM t'", "select"],
    ["SELECT created, updated FROM hive.sales.customers WHERE name = 'INSERT'", "select"],
    ["(SELECT 1) UNION ALL (SELECT 2)", "select"],
    ["((SELECT 1))", "select"],
    ["TABLE hive.sales.orders", "select"],
    ["VALUES 1, 2, 3", "values"],
    ["values (1, 'a')", "values"],
    ["WITH x AS (SELECT 1 AS a) SELECT * FROM x", "select"],
    ["with x as (select 1), y as (select 2) select * from x, y", "select"],
    ["WITH RECURSIVE t(n) AS (VALUES 1 UNION ALL SELECT n + 1 FROM t WHERE n < 3) SELECT * FROM t", "select"],
    ['WITH "x;y" AS (SELECT \')\' AS a) SELECT * FROM "x;y"', "select"],
    ["WITH x AS (SELECT 1) (SELECT * FROM x)", "select"],
    ["WITH x AS (SELECT 1) VALUES 2", "values"],
    ["SHOW CATALOGS", "show"],
    ["show schemas from hive", "show"],
    ["SHOW TABLES FROM hive.sales LIKE '%;%'", "show"],
    ["SHOW CREATE TABLE hive.sales.orders", "show"],
    ["DESCRIBE hive.sales.orders", "describe"],
    ["DESC hive.sales.orders;", "describe", "DESC hive.sales.orders"],
    ["EXPLAIN SELECT * FROM hive.sales.orders", "explain"],
    ["EXPLAIN (TYPE DISTRIBUTED, FORMAT JSON) SELECT 1", "explain"],
    ["explain (type validate) with x as (select 1) select * from x", "explain"],
    ["EXPLAIN (SELECT 1)", "explain"],
    ["EXPLAIN SHOW TABLES", "explain"],
  ];
  it.each(accepted)("%s", (sql, kind, statement) => {
    expect(assertReadOnlySql(sql)).toEqual({ kind, statement: statement ?? sql });
  });
});

describe("assertReadOnlySql refuses everything else", () => {
  const refused: [sql: string, reason: string][] = [
    ["", "the query is empty"],
    ["   \n\t", "the query is empty"],
    [";", "the query is empty"],
    ["-- only a comment", "the query is empty"],
    ["/* only a comment */ ;", "the query is empty"],
    ["SELECT 1; DROP TABLE x", "only one statement is allowed, found 2"],
    ["SELECT 1; SELECT 2;", "only one statement is allowed, found 2"],
    ["SELECT 1;SELECT 2;SELECT 3", "only one statement is allowed, found 3"],
    ["SELECT 'a'; DELETE FROM t WHERE x = ';'", "only one statement is allowed, found 2"],
    ["SELECT 1 /* c */; /* c */ UPDATE t SET a = 1", "only one statement is allowed, found 2"],
    ["SELECT 1;;", '";" is only allowed once'],
    ["; SELECT 1", '";" is only allowed once'],
    ["INSERT INTO t VALUES 1", "INSERT statements are not allowed: this tool only reads"],
    ["insert into t select * from u", "INSERT statements are not allowed"],
    ["UPDATE t SET a = 1", "UPDATE statements are not allowed"],
    ["DELETE FROM hive.sales.orders", "DELETE statements are not allowed"],
    ["MERGE INTO t USING u ON t.id = u.id WHEN MATCHED THEN DELETE", "MERGE statements are not allowed"],
    ["CREATE TABLE t AS SELECT 1", "CREATE statements are not allowed"],
    ["DROP TABLE hive.sales.orders", "DROP statements are not allowed"],
    ["ALTER TABLE t ADD COLUMN c bigint", "ALTER statements are not allowed"],
    ["TRUNCATE TABLE t", "TRUNCATE statements are not allowed"],
    ["GRANT SELECT ON t TO ROLE r", "GRANT statements are not allowed"],
    ["REVOKE SELECT ON t FROM ROLE r", "REVOKE statements are not allowed"],
    ["CALL system.sync_partition_metadata('sales', 'orders', 'FULL')", "CALL statements are not allowed"],
    ["SET SESSION query_max_run_time = '1h'", "SET SESSION statements are not allowed"],
    ["RESET SESSION query_max_run_time", "RESET SESSION statements are not allowed"],
    ["USE hive.sales", "USE statements are not allowed"],
    ["PREPARE q FROM SELECT 1", "PREPARE statements are not allowed"],
    ["EXECUTE q", "EXECUTE statements are not allowed"],
    ["DEALLOCATE PREPARE q", "DEALLOCATE statements are not allowed"],
    ["COMMENT ON TABLE t IS 'x'", "COMMENT statements are not allowed"],
    ["REFRESH MATERIALIZED VIEW v", "REFRESH statements are not allowed"],
    ["ANALYZE hive.sales.orders", "ANALYZE statements are not allowed"],
    ["START TRANSACTION", "START TRANSACTION statements are not allowed"],
    ["COMMIT", "COMMIT statements are not allowed"],
    ["ROLLBACK", "ROLLBACK statements are not allowed"],
    ["/* SELECT */ DROP TABLE x", "DROP statements are not allowed"],
    ["-- SELECT\nDELETE FROM t", "DELETE statements are not allowed"],
    ["(DELETE FROM t)", "DELETE statements are not allowed"],
    ["WITH x AS (SELECT 1) INSERT INTO t SELECT * FROM x", "INSERT statements are not allowed"],
    ["WITH x AS (SELECT 1) DELETE FROM t", "DELETE statements are not allowed"],
    ["WITH x AS (DELETE FROM t) SELECT 1", "DELETE statements are not allowed"],
    ["WITH x AS (SELECT 1), y AS (UPDATE t SET a = 1) SELECT 1", "UPDATE statements are not allowed"],
    ["WITH x AS (SELECT 1)", "the WITH clause is not followed by a query"],
    ["WITH x (SELECT 1) SELECT 1", "expected AS"],
    ["WITH x AS (SELECT 1 SELECT 1", 'a "(" is never closed'],
    ["EXPLAIN ANALYZE SELECT 1", "EXPLAIN ANALYZE is not allowed: it runs the statement"],
    ["explain analyze verbose select 1", "EXPLAIN ANALYZE is not allowed"],
    ["EXPLAIN ANALYZE DELETE FROM t", "EXPLAIN ANALYZE is not allowed"],
    ["EXPLAIN INSERT INTO t VALUES 1", "INSERT statements are not allowed"],
    ["EXPLAIN (TYPE IO) DELETE FROM t", "DELETE statements are not allowed"],
    ["EXPLAIN", "EXPLAIN must be followed by a statement"],
    ["SELECT * INTO t FROM u", "INTO is not allowed"],
    ["WITH x AS (SELECT 1) SELECT * INTO t FROM x", "INTO is not allowed"],
    ["FOO BAR", "a statement starting with FOO is not allowed"],
    ["1", "a statement starting with 1 is not allowed"],
    ["'SELECT 1'", "a statement starting with 'SELECT 1' is not allowed"],
    ["((", 'expected a query after "("'],
    ["SELECT 'unterminated", "unterminated string literal starting at line 1, column 8"],
    ["SELECT 'it''s", "unterminated string literal"],
    ['SELECT "unterminated FROM t', "unterminated quoted identifier starting at line 1, column 8"],
    ["SELECT 1 /* unterminated", "unterminated /* comment starting at line 1, column 10"],
    ["SELECT 1\n  /* ; DROP TABLE x", "unterminated /* comment starting at line 2, column 3"],
  ];
  it.each(refused)("%s", (sql, reason) => {
    expect(refusal(sql)).toContain(reason);
  });

  it("names the argument in the message", () => {
    expect(refusal("DROP TABLE x")).toBe(
      'Invalid argument "sql": DROP statements are not allowed: this tool only reads',
    );
  });
});

describe("quoteIdentifier", () => {
  it.each([
    ["orders", '"orders"'],
    ["Mixed Case", '"Mixed Case"'],
    ['a"b', '"a""b"'],
    ['"', '""""'],
  ])("%s → %s", (name, quoted) => {
    expect(quoteIdentifier(name)).toBe(quoted);
  });
});

describe("assertIdentifier", () => {
  it.each(["hive", "sales_2024", "ads-prod", "$partitions", "a".repeat(128)])("accepts %s", (name) => {
    expect(() => assertIdentifier("table", name)).not.toThrow();
  });

  it.each(["", "a.b", "a b", 'x"', "x;drop", "é", "a".repeat(129)])("refuses %j", (name) => {
    expect(() => assertIdentifier("table", name)).toThrow(BadArgumentError);
    try {
      assertIdentifier("schema", name);
    } catch (error) {
      expect((error as BadArgumentError).argument).toBe("schema");
    }
  });
});
