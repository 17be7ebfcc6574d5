/**
 * The registry in the running fleet: Presto published by the pipeline from its own server.json
 * and approved at start by two reviewers outside its team, at the version and tools it runs; what
 * the public API shows and what needs a token; a registry client syncing the official API; the
 * access check with real tokens; Presto refusing sessions while the registry says it is deprecated.
 */
import { Client, StreamableHTTPClientTransport } from "@modelcontextprotocol/client";
import { describe, expect, inject, it } from "vitest";
import { runRegistryCron } from "../../local/fleet.ts";
import type { ServerJson } from "../../shared/registry/registry.contract";
import { inventoryDigest, publishedInventory } from "../../shared/registry/tool.digest";
import { fleetServer } from "./fleet";
import { bearer, postInitialize, userToken } from "./identities";

const registry = inject("registryUrl");
const presto = fleetServer("presto").url;
const PRESTO = encodeURIComponent("com.example.mcp-fleet/presto");

type ServerResponse = {
  server: { name: string; version: string; remotes: { type: string; url: string }[] } & Record<string, unknown>;
  _meta: Record<string, Record<string, unknown>>;
};
type ServerList = { servers: ServerResponse[]; metadata: { nextCursor?: string; count: number } };

async function get<T>(path: string, headers: Record<string, string> = {}): Promise<T> {
  const response = await fetch(`${registry}${path}`, { headers });
  if (!response.ok) throw new Error(`${path}: ${response.status} ${await response.text()}`);
  return (await response.json()) as T;
}

/** What an off-the-shelf registry client does: page with cursors, then poll with updated_since. */
async function sync(since?: string): Promise<ServerResponse[]> {
  const all: ServerResponse[] = [];
  let cursor: string | undefined;
  do {
    const query = new URLSearchParams({
      limit: "1",
      ...(cursor ? { cursor } : {}),
      ...(since ? { updated_since: since } : {}),
    });
    const page = await get<ServerList>(`/v0.1/servers?${query}`);
    all.push(...page.servers);
    cursor = page.metadata.nextCursor;
  } while (cursor);
  return all;
}

async function setLifecycle(lifecycle: string, token: string) {
  const response = await fetch(`${registry}/v0.1/servers/${PRESTO}/lifecycle`, {
    method: "PUT",
    headers: { ...bearer(token), "content-type": "application/json" },
    body: JSON.stringify({ lifecycle, note: "e2e" }),
  });
  expect(response.status, await response.clone().text()).toBe(200);
}

