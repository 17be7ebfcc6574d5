import { describe, expect, it } from "vitest";
import { BadArgumentError } from "../../shared/mcp/errors";
import { assertIdentifier, assertReadOnlySql, explainStatement, quoteIdentifier } from "./presto.statement";

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
    ["SELECT 1 --\r", "select", "SELECT 1"],
    ["SELECT 1 -- DROP TABLE x\r\n;", "select", "SELECT 1"],
    ["SELECT U&'\\0041\\+01F600' AS a", "select"],
    ["SELECT U&'I''NSERT' AS a", "select"],
    ['SELECT 1 AS "INSERT", 2 AS "DROP TABLE x; --"', "select"],
    ["SELECT 'a\\' AS backslash_is_not_an_escape", "select"],
    ["SELECT '😀; DROP' AS e, \"ü\" FROM t;", "select", "SELECT '😀; DROP' AS e, \"ü\" FROM t"],
    ["/* /* not nested */ SELECT 1", "select", "SELECT 1"],
    ["WITH FUNCTION meaning() RETURNS bigint RETURN 42 SELECT meaning()", "select"],
    ["SHOW STATS FOR (SELECT * FROM hive.sales.orders)", "show"],
    ["SHOW SESSION LIKE 'query%'", "show"],
    ["SHOW FUNCTIONS", "show"],
    ["SHOW GRANTS ON TABLE hive.sales.orders", "show"],
    ["DESCRIBE INPUT q", "describe"],
    ["EXPLAIN (TYPE IO, FORMAT JSON) VALUES 1", "explain"],
  ];
  it.each(accepted)("%s", (sql, kind, statement) => {
    expect(assertReadOnlySql(sql)).toEqual({ kind, statement: statement ?? sql });
  });
});

