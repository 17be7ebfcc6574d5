import {
  ArrayPredictionContext,
  type ATNConfig,
  type ATNConfigSet,
  DFA,
  type DFAState,
  HashMap,
  HashSet,
  ParserATNSimulator,
  type ParserRuleContext,
  PredictionContextCache,
  SingletonPredictionContext,
  type TokenStream,
} from "antlr4ng";
import { TrinoSqlLexer } from "dt-sql-parser/dist/lib/trino/TrinoSqlLexer";
import { TrinoSqlParser } from "dt-sql-parser/dist/lib/trino/TrinoSqlParser";

/**
 * A work budget for the parser's adaptive prediction, so that a short query cannot hold a
 * Durable Object's CPU: ALL(*) prediction over Trino's grammar is exponential in the nesting of
 * some shapes (`SELECT (SELECT (SELECT … 1)))`: each level doubles the work of one prediction,
 * 116 characters took 27 s) and quadratic in others (a prediction that looks far ahead, repeated
 * at every item of a long list). The work is counted as steps wherever prediction loops:
 *
 * - each lookahead token of a prediction (`getExistingTargetState`), a tenth of a step when it
 *   follows a cached DFA edge: the long-lookahead cost, which the DFA cache does not remove (a
 *   select list of bare columns looks ahead to its end at every column: quadratic);
 * - each ATN configuration closed over (`closure_`);
 * - each comparison of prediction contexts (their `equals`, called exponentially often by the
 *   merges inside prediction, where no subclass reaches);
 * - each lookup in ANTLR's hash maps and sets (configuration sets, merge and context caches,
 *   the conflict analyses run on every lookahead token).
 *
 * A check that needs more steps than the budget, in one decision or in all, is stopped with
 * `PredictionBudgetExceeded`. Steps, not milliseconds: inside a Worker the clock does not
 * advance while code runs without I/O, so a time budget would never fire there. Counting every
 * loop keeps a step's cost within a small range whatever the input's shape (0.2–1 µs on Node,
 * `npm run bench` prints steps and milliseconds side by side), which is what makes the budget a
 * bound on CPU time. The numbers are measured (bench/results/guard.md, and the guard's tests):
 * the realistic analytical SQL of presto.analytics.corpus.ts, each parsed with an empty
 * prediction cache (a fresh isolate, the most it costs), needs at most ~112 000 steps in one
 * decision and ~674 000 in all (7× and 2.2× below the budget); scalar subqueries nested eight deep
 * in a select list, as SQL generators write them, ~407 000 in one decision.
 */
export const PREDICTION_BUDGET = {
  /** Steps one prediction (one decision of the grammar at one place) may take. */
  perDecision: 800_000,
  /** Steps all predictions of one check may take, both parsing passes together. */
  perCheck: 1_500_000,
  /**
   * DFA states the prediction cache may hold after a check (each costs ~11 KB: its
   * configurations and their contexts). The realistic corpus leaves ~1 200 and a long stream of
   * varied queries ~2 500; past the cap the cache is emptied after the check, and the next
   * checks start cold (they fit the budget cold: that is how it is measured).
   */
  cachedStates: 3_000,
} as const;

export type PredictionLimits = { readonly [K in keyof typeof PREDICTION_BUDGET]: number };

/** What a check used, for tests and the bench. */
export interface PredictionUsage {
  steps: number;
  predictions: number;
  /** The most steps one prediction took. */
  maxDecisionSteps: number;
}

export class PredictionBudgetExceeded extends Error {
  readonly usage: PredictionUsage;
  constructor(usage: PredictionUsage) {
    super("the query is too complex to check");
    this.name = "PredictionBudgetExceeded";
    this.usage = usage;
  }
}

/**
 * Lookahead tokens a prediction follows through the DFA cache for one step: following a cached
 * edge costs about a tenth of the other steps (measured: ~0.04 µs against 0.2–0.75 µs).
 */
const LOOKAHEAD_PER_STEP = 10;

interface Budget extends PredictionUsage {
  limits: PredictionLimits;
  /** Lookahead tokens followed through the DFA cache (counted as steps, LOOKAHEAD_PER_STEP a step). */
  lookahead: number;
  decisionStart: number;
}

/** The budget of the check running now (checks are synchronous: at most one at a time). */
let active: Budget | undefined;

function step(): void {
  const budget = active;
  if (!budget) return;
  budget.steps++;
  const inDecision = budget.steps - budget.decisionStart;
  if (inDecision > budget.maxDecisionSteps) budget.maxDecisionSteps = inDecision;
  if (inDecision > budget.limits.perDecision || budget.steps > budget.limits.perCheck) {
    throw new PredictionBudgetExceeded(usageOf(budget));
  }
}

/**
 * Runs `check` with a fresh budget and reports what it used. A `PredictionBudgetExceeded` thrown
 * inside propagates (the generated parser rethrows anything that is not a RecognitionException).
 * ANTLR adds a prediction to the DFA cache that all parsers of the isolate share only once it
 * is complete, but the predictions completed before a stop stay cached: a retry would go
 * further each time, and an input built to be expensive would fill the isolate's memory with
 * its states. So a stopped check (budget or stack overflow) empties the cache, and any check
 * leaving it above `limits.cachedStates` too: the cache never grows without bound across calls.
 */
