import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { clientSnippet, mcpRemoteArgs, SNIPPET_CLIENTS } from "../../shared/registry/client.snippets.ts";

const servers = [
  { name: "presto", url: "https://presto.mcp.example.com/mcp" },
  { name: "spark", url: "https://spark.mcp.example.com/mcp" },
];

describe("client snippets", () => {
  it("Claude Code: one `claude mcp add` per server", () => {
    const snippet = clientSnippet("claude", servers);
    assert.equal(snippet.format, "shell");
    assert.equal(
      snippet.text,
      "claude mcp add --transport http presto https://presto.mcp.example.com/mcp\n" +
        "claude mcp add --transport http spark https://spark.mcp.example.com/mcp",
    );
  });

  it("Claude Code: quotes what a shell would split", () => {
    const snippet = clientSnippet("claude", [{ name: "odd name", url: "https://x.example.com/mcp?a=1&b='2'" }]);
    assert.equal(
      snippet.text,
      `claude mcp add --transport http 'odd name' 'https://x.example.com/mcp?a=1&b='\\''2'\\'''`,
    );
  });

  it("Cursor: mcpServers with url", () => {
    assert.deepEqual(JSON.parse(clientSnippet("cursor", servers).text), {
      mcpServers: {
        presto: { url: "https://presto.mcp.example.com/mcp" },
        spark: { url: "https://spark.mcp.example.com/mcp" },
      },
    });
  });

  it("VS Code: servers with type http", () => {
    assert.deepEqual(JSON.parse(clientSnippet("vscode", servers.slice(0, 1)).text), {
      servers: { presto: { type: "http", url: "https://presto.mcp.example.com/mcp" } },
    });
  });

  it("mcp-remote: npx mcp-remote <url>, --allow-http only for plain http off loopback", () => {
    assert.deepEqual(JSON.parse(clientSnippet("mcp-remote", servers.slice(0, 1)).text), {
      mcpServers: { presto: { command: "npx", args: ["mcp-remote", "https://presto.mcp.example.com/mcp"] } },
    });
    assert.deepEqual(mcpRemoteArgs("http://127.0.0.1:8788/mcp"), ["mcp-remote", "http://127.0.0.1:8788/mcp"]);
    assert.deepEqual(mcpRemoteArgs("http://mcp.internal/mcp"), [
      "mcp-remote",
      "http://mcp.internal/mcp",
      "--allow-http",
    ]);
  });

  it("every client has a snippet and says where it goes", () => {
    for (const client of SNIPPET_CLIENTS) {
      const snippet = clientSnippet(client, servers);
      assert.ok(snippet.where.length > 0);
      assert.ok(snippet.text.includes("https://presto.mcp.example.com/mcp"));
    }
  });
});
