import {
  type ATNSimulator,
  BailErrorStrategy,
  BaseErrorListener,
  type CharStream,
  CharStreams,
  CommonTokenStream,
  ParseCancellationException,
  type ParserRuleContext,
  PredictionMode,
  type RecognitionException,
  type Recognizer,
  type Token,
} from "antlr4ng";
import { TrinoSqlLexer } from "dt-sql-parser/dist/lib/trino/TrinoSqlLexer";
import { type StatementContext, TrinoSqlParser } from "dt-sql-parser/dist/lib/trino/TrinoSqlParser";

/**
 * Trino SQL as Trino reads it: the lexer and parser generated from Trino's own grammar
 * (`SqlBase.g4`, as adapted by dt-sql-parser), so comments, string literals, quoted identifiers
 * and keywords are recognized exactly where the coordinator recognizes them (a `--` comment ends
 * at CR as well as LF, `/* … *\/` does not nest, `U&'…'` is one literal).
 */

export interface SyntaxProblem {
  /** 1-based, counted the way Trino counts them (lines end at LF). */
  line: number;
  column: number;
  message: string;
}

export type ParsedSql =
  | { ok: true; statements: StatementContext[]; textOf: (context: ParserRuleContext) => string }
  | { ok: false; problem: SyntaxProblem };

/** Deeper nesting than this is refused before parsing: prediction cost grows steeply with depth. */
export const MAX_NESTING = 100;

/**
 * Parses `sql` into its statements. Fails on anything the grammar does not accept, reporting the
 * first problem; never returns a partial or recovered tree.
 */
export function parseTrinoSql(sql: string): ParsedSql {
  const chars = CharStreams.fromString(sql);
  const lexer = new TrinoSqlLexer(chars);
  const problems = new ProblemCollector(chars);
  lexer.removeErrorListeners();
  lexer.addErrorListener(problems);
  const tokens = new CommonTokenStream(lexer);
  tokens.fill();
  const tooDeep = firstTooDeep(tokens.getTokens());
  if (tooDeep) {
    return {
      ok: false,
      problem: {
        line: tooDeep.line,
        column: tooDeep.column + 1,
        message: `the query nests brackets more than ${MAX_NESTING} deep`,
      },
    };
  }
  const statements = parseStatements(tokens, problems);
  const problem = problems.first;
  if (problem || !statements) return { ok: false, problem: problem ?? unknownProblem() };
  return { ok: true, statements, textOf: (context) => sourceText(chars, context) };
}

/**
 * Two-stage parsing, as Trino does: the fast SLL prediction first, bailing at the first error;
 * only when that fails, full LL prediction with error reporting (SLL can refuse valid input).
 */
function parseStatements(tokens: CommonTokenStream, problems: ProblemCollector): StatementContext[] | undefined {
  const parser = new TrinoSqlParser(tokens);
  parser.removeErrorListeners();
  parser.interpreter.predictionMode = PredictionMode.SLL;
  parser.errorHandler = new BailErrorStrategy();
  try {
    if (!problems.first) return statementsOf(parser);
  } catch (error) {
    if (!(error instanceof ParseCancellationException)) throw error;
  }
  tokens.seek(0);
  const full = new TrinoSqlParser(tokens);
  full.removeErrorListeners();
  full.addErrorListener(problems);
  full.interpreter.predictionMode = PredictionMode.LL;
  const statements = statementsOf(full);
  return problems.first ? undefined : statements;
}

function statementsOf(parser: TrinoSqlParser): StatementContext[] {
  return parser
    .program()
    .statements()
    .map((statements) => statements.singleStatement().statement());
}

/** The original text from the statement's first token to its last (no `;`, no comments around it). */
function sourceText(chars: CharStream, context: ParserRuleContext): string {
  const start = context.start?.start ?? 0;
  const stop = context.stop?.stop ?? start - 1;
  return stop < start ? "" : chars.getText(start, stop);
}

const OPENING = new Set(["(", "["]);
const CLOSING = new Set([")", "]"]);

function firstTooDeep(tokens: Token[]): Token | undefined {
  let depth = 0;
  for (const token of tokens) {
    if (token.channel !== 0) continue;
    const text = token.text ?? "";
    if (OPENING.has(text) && ++depth > MAX_NESTING) return token;
    if (CLOSING.has(text)) depth--;
  }
  return undefined;
}

class ProblemCollector extends BaseErrorListener {
  first: SyntaxProblem | undefined;
  readonly #chars: CharStream;

  constructor(chars: CharStream) {
    super();
    this.#chars = chars;
  }

  override syntaxError<S extends Token, T extends ATNSimulator>(
    _recognizer: Recognizer<T>,
    offendingSymbol: S | null,
    line: number,
    column: number,
    message: string,
    _error: RecognitionException | null,
  ): void {
    this.first ??= { line, column: column + 1, message: this.#readable(message, offendingSymbol) };
  }

  /** ANTLR's message, naming unterminated literals and comments, without the long token lists. */
  #readable(message: string, offending: Token | null): string {
    const text = offending?.text ?? "";
    if (offending?.type === TrinoSqlLexer.UNRECOGNIZED && UNTERMINATED[text])
      return `${UNTERMINATED[text]} is never closed`;
    if (
      text === "*" &&
      offending &&
      offending.start > 0 &&
      this.#chars.getText(offending.start - 1, offending.start - 1) === "/"
    ) {
      return "a /* comment is never closed";
    }
    if (/failed predicate/.test(message)) return `unexpected input ${text === "<EOF>" ? "at the end" : `'${text}'`}`;
    const expecting = /expecting \{([^}]*)\}/.exec(message);
    if (!expecting) return message;
    const alternatives = (expecting[1] ?? "").split(", ");
    const shown = alternatives.length > 8 ? `${alternatives.slice(0, 8).join(", ")}, …` : alternatives.join(", ");
    return message.replace(expecting[0], `expecting one of ${shown}`);
  }
}

const UNTERMINATED: Record<string, string> = {
  "'": "a string literal",
  '"': "a quoted identifier",
  "`": "a backquoted identifier",
};

function unknownProblem(): SyntaxProblem {
  return { line: 1, column: 1, message: "the query could not be parsed" };
}
