/**
 * Servers obey the registry: the echo fixture behind the kit, its REGISTRY binding on the
 * registry stub (test/workers/registry-stub.js), which approved the echo server's own publish
 * document (version and inventory digest, test/workers/registry-stub.setup.ts); the same gate on a
 * server with resources, prompts and task tools: workers/test/registry.gate.test.ts. FLEET_ENV is
 * "test", REGISTRY_CACHE_MS 50.
 */
import { createExecutionContext, env, waitOnExecutionContext } from "cloudflare:test";
import { afterEach, describe, expect, it } from "vitest";
import type { ServerPolicy } from "../../shared/registry/access";
import { runningInventory } from "../../shared/registry/publish.document";
import { inventoryDigest } from "../../shared/registry/tool.digest";
import { echoServer } from "../fixtures/echo/echo.app";
import { ALICE, BOT, bearer, CAROL, connect, initializeMessage, postRpc, userIdOf, workerFetch } from "./mcp-client";

const CACHE_MS = Number(env.REGISTRY_CACHE_MS);
const BOB = "bob; groups=finance; scopes=echo:read";
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** What the stub approved: the echo server's version and tools digest, from its publish document. */
const APPROVED = (await env.REGISTRY.serverPolicy("echo")) as ServerPolicy;

function echoPolicy(changes: Partial<ServerPolicy> = {}): ServerPolicy {
  return {
    name: "echo",
    lifecycle: "approved",
    environments: ["test"],
    allowedGroups: ["data-eng", "admins"],
    allowedServices: true,
    approvedVersion: APPROVED.approvedVersion,
    toolsDigest: APPROVED.toolsDigest,
    ...changes,
  };
}

/** Changes what the registry says and waits until the Worker's cached policy has expired. */
async function registrySays(policy: ServerPolicy | null) {
  await env.REGISTRY.setPolicy("echo", policy);
  await sleep(CACHE_MS + 30);
}

async function refusal(response: Response) {
  const body = (await response.json()) as { error: { code: number; message: string } };
  return { status: response.status, session: response.headers.get("mcp-session-id"), ...body.error };
}

afterEach(async () => {
  await env.REGISTRY.reset();
  await sleep(CACHE_MS + 30);
});

