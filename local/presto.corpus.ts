/**
 * A corpus of SQL for the read-only guarantee, shared by the guard's tests (workerd) and the
 * local coordinator's (Node): every kind of Trino statement that writes data, changes schema,
 * grants, or changes session or transaction state, each in many disguises (line terminators,
 * comments between keywords, comments that look nested, Unicode escapes, quoted identifiers,
 * EXPLAIN ANALYZE), and harmless reads that merely contain such words in strings, quoted
 * identifiers or comments.
 *
 * Every disguised statement must be refused by the guard, and, sent to the coordinator inside a
 * read-only transaction, be refused there or not write. Every harmless one must run.
 */

/** Statements that write, change schema or grants, or change session/transaction state, by kind. */
export const WRITE_STATEMENT_KINDS: Readonly<Record<string, readonly string[]>> = {
  Data: [
    "INSERT INTO hive.sales.orders SELECT * FROM hive.sales.orders",
    "INSERT INTO hive.sales.customers (customer_id, name) VALUES (99999, 'corpus')",
    "UPDATE hive.sales.orders SET status = 'corpus' WHERE order_id = 1",
    "DELETE FROM hive.sales.orders WHERE order_id = 1",
    "DELETE FROM hive.sales.orders",
    "MERGE INTO hive.sales.orders t USING hive.sales.orders s ON t.order_id = s.order_id WHEN MATCHED THEN DELETE",
    "TRUNCATE TABLE hive.sales.orders",
  ],
  Tables: [
    "CREATE TABLE hive.sales.corpus_t (id bigint)",
    "CREATE TABLE IF NOT EXISTS hive.sales.corpus_t (id bigint) WITH (format = 'ORC')",
    "CREATE TABLE hive.sales.corpus_t AS SELECT * FROM hive.sales.orders",
    "CREATE OR REPLACE TABLE hive.sales.orders AS SELECT 1 AS id",
    "DROP TABLE hive.sales.orders",
    "DROP TABLE IF EXISTS hive.sales.orders",
    "ALTER TABLE hive.sales.orders ADD COLUMN corpus bigint",
    "ALTER TABLE hive.sales.orders DROP COLUMN status",
    "ALTER TABLE hive.sales.orders RENAME COLUMN status TO state",
    "ALTER TABLE hive.sales.orders RENAME TO hive.sales.corpus_orders",
    "ALTER TABLE hive.sales.orders ALTER COLUMN total SET DATA TYPE varchar",
    "ALTER TABLE hive.sales.orders SET PROPERTIES format = 'ORC'",
    "ALTER TABLE hive.sales.orders EXECUTE optimize(file_size_threshold => '10MB')",
    "ALTER TABLE hive.sales.orders SET AUTHORIZATION USER bob",
    "COMMENT ON TABLE hive.sales.orders IS 'corpus'",
    "COMMENT ON COLUMN hive.sales.orders.status IS 'corpus'",
    "ANALYZE hive.sales.orders",
  ],
  "Views and materialized views": [
    "CREATE VIEW hive.sales.corpus_v AS SELECT * FROM hive.sales.orders",
    "CREATE OR REPLACE VIEW hive.sales.corpus_v SECURITY INVOKER AS SELECT 1 AS x",
    "DROP VIEW hive.sales.corpus_v",
    "ALTER VIEW hive.sales.corpus_v RENAME TO hive.sales.corpus_w",
    "ALTER VIEW hive.sales.corpus_v SET AUTHORIZATION USER bob",
    "COMMENT ON VIEW hive.sales.corpus_v IS 'corpus'",
    "CREATE MATERIALIZED VIEW hive.sales.corpus_mv AS SELECT * FROM hive.sales.orders",
    "CREATE OR REPLACE MATERIALIZED VIEW hive.sales.corpus_mv AS SELECT 1 AS x",
    "REFRESH MATERIALIZED VIEW hive.sales.corpus_mv",
    "DROP MATERIALIZED VIEW hive.sales.corpus_mv",
    "ALTER MATERIALIZED VIEW hive.sales.corpus_mv RENAME TO hive.sales.corpus_mv2",
    "ALTER MATERIALIZED VIEW hive.sales.corpus_mv SET PROPERTIES partitioning = ARRAY['x']",
  ],
  "Schemas and catalogs": [
    "CREATE SCHEMA hive.corpus",
    "CREATE SCHEMA IF NOT EXISTS hive.corpus WITH (location = 's3://corpus/')",
    "DROP SCHEMA hive.sales CASCADE",
    "ALTER SCHEMA hive.sales RENAME TO corpus_sales",
    "ALTER SCHEMA hive.sales SET AUTHORIZATION USER bob",
    "CREATE CATALOG corpus USING memory",
    "DROP CATALOG hive",
  ],
  "Functions and procedures": [
    "CREATE FUNCTION hive.sales.meaning() RETURNS bigint RETURN 42",
    "CREATE OR REPLACE FUNCTION hive.sales.meaning() RETURNS bigint RETURN 42",
    "DROP FUNCTION hive.sales.meaning()",
    "CALL system.sync_partition_metadata('sales', 'orders', 'FULL')",
    "CALL hive.system.drop_stats('sales', 'orders')",
  ],
  "Access control": [
    "GRANT SELECT ON hive.sales.orders TO USER bob",
    "GRANT ALL PRIVILEGES ON SCHEMA hive.sales TO ROLE analyst WITH GRANT OPTION",
    "REVOKE SELECT ON hive.sales.orders FROM USER bob",
    "DENY DELETE ON hive.sales.orders TO USER bob",
    "CREATE ROLE analyst",
    "DROP ROLE analyst",
    "GRANT analyst TO USER bob",
    "REVOKE analyst FROM USER bob",
    "SET ROLE ALL",
    "SET ROLE analyst IN hive",
  ],
  Session: [
    "SET SESSION query_max_run_time = '1h'",
    "SET SESSION hive.insert_existing_partitions_behavior = 'OVERWRITE'",
    "RESET SESSION query_max_run_time",
    "SET SESSION AUTHORIZATION bob",
    "RESET SESSION AUTHORIZATION",
    "SET PATH hive.sales",
    "SET TIME ZONE 'UTC'",
    "SET TIME ZONE LOCAL",
    "USE hive.ads",
  ],
  "Prepared statements": [
    "PREPARE corpus_q FROM INSERT INTO hive.sales.orders SELECT * FROM hive.sales.orders",
    "EXECUTE corpus_q",
    "EXECUTE corpus_q USING 1, 'x'",
    "EXECUTE IMMEDIATE 'INSERT INTO hive.sales.orders SELECT * FROM hive.sales.orders'",
    "DEALLOCATE PREPARE corpus_q",
  ],
  Transactions: [
    "START TRANSACTION",
    "START TRANSACTION READ WRITE",
    "START TRANSACTION ISOLATION LEVEL SERIALIZABLE, READ WRITE",
    "COMMIT",
    "COMMIT WORK",
    "ROLLBACK",
  ],
  "Table functions that pass SQL text to the connector's database": [
    "SELECT * FROM TABLE(hive.system.query(query => 'DELETE FROM orders'))",
    "SELECT * FROM TABLE(system.query(query => 'DROP TABLE orders'))",
    "SELECT count(*) FROM TABLE(query(query => 'TRUNCATE orders'))",
    "WITH x AS (SELECT * FROM TABLE(hive.system.raw_query(index => 'orders', query => '{}'))) SELECT * FROM x",
  ],
};

