import { env, runDurableObjectAlarm } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { fetchSse, postTo } from "./legacy-sse.client";
import { ADMIN, ALICE, bearer, connect, initializeMessage, postRpc, textOf, userIdOf } from "./mcp-client";

type Result = { isError?: boolean; content?: unknown; _meta?: Record<string, unknown> };

describe("tool calls through the kit", () => {
  it("names the bad argument and why, and runs nothing", async () => {
    const { client } = await connect();
    const missing = (await client.callTool({ name: "echo_count", arguments: {} })) as Result;
    expect(missing.isError).toBe(true);
    expect(textOf(missing)).toMatch(/Invalid arguments for echo_count: "to": .*expected number/);
    const tooBig = (await client.callTool({ name: "echo_count", arguments: { to: 500 } })) as Result;
    expect(textOf(tooBig)).toMatch(/"to": .*<=50/);
    const unknown = (await client.callTool({ name: "echo_say", arguments: { text: "x", txet: "y" } })) as Result;
    expect(textOf(unknown)).toContain('unexpected argument "txet"');
    expect(unknown._meta?.["fleet/errorClass"]).toBe("bad_arguments");
  });

  it("answers an unknown tool with a protocol error", async () => {
    const { client } = await connect();
    await expect(client.callTool({ name: "echo_nope", arguments: {} })).rejects.toThrow(/Unknown tool "echo_nope"/);
  });

  it("hides tools the caller may not use and refuses them by name, saying what is missing", async () => {
    const alice = await connect({ user: ALICE });
    expect((await alice.client.listTools()).tools.map((t) => t.name)).not.toContain("echo_admin_report");
    const denied = (await alice.client.callTool({ name: "echo_admin_report", arguments: {} })) as Result;
    expect(denied.isError).toBe(true);
    expect(textOf(denied)).toContain("requires membership in one of: admins");
    const admin = await connect({ user: ADMIN });
    expect((await admin.client.listTools()).tools.map((t) => t.name)).toContain("echo_admin_report");
    expect(textOf(await admin.client.callTool({ name: "echo_admin_report", arguments: {} }))).toBe("secret report");
  });

  it("refuses a call missing a tool's scope, naming it, where no scope challenge can be sent (legacy SSE)", async () => {
    const opened = await fetchSse("http://localhost/sse", "dave; groups=data-eng; scopes=echo:read");
    const endpoint = await opened.next("endpoint");
    const post = (body: unknown) =>
      postTo(`http://localhost${endpoint}`, body, "dave; groups=data-eng; scopes=echo:read");
    await post(initializeMessage("2024-11-05"));
    await opened.next("message");
    await post({ jsonrpc: "2.0", method: "notifications/initialized" });
    await post({
      jsonrpc: "2.0",
      id: 2,
      method: "tools/call",
      params: { name: "echo_delete_item", arguments: { item: "x" } },
    });
    const call = JSON.parse(await opened.next("message")) as { result: Result };
    expect(call.result.isError).toBe(true);
    expect(textOf(call.result)).toContain("requires the scope echo:write");
    await opened.close();
  });

  it("maps upstream failures: 4xx clear and final, 5xx/unreachable/timeout retriable, bugs opaque", async () => {
    const { client } = await connect();
    const call = async (args: Record<string, unknown>) =>
      (await client.callTool({ name: "echo_fail", arguments: args })) as Result;
    const rejected = await call({ mode: "rejected" });
    expect(textOf(rejected)).toContain("no such thing");
    expect(rejected._meta).toMatchObject({ "fleet/errorClass": "upstream_rejected", "fleet/retriable": false });
    const unavailable = await call({ mode: "unavailable" });
    expect(unavailable._meta).toMatchObject({ "fleet/errorClass": "upstream_unavailable", "fleet/retriable": true });
    expect(textOf(unavailable)).toContain("(retriable)");
    const notFound = await call({ mode: "http", path: "/v1/query/20200101_000000_00000_zzzzz" });
    expect(notFound._meta).toMatchObject({ "fleet/errorClass": "upstream_rejected" });
    expect(textOf(notFound)).toContain("HTTP 404");
    const crash = await call({ mode: "crash" });
    expect(textOf(crash)).toMatch(/Internal error in echo_fail \(ref [0-9a-f]{8}\)/);
    expect(textOf(crash)).not.toContain("a bug in the handler");
  });

  it("turns an upstream that stalls into a retriable timeout, never a hang", async () => {
    const base = env.ECHO_UPSTREAM_URL as string;
    await fetch(`${base}/_local/faults`, { method: "POST", body: JSON.stringify({ delayMs: 3_000, count: 1 }) });
    const { client } = await connect();
    const started = Date.now();
    const result = (await client.callTool({
      name: "echo_fail",
      arguments: { mode: "http", path: "/v1/info", timeoutMs: 300 },
    })) as Result;
    expect(Date.now() - started).toBeLessThan(2_500);
    expect(result._meta).toMatchObject({ "fleet/errorClass": "timeout", "fleet/retriable": true });
    expect(textOf(result)).toContain("did not answer within 300 ms");
    await fetch(`${base}/_local/faults`, { method: "DELETE" });
  });

  it("streams progress over SSE when the client asks for it, JSON otherwise", async () => {
    const { client, transport } = await connect();
    const progress: number[] = [];
    const result = await client.callTool(
      { name: "echo_count", arguments: { to: 4, delayMs: 1 } },
      {
        onprogress: (p) => {
          progress.push(p.progress);
        },
      },
    );
    expect(textOf(result)).toBe("counted to 4");
    expect(progress).toEqual([1, 2, 3, 4]);

    const headers = { "mcp-session-id": transport.sessionId as string, "mcp-protocol-version": "2025-11-25" };
    const plain = await postRpc(
      { jsonrpc: "2.0", id: 9, method: "tools/call", params: { name: "echo_say", arguments: { text: "j" } } },
      headers,
    );
    expect(plain.headers.get("content-type")).toContain("application/json");
    const streamed = await postRpc(
      {
        jsonrpc: "2.0",
        id: 10,
        method: "tools/call",
        params: { name: "echo_count", arguments: { to: 2 }, _meta: { progressToken: "p" } },
      },
      headers,
    );
    expect(streamed.headers.get("content-type")).toContain("text/event-stream");
    const events = await streamed.text();
    expect(events).toContain('"method":"notifications/progress"');
    expect(events).toContain("counted to 2");
  });
});

