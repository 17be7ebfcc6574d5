/**
 * A handler asking the client on 2026-07-28 (shared/mcp/ask.modern.ts): input_required rounds with
 * a signed requestState, the handler re-run with the answers keyed by its asks; several asks in a
 * round, several rounds; replayed, tampered, expired, another caller's or another call's state
 * refused; a missing or off-form answer asked again; an undeclared capability refused with -32021.
 */
import { env, runDurableObjectAlarm } from "cloudflare:test";
import {
  Client,
  type ClientCapabilities,
  type ElicitResult,
  StreamableHTTPClientTransport,
} from "@modelcontextprotocol/client";
import { CfWorkerJsonSchemaValidator } from "@modelcontextprotocol/client/validators/cf-worker";
import { createRequestStateCodec } from "@modelcontextprotocol/server";
import { describe, expect, it } from "vitest";
import { identityOf } from "../../shared/mcp/approval.modern";
import type { AskState } from "../../shared/mcp/ask.modern";
import { digestArguments } from "../../shared/mcp/tool.invoke";
import {
  bearer,
  callerObjectOf,
  postRpc,
  subjectOf,
  textOf,
  userIdOf,
  workerFetch,
} from "../../test/workers/mcp-client";

const MODERN = "2026-07-28";
const USER = (name: string) => `${name}; scopes=test:read`;
const ALL: ClientCapabilities = { elicitation: {}, sampling: {}, roots: {} };
const callers = env.CALLERS as DurableObjectNamespace;

async function modernClient(name: string, elicit: () => ElicitResult) {
  const transport = new StreamableHTTPClientTransport(new URL("http://localhost/mcp"), {
    fetch: workerFetch,
    requestInit: { headers: { authorization: bearer(USER(name)) } },
  });
  const client = new Client(
    { name: "ask-modern", version: "1.0.0" },
    {
      capabilities: { elicitation: { form: {} }, sampling: {}, roots: {} },
      jsonSchemaValidator: new CfWorkerJsonSchemaValidator(),
      versionNegotiation: { mode: { pin: MODERN } },
    },
  );
  client.setRequestHandler("elicitation/create", async () => elicit());
  client.setRequestHandler("sampling/createMessage", async () => ({
    role: "assistant",
    content: { type: "text", text: "Paris" },
    model: "fake",
    stopReason: "endTurn",
  }));
  client.setRequestHandler("roots/list", async () => ({ roots: [{ uri: "file:///work" }] }));
  await client.connect(transport);
  return client;
}

type Answer = {
  status: number;
  result?: Record<string, unknown> & { requestState?: string; inputRequests?: Record<string, { method: string }> };
  error?: { code: number; message: string; data?: Record<string, unknown> };
};

async function call(
  name: string,
  tool: string,
  args: Record<string, unknown>,
  extra: Record<string, unknown> = {},
  capabilities: ClientCapabilities = ALL,
): Promise<Answer> {
  const response = await postRpc(
    {
      jsonrpc: "2.0",
      id: crypto.randomUUID(),
      method: "tools/call",
      params: {
        name: tool,
        arguments: args,
        ...extra,
        _meta: {
          "io.modelcontextprotocol/protocolVersion": MODERN,
          "io.modelcontextprotocol/clientCapabilities": capabilities,
          "io.modelcontextprotocol/clientInfo": { name: "raw", version: "1" },
        },
      },
    },
    { "mcp-protocol-version": MODERN, "mcp-method": "tools/call", "mcp-name": tool, authorization: bearer(USER(name)) },
  );
  const text = await response.text();
  const data = text.startsWith("{") ? text : ([...text.matchAll(/^data: (.*)$/gm)].at(-1)?.[1] ?? "{}");
  return { status: response.status, ...(JSON.parse(data) as Omit<Answer, "status">) };
}

async function recorded(name: string) {
  await runDurableObjectAlarm(callers.get(callers.idFromName(callerObjectOf("test", name))));
  const { results } = await env.DB.prepare(
    "SELECT tool_name, outcome, error_class FROM invocations WHERE caller_id = ? ORDER BY started_at",
  )
    .bind(userIdOf(name))
    .all();
  return results;
}

const accepted = (content: Record<string, unknown>) => ({ action: "accept", content });
const ASKED = { message: "Who are you?" };

