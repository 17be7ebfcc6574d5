/**
 * A handler asking the client through a real third-party bridge: `mcp-remote` 0.15.1 in front of
 * the conformance fixture (workers/test), handed a bearer token. In its default era the local
 * client's session is a 2025 session and the asks are pushed through; with `--protocol auto` it
 * speaks 2026-07-28 and turns each `input_required` round into pushed elicitation, sampling and
 * roots requests to the local client (the SDK v2 client over stdio), then retries.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Client } from "@modelcontextprotocol/client";
import { StdioClientTransport } from "@modelcontextprotocol/client/stdio";
import { afterAll, describe, expect, it } from "vitest";
import { fleetServer } from "./fleet";
import { userToken } from "./identities";

const server = fleetServer("test").url;
/** mcp-remote's OAuth callback port (unused with --header, but required): clear of third-party.e2e's. */
const CALLBACK_PORT_BASE = Number(process.env.FLEET_E2E_PORT_BASE ?? 18787) + 660;
const MODERN_LOG = "Remote server speaks MCP 2026-07-28";
const configDirs: string[] = [];
afterAll(() => {
  for (const dir of configDirs) rmSync(dir, { recursive: true, force: true });
});

function startMcpRemote(era: "default" | "auto", token: string, callbackPort: number) {
  const proxy = createRequire(import.meta.url).resolve("mcp-remote/dist/proxy.js");
  const configDir = mkdtempSync(join(tmpdir(), "mcp-remote-asks-"));
  configDirs.push(configDir);
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [
      proxy,
      `${server}/mcp`,
      String(callbackPort),
      "--allow-http",
      "--transport",
      "http-only",
      "--header",
      `Authorization: Bearer ${token}`,
      ...(era === "auto" ? ["--protocol", "auto"] : []),
    ],
    env: { ...process.env, MCP_REMOTE_CONFIG_DIR: configDir, BROWSER: "true", DISPLAY: "" } as Record<string, string>,
    stderr: "pipe",
  });
  const state = { log: "" };
  transport.stderr?.on("data", (chunk: Buffer) => {
    state.log += chunk.toString();
  });
  return { transport, state };
}

/** The local side: a 2025 client declaring elicitation, sampling and roots, answering each. */
function localClient(asked: string[]): Client {
  const client = new Client(
    { name: "asks-via-mcp-remote", version: "1.0.0" },
    { capabilities: { elicitation: {}, sampling: {}, roots: {} } },
  );
  client.setRequestHandler("elicitation/create", async (request) => {
    asked.push(request.params.message);
    return { action: "accept", content: { name: "Alice", color: "teal" } };
  });
  client.setRequestHandler("sampling/createMessage", async () => {
    asked.push("sampling");
    return { role: "assistant", content: { type: "text", text: "Hi" }, model: "local", stopReason: "endTurn" };
  });
  client.setRequestHandler("roots/list", async () => {
    asked.push("roots");
    return { roots: [{ uri: "file:///home/alice" }, { uri: "file:///srv" }] };
  });
  return client;
}

describe("mcp-remote 0.15.1 answering a handler's asks", () => {
  for (const [index, era] of (["default", "auto"] as const).entries()) {
    it(`${era === "auto" ? "--protocol auto (input_required → pushed requests)" : "its default (a 2025 session)"}: several asks, two rounds`, async () => {
      const token = await userToken("alice", new URL(server).origin, "test:read");
      const { transport, state } = startMcpRemote(era, token, CALLBACK_PORT_BASE + index);
      const asked: string[] = [];
      const client = localClient(asked);
      await client.connect(transport);
      try {
        if (era === "auto") expect(state.log).toContain(MODERN_LOG);
        else expect(state.log).not.toContain(MODERN_LOG);
        const all = await client.callTool({ name: "test_input_required_result_multiple_inputs", arguments: {} });
        expect(JSON.stringify(all.content)).toContain("Hi Alice; 2 root(s)");
        expect([...asked].sort()).toEqual(["What is your name?", "roots", "sampling"]);
        const rounds = await client.callTool({ name: "test_input_required_result_multi_round", arguments: {} });
        expect(JSON.stringify(rounds.content)).toContain("Alice likes teal");
      } finally {
        await client.close();
      }
    }, 60_000);
  }
});
