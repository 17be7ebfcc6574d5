/**
 * DuckDB's errors as Trino reports them. DuckDB runs with `errors_as_json`, so each error says
 * its kind (`Parser`, `Catalog`, `Binder`, `TransactionContext`, …), the entry it missed and the
 * byte position in the statement; this maps them onto Trino's error names, wording and location
 * (Table 'hive.sales.nope' does not exist, Column 'x' cannot be resolved, mismatched input …).
 *
 * The read-only refusal is DuckDB's own: a write in a `BEGIN TRANSACTION READ ONLY` transaction
 * fails with "Cannot write to database … transaction is launched in read-only mode", which
 * becomes READ_ONLY_VIOLATION (AUTOCOMMIT_WRITE_CONFLICT in a Trino read-write transaction: Hive
 * writes only in autocommit).
 */

import { type DuckDbSql, trinoNames } from "./presto.duckdb.sql.ts";
import type { Session, TransactionMode } from "./presto.engine.ts";
import { type ErrorName, TrinoError } from "./presto.errors.ts";
import { nameAt, type Token } from "./presto.lexer.ts";
import { SAMPLE_CATALOG } from "./presto.sample-data.ts";

/** What the error is about, for translating it. */
export interface ErrorContext {
  sql: DuckDbSql;
  /** The client's statement, as Trino tokens. */
  tokens: Token[];
  sqlLength: number;
  session: Session;
  mode?: TransactionMode;
}

interface DuckDbFailure {
  type: string;
  message: string;
  /** Byte offset in the DuckDB text. */
  position?: number;
  subtype?: string;
  entryType?: string;
  name?: string;
}

function parseFailure(error: unknown): DuckDbFailure {
  const text = error instanceof Error ? error.message : String(error);
  const json = text.indexOf("{");
  if (json >= 0) {
    try {
      const parsed = JSON.parse(text.slice(json)) as Record<string, string | undefined>;
      return {
        type: parsed.exception_type ?? "",
        message: parsed.exception_message ?? text,
        position: parsed.position === undefined ? undefined : Number(parsed.position),
        subtype: parsed.error_subtype,
        entryType: parsed.type,
        name: parsed.name,
      };
    } catch {
      // Not JSON after all: fall through.
    }
  }
  const [, type = "", message = text] = /^(\w[\w ]*?) Error: ([\s\S]*)$/.exec(text) ?? [];
  return { type, message };
}

type Translate = (failure: DuckDbFailure, match: RegExpExecArray, where: Where) => TrinoError;

interface Where {
  /** The client's offset DuckDB pointed at, if it did. */
  offset?: number;
  context: ErrorContext;
}

const error = (name: ErrorName, message: string, offset?: number) => new TrinoError(name, message, offset);

/** DuckDB's first line, with Trino's names for the renamed catalogs and schemas. */
const firstLine = (message: string): string => trinoNames(message.split("\n")[0] ?? message);