describe("the registry in the running fleet", () => {
  it("lists Presto as published from its own server.json and approved, with its tools", async () => {
    const published = (await (await fetch(`${presto}/.well-known/mcp-fleet/server.json`)).json()) as ServerJson;
    const reader = await userToken("bob", registry, "registry:read");
    const latest = await get<ServerResponse>(`/v0.1/servers/${PRESTO}/versions/latest`, bearer(reader));
    expect(latest.server).toEqual(published);
    expect(latest.server.remotes).toEqual([{ type: "streamable-http", url: `${presto}/mcp` }]);
    const governance = latest._meta["dev.mcp-fleet/governance"] as {
      lifecycle: string;
      team: string;
      environments: string[];
      reviews: Record<string, { state: string; reviewer: string } | null>;
      tools: { name: string }[];
      approvedVersion: string;
      approvedToolsDigest: string;
    };
    expect(governance.lifecycle).toBe("approved");
    expect(governance.environments).toEqual(["local"]);
    expect(Object.values(governance.reviews).map((review) => review?.state)).toEqual([
      "approved",
      "approved",
      "approved",
    ]);
    // Two different reviewers, neither of them on data-eng (the owning team).
    expect(governance.team).toBe("data-eng");
    expect(new Set(Object.values(governance.reviews).map((review) => review?.reviewer))).toEqual(
      new Set(["dave@example.com", "erin@example.com"]),
    );
    // Approved at the version and tool inventory Presto runs (its own publish document).
    expect(governance.approvedVersion).toBe(published.version);
    expect(governance.approvedToolsDigest).toBe(await inventoryDigest(publishedInventory(published)));
    const kill = governance.tools.find((tool) => tool.name === "presto_kill_query");
    expect(kill).toMatchObject({
      needsApproval: true,
      access: { groups: ["data-eng"] },
      annotations: { destructiveHint: true },
    });
  });

  it("shows the public what a syncing client needs; on-call, reviewers, notes and probe errors need a token", async () => {
    const anonymous = await get<ServerResponse>(`/v0.1/servers/${PRESTO}/versions/latest`);
    const text = JSON.stringify(anonymous);
    for (const hidden of ["data-eng-oncall", "reviewed automatically"]) expect(text).not.toContain(hidden);
    const governance = anonymous._meta["dev.mcp-fleet/governance"] as Record<string, unknown> & {
      reviews: Record<string, Record<string, unknown>>;
    };
    expect(governance).toMatchObject({ lifecycle: "approved", supportChannel: "#data-eng-help" });
    expect(governance).not.toHaveProperty("onCall");
    for (const review of Object.values(governance.reviews)) {
      expect(review).toMatchObject({ state: "approved" });
      expect(review).not.toHaveProperty("reviewer");
    }
    const { checks } = await get<{ checks: Record<string, unknown>[] }>(`/v0.1/servers/${PRESTO}/health`);
    for (const check of checks) expect(Object.keys(check).sort()).toEqual(["at", "latencyMs", "up"]);
  });

  it("shows live status from the cron's probe: Presto up, with latency and when it was checked", async () => {
    // A probe of the fleet as it is now: the launcher's one-minute cron may last have run while
    // another file restarted Presto's Worker (presto.e2e), or on a busy machine, and recorded it down.
    await runRegistryCron(registry);
    const before = await get<ServerResponse>(`/v0.1/servers/${PRESTO}/versions/latest`);
    const health = (before._meta["dev.mcp-fleet/governance"] as { health: Record<string, unknown> }).health;
    expect(health).toMatchObject({ status: "up" });
    expect(health.latencyMs).toEqual(expect.any(Number));
    await runRegistryCron(registry);
    const { checks } = await get<{ checks: { at: string; up: boolean }[] }>(`/v0.1/servers/${PRESTO}/health`);
    expect(checks[0]?.up).toBe(true);
    expect(Date.parse(checks[0]?.at ?? "")).toBeGreaterThan(Date.parse(health.checkedAt as string));
    const up = await get<ServerList>("/v0.1/servers?status=up");
    expect(up.servers.map((entry) => entry.server.name)).toContain("com.example.mcp-fleet/presto");
  });

  it("syncs like a registry client: every entry once by cursor, then only what changed", async () => {
    const first = await sync();
    expect(first.map((entry) => entry.server.name)).toContain("com.example.mcp-fleet/presto");
    const newest = first
      .map((entry) => entry._meta["io.modelcontextprotocol.registry/official"]?.updatedAt as string)
      .sort()
      .at(-1) as string;
    expect(await sync(newest)).toEqual([]);
  });

  it("answers the access check for the token's user: alice may query Presto, carol (no group) may not use it", async () => {
    const alice = await userToken("alice", registry, "registry:read");
    const allowed = await get<Record<string, unknown>>(
      `/v0.1/access?server=presto&tool=presto_run_query&environment=local`,
      bearer(alice),
    );
    expect(allowed).toMatchObject({ allowed: true, caller: { name: "alice" } });
    const carol = await userToken("carol", registry, "registry:read");
    const denied = await get<Record<string, unknown>>(`/v0.1/access?server=presto&environment=local`, bearer(carol));
    expect(denied).toMatchObject({ allowed: false, code: "group" });
  });

  it("Presto refuses new sessions while the registry lists it as deprecated, and serves again once reinstated", async () => {
    const admin = await userToken("admin", registry, "registry:read registry:write");
    // Reinstating is an approval: never by the owning team (admin is in data-eng, which owns Presto).
    const dave = await userToken("dave", registry, "registry:read registry:write");
    const alice = await userToken("alice", presto);
    expect((await postInitialize(`${presto}/mcp`, bearer(alice))).status).toBe(200);
    await setLifecycle("deprecated", admin);
    try {
      let refused: Response | undefined;
      for (let attempt = 0; attempt < 40 && !refused; attempt++) {
        const response = await postInitialize(`${presto}/mcp`, bearer(alice));
        if (response.status === 403) refused = response;
        else await new Promise((resolve) => setTimeout(resolve, 100));
      }
      expect(refused?.status).toBe(403);
      expect(JSON.stringify(await refused?.json())).toContain("deprecated");
      const byOwner = await fetch(`${registry}/v0.1/servers/${PRESTO}/lifecycle`, {
        method: "PUT",
        headers: { ...bearer(admin), "content-type": "application/json" },
        body: JSON.stringify({ lifecycle: "approved" }),
      });
      expect(byOwner.status).toBe(403);
      expect(await byOwner.text()).toContain("the team that owns presto");
    } finally {
      await setLifecycle("approved", dave);
    }
    let status = 0;
    for (let attempt = 0; attempt < 40 && status !== 200; attempt++) {
      status = (await postInitialize(`${presto}/mcp`, bearer(alice))).status;
      if (status !== 200) await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(status).toBe(200);
  });

  it("lets an agent find Presto through the registry's own MCP server and learn what it may use there", async () => {
    const agent = new Client({ name: "e2e-agent", version: "1.0.0" });
    const token = await userToken("bob", registry, "registry:read");
    await agent.connect(
      new StreamableHTTPClientTransport(new URL(`${registry}/mcp`), { requestInit: { headers: bearer(token) } }),
    );
    try {
      const text = (result: unknown) =>
        ((result as { content: { text?: string }[] }).content ?? []).map((part) => part.text ?? "").join("");
      const found = text(await agent.callTool({ name: "registry_search_servers", arguments: { query: "SQL" } }));
      expect(found).toContain("### presto: Presto SQL");
      expect(found).toContain(`${presto}/mcp`);
      const read = text(
        await agent.callTool({
          name: "registry_check_access",
          arguments: { server: "presto", tool: "presto_run_query" },
        }),
      );
      expect(read).toMatch(/allowed/i);
      const kill = await agent.callTool({
        name: "registry_check_access",
        arguments: { server: "presto", tool: "presto_kill_query" },
      });
      expect(text(kill)).toContain("data-eng");
    } finally {
      await agent.close();
    }
  });
});
