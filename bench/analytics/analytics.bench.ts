/**
 * `npm run bench:analytics`: the time-saved dashboards at 1 M and 10 M invocation rows in local
 * D1 (miniflare's SQLite-backed D1, the same engine `wrangler dev` runs). For each scale:
 * migrations applied through the D1 binding, history generated (analytics.generate.ts) into the
 * database file, then every dashboard read timed inside workerd (analytics.bench.worker.ts)
 * against a baseline in the same run (the month read from raw rows), the write path's D1 rows per
 * invocation counted, and the database size measured with every raw row and after the retention
 * window (raw rows older than 90 days gone, rollups kept). Figures go to
 * bench/results/analytics.json; docs/analytics.md quotes them.
 *
 * FLEET_ANALYTICS_SCALES=100000 npm run bench:analytics runs a smaller scale.
 */
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { build } from "esbuild";
import { convertV4MiniflareOptions, Miniflare } from "miniflare";

const ROOT = new URL("../..", import.meta.url).pathname;
const OUT = join(tmpdir(), "fleet-analytics-bench");
const MONTHS = 15;
/** The history ends at the start of this month; the dashboards read the month before. */
const END = Date.UTC(2026, 11, 1);
const MONTH = "2026-11";
const HEAVY_USER = "user:person000@example.com";
const RETENTION_DAYS = 90;
const LIMIT_MS = 100;

async function bundle(entry: string, outfile: string, platform: "node" | "neutral") {
  await build({
    entryPoints: [join(ROOT, entry)],
    outfile,
    bundle: true,
    format: "esm",
    platform,
    logLevel: "error",
    external: ["node:*", "cloudflare:*"],
    ...(platform === "neutral" ? { mainFields: ["module", "main"], conditions: ["workerd", "worker", "browser"] } : {}),
  });
}

function migrations(): string[] {
  const dir = join(ROOT, "migrations");
  return readdirSync(dir)
    .filter((name) => name.endsWith(".sql"))
    .sort()
    .flatMap((name) => readFileSync(join(dir, name), "utf8").split("--> statement-breakpoint"))
    .map((statement) => statement.trim())
    .filter(Boolean);
}

function miniflare(script: string, persist: string) {
  return new Miniflare(
    convertV4MiniflareOptions({
      modules: true,
      scriptPath: script,
      modulesRoot: OUT,
      compatibilityDate: "2026-11-01",
      compatibilityFlags: ["nodejs_compat"],
      d1Databases: { DB: "fleet-analytics-bench" },
      resourcePersistencePath: persist,
    }),
  );
}

/** The SQLite file behind the D1 binding (miniflare keeps it under its persistence root). */
function sqliteFile(persist: string): string {
  const files = (readdirSync(persist, { recursive: true }) as string[]).filter(
    (name) => name.endsWith(".sqlite") && name.includes("D1DatabaseObject") && !name.endsWith("metadata.sqlite"),
  );
  if (files.length !== 1)
    throw new Error(`expected one D1 database file in ${persist}, found ${files.join(", ") || "none"}`);
  return join(persist, files[0] as string);
}

function sizeOf(file: string): number {
  return [file, `${file}-wal`, `${file}-shm`].reduce((sum, path) => {
    try {
      return sum + statSync(path).size;
    } catch {
      return sum;
    }
  }, 0);
}