/** Every statement of every kind. */
export const WRITE_STATEMENTS: readonly string[] = Object.values(WRITE_STATEMENT_KINDS).flat();

export interface Disguise {
  name: string;
  apply(sql: string): string;
}

const firstSpace = (sql: string, by: string): string => sql.replace(" ", by);

/** Ways to dress a statement up; each still reaches the write when Trino reads it. */
export const DISGUISES: readonly Disguise[] = [
  { name: "as is", apply: (sql) => sql },
  { name: "in lower case", apply: (sql) => sql.toLowerCase() },
  {
    name: "in mixed case",
    apply: (sql) => sql.replace(/[a-z]/gi, (c, at) => (at % 2 ? c.toLowerCase() : c.toUpperCase())),
  },
  { name: "CR between its first keywords", apply: (sql) => firstSpace(sql, "\r") },
  { name: "CRLF between its first keywords", apply: (sql) => firstSpace(sql, "\r\n") },
  { name: "tab and LF", apply: (sql) => sql.replaceAll(" ", "\t\n") },
  { name: "a -- comment ended by CR", apply: (sql) => firstSpace(sql, " -- SELECT\r") },
  { name: "a -- comment ended by CRLF", apply: (sql) => firstSpace(sql, " -- SELECT\r\n") },
  { name: "comments between all words", apply: (sql) => sql.replaceAll(" ", "/* SELECT */") },
  { name: "after a comment that looks nested", apply: (sql) => `/* SELECT /* */ ${sql}` },
  { name: "after a comment line ended by CR", apply: (sql) => `-- SELECT 1\r${sql}` },
  { name: "with a trailing ; and comment", apply: (sql) => `${sql}; -- SELECT 1` },
  { name: "after a read whose comment ends at CR", apply: (sql) => `SELECT 1 --\r; ${sql}` },
  { name: "after a string ending in a backslash", apply: (sql) => `SELECT 'a\\'; ${sql}` },
  { name: "after a Unicode-escaped quote", apply: (sql) => `SELECT U&'\\0027'; ${sql}` },
  { name: "after a quoted identifier holding a quote", apply: (sql) => `SELECT 1 AS "x"";"; ${sql}` },
  // Not `SELECT 1 COMMIT`: many statement words are non-reserved, so that is `SELECT 1 AS COMMIT`.
  { name: "after a read, no semicolon", apply: (sql) => `VALUES 1 ${sql}` },
  { name: "under EXPLAIN ANALYZE", apply: (sql) => `EXPLAIN ANALYZE ${sql}` },
  { name: "under EXPLAIN ANALYZE VERBOSE with comments", apply: (sql) => `EXPLAIN/**/ANALYZE/* */VERBOSE ${sql}` },
  { name: "under EXPLAIN --\\rANALYZE", apply: (sql) => `EXPLAIN --\rANALYZE ${sql}` },
  { name: "under EXPLAIN -- c\\r\\nANALYZE", apply: (sql) => `EXPLAIN -- c\r\nANALYZE ${sql}` },
  { name: "under EXPLAIN (TYPE IO)", apply: (sql) => `EXPLAIN (TYPE IO) ${sql}` },
  { name: "under PREPARE", apply: (sql) => `PREPARE corpus_p FROM ${sql}` },
];

