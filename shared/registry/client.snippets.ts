/**
 * How to add fleet servers to an MCP client: the command or configuration file each client
 * expects. Pure functions without imports, shared by the `fleet config` CLI and the registry page,
 * so both always say the same thing.
 */

export const SNIPPET_CLIENTS = ["claude", "cursor", "vscode", "mcp-remote"] as const;
export type SnippetClient = (typeof SNIPPET_CLIENTS)[number];

/** A server as a client configuration names it: the short name and its Streamable HTTP URL. */
export interface SnippetServer {
  name: string;
  url: string;
}

export interface ClientSnippet {
  client: SnippetClient;
  /** `shell`: commands to run; `json`: a configuration file's content. */
  format: "shell" | "json";
  /** Where it goes, for people: the command's purpose or the file to merge it into. */
  where: string;
  text: string;
}

/** What each client is, for labels and help. */
export const SNIPPET_CLIENT_INFO: Record<SnippetClient, { label: string; where: string }> = {
  claude: { label: "Claude Code", where: "run in a terminal (add `--scope user` to use it in every project)" },
  cursor: { label: "Cursor", where: "merge into ~/.cursor/mcp.json (or .cursor/mcp.json in a project)" },
  vscode: { label: "VS Code", where: "merge into .vscode/mcp.json in the workspace" },
  "mcp-remote": {
    label: "mcp-remote (stdio clients, e.g. Claude Desktop)",
    where: "merge into the client's MCP configuration (Claude Desktop: claude_desktop_config.json)",
  },
};

export function isSnippetClient(value: string): value is SnippetClient {
  return (SNIPPET_CLIENTS as readonly string[]).includes(value);
}

/** The snippet adding `servers` to `client`. */
export function clientSnippet(client: SnippetClient, servers: readonly SnippetServer[]): ClientSnippet {
  const where = SNIPPET_CLIENT_INFO[client].where;
  switch (client) {
    case "claude":
      return { client, format: "shell", where, text: claudeCommands(servers) };
    case "cursor":
      return { client, format: "json", where, text: json({ mcpServers: byName(servers, (url) => ({ url })) }) };
    case "vscode":
      return {
        client,
        format: "json",
        where,
        text: json({ servers: byName(servers, (url) => ({ type: "http", url })) }),
      };
    case "mcp-remote":
      return {
        client,
        format: "json",
        where,
        text: json({ mcpServers: byName(servers, (url) => ({ command: "npx", args: mcpRemoteArgs(url) })) }),
      };
  }
}

/** `claude mcp add --transport http <name> <url>`, one line per server. */
export function claudeCommands(servers: readonly SnippetServer[]): string {
  return servers
    .map((server) => `claude mcp add --transport http ${shellWord(server.name)} ${shellWord(server.url)}`)
    .join("\n");
}

/** mcp-remote refuses plain http except on loopback hosts unless told `--allow-http`. */
export function mcpRemoteArgs(url: string): string[] {
  const parsed = URL.canParse(url) ? new URL(url) : undefined;
  const loopback = parsed ? ["localhost", "127.0.0.1", "[::1]"].includes(parsed.hostname) : false;
  return parsed?.protocol === "http:" && !loopback ? ["mcp-remote", url, "--allow-http"] : ["mcp-remote", url];
}

function byName<T>(servers: readonly SnippetServer[], entry: (url: string) => T): Record<string, T> {
  return Object.fromEntries(servers.map((server) => [server.name, entry(server.url)]));
}

function json(value: unknown): string {
  return JSON.stringify(value, null, 2);
}

/** A word for POSIX shells: left bare when it is safe, otherwise single-quoted. */
function shellWord(value: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(value) ? value : `'${value.replaceAll("'", `'\\''`)}'`;
}
