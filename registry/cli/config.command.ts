/** `fleet config <client> [server]`: the client configuration for one server or every approved one. */
import {
  SNIPPET_CLIENTS,
  SNIPPET_TARGETS,
  type SnippetClient,
  snippetFor,
} from "../../shared/registry/client.snippets.ts";
import type { CliContext } from "./cli.context.ts";
import { CliError, EXIT, usageError } from "./cli.errors.ts";
import { governanceOf, type ServerResponse, shortName } from "./registry.api.client.ts";

export async function printConfig(ctx: CliContext, client: string, server: string | undefined): Promise<void> {
  if (!isSnippetClient(client)) {
    throw usageError(`unknown client "${client}"; one of: ${SNIPPET_CLIENTS.join(", ")}`);
  }
  let entries: ServerResponse[];
  if (server) {
    const entry = await ctx.registry.latest(server);
    if (!entry) throw new CliError(`no server "${server}" in the registry at ${ctx.registryUrl}`, EXIT.refused);
    const { lifecycle } = governanceOf(entry);
    if (lifecycle !== "approved") ctx.err(`Warning: ${shortName(entry)} is ${lifecycle}, not approved for use.`);
    entries = [entry];
  } else {
    entries = await ctx.registry.listServers({ lifecycle: "approved" });
    if (entries.length === 0) throw new CliError(`no approved servers in the registry at ${ctx.registryUrl}`);
  }
  const servers = entries.map((entry) => {
    const remote = entry.server.remotes.find((candidate) => candidate.type === "streamable-http");
    if (!remote) throw new CliError(`${shortName(entry)} has no streamable-http remote to configure`);
    return { name: shortName(entry), url: remote.url };
  });
  const { label, where } = SNIPPET_TARGETS[client];
  ctx.err(`# ${label}: ${where}`);
  ctx.out(snippetForServers(client, servers));
}

export function isSnippetClient(value: string): value is SnippetClient {
  return (SNIPPET_CLIENTS as readonly string[]).includes(value);
}

/**
 * The shared one-server snippets, combined: commands one per line; configuration files merged
 * into one document (the servers side by side under the client's key).
 */
export function snippetForServers(client: SnippetClient, servers: readonly { name: string; url: string }[]): string {
  const snippets = servers.map((server) => snippetFor(client, server.name, server.url));
  if (client === "claude") return snippets.join("\n");
  const merged: Record<string, Record<string, unknown>> = {};
  for (const snippet of snippets) {
    for (const [key, entries] of Object.entries(JSON.parse(snippet) as Record<string, Record<string, unknown>>)) {
      merged[key] = { ...merged[key], ...entries };
    }
  }
  return JSON.stringify(merged, null, 2);
}
