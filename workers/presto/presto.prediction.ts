import {
  ArrayPredictionContext,
  type ATNConfig,
  type ATNConfigSet,
  DFA,
  type HashSet,
  ParserATNSimulator,
  type ParserRuleContext,
  PredictionContextCache,
  SingletonPredictionContext,
  type TokenStream,
} from "antlr4ng";
import { TrinoSqlParser } from "dt-sql-parser/dist/lib/trino/TrinoSqlParser";

/**
 * A work budget for the parser's adaptive prediction, so that a short query cannot hold a
 * Durable Object's CPU: ALL(*) prediction over Trino's grammar is exponential in the nesting of
 * some shapes (`SELECT (SELECT (SELECT … 1)))`: each level doubles the work of one prediction,
 * 116 characters took 27 s). The cost is not in the number of predictions but inside single
 * ones: in walking the ATN (`closure_`) and, above all, in comparing the prediction contexts
 * that prediction merges (`equals` of ANTLR's prediction contexts, called exponentially often).
 * Both are counted as steps; a check that needs more steps than the budget, in one decision or
 * in all, is stopped with `PredictionBudgetExceeded`.
 *
 * Steps, not milliseconds: inside a Worker the clock does not advance while code runs without
 * I/O, so a time budget would never fire there. The numbers are measured (`npm run bench:guard`,
 * bench/results/guard.md, and the guard's tests): the realistic analytical SQL of
 * presto.analytics.corpus.ts, each parsed with an empty prediction cache (a fresh isolate, the
 * most it costs), needs at most ~61 000 steps in one decision and ~341 000 in all (8× and 4×
 * below the budget); a step costs about 0.5 µs on Node, so a refused check stops within
 * ~0.2 s (one decision) to ~0.8 s (all).
 */
export const PREDICTION_BUDGET = {
  /** Steps one prediction (one decision of the grammar at one place) may take. */
  perDecision: 500_000,
  /** Steps all predictions of one check may take, both parsing passes together. */
  perCheck: 1_500_000,
} as const;

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

interface Budget extends PredictionUsage {
  decisionStart: number;
  limits: { perDecision: number; perCheck: number };
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
 * ANTLR adds a prediction to its shared DFA cache only once it is complete, but the predictions
 * completed before the stop stay cached: a retry would go further each time, and an input built
 * to be expensive would fill the isolate's memory with its states. So a stopped check empties
 * the cache: the same input is refused again, and the next checks start cold (they fit the
 * budget cold: that is how it is measured).
 */
export function withPredictionBudget<T>(
  check: () => T,
  limits: { perDecision: number; perCheck: number } = PREDICTION_BUDGET,
): { result: T; usage: PredictionUsage } {
  const budget: Budget = { steps: 0, predictions: 0, maxDecisionSteps: 0, decisionStart: 0, limits };
  const outer = active;
  active = budget;
  try {
    const result = check();
    return { result, usage: usageOf(budget) };
  } catch (error) {
    if (error instanceof PredictionBudgetExceeded) resetPredictionCache();
    throw error;
  } finally {
    active = outer;
  }
}

/**
 * Empties the grammar's prediction cache (the DFA all parsers in this isolate share), as in a
 * fresh isolate, where a check costs the most: for tests and the bench, which measure that case.
 */
export function resetPredictionCache(): void {
  const dfas = sharedDfa();
  for (let decision = 0; decision < dfas.length; decision++) {
    dfas[decision] = new DFA(TrinoSqlParser._ATN.getDecisionState(decision), decision);
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

// Prediction contexts are created and compared inside ANTLR's merge functions, out of reach of a
// subclass: their `equals` is counted where it is defined. Outside a budgeted check (no other
// code in this Worker parses) the hook is one comparison.
for (const type of [SingletonPredictionContext, ArrayPredictionContext]) {
  const equals = type.prototype.equals;
  type.prototype.equals = function countedEquals(this: InstanceType<typeof type>, other: unknown): boolean {
    if (active) step();
    return equals.call(this, other);
  };
}
/** The generated parser's DFA cache, shared by all its instances (declared private, used as the generated constructor does). */
function sharedDfa(): DFA[] {
  return (TrinoSqlParser as unknown as { decisionsToDFA: DFA[] }).decisionsToDFA;
}

function usageOf(budget: Budget): PredictionUsage {
  return { steps: budget.steps, predictions: budget.predictions, maxDecisionSteps: budget.maxDecisionSteps };
}
