import { env, evictDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import {
  ALICE,
  BOT,
  bearer,
  CAROL,
  connect,
  initializeMessage,
  postRpc,
  textOf,
  userIdOf,
  workerFetch,
} from "./mcp-client";

function sessionStub(sessionId: string) {
  return env.SESSIONS.get(env.SESSIONS.idFromString(sessionId));
}

describe("session lifecycle", () => {
  it.each(["2025-11-25", "2025-06-18", "2025-03-26"])(
    "negotiates protocol %s and answers in plain JSON",
    async (version) => {
      const response = await postRpc(initializeMessage(version));
      expect(response.status).toBe(200);
      expect(response.headers.get("content-type")).toContain("application/json");
      expect(response.headers.get("mcp-session-id")).toMatch(/^[0-9a-f]{64}$/);
      const body = (await response.json()) as { result: { protocolVersion: string; serverInfo: { name: string } } };
      expect(body.result.protocolVersion).toBe(version);
      expect(body.result.serverInfo.name).toBe("echo");
    },
  );

  it("answers an unknown protocol version with the latest it supports", async () => {
    const response = await postRpc(initializeMessage("2099-01-01"));
    const body = (await response.json()) as { result: { protocolVersion: string } };
    expect(body.result.protocolVersion).toBe("2025-11-25");
  });

  it("serves tools/list and tools/call over the SDK client", async () => {
    const { client } = await connect();
    const { tools } = await client.listTools();
    expect(tools.map((tool) => tool.name)).toContain("echo_say");
    const result = await client.callTool({ name: "echo_say", arguments: { text: "hello" } });
    expect(textOf(result)).toBe("hello");
    await client.close();
  });

  it("keeps the session across a Durable Object eviction", async () => {
    // Raw requests: an SDK client holds a standalone GET stream open, and eviction waits for
    // in-flight requests (the end-to-end test restarts the whole Worker under a real client).
    const init = await postRpc(initializeMessage("2025-06-18"));
    const sessionId = init.headers.get("mcp-session-id") as string;
    await init.body?.cancel(); // an unread body is an in-flight request, which eviction waits for
    const headers = { "mcp-session-id": sessionId, "mcp-protocol-version": "2025-06-18" };
    await postRpc({ jsonrpc: "2.0", method: "notifications/initialized" }, headers);
    const say = async (text: string) => {
      const response = await postRpc(
        { jsonrpc: "2.0", id: text, method: "tools/call", params: { name: "echo_say", arguments: { text } } },
        headers,
      );
      expect(response.status).toBe(200);
      return textOf(((await response.json()) as { result: { content: unknown } }).result);
    };
    expect(await say("before")).toBe("before");
    await evictDurableObject(sessionStub(sessionId));
    expect(await say("after")).toBe("after");
    await evictDurableObject(sessionStub(sessionId));
    // A client (re)joining the same session id works too, with the negotiated version intact.
    const again = await connect({ sessionId });
    expect(textOf(await again.client.callTool({ name: "echo_say", arguments: { text: "resumed" } }))).toBe("resumed");
  });

  it("ends the session on DELETE", async () => {
    const { client, transport } = await connect();
    const sessionId = transport.sessionId as string;
    await transport.terminateSession();
    const response = await postRpc(
      { jsonrpc: "2.0", id: 5, method: "tools/list" },
      { "mcp-session-id": sessionId, "mcp-protocol-version": "2025-11-25" },
    );
    expect(response.status).toBe(404);
    await client.close();
  });

  it("answers unknown and malformed session ids with 404", async () => {
    const headers = { "mcp-protocol-version": "2025-11-25" };
    const unknown = await postRpc(
      { jsonrpc: "2.0", id: 1, method: "tools/list" },
      { ...headers, "mcp-session-id": env.SESSIONS.newUniqueId().toString() },
    );
    expect(unknown.status).toBe(404);
    const malformed = await postRpc(
      { jsonrpc: "2.0", id: 1, method: "tools/list" },
      { ...headers, "mcp-session-id": "nope" },
    );
    expect(malformed.status).toBe(404);
  });

  it("refuses another identity on someone else's session", async () => {
    const { transport } = await connect({ user: ALICE });
    const response = await postRpc(
      { jsonrpc: "2.0", id: 1, method: "tools/list" },
      {
        "mcp-session-id": transport.sessionId as string,
        "mcp-protocol-version": "2025-11-25",
        authorization: bearer("mallory; groups=data-eng"),
      },
    );
    expect(response.status).toBe(403);
    expect(await response.text()).toContain("belongs to another identity");
  });

  it("tells a service and a user apart even when their ids are the same string", async () => {
    // A service's session; then a user whose IdP subject happens to read "service:etl-bot".
    const { transport } = await connect({ user: "service:etl-bot; scopes=echo:read" });
    const response = await postRpc(
      { jsonrpc: "2.0", id: 1, method: "tools/list" },
      {
        "mcp-session-id": transport.sessionId as string,
        "mcp-protocol-version": "2025-11-25",
        authorization: bearer("mallory; groups=data-eng; sub=service:etl-bot"),
      },
    );
    expect(response.status).toBe(403);
    expect(await response.text()).toContain("belongs to another identity");
  });
});

describe("gates in front of the session", () => {
  it("refuses a user outside the server's groups at initialize", async () => {
    const response = await postRpc(initializeMessage(), { authorization: bearer(CAROL) });
    expect(response.status).toBe(403);
    expect(await response.text()).toContain("none of the groups allowed to use the echo server");
  });

  it("answers a request without a token with 401 pointing at its protected-resource metadata", async () => {
    const response = await workerFetch("http://localhost/mcp", {
      method: "POST",
      headers: { "content-type": "application/json", accept: "application/json, text/event-stream" },
      body: JSON.stringify(initializeMessage()),
    });
    expect(response.status).toBe(401);
    const challenge = response.headers.get("www-authenticate") ?? "";
    expect(challenge).toMatch(/^Bearer /);
    expect(challenge).toContain('resource_metadata="http://localhost/.well-known/oauth-protected-resource"');
    expect(challenge).toContain('scope="echo:read"');
    const metadata = (await (
      await workerFetch("http://localhost/.well-known/oauth-protected-resource")
    ).json()) as Record<string, unknown>;
    expect(metadata).toMatchObject({
      resource: "http://localhost",
      authorization_servers: ["http://localhost:8789"],
      scopes_supported: ["echo:read"],
    });
  });

  it.each([
    ["a malformed token", "Bearer not-a-token"],
    ["an expired token", bearer(ALICE, { expiresIn: -10 })],
    ["a token for another server", bearer(ALICE, { audience: "http://presto.localhost" })],
  ])("refuses %s with 401 and runs nothing", async (_label, authorization) => {
    const response = await postRpc(initializeMessage(), { authorization });
    expect(response.status).toBe(401);
    expect(response.headers.get("www-authenticate")).toMatch(/^Bearer /);
  });

  it("refuses a token without the server's baseline scope with 403 insufficient_scope", async () => {
    const response = await postRpc(initializeMessage(), {
      authorization: bearer("dave; groups=data-eng; scopes=other:read"),
    });
    expect(response.status).toBe(403);
    const challenge = response.headers.get("www-authenticate") ?? "";
    expect(challenge).toContain('error="insufficient_scope"');
    expect(challenge).toContain('scope="echo:read"');
  });

  it("writes every refusal at the gate to the audit table", async () => {
    await postRpc(initializeMessage(), { authorization: bearer(CAROL) });
    await postRpc(initializeMessage(), { authorization: "Bearer forged" });
    await new Promise((resolve) => setTimeout(resolve, 100));
    const { results } = await env.DB.prepare(
      "SELECT caller_kind, caller_id, action, reason FROM audit_events WHERE server_name = 'echo' ORDER BY at",
    ).all<Record<string, string>>();
    expect(results).toContainEqual(
      expect.objectContaining({
        caller_id: userIdOf("carol"),
        action: "POST /mcp",
        reason: expect.stringContaining("none of the groups"),
      }),
    );
    expect(results).toContainEqual(expect.objectContaining({ caller_kind: "anonymous", action: "POST /mcp" }));
  });

  it("refuses a foreign Host and a foreign Origin (DNS rebinding)", async () => {
    const foreignHost = await postRpc(initializeMessage(), { host: "evil.example" });
    expect(foreignHost.status).toBe(403);
    expect(await foreignHost.text()).toContain("evil.example");
    const foreignOrigin = await postRpc(initializeMessage(), { origin: "http://evil.example" });
    expect(foreignOrigin.status).toBe(403);
    const localOrigin = await postRpc(initializeMessage(), { origin: "http://localhost:6274" });
    expect(localOrigin.status).toBe(200);
  });

  it("refuses bodies over 4 MiB with 413, declared or streamed", async () => {
    const big = "x".repeat(4 * 1024 * 1024 + 10);
    const declared = await postRpc({ jsonrpc: "2.0", id: 1, method: "initialize", params: { big } });
    expect(declared.status).toBe(413);
    const { transport } = await connect();
    const session = { "mcp-session-id": transport.sessionId as string, "mcp-protocol-version": "2025-11-25" };
    const encoder = new TextEncoder();
    /** `big` as a streamed body (no declared length unless `headers` give one). */
    const streamedPost = (headers: Record<string, string>) =>
      workerFetch("http://localhost/mcp", {
        method: "POST",
        headers: {
          "content-type": "application/json",
          accept: "application/json, text/event-stream",
          authorization: bearer(ALICE),
          ...headers,
        },
        body: new ReadableStream({
          start(controller) {
            controller.enqueue(encoder.encode(big));
            controller.close();
          },
        }),
        // @ts-expect-error workerd needs duplex for streamed request bodies in some versions
        duplex: "half",
      });
    expect((await streamedPost(session)).status).toBe(413);
    // Without a session the Worker reads the body itself (its era is in it): the same cap.
    const sessionless = await streamedPost({});
    expect(sessionless.status).toBe(413);
    expect(await sessionless.text()).toContain("4194304");
    // A request built in the runtime may declare less than it carries: it is read up to the cap only.
    expect((await streamedPost({ ...session, "content-length": "10" })).status).toBe(413);
    expect((await streamedPost({ "content-length": "10" })).status).toBe(413);
  });

  it("lets a registered service open a session and see only service tools", async () => {
    const { client } = await connect({ user: BOT });
    const { tools } = await client.listTools();
    expect(tools.map((tool) => tool.name)).toEqual(["echo_say"]);
  });
});
