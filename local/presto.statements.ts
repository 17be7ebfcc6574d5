/**
 * Trino statements the coordinator answers itself rather than handing their text to the engine:
 * session statements (USE, SET SESSION, RESET SESSION, CALL), which Trino's coordinator runs as
 * tasks; the metadata statements (SHOW …, DESCRIBE), answered from each catalog's
 * information_schema the way Trino rewrites them into queries; and the options of EXPLAIN.
 * None of them writes: writes go to the engine, which refuses them itself where the transaction
 * does not allow them.
 */
import type { StatementResult } from "./presto.engine.ts";
import { TrinoError } from "./presto.errors.ts";
import { type Cursor, isSymbol, isWord, type QualifiedName, render, type Token } from "./presto.lexer.ts";

/** What the metadata statements read: names as Trino shows them, in order. */
export interface Metadata {
  catalogs(): Promise<string[]>;
  schemas(catalog: string): Promise<string[]>;
  tables(catalog: string, schema: string): Promise<string[]>;
  columns(catalog: string, schema: string, table: string): Promise<{ name: string; type: string }[]>;
}

export interface SessionNames {
  catalog?: string;
  schema?: string;
}

export const notSupported = (what: string, position?: number): TrinoError =>
  new TrinoError("NOT_SUPPORTED", `${what} is not supported by the local coordinator`, position);

const missingCatalog = (position?: number): TrinoError =>
  new TrinoError("MISSING_CATALOG_NAME", "Catalog must be specified when session catalog is not set", position);

const missingSchema = (position?: number): TrinoError =>
  new TrinoError("MISSING_SCHEMA_NAME", "Schema must be specified when session schema is not set", position);

export const varcharResult = (names: string[], rows: string[][]): StatementResult => ({
  columns: names.map((name) => ({ name, type: "varchar" })),
  rows,
});

/** DDL answers like Trino: a single boolean `result` column. */
export const ddlResult = (updateType: string): StatementResult => ({
  columns: [{ name: "result", type: "boolean" }],
  rows: [[true]],
  updateType,
});

/** `SET SESSION name = value` / `RESET SESSION name`: echoed back for the client to keep. */
export function sessionProperty(cursor: Cursor): StatementResult {
  const reset = cursor.expect("SET", "RESET") === "RESET";
  if (!isWord(cursor.current, "SESSION") || isWord(cursor.tokens[cursor.index + 1], "AUTHORIZATION")) {
    throw notSupported(`${reset ? "RESET" : "SET"} ${cursor.current?.text.toUpperCase() ?? ""}`.trim(), cursor.start);
  }
  cursor.expect("SESSION");
  const name = cursor.name().parts.join(".");
  if (reset) {
    cursor.expectEnd();
    return { ...ddlResult("RESET SESSION"), resetSessionProperty: name };
  }
  cursor.expectSymbol("=");
  const value = cursor.current?.kind === "string" ? cursor.string() : render(cursor.rest());
  cursor.expectEnd();
  return { ...ddlResult("SET SESSION"), setSessionProperty: { name, value } };
}

export async function use(cursor: Cursor, session: SessionNames, metadata: Metadata): Promise<StatementResult> {
  cursor.expect("USE");
  const name = cursor.name();
  cursor.expectEnd();
  const resolved = await resolveSchema(name, session, metadata, name.start);
  return { ...ddlResult("USE"), setCatalog: resolved.catalog, setSchema: resolved.schema };
}

/** SHOW statements the parser recognizes; the first five are implemented. */
const SHOW_KINDS = "CATALOGS SCHEMAS TABLES COLUMNS CREATE FUNCTIONS SESSION STATS GRANTS ROLES".split(" ");

export async function show(cursor: Cursor, session: SessionNames, metadata: Metadata): Promise<StatementResult> {
  cursor.expect("SHOW");
  const start = cursor.start;
  const what = cursor.expect(...SHOW_KINDS);
  const list = async (header: string, names: Promise<string[]>): Promise<StatementResult> => {
    const matches = likeClause(cursor);
    return varcharResult(
      [header],
      (await names).filter(matches).map((name) => [name]),
    );
  };
  switch (what) {
    case "CATALOGS":
      return list("Catalog", metadata.catalogs());
    case "SCHEMAS": {
      const name = cursor.accept("FROM", "IN") ? cursor.name() : undefined;
      const catalog = await resolveCatalog(name, session, metadata, start);
      return list("Schema", metadata.schemas(catalog));
    }
    case "TABLES": {
      const name = cursor.accept("FROM", "IN") ? cursor.name() : undefined;
      const schema = await resolveSchema(name, session, metadata, start);
      return list("Table", metadata.tables(schema.catalog, schema.schema));
    }
    case "COLUMNS":
      cursor.expect("FROM", "IN");
      return describeTable(cursor, session, metadata);
    case "CREATE": {
      cursor.expect("TABLE");
      const table = await existingTable(cursor.name(), session, metadata, cursor.start);
      cursor.expectEnd();
      const columns = await metadata.columns(table.catalog, table.schema, table.table);
      const lines = columns.map((column) => `   ${column.name} ${column.type}`);
      const text = `CREATE TABLE ${table.catalog}.${table.schema}.${table.table} (\n${lines.join(",\n")}\n)`;
      return varcharResult(["Create Table"], [[text]]);
    }
    default:
      throw notSupported(`SHOW ${what}`, start);
  }
}

