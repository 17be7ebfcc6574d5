import { env, evictDurableObject, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { EVENT_RETENTION_MS, MAX_EVENTS, SessionStorage } from "../../shared/mcp/session.storage";
import { bearer, connect, initializeMessage, postRpc, userIdOf, workerFetch } from "./mcp-client";

function stubOf(sessionId: string) {
  return env.SESSIONS.get(env.SESSIONS.idFromString(sessionId));
}

async function invocationsOf(sessionId: string, table = "invocations") {
  const { results } = await env.DB.prepare(`SELECT * FROM ${table} WHERE session_id = ? ORDER BY started_at`)
    .bind(sessionId)
    .all<Record<string, unknown>>();
  return results;
}

async function outboxSize(sessionId: string): Promise<number> {
  return runInDurableObject(stubOf(sessionId), async (_instance, state) => {
    return (await state.storage.list({ prefix: "outbox:" })).size;
  });
}

describe("invocation recording", () => {
  it("records every call with its outcome, caller, duration, estimate and argument digest", async () => {
    const { client, transport } = await connect();
    const sessionId = transport.sessionId as string;
    for (const text of ["a", "b", "a"]) await client.callTool({ name: "echo_say", arguments: { text } });
    await client.callTool({ name: "echo_count", arguments: { to: 99 } });
    await client.callTool({ name: "echo_admin_report", arguments: {} });
    await runDurableObjectAlarm(stubOf(sessionId));

    const rows = await invocationsOf(sessionId);
    expect(rows).toHaveLength(5);
    expect(rows.map((row) => [row.tool_name, row.outcome, row.error_class, row.minutes_saved])).toEqual([
      ["echo_say", "ok", null, 0.5],
      ["echo_say", "ok", null, 0.5],
      ["echo_say", "ok", null, 0.5],
      ["echo_count", "error", "bad_arguments", 0],
      ["echo_admin_report", "error", "denied", 0],
    ]);
    for (const row of rows) {
      expect(row).toMatchObject({ server_name: "echo", caller_kind: "user", caller_id: userIdOf("alice") });
      expect(row.args_digest).toMatch(/^[0-9a-f]{64}$/);
      expect(Number(row.duration_ms)).toBeGreaterThanOrEqual(0);
    }
    // Same arguments, same digest; different arguments, different digest.
    expect(rows[0]?.args_digest).toBe(rows[2]?.args_digest);
    expect(rows[0]?.args_digest).not.toBe(rows[1]?.args_digest);
    expect(await outboxSize(sessionId)).toBe(0);
    // The denied call is in the audit trail too, through the same outbox.
    const audit = await env.DB.prepare(
      "SELECT * FROM audit_events WHERE action = 'tools/call echo_admin_report'",
    ).all();
    expect(audit.results).toContainEqual(
      expect.objectContaining({
        caller_id: userIdOf("alice"),
        decision: "denied",
        reason: expect.stringContaining("admins"),
      }),
    );
  });

  it("keeps calls working while D1 fails and lands every record exactly once afterwards", async () => {
    const { client, transport } = await connect();
    const sessionId = transport.sessionId as string;
    await env.DB.exec("ALTER TABLE invocations RENAME TO invocations_parked");
    try {
      for (let i = 0; i < 12; i++) {
        const result = await client.callTool({ name: "echo_say", arguments: { text: `call ${i}` } });
        expect(result.isError).toBeFalsy();
      }
      await new Promise((resolve) => setTimeout(resolve, 400)); // the quick flush has run and failed
      expect(await outboxSize(sessionId)).toBe(12);
      expect(await runDurableObjectAlarm(stubOf(sessionId))).toBe(true); // a retry, still failing
      expect(await outboxSize(sessionId)).toBe(12);
    } finally {
      await env.DB.exec("ALTER TABLE invocations_parked RENAME TO invocations");
    }
    expect(await invocationsOf(sessionId)).toHaveLength(0);
    await runDurableObjectAlarm(stubOf(sessionId)); // the durable retry
    const rows = await invocationsOf(sessionId);
    expect(rows).toHaveLength(12);
    expect(new Set(rows.map((row) => row.id)).size).toBe(12);
    expect(await outboxSize(sessionId)).toBe(0);
  });

  it("keeps the record of a call made just before the object is evicted", async () => {
    const init = await postRpc(initializeMessage());
    const sessionId = init.headers.get("mcp-session-id") as string;
    await init.body?.cancel();
    const headers = { "mcp-session-id": sessionId, "mcp-protocol-version": "2025-11-25" };
    const call = await postRpc(
      { jsonrpc: "2.0", id: 1, method: "tools/call", params: { name: "echo_say", arguments: { text: "last words" } } },
      headers,
    );
    await call.text();
    await evictDurableObject(stubOf(sessionId));
    await runDurableObjectAlarm(stubOf(sessionId));
    expect(await invocationsOf(sessionId)).toHaveLength(1);
  });

  it("flushes on its own shortly after the call, without an alarm", async () => {
    const { client, transport } = await connect();
    const sessionId = transport.sessionId as string;
    await client.callTool({ name: "echo_say", arguments: { text: "soon" } });
    for (let i = 0; i < 50 && (await invocationsOf(sessionId)).length === 0; i++) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(await invocationsOf(sessionId)).toHaveLength(1);
  });
});

describe("resumable streams", () => {
  it("replays what a dropped SSE stream missed after Last-Event-ID", async () => {
    const { transport } = await connect();
    const headers = { "mcp-session-id": transport.sessionId as string, "mcp-protocol-version": "2025-11-25" };
    const response = await postRpc(
      {
        jsonrpc: "2.0",
        id: 77,
        method: "tools/call",
        params: { name: "echo_count", arguments: { to: 6, delayMs: 60 }, _meta: { progressToken: "resume" } },
      },
      headers,
    );
    const reader = (response.body as ReadableStream<Uint8Array>).pipeThrough(new TextDecoderStream()).getReader();
    let seen = "";
    while ((seen.match(/notifications\/progress/g) ?? []).length < 2) {
      const { value, done } = await reader.read();
      if (done) throw new Error("stream ended early");
      seen += value;
    }
    await reader.cancel(); // the connection drops mid-call
    const ids = [...seen.matchAll(/^id: (.+)$/gm)].map((m) => m[1] as string);
    const lastEventId = ids.at(-1) as string;

    const resumed = await workerFetch("http://localhost/mcp", {
      headers: {
        ...headers,
        accept: "text/event-stream",
        "last-event-id": lastEventId,
        authorization: bearer("alice; groups=data-eng; scopes=echo:read echo:write"),
      },
    });
    expect(resumed.status).toBe(200);
    const resumedReader = (resumed.body as ReadableStream<Uint8Array>).pipeThrough(new TextDecoderStream()).getReader();
    let rest = "";
    while (!rest.includes('"id":77')) {
      const { value, done } = await resumedReader.read();
      if (done) break;
      rest += value;
    }
    await resumedReader.cancel();
    const progress = [...rest.matchAll(/"progress":(\d+)/g)].map((m) => Number(m[1]));
    expect(progress).toEqual([3, 4, 5, 6]);
    expect(rest).toContain('"id":77');
    expect(rest).toContain("counted to 6");
  });

  it("prunes the event log as it grows: older than 15 minutes, or beyond the newest 5 000", async () => {
    const { transport, client } = await connect();
    const sessionId = transport.sessionId as string;
    await client.close();
    const left = await runInDurableObject(stubOf(sessionId), async (_instance, state) => {
      const sql = state.storage.sql;
      sql.exec("DELETE FROM events");
      sql.exec(
        "INSERT INTO events (stream_id, message, created_at) VALUES ('old', '{}', ?)",
        Date.now() - EVENT_RETENTION_MS - 1,
      );
      const events = new SessionStorage(state.storage).eventStore();
      for (let i = 0; i < MAX_EVENTS + 250; i++) await events.storeEvent("s", { jsonrpc: "2.0", method: "ping" });
      return sql
        .exec<{ n: number; old: number }>(
          "SELECT count(*) AS n, count(*) FILTER (WHERE stream_id = 'old') AS old FROM events",
        )
        .one();
    });
    expect(left.old).toBe(0);
    expect(left.n).toBeLessThanOrEqual(MAX_EVENTS + 100);
  });
});
