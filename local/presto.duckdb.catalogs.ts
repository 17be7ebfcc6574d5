/**
 * The local coordinator's catalogs in DuckDB, as Trino shows them: the catalog `hive` (schemas
 * `sales` and `ads` holding the sample data, and `information_schema`) and `system`
 * (`runtime.queries`, `information_schema`). Each Trino catalog is an attached in-memory DuckDB
 * database (`system` is `trino_system`: DuckDB reserves the name); each one's
 * information_schema is a set of views over DuckDB's catalog functions with Trino's column and
 * type names; `system.runtime.queries` reads the coordinator's queries through a table function.
 *
 * Trino function names DuckDB spells differently are macros in the default database, which every
 * statement's search path ends with (presto.duckdb.ts).
 */
import {
  BIGINT,
  type DuckDBAppender,
  type DuckDBConnection,
  DuckDBScalarFunction,
  DuckDBTableFunction,
  dateValue,
  TIMESTAMP_MS,
  timestampMillisValue,
  VARCHAR,
} from "@duckdb/node-api";
import { quoted } from "./presto.duckdb.sql.ts";
import { trinoTypeName } from "./presto.duckdb.types.ts";
import type { RuntimeQuery } from "./presto.engine.ts";
import { generateSampleTables, SAMPLE_CATALOG, SAMPLE_SCHEMAS, type SampleTable } from "./presto.sample-data.ts";

/** Instance settings: Trino's integer division, errors DuckDB explains in JSON, no files, no extensions, no SET. */
export const INSTANCE_CONFIG: Record<string, string> = {
  integer_division: "true",
  errors_as_json: "true",
  enable_external_access: "false",
  autoinstall_known_extensions: "false",
  autoload_known_extensions: "false",
  lock_configuration: "true",
  memory_limit: "1GB",
  threads: "1",
};

/** Where the Trino-name macros live; every statement's search path ends with it. */
export const FUNCTIONS_SCHEMA = "memory.main";

/** DuckDB database → Trino catalog, and the schemas each one has besides information_schema. */
const CATALOGS: { database: string; catalog: string; schemas: readonly string[] }[] = [
  { database: SAMPLE_CATALOG, catalog: SAMPLE_CATALOG, schemas: SAMPLE_SCHEMAS },
  { database: "trino_system", catalog: "system", schemas: ["runtime"] },
];

/** Trino functions under the names DuckDB gives them, or with Trino's arguments. */
const MACROS = [
  "approx_distinct(x) AS approx_count_distinct(x)",
  "approx_percentile(x, p) AS approx_quantile(x, p)",
  "every(x) AS bool_and(x)",
  "day_of_week(x) AS isodow(x)",
  "dow(x) AS isodow(x)",
  "day_of_month(x) AS dayofmonth(x)",
  "day_of_year(x) AS dayofyear(x)",
  "doy(x) AS dayofyear(x)",
  "week_of_year(x) AS week(x)",
  "year_of_week(x) AS isoyear(x)",
  "yow(x) AS isoyear(x)",
  // Trino's date_add(unit, value, timestamp); DuckDB's is date_add(date, interval).
  `date_add(unit, n, x) AS x + CASE lower(unit) WHEN 'millisecond' THEN to_milliseconds(n) WHEN 'second' THEN to_seconds(n)
     WHEN 'minute' THEN to_minutes(n) WHEN 'hour' THEN to_hours(n) WHEN 'day' THEN to_days(n) WHEN 'week' THEN to_weeks(n)
     WHEN 'month' THEN to_months(n) WHEN 'quarter' THEN to_months(3 * n) WHEN 'year' THEN to_years(n) END`,
  "from_iso8601_date(s) AS CAST(s AS DATE)",
  "from_iso8601_timestamp(s) AS CAST(s AS TIMESTAMPTZ)",
  "from_unixtime(x) AS to_timestamp(x)",
  "to_unixtime(x) AS epoch(x)",
  "regexp_like(s, p) AS regexp_matches(s, p)",
  // Trino replaces every match (and removes them without a replacement); DuckDB only the first.
  "regexp_replace(s, p) AS system.main.regexp_replace(s, p, '', 'g'), (s, p, r) AS system.main.regexp_replace(s, p, r, 'g')",
  "array_join(a, separator) AS array_to_string(a, separator)",
  // Trino's element_at gives the map's value; DuckDB's a list holding it.
  "element_at(c, k) AS c[k]",
  "sequence(a, b) AS generate_series(a, b)",
  "codepoint(s) AS unicode(s)",
  "truncate(x) AS trunc(x)",
  "json_extract_scalar(j, p) AS json_extract_string(j, p)",
  "is_nan(x) AS isnan(x)",
  "nan() AS CAST('NaN' AS DOUBLE)",
  "infinity() AS CAST('Infinity' AS DOUBLE)",
];