describe("the registry gate", () => {
  it("opens sessions while the registry has the server approved for this environment", async () => {
    const response = await postRpc(initializeMessage());
    expect(response.status).toBe(200);
    expect(response.headers.get("mcp-session-id")).toMatch(/^[0-9a-f]{64}$/);
  });

  it("knows the approval by the running server's own version and tools digest", async () => {
    expect(APPROVED.approvedVersion).toBe(echoServer.spec.version);
    expect(APPROVED.toolsDigest).toBe(await inventoryDigest(runningInventory(echoServer.spec)));
  });

  it.each([
    [
      "another version",
      { approvedVersion: "0.0.0" },
      `running version ${echoServer.spec.version} but the registry approved 0.0.0`,
    ],
    [
      "another tool inventory",
      { toolsDigest: "ab".repeat(32) },
      "running inventory differs from the approved one: its server text, tools (or their task modes), resources, resource templates or prompts changed (digest ",
    ],
    [
      "nothing (approved before digests were recorded)",
      { approvedVersion: null, toolsDigest: null },
      "the registry holds no approved version and tool inventory for it",
    ],
  ] as const)(
    "refuses with 503 naming the mismatch when the registry approved %s; audited",
    async (_label, changes, reason) => {
      const open = await connect({ user: ALICE });
      await registrySays(echoPolicy(changes));
      const refused = await refusal(await postRpc(initializeMessage(), { authorization: bearer(CAROL) }));
      expect(refused).toMatchObject({ status: 503, session: null, code: -32603 });
      expect(refused.message).toContain(
        "Service unavailable: the echo server is not running what the registry approved (",
      );
      expect(refused.message).toContain(reason);
      // Sessions opened before stop too: every request passes the gate.
      const existing = await postRpc(
        { jsonrpc: "2.0", id: 1, method: "tools/list" },
        { "mcp-session-id": open.transport.sessionId as string, "mcp-protocol-version": "2025-11-25" },
      );
      expect(existing.status).toBe(503);
      await sleep(100);
      const { results } = await env.DB.prepare(
        "SELECT caller_id, reason FROM audit_events WHERE server_name = 'echo' AND caller_id = ?",
      )
        .bind(userIdOf("carol"))
        .all<{ caller_id: string; reason: string }>();
      expect(results.map((row) => row.reason)).toEqual(expect.arrayContaining([expect.stringContaining(reason)]));
    },
  );

  it("names both digests when the inventories differ", async () => {
    await registrySays(echoPolicy({ toolsDigest: "ab".repeat(32) }));
    const { message } = await refusal(await postRpc(initializeMessage()));
    expect(message).toContain(`(digest ${APPROVED.toolsDigest?.slice(0, 12)}… vs abababababab…)`);
  });

  it.each([
    ["draft", "not approved (it is draft)"],
    ["in_review", "not approved (it is in review)"],
  ] as const)("refuses a %s server with 403: no session opens, open ones stop", async (lifecycle, reason) => {
    const open = await connect({ user: ALICE });
    await registrySays(echoPolicy({ lifecycle }));
    const initialize = await refusal(await postRpc(initializeMessage()));
    expect(initialize).toMatchObject({ status: 403, session: null, code: -32000 });
    expect(initialize.message).toBe(`Forbidden: the echo server is ${reason}`);
    const existing = await postRpc(
      { jsonrpc: "2.0", id: 1, method: "tools/list" },
      { "mcp-session-id": open.transport.sessionId as string, "mcp-protocol-version": "2025-11-25" },
    );
    expect(existing.status).toBe(403);
  });

  it("refuses a deprecated server with 403 saying so", async () => {
    await registrySays(echoPolicy({ lifecycle: "deprecated" }));
    expect(await refusal(await postRpc(initializeMessage()))).toMatchObject({
      status: 403,
      session: null,
      message: "Forbidden: the echo server is deprecated and no longer opens sessions",
    });
  });

  it("refuses a retired server with 403", async () => {
    await registrySays(echoPolicy({ lifecycle: "retired" }));
    expect(await refusal(await postRpc(initializeMessage()))).toMatchObject({
      status: 403,
      message: "Forbidden: the echo server is retired",
    });
  });

  it("refuses an approved server deployed in an environment the registry does not list", async () => {
    await registrySays(echoPolicy({ environments: ["production", "staging"] }));
    expect(await refusal(await postRpc(initializeMessage()))).toMatchObject({
      status: 403,
      message: "Forbidden: the echo server is not approved for the test environment (only production, staging)",
    });
  });

  it("refuses a server the registry does not know with 403", async () => {
    await registrySays(null);
    expect(await refusal(await postRpc(initializeMessage()))).toMatchObject({
      status: 403,
      message: "Forbidden: the echo server is not registered in the fleet registry",
    });
  });

  it("takes the allowed groups from the registry, not from the spec", async () => {
    // The spec proposes data-eng and admins; the registry allows finance only.
    await registrySays(echoPolicy({ allowedGroups: ["finance"] }));
    expect((await postRpc(initializeMessage(), { authorization: bearer(BOB) })).status).toBe(200);
    const alice = await refusal(await postRpc(initializeMessage(), { authorization: bearer(ALICE) }));
    expect(alice.status).toBe(403);
    expect(alice.message).toContain("user alice is in none of the groups allowed to use the echo server (finance)");
    // Empty: every signed-in user.
    await registrySays(echoPolicy({ allowedGroups: [] }));
    expect((await postRpc(initializeMessage(), { authorization: bearer(CAROL) })).status).toBe(200);
  });

  it("takes the allowed services from the registry", async () => {
    await registrySays(echoPolicy({ allowedServices: false }));
    const none = await refusal(await postRpc(initializeMessage(), { authorization: bearer(BOT) }));
    expect(none).toMatchObject({
      status: 403,
      message: "Forbidden: service:etl-bot is not allowed to use the echo server",
    });
    await registrySays(echoPolicy({ allowedServices: ["reporting-bot"] }));
    expect((await postRpc(initializeMessage(), { authorization: bearer(BOT) })).status).toBe(403);
    await registrySays(echoPolicy({ allowedServices: ["etl-bot"] }));
    expect((await postRpc(initializeMessage(), { authorization: bearer(BOT) })).status).toBe(200);
  });

  it("guards every endpoint: /mcp GET and DELETE, /sse, /messages", async () => {
    const { transport } = await connect({ user: ALICE });
    const sessionId = transport.sessionId as string;
    await registrySays(echoPolicy({ lifecycle: "deprecated" }));
    const headers = { authorization: bearer(ALICE), "mcp-session-id": sessionId, "mcp-protocol-version": "2025-11-25" };
    const requests: [string, RequestInit][] = [
      ["http://localhost/mcp", { method: "GET", headers: { ...headers, accept: "text/event-stream" } }],
      ["http://localhost/mcp", { method: "DELETE", headers }],
      [
        "http://localhost/sse",
        { method: "GET", headers: { authorization: bearer(ALICE), accept: "text/event-stream" } },
      ],
      [
        `http://localhost/messages?sessionId=${sessionId}`,
        {
          method: "POST",
          headers: { authorization: bearer(ALICE), "content-type": "application/json" },
          body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/list" }),
        },
      ],
    ];
    for (const [url, init] of requests) {
      const response = await workerFetch(url, init);
      expect(response.status, `${init.method} ${url}`).toBe(403);
      expect(await response.text()).toContain("deprecated");
    }
  });

  it("records every refusal in the audit trail", async () => {
    await registrySays(echoPolicy({ lifecycle: "draft" }));
    await postRpc(initializeMessage(), { authorization: bearer(ALICE) });
    await registrySays(null);
    await postRpc(initializeMessage(), { authorization: bearer(BOT) });
    await registrySays(echoPolicy({ allowedGroups: ["finance"] }));
    await postRpc(initializeMessage(), { authorization: bearer(ALICE) });
    await sleep(100);
    const { results } = await env.DB.prepare(
      "SELECT caller_kind, caller_id, action, reason FROM audit_events WHERE server_name = 'echo'",
    ).all<Record<string, string>>();
    expect(results).toEqual(
      expect.arrayContaining([
        {
          caller_kind: "user",
          caller_id: userIdOf("alice"),
          action: "POST /mcp",
          reason: "the echo server is not approved (it is draft)",
        },
        {
          caller_kind: "service",
          caller_id: "service:etl-bot",
          action: "POST /mcp",
          reason: "the echo server is not registered in the fleet registry",
        },
        expect.objectContaining({ caller_id: userIdOf("alice"), reason: expect.stringContaining("(finance)") }),
      ]),
    );
  });
});

