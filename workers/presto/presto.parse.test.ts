import { beforeEach, describe, expect, it } from "vitest";
import { ANALYTICS_QUERIES } from "./presto.analytics.corpus";
import {
  MAX_NESTING,
  MAX_SQL_LENGTH,
  MAX_SUBQUERY_DEPTH,
  MAX_TOKENS,
  type ParsedSql,
  parseTrinoSql,
} from "./presto.parse";
import { cachedStates, PREDICTION_BUDGET, resetPredictionCache } from "./presto.prediction";
import { assertReadOnlySql } from "./presto.statement";

/**
 * The guard's cost is bounded: inputs whose prediction is exponential in their nesting are
 * refused by the caps or stopped by the prediction budget, and realistic analytical SQL passes
 * well within it. Asserted on the prediction counters, not on time (the clock does not move
 * inside a Worker while code runs; `npm run bench:guard` measures the time on Node). Each case
 * starts from an empty prediction cache, as in a fresh isolate, where a check costs the most.
 */

beforeEach(() => resetPredictionCache());

/** The review's inputs: nested subqueries in the select list, 2–30 s each before the budget. */
const nestedSelects = (n: number) => `SELECT ${"(SELECT ".repeat(n)}1${")".repeat(n)}`;
const doubleParens = (n: number) => `SELECT ${"((SELECT ".repeat(n)}1${")) ".repeat(n)}`;

function tooComplex(parsed: ParsedSql): string {
  if (parsed.ok || !("tooComplex" in parsed)) throw new Error(`expected a refusal, got ${JSON.stringify(parsed)}`);
  return parsed.tooComplex;
}

describe("the guard refuses what it cannot check cheaply", () => {
  it.each([
    ["n=8 (80 chars, 2.1 s before)", nestedSelects(8)],
    ["n=7", nestedSelects(7)],
    ["((SELECT x6 (80 chars, 28.9 s before)", doubleParens(6)],
    ["((SELECT x3", doubleParens(3)],
  ])("stops the prediction of nested subqueries in the select list: %s", (_name, sql) => {
    const parsed = parseTrinoSql(sql);
    expect(tooComplex(parsed)).toBe("it is too complex to check (parsing it needs too much work)");
    // Stopped at the budget, not after the exponential work.
    expect(parsed.usage.maxDecisionSteps).toBeLessThanOrEqual(PREDICTION_BUDGET.perDecision + 1);
    expect(parsed.usage.steps).toBeLessThanOrEqual(PREDICTION_BUDGET.perCheck + 1);
    // Refused again: a stopped check empties the cache, so no partial work carries over to a retry.
    expect(() => assertReadOnlySql(sql)).toThrow(
      'Invalid argument "sql": the query was not checked: it is too complex to check (parsing it needs too much work); simplify it or split it up',
    );
  });

  it.each([
    ["n=12 (116 chars, 26.9 s before)", nestedSelects(12)],
    ["n=20 (> 60 s before)", nestedSelects(20)],
  ])("refuses subqueries nested deeper than the cap before parsing: %s", (_name, sql) => {
    const parsed = parseTrinoSql(sql);
    expect(tooComplex(parsed)).toMatch(`it nests subqueries more than ${MAX_SUBQUERY_DEPTH} deep (line 1, column`);
    expect(parsed.usage.steps).toBe(0);
  });

  it("refuses brackets nested deeper than the cap before parsing", () => {
    const parsed = parseTrinoSql(`SELECT ${"(".repeat(MAX_NESTING + 1)}1${")".repeat(MAX_NESTING + 1)}`);
    expect(tooComplex(parsed)).toBe(
      `it nests brackets more than ${MAX_NESTING} deep (line 1, column ${8 + MAX_NESTING})`,
    );
    expect(parseTrinoSql(`SELECT ${"(".repeat(MAX_NESTING)}1${")".repeat(MAX_NESTING)}`).ok).toBe(true);
  });

  it("refuses more tokens than the cap before parsing", () => {
    const sql = `SELECT ${Array.from({ length: MAX_TOKENS / 2 + 1 }, (_, i) => `c${i}`).join(",")}`;
    expect(tooComplex(parseTrinoSql(sql))).toMatch(
      `it is too long to check (${MAX_TOKENS + 2} tokens; at most ${MAX_TOKENS})`,
    );
  });

  it("refuses a 5,000-term AND chain as too long, and checks one just under the cap (a stack overflow before)", () => {
    const chain = (terms: number) =>
      `SELECT 1 WHERE ${Array.from({ length: terms }, (_, i) => `a${i} = 1`).join(" AND ")}`;
    expect(() => assertReadOnlySql(chain(5000))).toThrow("the query was not checked: it is too long to check");
    expect(assertReadOnlySql(chain(4900)).kind).toBe("select");
    const union = Array.from({ length: 5000 }, () => "SELECT 1").join(" UNION ALL ");
    expect(assertReadOnlySql(union).kind).toBe("select");
    const write = `${Array.from({ length: 4000 }, () => "SELECT 1").join(" UNION ALL ")}; DROP TABLE t`;
    expect(() => assertReadOnlySql(write)).toThrow("only one statement is allowed, found 2");
  });

  it("leaves the prediction cache usable after a stopped prediction", () => {
    expect(parseTrinoSql(nestedSelects(8)).ok).toBe(false);
    expect(assertReadOnlySql(nestedSelects(3)).kind).toBe("select");
    expect(() => assertReadOnlySql("SELECT (SELECT 1); DELETE FROM t")).toThrow("only one statement");
  });
});

