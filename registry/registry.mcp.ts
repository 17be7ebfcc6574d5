/**
 * The registry as an MCP server (/mcp, legacy /sse + /messages): the kit's server with the
 * registry's tools, behind the same sign-in as every domain server. It obeys the registry like
 * any other server, except that its gate reads this Worker's D1 directly instead of calling
 * itself over a Service Binding.
 */
import { defineServer, type KitEnv } from "../shared/mcp";
import { DEFAULT_NAMESPACE, PUBLISH_DOCUMENT_PATH } from "../shared/registry/publish.document";
import type { RegistryEnv } from "./registry.env";
import { getServerPolicy } from "./registry.store";
import { registryTools } from "./registry.tools";

export const registryServer = defineServer({
  name: "registry",
  title: "MCP Fleet registry",
  description: "Find the fleet's MCP servers, how to connect to them, and whether you may use them.",
  version: "0.2.0",
  instructions:
    "Use registry_search_servers to find servers for a task, registry_get_server for one server's tools, " +
    "owner and status, and registry_check_access before connecting to a server or calling one of its tools.",
  owner: { team: "platform", supportChannel: "#mcp-fleet-help", onCall: "mcp-fleet-oncall" },
  // Proposed in the publish document: every signed-in user and every service may read the registry.
  access: { groups: [], services: true, scopes: ["registry:read"] },
  tools: registryTools,
  example: { tool: "registry_search_servers", arguments: { limit: 5 } },
  upstreams: (env) => {
    const { DB, FLEET_ENV, REGISTRY_NAMESPACE } = env as unknown as RegistryEnv;
    return { db: DB, environment: FLEET_ENV, namespace: REGISTRY_NAMESPACE || DEFAULT_NAMESPACE };
  },
});

/** The session Durable Object of the registry's MCP server (the SESSIONS binding). */
export const Session = registryServer.Session;
export const CallerState = registryServer.CallerState;

/** Paths the registry's MCP server answers (its publish document included). */
export function isMcpRequest(pathname: string): boolean {
  return pathname === "/mcp" || pathname === "/sse" || pathname === "/messages" || pathname === PUBLISH_DOCUMENT_PATH;
}

/** Serves an MCP request; the kit's registry gate reads this registry's own D1 (no self-RPC). */
export function fetchMcp(request: Request, env: RegistryEnv, ctx: ExecutionContext): Promise<Response> {
  return registryServer.fetch(request, kitEnvOf(env), ctx);
}

const kitEnvs = new WeakMap<RegistryEnv, KitEnv>();

function kitEnvOf(env: RegistryEnv): KitEnv {
  let kitEnv = kitEnvs.get(env);
  if (!kitEnv) {
    kitEnv = { ...env, REGISTRY: { serverPolicy: (name) => getServerPolicy(env.DB, name) } };
    kitEnvs.set(env, kitEnv);
  }
  return kitEnv;
}
