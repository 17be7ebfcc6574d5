/**
 * A handler asking the client (ctx.elicit, ctx.sample, ctx.listRoots), end to end: the SDK v2
 * client against the running fleet's conformance fixture (workers/test), with a real token, pinned
 * to 2026-07-28 (input_required rounds the SDK answers through the client's handlers), in `auto`
 * mode (modern too) and in legacy mode (a 2025 session: the requests are pushed). The same handler
 * serves all three.
 */
import { Client, StreamableHTTPClientTransport, type VersionNegotiationMode } from "@modelcontextprotocol/client";
import { describe, expect, it } from "vitest";
import { fleetServer } from "./fleet";
import { bearer, userToken } from "./identities";

const MODERN = "2026-07-28";
type Result = { isError?: boolean; content?: { text?: string }[] };
const textOf = (result: unknown) => ((result as Result).content ?? []).map((part) => part.text ?? "").join("");

async function connect(mode: VersionNegotiationMode, asked: string[]) {
  const server = fleetServer("test").url;
  const token = await userToken("alice", new URL(server).origin, "test:read");
  const client = new Client(
    { name: "asks-e2e", version: "1" },
    { capabilities: { elicitation: { form: {} }, sampling: {}, roots: {} }, versionNegotiation: { mode } },
  );
  client.setRequestHandler("elicitation/create", async (request) => {
    asked.push(request.params.message);
    return { action: "accept", content: { name: "Alice", color: "green" } };
  });
  client.setRequestHandler("sampling/createMessage", async () => {
    asked.push("sampling");
    return { role: "assistant", content: { type: "text", text: "Hello" }, model: "local", stopReason: "endTurn" };
  });
  client.setRequestHandler("roots/list", async () => {
    asked.push("roots");
    return { roots: [{ uri: "file:///home/alice" }] };
  });
  await client.connect(
    new StreamableHTTPClientTransport(new URL(`${server}/mcp`), { requestInit: { headers: bearer(token) } }),
  );
  return client;
}

const MODES: [string, VersionNegotiationMode, string][] = [
  [`pinned to ${MODERN}`, { pin: MODERN }, MODERN],
  ["in auto mode", "auto", MODERN],
  ["in legacy mode", "legacy", "2025-11-25"],
];

describe("a handler asking the client, through the SDK v2 client", () => {
  for (const [label, mode, version] of MODES) {
    it(`${label}: several asks in one call, then a call of two rounds`, async () => {
      const asked: string[] = [];
      const client = await connect(mode, asked);
      try {
        expect(client.getNegotiatedProtocolVersion()).toBe(version);
        const all = await client.callTool({ name: "test_input_required_result_multiple_inputs", arguments: {} });
        expect(textOf(all)).toBe("Hello Alice; 1 root(s)");
        expect([...asked].sort()).toEqual(["What is your name?", "roots", "sampling"]);
        const rounds = await client.callTool({ name: "test_input_required_result_multi_round", arguments: {} });
        expect(textOf(rounds)).toBe("Alice likes green");
        expect(asked.slice(3)).toEqual(["Step 1: What is your name?", "Step 2: What is your favorite color?"]);
      } finally {
        await client.close();
      }
    });
  }
});