const NESTS = [
  "(",
  "f(",
  "ROW(",
  "try(",
  "abs(",
  "(1, ",
  "ARRAY[",
  "(2, ",
  "upper(",
  "if(a, ",
  "(CASE WHEN a THEN ",
  "g(1, 2, ",
];
const closing = (open: string) => (open === "ARRAY[" ? "]" : open.startsWith("(CASE") ? " END)" : ")");

describe("every loop of prediction counts against the budget", () => {
  const list = (n: number, item: (i: number) => string) => Array.from({ length: n }, (_, i) => item(i)).join(", ");

  /** Stopped at the budget, whatever the shape: the bound on CPU is the bound on steps. */
  function stopped(parsed: ParsedSql): void {
    expect(tooComplex(parsed)).toBe("it is too complex to check (parsing it needs too much work)");
    expect(parsed.usage.maxDecisionSteps).toBeLessThanOrEqual(PREDICTION_BUDGET.perDecision + 1);
    expect(parsed.usage.steps).toBeLessThanOrEqual(PREDICTION_BUDGET.perCheck + 1);
  }

  it.each([
    // No brackets at all: the nesting caps cannot see these, the budget stops them.
    ["CASE nested 150 deep", `SELECT ${"CASE WHEN a THEN ".repeat(150)}1${" END".repeat(150)}`],
    ["simple CASE nested 500 deep", `SELECT ${"CASE a WHEN 1 THEN ".repeat(500)}1${" END".repeat(500)}`],
    // Within every cap, each of them cheap alone, together over the per-check budget.
    [
      "twelve 30-deep nests of different brackets in one select list",
      `SELECT ${NESTS.map((open) => `${open.repeat(30)}1${closing(open).repeat(30)}`).join(", ")}`,
    ],
    // Quadratic: at every bare column a prediction looks ahead to the end of the list, along
    // cached DFA edges (uncounted before: 9 000 columns took seconds).
    ["a select list of 9 000 bare columns", `SELECT ${list(9000, (i) => `a${i}`)} FROM t`],
  ])("%s", (_name, sql) => {
    stopped(parseTrinoSql(sql));
  });

  it("accepts the same shapes at realistic sizes", () => {
    for (const sql of [
      `SELECT ${"CASE WHEN a THEN ".repeat(20)}1${" END".repeat(20)}`,
      `SELECT ${list(800, (i) => `a${i}`)} FROM t`,
      `SELECT ${NESTS.map((open) => `${open.repeat(10)}1${closing(open).repeat(10)}`).join(", ")}`,
    ]) {
      resetPredictionCache();
      expect(parseTrinoSql(sql).ok).toBe(true);
    }
  });

  it("reports the first syntax error without recovering to find more (14 000 misplaced words took 6 s)", () => {
    const parsed = parseTrinoSql("SELECT ".repeat(14_000));
    expect(parsed.ok ? "parsed" : "problem" in parsed && parsed.problem).toEqual({
      line: 1,
      column: 8,
      message: "no viable alternative at input 'SELECT'",
    });
    expect(parsed.usage.steps).toBeLessThan(PREDICTION_BUDGET.perCheck / 100);
    // Too costly for the full pass that would name the error: the refusal names where the fast one failed.
    expect(() => assertReadOnlySql(`SELECT a FROM t WHERE ${"b = 1 AND ".repeat(4000)}`)).toThrow(
      "the query was not checked: it is too complex to check (parsing it needs too much work; it may not be valid Trino SQL near line 1, column 40023)",
    );
  });

  it("refuses SQL longer than the cap before lexing it", () => {
    const sql = `SELECT '${"x".repeat(MAX_SQL_LENGTH)}'`;
    const parsed = parseTrinoSql(sql);
    expect(tooComplex(parsed)).toBe(`it is too long to check (${sql.length} characters; at most ${MAX_SQL_LENGTH})`);
    expect(parsed.usage.steps).toBe(0);
    expect(parseTrinoSql(`SELECT '${"x".repeat(MAX_SQL_LENGTH - 9)}'`).ok).toBe(true);
  });

  it("maps a stack overflow in the parser to a refusal, and empties the cache", () => {
    expect(parseTrinoSql("SELECT 1").ok).toBe(true);
    expect(cachedStates()).toBeGreaterThan(0);
    expect(() => assertReadOnlySql(`SELECT ${"- ".repeat(15_000)}1`)).toThrow(
      'Invalid argument "sql": the query was not checked: it is too deeply nested or too long to check; simplify it or split it up',
    );
    expect(cachedStates()).toBe(0);
  });
});

