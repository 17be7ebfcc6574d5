/**
 * Brings the fleet up locally: the Presto-compatible upstream, D1 migrations, and one
 * `wrangler dev` per Worker on its own port, all sharing one local persistence directory.
 * Used by `npm start` and by the end-to-end tests.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { once } from "node:events";
import { createWriteStream, existsSync, mkdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { LOCAL_EMAIL_DOMAIN } from "./idp.admin.ts";
import { startIdp } from "./idp.ts";
import { startPrestoUpstream } from "./presto.upstream.ts";
import { seedRegistry } from "./registry.seed.ts";

const ROOT = resolve(import.meta.dirname, "..");
const WRANGLER = join(ROOT, "node_modules", ".bin", "wrangler");

export interface FleetOptions {
  host?: string;
  registryPort?: number;
  prestoPort?: number;
  authPort?: number;
  idpPort?: number;
  upstreamPort?: number;
  /** Local D1/KV/DO state; survives restarts of the workers. */
  persistTo?: string;
  /** Where wrangler output goes (one file per Worker). */
  logDir?: string;
  upstream?: Parameters<typeof startPrestoUpstream>[0];
  /** How long domain servers cache the registry's answer (the kit's default: 30 s). */
  registryCacheMs?: number;
}

export interface WorkerSpec {
  name: string;
  /** wrangler config, relative to the repository root. */
  config: string;
  port: number;
  vars: Record<string, string>;
}

/**
 * The auth Worker's local configuration: local IdP, local services, the given resources by server
 * name (each Worker's AUTH binding names its server in `props`).
 */
export function authVars(options: {
  authUrl: string;
  resources: Record<string, string>;
  idpIssuer?: string;
}): Record<string, string> {
  return {
    AUTH_ISSUER: options.authUrl,
    RESOURCES: Object.entries(options.resources)
      .map(([server, resource]) => `${server}=${resource}`)
      .join(","),
    SCOPES: "presto:read presto:write echo:read echo:write registry:read registry:write",
    OIDC_ISSUER: options.idpIssuer ?? "http://127.0.0.1:8790",
    OIDC_CLIENT_ID: LOCAL_SSO_CLIENT.clientId,
    OIDC_CLIENT_SECRET: LOCAL_SSO_CLIENT.clientSecret,
    OIDC_GROUPS_CLAIM: "groups",
    // Every local account's email is at this domain (local/idp.users.json).
    OIDC_ALLOWED_DOMAINS: LOCAL_EMAIL_DOMAIN,
    SERVICE_IDENTITIES: serviceIdentitiesJson(),
    CONSENT_SECRET: randomBytes(32).toString("base64url"),
  };
}

/**
 * Local-only service identities (client credentials): name → secret. The auth Worker is given
 * only their SHA-256, as in production (the SERVICE_IDENTITIES secret).
 */
export const LOCAL_SERVICES = {
  "reporting-bot": { secret: "reporting-bot-local-secret", scopes: ["presto:read", "echo:read"] },
  /** The delivery pipeline: publishes servers to the registry. */
  pipeline: { secret: "pipeline-local-secret", scopes: ["registry:write"] },
} as const;

/** The OAuth client the auth Worker uses at the local IdP (dev-only credentials). */
export const LOCAL_SSO_CLIENT = { clientId: "mcp-fleet-auth", clientSecret: "mcp-fleet-auth-local-secret" };

/** Opens the local IdP's directory to changes (local/idp.admin.ts): dev and tests only. */
export const LOCAL_IDP_ADMIN_TOKEN = "local-idp-admin-token";

export function serviceIdentitiesJson(): string {
  return JSON.stringify(
    Object.entries(LOCAL_SERVICES).map(([name, { secret, scopes }]) => ({
      name,
      secretSha256: createHash("sha256").update(secret).digest("hex"),
      scopes,
    })),
  );
}

export interface Fleet {
  registryUrl: string;
  prestoUrl: string;
  authUrl: string;
  idpUrl: string;
  upstreamUrl: string;
  /** Runs the registry's cron (the live-status probe of every server) once, now. */
  runCron(): Promise<void>;
  /** Stops and starts one Worker's process (its Durable Object state persists). */
  restart(name: "registry" | "presto" | "auth"): Promise<void>;
  stop(): Promise<void>;
}