export interface CorpusCase {
  name: string;
  sql: string;
}

/** Every write statement in every disguise. */
export function disguisedWrites(): CorpusCase[] {
  return WRITE_STATEMENTS.flatMap((statement) =>
    DISGUISES.map((disguise) => ({ name: `${statement} — ${disguise.name}`, sql: disguise.apply(statement) })),
  );
}

/** How many parts `coveringDisguisedWrites` cuts the disguises into. */
export const COVERING_STRIDE = 3;

/**
 * A third of `disguisedWrites()` that keeps every distinct pairing, for the local coordinator's
 * read-only-transaction test (a case there is a transaction over HTTP, not a parse): every
 * statement as is and in every third disguise (the next statement, the next third), so every
 * statement is tried, every disguise, and every disguise on every kind of statement (each kind has
 * at least COVERING_STRIDE statements in a row). What is left out differs only in which table or
 * column a statement of the same kind names, in the same disguise. The guard's tests (workerd,
 * a parse per case) keep every statement in every disguise.
 */
export function coveringDisguisedWrites(): (CorpusCase & { statement: string; disguise: string })[] {
  return WRITE_STATEMENTS.flatMap((statement, at) =>
    DISGUISES.filter((_, d) => d === 0 || d % COVERING_STRIDE === at % COVERING_STRIDE).map((disguise) => ({
      name: `${statement} — ${disguise.name}`,
      sql: disguise.apply(statement),
      statement,
      disguise: disguise.name,
    })),
  );
}

export interface HarmlessCase {
  sql: string;
  /** The rows it answers, where the local coordinator can check them. */
  rows?: unknown[][];
}

/** Reads that contain write words in strings, quoted identifiers and comments: they must run. */
export const HARMLESS: readonly HarmlessCase[] = [
  {
    sql: "SELECT 'INSERT INTO hive.sales.orders SELECT * FROM hive.sales.orders' AS s",
    rows: [["INSERT INTO hive.sales.orders SELECT * FROM hive.sales.orders"]],
  },
  { sql: "SELECT 'DROP TABLE hive.sales.orders; --' AS s", rows: [["DROP TABLE hive.sales.orders; --"]] },
  { sql: "SELECT 'x'';DELETE FROM hive.sales.orders;--' AS s", rows: [["x';DELETE FROM hive.sales.orders;--"]] },
  { sql: "SELECT 'a\\' AS s", rows: [["a\\"]] },
  { sql: "SELECT U&'\\0049NSERT \\0049NTO' AS s", rows: [["INSERT INTO"]] },
  { sql: "SELECT U&'it''s; DROP TABLE x' AS s", rows: [["it's; DROP TABLE x"]] },
  { sql: 'SELECT 1 AS "INSERT", 2 AS "DELETE FROM hive.sales.orders; --"', rows: [[1, 2]] },
  { sql: 'SELECT count(*) AS "EXPLAIN ANALYZE" FROM hive.sales.orders', rows: [[10_000]] },
  { sql: 'WITH "UPDATE" AS (SELECT 1 AS x) SELECT x FROM "UPDATE"', rows: [[1]] },
  { sql: 'SELECT "status" AS "COMMIT" FROM hive.sales.orders WHERE order_id = 1' },
  { sql: "SELECT 1 AS n -- ; DROP TABLE hive.sales.orders\r\n", rows: [[1]] },
  { sql: "SELECT 1 AS n -- ; DROP TABLE hive.sales.orders\r", rows: [[1]] },
  { sql: "SELECT 1 AS n /* ; DELETE FROM hive.sales.orders */", rows: [[1]] },
  { sql: "/* DELETE /* */ SELECT 2 AS n", rows: [[2]] },
  { sql: "-- DROP TABLE hive.sales.orders\rSELECT 3 AS n", rows: [[3]] },
  {
    sql: "SELECT 'COMMIT' AS a, 'ROLLBACK' AS b, 'START TRANSACTION' AS c",
    rows: [["COMMIT", "ROLLBACK", "START TRANSACTION"]],
  },
  { sql: "SELECT name FROM hive.sales.customers WHERE name = 'EXPLAIN ANALYZE DELETE FROM orders'", rows: [] },
  { sql: "SHOW TABLES FROM hive.sales LIKE 'DELETE%'", rows: [] },
  { sql: "EXPLAIN SELECT 'DROP TABLE hive.sales.orders' AS s" },
  { sql: "DESCRIBE hive.sales.orders" },
  { sql: "SELECT count(*) AS n FROM hive.sales.orders WHERE status <> 'INSERT'", rows: [[10_000]] },
];
