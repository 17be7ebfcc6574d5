import {
  type ATNSimulator,
  BailErrorStrategy,
  BaseErrorListener,
  type CharStream,
  CharStreams,
  CommonTokenStream,
  DefaultErrorStrategy,
  ParseCancellationException,
  type Parser,
  type ParserRuleContext,
  PredictionMode,
  type RecognitionException,
  type Recognizer,
  Token,
} from "antlr4ng";
import { TrinoSqlLexer } from "dt-sql-parser/dist/lib/trino/TrinoSqlLexer";
import type { StatementContext, TrinoSqlParser } from "dt-sql-parser/dist/lib/trino/TrinoSqlParser";
import {
  boundPredictionCache,
  budgetedParser,
  PREDICTION_BUDGET,
  PredictionBudgetExceeded,
  type PredictionLimits,
  type PredictionUsage,
  withPredictionBudget,
} from "./presto.prediction";

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

export type ParsedSql = (
  | { ok: true; statements: StatementContext[]; textOf: (context: ParserRuleContext) => string }
  /** Not (valid) Trino SQL. */
  | { ok: false; problem: SyntaxProblem }
  /** Beyond what the guard checks: too long, too deeply nested, or too costly to parse. */
  | { ok: false; tooComplex: string }
) & { usage: PredictionUsage };

/**
 * Longer SQL than this (in UTF-16 code units, as JavaScript counts) is refused before it is even
 * lexed: the tools' own limit on their `sql` argument, held here too so that no caller can hand
 * the guard more.
 */
export const MAX_SQL_LENGTH = 100_000;
/** Deeper bracket nesting than this (`(`, `[`) is refused before parsing. */
export const MAX_NESTING = 32;
/** Deeper nesting of subqueries (`(SELECT`, `(WITH`, `(VALUES`, `(TABLE`) than this is refused before parsing. */
export const MAX_SUBQUERY_DEPTH = 8;
/** More tokens than this (comments and whitespace not counted) are refused before parsing. */
export const MAX_TOKENS = 20_000;

const NO_USAGE: PredictionUsage = { steps: 0, predictions: 0, maxDecisionSteps: 0 };

/**
 * Parses `sql` into its statements. Fails on anything the grammar does not accept, reporting the
 * first problem; never returns a partial or recovered tree. Refuses, before parsing, what is
 * longer or nests deeper than the caps above, and stops parsing what exceeds the prediction
 * budget (presto.prediction.ts), so that no input holds the CPU for long.
 */
export function parseTrinoSql(sql: string, limits: PredictionLimits = PREDICTION_BUDGET): ParsedSql {
  if (sql.length > MAX_SQL_LENGTH) {
    return {
      ok: false,
      tooComplex: `it is too long to check (${sql.length} characters; at most ${MAX_SQL_LENGTH})`,
      usage: NO_USAGE,
    };
  }
  const chars = CharStreams.fromString(sql);
  const lexer = new TrinoSqlLexer(chars);
  const problems = new ProblemCollector(chars);
  lexer.removeErrorListeners();
  lexer.addErrorListener(problems);
  const tokens = new CommonTokenStream(lexer);
  tokens.fill();
  const beyond = beyondCaps(tokens.getTokens());
  if (beyond) {
    boundPredictionCache(limits); // the lexer's states, which lexing alone may have added
    return { ok: false, tooComplex: beyond, usage: NO_USAGE };
  }
  let parsed: { result: StatementContext[] | undefined; usage: PredictionUsage };
  try {
    parsed = withPredictionBudget(() => parseStatements(tokens, problems), limits);
  } catch (error) {
    if (error instanceof PredictionBudgetExceeded) {
      // Stopped in the full pass, which runs only once the fast one failed: where that failed is
      // most likely a syntax error, worth naming (a long query with a typo at its end).
      const at = problems.fastFailure;
      const near = at ? `; it may not be valid Trino SQL near line ${at.line}, column ${at.column + 1}` : "";
      return {
        ok: false,
        tooComplex: `it is too complex to check (parsing it needs too much work${near})`,
        usage: error.usage,
      };
    }
    // A stack overflow in the generated parser's recursion (a long chain of unary operators);
    // the budget has emptied the prediction cache, as after any stopped check.
    if (error instanceof RangeError)
      return { ok: false, tooComplex: "it is too deeply nested or too long to check", usage: NO_USAGE };
    throw error;
  }
  const { result: statements, usage } = parsed;
  const problem = problems.first;
  if (problem || !statements) return { ok: false, problem: problem ?? unknownProblem(), usage };
  return { ok: true, statements, textOf: (context) => sourceText(chars, context), usage };
}

