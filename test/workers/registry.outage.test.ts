/**
 * The registry gate when the registry cannot be reached. A file of its own, in a runtime of its own
 * (vitest.config.ts: FRESH_RUNTIME, the kit-fresh project), so the first test here runs before the
 * Worker has read any policy.
 */
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { ALICE, connect, initializeMessage, postRpc, textOf, userIdOf } from "./mcp-client";

const CACHE_MS = Number(env.REGISTRY_CACHE_MS);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("registry unreachable", () => {
  it("fails closed with 503 when nothing was read yet, audits it, and recovers when the registry answers", async () => {
    await env.REGISTRY.setUnreachable(true);
    const response = await postRpc(initializeMessage());
    expect(response.status).toBe(503);
    expect(response.headers.get("mcp-session-id")).toBeNull();
    expect(response.headers.get("retry-after")).toBe("5");
    const body = (await response.json()) as { error: { code: number; message: string } };
    expect(body.error.code).toBe(-32603);
    expect(body.error.message).toMatch(/^Service unavailable: registry unreachable, so the echo server cannot confirm/);
    await sleep(100);
    const { results } = await env.DB.prepare(
      "SELECT caller_id, reason FROM audit_events WHERE server_name = 'echo' AND reason LIKE 'registry unreachable%'",
    ).all<Record<string, string>>();
    expect(results).toEqual([
      {
        caller_id: userIdOf("alice"),
        reason: expect.stringContaining("registry unreachable for the echo server (registry stub: unreachable"),
      },
    ]);
    await env.REGISTRY.setUnreachable(false);
    expect((await postRpc(initializeMessage())).status).toBe(200);
  });

  it("keeps serving with the last policy it read while within the stale window", async () => {
    const { client } = await connect({ user: ALICE });
    await env.REGISTRY.setUnreachable(true);
    await sleep(CACHE_MS + 30); // the cached policy has expired: the next request asks, and fails
    const before = await env.REGISTRY.calls();
    expect(textOf(await client.callTool({ name: "echo_say", arguments: { text: "still here" } }))).toBe("still here");
    expect((await postRpc(initializeMessage())).status).toBe(200);
    expect((await env.REGISTRY.calls()) - before).toBeGreaterThanOrEqual(1);
    await env.REGISTRY.setUnreachable(false);
  });
});
