/**
 * Nothing lost, nothing counted twice: many calls in both protocol eras — Streamable HTTP
 * (2025-11-25) and legacy HTTP+SSE (2024-11-05) sessions, and stateless 2026-07-28 requests
 * (recorded through the per-caller object's outbox) — while D1 writes fail (injected with
 * triggers that abort the batch's first or last statement), then the outboxes drain; the
 * invocation count, the rollups and the raw rows agree with the calls made, and replaying every
 * row (an ambiguous retry) changes nothing.
 */
import { env, runDurableObjectAlarm } from "cloudflare:test";
import { Client, StreamableHTTPClientTransport } from "@modelcontextprotocol/client";
import { CfWorkerJsonSchemaValidator } from "@modelcontextprotocol/client/validators/cf-worker";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type InvocationRecord, writeInvocations } from "../../shared/db/invocations.store";
import { bearer, callerObjectOf, connect, initializeMessage, workerFetch } from "./mcp-client";

const MODERN = "2026-07-28";

// Four people of one group, one per session: each stays under the per-caller rate limit the
// tests run with (40 a minute), which counts 2025 sessions too.
const userOf = (name: string) => `${name}; groups=faults,data-eng; scopes=echo:read echo:write`;
const USER = userOf("fay");
const GROUP = "faults";

function stubOf(sessionId: string) {
  return env.SESSIONS.get(env.SESSIONS.idFromString(sessionId));
}

/** The per-caller object that records a person's 2026-07-28 calls (shared/mcp/caller.state.ts). */
function callerStubOf(name: string) {
  const callers = env.CALLERS as DurableObjectNamespace;
  return callers.get(callers.idFromName(callerObjectOf("echo", name)));
}

/** An SDK v2 client pinned to 2026-07-28: no session, every request stateless. */
async function connectModern(name: string) {
  const transport = new StreamableHTTPClientTransport(new URL("http://localhost/mcp"), {
    fetch: workerFetch,
    requestInit: { headers: { authorization: bearer(userOf(name)) } },
  });
  const client = new Client(
    { name: "faults-modern", version: "1.0.0" },
    {
      capabilities: {},
      jsonSchemaValidator: new CfWorkerJsonSchemaValidator(),
      versionNegotiation: { mode: { pin: MODERN } },
    },
  );
  await client.connect(transport);
  return { client, transport, stub: callerStubOf(name) };
}

/** Which writes fail: the invocation rows (last statement) or the usage rollup (first). */
async function inject(fault: { rows?: boolean; usage?: boolean }) {
  await env.DB.prepare("UPDATE fault SET rows = ?1, usage = ?2")
    .bind(fault.rows ? 1 : 0, fault.usage ? 1 : 0)
    .run();
}

async function legacySession() {
  const opened = await workerFetch("http://localhost/sse", {
    headers: { accept: "text/event-stream", authorization: bearer(USER) },
  });
  const reader = (opened.body as ReadableStream<Uint8Array>).pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  const next = async (event: string): Promise<string> => {
    for (;;) {
      const end = buffer.indexOf("\n\n");
      if (end >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const data = /^data: (.*)$/m.exec(block)?.[1];
        if (/^event: (.*)$/m.exec(block)?.[1] === event && data !== undefined) return data;
        continue;
      }
      const { value, done } = await reader.read();
      if (done) throw new Error("stream ended");
      buffer += value;
    }
  };
  const endpoint = await next("endpoint");
  const post = (body: unknown) =>
    workerFetch(`http://localhost${endpoint}`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: bearer(USER) },
      body: JSON.stringify(body),
    });
  await post(initializeMessage("2024-11-05"));
  await next("message");
  await post({ jsonrpc: "2.0", method: "notifications/initialized" });
  let id = 100;
  return {
    sessionId: new URLSearchParams(endpoint.split("?")[1]).get("sessionId") as string,
    async call(name: string, args: Record<string, unknown>) {
      id += 1;
      await post({ jsonrpc: "2.0", id, method: "tools/call", params: { name, arguments: args } });
      return JSON.parse(await next("message")) as { result: { isError?: boolean } };
    },
    close: () => reader.cancel(),
  };
}

