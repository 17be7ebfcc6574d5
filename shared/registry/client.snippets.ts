/**
 * How to connect an MCP client to a fleet server: the copy-paste configuration for each client
 * the fleet supports, as pure functions shared by the registry page and the CLI.
 */

export const SNIPPET_CLIENTS = ["claude", "cursor", "vscode", "mcp-remote"] as const;
export type SnippetClient = (typeof SNIPPET_CLIENTS)[number];

/** What each snippet is and where it goes, for people reading it. */
export const SNIPPET_TARGETS: Record<SnippetClient, { label: string; where: string }> = {
  claude: { label: "Claude Code", where: "Run in a terminal" },
  cursor: { label: "Cursor", where: "Add to ~/.cursor/mcp.json" },
  vscode: { label: "VS Code", where: "Add to .vscode/mcp.json in your workspace" },
  "mcp-remote": {
    label: "mcp-remote",
    where: "For clients that only start local (stdio) servers, e.g. Claude Desktop's config file",
  },
};

/** The configuration text that connects `client` to the server `name` at `url` (its streamable HTTP endpoint). */
export function snippetFor(client: SnippetClient, name: string, url: string): string {
  switch (client) {
    case "claude":
      return `claude mcp add --transport http ${name} ${url}`;
    case "cursor":
      return json({ mcpServers: { [name]: { url } } });
    case "vscode":
      return json({ servers: { [name]: { type: "http", url } } });
    case "mcp-remote":
      return json({ mcpServers: { [name]: { command: "npx", args: ["mcp-remote", url] } } });
  }
}

function json(value: unknown): string {
  return JSON.stringify(value, null, 2);
}
