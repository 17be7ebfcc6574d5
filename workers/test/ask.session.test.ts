/**
 * A handler asking the client in a 2025 session and on 2024 SSE (shared/mcp/ask.session.ts): the
 * request is pushed over the session and the handler gets the answer; a client that did not
 * declare the capability gets a clear tool error. And a session whose client set a log level hears
 * its calls' ctx.log messages (filtered by that level).
 */
import {
  Client,
  type ClientCapabilities,
  type ElicitResult,
  StreamableHTTPClientTransport,
} from "@modelcontextprotocol/client";
import { CfWorkerJsonSchemaValidator } from "@modelcontextprotocol/client/validators/cf-worker";
import { describe, expect, it } from "vitest";
import { openLegacySession } from "../../test/workers/legacy-sse.client";
import { bearer, textOf, workerFetch } from "../../test/workers/mcp-client";

const USER = (name: string) => `${name}; scopes=test:read`;
const ALL: ClientCapabilities = { elicitation: { form: {} }, sampling: {}, roots: {} };

async function sessionClient(name: string, capabilities: ClientCapabilities, elicit?: () => ElicitResult) {
  const transport = new StreamableHTTPClientTransport(new URL("http://localhost/mcp"), {
    fetch: workerFetch,
    requestInit: { headers: { authorization: bearer(USER(name)) } },
  });
  const client = new Client(
    { name: "ask-session", version: "1.0.0" },
    { capabilities, jsonSchemaValidator: new CfWorkerJsonSchemaValidator() },
  );
  const asked: string[] = [];
  if (capabilities.elicitation) {
    client.setRequestHandler("elicitation/create", async (request) => {
      asked.push(`elicit: ${request.params.message}`);
      return (
        elicit?.() ?? {
          action: "accept",
          content: { username: "ada", email: "ada@example.com", name: "Ada", color: "blue" },
        }
      );
    });
  }
  if (capabilities.sampling) {
    client.setRequestHandler("sampling/createMessage", async (request) => {
      const first = request.params.messages[0]?.content as { text?: string };
      asked.push(`sample: ${first.text}`);
      return { role: "assistant", content: { type: "text", text: "Paris" }, model: "fake", stopReason: "endTurn" };
    });
  }
  if (capabilities.roots) {
    client.setRequestHandler("roots/list", async () => {
      asked.push("roots");
      return { roots: [{ uri: "file:///work", name: "work" }] };
    });
  }
  const logs: string[] = [];
  client.setNotificationHandler("notifications/message", async (notification) => {
    logs.push(`${notification.params.level}: ${String(notification.params.data)}`);
  });
  await client.connect(transport);
  return { client, asked, logs };
}