export function withPredictionBudget<T>(
  check: () => T,
  limits: PredictionLimits = PREDICTION_BUDGET,
): { result: T; usage: PredictionUsage } {
  const budget: Budget = { steps: 0, predictions: 0, maxDecisionSteps: 0, lookahead: 0, decisionStart: 0, limits };
  const outer = active;
  active = budget;
  let stopped = true;
  try {
    const result = check();
    stopped = false;
    return { result, usage: usageOf(budget) };
  } finally {
    active = outer;
    if (stopped) resetPredictionCache();
    else boundPredictionCache(limits);
  }
}

/** Empties the prediction caches if they hold more states than the limits allow. */
export function boundPredictionCache(limits: PredictionLimits = PREDICTION_BUDGET): void {
  if (cachedStates() > limits.cachedStates) resetPredictionCache();
}

/** DFA states in the prediction caches (the parser's and the lexer's). */
export function cachedStates(): number {
  let states = 0;
  for (const dfa of [...sharedDfa(), ...lexerDfa()]) states += dfa.states.length;
  return states;
}

/**
 * Empties the prediction caches (the DFAs all parsers and lexers in this isolate share), as in a
 * fresh isolate, where a check costs the most: after a stopped check, past the cap, and for
 * tests and the bench, which measure that case.
 */
export function resetPredictionCache(): void {
  for (const [dfas, atn] of [
    [sharedDfa(), TrinoSqlParser._ATN],
    [lexerDfa(), TrinoSqlLexer._ATN],
  ] as const) {
    for (let decision = 0; decision < dfas.length; decision++) {
      dfas[decision] = new DFA(atn.getDecisionState(decision), decision);
    }
  }
}

/** A Trino parser whose predictions count against the active budget. */
export function budgetedParser(tokens: TokenStream): TrinoSqlParser {
  const parser = new TrinoSqlParser(tokens);
  parser.interpreter = new BudgetedSimulator(parser);
  return parser;
}

class BudgetedSimulator extends ParserATNSimulator {
  constructor(parser: TrinoSqlParser) {
    // As the generated constructor builds it: the grammar's ATN and its shared DFA cache.
    super(parser, TrinoSqlParser._ATN, sharedDfa(), new PredictionContextCache());
  }

  override getExistingTargetState(previousD: DFAState, t: number): DFAState | null {
    const budget = active;
    if (budget && ++budget.lookahead % LOOKAHEAD_PER_STEP === 0) step();
    return super.getExistingTargetState(previousD, t);
  }

  override adaptivePredict(input: TokenStream, decision: number, outerContext: ParserRuleContext | null): number {
    if (active) {
      active.predictions++;
      active.decisionStart = active.steps;
    }
    return super.adaptivePredict(input, decision, outerContext);
  }

  protected override closure_(
    config: ATNConfig,
    configs: ATNConfigSet,
    closureBusy: HashSet<ATNConfig>,
    collectPredicates: boolean,
    fullCtx: boolean,
    depth: number,
    treatEofAsEpsilon: boolean,
  ): void {
    step();
    super.closure_(config, configs, closureBusy, collectPredicates, fullCtx, depth, treatEofAsEpsilon);
  }
}

// Prediction contexts are merged and compared, and configurations hashed into ANTLR's maps and
// sets, inside functions out of reach of a subclass: they are counted where they are defined.
// Outside a budgeted check (no other code in this Worker parses) a hook is one comparison.
countCalls(SingletonPredictionContext.prototype, ["equals"]);
countCalls(ArrayPredictionContext.prototype, ["equals"]);
countCalls(HashMap.prototype, ["get", "set"]);
countCalls(HashSet.prototype, ["add", "get"]);

function countCalls(prototype: object, names: string[]): void {
  const methods = prototype as Record<string, (...args: unknown[]) => unknown>;
  for (const name of names) {
    const original = methods[name];
    if (typeof original !== "function") throw new Error(`antlr4ng has no method ${name} to count`);
    methods[name] = function counted(this: unknown, ...args: unknown[]): unknown {
      if (active) step();
      return original.apply(this, args);
    };
  }
}
/** The generated parser's DFA cache, shared by all its instances (declared private, used as the generated constructor does). */
function sharedDfa(): DFA[] {
  return (TrinoSqlParser as unknown as { decisionsToDFA: DFA[] }).decisionsToDFA;
}

/** The generated lexer's, likewise. */
function lexerDfa(): DFA[] {
  return (TrinoSqlLexer as unknown as { decisionsToDFA: DFA[] }).decisionsToDFA;
}

function usageOf(budget: Budget): PredictionUsage {
  return { steps: budget.steps, predictions: budget.predictions, maxDecisionSteps: budget.maxDecisionSteps };
}