const TRANSLATIONS: [string, RegExp, Translate][] = [
  [
    "TransactionContext",
    /read-only mode/,
    (_, __, { context }) =>
      context.mode === "read-write"
        ? error("AUTOCOMMIT_WRITE_CONFLICT", `Catalog only supports writes using autocommit: ${SAMPLE_CATALOG}`)
        : error("READ_ONLY_VIOLATION", "Cannot execute write in a read-only transaction"),
  ],
  [
    "TransactionContext",
    /transaction is aborted/,
    () =>
      error(
        "TRANSACTION_ALREADY_ABORTED",
        "Current transaction is aborted, commands ignored until end of transaction block",
      ),
  ],
  ["INTERRUPT", /./, () => error("USER_CANCELED", "Query was canceled")],
  [
    "Parser",
    /^syntax error at or near "([\s\S]*)"$/,
    (_, [, near], { offset }) => error("SYNTAX_ERROR", `mismatched input '${near}'`, offset),
  ],
  [
    "Parser",
    /^syntax error at end of input/,
    (_, __, { context }) => error("SYNTAX_ERROR", "mismatched input '<EOF>'", context.sqlLength),
  ],
  [
    "Parser",
    /^unterminated (?:quoted string|quoted identifier|\/\* comment)/,
    (failure, __, { offset }) => error("SYNTAX_ERROR", `token recognition error: ${failure.message}`, offset),
  ],
  ["Parser", /./, (failure, __, { offset }) => error("SYNTAX_ERROR", firstLine(failure.message), offset)],
  [
    "Catalog",
    /^Table with name "?([^"]*)"? does not exist because schema "([^"]*)" does not exist/,
    (_, [, , schema = ""], where) => {
      const name = nameAtOffset(where);
      if (name && name.length === 2 && where.context.session.catalog === undefined)
        return missing("MISSING_CATALOG_NAME", where.offset);
      return error("SCHEMA_NOT_FOUND", `Schema '${trinoNames(schema)}' does not exist`, where.offset);
    },
  ],
  ["Catalog", /^(Table|View) with name .* does not exist/, (failure, __, where) => tableNotFound(failure, where)],
  [
    "Catalog",
    /^(Scalar |Aggregate |Table |Macro |Pragma )?Function with name "?([^"!]+)"? does not exist/,
    (_, [, , name = ""], { offset }) => error("FUNCTION_NOT_FOUND", `Function '${name}' not registered`, offset),
  ],
  [
    "Catalog",
    /^(Table|View) with name "?([^"]+)"? already exists/,
    (_, [, , name = ""], { offset }) => error("TABLE_ALREADY_EXISTS", `Table '${name}' already exists`, offset),
  ],
  [
    "Catalog",
    /^Schema with name "?([^"]+)"? already exists/,
    (_, [, name = ""], { offset }) => error("SCHEMA_ALREADY_EXISTS", `Schema '${name}' already exists`, offset),
  ],
  [
    "Catalog",
    /^Schema with name "?([^"]+)"? does not exist/,
    (_, [, name = ""], { offset }) => error("SCHEMA_NOT_FOUND", `Schema '${trinoNames(name)}' does not exist`, offset),
  ],
  ["Catalog", /^Catalog "?([^"]+)"? does not exist/, (_, [, name = ""], where) => catalogNotFound(name, where)],
  ["Binder", /^Catalog "?([^"]+)"? does not exist/, (_, [, name = ""], where) => catalogNotFound(name, where)],
  [
    "Binder",
    /^Referenced column "([^"]*)" not found/,
    (_, [, name = ""], { offset }) => error("COLUMN_NOT_FOUND", `Column '${name}' cannot be resolved`, offset),
  ],
  [
    "Binder",
    /^Referenced table "([^"]*)" not found/,
    (_, __, where) => {
      const name = nameAtOffset(where)?.join(".") ?? "";
      return error("COLUMN_NOT_FOUND", `Column '${name}' cannot be resolved`, where.offset);
    },
  ],
  [
    "Binder",
    /^Ambiguous reference to column name "([^"]*)"/,
    (_, [, name = ""], { offset }) => error("AMBIGUOUS_NAME", `Column '${name}' is ambiguous`, offset),
  ],
  [
    "Binder",
    /^(No function matches|Macro .* does not support the supplied arguments|Could not choose a best candidate function)/,
    (failure, __, { offset }) => error("FUNCTION_NOT_FOUND", firstLine(failure.message), offset),
  ],
  [
    "Binder",
    /^(Cannot compare values|Cannot mix values|Cannot combine types|No operator matches)/,
    (failure, __, { offset }) => error("TYPE_MISMATCH", firstLine(failure.message), offset),
  ],
  ["Conversion", /./, (f, __, { offset }) => error("INVALID_CAST_ARGUMENT", firstLine(f.message), offset)],
  ["Out of Range", /./, (f, __, { offset }) => error("NUMERIC_VALUE_OUT_OF_RANGE", firstLine(f.message), offset)],
  ["Constraint", /./, (f, __, { offset }) => error("CONSTRAINT_VIOLATION", firstLine(f.message), offset)],
  ["Permission", /./, (f) => error("PERMISSION_DENIED", `Access Denied: ${firstLine(f.message)}`)],
  ["Out of Memory", /./, (f) => error("EXCEEDED_LOCAL_MEMORY_LIMIT", firstLine(f.message))],
];

