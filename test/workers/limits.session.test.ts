/**
 * The per-caller limits hold for 2025 sessions too (caller.limits.ts, session.limits.ts): their
 * tools/calls take from the same bucket and the same calls in flight as 2026-07-28 calls (the
 * caller's object keeps both), and a caller's open sessions are capped; every refusal audited.
 */
import { env, evictDurableObject, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { describe, expect, it, vi } from "vitest";
import { DEFAULT_LIMITS } from "../../shared/mcp/caller.limits";

/** As vitest.config.ts sets them for the workerd tests (else the defaults). */
const IN_FLIGHT = Number(env.CALLS_IN_FLIGHT);
const OPEN_SESSIONS = Number(env.OPEN_SESSIONS ?? DEFAULT_LIMITS.openSessions);

import { openLegacySession } from "./legacy-sse.client";
import {
  bearer,
  callerObjectOf,
  connect,
  initializeMessage,
  postRpc,
  textOf,
  userIdOf,
  workerFetch,
} from "./mcp-client";

const MODERN = "2026-07-28";
const callers = env.CALLERS as DurableObjectNamespace;
const callerStub = (name: string) => callers.get(callers.idFromName(callerObjectOf("echo", name)));
const sessionStub = (sessionId: string) => env.SESSIONS.get(env.SESSIONS.idFromString(sessionId));
const user = (name: string) => `${name}; groups=data-eng; scopes=echo:read echo:write`;

function sayModern(name: string) {
  return postRpc(
    {
      jsonrpc: "2.0",
      id: 1,
      method: "tools/call",
      params: {
        name: "echo_say",
        arguments: { text: "m" },
        _meta: {
          "io.modelcontextprotocol/protocolVersion": MODERN,
          "io.modelcontextprotocol/clientCapabilities": {},
          "io.modelcontextprotocol/clientInfo": { name: "raw", version: "1" },
        },
      },
    },
    {
      "mcp-protocol-version": MODERN,
      "mcp-method": "tools/call",
      "mcp-name": "echo_say",
      authorization: bearer(user(name)),
    },
  );
}

function saySession(name: string, sessionId: string, id = 7) {
  return postRpc(
    { jsonrpc: "2.0", id, method: "tools/call", params: { name: "echo_say", arguments: { text: "s" } } },
    { "mcp-session-id": sessionId, "mcp-protocol-version": "2025-11-25", authorization: bearer(user(name)) },
  );
}

/**
 * After a caller's 40 calls since `started`: the tokens the bucket refilled meanwhile (40 a
 * minute) are taken by 2026-07-28 calls until one is refused (429, audited). True if no more
 * were admitted than the refill allows.
 */
async function drain(name: string, started: number): Promise<boolean> {
  let extra = 0;
  while ((await sayModern(name)).status === 200) {
    extra += 1;
    if (extra > 40) return false;
  }
  return extra <= Math.ceil(((Date.now() - started) * 40) / 60_000);
}

async function auditCount(name: string, like: string): Promise<number> {
  await runDurableObjectAlarm(callerStub(name));
  const row = await env.DB.prepare("SELECT count(*) AS n FROM audit_events WHERE caller_id = ? AND reason LIKE ?")
    .bind(userIdOf(name), like)
    .first<{ n: number }>();
  return row?.n ?? 0;
}

/** A raw 2025 session of `name`'s, initialized (client `capabilities`): the headers its requests carry. */
async function rawSession(name: string, capabilities: object = {}): Promise<Record<string, string>> {
  const opened = await postRpc(
    { ...initializeMessage(), params: { ...initializeMessage().params, capabilities } },
    { authorization: bearer(user(name)) },
  );
  await opened.text();
  const headers = {
    "mcp-session-id": opened.headers.get("mcp-session-id") as string,
    "mcp-protocol-version": "2025-11-25",
    authorization: bearer(user(name)),
  };
  await (await postRpc({ jsonrpc: "2.0", method: "notifications/initialized" }, headers)).text();
  return headers;
}

/** Reads an SSE response until the server's first `method` message (by default an elicitation), then drops the stream: its id. */
async function firstAsk(body: ReadableStream<Uint8Array>, method = "elicitation/create"): Promise<string | number> {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`the stream ended before the server asked: ${text}`);
    text += value;
    const lines = text.split("\n");
    text = lines.pop() ?? ""; // a line not ended yet
    for (const line of lines) {
      if (!line.startsWith("data: ") || line.length === 6) continue; // the priming event has no data
      const message = JSON.parse(line.slice(6)) as { id?: string | number; method?: string };
      if (message.method === method) {
        await reader.cancel();
        return message.id ?? "";
      }
    }
  }
}

