/**
 * The shape of the fleet manifest (`fleet.config.ts`) and what is derived from it: ports, URLs,
 * upstreams, the auth Worker's resources and scopes. What a server is (its name, tools, scopes,
 * example call) comes from its own `defineServer` declaration (local/server.specs.ts); the
 * manifest adds only what its code cannot know: where it runs locally and what stands in for its
 * upstream there.
 */
import type { ServerSummary } from "./server.specs.ts";

/** A local stand-in for a server's upstream (`npm start`, end-to-end and workerd tests). */
export interface LocalUpstream {
  /** The Worker variable that carries its URL, e.g. PRESTO_URL. */
  env: string;
  /**
   * More Worker variables given the same URL: one local process standing in for several
   * upstreams that live apart in production, under distinct paths (Spark: the History Server
   * at /api/v1 and Livy at /batches, as SPARK_HISTORY_URL and LIVY_URL).
   */
  alsoEnv?: readonly string[];
  /** Its port under `npm start` (tests give it a free one). */
  port: number;
  /** What it is, for the launcher's banner. */
  label: string;
  /** Starts it on `port` (0: any free port) and resolves once it listens. */
  // biome-ignore lint/suspicious/noExplicitAny: each upstream takes its own extra options
  start(options: { port: number; host: string } & Record<string, any>): Promise<RunningUpstream>;
  /** Extra options for `start` in test runs (end-to-end and workerd tests). */
  testOptions?: Record<string, unknown>;
  /**
   * More Worker variables the server needs to reach it besides its URL (e.g. the local
   * stand-in's credentials), passed wherever the URL is: `npm start`, end-to-end, workerd tests.
   */
  vars?: Record<string, string>;
}

export interface RunningUpstream {
  url: string;
  close(): Promise<void>;
}

export interface ServerEntry {
  /** Its registry name: the name its `defineServer` declares. */
  name: string;
  /** Its local port under `npm start`; every other run moves it with the fleet's port base. */
  port: number;
  /** Its folder, with `wrangler.toml` and `<name>.app.ts`; default `workers/<name>`. */
  folder?: string;
  /** What stands in for its upstream locally: one, or a module whose default export is one. */
  upstream?: LocalUpstream | (() => Promise<{ default: LocalUpstream }>);
  /** Worker variables its workerd tests need on top of the kit's (e.g. short timeouts). */
  testVars?: Record<string, string>;
  /** Its production origin; default `https://<name>.<the fleet's domain>`. */
  publicUrl?: string;
  /**
   * A test fixture (e.g. the conformance fixture `workers/test`): in local and test fleets only,
   * never deployed, so left out of the production auth Worker's RESOURCES and SCOPES.
   */
  testOnly?: true;
}

export interface FleetManifest {
  /** Production origins are `https://<name>.<domain>` unless an entry says otherwise. */
  domain: string;
  /** Local ports of the fleet's own Workers and the local IdP (`npm start`). */
  registry: { port: number };
  auth: { port: number };
  idp: { port: number };
  servers: ServerEntry[];
}

/** The registry's own MCP server (a `defineServer` declaration like every other). */
export const REGISTRY_APP = "registry/registry.mcp.ts";
/** Scopes of the registry's API and MCP server, granted by the auth Worker besides the servers'. */
export const REGISTRY_SCOPES = ["registry:read", "registry:write"];

/**
 * The manifest with only the servers named in `list` (comma-separated, e.g. `FLEET_SERVERS=presto,echo`
 * for `npm start`), the registry, the auth Worker and the IdP always; all of them when `list` is
 * unset. An unknown name is an error naming it, so a typo never starts a fleet without the server.
 */
export function withServers(manifest: FleetManifest, list: string | undefined, variable: string): FleetManifest {
  if (list === undefined) return manifest;
  const names = list
    .split(",")
    .map((name) => name.trim())
    .filter(Boolean);
  const unknown = names.filter((name) => !manifest.servers.some((server) => server.name === name));
  if (unknown.length > 0 || names.length === 0) {
    throw new Error(
      `${variable}: ${unknown.length > 0 ? `no server named ${unknown.join(", ")}` : "names no server"} (fleet.config.ts has ${manifest.servers.map((server) => server.name).join(", ")})`,
    );
  }
  return { ...manifest, servers: manifest.servers.filter((server) => names.includes(server.name)) };
}