/** The Trino error for a failure of DuckDB (a TrinoError passes through). */
export function trinoError(failure: unknown, context: ErrorContext): TrinoError {
  if (failure instanceof TrinoError) return failure;
  const parsed = parseFailure(failure);
  const offset = parsed.position === undefined ? undefined : context.sql.originalOffset(parsed.position);
  const where = { offset, context };
  for (const [type, pattern, translate] of TRANSLATIONS) {
    const match = type === parsed.type ? pattern.exec(parsed.message) : null;
    if (match) return translate(parsed, match, where);
  }
  const internal = /^(INTERNAL|FATAL|Connection|IO)$/.test(parsed.type) || parsed.type === "";
  return error(internal ? "GENERIC_INTERNAL_ERROR" : "GENERIC_USER_ERROR", firstLine(parsed.message), offset);
}

/** The dotted name in the client's statement where DuckDB pointed. */
function nameAtOffset({ offset, context }: Where): string[] | undefined {
  if (offset === undefined) return undefined;
  const index = context.tokens.findIndex((token) => token.start >= offset);
  return index < 0 ? undefined : nameAt(context.tokens, index)?.parts;
}

function missing(name: "MISSING_CATALOG_NAME" | "MISSING_SCHEMA_NAME", offset: number | undefined): TrinoError {
  const what = name === "MISSING_CATALOG_NAME" ? "Catalog" : "Schema";
  return error(name, `${what} must be specified when session ${what.toLowerCase()} is not set`, offset);
}

/** `Table 'catalog.schema.table' does not exist`, completing the name from the session like Trino. */
function tableNotFound(failure: DuckDbFailure, where: Where): TrinoError {
  const parts = nameAtOffset(where) ?? nameEndingWith(failure.name ?? entryName(failure.message), where.context.tokens);
  const { catalog, schema } = where.context.session;
  if (parts.length === 1 && schema === undefined) return missing("MISSING_SCHEMA_NAME", where.offset);
  if (parts.length <= 2 && catalog === undefined) return missing("MISSING_CATALOG_NAME", where.offset);
  const full = parts.length === 1 ? [catalog, schema, ...parts] : parts.length === 2 ? [catalog, ...parts] : parts;
  return error("TABLE_NOT_FOUND", `Table '${full.join(".")}' does not exist`, where.offset);
}

/** The name in `… with name "x" does not exist` (DuckDB quotes it only sometimes). */
const entryName = (message: string): string => /with name "?([^"!]+?)"? does not exist/.exec(message)?.[1] ?? "";

/** The dotted name in the statement whose last part is `name` (DuckDB gives no position for DROP, COMMENT, …). */
function nameEndingWith(name: string, tokens: Token[]): string[] {
  for (let index = 0; index < tokens.length; index++) {
    const parts = nameAt(tokens, index)?.parts;
    if (parts && parts[parts.length - 1] === name.toLowerCase()) return parts;
  }
  return [name];
}

function catalogNotFound(name: string, where: Where): TrinoError {
  const catalog = trinoNames(name);
  const { tokens } = where.context;
  const index = tokens.findIndex(
    (_, at) => (nameAt(tokens, at)?.parts ?? []).length >= 3 && nameAt(tokens, at)?.parts[0] === catalog,
  );
  return error("CATALOG_NOT_FOUND", `Catalog '${catalog}' not found`, where.offset ?? tokens[index]?.start);
}
