import { type ParserRuleContext, type ParseTree, TerminalNode } from "antlr4ng";
import { TrinoSqlLexer } from "dt-sql-parser/dist/lib/trino/TrinoSqlLexer";
import {
  AnalyzeContext,
  DescribeInputContext,
  DescribeOutputContext,
  ExplainAnalyzeContext,
  ExplainContext,
  IdentifierContext,
  InlineTableContext,
  NonReservedContext,
  type QueryNoWithContext,
  QueryStatementContext,
  QuotedIdentifierContext,
  SetOperationContext,
  ShowCatalogsContext,
  ShowColumnsContext,
  ShowCreateFunctionContext,
  ShowCreateMaterializedViewContext,
  ShowCreateSchemaContext,
  ShowCreateTableContext,
  ShowCreateViewContext,
  ShowFunctionsContext,
  ShowGrantsContext,
  ShowRoleGrantsContext,
  ShowRolesContext,
  ShowSchemasContext,
  ShowSessionContext,
  ShowStatsContext,
  ShowStatsForQueryContext,
  ShowTablesContext,
  type StatementContext,
  StatementDefaultContext,
  SubqueryContext,
  TableFunctionCallContext,
} from "dt-sql-parser/dist/lib/trino/TrinoSqlParser";
import { BadArgumentError } from "../../shared/mcp/errors";
import { parseTrinoSql } from "./presto.parse";

/**
 * The guard for SQL sent to a read-only tool. It decides from the parse tree Trino's own grammar
 * gives (presto.parse.ts), so it reads the text exactly as the coordinator will, and fails
 * closed: text that does not parse, more than one statement, or any statement kind that is not
 * on the allow list is refused with the reason, and nothing is sent. The coordinator enforces
 * the same again, independently: every query runs in a read-only transaction (presto.client.ts).
 */

export type ReadStatementKind = "select" | "show" | "describe" | "explain" | "values";

export interface GuardOptions {
  /**
   * Catalogs whose connector table functions may be used (`TABLE(pg.system.query(...))` sends
   * its SQL text to that catalog's database, unseen by this guard and by Trino's transaction).
   */
  passthroughCatalogs?: readonly string[];
  /** The session catalog, which a table function named without a catalog belongs to. */
  catalog?: string;
}

/** Statements that only read, besides queries and EXPLAIN: SHOW … and DESCRIBE …. */
const SHOW_STATEMENTS = [
  ShowCatalogsContext,
  ShowSchemasContext,
  ShowTablesContext,
  ShowColumnsContext, // also DESCRIBE t / DESC t
  ShowCreateTableContext,
  ShowCreateSchemaContext,
  ShowCreateViewContext,
  ShowCreateMaterializedViewContext,
  ShowCreateFunctionContext,
  ShowStatsContext,
  ShowStatsForQueryContext,
  ShowFunctionsContext,
  ShowSessionContext,
  ShowRolesContext,
  ShowRoleGrantsContext,
  ShowGrantsContext,
];
const DESCRIBE_STATEMENTS = [DescribeInputContext, DescribeOutputContext];

/** Trino's built-in table functions (catalog `system`, schema `builtin`); they only read. */
const BUILTIN_TABLE_FUNCTIONS = new Set(["exclude_columns", "sequence"]);

/** The longest leading keyword sequence that names a refused statement, e.g. "CREATE OR REPLACE VIEW". */
const MAX_LABEL_WORDS = 4;
/** Words after which a statement's name is complete (`INSERT INTO`, `SET SESSION`, `DROP TABLE`). */
const LABEL_ENDS = new Set(
  "TABLE VIEW SCHEMA FUNCTION CATALOG ROLE SESSION TRANSACTION PATH ZONE INTO FROM PREPARE IMMEDIATE".split(" "),
);
/** Statements named by their first word alone (`GRANT SELECT ON …` is a GRANT). */
const ONE_WORD_LABELS = new Set("GRANT REVOKE DENY CALL ANALYZE USE UPDATE COMMIT ROLLBACK".split(" "));

declare const checked: unique symbol;

