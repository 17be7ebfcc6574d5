/** Test fixtures for the registry's workerd tests: a valid server.json with the fleet's metadata. */
import { PUBLISHER_META, type PublisherMeta, type ServerJson } from "../shared/registry/registry.contract";

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
      },
    },
  };
}
