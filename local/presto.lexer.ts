/**
 * Trino's lexical rules for the local coordinator: what is a comment, a string literal, a quoted
 * identifier. They follow Trino's grammar (SqlBase.g4): a `--` comment ends at CR or LF, a
 * `/* … *\/` comment does not nest and must be closed, and `U&'…'` is one string literal.
 */

export type TokenKind = "word" | "quoted" | "string" | "number" | "symbol";

export interface Token {
  kind: TokenKind;
  text: string;
  /** Offset in the original SQL text; rewritten tokens keep the offset of what they replace. */
  start: number;
}

export const TOKEN_PATTERN = new RegExp(
  [
    String.raw`\s+`,
    String.raw`--[^\n]*`,
    String.raw`\/\*[\s\S]*?(?:\*\/|$)`,
    "(?<string>[xX]?'(?:[^']|'')*'?)",
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

export const stringValue = (token: Token): string => token.text.slice(1, -1).replaceAll("''", "'");

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