/** A statement the guard accepted (only this module makes one): what the tools may send. */
export interface ReadStatement {
  readonly statement: string;
  readonly kind: ReadStatementKind;
  readonly [checked]: true;
}

/**
 * Accepts exactly one read statement (one optional trailing `;`) and returns its text without
 * the semicolon and the comments around it, ready to send. Throws `BadArgumentError("sql", why)`.
 */
export function assertReadOnlySql(sql: string, options: GuardOptions = {}): ReadStatement {
  const parsed = parseTrinoSql(sql);
  if (!parsed.ok) {
    if ("tooComplex" in parsed) refuse(`the query was not checked: ${parsed.tooComplex}; simplify it or split it up`);
    const { line, column, message } = parsed.problem;
    refuse(`the query is not valid Trino SQL (line ${line}, column ${column}: ${message})`);
  }
  const [statement, ...more] = parsed.statements;
  if (!statement) refuse("the query is empty");
  try {
    const kind = classify(statement);
    if (more.length > 0) refuse(`only one statement is allowed, found ${more.length + 1}`);
    assertNoPassthrough(statement, options);
    return { statement: parsed.textOf(statement), kind } as ReadStatement;
  } catch (error) {
    // The tree walks below recurse; the parser's caps keep trees shallow, but fail closed anyway.
    if (error instanceof RangeError) refuse("the query was not checked: it is too deeply nested or too long to check");
    throw error;
  }
}

export type PlanType = "logical" | "distributed" | "io" | "validate";

/**
 * `EXPLAIN (TYPE …)` of a statement the guard accepted, without checking it again: the text is
 * the accepted statement behind a fixed prefix, and EXPLAIN (not EXPLAIN ANALYZE) never runs it.
 * So a tool call checks its SQL once, however it is then sent.
 */
export function explainStatement(read: ReadStatement, type: PlanType): ReadStatement {
  if (read.kind === "explain") refuse("give the statement itself, without EXPLAIN");
  return { statement: `EXPLAIN (TYPE ${type.toUpperCase()}) ${read.statement}`, kind: "explain" } as ReadStatement;
}

