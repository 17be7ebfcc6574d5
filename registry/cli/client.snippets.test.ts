import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { SNIPPET_CLIENTS } from "../../shared/registry/client.snippets.ts";
import { isSnippetClient, snippetForServers } from "./config.command.ts";

const servers = [
  { name: "presto", url: "https://presto.mcp.example.com/mcp" },
  { name: "spark", url: "https://spark.mcp.example.com/mcp" },
];

describe("fleet config snippets (shared one-server snippets, combined)", () => {
  it("Claude Code: one `claude mcp add` per server", () => {
    assert.equal(
      snippetForServers("claude", servers),
      "claude mcp add --transport http presto https://presto.mcp.example.com/mcp\n" +
        "claude mcp add --transport http spark https://spark.mcp.example.com/mcp",
    );
  });

  it("Cursor: mcpServers with url", () => {
    assert.deepEqual(JSON.parse(snippetForServers("cursor", servers)), {
      mcpServers: {
        presto: { url: "https://presto.mcp.example.com/mcp" },
        spark: { url: "https://spark.mcp.example.com/mcp" },
      },
    });
  });

  it("VS Code: servers with type http", () => {
    assert.deepEqual(JSON.parse(snippetForServers("vscode", servers)), {
      servers: {
        presto: { type: "http", url: "https://presto.mcp.example.com/mcp" },
        spark: { type: "http", url: "https://spark.mcp.example.com/mcp" },
      },
    });
  });

  it("mcp-remote: npx mcp-remote <url>", () => {
    assert.deepEqual(JSON.parse(snippetForServers("mcp-remote", servers.slice(0, 1))), {
      mcpServers: { presto: { command: "npx", args: ["mcp-remote", "https://presto.mcp.example.com/mcp"] } },
    });
  });

  it("knows exactly the shared clients", () => {
    for (const client of SNIPPET_CLIENTS) assert.ok(isSnippetClient(client));
    assert.equal(isSnippetClient("emacs"), false);
  });
});