describe("human approval", () => {
  it("runs a dangerous tool only after the human approves the exact action", async () => {
    const asked: string[] = [];
    const { client } = await connect({
      onElicit: (message) => {
        asked.push(message);
        return { action: "accept", content: { approve: true } };
      },
    });
    const result = await client.callTool({ name: "echo_delete_item", arguments: { item: "report-7" } });
    expect(asked).toEqual(['Delete item "report-7" permanently?']);
    expect(textOf(result)).toBe("deleted report-7");
  });

  it("asks for a choice after a look-up, handing the handler only the fields it asked for", async () => {
    const asked: unknown[] = [];
    const { client } = await connect({
      user: ALICE,
      onElicit: (message, params) => {
        asked.push([message, (params as { requestedSchema?: unknown }).requestedSchema]);
        return { action: "accept", content: { colour: "red", approve: true, sneaked: "in" } };
      },
    });
    const result = await client.callTool({ name: "echo_pick", arguments: { options: ["red", "blue"] } });
    expect(asked).toEqual([
      [
        "Pick one of red, blue?",
        {
          type: "object",
          properties: {
            colour: { type: "string", title: "Colour", enum: ["red", "blue"] },
            approve: { type: "boolean", title: "Approve", description: "Pick one of red, blue?" },
          },
          required: ["colour", "approve"],
        },
      ],
    ]);
    expect(textOf(result)).toBe('picked {"colour":"red"}');
    // An approval that fails before asking: nobody is asked, nothing runs.
    const refused = (await client.callTool({ name: "echo_pick", arguments: { options: ["none"] } })) as Result;
    expect(textOf(refused)).toBe('Invalid argument "options": "none" is not a colour');
    expect(asked).toHaveLength(1);
  });

  it.each([
    ["declines", { action: "decline" }],
    ["cancels", { action: "cancel" }],
    ["accepts without approving", { action: "accept", content: { approve: false } }],
  ] as const)("does nothing when the human %s", async (_label, answer) => {
    const { client } = await connect({ onElicit: () => answer as never });
    const result = (await client.callTool({ name: "echo_delete_item", arguments: { item: "x" } })) as Result;
    expect(result.isError).toBe(true);
    expect(textOf(result)).toContain("nothing was done");
    expect(result._meta?.["fleet/errorClass"]).toBe("not_approved");
  });

  it("fails closed when the client cannot ask the human", async () => {
    const { client } = await connect();
    const result = (await client.callTool({ name: "echo_delete_item", arguments: { item: "x" } })) as Result;
    expect(textOf(result)).toContain("this client cannot ask for it");
  });

  it("never lets a service call a tool that needs approval", async () => {
    const { client } = await connect({ user: "service:etl-bot; scopes=echo:read echo:write" });
    const result = (await client.callTool({ name: "echo_delete_item", arguments: { item: "x" } })) as Result;
    expect(textOf(result)).toContain("cannot be called by services");
  });

  it("ends an unanswered approval as not approved, with a clear message", async () => {
    let asked = 0;
    const { client } = await connect({
      onElicit: () => {
        asked += 1;
        return new Promise<never>(() => {}); // the human never answers
      },
    });
    const result = (await client.callTool({ name: "echo_delete_item", arguments: { item: "slow" } })) as Result;
    expect(asked).toBe(1);
    expect(result.isError).toBe(true);
    expect(textOf(result)).toBe(
      'Not approved: no answer within 2 s; nothing was done: Delete item "slow" permanently?',
    );
    expect(result._meta?.["fleet/errorClass"]).toBe("not_approved");
  });

  it("puts every approval answer on record with the caller, the tool and the arguments' digest", async () => {
    const answers = [
      { action: "accept", content: { approve: true } },
      { action: "decline" },
      { action: "cancel" },
      { action: "accept", content: { approve: false } },
    ] as const;
    let next = 0;
    const { client, transport } = await connect({ onElicit: () => answers[next++] as never });
    for (const item of ["a1", "a2", "a3", "a4"]) {
      await client.callTool({ name: "echo_delete_item", arguments: { item } });
    }
    const noElicitation = await connect();
    await noElicitation.client.callTool({ name: "echo_delete_item", arguments: { item: "a5" } });
    for (const sessionId of [transport.sessionId, noElicitation.transport.sessionId]) {
      await runDurableObjectAlarm(env.SESSIONS.get(env.SESSIONS.idFromString(sessionId as string)));
    }
    const { results } = await env.DB.prepare(
      "SELECT a.decision, a.reason, a.caller_kind, a.caller_id, a.args_digest, i.args_digest AS call_digest " +
        "FROM audit_events a JOIN invocations i ON i.args_digest = a.args_digest AND i.tool_name = 'echo_delete_item' " +
        "WHERE a.action = 'approval echo_delete_item' AND a.reason LIKE 'Delete item \"a_\" permanently?' ORDER BY a.reason",
    ).all<Record<string, string>>();
    expect(results.map((row) => [row.reason, row.decision])).toEqual([
      ['Delete item "a1" permanently?', "approved"],
      ['Delete item "a2" permanently?', "declined"],
      ['Delete item "a3" permanently?', "cancelled"],
      ['Delete item "a4" permanently?', "declined"],
      ['Delete item "a5" permanently?', "no_elicitation"],
    ]);
    for (const row of results) {
      expect(row).toMatchObject({ caller_kind: "user", caller_id: userIdOf("alice") });
      expect(row.args_digest).toMatch(/^[0-9a-f]{64}$/);
    }
  });
});

