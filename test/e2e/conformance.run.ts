/**
 * Runs the official MCP conformance suite (`@modelcontextprotocol/conformance`, pinned in
 * package.json) as a child process and reads its per-scenario results:
 * - `server` against a fleet server: the suite's client cannot sign in, so it talks to the server
 *   through a bearer proxy (conformance.proxy.ts) that adds a real access token; authentication
 *   stays on in the kit.
 * - `authorization` against the auth Worker (an OAuth authorization server): the suite fetches the
 *   metadata, then prints an authorization URL for a person to open and waits for the redirect on
 *   its own callback server; `login` plays that person.
 */
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { startBearerProxy } from "./conformance.proxy.ts";

const CLI = resolve(import.meta.dirname, "../../node_modules/@modelcontextprotocol/conformance/dist/index.js");

/** How long one run of the CLI may take (a whole requirement list takes 5-35 s here). */
export const CLI_TIMEOUT_MS = 110_000;

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
  /** How long the CLI ran (ms). */
  durationMs: number;
}

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
  try {
    return await runCli(
      ["server", "--url", `${proxy.url}/mcp`, "--requirements", revision, "--timeout", "20000"],
      "server",
    );
  } finally {
    await proxy.close();
  }
}

export interface AuthorizationTarget {
  /** The authorization server's issuer, exactly as its metadata names it. */
  issuer: string;
  /** The MCP server the token is for (RFC 8707 `resource`). */
  resource: string;
  /** Registers the suite's client for `redirectUri` (the suite takes a pre-registered client id). */
  register(redirectUri: string): Promise<string>;
  /** Plays the user at the authorization URL; resolves to the redirect back to `redirectUri` (not fetched). */
  login(authorizationUrl: string, redirectUri: string): Promise<URL>;
}

/** The line the suite prints for the user to open (`authorization-code-grant`). */
const AUTHORIZATION_URL = /^(https?:\/\/\S+\?\S*response_type=code\S*)$/m;

/**
 * Runs the suite's authorization-server scenarios (`conformance authorization`: every one, as it
 * has no requirement lists for this role) against `target.issuer`, with a client registered for
 * the suite's callback (`http://127.0.0.1:<port>/callback`) and the login scripted.
 */
export async function runAuthorization(target: AuthorizationTarget): Promise<ConformanceRun> {
  const port = await freePort();
  const redirectUri = `http://127.0.0.1:${port}/callback`;
  const clientId = await target.register(redirectUri);
  let login: Promise<void> | undefined;
  const run = await runCli(
    [
      "authorization",
      ...["--url", target.issuer, "--client-id", clientId, "--resource", target.resource, "--port", String(port)],
    ],
    "authorization-server",
    (stdout, stop) => {
      const url = login ? undefined : AUTHORIZATION_URL.exec(stdout)?.[1];
      if (!url) return;
      // The suite waits up to 5 minutes for its callback: a login that fails stops it at once.
      login = target
        .login(url, redirectUri)
        .then(async (redirect) => {
          if (!redirect.toString().startsWith(redirectUri)) throw new Error(`the login ended at ${redirect}`);
          await (await fetch(redirect)).arrayBuffer();
        })
        .catch((error: unknown) => stop(`the scripted login failed: ${error}`));
    },
  );
  await login;
  return run;
}

/** Result folders are `<role>-<scenario>-<ISO timestamp with dashes>`. */
const resultDir = (role: string) => new RegExp(`^${role}-(.+)-\\d{4}-\\d{2}-\\d{2}T\\d{2}-\\d{2}-\\d{2}-\\d{3}Z$`);

/**
 * Runs the suite's CLI with `args` and `-o <tmpdir>`, and reads the `<role>-*` result folders.
 * `onOutput` sees the whole stdout so far after each chunk, and may stop the run (its reason then
 * ends the summary).
 */
async function runCli(
  args: string[],
  role: string,
  onOutput?: (stdout: string, stop: (reason: string) => void) => void,
): Promise<ConformanceRun> {
  const output = mkdtempSync(join(tmpdir(), `conformance-${role}-`));
  const started = performance.now();
  try {
    // process.execPath: the Node 22 the tests run on (the suite needs fs.globSync, Node >= 22).
    const child = spawn(process.execPath, [CLI, ...args, "-o", output], { stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stopped = "";
    const stop = (reason: string) => {
      stopped = reason;
      child.kill();
    };
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
      stdout += chunk;
      onOutput?.(stdout, stop);
    });
    child.stderr.resume();
    // A hung run is stopped before the test that waits for it gives up, so it never outlives the test.
    const timer = setTimeout(() => stop(`it ran over ${CLI_TIMEOUT_MS / 1000} s`), CLI_TIMEOUT_MS);
    const exitCode = await new Promise<number>((resolve, reject) => {
      child.on("error", reject);
      child.on("close", (code) => resolve(code ?? 1));
    }).finally(() => clearTimeout(timer));
    const scenarios = new Map<string, ScenarioResult>();
    const folder = resultDir(role);
    for (const entry of readdirSync(output)) {
      const name = folder.exec(entry)?.[1];
      // A scenario's folder is made when it starts: without checks.json it never finished (a stopped run).
      if (!name || !existsSync(join(output, entry, "checks.json"))) continue;
      const checks = JSON.parse(readFileSync(join(output, entry, "checks.json"), "utf8")) as CheckResult[];
      scenarios.set(name, {
        checks,
        failed: checks.filter((check) => check.status === "FAILURE" || check.status === "ERROR"),
      });
    }
    const at = stdout.lastIndexOf("=== SUMMARY ===");
    const summary = (at >= 0 ? stdout.slice(at) : stdout.slice(-4000)) + (stopped ? `\nstopped: ${stopped}` : "");
    return { scenarios, exitCode, summary, durationMs: performance.now() - started };
  } finally {
    rmSync(output, { recursive: true, force: true });
  }
}

/** A loopback port that is free now (the suite's callback server binds it a moment later). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}
