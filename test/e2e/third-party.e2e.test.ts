/**
 * A real third-party client: `mcp-remote` 0.15.1 (the stdio ↔ remote bridge many desktop clients
 * use), in its default era (legacy: the local client's `initialize` goes straight through, a 2025
 * session) and with `--protocol auto` (it probes `server/discover`, finds 2026-07-28, answers the
 * local handshake itself and bridges every request, turning `input_required` into pushed
 * elicitation). It signs in through the whole OAuth flow — discovery, dynamic registration, PKCE,
 * consent, SSO — with the browser step driven by the test, or is handed a bearer token with
 * `--header`. The local client is the SDK v2 client over stdio.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Client, type ElicitResult } from "@modelcontextprotocol/client";
import { StdioClientTransport } from "@modelcontextprotocol/client/stdio";
import { afterAll, describe, expect, it } from "vitest";
import { approveInBrowser } from "../../local/oauth.client.ts";
import { fleetServer } from "./fleet";
import { userToken } from "./identities";

const server = fleetServer("presto").url;
/** mcp-remote's OAuth callback listens here: beside this checkout's fleet, clear of other checkouts. */
const CALLBACK_PORT_BASE = Number(process.env.FLEET_E2E_PORT_BASE ?? 18787) + 650;
const MODERN_LOG = "Remote server speaks MCP 2026-07-28";
const configDirs: string[] = [];
afterAll(() => {
  for (const dir of configDirs) rmSync(dir, { recursive: true, force: true });
});

type Era = "default" | "auto";

/** Starts mcp-remote for Presto as the local client's stdio server. */
function startMcpRemote(era: Era, extra: string[], callbackPort: number) {
  const proxy = createRequire(import.meta.url).resolve("mcp-remote/dist/proxy.js");
  const configDir = mkdtempSync(join(tmpdir(), "mcp-remote-"));
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
      ...(era === "auto" ? ["--protocol", "auto"] : []),
      ...extra,
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

function localClient(answer?: (message: string) => ElicitResult): Client {
  // The local side is what a desktop host is today: a 2025 client (legacy mode), elicitation declared.
  const client = new Client({ name: "via-mcp-remote", version: "1.0.0" }, { capabilities: { elicitation: {} } });
  if (answer) client.setRequestHandler("elicitation/create", async (request) => answer(request.params.message));
  return client;
}

describe("mcp-remote 0.15.1 through OAuth", () => {
  for (const [index, era] of (["default", "auto"] as const).entries()) {
    it(`${era === "auto" ? "--protocol auto" : "its default (legacy)"}: signs in as alice and calls a Presto tool`, async () => {
      const callbackPort = CALLBACK_PORT_BASE + index;
      const { transport, state } = startMcpRemote(era, [], callbackPort);
      const authorizationUrl = new Promise<string>((resolve) => {
        transport.stderr?.on("data", () => {
          const match = /Please authorize this client by visiting:\s*(\S+)/.exec(state.log);
          if (match?.[1]) resolve(match[1]);
        });
      });
      const client = localClient();
      const connected = client.connect(transport);

      const url = await authorizationUrl;
      const redirectUri = `http://127.0.0.1:${callbackPort}/oauth/callback`;
      const back = await approveInBrowser(
        url,
        { username: "alice" },
        { redirectUri: new URL(url).searchParams.get("redirect_uri") ?? redirectUri },
      );
      expect(back.searchParams.get("code")).toBeTruthy();
      await fetch(back); // the browser lands on mcp-remote's callback, handing it the code
      await connected;
      try {
        const names = (await client.listTools()).tools.map((tool) => tool.name);
        expect(names).toContain("presto_run_query");
        const result = await client.callTool({ name: "presto_list_schemas", arguments: { catalog: "hive" } });
        expect(JSON.stringify(result.content)).toContain("sales");
        if (era === "auto") expect(state.log).toContain(MODERN_LOG);
        else expect(state.log).not.toContain(MODERN_LOG);
      } finally {
        await client.close();
      }
    }, 60_000);
  }
});

describe("mcp-remote 0.15.1 with a bearer token (--header), an approval in each era", () => {
  const queryId = "20241126_000000_00000_nosuch";
  const kill = { name: "presto_kill_query", arguments: { queryId } };

  for (const [index, era] of (["default", "auto"] as const).entries()) {
    it(`${era === "auto" ? "--protocol auto (input_required → pushed elicitation)" : "its default (pushed over the 2025 session)"}: accepted runs, declined does not`, async () => {
      const token = await userToken("alice", server, "presto:read presto:write");
      const { transport, state } = startMcpRemote(
        era,
        ["--header", `Authorization: Bearer ${token}`],
        CALLBACK_PORT_BASE + 2 + index,
      );
      const asked: string[] = [];
      let decision: ElicitResult = { action: "accept", content: { approve: true } };
      const client = localClient((message) => {
        asked.push(message);
        return decision;
      });
      await client.connect(transport);
      try {
        if (era === "auto") expect(state.log).toContain(MODERN_LOG);
        else expect(state.log).not.toContain(MODERN_LOG);
        const accepted = await client.callTool(kill);
        expect(asked).toHaveLength(1);
        expect(asked[0]).toMatch(new RegExp(`^Kill Presto query ${queryId}\\?`));
        expect(JSON.stringify(accepted.content)).not.toContain("Not approved");
        expect(JSON.stringify(accepted.content)).toContain(queryId);

        decision = { action: "decline" };
        const declined = await client.callTool(kill);
        expect(asked).toHaveLength(2);
        expect(declined.isError).toBe(true);
        expect(JSON.stringify(declined.content)).toContain("Not approved");
      } finally {
        await client.close();
      }
    }, 60_000);
  }
});
