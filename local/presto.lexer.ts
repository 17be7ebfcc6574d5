/**
 * Trino's lexical rules for the local coordinator: what is a comment, a string literal, a quoted
 * identifier. They follow Trino's grammar (SqlBase.g4): a `--` comment ends at CR or LF, a
 * `/* … *\/` comment does not nest and must be closed, and `U&'…'` is one string literal.
 */
import { TrinoError } from "./presto.errors.ts";

export type TokenKind = "word" | "quoted" | "string" | "number" | "symbol";

export interface Token {
  kind: TokenKind;
  text: string;
  /** Offset in the SQL text. */
  start: number;
}

export const TOKEN_PATTERN = new RegExp(
  [
    // Trino's whitespace is exactly these four; a -- comment ends at CR or LF.
    String.raw`[ \t\r\n]+`,
    String.raw`--[^\r\n]*`,
    // Not nested, and only when closed: an unclosed /* is the symbols / and *, a syntax error.
    String.raw`\/\*[\s\S]*?\*\/`,
    "(?<string>(?:[xX]|[uU]&)?'(?:[^']|'')*'?)",
    '(?<quoted>"(?:[^"]|"")*"?)',
    String.raw`(?<number>(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)`,
    String.raw`(?<word>[\p{L}_][\p{L}\p{N}_$]*)`,
    String.raw`(?<symbol><=|>=|<>|!=|\|\||=>|->|[\s\S])`,
  ].join("|"),
  "uy",
);

/** Splits SQL into significant tokens (whitespace and comments are dropped). */
export function tokenize(sql: string): Token[] {
  const tokens: Token[] = [];
  let offset = 0;
  while (offset < sql.length) {
    TOKEN_PATTERN.lastIndex = offset;
    const match = TOKEN_PATTERN.exec(sql) as RegExpExecArray;
    const groups = match.groups ?? {};
    const kind = (Object.keys(groups) as TokenKind[]).find((name) => groups[name] !== undefined);
    if (kind) tokens.push({ kind, text: match[0], start: offset });
    offset += match[0].length;
  }
  return tokens;
}

export const isWord = (token: Token | undefined, ...words: string[]): boolean =>
  token?.kind === "word" && words.includes(token.text.toUpperCase());

export const isSymbol = (token: Token | undefined, symbol: string): boolean =>
  token?.kind === "symbol" && token.text === symbol;

export const isIdentifier = (token: Token | undefined): boolean => token?.kind === "word" || token?.kind === "quoted";

/** Trino identifiers are case-insensitive; the local catalogs use lowercase names. */
export function identifierValue(token: Token): string {
  const text = token.kind === "quoted" ? token.text.slice(1, -1).replaceAll('""', '"') : token.text;
  return text.toLowerCase();
}

/** The value of a string literal; `U&'…'` literals have their `\\XXXX` and `\\+XXXXXX` escapes decoded. */
export function stringValue(token: Token): string {
  if (!/^[uU]&/.test(token.text)) return token.text.slice(1, -1).replaceAll("''", "'");
  return decodeUnicodeEscapes(token.text.slice(3, -1).replaceAll("''", "'"), token.start);
}

/** Trino's Unicode escapes with the default escape character `\\`; throws on a malformed escape. */
function decodeUnicodeEscapes(text: string, start: number): string {
  return text.replace(/\\(?:\+([0-9A-Fa-f]{6})|([0-9A-Fa-f]{4})|(\\)|)/g, (_match, long, short, backslash) => {
    if (backslash) return "\\";
    const hex = long ?? short;
    const codePoint = hex === undefined ? Number.NaN : Number.parseInt(hex, 16);
    if (!(codePoint <= 0x10ffff)) {
      throw new TrinoError("SYNTAX_ERROR", "Invalid Unicode escape in U&'…' literal", start);
    }
    return String.fromCodePoint(codePoint);
  });
}

export const render = (tokens: Token[]): string => tokens.map((token) => token.text).join(" ");

/** Index of the `)` closing the `(` at `open`, or `tokens.length` when unbalanced. */
export function matchingParen(tokens: Token[], open: number): number {
  let depth = 0;
  for (let index = open; index < tokens.length; index++) {
    if (isSymbol(tokens[index], "(")) depth++;
    else if (isSymbol(tokens[index], ")") && --depth === 0) return index;
  }
  return tokens.length;
}

/** A dotted name (`a`, `a.b`, `a.b.c`), lowercased, where it starts, and the index after it. */
export interface QualifiedName {
  parts: string[];
  start: number;
}

/** The dotted name at `index`, if an identifier is there. */
export function nameAt(tokens: Token[], index: number): (QualifiedName & { end: number }) | undefined {
  if (!isIdentifier(tokens[index])) return undefined;
  const parts = [identifierValue(tokens[index] as Token)];
  let end = index + 1;
  while (isSymbol(tokens[end], ".") && isIdentifier(tokens[end + 1])) {
    parts.push(identifierValue(tokens[end + 1] as Token));
    end += 2;
  }
  return { parts, start: (tokens[index] as Token).start, end };
}

/** A tiny recursive-descent helper for the statements the coordinator reads itself (SHOW, USE, EXPLAIN options). */
export class Cursor {
  readonly tokens: Token[];
  readonly sqlLength: number;
  index = 0;

  constructor(tokens: Token[], sqlLength: number) {
    this.tokens = tokens;
    this.sqlLength = sqlLength;
  }

  get current(): Token | undefined {
    return this.tokens[this.index];
  }

  get position(): number {
    return this.current?.start ?? this.sqlLength;
  }

  /** Where the statement starts: Trino locates most semantic errors of DDL and SHOW there. */
  get start(): number {
    return this.tokens[0]?.start ?? 0;
  }

  accept(...words: string[]): boolean {
    if (!isWord(this.current, ...words)) return false;
    this.index++;
    return true;
  }

  expect(...words: string[]): string {
    const word = this.current?.text.toUpperCase() ?? "";
    if (!this.accept(...words)) throw this.unexpected(words.map((expected) => `'${expected}'`).join(", "));
    return word;
  }

  acceptSymbol(symbol: string): boolean {
    if (!isSymbol(this.current, symbol)) return false;
    this.index++;
    return true;
  }

  expectSymbol(symbol: string): void {
    if (!this.acceptSymbol(symbol)) throw this.unexpected(`'${symbol}'`);
  }

  /** `a`, `a.b` or `a.b.c`, lowercased. */
  name(): QualifiedName {
    const name = nameAt(this.tokens, this.index);
    if (!name) throw this.unexpected("<identifier>");
    this.index = name.end;
    return { parts: name.parts, start: name.start };
  }

  string(): string {
    const token = this.current;
    if (token?.kind !== "string") throw this.unexpected("<string>");
    this.index++;
    return stringValue(token);
  }

  rest(): Token[] {
    const rest = this.tokens.slice(this.index);
    this.index = this.tokens.length;
    return rest;
  }

  expectEnd(): void {
    if (this.current) throw this.unexpected("<EOF>");
  }

  unexpected(expecting: string): TrinoError {
    const found = this.current ? this.current.text : "<EOF>";
    return new TrinoError("SYNTAX_ERROR", `mismatched input '${found}'. Expecting: ${expecting}`, this.position);
  }
}