/**
 * Two-stage parsing, as Trino does: the fast SLL prediction first, bailing at the first error;
 * only when that fails, full LL prediction (SLL can refuse valid input), reporting the first
 * error and stopping there: recovering from it to find more would cost without bound (19 000
 * misplaced words took 6 s) for problems nobody is shown.
 */
function parseStatements(tokens: CommonTokenStream, problems: ProblemCollector): StatementContext[] | undefined {
  const parser = budgetedParser(tokens);
  parser.removeErrorListeners();
  parser.interpreter.predictionMode = PredictionMode.SLL;
  const bail = new BailNoting();
  parser.errorHandler = bail;
  try {
    if (!problems.first) return statementsOf(parser);
  } catch (error) {
    if (!(error instanceof ParseCancellationException)) throw error;
    problems.fastFailure = bail.failedAt;
  }
  tokens.seek(0);
  const full = budgetedParser(tokens);
  full.removeErrorListeners();
  full.addErrorListener(problems);
  full.interpreter.predictionMode = PredictionMode.LL;
  full.errorHandler = new StopAtFirstError();
  try {
    const statements = statementsOf(full);
    return problems.first ? undefined : statements;
  } catch (error) {
    if (error instanceof ParseCancellationException && problems.first) return undefined;
    throw error;
  }
}

/** Bails at the first error, as BailErrorStrategy, noting the token it failed at. */
class BailNoting extends BailErrorStrategy {
  failedAt: Token | undefined;

  override recover(recognizer: Parser, error: RecognitionException): void {
    this.failedAt = error.offendingToken ?? recognizer.getCurrentToken();
    super.recover(recognizer, error);
  }

  override recoverInline(recognizer: Parser): never {
    this.failedAt = recognizer.getCurrentToken();
    return super.recoverInline(recognizer);
  }
}

/** ANTLR's error reporting (its messages, its listeners), then a stop instead of recovery. */
class StopAtFirstError extends DefaultErrorStrategy {
  override reportError(recognizer: Parser, error: RecognitionException): void {
    super.reportError(recognizer, error);
    throw new ParseCancellationException(error);
  }

  override reportUnwantedToken(recognizer: Parser): void {
    super.reportUnwantedToken(recognizer);
    throw new ParseCancellationException(new Error("unwanted token"));
  }

  override reportMissingToken(recognizer: Parser): void {
    super.reportMissingToken(recognizer);
    throw new ParseCancellationException(new Error("missing token"));
  }
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
/** The words that open a query inside a bracket: `(SELECT`, `(WITH`, `(VALUES`, `(TABLE`. */
const QUERY_STARTS = new Set([
  TrinoSqlLexer.KW_SELECT,
  TrinoSqlLexer.KW_WITH,
  TrinoSqlLexer.KW_VALUES,
  TrinoSqlLexer.KW_TABLE,
]);

/** Why the tokens are beyond what the guard parses (too many, too deeply nested), or undefined. */
function beyondCaps(all: Token[]): string | undefined {
  const tokens = all.filter((token) => token.channel === 0 && token.type !== Token.EOF);
  if (tokens.length > MAX_TOKENS) {
    return `it is too long to check (${tokens.length} tokens; at most ${MAX_TOKENS})`;
  }
  // For each open bracket, whether it opened a subquery.
  const open: boolean[] = [];
  let subqueries = 0;
  for (const [index, token] of tokens.entries()) {
    const text = token.text ?? "";
    if (OPENING.has(text)) {
      const subquery = text === "(" && QUERY_STARTS.has(tokens[index + 1]?.type ?? -1);
      open.push(subquery);
      if (subquery) subqueries++;
      const where = `(line ${token.line}, column ${token.column + 1})`;
      if (open.length > MAX_NESTING) return `it nests brackets more than ${MAX_NESTING} deep ${where}`;
      if (subqueries > MAX_SUBQUERY_DEPTH) return `it nests subqueries more than ${MAX_SUBQUERY_DEPTH} deep ${where}`;
    } else if (CLOSING.has(text) && open.pop()) {
      subqueries--;
    }
  }
  return undefined;
}

class ProblemCollector extends BaseErrorListener {
  first: SyntaxProblem | undefined;
  /** Where the fast (SLL) pass failed, when it did. */
  fastFailure: Token | undefined;
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
