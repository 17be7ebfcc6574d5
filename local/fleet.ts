/**
 * Brings the fleet up locally, as `fleet.config.ts` declares it: each server's local upstream,
 * the local IdP, D1 migrations, and every Worker on its own port as `wrangler dev` runs it (in one
 * process: local/workers.host.ts), all sharing one local persistence directory; then publishes
 * and approves every server in the local registry.
 * Used by `npm start`, the end-to-end tests and the bench.
 */
import { createHash, randomBytes } from "node:crypto";
import { mkdirSync } from "node:fs";
import { join, resolve } from "node:path";
import defaultManifest from "../fleet.config.ts";
import {
  type FleetManifest,
  fleetScopes,
  localUpstream,
  portAt,
  REGISTRY_APP,
  type RunningUpstream,
  resourcesVar,
  serverApp,
  serverConfig,
  upstreamVars,
} from "./fleet.manifest.ts";
import { LOCAL_EMAIL_DOMAIN } from "./idp.admin.ts";
import { startIdp } from "./idp.ts";
import { seedRegistry } from "./registry.seed.ts";
import { readServerSpecs, type ServerSummary } from "./server.specs.ts";
import { applyMigrations, type RunningWorker, WorkerHost, type WorkerSpec } from "./wrangler.process.ts";

export { applyMigrations, type RunningWorker, WorkerHost, type WorkerSpec } from "./wrangler.process.ts";

const ROOT = resolve(import.meta.dirname, "..");

export interface FleetOptions {
  host?: string;
  /** Where the registry listens; every other port moves with it (default: the manifest's, 8787). */
  portBase?: number;
  /** For tests: the IdP and the upstreams on free ports, upstreams with their `testOptions`. */
  forTests?: boolean;
  /** Local D1/KV/DO state; survives restarts of the workers. */
  persistTo?: string;
  /** Where wrangler output goes (one file per Worker). */
  logDir?: string;
  /** How long domain servers cache the registry's answer (the kit's default: 30 s). */
  registryCacheMs?: number;
  /** More variables for every domain server (tests: e.g. a short APPROVAL_TIMEOUT_MS). */
  serverVars?: Record<string, string>;
  manifest?: FleetManifest;
}

/**
 * Local-only service identities (client credentials): name → secret. The auth Worker is given
 * only their SHA-256, as in production (the SERVICE_IDENTITIES secret).
 */
export const LOCAL_SERVICES = {
  /** Reads through every domain server that admits services: it gets each one's read scopes. */
  "reporting-bot": {
    secret: "reporting-bot-local-secret",
    scopes: (fleet: readonly string[]) => fleet.filter((s) => s.endsWith(":read") && !s.startsWith("registry:")),
  },
  /** The delivery pipeline: publishes servers to the registry. */
  pipeline: { secret: "pipeline-local-secret", scopes: () => ["registry:write"] },
} as const;

/** The OAuth client the auth Worker uses at the local IdP (dev-only credentials). */
export const LOCAL_SSO_CLIENT = { clientId: "mcp-fleet-auth", clientSecret: "mcp-fleet-auth-local-secret" };

/** Opens the local IdP's directory to changes (local/idp.admin.ts): dev and tests only. */
export const LOCAL_IDP_ADMIN_TOKEN = "local-idp-admin-token";

/**
 * The auth Worker's local configuration: local IdP, local services, the given resources by server
 * name (each Worker's AUTH binding names its server in `props`), the scopes the servers declare.
 */
export function authVars(options: {
  authUrl: string;
  resources: Record<string, string>;
  specs: readonly ServerSummary[];
  idpIssuer?: string;
}): Record<string, string> {
  const scopes = fleetScopes(options.specs);
  return {
    AUTH_ISSUER: options.authUrl,
    RESOURCES: resourcesVar(options.resources),
    SCOPES: scopes.join(" "),
    OIDC_ISSUER: options.idpIssuer ?? "http://127.0.0.1:8790",
    OIDC_CLIENT_ID: LOCAL_SSO_CLIENT.clientId,
    OIDC_CLIENT_SECRET: LOCAL_SSO_CLIENT.clientSecret,
    OIDC_GROUPS_CLAIM: "groups",
    // Every local account's email is at this domain (local/idp.users.json).
    OIDC_ALLOWED_DOMAINS: LOCAL_EMAIL_DOMAIN,
    SERVICE_IDENTITIES: serviceIdentitiesJson(scopes),
    CONSENT_SECRET: randomBytes(32).toString("base64url"),
  };
}

