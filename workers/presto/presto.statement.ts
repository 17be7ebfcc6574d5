import { BadArgumentError } from "../../shared/mcp/errors";

/**
 * A guard for SQL sent to a read-only tool: it tokenizes the text (comments, string literals,
 * quoted identifiers) and accepts exactly one statement that only reads. It is a first line of
 * defence in front of the coordinator's own access control, not a replacement for it.
 */

export type ReadStatementKind = "select" | "show" | "describe" | "explain" | "values";
type QueryKind = "select" | "values";

interface Token {
  kind: "word" | "identifier" | "string" | "symbol";
  text: string;
  start: number;
  end: number;
}

const ALLOWED_FIRST_KEYWORDS = "SELECT, WITH, SHOW, DESCRIBE, EXPLAIN, VALUES and TABLE";

/** Verbs that change data, schema or session state; listed only to name them in the refusal. */
const WRITE_VERBS = new Set(
  "INSERT UPDATE DELETE MERGE UPSERT CREATE DROP ALTER TRUNCATE GRANT REVOKE DENY CALL SET RESET USE PREPARE EXECUTE DEALLOCATE COMMENT REFRESH ANALYZE START COMMIT ROLLBACK VACUUM".split(
    " ",
  ),
);

/** Verbs named together with the word that follows them, e.g. "SET SESSION", "START TRANSACTION". */
const TWO_WORD_VERBS = new Set(["SET", "RESET", "START"]);

/** Words that open Trino's `EXPLAIN (TYPE ..., FORMAT ...)` option list. */
const EXPLAIN_OPTIONS = new Set(["TYPE", "FORMAT"]);

/**
 * Accepts exactly one read statement (one optional trailing `;`) and returns it without the
 * semicolon and surrounding comments, ready to send. Throws `BadArgumentError("sql", reason)`.
 */