export async function startFleet(options: FleetOptions = {}): Promise<Fleet> {
  const host = options.host ?? "127.0.0.1";
  const persistTo = resolve(options.persistTo ?? join(ROOT, ".wrangler", "state"));
  const logDir = resolve(options.logDir ?? join(ROOT, ".wrangler", "logs"));
  mkdirSync(logDir, { recursive: true });

  const registryUrl = `http://${host}:${options.registryPort ?? 8787}`;
  const prestoUrl = `http://${host}:${options.prestoPort ?? 8788}`;
  const authUrl = `http://${host}:${options.authPort ?? 8789}`;

  const upstream = await startPrestoUpstream({ port: options.upstreamPort ?? 8090, ...options.upstream });
  const idp = await startIdp({
    port: options.idpPort ?? 8790,
    host,
    clients: [{ ...LOCAL_SSO_CLIENT, redirectUris: [`${authUrl}/sso/callback`] }],
    adminToken: LOCAL_IDP_ADMIN_TOKEN,
  });
  await applyMigrations(persistTo, logDir);

  const workers: WorkerSpec[] = [
    {
      name: "registry",
      config: "wrangler.toml",
      port: options.registryPort ?? 8787,
      vars: { PUBLIC_URL: registryUrl, AUTH_ISSUER: authUrl, FLEET_ENV: "local", ALLOWED_HOSTS: "localhost,127.0.0.1" },
    },
    {
      name: "auth",
      config: "workers/auth/wrangler.toml",
      port: options.authPort ?? 8789,
      vars: authVars({ authUrl, resources: { presto: prestoUrl, registry: registryUrl }, idpIssuer: idp.issuer }),
    },
    {
      name: "presto",
      config: "workers/presto/wrangler.toml",
      port: options.prestoPort ?? 8788,
      vars: {
        PUBLIC_URL: prestoUrl,
        AUTH_ISSUER: authUrl,
        ALLOWED_HOSTS: "localhost,127.0.0.1",
        PRESTO_URL: upstream.url,
        FLEET_ENV: "local",
        ...(options.registryCacheMs !== undefined ? { REGISTRY_CACHE_MS: String(options.registryCacheMs) } : {}),
      },
    },
  ];
  const running = new Map<string, ChildProcess>();
  let cron: NodeJS.Timeout | undefined;
  const launch = async (worker: WorkerSpec) => {
    running.set(worker.name, await startWorker(worker, host, persistTo, logDir));
  };
  try {
    // Wait for every start to settle, so none is left running unseen if another one fails.
    const started = await Promise.allSettled(workers.map(launch));
    const failed = started.find((result) => result.status === "rejected");
    if (failed) throw failed.reason;
    await seedRegistry({
      registryUrl,
      authUrl,
      // The registry is itself an MCP server (/mcp), governed like every other.
      servers: [prestoUrl, registryUrl],
      pipeline: { name: "pipeline", secret: LOCAL_SERVICES.pipeline.secret },
    });
    // wrangler dev does not fire cron triggers: play the registry's live-status cron, now and every minute.
    await runRegistryCron(registryUrl);
    cron = setInterval(() => {
      runRegistryCron(registryUrl).catch((error) => console.warn(`live-status check failed: ${error}`));
    }, 60_000);
    cron.unref();
  } catch (error) {
    await Promise.all([...running.values()].map(stopProcess));
    await Promise.all([upstream.close(), idp.close()]);
    throw error;
  }

  return {
    registryUrl,
    prestoUrl,
    authUrl,
    idpUrl: idp.issuer,
    upstreamUrl: upstream.url,
    async restart(name) {
      const worker = workers.find((w) => w.name === name);
      if (!worker) throw new Error(`No worker ${name}`);
      await stopProcess(running.get(name));
      await launch(worker);
    },
    runCron: () => runRegistryCron(registryUrl),
    async stop() {
      clearInterval(cron);
      await Promise.all([...running.values()].map(stopProcess));
      await Promise.all([upstream.close(), idp.close()]);
    },
  };
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
      WRANGLER_SEND_METRICS: "false",
      WRANGLER_LOG_PATH: logDir,
      // Service bindings between these Workers resolve through this fleet's own dev registry,
      // so a test fleet and `npm start` never see each other's Workers.
      WRANGLER_REGISTRY_PATH: join(persistTo, "..", "dev-registry"),
      CI: "true",
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  child.stdout?.pipe(log);
  child.stderr?.pipe(log);
  return child;
}

export async function stopProcess(child: ChildProcess | undefined): Promise<void> {
  if (!child?.pid || child.exitCode !== null) return;
  const exited = once(child, "exit");
  try {
    process.kill(-child.pid, "SIGTERM");
  } catch {
    return;
  }
  const timer = setTimeout(() => {
    try {
      process.kill(-(child.pid as number), "SIGKILL");
    } catch {}
  }, 5_000);
  await exited;
  clearTimeout(timer);
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

/** Fires the registry's scheduled handler through wrangler dev's /__scheduled route. */
export async function runRegistryCron(registryUrl: string): Promise<void> {
  // Local D1 is one SQLite file shared by several workerd processes: a write can meet
  // SQLITE_BUSY, which production D1 does not have. Retry briefly rather than fail the start.
  for (let attempt = 1; ; attempt++) {
    const response = await fetch(`${registryUrl}/__scheduled?cron=${encodeURIComponent("*/1 * * * *")}`);
    if (response.ok) return;
    const detail = `HTTP ${response.status} ${await response.text()}`;
    if (attempt >= 3) throw new Error(`the registry's cron failed: ${detail}`);
    await new Promise((resolve) => setTimeout(resolve, 250 * attempt));
  }
}

async function runWrangler(args: string[], logFile: string): Promise<void> {
  const log = createWriteStream(logFile, { flags: "a" });
  const child = spawn(WRANGLER, args, {
    cwd: ROOT,
    env: { ...process.env, WRANGLER_SEND_METRICS: "false", CI: "true" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  child.stdout?.pipe(log);
  child.stderr?.pipe(log);
  const [code] = await once(child, "exit");
  if (code !== 0) throw new Error(`wrangler ${args.join(" ")} failed with ${code}; see ${logFile}`);
}