const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MB`;

async function runScale(rows: number, worker: string, generatorPath: string) {
  const persist = join(OUT, String(rows));
  rmSync(persist, { recursive: true, force: true });
  mkdirSync(persist, { recursive: true });
  const setup = miniflare(worker, persist);
  const d1 = await setup.getD1Database("DB");
  for (const statement of migrations()) await d1.prepare(statement).run();
  await setup.dispose();
  const file = sqliteFile(persist);

  const { generate } = (await import(generatorPath)) as {
    // analytics.generate.ts, bundled (it imports Worker code that Node cannot load as is)
    generate(options: { file: string; invocations: number; end: number; months: number; bulk?: boolean }): {
      invocations: number;
      feedback: number;
      seconds: number;
    };
  };
  console.error(`generating ${rows.toLocaleString("en")} invocations over ${MONTHS} months…`);
  // Above a million rows the history is loaded in bulk and rolled up at the end (same tables).
  const bulk = rows > 1_000_000;
  const generated = { ...generate({ file, invocations: rows, end: END, months: MONTHS, bulk }), bulk };
  console.error(`  ${generated.seconds.toFixed(0)} s (${generated.feedback.toLocaleString("en")} ratings)`);
  const counts = new DatabaseSync(file);
  const tableRows = Object.fromEntries(
    ["invocations", "usage_daily", "active_users", "feedback", "feedback_daily"].map((table) => [
      table,
      (counts.prepare(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n,
    ]),
  );
  counts.close();
  const sizeAll = sizeOf(file);

  const mf = miniflare(worker, persist);
  const reads = (await (
    await mf.dispatchFetch(`http://bench/reads?month=${MONTH}&user=${encodeURIComponent(HEAVY_USER)}`)
  ).json()) as {
    reads: Record<string, { medianMs: number; maxMs: number }>;
  };
  const writes = (await (await mf.dispatchFetch(`http://bench/writes?month=${MONTH}`)).json()) as Record<
    string,
    number
  >;
  await mf.dispose();

  // Retention: raw rows older than the window go (after their export to R2); rollups stay.
  const db = new DatabaseSync(file);
  const cutoff = END - RETENTION_DAYS * 86_400_000;
  const deleted = db.prepare("DELETE FROM invocations WHERE started_at < ?").run(cutoff).changes;
  db.exec("VACUUM");
  db.close();
  const sizeRetained = sizeOf(file);
  return {
    rows,
    generated,
    tableRows,
    sizeAll,
    sizeRetained,
    deletedRawRows: Number(deleted),
    reads: reads.reads,
    writes,
  };
}

const scales = (process.env.FLEET_ANALYTICS_SCALES ?? "1000000,10000000").split(",").map(Number);
mkdirSync(OUT, { recursive: true });
const worker = join(OUT, "bench.worker.js");
const generator = join(OUT, "generate.mjs");
await bundle("bench/analytics/analytics.bench.worker.ts", worker, "neutral");
await bundle("bench/analytics/analytics.generate.ts", generator, "node");

const results: Awaited<ReturnType<typeof runScale>>[] = [];
for (const rows of scales) {
  const result = await runScale(rows, worker, generator);
  results.push(result);
  report(result);
  save();
}

function report(result: Awaited<ReturnType<typeof runScale>>) {
  console.log(`\n${result.rows.toLocaleString("en")} invocations (${MONTHS} months, 844 people), month ${MONTH}:`);
  const baseline = Object.values(result.reads)[0]?.medianMs ?? 1;
  for (const [name, t] of Object.entries(result.reads)) {
    const verdict = name.startsWith("baseline") ? "" : t.medianMs < LIMIT_MS ? "  ok (< 100 ms)" : "  OVER 100 ms";
    console.log(
      `  ${name.padEnd(68)} ${t.medianMs.toFixed(1).padStart(8)} ms median, ${t.maxMs.toFixed(1).padStart(8)} max, ${(t.medianMs / baseline).toFixed(3)} × baseline${verdict}`,
    );
  }
  console.log(
    `  write path: ${result.writes.batchOf400Ms?.toFixed(1)} ms per batch of 400; D1 rows per invocation: ${result.writes.d1RowsWrittenPerInvocation?.toFixed(2)} written, ${result.writes.d1RowsReadPerInvocation?.toFixed(2)} read`,
  );
  console.log(
    `  database: ${mb(result.sizeAll)} with every raw row; ${mb(result.sizeRetained)} after ${RETENTION_DAYS}-day retention (${result.deletedRawRows.toLocaleString("en")} raw rows exported and deleted)`,
  );
  console.log(`  rows: ${JSON.stringify(result.tableRows)}`);
}

function save() {
  // Scales measured by an earlier run (FLEET_ANALYTICS_SCALES) are kept beside this run's.
  const path = join(ROOT, "bench/results/analytics.json");
  let earlier: { rows: number }[] = [];
  try {
    earlier = (JSON.parse(readFileSync(path, "utf8")) as { results: { rows: number }[] }).results;
  } catch {}
  const merged = [...earlier.filter((old) => !results.some((now) => now.rows === old.rows)), ...results].sort(
    (a, b) => a.rows - b.rows,
  );
  writeFileSync(
    join(ROOT, "bench/results/analytics.json"),
    `${JSON.stringify({ date: new Date().toISOString(), month: MONTH, months: MONTHS, retentionDays: RETENTION_DAYS, results: merged }, null, 2)}\n`,
  );
}
