/**
 * Runs a fleet's Workers in one Node process, each through wrangler's own `unstable_startWorker`
 * (what `wrangler dev` runs: the same bundling, bindings, local persistence, dev registry and
 * proxy), with file watching off. Started by local/wrangler.process.ts (WorkerHost), which talks
 * to it over the IPC channel:
 *
 * - `{ id, op: "start", worker, host, persistTo, registry }` → `{ id, ok }` once wrangler has
 *   started it (the caller then waits for its /health);
 * - `{ id, op: "stop", name }` → `{ id, ok }` once its runtime is gone and its ports are free.
 *
 * One process instead of one `wrangler dev` each: wrangler is loaded once, one esbuild serves every
 * Worker, and nothing polls the file system (a `wrangler dev` cannot turn its watch mode off),
 * which together cost a test fleet of seven Workers about a third of its CPU. The launcher's process
 * guardian watches this process's group, in which every workerd it starts runs; when the IPC
 * channel closes (the launcher ended) it stops every Worker and exits.
 */
import { unstable_startWorker } from "wrangler";

type Started = Awaited<ReturnType<typeof unstable_startWorker>>;

interface WorkerSpec {
  name: string;
  config: string;
  port: number;
  vars: Record<string, string>;
}

type Request =
  | { id: number; op: "start"; worker: WorkerSpec; host: string; persistTo: string; registry: string }
  | { id: number; op: "stop"; name: string };

const running = new Map<string, Started>();

async function start({ worker, host, persistTo, registry }: Extract<Request, { op: "start" }>): Promise<void> {
  if (running.has(worker.name)) throw new Error(`${worker.name} is already running`);
  const started = await unstable_startWorker({
    config: worker.config,
    bindings: Object.fromEntries(
      Object.entries(worker.vars).map(([key, value]) => [key, { type: "plain_text" as const, value }]),
    ),
    dev: {
      server: { hostname: host, port: worker.port },
      // Beside its port, as `wrangler dev --inspector-port` had it (profilers attach there).
      inspector: { hostname: host, port: worker.port + 1000 },
      persist: persistTo,
      watch: false,
      // Exposes /__scheduled, through which the launcher plays the registry's cron trigger.
      testScheduled: true,
      // Service bindings between this fleet's Workers resolve through its own dev registry.
      registry,
    },
  });
  running.set(worker.name, started);
  try {
    await started.ready;
  } catch (error) {
    running.delete(worker.name);
    await started.dispose().catch(() => {});
    throw error;
  }
}

async function stop(name: string): Promise<void> {
  const started = running.get(name);
  running.delete(name);
  await started?.dispose();
}

let closing: Promise<void> | undefined;
function closeAll(): Promise<void> {
  closing ??= Promise.allSettled([...running.keys()].map(stop)).then(() => process.exit(0));
  return closing;
}

process.on("message", async (request: Request) => {
  try {
    if (request.op === "start") await start(request);
    else await stop(request.name);
    process.send?.({ id: request.id, ok: true });
  } catch (error) {
    process.send?.({ id: request.id, ok: false, error: (error as Error).stack ?? String(error) });
  }
});
process.on("disconnect", () => void closeAll());
for (const signal of ["SIGTERM", "SIGINT", "SIGHUP"] as const) process.on(signal, () => void closeAll());
process.send?.({ id: 0, ok: true });
