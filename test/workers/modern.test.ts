/**
 * 2026-07-28 (no sessions) on the same /mcp endpoint: routed by era in the Worker after the same
 * token and gate checks, served statelessly by the caller's object (one Durable Object hop), with
 * the caller's limits and every call recorded through that object's outbox.
 */
import { env, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { Client, StreamableHTTPClientTransport } from "@modelcontextprotocol/client";
import { CfWorkerJsonSchemaValidator } from "@modelcontextprotocol/client/validators/cf-worker";
import { describe, expect, it } from "vitest";
import { bearer, CAROL, callerObjectOf, postRpc, textOf, userIdOf, workerFetch } from "./mcp-client";

const MODERN = "2026-07-28";

async function connectModern(user: string, mode: "pin" | "auto" = "pin") {
  const transport = new StreamableHTTPClientTransport(new URL("http://localhost/mcp"), {
    fetch: workerFetch,
    requestInit: { headers: { authorization: bearer(user) } },
  });
  const client = new Client(
    { name: "modern-test", version: "1.0.0" },
    {
      capabilities: {},
      jsonSchemaValidator: new CfWorkerJsonSchemaValidator(),
      versionNegotiation: { mode: mode === "pin" ? { pin: MODERN } : "auto" },
    },
  );
  await client.connect(transport);
  return { client, transport };
}

const callers = env.CALLERS as DurableObjectNamespace;
const callerStub = (name: string) => callers.get(callers.idFromName(callerObjectOf("echo", name)));
const envelope = (extra: Record<string, unknown> = {}) => ({
  "io.modelcontextprotocol/protocolVersion": MODERN,
  "io.modelcontextprotocol/clientCapabilities": {},
  "io.modelcontextprotocol/clientInfo": { name: "raw", version: "1" },
  ...extra,
});
function postModern(
  method: string,
  params: Record<string, unknown>,
  user: string,
  headers: Record<string, string> = {},
) {
  return postRpc(
    { jsonrpc: "2.0", id: 1, method, params: { ...params, _meta: envelope() } },
    {
      "mcp-protocol-version": MODERN,
      "mcp-method": method,
      ...(typeof params.name === "string" ? { "mcp-name": params.name } : {}),
      authorization: bearer(user),
      ...headers,
    },
  );
}

async function recordsOf(name: string) {
  const { results } = await env.DB.prepare(
    "SELECT tool_name, outcome, error_class, session_id FROM invocations WHERE caller_id = ? ORDER BY started_at",
  )
    .bind(userIdOf(name))
    .all<Record<string, unknown>>();
  return results;
}

describe("2026-07-28 on the same endpoint", () => {
  it("serves an SDK v2 client pinned to 2026-07-28: no session, tools listed and called, progress", async () => {
    const { client, transport } = await connectModern("mona; groups=data-eng");
    expect(transport.sessionId).toBeUndefined();
    expect((await client.listTools()).tools.map((tool) => tool.name)).toContain("echo_say");
    expect(textOf(await client.callTool({ name: "echo_say", arguments: { text: "modern" } }))).toBe("modern");
    const progress: number[] = [];
    const counted = await client.callTool(
      { name: "echo_count", arguments: { to: 3, delayMs: 1 } },
      { onprogress: (p) => void progress.push(p.progress) },
    );
    expect([textOf(counted), progress]).toEqual(["counted to 3", [1, 2, 3]]);
    await runDurableObjectAlarm(callerStub("mona"));
    const rows = await recordsOf("mona");
    expect(rows.map((row) => [row.tool_name, row.outcome])).toEqual([
      ["echo_say", "ok"],
      ["echo_count", "ok"],
    ]);
    expect(String(rows[0]?.session_id)).toMatch(/^caller:[0-9a-f]{64}$/);
    await client.close();
  });

  it("negotiates 2026-07-28 in auto mode", async () => {
    const { client } = await connectModern("otto; groups=data-eng", "auto");
    expect(textOf(await client.callTool({ name: "echo_say", arguments: { text: "auto" } }))).toBe("auto");
    await client.close();
  });

  it("answers server/discover (every version this endpoint serves), and tools/list with a private cache hint", async () => {
    const discover = await postModern("server/discover", {}, "dora; groups=data-eng");
    expect(discover.status).toBe(200);
    const found = (await discover.json()) as { result: Record<string, unknown> };
    // The same versions as -32022 names (below): a client may pick any of them.
    expect(found.result.supportedVersions).toEqual(
      expect.arrayContaining([MODERN, "2025-11-25", "2025-06-18", "2025-03-26"]),
    );
    expect(found.result.resultType).toBe("complete");
    const list = (await (await postModern("tools/list", {}, "dora; groups=data-eng")).json()) as {
      result: { cacheScope: string; ttlMs: number };
    };
    expect(list.result.cacheScope).toBe("private");
    expect(list.result.ttlMs).toBeGreaterThanOrEqual(0);
  });

  it("refuses header/body mismatches (-32020) and unknown methods (404, -32601)", async () => {
    const mismatch = await postModern(
      "tools/call",
      { name: "echo_say", arguments: { text: "x" } },
      "hank; groups=data-eng",
      {
        "mcp-name": "echo_count",
      },
    );
    expect(mismatch.status).toBe(400);
    expect(((await mismatch.json()) as { error: { code: number } }).error.code).toBe(-32020);
    const unknown = await postModern("ping", {}, "hank; groups=data-eng");
    expect(unknown.status).toBe(404);
    expect(((await unknown.json()) as { error: { code: number } }).error.code).toBe(-32601);
  });

  it("answers an unsupported version with -32022 listing the versions of both eras", async () => {
    const response = await postRpc(
      {
        jsonrpc: "2.0",
        id: 1,
        method: "tools/list",
        params: { _meta: { ...envelope(), "io.modelcontextprotocol/protocolVersion": "2099-01-01" } },
      },
      {
        "mcp-protocol-version": "2099-01-01",
        "mcp-method": "tools/list",
        authorization: bearer("vera; groups=data-eng"),
      },
    );
    expect(response.status).toBe(400);
    const body = (await response.json()) as {
      error: { code: number; data: { supported: string[]; requested: string } };
    };
    expect(body.error.code).toBe(-32022);
    expect(body.error.data.supported).toEqual(
      expect.arrayContaining([MODERN, "2025-11-25", "2025-06-18", "2025-03-26"]),
    );
  });

  it("applies the registry gate and the token exactly as for 2025", async () => {
    const outsider = await postModern("tools/list", {}, CAROL);
    expect(outsider.status).toBe(403);
    const anonymous = await workerFetch("http://localhost/mcp", {
      method: "POST",
      headers: { "content-type": "application/json", "mcp-protocol-version": MODERN, "mcp-method": "tools/list" },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/list", params: { _meta: envelope() } }),
    });
    expect(anonymous.status).toBe(401);
  });

  it("sends logs only when the request sets logLevel, on the request's own stream", async () => {
    const count = (meta: Record<string, unknown>) =>
      postRpc(
        {
          jsonrpc: "2.0",
          id: 7,
          method: "tools/call",
          params: { name: "echo_count", arguments: { to: 2, delayMs: 1 }, _meta: envelope(meta) },
        },
        {
          "mcp-protocol-version": MODERN,
          "mcp-method": "tools/call",
          "mcp-name": "echo_count",
          authorization: bearer("lou; groups=data-eng"),
        },
      ).then((response) => response.text());
    expect(await count({})).not.toContain("notifications/message");
    const logged = await count({ "io.modelcontextprotocol/logLevel": "info", progressToken: "p1" });
    expect(logged).toContain("counted to 2");
    expect(logged).toContain('"method":"notifications/message"');
    expect(logged).toContain('"method":"notifications/progress"');
    expect(await count({ "io.modelcontextprotocol/logLevel": "error" })).not.toContain("notifications/message");
  });

  it("records unknown-tool calls as errors", async () => {
    const answer = await postModern("tools/call", { name: "echo_nope", arguments: {} }, "uma; groups=data-eng");
    expect(((await answer.json()) as { error?: { message: string } }).error?.message).toContain(
      'Unknown tool "echo_nope"',
    );
    // A long made-up name: the message shows its start, the record one fixed name (names a client
    // makes up must not add rollup rows without bound).
    const long = await postModern(
      "tools/call",
      { name: `echo_${"x".repeat(5000)}`, arguments: {} },
      "uma; groups=data-eng",
    );
    const message = ((await long.json()) as { error?: { message: string } }).error?.message ?? "";
    expect(message).toContain(`Unknown tool "echo_${"x".repeat(59)}…"`);
    expect(message.length).toBeLessThan(200);
    await runDurableObjectAlarm(callerStub("uma"));
    expect(await recordsOf("uma")).toMatchObject([
      { tool_name: "(unknown tool)", outcome: "error", error_class: "unknown_tool" },
      { tool_name: "(unknown tool)", outcome: "error", error_class: "unknown_tool" },
    ]);
  });

  it("rate-limits each caller per server: 429 with Retry-After, audited; others unaffected", async () => {
    const say = (user: string) => postModern("tools/call", { name: "echo_say", arguments: { text: "r" } }, user);
    // 40 a minute: the bucket's 40, plus what it refills while the calls run (one per 1.5 s; on a
    // busy machine 40 calls can take longer than that), then 429.
    const started = Date.now();
    let admitted = 0;
    let limited = await say("rita; groups=data-eng");
    while (limited.status === 200 && admitted < 80) {
      admitted += 1;
      limited = await say("rita; groups=data-eng");
    }
    expect(admitted).toBeGreaterThanOrEqual(40);
    expect(admitted).toBeLessThanOrEqual(40 + Math.ceil(((Date.now() - started) * 40) / 60_000));
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
    expect(await limited.text()).toContain("rate limit: more than 40 calls a minute");
    expect((await say("sam; groups=data-eng")).status).toBe(200);
    await runDurableObjectAlarm(callerStub("rita"));
    const audit = await env.DB.prepare(
      "SELECT count(*) AS n FROM audit_events WHERE caller_id = ? AND reason LIKE 'rate limit%'",
    )
      .bind(userIdOf("rita"))
      .first<{ n: number }>();
    expect(audit?.n).toBeGreaterThanOrEqual(1);
  });

  it("keeps modern calls working while D1 fails and lands every record exactly once afterwards", async () => {
    const { client } = await connectModern("fay; groups=data-eng");
    await env.DB.exec("ALTER TABLE invocations RENAME TO invocations_parked");
    try {
      for (let i = 0; i < 5; i++) {
        expect((await client.callTool({ name: "echo_say", arguments: { text: `d${i}` } })).isError).toBeFalsy();
      }
      expect(await runDurableObjectAlarm(callerStub("fay"))).toBe(true); // a retry, still failing
      const kept = await runInDurableObject(
        callerStub("fay"),
        async (_i, state) => (await state.storage.list({ prefix: "outbox:" })).size,
      );
      expect(kept).toBe(5);
    } finally {
      await env.DB.exec("ALTER TABLE invocations_parked RENAME TO invocations");
    }
    await runDurableObjectAlarm(callerStub("fay"));
    expect(await recordsOf("fay")).toHaveLength(5);
    await client.close();
  });
});