describe("a handler asking the client on 2026-07-28", () => {
  it("runs through the SDK client's rounds: answers accepted, declined, cancelled; several asks; several rounds", async () => {
    for (const [name, answer, expected] of [
      ["ada", accepted({ username: "ada", email: "a@x", name: "Ada", color: "blue" }), "action=accept"],
      ["bea", { action: "decline" }, "action=decline"],
      ["cyd", { action: "cancel" }, "action=cancel"],
    ] as const) {
      const client = await modernClient(name, () => answer as ElicitResult);
      const result = await client.callTool({ name: "test_elicitation", arguments: ASKED });
      expect(textOf(result)).toContain(`User response: ${expected}`);
      if (name === "ada") {
        const all = await client.callTool({ name: "test_input_required_result_multiple_inputs", arguments: {} });
        expect(textOf(all)).toBe("Paris Ada; 1 root(s)");
        const rounds = await client.callTool({ name: "test_input_required_result_multi_round", arguments: {} });
        expect(textOf(rounds)).toBe("Ada likes blue");
      }
      await client.close();
    }
    // Only complete calls are invocations; the rounds before them are not.
    expect(await recorded("ada")).toHaveLength(3);
  });

  it("asks in one round what the handler asked together, and the next question in the next round", async () => {
    const first = await call("dee", "test_input_required_result_multiple_inputs", {});
    expect(first.result?.resultType).toBe("input_required");
    const requests = first.result?.inputRequests ?? {};
    expect(Object.fromEntries(Object.entries(requests).map(([key, ask]) => [key, ask.method]))).toEqual({
      user_name: "elicitation/create",
      greeting: "sampling/createMessage",
      client_roots: "roots/list",
    });
    // Two of three answered: the third is asked again, alone, with a fresh state.
    const partial = await call(
      "dee",
      "test_input_required_result_multiple_inputs",
      {},
      {
        requestState: first.result?.requestState,
        inputResponses: {
          user_name: accepted({ name: "Dee" }),
          greeting: { role: "assistant", content: { type: "text", text: "Hi" }, model: "m" },
        },
      },
    );
    expect(Object.keys(partial.result?.inputRequests ?? {})).toEqual(["client_roots"]);
    expect(partial.result?.requestState).not.toBe(first.result?.requestState);
    const done = await call(
      "dee",
      "test_input_required_result_multiple_inputs",
      {},
      { requestState: partial.result?.requestState, inputResponses: { client_roots: { roots: [] } } },
    );
    expect(textOf(done.result)).toBe("Hi Dee; 0 root(s)");
  });

  it("asks again for a missing, off-form or stateless answer; nothing else counts as one", async () => {
    const first = await call("eve", "test_input_required_result_elicitation", {});
    const requestState = first.result?.requestState;
    expect(Object.keys(first.result?.inputRequests ?? {})).toEqual(["user_name"]);
    for (const inputResponses of [
      { wrong_key: accepted({ name: "Eve" }) },
      { user_name: accepted({ nom: "Eve" }) }, // the form requires "name"
      { user_name: 12345 },
    ]) {
      const { result } = await call(
        "eve",
        "test_input_required_result_elicitation",
        {},
        {
          requestState: (await call("eve", "test_input_required_result_elicitation", {})).result?.requestState,
          inputResponses,
        },
      );
      expect(result?.resultType).toBe("input_required");
      expect(Object.keys(result?.inputRequests ?? {})).toEqual(["user_name"]);
    }
    const stateless = await call(
      "eve",
      "test_input_required_result_elicitation",
      {},
      {
        inputResponses: { user_name: accepted({ name: "Eve" }) },
      },
    );
    expect(stateless.result?.resultType).toBe("input_required");
    const answered = await call(
      "eve",
      "test_input_required_result_elicitation",
      {},
      {
        requestState,
        inputResponses: { user_name: accepted({ name: "Eve" }), extra: accepted({}) },
      },
    );
    expect(textOf(answered.result)).toBe("Hello, Eve!");
  });

  it("refuses replayed, tampered, another caller's, changed-argument and expired state; nothing runs twice", async () => {
    const first = await call("fox", "test_elicitation", ASKED);
    const requestState = first.result?.requestState as string;
    expect(requestState).toMatch(/^v1\./);
    const inputResponses = { "elicitation-0": accepted({ username: "fox", email: "f@x" }) };

    const changed = await call("fox", "test_elicitation", { message: "Other?" }, { requestState, inputResponses });
    expect(changed.result?.isError).toBe(true);
    expect(textOf(changed.result)).toContain("the arguments changed since the client was asked");
    expect((await call("gil", "test_elicitation", ASKED, { requestState, inputResponses })).error?.code).toBe(-32602);
    const tampered = await call("fox", "test_elicitation", ASKED, { requestState: `${requestState}x`, inputResponses });
    expect(tampered.error?.code).toBe(-32602);

    const answered = await call("fox", "test_elicitation", ASKED, { requestState, inputResponses });
    expect(textOf(answered.result)).toBe('User response: action=accept, content={"username":"fox","email":"f@x"}');
    const replay = await call("fox", "test_elicitation", ASKED, { requestState, inputResponses });
    expect(replay.result?.isError).toBe(true);
    expect(textOf(replay.result)).toContain("this request state was already used");
    expect((await recorded("fox")).map((row) => row.outcome)).toEqual(["error", "ok", "error"]);

    // Validly signed but minted for something else, or already expired: refused.
    const caller = { kind: "user", subject: subjectOf("fox") };
    const mint = async (payload: object, ttlSeconds = 300) =>
      createRequestStateCodec<object>({
        key: env.APPROVAL_STATE_KEY as string,
        ttlSeconds,
        bind: (ctx) => identityOf(ctx.http?.authInfo?.extra?.caller as never),
      }).mint(payload, { http: { authInfo: { extra: { caller } } } } as never);
    const state: AskState = {
      kind: "ask",
      caller: identityOf(caller as never),
      server: "test",
      tool: "test_elicitation",
      argsDigest: digestArguments(ASKED),
      nonce: crypto.randomUUID(),
      answers: {},
      pending: {},
    };
    const expired = await call("fox", "test_elicitation", ASKED, {
      requestState: await mint(state, -1),
      inputResponses,
    });
    expect(expired.error?.code).toBe(-32602);
    for (const other of [
      { ...state, tool: "test_sampling" },
      { ...state, kind: undefined },
    ]) {
      const refused = await call("fox", "test_elicitation", ASKED, { requestState: await mint(other), inputResponses });
      expect(textOf(refused.result)).toContain("the request state was given for another call");
    }
  });

  it("refuses an ask the client did not declare with -32021 (HTTP 400), and asks only what it declared", async () => {
    const refused = await call("hal", "test_missing_capability", {}, {}, {});
    expect(refused.status).toBe(400);
    expect(refused.error?.code).toBe(-32021);
    expect(refused.error?.data?.requiredCapabilities).toEqual({ sampling: {} });
    expect(await recorded("hal")).toEqual([
      { tool_name: "test_missing_capability", outcome: "error", error_class: "denied" },
    ]);
    const fitted = await call("hal", "test_input_required_result_capabilities", {}, {}, { sampling: {} });
    expect(Object.values(fitted.result?.inputRequests ?? {}).map((ask) => ask.method)).toEqual([
      "sampling/createMessage",
    ]);
  });

  it("asks for a link to be opened (URL mode) only of a client that declared it", async () => {
    const args = { url: "https://sso.example.com/start" };
    const both = { elicitation: { form: {}, url: {} } };
    const first = await call("ivy", "test_url_elicitation", args, {}, both);
    const ask = first.result?.inputRequests?.sign_in as unknown as { method: string; params: Record<string, unknown> };
    expect(ask.method).toBe("elicitation/create");
    expect(ask.params).toMatchObject({ mode: "url", url: args.url, message: "Please sign in to continue" });
    expect(ask.params.elicitationId).toBeUndefined(); // 2026-07-28 correlates through requestState
    const done = await call(
      "ivy",
      "test_url_elicitation",
      args,
      {
        requestState: first.result?.requestState,
        inputResponses: { sign_in: { action: "accept" } },
      },
      both,
    );
    expect(textOf(done.result)).toBe("Link answered: accept");
    const formOnly = await call("ivy", "test_url_elicitation", args, {}, { elicitation: {} });
    expect(formOnly.error?.code).toBe(-32021);
    expect(formOnly.error?.data?.requiredCapabilities).toEqual({ elicitation: { url: {} } });
  });
});
