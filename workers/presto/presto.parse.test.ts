import { beforeEach, describe, expect, it } from "vitest";
import { ANALYTICS_QUERIES } from "./presto.analytics.corpus";
import { MAX_NESTING, MAX_SUBQUERY_DEPTH, MAX_TOKENS, type ParsedSql, parseTrinoSql } from "./presto.parse";
import { PREDICTION_BUDGET, resetPredictionCache } from "./presto.prediction";
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

describe("realistic analytical SQL passes well within the budget", () => {
  it.each(ANALYTICS_QUERIES.map((query) => [query.name, query.sql]))("%s", (_name, sql) => {
    const parsed = parseTrinoSql(sql);
    expect(parsed.ok ? "parsed" : parsed).toBe("parsed");
    // Margins measured with a cold cache: the most any of these needs is ~61 000 steps in one
    // decision and ~341 000 in all.
    expect(parsed.usage.maxDecisionSteps).toBeLessThan(PREDICTION_BUDGET.perDecision / 5);
    expect(parsed.usage.steps).toBeLessThan(PREDICTION_BUDGET.perCheck / 3);
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