describe("a handler asking the client in a 2025 session", () => {
  it("pushes a form and returns what the human answered: accepted, declined, cancelled", async () => {
    for (const [name, answer, expected] of [
      [
        "ada",
        { action: "accept", content: { username: "ada", email: "a@x" } },
        'action=accept, content={"username":"ada","email":"a@x"}',
      ],
      ["bea", { action: "decline" }, "action=decline, content={}"],
      ["cyd", { action: "cancel" }, "action=cancel, content={}"],
    ] as const) {
      const { client, asked } = await sessionClient(name, ALL, () => answer as ElicitResult);
      const result = await client.callTool({ name: "test_elicitation", arguments: { message: "Who are you?" } });
      expect(textOf(result)).toBe(`User response: ${expected}`);
      expect(asked).toEqual(["elicit: Who are you?"]);
      await client.close();
    }
  });

  it("samples the client's model and lists its roots, several asks in one call", async () => {
    const { client, asked } = await sessionClient("dee", ALL);
    const sampled = await client.callTool({ name: "test_sampling", arguments: { prompt: "Capital of France?" } });
    expect(textOf(sampled)).toBe("LLM response: Paris");
    const roots = await client.callTool({ name: "test_input_required_result_list_roots", arguments: {} });
    expect(textOf(roots)).toBe("Roots: file:///work");
    const all = await client.callTool({ name: "test_input_required_result_multiple_inputs", arguments: {} });
    expect(textOf(all)).toBe("Paris Ada; 1 root(s)");
    const rounds = await client.callTool({ name: "test_input_required_result_multi_round", arguments: {} });
    expect(textOf(rounds)).toBe("Ada likes blue");
    expect(asked.slice(0, 2)).toEqual(["sample: Capital of France?", "roots"]);
    expect(asked.filter((entry) => entry.startsWith("elicit: Step"))).toEqual([
      "elicit: Step 1: What is your name?",
      "elicit: Step 2: What is your favorite color?",
    ]);
    await client.close();
  });

  it("refuses, naming what is missing, an ask the client did not declare; asks only what it declared", async () => {
    const { client, asked } = await sessionClient("eve", { elicitation: { form: {} } });
    const refused = await client.callTool({ name: "test_missing_capability", arguments: {} });
    expect(refused.isError).toBe(true);
    expect(textOf(refused)).toContain("the tool asks it for sampling (a model completion), which it did not declare");
    const fitted = await client.callTool({ name: "test_input_required_result_capabilities", arguments: {} });
    expect(textOf(fitted)).toBe("Answered 1 question(s)");
    expect(asked).toEqual(["elicit: What is your name?"]);
    await client.close();
  });

  it("sends a call's logs once the client set a level, at that level and above", async () => {
    const { client, logs } = await sessionClient("fay", {});
    await client.callTool({ name: "test_tool_with_logging", arguments: {} });
    expect(logs).toEqual([]); // no level set: a plain call is answered as JSON, nothing can be sent
    await client.setLoggingLevel("info");
    await client.callTool({ name: "test_tool_with_logging", arguments: {} });
    expect(logs).toEqual([
      "info: Tool execution started",
      "info: Tool processing data",
      "info: Tool execution completed",
    ]);
    await client.setLoggingLevel("error");
    await client.callTool({ name: "test_tool_with_logging", arguments: {} });
    expect(logs).toHaveLength(3);
    await client.close();
  });
});

describe("a URL-mode ask in a 2025 session", () => {
  it("pushes the link with an elicitationId to a client that declared URL mode, refuses one that did not", async () => {
    const { client, asked } = await sessionClient("hugo", { elicitation: { form: {}, url: {} } }, () => ({
      action: "accept",
    }));
    let pushed: Record<string, unknown> = {};
    client.setRequestHandler("elicitation/create", async (request) => {
      pushed = request.params as Record<string, unknown>;
      return { action: "accept" };
    });
    const result = await client.callTool({
      name: "test_url_elicitation",
      arguments: { url: "https://sso.example.com/x" },
    });
    expect(textOf(result)).toBe("Link answered: accept");
    expect(pushed).toMatchObject({ mode: "url", url: "https://sso.example.com/x" });
    expect(pushed.elicitationId).toEqual(expect.any(String));
    expect(asked).toEqual([]);
    await client.close();

    const formOnly = await sessionClient("ines", { elicitation: { form: {} } });
    const refused = await formOnly.client.callTool({
      name: "test_url_elicitation",
      arguments: { url: "https://sso.example.com/x" },
    });
    expect(refused.isError).toBe(true);
    expect(textOf(refused)).toContain("a URL elicitation, which it did not declare");
    await formOnly.client.close();
  });
});

describe("a handler asking the client on 2024 HTTP+SSE", () => {
  it("pushes the request on the session's stream and gets the answer", async () => {
    const session = await openLegacySession(USER("gus"), { sampling: {} });
    await session.post({
      jsonrpc: "2.0",
      id: 1,
      method: "tools/call",
      params: { name: "test_sampling", arguments: { prompt: "Hello?" } },
    });
    const request = JSON.parse(await session.next("message")) as { id: number; method: string; params: unknown };
    expect(request.method).toBe("sampling/createMessage");
    await session.post({
      jsonrpc: "2.0",
      id: request.id,
      result: { role: "assistant", content: { type: "text", text: "Hi" }, model: "fake", stopReason: "endTurn" },
    });
    const answer = JSON.parse(await session.next("message")) as { id: number; result: unknown };
    expect(answer.id).toBe(1);
    expect(textOf(answer.result)).toBe("LLM response: Hi");
    await session.close();
  });
});