describe("the prediction cache stays bounded across checks", () => {
  it("is emptied by a stopped check", () => {
    for (const query of ANALYTICS_QUERIES.slice(0, 5)) parseTrinoSql(query.sql);
    expect(cachedStates()).toBeGreaterThan(100);
    expect(parseTrinoSql(nestedSelects(8)).ok).toBe(false);
    expect(cachedStates()).toBe(0);
  });

  it("never holds more states than the limit after a check, however many different shapes are checked", () => {
    // The real limit (3 000) takes thousands of varied queries to reach; a low one, the same rule.
    const limits = { ...PREDICTION_BUDGET, cachedStates: 300 };
    let most = 0;
    let emptied = 0;
    for (const pred of ["a", "a > 1", "b IS NULL", "x LIKE 'y'", "c IN (1, 2)", "NOT d"]) {
      const before = cachedStates();
      expect(parseTrinoSql(`SELECT ${`(CASE WHEN ${pred} THEN `.repeat(10)}1${" END)".repeat(10)}`, limits).ok).toBe(
        true,
      );
      if (cachedStates() < before) emptied++;
      most = Math.max(most, cachedStates());
    }
    expect(most).toBeLessThanOrEqual(limits.cachedStates);
    expect(emptied).toBeGreaterThan(0); // these shapes do overflow it: the limit was enforced
    expect(PREDICTION_BUDGET.cachedStates).toBe(3_000);
  });
});

describe("realistic analytical SQL passes well within the budget", () => {
  it.each(ANALYTICS_QUERIES.map((query) => [query.name, query.sql]))("%s", (_name, sql) => {
    const parsed = parseTrinoSql(sql);
    expect(parsed.ok ? "parsed" : parsed).toBe("parsed");
    // Margins measured with a cold cache: the most any of these needs is ~112 000 steps in one
    // decision and ~674 000 in all.
    expect(parsed.usage.maxDecisionSteps).toBeLessThan(PREDICTION_BUDGET.perDecision / 4);
    expect(parsed.usage.steps).toBeLessThan(PREDICTION_BUDGET.perCheck / 2);
    expect(() => assertReadOnlySql(sql)).not.toThrow();
  });

  it("has a 200-line query among them", () => {
    expect(Math.max(...ANALYTICS_QUERIES.map((query) => query.sql.split("\n").length))).toBeGreaterThanOrEqual(200);
  });

  it("passes scalar subqueries nested eight deep, as SQL generators write them", () => {
    const sql = `SELECT ${"(SELECT max(a) FROM t WHERE b = ".repeat(MAX_SUBQUERY_DEPTH)}1${")".repeat(MAX_SUBQUERY_DEPTH)}`;
    const parsed = parseTrinoSql(sql);
    expect(parsed.ok).toBe(true);
    expect(parsed.usage.maxDecisionSteps).toBeLessThan(PREDICTION_BUDGET.perDecision / 1.5);
  });
});