/** A raw initialize, its body read (so nothing keeps the session's object busy). */
async function initialize(name: string): Promise<{ status: number; sessionId: string | null; text: string }> {
  const response = await postRpc(initializeMessage(), { authorization: bearer(user(name)) });
  return { status: response.status, sessionId: response.headers.get("mcp-session-id"), text: await response.text() };
}

describe("2025 sessions count against the caller's limits", () => {
  it("one rate limit across both eras: a 2025 call past it is answered 429 with Retry-After, audited", async () => {
    const { client, transport } = await connect({ user: user("lena") });
    const sessionId = transport.sessionId as string;
    const started = Date.now();
    for (let i = 0; i < 20; i++) expect((await sayModern("lena")).status).toBe(200);
    for (let i = 0; i < 20; i++)
      expect(textOf(await client.callTool({ name: "echo_say", arguments: { text: "s" } }))).toBe("s");
    // CALLS_PER_MINUTE is 40 in the workerd tests: past the 40 (and what the bucket refilled
    // meanwhile, one per 1.5 s on a slow machine) a call in either era is refused.
    expect(await drain("lena", started)).toBe(true);
    const limited = await saySession("lena", sessionId);
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
    expect(((await limited.json()) as { error: { message: string } }).error.message).toMatch(
      /^Too many requests: rate limit: more than 40 calls a minute to the echo server; retry in \d+ s$/,
    );
    expect((await sayModern("lena")).status).toBe(429);
    // Another caller is not affected.
    expect((await sayModern("lars")).status).toBe(200);
    expect(await auditCount("lena", "rate limit%")).toBe(3);
  });

  it("a call the transport cannot answer 429 (legacy SSE) gets a tool error naming the limit and the wait", async () => {
    const legacy = await openLegacySession(user("lola"));
    const started = Date.now();
    for (let i = 0; i < 40; i++) expect((await sayModern("lola")).status).toBe(200);
    expect(await drain("lola", started)).toBe(true);
    await legacy.post({
      jsonrpc: "2.0",
      id: 5,
      method: "tools/call",
      params: { name: "echo_say", arguments: { text: "x" } },
    });
    const answer = JSON.parse(await legacy.next("message")) as {
      result: { isError: boolean; content: { text: string }[]; _meta: Record<string, unknown> };
    };
    expect(answer.result.isError).toBe(true);
    expect(answer.result.content[0]?.text).toContain("rate limit: more than 40 calls a minute to the echo server");
    expect(answer.result._meta["fleet/retryAfterSeconds"]).toBeGreaterThanOrEqual(1);
    await legacy.close();
    expect(await auditCount("lola", "rate limit%")).toBe(2);
  });

  it("calls in flight in a 2025 session count for 2026-07-28 calls, and their end frees the place", async () => {
    const answers: ((answer: { action: "decline" }) => void)[] = [];
    const asked = vi.fn();
    const { client } = await connect({
      user: user("ines"),
      onElicit: () =>
        new Promise((resolve) => {
          answers.push(resolve);
          asked();
        }),
    });
    const held = Array.from({ length: IN_FLIGHT }, (_, i) =>
      client.callTool({ name: "echo_delete_item", arguments: { item: `i${i}` } }),
    );
    await vi.waitFor(() => expect(asked).toHaveBeenCalledTimes(IN_FLIGHT), { timeout: 20_000 });
    const refused = await sayModern("ines");
    expect(refused.status).toBe(429);
    expect(await refused.text()).toContain(`too many calls in flight: at most ${IN_FLIGHT} at once on the echo server`);
    for (const answer of answers) answer({ action: "decline" });
    for (const call of await Promise.all(held)) expect(call.isError).toBe(true);
    // The session keeps its places IDLE_RETURN_MS after its calls end, but gives them back at once
    // when the caller's object needs one: the next call is admitted, with no refusal meanwhile.
    expect((await sayModern("ines")).status).toBe(200);
    expect(await auditCount("ines", "too many calls in flight%")).toBe(1);
  });

  it("a call on a 2025 stream keeps its place while it runs, even after the client drops the stream", async () => {
    // Any client can put a call on the SSE channel (here: approval tools; a progressToken too) and
    // then cancel the response body. The call goes on (its answer is kept for a resumed stream), so
    // its place in flight must too; it is freed when the call answers.
    const headers = await rawSession("sven", { elicitation: { form: {} } });
    /** IN_FLIGHT calls waiting for their human, their streams dropped: the ids of the asks. */
    const holdAll = async (round: string) => {
      const asks: (string | number)[] = [];
      for (let i = 0; i < IN_FLIGHT; i++) {
        const call = await postRpc(
          {
            jsonrpc: "2.0",
            id: `${round}${i}`,
            method: "tools/call",
            params: { name: "echo_delete_item", arguments: { item: `${round}${i}` } },
          },
          headers,
        );
        expect(call.headers.get("content-type")).toContain("text/event-stream");
        asks.push(await firstAsk(call.body as ReadableStream<Uint8Array>));
      }
      const refused = await sayModern("sven");
      expect(refused.status).toBe(429);
      expect(await refused.text()).toContain(
        `too many calls in flight: at most ${IN_FLIGHT} at once on the echo server`,
      );
      return asks;
    };
    // The human declines each: the calls answer (into the event log), and free their places.
    for (const id of await holdAll("a")) {
      const answered = await postRpc({ jsonrpc: "2.0", id, result: { action: "decline" } }, headers);
      expect(answered.status).toBe(202);
      await answered.text();
    }
    await vi.waitFor(async () => expect((await sayModern("sven")).status).toBe(200), { timeout: 5_000 });
    // Ending the session ends the calls it still runs, and frees their places.
    await holdAll("b");
    const ended = await workerFetch("http://localhost/mcp", { method: "DELETE", headers });
    expect(ended.status).toBe(200);
    await ended.text();
    await vi.waitFor(async () => expect((await sayModern("sven")).status).toBe(200), { timeout: 5_000 });
  });

  it("a cancelled 2025 call frees its place when its handler ends; an answer under a reused id frees nothing", async () => {
    const headers = await rawSession("cora", { elicitation: { form: {} } });
    const post = async (message: unknown) => (await postRpc(message, headers)).text();

    // Calls waiting for their human, streams dropped; then requests reusing their ids (answered at once).
    const asks = await Promise.all(
      Array.from({ length: IN_FLIGHT }, async (_, i) => {
        const call = await postRpc(
          {
            jsonrpc: "2.0",
            id: `r${i}`,
            method: "tools/call",
            params: { name: "echo_delete_item", arguments: { item: `cora${i}` } },
          },
          headers,
        );
        return firstAsk(call.body as ReadableStream<Uint8Array>);
      }),
    );
    for (let i = 0; i < IN_FLIGHT; i++) {
      await post({ jsonrpc: "2.0", id: `r${i}`, method: "logging/setLevel", params: { level: "error" } });
    }
    expect((await sayModern("cora")).status).toBe(429);
    for (const id of asks) await post({ jsonrpc: "2.0", id, result: { action: "decline" } });
    await vi.waitFor(async () => expect((await sayModern("cora")).status).toBe(200), { timeout: 5_000 });

    // Calls cancelled by the client (it gets no answer): their places go when their handlers end.
    const counts = await Promise.all(
      Array.from({ length: IN_FLIGHT }, (_, i) =>
        postRpc(
          {
            jsonrpc: "2.0",
            id: `k${i}`,
            method: "tools/call",
            params: { name: "echo_count", arguments: { to: 2, delayMs: 1_500 }, _meta: { progressToken: `k${i}` } },
          },
          headers,
        ),
      ),
    );
    await Promise.all(
      counts.map((answer) => firstAsk(answer.body as ReadableStream<Uint8Array>, "notifications/progress")),
    );
    expect((await sayModern("cora")).status).toBe(429);
    for (let i = 0; i < IN_FLIGHT; i++) {
      await post({ jsonrpc: "2.0", method: "notifications/cancelled", params: { requestId: `k${i}` } });
    }
    await vi.waitFor(async () => expect((await sayModern("cora")).status).toBe(200), { timeout: 6_000, interval: 250 });
  });

  it("a cancelled 2025 call on the JSON channel (which gets no answer) frees its place when its handler ends", async () => {
    const headers = await rawSession("jade");
    // No progressToken, no approval: the JSON channel. The POSTs are not awaited (a cancelled
    // call's POST gets no answer from the SDK).
    const posts = Array.from({ length: IN_FLIGHT }, (_, i) =>
      postRpc(
        {
          jsonrpc: "2.0",
          id: `j${i}`,
          method: "tools/call",
          params: { name: "echo_count", arguments: { to: 2, delayMs: 400 } },
        },
        headers,
      ).catch(() => undefined),
    );
    await vi.waitFor(async () => expect((await sayModern("jade")).status).toBe(429), { timeout: 2_000, interval: 50 });
    for (let i = 0; i < IN_FLIGHT; i++) {
      await (
        await postRpc({ jsonrpc: "2.0", method: "notifications/cancelled", params: { requestId: `j${i}` } }, headers)
      ).text();
    }
    // The handlers end within a second; their places with them.
    await vi.waitFor(async () => expect((await sayModern("jade")).status).toBe(200), { timeout: 5_000, interval: 250 });
    await (await workerFetch("http://localhost/mcp", { method: "DELETE", headers })).text();
    void posts;
  });

  it("ending a 2025 session while its calls run keeps their places until their handlers end", async () => {
    const headers = await rawSession("dina");
    // echo_count sleeps 1.5 s between steps; its streams are dropped at the first progress.
    const calls = await Promise.all(
      Array.from({ length: IN_FLIGHT }, (_, i) =>
        postRpc(
          {
            jsonrpc: "2.0",
            id: `d${i}`,
            method: "tools/call",
            params: { name: "echo_count", arguments: { to: 2, delayMs: 1_500 }, _meta: { progressToken: `d${i}` } },
          },
          headers,
        ),
      ),
    );
    await Promise.all(
      calls.map((answer) => firstAsk(answer.body as ReadableStream<Uint8Array>, "notifications/progress")),
    );
    await (await workerFetch("http://localhost/mcp", { method: "DELETE", headers })).text();
    // The session is gone, its handlers still sleep: their places are still taken.
    expect((await sayModern("dina")).status).toBe(429);
    await vi.waitFor(async () => expect((await sayModern("dina")).status).toBe(200), { timeout: 6_000, interval: 250 });
  });

  it("a 2026-07-28 call keeps its place until its handler ends, even after the client closes its stream", async () => {
    // A closed stream aborts the call's signal, which a handler may not heed: echo_count sleeps
    // 2 s between its steps, and only its next progress finds the stream gone.
    const call = (i: number) =>
      postRpc(
        {
          jsonrpc: "2.0",
          id: i,
          method: "tools/call",
          params: {
            name: "echo_count",
            arguments: { to: 2, delayMs: 2_000 },
            _meta: {
              "io.modelcontextprotocol/protocolVersion": MODERN,
              "io.modelcontextprotocol/clientCapabilities": {},
              "io.modelcontextprotocol/clientInfo": { name: "raw", version: "1" },
              progressToken: `ruth${i}`,
            },
          },
        },
        {
          "mcp-protocol-version": MODERN,
          "mcp-method": "tools/call",
          "mcp-name": "echo_count",
          authorization: bearer(user("ruth")),
        },
      );
    const calls = await Promise.all(Array.from({ length: IN_FLIGHT }, (_, i) => call(i)));
    // Each stream is dropped at its first progress (2 s in): its handler sleeps 2 s more.
    await Promise.all(
      calls.map((answer) => firstAsk(answer.body as ReadableStream<Uint8Array>, "notifications/progress")),
    );
    const refused = await sayModern("ruth");
    expect(refused.status).toBe(429);
    expect(await refused.text()).toContain(`too many calls in flight: at most ${IN_FLIGHT} at once on the echo server`);
    // Once the handlers end, their places are free.
    await vi.waitFor(async () => expect((await sayModern("ruth")).status).toBe(200), {
      timeout: 10_000,
      interval: 250,
    });
  });

  it("the places a 2025 session holds survive the caller's object being evicted", async () => {
    const answers: ((answer: { action: "decline" }) => void)[] = [];
    const { client } = await connect({
      user: user("ivy"),
      onElicit: () => new Promise((resolve) => answers.push(resolve)),
    });
    const held = Array.from({ length: IN_FLIGHT }, (_, i) =>
      client.callTool({ name: "echo_delete_item", arguments: { item: `v${i}` } }),
    );
    await vi.waitFor(() => expect(answers).toHaveLength(IN_FLIGHT), { timeout: 20_000 });
    // The caller's object goes (its memory with it) while the session's calls are still running.
    await evictDurableObject(callerStub("ivy"));
    const refused = await sayModern("ivy");
    expect(refused.status).toBe(429);
    expect(await refused.text()).toContain(`too many calls in flight: at most ${IN_FLIGHT}`);
    for (const answer of answers) answer({ action: "decline" });
    await Promise.all(held);
    expect((await sayModern("ivy")).status).toBe(200);
    await client.close();
  });

  it("more sessions than places in flight, each calling in turn: none is refused for places it is not using", async () => {
    const sessions = await Promise.all(Array.from({ length: IN_FLIGHT + 2 }, () => connect({ user: user("olga") })));
    // Each call ends before the next starts; each session still holds its place (idle < IDLE_RETURN_MS).
    for (const [i, { client }] of sessions.entries()) {
      expect(textOf(await client.callTool({ name: "echo_say", arguments: { text: `o${i}` } }))).toBe(`o${i}`);
    }
    expect((await sayModern("olga")).status).toBe(200);
    // A session that gave its place back asks again on its next call, and is admitted.
    for (const [i, { client }] of sessions.entries()) {
      expect(textOf(await client.callTool({ name: "echo_say", arguments: { text: `p${i}` } }))).toBe(`p${i}`);
    }
    expect(await auditCount("olga", "too many calls in flight%")).toBe(0);
    for (const { client } of sessions) await client.close();
  });
});

