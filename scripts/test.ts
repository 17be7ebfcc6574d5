/**
 * `npm test`: every suite, all at once. The Node suites (local upstreams, IdP, CLI, the launcher's
 * stop test), the workerd projects and the end-to-end fleet spend much of their time waiting
 * (runtime and Worker start-up, timers, sockets), so on two cores they finish sooner side by
 * side than one after another. Each suite's output is held back and printed whole when it ends,
 * with its wall time; the exit code is non-zero if any suite failed.
 *
 * `FLEET_TEST_SUITES=node,workerd` runs only those (names below); extra arguments go to every
 * vitest suite (e.g. `npm test -- --reporter=verbose`).
 */
import { type ChildProcess, spawn } from "node:child_process";
import { join, resolve } from "node:path";

const ROOT = resolve(import.meta.dirname, "..");
const VITEST = join(ROOT, "node_modules", ".bin", "vitest");

interface Suite {
  name: string;
  command: string;
  args: string[];
  env?: Record<string, string>;
}

const extra = process.argv.slice(2);
/**
 * Node's compile cache for every process the suites start (vitest, the fleets' Worker hosts and
 * migrations, the CLI and the conformance suite as child processes, dozens in all): the second
 * process to load a module skips compiling it (wrangler loads with about a quarter less CPU).
 */
process.env.NODE_COMPILE_CACHE ??= join(ROOT, "node_modules", ".cache", "node-compile-cache");
/**
 * The end-to-end files in two vitest runs, each with a whole fleet of its own (test/support/fleet.global.ts):
 * its files run one at a time against one fleet and mostly wait on it, so two halves side by side
 * finish in about half the time for one more fleet start (about 20 s of CPU). These drive the
 * registry's pages in Chromium and the identity flows; every other file (any new one) is in "e2e".
 */
const E2E_WEB = ["approvals", "page", "analytics", "chromium", "step-up", "admin", "identity", "registry"].map(
  (name) => `test/e2e/${name}.e2e.test.ts`,
);
const E2E_PORT_BASE = Number(process.env.FLEET_E2E_PORT_BASE ?? 18787);
const ALL: Suite[] = [
  {
    name: "e2e",
    command: VITEST,
    args: ["run", "--project", "e2e", ...E2E_WEB.flatMap((file) => ["--exclude", file]), ...extra],
  },
  {
    name: "e2e:web",
    command: VITEST,
    args: ["run", "--project", "e2e", ...E2E_WEB, ...extra],
    // Its fleet's ports, apart from the other's (a fleet takes base … base + 10 and base + 1000 … base + 1010),
    // and only the servers these files use (each Worker of a fleet costs CPU even when idle).
    env: { FLEET_E2E_PORT_BASE: String(E2E_PORT_BASE + 100), FLEET_E2E_SERVERS: "presto,echo" },
  },
  // The workerd projects in three vitest runs, each running its files one at a time (vitest's default
  // on two cores) with its own upstreams, IdP and health targets (each project's global setup), so
  // nothing is shared between them; a project's files share one runtime (vitest.config.ts). Split
  // for balance (each 45–60 s alone on a quiet machine): auth, presto and echo with the fixture; the
  // kit; the registry with every other server (any new server's folder lands there).
  {
    name: "workerd:auth+presto+echo+test",
    command: VITEST,
    args: ["run", ...["auth", "presto", "echo", "test"].flatMap((name) => ["--project", name]), ...extra],
  },
  {
    name: "workerd:kit",
    command: VITEST,
    args: ["run", "--project", "kit", "--project", "kit-fresh", ...extra],
  },
  {
    name: "workerd:rest",
    command: VITEST,
    args: [
      "run",
      ...["e2e", "auth", "presto", "echo", "test", "kit", "kit-fresh"].flatMap((name) => ["--project", `!${name}`]),
      ...extra,
    ],
  },
  {
    name: "node",
    command: process.execPath,
    args: [
      "--test",
      "--test-reporter=dot",
      // Node's default is one file at a time on two cores; these files mostly wait on sockets.
      "--test-concurrency=4",
      "local/**/*.test.ts",
      "registry/cli/**/*.test.ts",
    ],
  },
];

