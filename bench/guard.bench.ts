/**
 * `npm run bench:guard`: what the Presto SQL guard costs (workers/presto/presto.parse.ts), each
 * query checked with an empty prediction cache, as in a fresh isolate (the most it costs):
 * realistic analytical SQL (presto.analytics.corpus.ts) and the inputs built to be expensive,
 * against a baseline measured in the same run (`SELECT 1`, cold). Prints milliseconds, the ratio
 * to the baseline, the prediction steps the budget counts, and the outcome; writes
 * bench/results/guard.{json,md}. On Node, where the clock moves: inside a Worker it does not
 * while code runs, which is why the guard's budget counts steps, not time.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { build } from "esbuild";

const root = resolve(import.meta.dirname, "..");
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);

interface Guard {
  parseTrinoSql(
    sql: string,
  ): { ok: boolean; usage: { steps: number; maxDecisionSteps: number } } & Record<string, unknown>;
  resetPredictionCache(): void;
  ANALYTICS_QUERIES: readonly { name: string; sql: string }[];
  PREDICTION_BUDGET: { perDecision: number; perCheck: number };
}

/** The guard as the Worker bundles it (Node's loader refuses dt-sql-parser's extensionless imports). */
async function loadGuard(): Promise<Guard> {
  const presto = join(root, "workers/presto");
  const bundled = await build({
    stdin: {
      contents: [
        `export { parseTrinoSql } from "./presto.parse";`,
        `export { resetPredictionCache, PREDICTION_BUDGET } from "./presto.prediction";`,
        `export { ANALYTICS_QUERIES } from "./presto.analytics.corpus";`,
      ].join("\n"),
      resolveDir: presto,
      loader: "ts",
    },
    bundle: true,
    format: "esm",
    platform: "neutral",
    mainFields: ["module", "main"],
    write: false,
    logLevel: "error",
  });
  const dir = mkdtempSync(join(tmpdir(), "guard-bench-"));
  const file = join(dir, "guard.mjs");
  writeFileSync(file, bundled.outputFiles[0]?.text ?? "");
  try {
    return (await import(pathToFileURL(file).href)) as Guard;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const nested = (n: number) => `SELECT ${"(SELECT ".repeat(n)}1${")".repeat(n)}`;
const doubled = (n: number) => `SELECT ${"((SELECT ".repeat(n)}1${")) ".repeat(n)}`;
/** Different nested shapes, each under the per-decision budget: together they spend the per-check one. */
const OPENERS = [
  "(SELECT ",
  "(VALUES ",
  "(SELECT -",
  "(SELECT NOT ",
  "(SELECT +",
  "(SELECT 'x' || ",
  "(SELECT 2 * ",
  "(SELECT 1 + ",
];
const shapes = (count: number, n: number) =>
  `SELECT ${OPENERS.slice(0, count)
    .map(
      (open) => `${open.repeat(n)}${open.includes("NOT") ? "true" : open.includes("||") ? "'y'" : "1"}${")".repeat(n)}`,
    )
    .join(", ")}`;

const ADVERSARIAL: { name: string; sql: string }[] = [
  { name: "(SELECT x6 (accepted: the most one decision may take)", sql: nested(6) },
  { name: "(SELECT x7", sql: nested(7) },
  { name: "(SELECT x8 (2.1 s before the budget)", sql: nested(8) },
  { name: "(SELECT x12 (26.9 s before)", sql: nested(12) },
  { name: "(SELECT x20 (> 60 s before)", sql: nested(20) },
  { name: "((SELECT x6 (28.9 s before)", sql: doubled(6) },
  { name: "six different 6-deep shapes in one select list", sql: shapes(6, 6) },
  { name: "eight different 6-deep shapes", sql: shapes(8, 6) },
  { name: "six different 7-deep shapes", sql: shapes(6, 7) },
  {
    name: "4,900-term AND chain",
    sql: `SELECT 1 WHERE ${Array.from({ length: 4900 }, (_, i) => `a${i} = 1`).join(" AND ")}`,
  },
  { name: "5,000-branch UNION ALL", sql: Array.from({ length: 5000 }, () => "SELECT 1").join(" UNION ALL ") },
  {
    name: "IN list of 9,000 numbers",
    sql: `SELECT 1 WHERE a IN (${Array.from({ length: 9000 }, (_, i) => i).join(",")})`,
  },
];

function outcome(parsed: ReturnType<Guard["parseTrinoSql"]>): string {
  if (parsed.ok) return "accepted";
  if ("tooComplex" in parsed) return `refused: ${String(parsed.tooComplex).replace(/ \(line.*/, "")}`;
  return "refused: not valid SQL";
}

async function main() {
  const guard = await loadGuard();
  const time = (sql: string) => {
    const samples: number[] = [];
    let parsed = guard.parseTrinoSql(sql);
    for (let round = 0; round < ROUNDS; round++) {
      guard.resetPredictionCache();
      const start = performance.now();
      parsed = guard.parseTrinoSql(sql);
      samples.push(performance.now() - start);
    }
    samples.sort((a, b) => a - b);
    return { ms: samples[Math.floor(samples.length / 2)] as number, max: samples.at(-1) as number, parsed };
  };
  guard.parseTrinoSql("SELECT 1"); // JIT and the ATN, once: not what a check costs
  const baseline = time("SELECT 1");
  const rows: {
    group: string;
    name: string;
    chars: number;
    ms: number;
    max: number;
    steps: number;
    maxDecision: number;
    outcome: string;
  }[] = [];
  for (const [group, queries] of [
    ["realistic", guard.ANALYTICS_QUERIES],
    ["adversarial", ADVERSARIAL],
  ] as const) {
    for (const query of queries) {
      const { ms, max, parsed } = time(query.sql);
      rows.push({
        group,
        name: query.name,
        chars: query.sql.length,
        ms,
        max,
        steps: parsed.usage.steps,
        maxDecision: parsed.usage.maxDecisionSteps,
        outcome: outcome(parsed),
      });
      process.stdout.write(".");
    }
  }
  const { perDecision, perCheck } = guard.PREDICTION_BUDGET;
  const f = (n: number) => n.toFixed(0);
  const table = [
    `Prediction budget: ${perDecision.toLocaleString("en")} steps per decision, ${perCheck.toLocaleString("en")} per check. ` +
      `Baseline \`SELECT 1\` with a cold cache: ${baseline.ms.toFixed(1)} ms (median of ${ROUNDS}).`,
    "",
    "| | query | chars | ms (median) | ms (max) | × baseline | steps | most in one decision | outcome |",
    "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
    ...rows.map(
      (row) =>
        `| ${row.group} | ${row.name} | ${row.chars} | ${row.ms.toFixed(1)} | ${row.max.toFixed(1)} | ${(row.ms / baseline.ms).toFixed(1)} | ${f(row.steps)} | ${f(row.maxDecision)} | ${row.outcome} |`,
    ),
  ].join("\n");
  console.log(`\n\n${table}\n`);
  const date = new Date().toISOString();
  writeFileSync(
    join(root, "bench/results/guard.json"),
    `${JSON.stringify({ date, rounds: ROUNDS, budget: guard.PREDICTION_BUDGET, baselineMs: baseline.ms, rows }, null, 2)}\n`,
  );
  writeFileSync(
    join(root, "bench/results/guard.md"),
    `Measured ${date.slice(0, 10)} on Node (each query parsed ${ROUNDS} times from an empty prediction cache).\n\n${table}\n`,
  );
}

await main();
