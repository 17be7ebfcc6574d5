/**
 * A real third-party client: `mcp-remote` (the stdio ↔ remote bridge many desktop clients use)
 * connects to the Presto server through the whole OAuth flow — discovery, dynamic registration,
 * PKCE, consent, SSO — with the browser step driven by the test, then lists and calls tools.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { afterAll, expect, it } from "vitest";
import { approveInBrowser } from "../../local/oauth.client.ts";
import { fleetServer } from "./fleet";

const server = fleetServer("presto").url;
const CALLBACK_PORT = 33419;
const configDir = mkdtempSync(join(tmpdir(), "mcp-remote-"));
afterAll(() => rmSync(configDir, { recursive: true, force: true }));

it("mcp-remote signs in as alice through OAuth and calls a Presto tool", async () => {
  const proxy = createRequire(import.meta.url).resolve("mcp-remote/dist/proxy.js");
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [proxy, `${server}/mcp`, String(CALLBACK_PORT), "--allow-http", "--transport", "http-only"],
    env: { ...process.env, MCP_REMOTE_CONFIG_DIR: configDir, BROWSER: "true", DISPLAY: "" } as Record<string, string>,
    stderr: "pipe",
  });
  let log = "";
  const authorizationUrl = new Promise<string>((resolve) => {
    transport.stderr?.on("data", (chunk: Buffer) => {
      log += chunk.toString();
      const match = /Please authorize this client by visiting:\s*(\S+)/.exec(log);
      if (match?.[1]) resolve(match[1]);
    });
  });
  const client = new Client({ name: "via-mcp-remote", version: "1.0.0" });
  const connected = client.connect(transport);

  const url = await authorizationUrl;
  const redirectUri = `http://127.0.0.1:${CALLBACK_PORT}/oauth/callback`;
  const back = await approveInBrowser(
    url,
    { username: "alice" },
    { redirectUri: new URL(url).searchParams.get("redirect_uri") ?? redirectUri },
  );
  expect(back.searchParams.get("code")).toBeTruthy();
  await fetch(back); // the browser lands on mcp-remote's callback, handing it the code
  await connected;

  const names = (await client.listTools()).tools.map((tool) => tool.name);
  expect(names).toContain("presto_run_query");
  const result = await client.callTool({ name: "presto_list_schemas", arguments: { catalog: "hive" } });
  expect(JSON.stringify(result.content)).toContain("sales");
  await client.close();
}, 60_000);
