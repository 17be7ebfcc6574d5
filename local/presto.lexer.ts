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
  /** Offset in the original SQL text; rewritten tokens keep the offset of what they replace. */
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

export const synthetic = (text: string, start: number, kind: TokenKind = "word"): Token => ({ kind, text, start });

export const render = (tokens: Token[]): string => tokens.map((token) => token.text).join(" ");

export const quoteIdentifier = (name: string): string => `"${name.replaceAll('"', '""')}"`;

/** Index of the `)` closing the `(` at `open`, or `tokens.length` when unbalanced. */
export function matchingParen(tokens: Token[], open: number): number {
  let depth = 0;
  for (let index = open; index < tokens.length; index++) {
    if (isSymbol(tokens[index], "(")) depth++;
    else if (isSymbol(tokens[index], ")") && --depth === 0) return index;
  }
  return tokens.length;
}

/** Splits tokens at commas outside parentheses. */
export function splitTopLevel(tokens: Token[]): Token[][] {
  const parts: Token[][] = [[]];
  let depth = 0;
  for (const token of tokens) {
    if (isSymbol(token, "(")) depth++;
    if (isSymbol(token, ")")) depth--;
    if (depth === 0 && isSymbol(token, ",")) parts.push([]);
    else parts[parts.length - 1]?.push(token);
  }
  return parts;
}
