/**
 * The registry gate on a server that offers resources, resource templates, prompts and task
 * tools (the conformance fixture): the approval covers them too. The registry stub approved the
 * fixture's own publish document (test/workers/registry-stub.setup.ts); here the registry says it
 * approved the same version with one of them different, as after an owner changed a prompt's text,
 * widened a resource's access or made a tool a task and redeployed under the same version. The
 * server must refuse (503, audited), as it does for a changed tool.
 */
import { env } from "cloudflare:test";
import { afterEach, describe, expect, it } from "vitest";
import type { ServerPolicy } from "../../shared/registry/access";
import { runningInventory } from "../../shared/registry/publish.document";
import { inventoryDigest, shortDigest } from "../../shared/registry/tool.digest";
import { bearer, initializeMessage, postRpc, userIdOf } from "../../test/workers/mcp-client";
import fixture from "./test.app";

const CACHE_MS = Number(env.REGISTRY_CACHE_MS);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const CALLER = "gina; scopes=test:read";
const { spec } = fixture;
type Spec = typeof spec;

/** What the stub approved: the fixture's version and inventory digest, from its publish document. */
const APPROVED = (await env.REGISTRY.serverPolicy("test")) as ServerPolicy;

/** The fixture as it would have been approved with `change` applied to its declaration. */
async function approvedAs(change: (running: Spec) => Spec) {
  const approved = await inventoryDigest(runningInventory(change(spec)));
  await env.REGISTRY.setPolicy("test", { ...APPROVED, toolsDigest: approved });
  await sleep(CACHE_MS + 30);
  return approved;
}

const withPrompt = (name: string, change: object) => (running: Spec) => ({
  ...running,
  prompts: running.prompts?.map((prompt) => (prompt.name === name ? { ...prompt, ...change } : prompt)),
});
const withResource = (name: string, change: object) => (running: Spec) => ({
  ...running,
  resources: running.resources?.map((resource) => (resource.name === name ? { ...resource, ...change } : resource)),
});
const withTool = (name: string, change: object) => (running: Spec) => ({
  ...running,
  tools: running.tools.map((tool) => (tool.name === name ? { ...tool, ...change } : tool)),
});

afterEach(async () => {
  await env.REGISTRY.reset();
  await sleep(CACHE_MS + 30);
});

describe("the registry gate covers resources, prompts and task modes", () => {
  it("serves the inventory it was approved with", async () => {
    expect(APPROVED.toolsDigest).toBe(await inventoryDigest(runningInventory(spec)));
    expect(spec.resources?.length).toBeGreaterThan(0);
    expect(spec.prompts?.length).toBeGreaterThan(0);
    const response = await postRpc(initializeMessage(), { authorization: bearer(CALLER) });
    await response.body?.cancel();
    expect(response.status).toBe(200);
  });

  it.each([
    [
      "a prompt whose text was rewritten",
      withPrompt("test_simple_prompt", { description: "A prompt approved with other words." }),
    ],
    ["a prompt that was added", (running: Spec) => ({ ...running, prompts: running.prompts?.slice(1) })],
    ["a prompt that may now ask the client", withPrompt("test_simple_prompt", { asks: ["sampling"] })],
    ["a resource whose access was widened to services", withResource("static-text", { access: { services: true } })],
    ["a resource that was narrowed", withResource("caller", { access: { groups: ["finance"] } })],
    [
      "a resource that was added",
      (running: Spec) => ({ ...running, resources: running.resources?.filter((r) => r.name !== "static-binary") }),
    ],
    ["a resource template re-described", withResource("template-data", { description: "Approved otherwise." })],
    ["a tool made a task", withTool("test_slow_compute", { task: undefined })],
    ["a task tool made required", withTool("test_slow_compute", { task: "required" })],
  ])("refuses with 503 naming the mismatch when it runs %s; audited", async (_label, change) => {
    const approved = await approvedAs(change);
    const running = await inventoryDigest(runningInventory(spec));
    expect(approved).not.toBe(running);
    const response = await postRpc(initializeMessage(), { authorization: bearer(CALLER) });
    expect(response.status).toBe(503);
    const { error } = (await response.json()) as { error: { message: string } };
    expect(error.message).toContain("Service unavailable: the test server is not running what the registry approved (");
    expect(error.message).toContain(
      "running inventory differs from the approved one: its server text, tools (or their task modes), " +
        `resources, resource templates or prompts changed (digest ${shortDigest(running)} vs ${shortDigest(approved)})`,
    );
    await sleep(100);
    const { results } = await env.DB.prepare(
      "SELECT reason FROM audit_events WHERE server_name = 'test' AND caller_id = ? AND reason LIKE ?",
    )
      .bind(userIdOf("gina"), `%${shortDigest(approved)}%`)
      .all<{ reason: string }>();
    expect(results.length).toBeGreaterThan(0);
  });
});