describe("assertReadOnlySql refuses everything else", () => {
  const invalid = "the query is not valid Trino SQL";
  const refused: [sql: string, reason: string][] = [
    ["", "the query is empty"],
    ["   \n\t", "the query is empty"],
    ["-- only a comment", "the query is empty"],
    ["/* only a comment */", "the query is empty"],
    [";", `${invalid} (line 1, column 1: extraneous input ';'`],
    ["/* only a comment */ ;", `${invalid} (line 1, column 22`],
    ["SELECT 1; DROP TABLE x", "only one statement is allowed, found 2"],
    ["SELECT 1; SELECT 2;", "only one statement is allowed, found 2"],
    ["SELECT 1;SELECT 2;SELECT 3", "only one statement is allowed, found 3"],
    ["SELECT 1 SELECT 2", "only one statement is allowed, found 2"],
    ["SELECT 'a'; DELETE FROM t WHERE x = ';'", "only one statement is allowed, found 2"],
    ["SELECT 1 /* c */; /* c */ UPDATE t SET a = 1", "only one statement is allowed, found 2"],
    ["explain analyze verbose select 1", "EXPLAIN ANALYZE is not allowed"],
    ["EXPLAIN ANALYZE hive.sales.orders", "EXPLAIN ANALYZE is not allowed"],
    ["DROP TABLE x; SELECT 1", "DROP TABLE statements are not allowed"],
    ["SELECT 1;;", `${invalid} (line 1, column 10: extraneous input ';'`],
    ["; SELECT 1", invalid],
    ["INSERT INTO t VALUES 1", "INSERT INTO statements are not allowed: this tool only reads"],
    ["insert into t select * from u", "INSERT INTO statements are not allowed"],
    ["UPDATE t SET a = 1", "UPDATE statements are not allowed"],
    ["UPDATE data SET a = 1", "UPDATE statements are not allowed"],
    ["DELETE FROM hive.sales.orders", "DELETE FROM statements are not allowed"],
    ["MERGE INTO t USING u ON t.id = u.id WHEN MATCHED THEN DELETE", "MERGE INTO statements are not allowed"],
    ["CREATE TABLE t AS SELECT 1", "CREATE TABLE statements are not allowed"],
    ["CREATE OR REPLACE VIEW v AS SELECT 1", "CREATE OR REPLACE VIEW statements are not allowed"],
    ["CREATE SCHEMA IF NOT EXISTS hive.x", "CREATE SCHEMA statements are not allowed"],
    ["CREATE FUNCTION f() RETURNS int RETURN 1", "CREATE FUNCTION statements are not allowed"],
    ["DROP TABLE hive.sales.orders", "DROP TABLE statements are not allowed"],
    ["DROP MATERIALIZED VIEW v", "DROP MATERIALIZED VIEW statements are not allowed"],
    ["ALTER TABLE t ADD COLUMN c bigint", "ALTER TABLE statements are not allowed"],
    ["TRUNCATE TABLE t", "TRUNCATE TABLE statements are not allowed"],
    ["GRANT SELECT ON t TO ROLE r", "GRANT statements are not allowed"],
    ["REVOKE SELECT ON t FROM ROLE r", "REVOKE statements are not allowed"],
    ["CALL system.sync_partition_metadata('sales', 'orders', 'FULL')", "CALL statements are not allowed"],
    ["SET SESSION query_max_run_time = '1h'", "SET SESSION statements are not allowed"],
    ["SET SESSION AUTHORIZATION bob", "SET SESSION statements are not allowed"],
    ["RESET SESSION query_max_run_time", "RESET SESSION statements are not allowed"],
    ["SET ROLE admin", "SET ROLE statements are not allowed"],
    ["SET TIME ZONE LOCAL", "SET TIME ZONE statements are not allowed"],
    ["USE hive.sales", "USE statements are not allowed"],
    ["PREPARE q FROM SELECT 1", "PREPARE statements are not allowed"],
    ["EXECUTE q", "EXECUTE statements are not allowed"],
    ["EXECUTE IMMEDIATE 'SELECT 1'", "EXECUTE IMMEDIATE statements are not allowed"],
    ["DEALLOCATE PREPARE q", "DEALLOCATE PREPARE statements are not allowed"],
    ["COMMENT ON TABLE t IS 'x'", "COMMENT ON TABLE statements are not allowed"],
    ["REFRESH MATERIALIZED VIEW v", "REFRESH MATERIALIZED VIEW statements are not allowed"],
    ["ANALYZE hive.sales.orders", "ANALYZE statements are not allowed"],
    ["START TRANSACTION", "START TRANSACTION statements are not allowed"],
    ["COMMIT", "COMMIT statements are not allowed"],
    ["ROLLBACK", "ROLLBACK statements are not allowed"],
    ["SHOW COMMENT ON TABLE t", "statements are not allowed"], // a dt-sql-parser extension Trino lacks
    ["/* SELECT */ DROP TABLE x", "DROP TABLE statements are not allowed"],
    ["-- SELECT\nDELETE FROM t", "DELETE FROM statements are not allowed"],
    ["(DELETE FROM t)", `${invalid} (line 1, column 2: mismatched input 'DELETE'`],
    ["WITH x AS (SELECT 1) INSERT INTO t SELECT * FROM x", `${invalid} (line 1, column 22: mismatched input 'INSERT'`],
    ["WITH x AS (SELECT 1) DELETE FROM t", invalid],
    ["WITH x AS (DELETE FROM t) SELECT 1", invalid],
    ["WITH x AS (SELECT 1), y AS (UPDATE t SET a = 1) SELECT 1", invalid],
    ["WITH x AS (SELECT 1)", `${invalid} (line 1, column 21: mismatched input '<EOF>'`],
    ["WITH x (SELECT 1) SELECT 1", invalid],
    ["WITH x AS (SELECT 1 SELECT 1", `${invalid} (line 1, column 21: missing ')' at 'SELECT')`],
    ["EXPLAIN ANALYZE SELECT 1", "EXPLAIN ANALYZE is not allowed: it runs the statement"],
    ["EXPLAIN ANALYZE VERBOSE SELECT 1;", "EXPLAIN ANALYZE is not allowed"],
    ["EXPLAIN ANALYZE DELETE FROM t", "EXPLAIN ANALYZE is not allowed"],
    ["EXPLAIN INSERT INTO t VALUES 1", "INSERT INTO statements are not allowed"],
    ["EXPLAIN (TYPE IO) DELETE FROM t", "DELETE FROM statements are not allowed"],
    ["EXPLAIN EXPLAIN ANALYZE SELECT 1", "EXPLAIN ANALYZE is not allowed"],
    ["EXPLAIN", `${invalid} (line 1, column 8`],
    ["SELECT * INTO t FROM u", `${invalid} (line 1, column 10: extraneous input 'INTO'`],
    ["FOO BAR", `${invalid} (line 1, column 1: mismatched input 'FOO'`],
    ["1", invalid],
    ["'SELECT 1'", invalid],
    ["((", invalid],
    ["SELECT 😀", `${invalid} (line 1, column 8: unexpected input '😀')`],
    ["SELECT 'unterminated", `${invalid} (line 1, column 8: a string literal is never closed)`],
    ["SELECT 'it''s", "a string literal is never closed"],
    ['SELECT "unterminated FROM t', `${invalid} (line 1, column 8: a quoted identifier is never closed)`],
    ["SELECT 1 /* unterminated", `${invalid} (line 1, column 11: a /* comment is never closed)`],
    ["SELECT 1\n  /* ; DROP TABLE x", `${invalid} (line 2, column 4: a /* comment is never closed)`],
    [`SELECT ${"(".repeat(33)}1${")".repeat(33)}`, "the query was not checked: it nests brackets more than 32 deep"],
  ];
  it.each(refused)("%s", (sql, reason) => {
    expect(refusal(sql)).toContain(reason);
  });

  it("names the argument in the message", () => {
    expect(refusal("DROP TABLE x")).toBe(
      'Invalid argument "sql": DROP TABLE statements are not allowed: this tool only reads',
    );
  });
});