beforeAll(async () => {
  await env.DB.batch([
    env.DB.prepare("CREATE TABLE IF NOT EXISTS fault (rows INTEGER NOT NULL, usage INTEGER NOT NULL)"),
    env.DB.prepare("INSERT INTO fault VALUES (0, 0)"),
    env.DB.prepare(
      "CREATE TRIGGER fault_rows BEFORE INSERT ON invocations WHEN (SELECT rows FROM fault) = 1 BEGIN SELECT RAISE(ABORT, 'injected: invocations'); END",
    ),
    env.DB.prepare(
      "CREATE TRIGGER fault_usage BEFORE INSERT ON usage_daily WHEN (SELECT usage FROM fault) = 1 BEGIN SELECT RAISE(ABORT, 'injected: usage_daily'); END",
    ),
  ]);
});

afterAll(async () => {
  await env.DB.exec("DROP TRIGGER fault_rows; DROP TRIGGER fault_usage; DROP TABLE fault;");
});

describe("recording under D1 write failures", () => {
  it("agrees with the calls made: count, rollups and raw rows, once each", async () => {
    const made = { ok: 0, errors: 0, denials: 0, byTool: new Map<string, number>() };
    const count = (tool: string) => made.byTool.set(tool, (made.byTool.get(tool) ?? 0) + 1);
    const plan = (i: number): [string, Record<string, unknown>, "ok" | "error" | "denied"] =>
      i % 7 === 3
        ? ["echo_fail", { mode: "rejected" }, "error"]
        : i % 11 === 5
          ? ["echo_admin_report", {}, "denied"]
          : ["echo_say", { text: `call ${i}` }, "ok"];
    const tally = (kind: "ok" | "error" | "denied", tool: string) => {
      if (kind === "ok") made.ok += 1;
      else if (kind === "error") made.errors += 1;
      else made.denials += 1;
      count(tool);
    };

    const sessions: string[] = [];
    const modern = await Promise.all([
      connect({ user: userOf("fay-a") }),
      connect({ user: userOf("fay-b") }),
      connect({ user: userOf("fay-c") }),
    ]);
    const legacy = await legacySession();
    // 2026-07-28: two people, each recorded by their own per-caller object.
    const stateless = await Promise.all([connectModern("fay-m1"), connectModern("fay-m2")]);
    for (const { transport } of stateless) expect(transport.sessionId).toBeUndefined();
    sessions.push(...modern.map((m) => m.transport.sessionId as string), legacy.sessionId);
    const drain = async () => {
      for (const id of sessions) await runDurableObjectAlarm(stubOf(id));
      for (const { stub } of stateless) await runDurableObjectAlarm(stub);
    };
    /** The i-th call's client: the three 2025 sessions and the two 2026-07-28 callers in turn. */
    const clientOf = (i: number) =>
      i % 5 < 3
        ? (modern[i % 5] as (typeof modern)[number]).client
        : (stateless[(i % 5) - 3] as (typeof stateless)[number]).client;
    const byEra = { modern: 0, sessions: 0 };
    const callOn = async (i: number, tool: string, args: Record<string, unknown>) => {
      if (i % 5 < 3) byEra.sessions += 1;
      else byEra.modern += 1;
      return clientOf(i).callTool({ name: tool, arguments: args });
    };

    // Round 1: the rows' insert fails (the batch's last statement): nothing lands, not even rollups.
    await inject({ rows: true });
    for (let i = 0; i < 30; i++) {
      const [tool, args, kind] = plan(i);
      await callOn(i, tool, args);
      tally(kind, tool);
    }
    for (let i = 0; i < 10; i++) {
      const [tool, args, kind] = plan(i + 30);
      await legacy.call(tool, args);
      tally(kind, tool);
    }
    await drain();
    const landed = await env.DB.prepare("SELECT count(*) AS n FROM invocations WHERE caller_group = ?1")
      .bind(GROUP)
      .first();
    expect(landed).toEqual({ n: 0 });
    const rolled = await env.DB.prepare("SELECT count(*) AS n FROM usage_daily WHERE caller_group = ?1")
      .bind(GROUP)
      .first();
    expect(rolled).toEqual({ n: 0 });

    // Round 2: the usage rollup fails instead (the first statement), while more calls come in.
    await inject({ usage: true });
    for (let i = 40; i < 70; i++) {
      const [tool, args, kind] = plan(i);
      if (i % 4 === 0) await legacy.call(tool, args);
      else await callOn(i, tool, args);
      tally(kind, tool);
    }
    await drain();
    expect(
      await env.DB.prepare("SELECT count(*) AS n FROM invocations WHERE caller_group = ?1").bind(GROUP).first(),
    ).toEqual({ n: 0 });

    // D1 recovers: the durable retries drain every outbox (2025 sessions' and the callers').
    await inject({});
    await drain();
    const total = made.ok + made.errors + made.denials;
    expect(total).toBe(70);

    const rows = await env.DB.prepare("SELECT * FROM invocations WHERE caller_group = ?1")
      .bind(GROUP)
      .all<Record<string, unknown>>();
    expect(rows.results).toHaveLength(total);
    expect(new Set(rows.results.map((row) => row.id)).size).toBe(total);
    // Both eras' calls landed: the 2025 sessions by id, the 2026-07-28 calls under `caller:<object id>`.
    const callerSessions = stateless.map(({ stub }) => `caller:${stub.id.toString()}`);
    expect(new Set(rows.results.map((row) => row.session_id))).toEqual(new Set([...sessions, ...callerSessions]));
    const modernRows = rows.results.filter((row) => callerSessions.includes(String(row.session_id)));
    expect(byEra.modern).toBeGreaterThan(10);
    expect(modernRows).toHaveLength(byEra.modern);

    const sums = async () =>
      env.DB.prepare(
        `SELECT SUM(invocations) AS invocations, SUM(successes) AS ok, SUM(errors) AS errors, SUM(denials) AS denials,
          SUM(minutes_code) AS minutes FROM usage_daily WHERE caller_group = ?1`,
      )
        .bind(GROUP)
        .first();
    const expected = {
      invocations: total,
      ok: made.ok,
      errors: made.errors,
      denials: made.denials,
      minutes: made.ok * 0.5,
    };
    expect(await sums()).toEqual(expected);
    const perTool = await env.DB.prepare(
      "SELECT tool_name, SUM(invocations) AS n FROM usage_daily WHERE caller_group = ?1 GROUP BY tool_name",
    )
      .bind(GROUP)
      .all<{ tool_name: string; n: number }>();
    expect(new Map(perTool.results.map((row) => [row.tool_name, row.n]))).toEqual(made.byTool);
    const users = await env.DB.prepare(
      "SELECT count(*) AS n FROM active_users WHERE caller_group = ?1 AND period = 'm'",
    )
      .bind(GROUP)
      .first();
    // One row per person and tool used (the month's active people, by tool).
    expect(users).toEqual({ n: new Set(rows.results.map((row) => `${row.caller_id}|${row.tool_name}`)).size });

    // An ambiguous failure (D1 wrote, the session never heard): the whole history is sent again.
    const again: InvocationRecord[] = rows.results.map((row) => ({
      id: String(row.id),
      serverName: String(row.server_name),
      toolName: String(row.tool_name),
      sessionId: String(row.session_id),
      callerKind: row.caller_kind as "user",
      callerId: String(row.caller_id),
      startedAt: Number(row.started_at),
      durationMs: Number(row.duration_ms),
      outcome: row.outcome as "ok",
      errorClass: (row.error_class as string | null) ?? null,
      minutesSaved: Number(row.minutes_saved),
      argsDigest: String(row.args_digest),
      callerGroup: String(row.caller_group),
      approval: null,
    }));
    await writeInvocations(env.DB, again);
    expect(await sums()).toEqual(expected);
    await legacy.close();
    for (const { client } of [...modern, ...stateless]) await client.close();
  });
});