/** The SERVICE_IDENTITIES of the local auth Worker, for the scopes the fleet grants. */
export function serviceIdentitiesJson(fleetScopes: readonly string[]): string {
  return JSON.stringify(
    Object.entries(LOCAL_SERVICES).map(([name, { secret, scopes }]) => ({
      name,
      secretSha256: createHash("sha256").update(secret).digest("hex"),
      scopes: scopes(fleetScopes),
    })),
  );
}

export interface FleetServer {
  name: string;
  /** Its origin (the MCP endpoints are /mcp and, for legacy clients, /sse). */
  url: string;
  /** Its local upstream, if it has one. */
  upstream?: { url: string; label: string };
  /** What its `defineServer` declares. */
  spec: ServerSummary;
  /** A test fixture (the manifest's `testOnly`), not a domain server. */
  testOnly?: true;
}

export interface Fleet {
  registryUrl: string;
  authUrl: string;
  idpUrl: string;
  /** The manifest's servers, in its order. */
  servers: FleetServer[];
  /** The registry's own MCP server's declaration. */
  registrySpec: ServerSummary;
  /** Runs the registry's cron (the live-status probe of every server) once, now. */
  runCron(): Promise<void>;
  /** Stops and starts one Worker's process (its Durable Object state persists): registry, auth or a server. */
  restart(name: string): Promise<void>;
  stop(): Promise<void>;
}