/** Quotes a catalog, schema, table or column name for Trino/Presto SQL. */
export function quoteIdentifier(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

const IDENTIFIER_ARGUMENT = /^[A-Za-z0-9_$-]{1,128}$/;

/** Checks a catalog/schema/table name passed as a tool argument. */
export function assertIdentifier(argument: string, value: string): void {
  if (!IDENTIFIER_ARGUMENT.test(value)) {
    throw new BadArgumentError(
      argument,
      `${JSON.stringify(value.slice(0, 140))} is not a valid name: use 1 to 128 letters, digits, "_", "-" or "$"`,
    );
  }
}

function refuse(reason: string): never {
  throw new BadArgumentError("sql", reason);
}

// ---- the allow list ----

function classify(statement: StatementContext): ReadStatementKind {
  if (statement instanceof StatementDefaultContext) return queryKind(statement.rootQuery().query());
  if (SHOW_STATEMENTS.some((kind) => statement instanceof kind)) {
    return statement.start?.text?.toUpperCase() === "SHOW" ? "show" : "describe";
  }
  if (DESCRIBE_STATEMENTS.some((kind) => statement instanceof kind)) return "describe";
  if (statement instanceof ExplainAnalyzeContext) refuse("EXPLAIN ANALYZE is not allowed: it runs the statement");
  if (statement instanceof ExplainContext) {
    // `EXPLAIN ANALYZE x` also reads as EXPLAIN of the statement `ANALYZE x`; neither may run.
    if (statement.statement() instanceof AnalyzeContext)
      refuse("EXPLAIN ANALYZE is not allowed: it runs the statement");
    classify(statement.statement());
    return "explain";
  }
  return refuse(`${statementLabel(statement)} statements are not allowed: this tool only reads`);
}

/** "values" when the query's leading term is a VALUES list, otherwise "select". */
function queryKind(query: ParserRuleContext): "select" | "values" {
  let body: QueryNoWithContext | undefined = query instanceof QueryStatementContext ? query.queryNoWith() : undefined;
  while (body) {
    let term: ParseTree | null = body.queryTerm();
    while (term instanceof SetOperationContext) term = term._left ?? null;
    const primary = term?.getChild(0);
    if (primary instanceof InlineTableContext) return "values";
    if (!(primary instanceof SubqueryContext)) return "select";
    body = primary.queryNoWith();
  }
  return "select";
}

// ---- table functions that pass SQL to a connector ----

function assertNoPassthrough(statement: StatementContext, options: GuardOptions): void {
  for (const call of descendants(statement, TableFunctionCallContext)) {
    const parts = call
      .functionName()
      .qualifiedName()
      .identifier()
      .map((identifier) => identifierValue(identifier));
    const name = parts.join(".");
    if (isBuiltinTableFunction(parts)) continue;
    const catalog = parts.length === 3 ? parts[0] : options.catalog?.toLowerCase();
    const allowed = (options.passthroughCatalogs ?? []).map((entry) => entry.toLowerCase());
    const rule = `connector table functions may pass SQL text through to the connector's database, so they are allowed only for the catalogs in PRESTO_PASSTHROUGH_CATALOGS (${allowed.join(", ") || "none"})`;
    if (catalog === undefined)
      refuse(`the table function ${name} needs its catalog named (catalog.system.function): ${rule}`);
    if (!allowed.includes(catalog)) refuse(`the table function ${name} of catalog ${catalog} is not allowed: ${rule}`);
  }
}

function isBuiltinTableFunction(parts: string[]): boolean {
  const name = parts[parts.length - 1] ?? "";
  if (!BUILTIN_TABLE_FUNCTIONS.has(name)) return false;
  const qualifier = parts.slice(0, -1).join(".");
  return qualifier === "" || qualifier === "builtin" || qualifier === "system.builtin";
}

/** An identifier as Trino resolves catalog and function names: unquoted, lowercased. */
function identifierValue(identifier: IdentifierContext): string {
  const text = identifier.getText();
  const unquoted = identifier instanceof QuotedIdentifierContext ? text.slice(1, -1).replaceAll('""', '"') : text;
  return unquoted.toLowerCase();
}

// ---- naming a refused statement ----

/** The statement's leading keywords, e.g. "INSERT INTO", "SET SESSION", "CREATE MATERIALIZED VIEW". */
function statementLabel(statement: StatementContext): string {
  const words: string[] = [];
  for (const terminal of terminals(statement)) {
    const symbolic = TrinoSqlLexer.symbolicNames[terminal.symbol.type] ?? "";
    const usedAsName = terminal.parent instanceof NonReservedContext || terminal.parent instanceof IdentifierContext;
    if (!symbolic.startsWith("KW_") || usedAsName) break;
    const word = symbolic.slice("KW_".length);
    words.push(word);
    if (ONE_WORD_LABELS.has(words[0] as string) || LABEL_ENDS.has(word) || words.length === MAX_LABEL_WORDS) break;
  }
  return words.join(" ") || (statement.start?.text ?? "such");
}

/** The tree's terminals in order; iterative, so a long chain (`a AND b AND …`) cannot overflow the stack. */
function* terminals(tree: ParseTree): Generator<TerminalNode> {
  const pending: ParseTree[] = [tree];
  for (let next = pending.pop(); next; next = pending.pop()) {
    if (next instanceof TerminalNode) {
      yield next;
      continue;
    }
    for (let index = next.getChildCount() - 1; index >= 0; index--) {
      const child = next.getChild(index);
      if (child) pending.push(child);
    }
  }
}

/** The rule nodes of type `type` below `tree` (not `tree` itself); iterative, as `terminals`. */
function* descendants<T extends ParserRuleContext>(
  tree: ParseTree,
  type: abstract new (...args: never[]) => T,
): Generator<T> {
  const pending: ParseTree[] = [];
  const below = (node: ParseTree) => {
    for (let index = node.getChildCount() - 1; index >= 0; index--) {
      const child = node.getChild(index);
      if (child && !(child instanceof TerminalNode)) pending.push(child);
    }
  };
  below(tree);
  for (let next = pending.pop(); next; next = pending.pop()) {
    if (next instanceof type) yield next;
    below(next);
  }
}