describe("scope step-up", () => {
  const READER = "dave; groups=data-eng; scopes=echo:read";

  async function sessionOf(user: string) {
    const init = await postRpc(initializeMessage(), { authorization: bearer(user) });
    const headers = {
      authorization: bearer(user),
      "mcp-session-id": init.headers.get("mcp-session-id") as string,
      "mcp-protocol-version": "2025-11-25",
    };
    await init.body?.cancel();
    await postRpc({ jsonrpc: "2.0", method: "notifications/initialized" }, headers);
    return headers;
  }

  it("lists a write tool to a user consented only for reading, and answers its call with a scope challenge", async () => {
    const { client } = await connect({ user: READER });
    expect((await client.listTools()).tools.map((tool) => tool.name)).toContain("echo_delete_item");
    const headers = await sessionOf(READER);
    const call = {
      jsonrpc: "2.0",
      id: 7,
      method: "tools/call",
      params: { name: "echo_delete_item", arguments: { item: "x" } },
    };
    const response = await postRpc(call, headers);
    expect(response.status).toBe(403);
    const challenge = response.headers.get("www-authenticate") ?? "";
    expect(challenge).toContain('error="insufficient_scope"');
    expect(challenge).toContain('scope="echo:read echo:write"');
    expect(challenge).toContain("resource_metadata=");
    // A batch hiding the call is challenged the same way; reading goes on without one.
    expect((await postRpc([{ jsonrpc: "2.0", id: 8, method: "tools/list" }, call], headers)).status).toBe(403);
    const say = {
      jsonrpc: "2.0",
      id: 9,
      method: "tools/call",
      params: { name: "echo_say", arguments: { text: "hi" } },
    };
    expect((await postRpc(say, headers)).status).toBe(200);
  });

  it("refuses a Streamable HTTP batch over 100 messages, notifications included", async () => {
    const headers = await sessionOf(READER);
    const notifications = Array.from({ length: 101 }, () => ({ jsonrpc: "2.0", method: "notifications/initialized" }));
    const response = await postRpc(notifications, headers);
    expect(response.status).toBe(400);
    expect(await response.text()).toContain("a batch must not exceed 100 messages");
  });

  it("never steps up what a scope cannot fix: another group's tool, or a service", async () => {
    const headers = await sessionOf(READER);
    const admin = { jsonrpc: "2.0", id: 1, method: "tools/call", params: { name: "echo_admin_report", arguments: {} } };
    const refused = await postRpc(admin, headers);
    expect(refused.status).toBe(200);
    expect(textOf(((await refused.json()) as { result: Result }).result)).toContain(
      "requires membership in one of: admins",
    );
    const bot = await connect({ user: "service:etl-bot; scopes=echo:read" });
    expect((await bot.client.listTools()).tools.map((tool) => tool.name)).not.toContain("echo_delete_item");
  });
});

