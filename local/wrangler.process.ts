/**
 * `wrangler dev` processes for the local fleet: started in their own process group (so stopping
 * one also stops its workerd), watched by the process guardian (local/process.guardian.ts, so
 * none outlives the launcher, however it ends), and considered up once `/health` answers.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { createWriteStream, existsSync, mkdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import type { Writable } from "node:stream";

const ROOT = resolve(import.meta.dirname, "..");
const WRANGLER = join(ROOT, "node_modules", ".bin", "wrangler");
const COMPILE_CACHE = join(ROOT, "node_modules", ".cache", "node-compile-cache");
/** How long a stopped Worker gets to exit before its process group is killed. */
const STOP_GRACE_MS = 3_000;

export interface WorkerSpec {
  name: string;
  /** wrangler config, relative to the repository root. */
  config: string;
  port: number;
  vars: Record<string, string>;
}

let guardian: ChildProcess | undefined;

/** Tells the guardian to kill `pgid` if this process ends first (`watch`), or that it is gone. */
function guard(pgid: number, watch: boolean): void {
  if (!guardian) {
    guardian = spawn(process.execPath, [join(import.meta.dirname, "process.guardian.ts")], {
      detached: true, // its own process group: a Ctrl-C at the terminal reaches the launcher, not it
      stdio: ["pipe", "ignore", "ignore"],
    });
    guardian.unref();
    // The pipe must not keep the launcher alive; it closes when the launcher's process ends.
    (guardian.stdin as Writable & { unref?: () => void }).unref?.();
    guardian.stdin?.on("error", () => {});
  }
  guardian.stdin?.write(`${watch ? "+" : "-"}${pgid}\n`);
}

/** Applies the D1 migrations to the local database under `persistTo`. */
export async function applyMigrations(persistTo: string, logDir: string): Promise<void> {
  mkdirSync(logDir, { recursive: true });
  await runWrangler(
    ["d1", "migrations", "apply", "fleet", "--local", "--persist-to", persistTo],
    join(logDir, "migrations.log"),
  );
}

/** Starts `wrangler dev` for one Worker and resolves once its /health answers. */
export async function startWorker(
  worker: WorkerSpec,
  host: string,
  persistTo: string,
  logDir: string,
): Promise<ChildProcess> {
  for (let attempt = 1; ; attempt++) {
    const child = spawnWorker(worker, host, persistTo, logDir);
    try {
      await waitForHealth(`http://${host}:${worker.port}/health`, child);
      return child;
    } catch (error) {
      await stopProcess(child);
      const log = join(logDir, `${worker.name}.log`);
      const tail = existsSync(log) ? readFileSync(log, "utf8").split("\n").slice(-15).join("\n") : "";
      // wrangler occasionally fails to come up when several start at once; one retry, then give up loudly.
      if (attempt >= 2) throw new Error(`${worker.name}: ${(error as Error).message}\n${tail}`);
      console.warn(`${worker.name} did not start (${(error as Error).message}); retrying once. Log tail:\n${tail}`);
    }
  }
}

function spawnWorker(worker: WorkerSpec, host: string, persistTo: string, logDir: string): ChildProcess {
  const args = [
    "dev",
    "-c",
    worker.config,
    "--ip",
    host,
    "--port",
    String(worker.port),
    "--inspector-port",
    String(worker.port + 1000),
    "--persist-to",
    persistTo,
    "--show-interactive-dev-session=false",
    // Exposes /__scheduled, through which the launcher plays the registry's cron trigger.
    "--test-scheduled",
    ...Object.entries(worker.vars).flatMap(([key, value]) => ["--var", `${key}:${value}`]),
  ];
  const log = createWriteStream(join(logDir, `${worker.name}.log`), { flags: "a" });
  const child = spawn(WRANGLER, args, {
    cwd: ROOT,
    detached: true, // own process group, so stopping also stops workerd
    env: {
      ...process.env,
      // Node's compile cache: each `wrangler dev` after the first skips compiling wrangler (~0.4 s of CPU).
      NODE_COMPILE_CACHE: process.env.NODE_COMPILE_CACHE ?? COMPILE_CACHE,
      WRANGLER_SEND_METRICS: "false",
      WRANGLER_LOG_PATH: logDir,
      // Service bindings between these Workers resolve through this fleet's own dev registry,
      // so a test fleet and `npm start` never see each other's Workers.
      WRANGLER_REGISTRY_PATH: join(persistTo, "..", "dev-registry"),
      CI: "true",
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  if (child.pid) guard(child.pid, true);
  child.stdout?.pipe(log);
  child.stderr?.pipe(log);
  return child;
}

/** Stops a process started here and its whole process group: SIGTERM, then SIGKILL after a grace period. */
export async function stopProcess(child: ChildProcess | undefined): Promise<void> {
  if (!child?.pid) return;
  const pid = child.pid;
  if (child.exitCode === null && child.signalCode === null) {
    const exited = once(child, "exit");
    try {
      process.kill(-pid, "SIGTERM");
      const timer = setTimeout(() => signalGroup(pid, "SIGKILL"), STOP_GRACE_MS);
      await exited;
      clearTimeout(timer);
    } catch {}
  }
  // wrangler has exited; workerd, in the same group, may still be on its way out.
  const deadline = Date.now() + STOP_GRACE_MS;
  while (groupAlive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  signalGroup(pid, "SIGKILL");
  guard(pid, false);
}

function signalGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch {}
}

function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

async function waitForHealth(url: string, child: ChildProcess | undefined, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child && child.exitCode !== null) throw new Error(`${url}: wrangler exited with ${child.exitCode} (see logs)`);
    try {
      const response = await fetch(url);
      if (response.ok) return;
    } catch {}
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${url} did not become healthy within ${timeoutMs} ms`);
}

async function runWrangler(args: string[], logFile: string): Promise<void> {
  const log = createWriteStream(logFile, { flags: "a" });
  const child = spawn(WRANGLER, args, {
    cwd: ROOT,
    detached: true, // its own process group, watched by the guardian like the Workers: it runs while they start
    env: {
      ...process.env,
      NODE_COMPILE_CACHE: process.env.NODE_COMPILE_CACHE ?? COMPILE_CACHE,
      WRANGLER_SEND_METRICS: "false",
      CI: "true",
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  if (child.pid) guard(child.pid, true);
  child.stdout?.pipe(log);
  child.stderr?.pipe(log);
  const [code] = await once(child, "exit");
  if (child.pid) guard(child.pid, false);
  if (code !== 0) throw new Error(`wrangler ${args.join(" ")} failed with ${code}; see ${logFile}`);
}