const RUNTIME_QUERY_COLUMNS = [
  ["query_id", VARCHAR],
  ["state", VARCHAR],
  ["user", VARCHAR],
  ["source", VARCHAR],
  ["query", VARCHAR],
  ["queued_time_ms", BIGINT],
  ["created", TIMESTAMP_MS],
  ["started", TIMESTAMP_MS],
  ["end", TIMESTAMP_MS],
  ["error_type", VARCHAR],
  ["error_code", VARCHAR],
] as const;

export interface CatalogOptions {
  seed: number;
  runtimeQueries: () => RuntimeQuery[];
}

/** Creates the catalogs, the sample data and the functions on a fresh instance. */
export async function createCatalogs(connection: DuckDBConnection, options: CatalogOptions): Promise<void> {
  registerFunctions(connection, options.runtimeQueries);
  for (const { database, catalog, schemas } of CATALOGS) {
    await connection.run(`ATTACH ':memory:' AS ${quoted(database)}`);
    for (const schema of [...schemas, "trino_information_schema"]) {
      await connection.run(`CREATE SCHEMA ${quoted(database)}.${quoted(schema)}`);
    }
    await connection.run(informationSchemaViews(database, catalog));
  }
  await connection.run("CREATE VIEW trino_system.runtime.queries AS SELECT * FROM trino_runtime_queries()");
  for (const table of generateSampleTables(options.seed)) await loadTable(connection, table);
  await connection.run(MACROS.map((macro) => `CREATE MACRO ${FUNCTIONS_SCHEMA}.${macro};`).join("\n"));
}

function registerFunctions(connection: DuckDBConnection, runtimeQueries: () => RuntimeQuery[]): void {
  connection.registerScalarFunction(
    DuckDBScalarFunction.create({
      name: "trino_type",
      returnType: VARCHAR,
      parameterTypes: [VARCHAR],
      mainFunction: (_, input, output) => {
        const types = input.getColumnVector(0);
        for (let row = 0; row < input.rowCount; row++) {
          const type = types.getItem(row);
          output.setItem(row, type === null ? null : trinoTypeName(String(type)));
        }
        output.flush();
      },
    }),
  );
  connection.registerTableFunction(
    DuckDBTableFunction.create({
      name: "trino_runtime_queries",
      bindFunction: (info) => {
        for (const [name, type] of RUNTIME_QUERY_COLUMNS) info.addResultColumn(name, type);
      },
      initFunction: (info) => info.setInitData({ rows: runtimeQueries().map(runtimeRow), next: 0 }),
      mainFunction: (info, output) => {
        const state = info.initData as { rows: unknown[][]; next: number };
        const rows = state.rows.slice(state.next, state.next + 2048);
        state.next += rows.length;
        output.rowCount = rows.length;
        RUNTIME_QUERY_COLUMNS.forEach((_, column) => {
          const vector = output.getColumnVector(column);
          rows.forEach((row, index) => {
            vector.setItem(index, row[column] as never);
          });
          vector.flush();
        });
      },
    }),
  );
}

