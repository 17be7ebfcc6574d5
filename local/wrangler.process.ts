/**
 * The local fleet's processes: the Worker host (every Worker, as `wrangler dev` runs it) and the
 * wrangler CLI for D1 migrations. Each starts in its own process group (so stopping it also stops
 * its workerd), watched by the process guardian (local/process.guardian.ts, so none outlives the
 * launcher, however it ends); a Worker is considered up once its `/health` answers.
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

/** A Worker running in a WorkerHost. */
export interface RunningWorker {
  readonly name: string;
  /** Stops it (its runtime gone, its ports free); its persisted state stays. */
  stop(): Promise<void>;
}

interface HostReply {
  id: number;
  ok: boolean;
  error?: string;
}

/**
 * One Node process (local/workers.host.ts) that runs Workers as `wrangler dev` does, through
 * wrangler's `unstable_startWorker`, without one wrangler process each; guarded like every other
 * process the launcher starts. Its output, and every Worker's, goes to `<logDir>/workers.log`.
 */
export class WorkerHost {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve(): void; reject(error: Error): void }>();
  private readonly ready: Promise<void>;
  private exited: Error | undefined;

  private readonly child: ChildProcess;
  private readonly persistTo: string;
  /** Where the host's output and every Worker's go. */
  readonly log: string;

  private constructor(child: ChildProcess, persistTo: string, log: string) {
    this.child = child;
    this.persistTo = persistTo;
    this.log = log;
    this.ready = new Promise<void>((resolve, reject) => this.pending.set(0, { resolve, reject }));
    child.on("message", (reply: HostReply) => {
      const waiter = this.pending.get(reply.id);
      this.pending.delete(reply.id);
      if (reply.ok) waiter?.resolve();
      else waiter?.reject(new Error(reply.error ?? "failed"));
    });
    child.on("exit", (code, signal) => {
      this.exited = new Error(`the Worker host exited (${signal ?? `code ${code}`}); see ${log}`);
      for (const waiter of this.pending.values()) waiter.reject(this.exited);
      this.pending.clear();
    });
  }

  /** Starts the host process; Workers are then started in it with `startWorker`. */
  static async start(persistTo: string, logDir: string): Promise<WorkerHost> {
    mkdirSync(logDir, { recursive: true });
    const log = join(logDir, "workers.log");
    const output = createWriteStream(log, { flags: "a" });
    const child = spawn(process.execPath, [join(import.meta.dirname, "workers.host.ts")], {
      cwd: ROOT,
      detached: true, // own process group, in which every workerd it starts runs
      env: {
        ...process.env,
        // Node's compile cache: wrangler loads with about a quarter less CPU after the first time.
        NODE_COMPILE_CACHE: process.env.NODE_COMPILE_CACHE ?? COMPILE_CACHE,
        WRANGLER_SEND_METRICS: "false",
        WRANGLER_LOG_PATH: logDir,
        CI: "true",
      },
      stdio: ["ignore", "pipe", "pipe", "ipc"],
    });
    if (child.pid) guard(child.pid, true);
    child.stdout?.pipe(output);
    child.stderr?.pipe(output);
    const host = new WorkerHost(child, persistTo, log);
    try {
      await host.ready;
    } catch (error) {
      await host.close();
      throw error;
    }
    return host;
  }

  private request(message: Record<string, unknown>): Promise<void> {
    if (this.exited) return Promise.reject(this.exited);
    const id = this.nextId++;
    return new Promise<void>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.child.send({ id, ...message }, (error) => {
        if (!error) return;
        this.pending.delete(id);
        reject(error);
      });
    });
  }

  /** Starts one Worker and resolves once its /health answers (state under `persistTo`, by default the host's). */
  async startWorker(worker: WorkerSpec, host: string, persistTo = this.persistTo): Promise<RunningWorker> {
    // Service bindings between these Workers resolve through this fleet's own dev registry,
    // so a test fleet and `npm start` never see each other's Workers.
    const registry = join(this.persistTo, "..", "dev-registry");
    const stop = () => this.request({ op: "stop", name: worker.name });
    for (let attempt = 1; ; attempt++) {
      try {
        await within(
          this.request({ op: "start", worker, host, persistTo, registry }),
          START_TIMEOUT_MS,
          `wrangler did not start ${worker.name} within ${START_TIMEOUT_MS / 1000} s`,
        );
        await waitForHealth(`http://${host}:${worker.port}/health`, () => this.exited);
        return { name: worker.name, stop };
      } catch (error) {
        if (!this.exited) await stop().catch(() => {});
        const tail = existsSync(this.log) ? readFileSync(this.log, "utf8").split("\n").slice(-15).join("\n") : "";
        // A Worker occasionally fails to come up when several start at once; one retry, then give up loudly.
        if (attempt >= 2 || this.exited) throw new Error(`${worker.name}: ${(error as Error).message}\n${tail}`);
        console.warn(`${worker.name} did not start (${(error as Error).message}); retrying once. Log tail:\n${tail}`);
      }
    }
  }

  /** Stops every Worker in it and the process itself. */
  close(): Promise<void> {
    return stopProcess(this.child);
  }
}

/** How long wrangler may take to start one Worker (bundling included) before the start is retried. */
const START_TIMEOUT_MS = 90_000;

/** `promise`, or a rejection with `message` after `ms`. */
async function within<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(message)), ms);
  });
  try {
    return await Promise.race([promise, late]);
  } finally {
    clearTimeout(timer);
  }
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

async function waitForHealth(url: string, exited: () => Error | undefined, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const gone = exited();
    if (gone) throw gone;
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