export async function startFleet(options: FleetOptions = {}): Promise<Fleet> {
  const manifest = options.manifest ?? defaultManifest;
  const host = options.host ?? "127.0.0.1";
  const persistTo = resolve(options.persistTo ?? join(ROOT, ".wrangler", "state"));
  const logDir = resolve(options.logDir ?? join(ROOT, ".wrangler", "logs"));
  mkdirSync(logDir, { recursive: true });
  const port = (local: number) => portAt(manifest, local, options.portBase);
  const helperPort = (local: number) => (options.forTests ? 0 : port(local));
  const origin = (local: number) => `http://${host}:${port(local)}`;
  const registryUrl = origin(manifest.registry.port);
  const authUrl = origin(manifest.auth.port);

  const upstreams = new Map<string, RunningUpstream & { label: string; vars: Record<string, string> }>();
  const helpers: { close(): Promise<void> }[] = [];
  const running = new Map<string, RunningWorker>();
  let workerHost: Promise<WorkerHost> | undefined;
  let cron: NodeJS.Timeout | undefined;
  const stopAll = async () => {
    clearInterval(cron);
    await Promise.allSettled([...running.values()].map((worker) => worker.stop()));
    await workerHost?.then((host) => host.close()).catch(() => {});
    await Promise.allSettled(helpers.map((helper) => helper.close()));
  };

  try {
    const startUpstreams = manifest.servers.map(async (server) => {
      const upstream = await localUpstream(server);
      if (!upstream) return;
      const started = await upstream.start({
        ...(options.forTests ? upstream.testOptions : {}),
        port: helperPort(upstream.port),
        host,
      });
      helpers.push(started);
      upstreams.set(server.name, { ...started, label: upstream.label, vars: upstreamVars(upstream, started.url) });
    });
    const startIdpServer = startIdp({
      port: helperPort(manifest.idp.port),
      host,
      clients: [{ ...LOCAL_SSO_CLIENT, redirectUris: [`${authUrl}/sso/callback`] }],
      adminToken: LOCAL_IDP_ADMIN_TOKEN,
    }).then((idp) => {
      helpers.push(idp);
      return idp;
    });
    const readSpecs = readServerSpecs([...manifest.servers.map(serverApp), REGISTRY_APP]);
    // The migrations (a wrangler process: the slowest step) run while the Workers start, which
    // need no table to come up (/health answers even when its dead-letter count fails, as it may
    // meanwhile); the registry is seeded after both.
    const migrations = applyMigrations(persistTo, logDir);
    // The process every Worker runs in (wrangler's own dev server, one for the fleet), meanwhile.
    workerHost = WorkerHost.start(persistTo, logDir);
    workerHost.catch(() => {}); // awaited below, after whatever fails first
    // Wait for all to settle, so that nothing started is left running unseen if one fails.
    const settled = await Promise.allSettled([readSpecs, startIdpServer, ...startUpstreams]);
    const failure = settled.find((result) => result.status === "rejected");
    if (failure) {
      await migrations.catch(() => {});
      throw failure.reason;
    }
    const [specs, idp] = [await readSpecs, await startIdpServer];
    const specOf = (name: string, entry: string) => {
      const spec = specs.find((candidate) => candidate.entry === entry);
      if (spec?.name !== name) throw new Error(`${entry} declares the server "${spec?.name}", not "${name}"`);
      return spec;
    };
    const servers: FleetServer[] = manifest.servers.map((server) => {
      const upstream = upstreams.get(server.name);
      return {
        name: server.name,
        url: origin(server.port),
        ...(upstream ? { upstream: { url: upstream.url, label: upstream.label } } : {}),
        spec: specOf(server.name, serverApp(server)),
        ...(server.testOnly ? { testOnly: true as const } : {}),
      };
    });
    const registrySpec = specOf("registry", REGISTRY_APP);

    // Signs approval requestStates on 2026-07-28 (shared/mcp/approval.modern.ts): a fresh secret per launch.
    const approvalStateKey = randomBytes(32).toString("hex");
    const workers: WorkerSpec[] = [
      {
        name: "registry",
        config: "wrangler.toml",
        port: port(manifest.registry.port),
        vars: {
          PUBLIC_URL: registryUrl,
          AUTH_ISSUER: authUrl,
          FLEET_ENV: "local",
          ALLOWED_HOSTS: "localhost,127.0.0.1",
          APPROVAL_STATE_KEY: approvalStateKey,
        },
      },
      {
        name: "auth",
        config: "workers/auth/wrangler.toml",
        port: port(manifest.auth.port),
        vars: authVars({
          authUrl,
          resources: {
            ...Object.fromEntries(servers.map((server) => [server.name, server.url])),
            registry: registryUrl,
          },
          specs: [...servers.map((server) => server.spec), registrySpec],
          idpIssuer: idp.issuer,
        }),
      },
      ...manifest.servers.map((server) => {
        const upstream = upstreams.get(server.name);
        return {
          name: server.name,
          config: serverConfig(server),
          port: port(server.port),
          vars: {
            PUBLIC_URL: origin(server.port),
            AUTH_ISSUER: authUrl,
            // High-risk approvals are given on the registry's page.
            REGISTRY_URL: registryUrl,
            ALLOWED_HOSTS: "localhost,127.0.0.1",
            FLEET_ENV: "local",
            APPROVAL_STATE_KEY: approvalStateKey,
            ...upstream?.vars,
            ...(options.registryCacheMs !== undefined ? { REGISTRY_CACHE_MS: String(options.registryCacheMs) } : {}),
            ...options.serverVars,
          },
        };
      }),
    ];
    const hostProcess = await workerHost.catch(async (error) => {
      await migrations.catch(() => {});
      throw error;
    });
    const launch = async (worker: WorkerSpec) => {
      running.set(worker.name, await hostProcess.startWorker(worker, host));
    };
    // Wait for every start to settle, so none is left running unseen if another one fails.
    const started = await Promise.allSettled([migrations, ...workers.map(launch)]);
    const failed = started.find((result) => result.status === "rejected");
    if (failed) throw failed.reason;
    await seedRegistry({
      registryUrl,
      authUrl,
      // The registry is itself an MCP server (/mcp), governed like every other.
      servers: [...servers.map((server) => server.url), registryUrl],
      pipeline: { name: "pipeline", secret: LOCAL_SERVICES.pipeline.secret },
    });
    // wrangler dev does not fire cron triggers: play the registry's live-status cron, now and every minute.
    await runRegistryCron(registryUrl);
    cron = setInterval(() => {
      runRegistryCron(registryUrl).catch((error) => console.warn(`live-status check failed: ${error}`));
    }, 60_000);
    cron.unref();

    return {
      registryUrl,
      authUrl,
      idpUrl: idp.issuer,
      servers,
      registrySpec,
      async restart(name) {
        const worker = workers.find((w) => w.name === name);
        if (!worker) throw new Error(`No worker ${name}`);
        await running.get(name)?.stop();
        running.delete(name);
        await launch(worker);
      },
      runCron: () => runRegistryCron(registryUrl),
      stop: stopAll,
    };
  } catch (error) {
    await stopAll();
    throw error;
  }
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