const millis = (ms: number | null) => (ms === null ? null : timestampMillisValue(BigInt(Math.round(ms))));

function runtimeRow(query: RuntimeQuery): unknown[] {
  return [
    query.queryId,
    query.state,
    query.user,
    query.source,
    query.query,
    BigInt(Math.round(query.queuedTimeMs)),
    millis(query.created),
    millis(query.started),
    millis(query.ended),
    query.errorType,
    query.errorCode,
  ];
}

/** information_schema.schemata, tables and columns of one catalog, with Trino's names and types. */
function informationSchemaViews(database: string, catalog: string): string {
  const target = `${quoted(database)}.trino_information_schema`;
  const literal = (text: string) => `'${text.replaceAll("'", "''")}'`;
  const where = `database_name = ${literal(database)} AND schema_name <> 'main'`;
  const schema = "CASE schema_name WHEN 'trino_information_schema' THEN 'information_schema' ELSE schema_name END";
  return `
    CREATE VIEW ${target}.schemata AS
      SELECT ${literal(catalog)} AS catalog_name, ${schema} AS schema_name FROM duckdb_schemas() WHERE ${where};
    CREATE VIEW ${target}.tables AS
      SELECT ${literal(catalog)} AS table_catalog, ${schema} AS table_schema, table_name, 'BASE TABLE' AS table_type
      FROM duckdb_tables() WHERE ${where}
      UNION ALL
      SELECT ${literal(catalog)}, ${schema}, view_name, 'VIEW' FROM duckdb_views() WHERE ${where} AND NOT internal;
    CREATE VIEW ${target}.columns AS
      SELECT ${literal(catalog)} AS table_catalog, ${schema} AS table_schema, table_name, column_name,
        CAST(column_index AS BIGINT) AS ordinal_position, column_default,
        CASE WHEN is_nullable THEN 'YES' ELSE 'NO' END AS is_nullable, trino_type(data_type) AS data_type
      FROM duckdb_columns() WHERE ${where};`;
}

const DAY_MS = 86_400_000;

/** Creates a sample table with its Trino types (DuckDB reads `timestamp(3)` as TIMESTAMP_MS) and appends its rows. */
async function loadTable(connection: DuckDBConnection, table: SampleTable): Promise<void> {
  const name = `${quoted(SAMPLE_CATALOG)}.${quoted(table.schema)}.${quoted(table.name)}`;
  const columns = table.columns.map((column) => `${quoted(column.name)} ${column.type}`);
  await connection.run(`CREATE TABLE ${name} (${columns.join(", ")})`);
  const appender = await connection.createAppender(table.name, table.schema, SAMPLE_CATALOG);
  const appenders = table.columns.map((column) => appendFunction(appender, column.type));
  for (const row of table.rows) {
    row.forEach((value, index) => {
      if (value === null) appender.appendNull();
      else (appenders[index] as (value: string | number) => void)(value);
    });
    appender.endRow();
  }
  appender.closeSync();
}

function appendFunction(appender: DuckDBAppender, type: string): (value: string | number) => void {
  switch (type) {
    case "bigint":
      return (value) => appender.appendBigInt(BigInt(value));
    case "integer":
      return (value) => appender.appendInteger(Number(value));
    case "double":
      return (value) => appender.appendDouble(Number(value));
    case "boolean":
      return (value) => appender.appendBoolean(Number(value) !== 0);
    case "date":
      return (value) => appender.appendDate(dateValue(Date.parse(`${value}T00:00:00Z`) / DAY_MS));
    case "timestamp(3)":
      return (value) =>
        appender.appendTimestampMilliseconds(
          timestampMillisValue(BigInt(Date.parse(`${String(value).replace(" ", "T")}Z`))),
        );
    default:
      return (value) => appender.appendVarchar(String(value));
  }
}