/** `DESCRIBE t` / `DESC t`. */
export function describe(cursor: Cursor, session: SessionNames, metadata: Metadata): Promise<StatementResult> {
  cursor.expect("DESCRIBE", "DESC");
  return describeTable(cursor, session, metadata);
}

/** `SHOW COLUMNS FROM t [LIKE p]` and `DESCRIBE t`; the cursor is at the table name. */
async function describeTable(cursor: Cursor, session: SessionNames, metadata: Metadata): Promise<StatementResult> {
  const table = await existingTable(cursor.name(), session, metadata, cursor.start);
  const matches = likeClause(cursor);
  const columns = await metadata.columns(table.catalog, table.schema, table.table);
  const rows = columns.filter((column) => matches(column.name)).map((column) => [column.name, column.type, "", ""]);
  return varcharResult(["Column", "Type", "Extra", "Comment"], rows);
}

/** Optional `LIKE pattern [ESCAPE char]`, then the end of the statement. */
function likeClause(cursor: Cursor): (value: string) => boolean {
  let matches: (value: string) => boolean = () => true;
  if (cursor.accept("LIKE")) {
    const pattern = cursor.string();
    matches = likePredicate(pattern, cursor.accept("ESCAPE") ? cursor.string() : undefined);
  }
  cursor.expectEnd();
  return matches;
}

const escapeRegExp = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/** SQL LIKE pattern (with optional escape character) as a predicate. */
function likePredicate(pattern: string, escapeChar?: string): (value: string) => boolean {
  let source = "";
  for (let index = 0; index < pattern.length; index++) {
    const char = pattern[index] as string;
    if (char === escapeChar) source += escapeRegExp(pattern[++index] ?? "");
    else if (char === "%") source += "[\\s\\S]*";
    else if (char === "_") source += "[\\s\\S]";
    else source += escapeRegExp(char);
  }
  const regex = new RegExp(`^${source}$`);
  return (value) => regex.test(value);
}

async function resolveCatalog(
  name: QualifiedName | undefined,
  session: SessionNames,
  metadata: Metadata,
  position: number,
): Promise<string> {
  if (name && name.parts.length > 1)
    throw new TrinoError("SYNTAX_ERROR", `Too many parts in catalog name: ${name.parts.join(".")}`, name.start);
  const catalog = name?.parts[0] ?? session.catalog;
  if (catalog === undefined) throw missingCatalog(position);
  if (!(await metadata.catalogs()).includes(catalog)) {
    throw new TrinoError("CATALOG_NOT_FOUND", `Catalog '${catalog}' not found`, position);
  }
  return catalog;
}

/** `[catalog.]schema`, or the session schema when no name is given; must exist. */
async function resolveSchema(
  name: QualifiedName | undefined,
  session: SessionNames,
  metadata: Metadata,
  position: number,
): Promise<{ catalog: string; schema: string }> {
  if (name && name.parts.length > 2)
    throw new TrinoError("SYNTAX_ERROR", `Too many parts in schema name: ${name.parts.join(".")}`, name.start);
  const schema = name ? (name.parts[name.parts.length - 1] as string) : session.schema;
  const catalogName = name?.parts.length === 2 ? name.parts[0] : session.catalog;
  if (schema === undefined) throw missingSchema(position);
  const catalog = await resolveCatalog(
    catalogName === undefined ? undefined : { parts: [catalogName], start: position },
    session,
    metadata,
    position,
  );
  if (!(await metadata.schemas(catalog)).includes(schema)) {
    throw new TrinoError("SCHEMA_NOT_FOUND", `Schema '${schema}' does not exist`, position);
  }
  return { catalog, schema };
}

async function existingTable(
  name: QualifiedName,
  session: SessionNames,
  metadata: Metadata,
  position: number,
): Promise<{ catalog: string; schema: string; table: string }> {
  const table = name.parts[name.parts.length - 1] as string;
  const schemaName = name.parts.length > 1 ? { parts: name.parts.slice(0, -1), start: name.start } : undefined;
  if (name.parts.length > 3) {
    throw new TrinoError("SYNTAX_ERROR", `Too many dots in table name: ${name.parts.join(".")}`, name.start);
  }
  const { catalog, schema } = await resolveSchema(schemaName, session, metadata, position);
  if (!(await metadata.tables(catalog, schema)).includes(table)) {
    throw new TrinoError("TABLE_NOT_FOUND", `Table '${catalog}.${schema}.${table}' does not exist`, position);
  }
  return { catalog, schema, table };
}

