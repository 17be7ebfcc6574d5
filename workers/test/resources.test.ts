/**
 * Resources, resource templates, prompts and completion (shared/mcp/resource.serve.ts) on the
 * fixture server, in both eras: lists with the caller's view (hidden by group, scope, services)
 * and the 2026-07-28 cache hints; reads and gets; an unknown URI (-32602, data.uri), a refused one
 * (audited), bad arguments naming the argument, a failing handler; 2025 subscriptions (bounded in
 * count and URI length; storage written before the session's set);
 * a prompt asking the client (input_required rounds on 2026-07-28, pushed in a 2025 session and on
 * 2024 SSE).
 */
import { env, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import {
  Client,
  type ClientCapabilities,
  ProtocolError,
  StreamableHTTPClientTransport,
} from "@modelcontextprotocol/client";
import { CfWorkerJsonSchemaValidator } from "@modelcontextprotocol/client/validators/cf-worker";
import { describe, expect, it } from "vitest";
import { MAX_SUBSCRIPTION_URI_CHARS, MAX_SUBSCRIPTIONS } from "../../shared/mcp/session";
import { openLegacySession } from "../../test/workers/legacy-sse.client";
import { bearer, callerObjectOf, userIdOf, workerFetch } from "../../test/workers/mcp-client";
import { modernRpc } from "../../test/workers/modern-rpc";

const USER = (name: string, extra = "") => `${name}; scopes=test:read${extra}`;
const BOT = "service:etl-bot; scopes=test:read";
const callers = env.CALLERS as DurableObjectNamespace;
const sessions = env.SESSIONS as DurableObjectNamespace;

type Answer = {
  status: number;
  result?: Record<string, unknown> & {
    requestState?: string;
    inputRequests?: Record<string, { method: string; params: Record<string, unknown> }>;
  };
  error?: { code: number; message: string; data?: Record<string, unknown> };
};

/** One raw 2026-07-28 request (the envelope in `_meta`), from a client declaring form elicitation. */
const modern = (
  user: string,
  method: string,
  params: Record<string, unknown> = {},
  capabilities: ClientCapabilities = { elicitation: {} },
) => modernRpc(user, method, params, capabilities) as Promise<Answer>;

/** A 2025-11-25 session with the SDK client; `elicit` answers elicitations (absent: none declared). */
async function session(user: string, elicit?: (message: string) => Record<string, unknown>) {
  const transport = new StreamableHTTPClientTransport(new URL("http://localhost/mcp"), {
    fetch: workerFetch,
    requestInit: { headers: { authorization: bearer(user) } },
  });
  const client = new Client(
    { name: "resources-test", version: "1.0.0" },
    {
      capabilities: elicit ? { elicitation: { form: {} } } : {},
      jsonSchemaValidator: new CfWorkerJsonSchemaValidator(),
    },
  );
  if (elicit) {
    client.setRequestHandler("elicitation/create", async (request) => ({
      action: "accept",
      content: elicit(request.params.message) as Record<string, string>,
    }));
  }
  await client.connect(transport);
  return client;
}

async function refusal(promise: Promise<unknown>): Promise<ProtocolError> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(ProtocolError);
  return error as ProtocolError;
}

async function audited(name: string, action: string) {
  await runDurableObjectAlarm(callers.get(callers.idFromName(callerObjectOf("test", name))));
  const { results } = await env.DB.prepare(
    "SELECT action, decision, reason FROM audit_events WHERE caller_id = ? AND action LIKE ? ORDER BY at",
  )
    .bind(userIdOf(name), `${action}%`)
    .all();
  return results;
}

const names = (items: unknown) => (items as { name: string }[]).map((item) => item.name);