describe("legacy HTTP+SSE transport", () => {
  it("announces the messages endpoint and answers over the stream", async () => {
    const opened = await fetchSse("http://localhost/sse");
    const endpoint = await opened.next("endpoint");
    expect(endpoint).toMatch(/^\/messages\?sessionId=[0-9a-f]{64}$/);
    const post = (body: unknown) => postTo(`http://localhost${endpoint}`, body);
    expect((await post(initializeMessage("2024-11-05"))).status).toBe(202);
    const init = JSON.parse(await opened.next("message")) as { result: { protocolVersion: string } };
    expect(init.result.protocolVersion).toBe("2024-11-05");
    await post({ jsonrpc: "2.0", method: "notifications/initialized" });
    await post({
      jsonrpc: "2.0",
      id: 2,
      method: "tools/call",
      params: { name: "echo_say", arguments: { text: "old client" } },
    });
    const call = JSON.parse(await opened.next("message")) as { id: number; result: Result };
    expect(call.id).toBe(2);
    expect(textOf(call.result)).toBe("old client");
    await opened.close();
  });

  it("refuses a batch of more than 100 messages, like the SDK, and runs none of it", async () => {
    const opened = await fetchSse("http://localhost/sse");
    const endpoint = await opened.next("endpoint");
    const post = (body: unknown) => postTo(`http://localhost${endpoint}`, body);
    await post(initializeMessage("2024-11-05"));
    await opened.next("message");
    await post({ jsonrpc: "2.0", method: "notifications/initialized" });
    const call = (id: number) => ({
      jsonrpc: "2.0",
      id,
      method: "tools/call",
      params: { name: "echo_say", arguments: { text: `call ${id}` } },
    });
    const tooMany = await post(Array.from({ length: 101 }, (_, i) => call(i + 10)));
    expect(tooMany.status).toBe(400);
    expect(await tooMany.text()).toBe("Invalid Request: a batch must not exceed 100 messages (it has 101)");
    expect((await post([])).status).toBe(400);
    // The next answer on the stream is for the next call: nothing of the refused batch ran.
    expect((await post(call(1))).status).toBe(202);
    expect((JSON.parse(await opened.next("message")) as { id: number }).id).toBe(1);
    // A batch of exactly 100 is served.
    expect((await post(Array.from({ length: 100 }, (_, i) => call(i + 200)))).status).toBe(202);
    const ids = new Set<number>();
    for (let i = 0; i < 100; i++) ids.add((JSON.parse(await opened.next("message")) as { id: number }).id);
    expect(ids.size).toBe(100);
    await opened.close();
  });
});