export interface ExplainOptions {
  analyze: boolean;
  /** LOGICAL, DISTRIBUTED, VALIDATE or IO; DISTRIBUTED when not given. */
  type: string;
  /** TEXT, GRAPHVIZ or JSON. */
  format: string;
  /** The explained statement's tokens. */
  statement: Token[];
}

/** `EXPLAIN ANALYZE [VERBOSE] statement` or `EXPLAIN [(TYPE …, FORMAT …)] statement`. */
export function explainOptions(cursor: Cursor): ExplainOptions {
  cursor.expect("EXPLAIN");
  if (cursor.accept("ANALYZE")) {
    cursor.accept("VERBOSE");
    const statement = cursor.rest();
    const unsupported = dataDefinitionType(statement);
    if (unsupported) {
      throw new TrinoError("NOT_SUPPORTED", `EXPLAIN ANALYZE doesn't support statement type: ${unsupported}`);
    }
    return { analyze: true, type: "DISTRIBUTED", format: "TEXT", statement };
  }
  let type = "DISTRIBUTED";
  let format = "TEXT";
  if (cursor.acceptSymbol("(")) {
    do {
      if (cursor.expect("TYPE", "FORMAT") === "TYPE") type = cursor.expect("LOGICAL", "DISTRIBUTED", "VALIDATE", "IO");
      else format = cursor.expect("TEXT", "GRAPHVIZ", "JSON");
    } while (cursor.acceptSymbol(","));
    cursor.expectSymbol(")");
  }
  const statement = cursor.rest();
  if (statement.length === 0) throw cursor.unexpected("<statement>");
  return { analyze: false, type, format, statement };
}

/** Objects whose name completes a DDL statement's type, as in Trino's AST classes (DropTable, SetSession). */
const DDL_OBJECTS = new Set(["TABLE", "VIEW", "SCHEMA", "FUNCTION", "ROLE", "CATALOG", "SESSION", "TRANSACTION"]);
/** Statement kinds EXPLAIN ANALYZE runs: queries, SHOW/DESCRIBE, writes of rows, ANALYZE. */
const EXPLAIN_ANALYZE_KINDS = new Set(
  "SELECT WITH VALUES TABLE SHOW DESCRIBE DESC EXPLAIN INSERT UPDATE DELETE MERGE ANALYZE REFRESH".split(" "),
);

/**
 * Trino's AST class name of a data-definition statement (which EXPLAIN ANALYZE refuses), e.g.
 * DropTable; undefined for statements it runs. CREATE TABLE … AS is an insert, so it runs.
 */
function dataDefinitionType(tokens: Token[]): string | undefined {
  const [first, second] = tokens;
  const keyword = isSymbol(first, "(") ? "SELECT" : (first?.text.toUpperCase() ?? "");
  if (EXPLAIN_ANALYZE_KINDS.has(keyword)) return undefined;
  const createsTableAs =
    keyword === "CREATE" &&
    tokens.some((token) => isWord(token, "TABLE")) &&
    tokens.some((token) => isWord(token, "AS"));
  if (createsTableAs) return undefined;
  const words = [keyword];
  if (isWord(second, "MATERIALIZED")) words.push("MATERIALIZED", "VIEW");
  else if (second && DDL_OBJECTS.has(second.text.toUpperCase())) words.push(second.text.toUpperCase());
  return words.map((word) => word.charAt(0) + word.slice(1).toLowerCase()).join("");
}

/** Trino's update type for a statement the engine ran: INSERT, CREATE TABLE, ADD COLUMN, …; `fallback` for others. */
export function updateTypeOf(tokens: Token[], fallback: string): string {
  const words = tokens.filter((token) => token.kind === "word").map((token) => token.text.toUpperCase());
  const [first = "", second = ""] = words;
  if (first === "TRUNCATE") return "TRUNCATE TABLE";
  if (first === "CREATE" || first === "DROP") {
    const object = words
      .slice(1)
      .find((word) => !["OR", "REPLACE", "IF", "NOT", "EXISTS", "TEMP", "TEMPORARY"].includes(word));
    return `${first} ${object === "MATERIALIZED" ? "MATERIALIZED VIEW" : (object ?? "")}`.trim();
  }
  if (first === "ALTER" && second === "TABLE") {
    const action = words.findIndex(
      (word, index) => index > 1 && ["RENAME", "ADD", "DROP", "ALTER", "SET"].includes(word),
    );
    const [verb, target] = [words[action], words[action + 1]];
    if (verb === "RENAME" && target === "TO") return "RENAME TABLE";
    if (target === "COLUMN") return `${verb} COLUMN`;
    return "ALTER TABLE";
  }
  return ["INSERT", "UPDATE", "DELETE", "COMMENT"].includes(first) ? first : fallback;
}