/** A suite is picked by its name or the part before ":" (`workerd` picks every workerd run). */
const picks = (suite: Suite, name: string) => suite.name === name || suite.name.split(":")[0] === name;
const wanted = process.env.FLEET_TEST_SUITES?.split(",").map((name) => name.trim());
const unknown = wanted?.filter((name) => !ALL.some((suite) => picks(suite, name))) ?? [];
if (unknown.length > 0) {
  console.error(
    `FLEET_TEST_SUITES: no suite named ${unknown.join(", ")} (there are ${ALL.map((s) => s.name).join(", ")})`,
  );
  process.exit(2);
}
const suites = wanted ? ALL.filter((suite) => wanted.some((name) => picks(suite, name))) : ALL;

const children = new Set<ChildProcess>();
for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
  process.on(signal, () => {
    // Each vitest stops what its global setup started (the e2e fleet) when it is told to end.
    for (const child of children) child.kill(signal);
  });
}

const started = performance.now();
const seconds = (since: number) => `${((performance.now() - since) / 1000).toFixed(1)} s`;

interface Outcome {
  suite: Suite;
  code: number;
  wall: string;
  output: string;
}

function run(suite: Suite): Promise<Outcome> {
  const t0 = performance.now();
  const child = spawn(suite.command, suite.args, {
    cwd: ROOT,
    env: { ...process.env, ...suite.env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  children.add(child);
  const output: Buffer[] = [];
  child.stdout?.on("data", (chunk: Buffer) => output.push(chunk));
  child.stderr?.on("data", (chunk: Buffer) => output.push(chunk));
  return new Promise((done) => {
    child.on("error", (error) => output.push(Buffer.from(`${suite.name}: ${error.message}\n`)));
    child.on("close", (code, signal) => {
      children.delete(child);
      const wall = seconds(t0);
      process.stdout.write(`\n===== ${suite.name}: ${[suite.command, ...suite.args].join(" ")}\n`);
      process.stdout.write(Buffer.concat(output));
      const status = code === 0 ? "passed" : `FAILED (${signal ?? `exit ${code}`})`;
      process.stdout.write(`===== ${suite.name} ${status} in ${wall}\n`);
      done({ suite, code: code ?? 1, wall, output: Buffer.concat(output).toString("utf8") });
    });
  });
}

console.log(`Running ${suites.map((suite) => suite.name).join(", ")} side by side; each prints when it ends.`);
const results = await Promise.all(suites.map(run));
// A failed suite's output may be far above the end of the log (CI shows its tail): repeat what
// failed, vitest's "Failed Tests" section or node:test's failure lines, last, above the summary.
for (const { suite, code, output } of results) {
  if (code === 0) continue;
  process.stdout.write(`\n===== ${suite.name} failed; what failed:\n${failures(output)}\n`);
}
console.log(
  `\nnpm test: ${results.map(({ suite, code, wall }) => `${suite.name} ${code === 0 ? "ok" : "FAILED"} ${wall}`).join(", ")}; total ${seconds(started)}`,
);
/** The failing tests of a suite's output, at most 120 lines, without terminal colours. */
function failures(output: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: terminal colour codes
  const lines = output.replace(/\u001b\[[0-9;]*m/g, "").split("\n");
  const start = lines.findIndex((line) => /Failed Tests \d+|Failed Suites \d+/.test(line));
  const picked =
    start >= 0 ? lines.slice(start) : lines.filter((line) => /(✖|✗|×|FAIL|not ok|Error|expected|failed)/i.test(line));
  const shown = picked.slice(0, 120);
  return [
    ...shown,
    ...(picked.length > shown.length
      ? [`… ${picked.length - shown.length} more lines in the suite's output above`]
      : []),
  ].join("\n");
}

process.exit(results.every((result) => result.code === 0) ? 0 : 1);