describe("resources and prompts on 2026-07-28", () => {
  it("advertises resources (no subscribe), prompts and completions", async () => {
    const discover = await modern(USER("dora"), "server/discover");
    expect(discover.result?.capabilities).toMatchObject({
      resources: { listChanged: false },
      prompts: { listChanged: false },
      completions: {},
    });
    const capabilities = discover.result?.capabilities as { resources?: object } | undefined;
    expect(capabilities?.resources).not.toHaveProperty("subscribe");
  });

  it("lists what the caller may read, with cache hints; hides the rest by group and services", async () => {
    const list = await modern(USER("lena"), "resources/list");
    expect(list.result).toMatchObject({ cacheScope: "private", ttlMs: 0 });
    expect(names(list.result?.resources)).toEqual([
      "static-text",
      "static-binary",
      "watched-resource",
      "broken",
      "caller",
    ]);
    const finance = await modern(`${USER("fin")}; groups=finance`, "resources/list");
    expect(names(finance.result?.resources)).toContain("finance-only");
    const bot = await modern(BOT, "resources/list");
    expect(names(bot.result?.resources)).toEqual(["broken", "caller"]);
    const templates = await modern(USER("lena"), "resources/templates/list");
    expect(templates.result).toMatchObject({
      cacheScope: "private",
      resourceTemplates: [{ uriTemplate: "test://template/{id}/data", name: "template-data" }],
    });
  });

  it("reads text, binary and template resources, with cache hints", async () => {
    const text = await modern(USER("rea"), "resources/read", { uri: "test://static-text" });
    expect(text.result).toMatchObject({
      cacheScope: "private",
      contents: [
        { uri: "test://static-text", mimeType: "text/plain", text: "This is the content of the static text resource." },
      ],
    });
    const binary = await modern(USER("rea"), "resources/read", { uri: "test://static-binary" });
    expect(binary.result?.contents).toMatchObject([{ mimeType: "image/png", blob: expect.any(String) }]);
    const template = await modern(USER("rea"), "resources/read", { uri: "test://template/123/data" });
    expect(template.result?.contents).toEqual([
      {
        uri: "test://template/123/data",
        mimeType: "application/json",
        text: '{"id":"123","templateTest":true,"data":"Data for ID: 123"}',
      },
    ]);
    const who = await modern(BOT, "resources/read", { uri: "test://caller" });
    expect(who.result?.contents).toMatchObject([{ text: "service:etl-bot" }]);
  });

  it("answers an unknown URI -32602 with data.uri; a bad template variable names it; a failing read gives a reference", async () => {
    const unknown = await modern(USER("una"), "resources/read", { uri: "test://nope" });
    expect(unknown.error).toMatchObject({ code: -32602, data: { uri: "test://nope" } });
    const bad = await modern(USER("una"), "resources/read", { uri: "test://template/abc/data" });
    expect(bad.error?.code).toBe(-32602);
    expect(bad.error?.message).toContain('"id": must be digits');
    const broken = await modern(USER("una"), "resources/read", { uri: "test://broken" });
    expect(broken.error?.code).toBe(-32603);
    expect(broken.error?.message).toMatch(/^Internal error in resource broken \(ref [0-9a-f]{8}\)/);
    expect(broken.error?.message).not.toContain("disk on fire");
  });

  it("refuses a resource the caller may not read (-32602, audited), and a service a users-only one", async () => {
    const denied = await modern(USER("nora"), "resources/read", { uri: "test://finance-only" });
    expect(denied.error).toMatchObject({ code: -32602, data: { uri: "test://finance-only" } });
    expect(denied.error?.message).toContain("requires membership in one of: finance");
    expect(await audited("nora", "resources/read")).toMatchObject([
      { action: "resources/read test://finance-only", decision: "denied" },
    ]);
    const bot = await modern(BOT, "resources/read", { uri: "test://static-text" });
    expect(bot.error?.message).toContain("cannot be called by services");
  });

  it("has no resources/subscribe on 2026-07-28", async () => {
    const subscribe = await modern(USER("sub"), "resources/subscribe", { uri: "test://watched-resource" });
    expect(subscribe.error?.code).toBe(-32601);
  });

  it("lists prompts by scope with cache hints, gets them, and refuses bad or unknown ones", async () => {
    const list = await modern(USER("pia"), "prompts/list");
    expect(list.result).toMatchObject({ cacheScope: "private", ttlMs: 0 });
    expect(names(list.result?.prompts)).not.toContain("test_write_prompt");
    expect(list.result?.prompts).toContainEqual({
      name: "test_prompt_with_arguments",
      description: "A prompt with two required arguments.",
      arguments: [
        { name: "arg1", description: "First test argument", required: true },
        { name: "arg2", description: "Second test argument", required: true },
      ],
    });
    const writer = await modern(USER("wes", " test:write"), "prompts/list");
    expect(names(writer.result?.prompts)).toContain("test_write_prompt");
    const got = await modern(USER("pia"), "prompts/get", {
      name: "test_prompt_with_arguments",
      arguments: { arg1: "hello", arg2: "world" },
    });
    expect(got.result?.messages).toEqual([
      { role: "user", content: { type: "text", text: "Prompt with arguments: arg1='hello', arg2='world'" } },
    ]);
    const missing = await modern(USER("pia"), "prompts/get", {
      name: "test_prompt_with_arguments",
      arguments: { arg1: "hello" },
    });
    expect(missing.error?.code).toBe(-32602);
    expect(missing.error?.message).toContain('Invalid arguments for prompt test_prompt_with_arguments: "arg2"');
    const extra = await modern(USER("pia"), "prompts/get", { name: "test_simple_prompt", arguments: { x: "1" } });
    expect(extra.error?.message).toContain('unexpected argument "x"');
    const unknown = await modern(USER("pia"), "prompts/get", { name: "test_nope" });
    expect(unknown.error).toMatchObject({ code: -32602, message: 'Unknown prompt "test_nope" on the test server' });
    const denied = await modern(USER("pia"), "prompts/get", { name: "test_write_prompt" });
    expect(denied.error?.code).toBe(-32602);
    expect(denied.error?.message).toContain("requires the scope test:write");
    expect(await audited("pia", "prompts/get")).toMatchObject([{ action: "prompts/get test_write_prompt" }]);
  });

  it("completes prompt arguments and template variables", async () => {
    const prompt = await modern(USER("cal"), "completion/complete", {
      ref: { type: "ref/prompt", name: "test_prompt_with_arguments" },
      argument: { name: "arg1", value: "te" },
    });
    expect(prompt.result?.completion).toEqual({ values: ["test", "testValue1"], total: 2, hasMore: false });
    const template = await modern(USER("cal"), "completion/complete", {
      ref: { type: "ref/resource", uri: "test://template/{id}/data" },
      argument: { name: "id", value: "12" },
    });
    expect(template.result?.completion).toMatchObject({ values: ["123", "124"] });
    const none = await modern(USER("cal"), "completion/complete", {
      ref: { type: "ref/prompt", name: "test_prompt_with_arguments" },
      argument: { name: "arg2", value: "" },
    });
    expect(none.result?.completion).toMatchObject({ values: [] });
    const unknown = await modern(USER("cal"), "completion/complete", {
      ref: { type: "ref/prompt", name: "test_nope" },
      argument: { name: "a", value: "" },
    });
    expect(unknown.error?.code).toBe(-32602);
  });

  it("asks the client from prompts/get: input_required, then the prompt with the answer; the state once only", async () => {
    const first = await modern(USER("ivy"), "prompts/get", { name: "test_input_required_result_prompt" });
    expect(first.result?.resultType).toBe("input_required");
    expect(first.result?.inputRequests?.user_context).toMatchObject({
      method: "elicitation/create",
      params: { message: "What context should the prompt use?" },
    });
    const retry = {
      name: "test_input_required_result_prompt",
      inputResponses: { user_context: { action: "accept", content: { context: "the fleet" } } },
      requestState: first.result?.requestState,
    };
    const second = await modern(USER("ivy"), "prompts/get", retry);
    expect(second.result?.messages).toEqual([
      { role: "user", content: { type: "text", text: "Use this context: the fleet" } },
    ]);
    const replay = await modern(USER("ivy"), "prompts/get", retry);
    expect(replay.error?.code).toBe(-32602);
    expect(replay.error?.message).toContain("already used");
    const other = await modern(USER("eve"), "prompts/get", retry);
    expect(other.error?.code).toBe(-32602);
  });

  it("refuses a tool call's ask state on prompts/get, and asks only clients that declared elicitation (-32021)", async () => {
    const tool = await modern(USER("tia"), "tools/call", {
      name: "test_input_required_result_elicitation",
      arguments: {},
    });
    expect(tool.result?.resultType).toBe("input_required");
    const crossed = await modern(USER("tia"), "prompts/get", {
      name: "test_input_required_result_prompt",
      inputResponses: { user_context: { action: "accept", content: { context: "x" } } },
      requestState: tool.result?.requestState,
    });
    expect(crossed.error?.code).toBe(-32602);
    expect(crossed.error?.message).toContain("another call");
    const undeclared = await modern(USER("tia"), "prompts/get", { name: "test_input_required_result_prompt" }, {});
    expect(undeclared.status).toBe(400);
    expect(undeclared.error?.code).toBe(-32021);
  });
});