describe("assertReadOnlySql and table functions", () => {
  it.each([
    "SELECT * FROM TABLE(sequence(start => 1, stop => 3))",
    "SELECT * FROM TABLE(system.builtin.sequence(start => 1, stop => 3))",
    "SELECT * FROM TABLE(exclude_columns(input => TABLE(hive.sales.orders), columns => DESCRIPTOR(total)))",
  ])("accepts Trino's built-in %s", (sql) => {
    expect(assertReadOnlySql(sql).kind).toBe("select");
  });

  it.each([
    [
      "SELECT * FROM TABLE(pg.system.query(query => 'DELETE FROM orders'))",
      "table function pg.system.query of catalog pg",
    ],
    ["SELECT * FROM TABLE(system.query(query => 'x'))", "needs its catalog named"],
    ["SELECT * FROM TABLE(query(query => 'x'))", "needs its catalog named"],
    ['SELECT * FROM TABLE("PG".system."query"(query => \'x\'))', "table function pg.system.query"],
    ["SELECT * FROM (SELECT * FROM TABLE(es.system.raw_query(index => 'i', query => '{}')))", "es.system.raw_query"],
    ["EXPLAIN SELECT * FROM TABLE(pg.system.query(query => 'x'))", "pg.system.query"],
    ["SELECT 1 WHERE EXISTS (SELECT * FROM TABLE(pg.system.query(query => 'x')))", "pg.system.query"],
  ])("refuses connector table functions: %s", (sql, reason) => {
    const message = refusal(sql);
    expect(message).toContain(reason);
    expect(message).toContain("PRESTO_PASSTHROUGH_CATALOGS");
  });

  it("allows them for catalogs on the allow list, resolving the session catalog", () => {
    const options = { passthroughCatalogs: ["pg"] };
    const sql = "SELECT * FROM TABLE(pg.system.query(query => 'SELECT 1'))";
    expect(assertReadOnlySql(sql, options).statement).toBe(sql);
    expect(
      assertReadOnlySql("SELECT * FROM TABLE(system.query(query => 'x'))", { ...options, catalog: "PG" }).kind,
    ).toBe("select");
    expect(() =>
      assertReadOnlySql("SELECT * FROM TABLE(system.query(query => 'x'))", { ...options, catalog: "hive" }),
    ).toThrow("table function system.query of catalog hive is not allowed");
  });
});

describe("assertReadOnlySql reads comments as Trino does", () => {
  it("ends a -- comment at CR: EXPLAIN --\\rANALYZE INSERT is EXPLAIN ANALYZE, refused", () => {
    const sql = "EXPLAIN --\rANALYZE INSERT INTO hive.sales.orders\nSELECT * FROM hive.sales.orders";
    expect(refusal(sql)).toContain("EXPLAIN ANALYZE is not allowed");
  });

  it("ends a -- comment at CRLF", () => {
    expect(refusal("SELECT 1 --\r\nDELETE FROM t")).toContain("only one statement is allowed, found 2");
  });
});

describe("explainStatement", () => {
  it("explains a checked statement without checking it again", () => {
    const read = assertReadOnlySql("SELECT 1 -- note\n;");
    expect(explainStatement(read, "distributed")).toEqual({
      statement: "EXPLAIN (TYPE DISTRIBUTED) SELECT 1",
      kind: "explain",
    });
  });

  it("refuses a statement that is already an EXPLAIN", () => {
    expect(() => explainStatement(assertReadOnlySql("EXPLAIN SELECT 1"), "logical")).toThrow(
      'Invalid argument "sql": give the statement itself, without EXPLAIN',
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