export function assertReadOnlySql(sql: string): { statement: string; kind: ReadStatementKind } {
  const statementTokens = singleStatement(tokenize(sql));
  const kind = classifyStatement(statementTokens);
  assertNoInto(statementTokens);
  const first = statementTokens[0] as Token;
  const last = statementTokens[statementTokens.length - 1] as Token;
  return { statement: sql.slice(first.start, last.end), kind };
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

// ---- tokenizer ----

function tokenize(sql: string): Token[] {
  const tokens: Token[] = [];
  let at = 0;
  while (at < sql.length) {
    const char = sql.charAt(at);
    if (/\s/.test(char)) {
      at++;
    } else if (sql.startsWith("--", at)) {
      const lineEnd = sql.indexOf("\n", at);
      at = lineEnd === -1 ? sql.length : lineEnd + 1;
    } else if (sql.startsWith("/*", at)) {
      const commentEnd = sql.indexOf("*/", at + 2);
      if (commentEnd === -1) refuse(`unterminated /* comment starting at ${position(sql, at)}`);
      at = commentEnd + 2;
    } else if (char === "'" || char === '"' || char === "`") {
      const end = closingQuote(sql, at);
      const kind = char === "'" ? "string" : "identifier";
      tokens.push({ kind, text: sql.slice(at, end), start: at, end });
      at = end;
    } else if (isWordChar(char)) {
      let end = at + 1;
      while (end < sql.length && isWordChar(sql.charAt(end))) end++;
      tokens.push({ kind: "word", text: sql.slice(at, end), start: at, end });
      at = end;
    } else {
      tokens.push({ kind: "symbol", text: char, start: at, end: at + 1 });
      at++;
    }
  }
  return tokens;
}

function isWordChar(char: string): boolean {
  return /[A-Za-z0-9_$]/.test(char);
}

/** The offset just past the quote that closes the literal opened at `openAt`; a doubled quote is an escape. */
function closingQuote(sql: string, openAt: number): number {
  const quote = sql.charAt(openAt);
  let at = openAt + 1;
  for (;;) {
    const next = sql.indexOf(quote, at);
    if (next === -1) {
      const what = quote === "'" ? "string literal" : "quoted identifier";
      refuse(`unterminated ${what} starting at ${position(sql, openAt)}`);
    }
    if (sql.charAt(next + 1) !== quote) return next + 1;
    at = next + 2;
  }
}

function position(sql: string, offset: number): string {
  const before = sql.slice(0, offset).split("\n");
  const column = (before[before.length - 1] ?? "").length + 1;
  return `line ${before.length}, column ${column}`;
}

// ---- statement structure ----

function singleStatement(tokens: Token[]): Token[] {
  const statements: Token[][] = [[]];
  for (const token of tokens) {
    if (isSymbol(token, ";")) statements.push([]);
    else statements[statements.length - 1]?.push(token);
  }
  const nonEmptyCount = statements.filter((statement) => statement.length > 0).length;
  if (nonEmptyCount === 0) refuse("the query is empty");
  if (nonEmptyCount > 1) refuse(`only one statement is allowed, found ${nonEmptyCount}`);
  const first = statements[0] as Token[];
  if (first.length === 0 || statements.length > 2) refuse('";" is only allowed once, at the end of the statement');
  return first;
}

function classifyStatement(tokens: Token[]): ReadStatementKind {
  switch (keywordOf(tokens[0])) {
    case "SHOW":
      return "show";
    case "DESCRIBE":
    case "DESC":
      return "describe";
    case "EXPLAIN":
      assertExplainable(tokens.slice(1));
      return "explain";
    default:
      return classifyQuery(tokens);
  }
}

/** A query: optional parentheses, then SELECT, TABLE, VALUES or WITH. */
function classifyQuery(tokens: Token[]): QueryKind {
  const firstIndex = tokens.findIndex((token) => !isSymbol(token, "("));
  const first = tokens[firstIndex];
  switch (keywordOf(first)) {
    case "SELECT":
    case "TABLE":
      return "select";
    case "VALUES":
      return "values";
    case "WITH":
      return classifyWith(tokens.slice(firstIndex + 1));
    default:
      return refuseStatement(tokens, firstIndex);
  }
}

/** `[RECURSIVE] name [(columns)] AS (query) [, ...]` then the main query; every part must read. */
function classifyWith(tokens: Token[]): QueryKind {
  let at = keywordOf(tokens[0]) === "RECURSIVE" ? 1 : 0;
  for (;;) {
    const name = tokens[at];
    if (!name || (name.kind !== "word" && name.kind !== "identifier")) {
      refuse("expected the name of a WITH query");
    }
    at++;
    if (isSymbol(tokens[at], "(")) at = matchingParenthesis(tokens, at) + 1;
    if (keywordOf(tokens[at]) !== "AS") refuse(`expected AS after the WITH query name ${name.text}`);
    at++;
    if (!isSymbol(tokens[at], "(")) refuse(`expected "(" after ${name.text} AS`);
    const close = matchingParenthesis(tokens, at);
    classifyQuery(tokens.slice(at + 1, close));
    at = close + 1;
    if (!isSymbol(tokens[at], ",")) break;
    at++;
  }
  const main = tokens.slice(at);
  if (main.length === 0) refuse("the WITH clause is not followed by a query");
  return classifyQuery(main);
}

function assertExplainable(tokens: Token[]): void {
  if (keywordOf(tokens[0]) === "ANALYZE") refuse("EXPLAIN ANALYZE is not allowed: it runs the statement");
  const hasOptions = isSymbol(tokens[0], "(") && EXPLAIN_OPTIONS.has(keywordOf(tokens[1]));
  const explained = hasOptions ? tokens.slice(matchingParenthesis(tokens, 0) + 1) : tokens;
  if (explained.length === 0) refuse("EXPLAIN must be followed by a statement");
  classifyStatement(explained);
}

function assertNoInto(tokens: Token[]): void {
  if (tokens.some((token) => keywordOf(token) === "INTO")) {
    refuse('INTO is not allowed: this tool only reads (quote a column named into as "into")');
  }
}

function refuseStatement(tokens: Token[], firstIndex: number): never {
  const first = tokens[firstIndex];
  if (!first) refuse('expected a query after "("');
  const keyword = keywordOf(first);
  if (WRITE_VERBS.has(keyword)) {
    const next = keywordOf(tokens[firstIndex + 1]);
    const verb = TWO_WORD_VERBS.has(keyword) && next ? `${keyword} ${next}` : keyword;
    refuse(`${verb} statements are not allowed: this tool only reads`);
  }
  const found = keyword || first.text;
  refuse(`a statement starting with ${found} is not allowed: it must start with ${ALLOWED_FIRST_KEYWORDS}`);
}

function matchingParenthesis(tokens: Token[], openIndex: number): number {
  let depth = 0;
  for (let at = openIndex; at < tokens.length; at++) {
    const token = tokens[at];
    if (isSymbol(token, "(")) depth++;
    else if (isSymbol(token, ")") && --depth === 0) return at;
  }
  return refuse('a "(" is never closed');
}

function isSymbol(token: Token | undefined, symbol: string): boolean {
  return token?.kind === "symbol" && token.text === symbol;
}

/** The upper-cased word, or "" for anything that is not a bare word. */
function keywordOf(token: Token | undefined): string {
  return token?.kind === "word" ? token.text.toUpperCase() : "";
}
