/** Test fixtures for the registry's workerd tests: a valid server.json with the fleet's metadata, and requests. */
import { exports } from "cloudflare:workers";
import { PUBLISHER_META, type PublisherMeta, type ServerJson } from "../shared/registry/registry.contract";
import { bearer } from "../test/workers/mcp-client";

export const TEST_NAMESPACE = "com.example.mcp-fleet";

/** A publishable server.json for `name`; any server.json field or publisher field can be overridden. */
export function testServerJson(
  name: string,
  overrides: Partial<Omit<ServerJson, "_meta">> & Partial<PublisherMeta> & { remoteUrl?: string } = {},
): ServerJson {
  const {
    team = "data-eng",
    supportChannel = `#${name}-help`,
    onCall = `${name}-oncall`,
    environments = ["test"],
    allowedGroups,
    allowedServices,
    tools = [],
    resources,
    resourceTemplates,
    prompts,
    remoteUrl = `https://${name}.mcp.example.com/mcp`,
    ...server
  } = overrides;
  return {
    name: `${TEST_NAMESPACE}/${name}`,
    title: `${name} title`,
    description: `The ${name} server`,
    version: "1.0.0",
    remotes: [{ type: "streamable-http", url: remoteUrl }],
    ...server,
    _meta: {
      [PUBLISHER_META]: {
        team,
        supportChannel,
        onCall,
        environments,
        ...(allowedGroups ? { allowedGroups } : {}),
        ...(allowedServices !== undefined ? { allowedServices } : {}),
        tools,
        ...(resources ? { resources } : {}),
        ...(resourceTemplates ? { resourceTemplates } : {}),
        ...(prompts ? { prompts } : {}),
      },
    },
  };
}

/** A request to the registry Worker under test (its real fetch: OAuth resource server, API), as `as` (a test token spec). */
export function callRegistry(
  method: string,
  path: string,
  options: { as?: string; body?: unknown; headers?: Record<string, string> } = {},
) {
  const headers: Record<string, string> = { ...options.headers };
  if (options.as) headers.authorization = bearer(options.as);
  if (options.body !== undefined) headers["content-type"] = "application/json";
  const worker = exports as unknown as { default: Fetcher };
  return worker.default.fetch(
    new Request(`http://localhost${path}`, {
      method,
      headers,
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
    }),
  );
}
