/**
 * Runs the official MCP conformance suite (`@modelcontextprotocol/conformance`, pinned in
 * package.json) against a fleet server, as a child process, and reads its per-scenario results.
 * The suite's client cannot sign in, so it talks to the server through a bearer proxy
 * (conformance.proxy.ts) that adds a real access token; authentication stays on in the kit.
 */
import { execFile } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { startBearerProxy } from "./conformance.proxy.ts";

const CLI = resolve(import.meta.dirname, "../../node_modules/@modelcontextprotocol/conformance/dist/index.js");

/** The spec revisions whose frozen requirement lists the suite runs (`--requirements`). */
export type Revision = "2025-11-25" | "2026-07-28";

export interface CheckResult {
  id: string;
  status: string;
  errorMessage?: string;
}

/** One scenario's outcome: its checks, and those that failed (FAILURE or ERROR). */
export interface ScenarioResult {
  checks: CheckResult[];
  failed: CheckResult[];
}

export interface ConformanceRun {
  scenarios: Map<string, ScenarioResult>;
  /** The CLI's exit code (non-zero when a scored scenario failed) and its summary, for messages. */
  exitCode: number;
  summary: string;
}

/** Result folders are `server-<scenario>-<ISO timestamp with dashes>`. */
const RESULT_DIR = /^server-(.+)-\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2}-\d{3}Z$/;

/**
 * Runs every scenario `revision` requires (scored and not scored) against `origin`/mcp with `token`,
 * and returns each scenario's checks as the suite wrote them (checks.json). `toolNames` maps the
 * suite's names of fixture tools to the fixture's (conformance.proxy.ts).
 */
export async function runConformance(
  origin: string,
  token: string,
  revision: Revision,
  toolNames: Record<string, string> = {},
): Promise<ConformanceRun> {
  const proxy = await startBearerProxy(origin, token, toolNames);
  const output = mkdtempSync(join(tmpdir(), `conformance-${revision}-`));
  try {
    const args = [CLI, "server", "--url", `${proxy.url}/mcp`, "--requirements", revision, "-o", output];
    // process.execPath: the Node 22 the tests run on (the suite needs fs.globSync, Node >= 22).
    const { exitCode, stdout } = await promisify(execFile)(process.execPath, [...args, "--timeout", "20000"], {
      maxBuffer: 64 * 1024 * 1024,
    }).then(
      ({ stdout }) => ({ exitCode: 0, stdout }),
      (error: { code?: number; stdout?: string }) => ({ exitCode: error.code ?? 1, stdout: error.stdout ?? "" }),
    );
    const scenarios = new Map<string, ScenarioResult>();
    for (const folder of readdirSync(output)) {
      const name = RESULT_DIR.exec(folder)?.[1];
      if (!name) continue;
      const checks = JSON.parse(readFileSync(join(output, folder, "checks.json"), "utf8")) as CheckResult[];
      scenarios.set(name, {
        checks,
        failed: checks.filter((check) => check.status === "FAILURE" || check.status === "ERROR"),
      });
    }
    return { scenarios, exitCode, summary: stdout.slice(stdout.lastIndexOf("=== SUMMARY ===")) };
  } finally {
    await proxy.close();
    rmSync(output, { recursive: true, force: true });
  }
}
