/** `fleet config <client> [server]`: the client configuration for one server or every approved one. */
import {
  clientSnippet,
  isSnippetClient,
  SNIPPET_CLIENT_INFO,
  SNIPPET_CLIENTS,
  type SnippetServer,
} from "../../shared/registry/client.snippets.ts";
import type { CliContext } from "./cli.context.ts";
import { CliError, EXIT, usageError } from "./cli.errors.ts";
import { governanceOf, type ServerResponse, shortName } from "./registry.client.ts";

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
  const servers: SnippetServer[] = entries.map((entry) => {
    const remote = entry.server.remotes.find((candidate) => candidate.type === "streamable-http");
    if (!remote) throw new CliError(`${shortName(entry)} has no streamable-http remote to configure`);
    return { name: shortName(entry), url: remote.url };
  });
  const snippet = clientSnippet(client, servers);
  ctx.err(`# ${SNIPPET_CLIENT_INFO[client].label}: ${snippet.where}`);
  ctx.out(snippet.text);
}