/** Checks the manifest once, where it is declared. */
export function defineFleet(manifest: FleetManifest): FleetManifest {
  const names = new Set<string>(["registry", "auth"]);
  const ports = new Map<number, string>();
  const claim = (port: number, owner: string) => {
    for (const used of [port, port + 1000]) {
      const other = ports.get(used);
      if (other) throw new Error(`fleet.config.ts: ${owner} and ${other} both use port ${used} (or its inspector)`);
      ports.set(used, owner);
    }
  };
  claim(manifest.registry.port, "registry");
  claim(manifest.auth.port, "auth");
  claim(manifest.idp.port, "idp");
  for (const server of manifest.servers) {
    if (!/^[a-z][a-z0-9-]*$/.test(server.name))
      throw new Error(`fleet.config.ts: "${server.name}" is not a server name`);
    if (names.has(server.name)) throw new Error(`fleet.config.ts: ${server.name} is declared twice (or is reserved)`);
    names.add(server.name);
    if (server.port < manifest.registry.port) {
      throw new Error(
        `fleet.config.ts: ${server.name}'s port must be above the registry's (${manifest.registry.port})`,
      );
    }
    claim(server.port, server.name);
  }
  return manifest;
}

/**
 * The Worker variables that reach a running local upstream: its `vars`, and its URL as `env` and
 * every `alsoEnv`.
 */
export function upstreamVars(
  upstream: Pick<LocalUpstream, "env" | "alsoEnv" | "vars">,
  url: string,
): Record<string, string> {
  return {
    ...upstream.vars,
    ...Object.fromEntries([upstream.env, ...(upstream.alsoEnv ?? [])].map((name) => [name, url])),
  };
}

export const serverFolder = (server: ServerEntry) => server.folder ?? `workers/${server.name}`;
export const serverConfig = (server: ServerEntry) => `${serverFolder(server)}/wrangler.toml`;
export const serverApp = (server: ServerEntry) => `${serverFolder(server)}/${server.name}.app.ts`;

/** The server's local upstream, if it has one. */
export async function localUpstream(server: ServerEntry): Promise<LocalUpstream | undefined> {
  if (typeof server.upstream === "function") return (await server.upstream()).default;
  return server.upstream;
}

/** A local port moved to `base` (the registry's port): `npm start` runs at the manifest's own. */
export function portAt(manifest: FleetManifest, port: number, base = manifest.registry.port): number {
  return port + (base - manifest.registry.port);
}

/** Every scope the auth Worker grants (SCOPES): the servers' (from their declarations) and the registry's. */
export function fleetScopes(specs: readonly ServerSummary[]): string[] {
  return [...new Set([...specs.flatMap((spec) => spec.allScopes), ...REGISTRY_SCOPES])].sort();
}

/** The auth Worker's RESOURCES: each server by the name its AUTH binding gives, with its origin. */
export function resourcesVar(resources: Record<string, string>): string {
  return Object.entries(resources)
    .map(([name, url]) => `${name}=${url}`)
    .join(",");
}

/** Production origins of the registry and every server, by name. */
export function productionResources(manifest: FleetManifest): Record<string, string> {
  const origin = (name: string) => `https://${name}.${manifest.domain}`;
  return {
    ...Object.fromEntries(
      manifest.servers
        .filter((server) => !server.testOnly)
        .map((server) => [server.name, server.publicUrl ?? origin(server.name)]),
    ),
    registry: origin("registry"),
  };
}

/**
 * The auth Worker's production RESOURCES and SCOPES, derived at deploy (`npm run deploy:auth`):
 * never typed in its wrangler.toml, so a new server cannot be forgotten there.
 */
export function productionAuthVars(
  manifest: FleetManifest,
  specs: readonly ServerSummary[],
): { RESOURCES: string; SCOPES: string } {
  const fixtures = new Set(manifest.servers.filter((server) => server.testOnly).map((server) => server.name));
  const deployed = specs.filter((spec) => !fixtures.has(spec.name));
  return { RESOURCES: resourcesVar(productionResources(manifest)), SCOPES: fleetScopes(deployed).join(" ") };
}
