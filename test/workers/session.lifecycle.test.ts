/**
 * The 2025 session lifecycle (issue 10, §5): each case failed on the session object before it
 * was split by concern (legacy sessions wiped by the backstop alarm, the SDK's close handler
 * replaced, later deadlines pushing earlier ones back, event logs pruned only while growing,
 * tables for objects that only answered 404, records D1 refuses retried forever, half-made
 * sessions, Streamable initialize attaching to a legacy session, ownership by email).
 */
import { env, evictDurableObject, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { CALLER_HEADER, type Caller, encodeCaller } from "../../shared/auth/caller";
import { DEAD_LETTER_AFTER } from "../../shared/mcp/session.outbox";
import { EVENT_RETENTION_MS } from "../../shared/mcp/session.storage";
import { openLegacySession } from "./legacy-sse.client";
import { bearer, connect, initializeMessage, postRpc, subjectOf, textOf, userIdOf, workerFetch } from "./mcp-client";

const stubOf = (sessionId: string) => env.SESSIONS.get(env.SESSIONS.idFromString(sessionId));
const say = (id: number, text: string) => ({
  jsonrpc: "2.0",
  id,
  method: "tools/call",
  params: { name: "echo_say", arguments: { text } },
});
const outboxSize = (sessionId: string) =>
  runInDurableObject(
    stubOf(sessionId),
    async (_instance, state) => (await state.storage.list({ prefix: "outbox:" })).size,
  );
const tablesOf = (stub: DurableObjectStub) =>
  runInDurableObject(stub, async (_instance, state) => ({
    tables: state.storage.sql.exec<{ n: number }>("SELECT count(*) AS n FROM sqlite_master WHERE type = 'table'").one()
      .n,
    keys: (await state.storage.list()).size,
    alarm: await state.storage.getAlarm(),
  }));

describe("legacy HTTP+SSE sessions", () => {
  it("outlive the outbox's backstop alarm after a call", async () => {
    const legacy = await openLegacySession();
    await legacy.post(say(1, "first"));
    expect(textOf((JSON.parse(await legacy.next("message")) as { result: unknown }).result)).toBe("first");
    expect(await runDurableObjectAlarm(stubOf(legacy.sessionId))).toBe(true); // the backstop flush
    expect((await legacy.post(say(2, "second"))).status).toBe(202);
    const answer = JSON.parse(await legacy.next("message")) as { id: number; result: unknown };
    expect([answer.id, textOf(answer.result)]).toEqual([2, "second"]);
    await legacy.close();
  });

  it("end a pending approval at once when the stream closes (the SDK's close handler runs)", async () => {
    const legacy = await openLegacySession(undefined, { elicitation: {} });
    await legacy.post({
      jsonrpc: "2.0",
      id: 3,
      method: "tools/call",
      params: { name: "echo_delete_item", arguments: { item: "closed-stream-item" } },
    });
    const asked = JSON.parse(await legacy.next("message")) as { method: string };
    expect(asked.method).toBe("elicitation/create");
    await legacy.close(); // the client goes away without answering
    await new Promise((resolve) => setTimeout(resolve, 300)); // well within the 1.5 s approval timeout
    await runDurableObjectAlarm(stubOf(legacy.sessionId));
    const audit = await env.DB.prepare(
      "SELECT decision FROM audit_events WHERE reason LIKE '%closed-stream-item%'",
    ).all();
    expect(audit.results).toEqual([{ decision: "cancelled" }]);
    // The session ended with its stream: the object flushed and left nothing behind.
    expect(await tablesOf(stubOf(legacy.sessionId))).toEqual({ tables: 0, keys: 0, alarm: null });
  });

  it("cannot be joined by a Streamable HTTP initialize", async () => {
    const legacy = await openLegacySession();
    const attach = await postRpc(initializeMessage(), { "mcp-session-id": legacy.sessionId });
    expect(attach.status).toBe(400);
    expect(await attach.text()).toContain("legacy HTTP+SSE session");
    await legacy.post(say(4, "still mine"));
    expect(textOf((JSON.parse(await legacy.next("message")) as { result: unknown }).result)).toBe("still mine");
    await legacy.close();
  });
});

describe("the session object's one alarm", () => {
  it("fires at the earliest deadline: a new call's backstop never postpones a pending retry", async () => {
    const { client, transport } = await connect();
    const sessionId = transport.sessionId as string;
    await env.DB.exec("ALTER TABLE invocations RENAME TO invocations_parked");
    try {
      await client.callTool({ name: "echo_say", arguments: { text: "during outage" } });
      await runDurableObjectAlarm(stubOf(sessionId)); // the flush fails: a retry within seconds
      await client.close(); // its standalone GET stream would hold the object (eviction waits for it)
      await evictDurableObject(stubOf(sessionId)); // the new instance knows nothing of that alarm
      const again = await connect({ sessionId });
      await again.client.callTool({ name: "echo_say", arguments: { text: "after eviction" } });
      const alarm = (await tablesOf(stubOf(sessionId))).alarm as number;
      expect(alarm - Date.now()).toBeLessThanOrEqual(5_000); // not the 30 s backstop
      await again.client.close();
    } finally {
      await env.DB.exec("ALTER TABLE invocations_parked RENAME TO invocations");
    }
    await runDurableObjectAlarm(stubOf(sessionId));
    expect(await outboxSize(sessionId)).toBe(0);
  });

  it("prunes the SSE event log, even of a session that streams nothing more", async () => {
    const { transport } = await connect();
    const sessionId = transport.sessionId as string;
    await runInDurableObject(stubOf(sessionId), (_instance, state) => {
      state.storage.sql.exec(
        "CREATE TABLE IF NOT EXISTS events (seq INTEGER PRIMARY KEY AUTOINCREMENT, stream_id TEXT NOT NULL, message TEXT NOT NULL, created_at INTEGER NOT NULL)",
      );
      state.storage.sql.exec(
        "INSERT INTO events (stream_id, message, created_at) VALUES ('old', '{}', ?)",
        Date.now() - EVENT_RETENTION_MS - 1,
      );
    });
    expect(await runDurableObjectAlarm(stubOf(sessionId))).toBe(true);
    const left = await runInDurableObject(stubOf(sessionId), (_instance, state) =>
      state.storage.sql.exec<{ n: number }>("SELECT count(*) AS n FROM events WHERE stream_id = 'old'").one(),
    );
    expect(left.n).toBe(0);
  });
});

describe("objects and records nothing should keep", () => {
  it("an object that only answered 404 stores nothing", async () => {
    const id = env.SESSIONS.newUniqueId();
    const response = await postRpc(
      { jsonrpc: "2.0", id: 1, method: "tools/list" },
      { "mcp-session-id": id.toString(), "mcp-protocol-version": "2025-11-25" },
    );
    expect(response.status).toBe(404);
    expect(await tablesOf(env.SESSIONS.get(id))).toEqual({ tables: 0, keys: 0, alarm: null });
  });

  it("a batch mixing initialize with other messages is refused and leaves no half-made session", async () => {
    const stub = env.SESSIONS.get(env.SESSIONS.newUniqueId());
    const caller: Caller = {
      kind: "user",
      id: userIdOf("alice"),
      principal: subjectOf("alice"),
      subject: subjectOf("alice"),
      name: "alice",
      groups: ["data-eng"],
      scopes: ["echo:read"],
    };
    const post = (body: unknown) =>
      stub.fetch("http://localhost/mcp", {
        method: "POST",
        headers: {
          "content-type": "application/json",
          accept: "application/json, text/event-stream",
          [CALLER_HEADER]: encodeCaller(caller),
        },
        body: JSON.stringify(body),
      });
    const mixed = await post([initializeMessage(), { jsonrpc: "2.0", id: 9, method: "tools/list" }]);
    expect(mixed.status).toBe(400);
    expect(await mixed.text()).toContain("initialize must be sent alone");
    expect((await tablesOf(stub)).tables).toBe(0);
    const alone = await post(initializeMessage());
    expect(alone.status).toBe(200);
    expect(alone.headers.get("mcp-session-id")).toMatch(/^[0-9a-f]{64}$/);
  });

  it(`moves a record D1 keeps refusing to dead_letters after ${DEAD_LETTER_AFTER} failed flushes, and counts it in /health`, async () => {
    const health = async () =>
      ((await (await workerFetch("http://localhost/health")).json()) as { deadLetters: number }).deadLetters;
    const before = await health();
    const { client, transport } = await connect();
    const sessionId = transport.sessionId as string;
    // A record D1 refuses (tool_name is NOT NULL), queued beside a good one.
    await runInDurableObject(stubOf(sessionId), async (_instance, state) => {
      await state.storage.put(`outbox:${String(Date.now()).padStart(15, "0")}:poison`, {
        table: "invocations",
        id: "poison-record",
        serverName: "echo",
        toolName: null,
        sessionId,
        callerKind: "user",
        callerId: userIdOf("alice"),
        startedAt: Date.now(),
        durationMs: 1,
        outcome: "ok",
        errorClass: null,
        minutesSaved: 0,
        argsDigest: "0".repeat(64),
      });
    });
    await client.callTool({ name: "echo_say", arguments: { text: "good record" } });
    await runDurableObjectAlarm(stubOf(sessionId));
    expect(await outboxSize(sessionId)).toBe(2); // the batch failed; both kept, retried
    for (let i = 0; i < DEAD_LETTER_AFTER && (await outboxSize(sessionId)) > 0; i++) {
      await runDurableObjectAlarm(stubOf(sessionId));
    }
    expect(await outboxSize(sessionId)).toBe(0);
    const landed = await env.DB.prepare("SELECT tool_name FROM invocations WHERE session_id = ?").bind(sessionId).all();
    expect(landed.results).toEqual([{ tool_name: "echo_say" }]);
    const letter = await env.DB.prepare("SELECT * FROM dead_letters WHERE id = 'poison-record'").first<
      Record<string, unknown>
    >();
    expect(letter).toMatchObject({ server_name: "echo", target: "invocations", attempts: DEAD_LETTER_AFTER });
    expect(JSON.parse(String(letter?.record))).toMatchObject({ id: "poison-record", toolName: null });
    expect(String(letter?.error)).toMatch(/NOT NULL/i);
    expect(await health()).toBe(before + 1);
  });
});

describe("session ownership", () => {
  const idp = "iss=https://idp.example.com; groups=data-eng";
  it("follows the IdP subject, not the email: a changed email keeps the session, a reused one does not get it", async () => {
    const { transport } = await connect({ user: `alice; ${idp}; sub=s-1; principal=alice@example.com` });
    const list = (user: string) =>
      postRpc(
        { jsonrpc: "2.0", id: 1, method: "tools/list" },
        {
          "mcp-session-id": transport.sessionId as string,
          "mcp-protocol-version": "2025-11-25",
          authorization: bearer(user),
        },
      );
    expect((await list(`alice; ${idp}; sub=s-1; principal=alice.renamed@example.com`)).status).toBe(200);
    const other = await list(`alice2; ${idp}; sub=s-2; principal=alice@example.com`);
    expect(other.status).toBe(403);
    expect(await other.text()).toContain("belongs to another identity");
  });
});
