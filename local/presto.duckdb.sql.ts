/**
 * Trino SQL text as DuckDB reads it. DuckDB's dialect is close enough that the text goes as is,
 * with a few lexical adjustments, each keeping a map back to the client's offsets (DuckDB reports
 * error positions in bytes of the text it got; Trino clients get line and column of theirs):
 *
 * - comments are blanked, so Trino's rules hold (DuckDB nests `/* … *\/`, Trino does not);
 * - `U&'…'` literals are decoded into plain literals (DuckDB does not implement them);
 * - table and schema properties (`CREATE TABLE t (…) WITH (format = 'ORC')`) are blanked: the
 *   local catalogs have none, as a connector with defaults;
 * - names DuckDB reserves are renamed: the catalog `system` is the DuckDB database
 *   `trino_system`, and each catalog's `information_schema` is the schema
 *   `trino_information_schema` (DuckDB's own information_schema spans every catalog).
 */
import { isIdentifier, isSymbol, isWord, matchingParen, nameAt, stringValue, type Token } from "./presto.lexer.ts";

/** DuckDB's name for a Trino catalog. */
export const duckDbCatalog = (catalog: string): string => (catalog === "system" ? "trino_system" : catalog);
export const trinoCatalog = (database: string): string => (database === "trino_system" ? "system" : database);
/** DuckDB's name for a Trino schema. */
export const duckDbSchema = (schema: string): string =>
  schema === "information_schema" ? "trino_information_schema" : schema;

/** DuckDB names in an error message as Trino names them. */
export const trinoNames = (message: string): string =>
  message.replaceAll("trino_information_schema", "information_schema").replaceAll("trino_system", "system");

export const quoted = (name: string): string => `"${name.replaceAll('"', '""')}"`;

interface Edit {
  /** Offsets in the original text. */
  start: number;
  end: number;
  text: string;
}

interface Piece {
  /** Where the piece starts in the DuckDB text and in the original. */
  text: number;
  original: number;
  /** Offsets inside map one to one (copied text, or an edit of the same length). */
  exact: boolean;
}

/** SQL for DuckDB, with the way back to the client's offsets. */
export class DuckDbSql {
  readonly text: string;
  readonly #pieces: Piece[] = [{ text: 0, original: 0, exact: false }];

  constructor(original: string, edits: Edit[], prefix = "") {
    let text = prefix;
    let at = 0;
    for (const edit of [...edits].sort((a, b) => a.start - b.start)) {
      if (edit.start < at) continue;
      this.#pieces.push({ text: text.length, original: at, exact: true });
      text += original.slice(at, edit.start);
      const exact = edit.text.length === edit.end - edit.start;
      this.#pieces.push({ text: text.length, original: edit.start, exact });
      text += edit.text;
      at = edit.end;
    }
    this.#pieces.push({ text: text.length, original: at, exact: true });
    this.text = text + original.slice(at);
  }

  /** The client's offset for a byte position DuckDB reported in `text`. */
  originalOffset(bytePosition: number): number {
    const offset = Buffer.from(this.text).subarray(0, bytePosition).toString("utf8").length;
    let found = this.#pieces[0] as Piece;
    for (const piece of this.#pieces) if (piece.text <= offset) found = piece;
    return found.exact ? found.original + offset - found.text : found.original;
  }
}

/** The DuckDB text of the statement in `sql` from offset `from` on (e.g. under EXPLAIN ANALYZE), after `prefix`. */
export function duckDbSql(sql: string, tokens: Token[], from = 0, prefix = ""): DuckDbSql {
  const edits: Edit[] = [];
  blankGaps(sql, tokens, edits);
  for (const token of tokens) {
    if (token.kind === "string" && /^[uU]&/.test(token.text)) {
      const literal = `'${stringValue(token).replaceAll("'", "''")}'`;
      edits.push({ start: token.start, end: token.start + token.text.length, text: pad(literal, token.text.length) });
    }
  }
  blankProperties(sql, tokens, edits);
  renameReservedNames(tokens, edits);
  const after = edits.filter((edit) => edit.start >= from);
  return new DuckDbSql(sql, [{ start: 0, end: from, text: "" }, ...after], prefix);
}

const pad = (text: string, length: number): string => text + " ".repeat(Math.max(0, length - text.length));

/** Replaces comments (what lies between tokens besides whitespace) by spaces. */
function blankGaps(sql: string, tokens: Token[], edits: Edit[]): void {
  let at = 0;
  for (const token of [...tokens, { start: sql.length, text: "" } as Token]) {
    const gap = sql.slice(at, token.start);
    if (/[^ \t\r\n]/.test(gap)) edits.push({ start: at, end: token.start, text: " ".repeat(gap.length) });
    at = token.start + token.text.length;
  }
}

/** `WITH (name = value, …)` after the name or column list of CREATE TABLE/SCHEMA, before any `AS`. */
function blankProperties(sql: string, tokens: Token[], edits: Edit[]): void {
  if (!isWord(tokens[0], "CREATE")) return;
  for (let index = 1; index < tokens.length; index++) {
    const token = tokens[index] as Token;
    if (isSymbol(token, "(")) index = matchingParen(tokens, index);
    else if (isWord(token, "AS")) return;
    else if (isWord(token, "WITH") && isSymbol(tokens[index + 1], "(")) {
      const close = tokens[matchingParen(tokens, index + 1)];
      const end = close ? close.start + 1 : sql.length;
      edits.push({ start: token.start, end, text: " ".repeat(end - token.start) });
      return;
    }
  }
}

/** `system.s.t` → `"trino_system".s.t`; `c.information_schema.t` and `information_schema.t` → `…"trino_information_schema".t`. */
function renameReservedNames(tokens: Token[], edits: Edit[]): void {
  for (let index = 0; index < tokens.length; index++) {
    if (isSymbol(tokens[index - 1], ".") || !isIdentifier(tokens[index])) continue;
    const name = nameAt(tokens, index) as NonNullable<ReturnType<typeof nameAt>>;
    const call = isSymbol(tokens[name.end], "(");
    const rename = (part: number, text: string) => {
      const token = tokens[index + part * 2] as Token;
      edits.push({ start: token.start, end: token.start + token.text.length, text: quoted(text) });
    };
    if (!call && name.parts.length >= 3 && name.parts[0] === "system") rename(0, "trino_system");
    if (!call && name.parts.length >= 3 && name.parts[1] === "information_schema")
      rename(1, duckDbSchema("information_schema"));
    if (!call && name.parts.length === 2 && name.parts[0] === "information_schema")
      rename(0, duckDbSchema("information_schema"));
    index = name.end - 1;
  }
}