describe("the registry cache", () => {
  /** The echo Worker called directly, so a test can choose REGISTRY_CACHE_MS. */
  async function initializeWith(cacheMs: string) {
    const ctx = createExecutionContext();
    const request = new Request("http://localhost/mcp", {
      method: "POST",
      headers: {
        "content-type": "application/json",
        accept: "application/json, text/event-stream",
        authorization: bearer(ALICE),
      },
      body: JSON.stringify(initializeMessage()),
    });
    const response = await echoServer.fetch(request, { ...env, REGISTRY_CACHE_MS: cacheMs }, ctx);
    await response.body?.cancel();
    await waitOnExecutionContext(ctx);
    return response.status;
  }

  it("asks the registry once for any number of requests within REGISTRY_CACHE_MS", async () => {
    const before = await env.REGISTRY.calls();
    expect(await initializeWith("0")).toBe(200); // 0: every request asks
    expect(await initializeWith("0")).toBe(200);
    expect((await env.REGISTRY.calls()) - before).toBe(2);
    for (let i = 0; i < 20; i++) expect(await initializeWith("60000")).toBe(200);
    expect((await env.REGISTRY.calls()) - before).toBe(2);
  });

  it("concurrent requests on a miss each ask the registry: no pending call is shared between requests", async () => {
    await env.REGISTRY.setDelay(300); // every request arrives while the others' calls are under way
    const before = await env.REGISTRY.calls();
    const statuses = await Promise.all(Array.from({ length: 10 }, () => initializeWith("0")));
    expect(statuses).toEqual(Array(10).fill(200));
    expect((await env.REGISTRY.calls()) - before).toBe(10);
  });

  it("sees a registry change once the cached policy expires", async () => {
    expect((await postRpc(initializeMessage())).status).toBe(200);
    await env.REGISTRY.setPolicy("echo", echoPolicy({ lifecycle: "deprecated" }));
    await sleep(CACHE_MS + 30);
    expect((await postRpc(initializeMessage())).status).toBe(403);
  });
});