describe("a cap on a caller's open 2025 sessions", () => {
  it("refuses initialize past the cap with 429, audited; DELETE and idle expiry free a slot", async () => {
    const ids: string[] = [];
    for (let i = 0; i < OPEN_SESSIONS; i++) {
      const opened = await initialize("omar");
      expect(opened.status).toBe(200);
      ids.push(opened.sessionId as string);
    }
    const refused = await initialize("omar");
    expect(refused.status).toBe(429);
    expect(refused.sessionId).toBeNull();
    expect((JSON.parse(refused.text) as { error: { message: string } }).error.message).toContain(
      `too many open sessions: at most ${OPEN_SESSIONS} per caller on the echo server`,
    );
    // Legacy SSE sessions count against the same cap.
    const sse = await workerFetch("http://localhost/sse", {
      headers: { accept: "text/event-stream", authorization: bearer(user("omar")) },
    });
    expect(sse.status).toBe(429);
    await sse.body?.cancel();
    // Another caller opens sessions as before.
    expect((await initialize("oona")).status).toBe(200);

    const ended = await workerFetch("http://localhost/mcp", {
      method: "DELETE",
      headers: { "mcp-session-id": ids[0] as string, authorization: bearer(user("omar")) },
    });
    expect(ended.status).toBe(200);
    await ended.body?.cancel();
    const reopened = await initialize("omar");
    expect(reopened.status).toBe(200);
    expect((await initialize("omar")).status).toBe(429);

    // Idle expiry: the session's object forgets it, and the slot is free again.
    const idle = sessionStub(ids[1] as string);
    await runInDurableObject(idle, (_instance, state) => {
      state.storage.sql.exec("UPDATE session SET last_active_at = 0");
    });
    await evictDurableObject(idle);
    await runDurableObjectAlarm(idle);
    expect((await initialize("omar")).status).toBe(200);
    expect(await auditCount("omar", "too many open sessions%")).toBe(3);
  });

  it("a refused initialize (bad protocol request) takes no slot", async () => {
    const bad = await postRpc(
      { jsonrpc: "2.0", id: 0, method: "initialize", params: { protocolVersion: "2025-11-25" } },
      { authorization: bearer(user("pia")) },
    );
    expect(bad.ok && !JSON.stringify(await bad.json()).includes('"error"')).toBe(false);
    const slots = await runInDurableObject(
      callerStub("pia"),
      async (_instance, state) => (await state.storage.list({ prefix: "session:" })).size,
    );
    expect(slots).toBe(0);
  });
});