describe("resources and prompts in a 2025 session", () => {
  it("lists, reads, gets and completes through the SDK client; advertises subscribe", async () => {
    const client = await session(USER("sam"));
    expect(client.getServerCapabilities()).toMatchObject({
      resources: { subscribe: true },
      prompts: {},
      completions: {},
    });
    expect(names((await client.listResources()).resources)).toEqual([
      "static-text",
      "static-binary",
      "watched-resource",
      "broken",
      "caller",
    ]);
    expect((await client.listResourceTemplates()).resourceTemplates).toHaveLength(1);
    expect((await client.readResource({ uri: "test://template/7/data" })).contents).toMatchObject([
      { text: '{"id":"7","templateTest":true,"data":"Data for ID: 7"}' },
    ]);
    expect(names((await client.listPrompts()).prompts)).not.toContain("test_write_prompt");
    const image = await client.getPrompt({ name: "test_prompt_with_image" });
    expect(image.messages[0]?.content).toMatchObject({ type: "image", mimeType: "image/png" });
    const embedded = await client.getPrompt({
      name: "test_prompt_with_embedded_resource",
      arguments: { resourceUri: "test://example-resource" },
    });
    expect(embedded.messages[0]?.content).toMatchObject({
      type: "resource",
      resource: { uri: "test://example-resource" },
    });
    const completion = await client.complete({
      ref: { type: "ref/prompt", name: "test_prompt_with_arguments" },
      argument: { name: "arg1", value: "o" },
    });
    expect(completion.completion.values).toEqual(["other"]);
    await client.close();
  });

  it("refuses unknown, hidden and malformed requests with -32602", async () => {
    const client = await session(USER("ugo"));
    const unknown = await refusal(client.readResource({ uri: "test://nope" }));
    expect(unknown.code).toBe(-32602);
    expect(unknown.data).toEqual({ uri: "test://nope" });
    const hidden = await refusal(client.readResource({ uri: "test://finance-only" }));
    expect(hidden.message).toContain("requires membership in one of: finance");
    const bad = await refusal(client.getPrompt({ name: "test_prompt_with_embedded_resource", arguments: {} }));
    expect(bad.code).toBe(-32602);
    expect(bad.message).toContain('"resourceUri"');
    await client.close();
  });

  it("accepts subscriptions to resources the caller may read (bounded), and unsubscribes", async () => {
    const client = await session(USER("sue"));
    expect(await client.subscribeResource({ uri: "test://watched-resource" })).toEqual({});
    expect(await client.subscribeResource({ uri: "test://watched-resource" })).toEqual({});
    expect(await client.unsubscribeResource({ uri: "test://watched-resource" })).toEqual({});
    expect(await client.unsubscribeResource({ uri: "test://watched-resource" })).toEqual({});
    expect((await refusal(client.subscribeResource({ uri: "test://nope" }))).data).toEqual({ uri: "test://nope" });
    expect((await refusal(client.subscribeResource({ uri: "test://finance-only" }))).code).toBe(-32602);
    for (let i = 0; i < MAX_SUBSCRIPTIONS; i++) await client.subscribeResource({ uri: `test://template/${i}/data` });
    const full = await refusal(client.subscribeResource({ uri: "test://static-text" }));
    expect(full.message).toContain(`at most ${MAX_SUBSCRIPTIONS} per session`);
    await client.unsubscribeResource({ uri: "test://template/0/data" });
    expect(await client.subscribeResource({ uri: "test://static-text" })).toEqual({});
    await client.close();
  });

  it("refuses to subscribe to a URI longer than the cap, naming the argument", async () => {
    const client = await session(USER("lou"));
    const at = (chars: number) => `test://template/${"x".repeat(chars - "test://template//data".length)}/data`;
    expect(await client.subscribeResource({ uri: at(MAX_SUBSCRIPTION_URI_CHARS) })).toEqual({});
    const long = await refusal(client.subscribeResource({ uri: at(MAX_SUBSCRIPTION_URI_CHARS + 1) }));
    expect(long.code).toBe(-32602);
    expect(long.message).toBe(
      `Invalid uri: at most ${MAX_SUBSCRIPTION_URI_CHARS} characters for a subscription (got ${MAX_SUBSCRIPTION_URI_CHARS + 1})`,
    );
    expect((long.data as { uri: string }).uri.length).toBeLessThan(300);
    // The session stored only the one within the cap.
    const sessionId = (client.transport as StreamableHTTPClientTransport).sessionId as string;
    await runInDurableObject(sessions.get(sessions.idFromString(sessionId)), (_instance, state) => {
      expect(state.storage.kv.get<string[]>("subscriptions")).toEqual([at(MAX_SUBSCRIPTION_URI_CHARS)]);
    });
    await client.close();
  });

  it("changes the subscriptions only once storage took the change", async () => {
    const client = await session(USER("ida"));
    await client.subscribeResource({ uri: "test://watched-resource" });
    const sessionId = (client.transport as StreamableHTTPClientTransport).sessionId as string;
    const stub = sessions.get(sessions.idFromString(sessionId));
    const failWrites = (fail: boolean) =>
      runInDurableObject(stub, (_instance, state) => {
        const kv = state.storage.kv as SyncKvStorage & { put: SyncKvStorage["put"] };
        if (fail) {
          const put = kv.put.bind(kv);
          Object.assign(kv, {
            restore: put,
            put: () => {
              throw new Error("injected: storage write failed");
            },
          });
        } else {
          Object.assign(kv, { put: (kv as unknown as { restore: SyncKvStorage["put"] }).restore });
        }
      });
    await failWrites(true);
    await refusal(client.subscribeResource({ uri: "test://static-text" }));
    await refusal(client.unsubscribeResource({ uri: "test://watched-resource" }));
    await failWrites(false);
    // Neither failed change happened: the session still holds exactly the one, in memory and stored.
    const updates: string[] = [];
    client.setNotificationHandler("notifications/resources/updated", async (notification) => {
      updates.push(notification.params.uri);
    });
    const touch = (uri: string) => client.callTool({ name: "test_touch_resource", arguments: { uri } });
    await touch("test://static-text");
    await touch("test://watched-resource");
    await expect.poll(() => updates, { timeout: 3000 }).toEqual(["test://watched-resource"]);
    await runInDurableObject(stub, (_instance, state) => {
      expect(state.storage.kv.get<string[]>("subscriptions")).toEqual(["test://watched-resource"]);
    });
    // And the count is right: MAX_SUBSCRIPTIONS - 1 more fit.
    for (let i = 0; i < MAX_SUBSCRIPTIONS - 1; i++)
      await client.subscribeResource({ uri: `test://template/${i}/data` });
    expect((await refusal(client.subscribeResource({ uri: "test://static-text" }))).message).toContain("at most");
    await client.close();
  });

  it("notifies a subscribed client when a tool says the resource changed, and stops after unsubscribe", async () => {
    const client = await session(USER("noa"));
    const updates: string[] = [];
    client.setNotificationHandler("notifications/resources/updated", async (notification) => {
      updates.push(notification.params.uri);
    });
    await client.subscribeResource({ uri: "test://watched-resource" });
    const touch = (uri: string) => client.callTool({ name: "test_touch_resource", arguments: { uri } });
    await touch("test://static-text"); // not subscribed: nothing is sent
    await touch("test://watched-resource");
    await expect.poll(() => updates, { timeout: 3000 }).toEqual(["test://watched-resource"]);
    await client.unsubscribeResource({ uri: "test://watched-resource" });
    await touch("test://watched-resource");
    await touch("test://static-text");
    await client.subscribeResource({ uri: "test://static-text" });
    await touch("test://static-text");
    await expect.poll(() => updates, { timeout: 3000 }).toEqual(["test://watched-resource", "test://static-text"]);
    await client.close();
  });

  it("pushes a prompt's ask to the client and gets the prompt with the answer; a client without elicitation is told", async () => {
    const asked: string[] = [];
    const client = await session(USER("pam"), (message) => {
      asked.push(message);
      return { context: "sessions" };
    });
    const prompt = await client.getPrompt({ name: "test_input_required_result_prompt" });
    expect(asked).toEqual(["What context should the prompt use?"]);
    expect(prompt.messages).toEqual([{ role: "user", content: { type: "text", text: "Use this context: sessions" } }]);
    await client.close();
    const plain = await session(USER("pat"));
    const refused = await refusal(plain.getPrompt({ name: "test_input_required_result_prompt" }));
    expect(refused.message).toContain("did not declare");
    await plain.close();
  });

  it("serves them on 2024 HTTP+SSE too", async () => {
    const legacy = await openLegacySession(USER("leo"), { elicitation: {} });
    await legacy.post({ jsonrpc: "2.0", id: 1, method: "resources/read", params: { uri: "test://static-text" } });
    const read = JSON.parse((await legacy.next("message")) as string);
    expect(read.result.contents[0].text).toBe("This is the content of the static text resource.");
    await legacy.post({ jsonrpc: "2.0", id: 2, method: "resources/subscribe", params: { uri: "test://nope" } });
    const unknown = JSON.parse((await legacy.next("message")) as string);
    expect(unknown.error).toMatchObject({ code: -32602, data: { uri: "test://nope" } });
    legacy.close();
  });
});
