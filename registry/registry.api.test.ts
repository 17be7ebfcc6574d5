/**
 * The registry API in workerd with real D1: official v0.1 shapes and pagination, write
 * authorization, the lifecycle graph, reviews, and the access-check matrix.
 */
import { exports } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { subjectOf } from "../test/workers/mcp-client";
import { callRegistry as call } from "./registry.testing";

const worker = exports as unknown as { default: { serverPolicy(name: string): Promise<unknown> } };
const NS = "com.example.mcp-fleet";

const ALICE = "alice; groups=data-eng,ads; scopes=registry:read registry:write";
const BOB = "bob; groups=finance; scopes=registry:read registry:write";
const REVIEWER = "rita; groups=reviewers; scopes=registry:read registry:write";
/** Approval needs reviews by two different people outside the owning team. */
const REVIEWER2 = "rex; groups=reviewers; scopes=registry:read registry:write";
const ADMIN = "ada; groups=admins; scopes=registry:read registry:write";
const PIPELINE = "service:pipeline; scopes=registry:write";
const READ_ONLY = "alice; groups=data-eng; scopes=registry:read";

// biome-ignore lint/suspicious/noExplicitAny: the tests read the API's JSON as data
type Json = any;

async function jsonOf<T = Json>(response: Response): Promise<T> {
  return (await response.json()) as T;
}

function serverJson(name: string, version = "1.0.0", overrides: Record<string, unknown> = {}) {
  const { meta, ...rest } = overrides as { meta?: Record<string, unknown> };
  return {
    $schema: "https://static.modelcontextprotocol.io/schemas/2025-12-11/server.schema.json",
    name: `${NS}/${name}`,
    title: `${name} server`,
    description: `Tools for ${name}`,
    version,
    remotes: [{ type: "streamable-http", url: `https://${name}.mcp.example.com/mcp` }],
    _meta: {
      "io.modelcontextprotocol.registry/publisher-provided": {
        team: "data-eng",
        supportChannel: "#data-eng-help",
        onCall: "data-eng-oncall",
        environments: ["test"],
        allowedGroups: ["data-eng", "ads"],
        allowedServices: ["reporting-bot"],
        tools: [
          {
            name: `${name.replace(/-/g, "_")}_read`,
            description: "Read things",
            annotations: { readOnlyHint: true },
            access: { scopes: [`${name}:read`], services: true },
            needsApproval: false,
            minutesSaved: 5,
          },
          {
            name: `${name.replace(/-/g, "_")}_kill`,
            description: "Kill things",
            annotations: { destructiveHint: true },
            access: { groups: ["data-eng"], scopes: [`${name}:write`] },
            needsApproval: true,
            minutesSaved: 2,
          },
        ],
        ...meta,
      },
    },
    ...rest,
  };
}

async function publish(name: string, version = "1.0.0", as = PIPELINE, overrides = {}) {
  const response = await call("POST", "/v0.1/publish", { as, body: serverJson(name, version, overrides) });
  expect(response.status, await response.clone().text()).toBe(201);
  return jsonOf(response);
}

async function approve(name: string) {
  expect(
    (await call("PUT", `/v0.1/servers/${name}/lifecycle`, { as: ALICE, body: { lifecycle: "in_review" } })).status,
  ).toBe(200);
  for (const kind of ["security", "legal", "genai"]) {
    const review = await call("POST", `/v0.1/servers/${name}/reviews`, {
      as: kind === "genai" ? REVIEWER2 : REVIEWER,
      body: { kind, state: "approved", notes: `${kind} ok` },
    });
    expect(review.status).toBe(201);
  }
  const approved = await call("PUT", `/v0.1/servers/${name}/lifecycle`, {
    as: REVIEWER,
    body: { lifecycle: "approved" },
  });
  expect(approved.status, await approved.clone().text()).toBe(200);
}

describe("read API (official v0.1 shapes)", () => {
  beforeAll(async () => {
    for (const name of ["alpha", "bravo", "charlie", "delta", "echo-x"]) await publish(name);
    await publish("alpha", "1.1.0");
    await publish("alpha", "1.0.5");
  });

  it("pages through every server with limit and nextCursor, each version exactly once", async () => {
    const seen: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const query = new URLSearchParams({ limit: "2", search: "" });
      if (cursor) query.set("cursor", cursor);
      const page = await jsonOf(await call("GET", `/v0.1/servers?${query}`, { as: READ_ONLY }));
      expect(page.metadata.count).toBe(page.servers.length);
      for (const item of page.servers) seen.push(`${item.server.name}@${item.server.version}`);
      cursor = page.metadata.nextCursor;
      pages++;
    } while (cursor && pages < 50);
    const mine = seen.filter((id) => /\/(alpha|bravo|charlie|delta|echo-x)@/.test(id));
    expect(mine).toEqual([
      `${NS}/alpha@1.0.0`,
      `${NS}/alpha@1.0.5`,
      `${NS}/alpha@1.1.0`,
      `${NS}/bravo@1.0.0`,
      `${NS}/charlie@1.0.0`,
      `${NS}/delta@1.0.0`,
      `${NS}/echo-x@1.0.0`,
    ]);
    expect(new Set(seen).size).toBe(seen.length);
  });

  it("answers the official ServerResponse shape, with status and governance in _meta", async () => {
    // A draft: listed only to a registry:read token (registry.anonymous.test.ts), as published
    // (the public view's on-call redaction: registry.public.test.ts).
    const page = await jsonOf(await call("GET", "/v0.1/servers?search=bravo", { as: READ_ONLY }));
    expect(page.servers).toHaveLength(1);
    const [item] = page.servers;
    expect(item.server).toEqual(serverJson("bravo"));
    expect(Object.keys(item._meta["io.modelcontextprotocol.registry/official"]).sort()).toEqual([
      "isLatest",
      "publishedAt",
      "status",
      "updatedAt",
    ]);
    expect(item._meta["io.modelcontextprotocol.registry/official"]).toMatchObject({ status: "active", isLatest: true });
    expect(item._meta["dev.mcp-fleet/governance"]).toMatchObject({
      name: "bravo",
      team: "data-eng",
      lifecycle: "draft",
      allowedGroups: ["data-eng", "ads"],
      reviews: { security: null, legal: null, genai: null },
      health: { status: "unknown" },
    });
    expect(item._meta["dev.mcp-fleet/governance"].tools.map((t: { name: string }) => t.name)).toEqual([
      "bravo_kill",
      "bravo_read",
    ]);
    expect(page.metadata.nextCursor).toBeUndefined();
  });

  it("version=latest lists one entry per server; versions and versions/{v} by full or short name", async () => {
    const latest = await jsonOf(await call("GET", "/v0.1/servers?version=latest&search=alpha", { as: READ_ONLY }));
    expect(latest.servers.map((s: Json) => s.server.version)).toEqual(["1.1.0"]);
    const exact = await jsonOf(await call("GET", "/v0.1/servers?version=1.0.5", { as: READ_ONLY }));
    expect(exact.servers.map((s: Json) => s.server.name)).toEqual([`${NS}/alpha`]);

    const versions = await jsonOf(
      await call("GET", `/v0.1/servers/${encodeURIComponent(`${NS}/alpha`)}/versions`, { as: READ_ONLY }),
    );
    expect(versions.servers.map((s: Json) => s.server.version)).toEqual(["1.0.5", "1.1.0", "1.0.0"]);
    expect(versions.servers.map((s: Json) => s._meta["io.modelcontextprotocol.registry/official"].isLatest)).toEqual([
      false,
      true,
      false,
    ]);
    const one = await jsonOf(await call("GET", "/v0.1/servers/alpha/versions/latest", { as: READ_ONLY }));
    expect(one.server.version).toBe("1.1.0");
    const exactOne = await jsonOf(
      await call("GET", `/v0.1/servers/${encodeURIComponent(`${NS}/alpha`)}/versions/1.0.0`, { as: READ_ONLY }),
    );
    expect(exactOne.server.version).toBe("1.0.0");
  });

  it("answers 404 as problem+json for unknown servers, versions and namespaces", async () => {
    for (const path of [
      "/v0.1/servers/nope/versions",
      "/v0.1/servers/alpha/versions/9.9.9",
      `/v0.1/servers/${encodeURIComponent("org.other/alpha")}/versions/latest`,
    ]) {
      const response = await call("GET", path, { as: READ_ONLY });
      expect(response.status).toBe(404);
      expect(response.headers.get("content-type")).toContain("application/problem+json");
      expect(await jsonOf(response)).toMatchObject({ status: 404, title: "Not Found" });
    }
  });

  it("updated_since returns only what changed after the timestamp (a syncing client's second pass)", async () => {
    const all = await jsonOf(await call("GET", "/v0.1/servers?limit=100", { as: READ_ONLY }));
    const newest = all.servers
      .map((s: Json) => s._meta["io.modelcontextprotocol.registry/official"].updatedAt)
      .sort()
      .at(-1);
    const none = await jsonOf(
      await call("GET", `/v0.1/servers?updated_since=${encodeURIComponent(newest)}`, { as: READ_ONLY }),
    );
    expect(none.servers).toEqual([]);
    await new Promise((resolve) => setTimeout(resolve, 5));
    await publish("foxtrot");
    const changed = await jsonOf(
      await call("GET", `/v0.1/servers?updated_since=${encodeURIComponent(newest)}`, { as: READ_ONLY }),
    );
    expect(changed.servers.map((s: Json) => s.server.name)).toEqual([`${NS}/foxtrot`]);
  });

  it("refuses bad queries with a 400 naming the parameter", async () => {
    for (const [query, location] of [
      ["limit=101", "query.limit"],
      ["limit=0", "query.limit"],
      ["updated_since=yesterday", "query.updated_since"],
      ["cursor=garbage", "query.cursor"],
      ["lifecycle=shipped", "query.lifecycle"],
    ]) {
      const response = await call("GET", `/v0.1/servers?${query}`, { as: READ_ONLY });
      expect(response.status, query).toBe(400);
      const body = await jsonOf(response);
      expect(
        body.errors.map((e: { location: string }) => e.location),
        query,
      ).toContain(location);
    }
  });

  it("serves an OpenAPI 3.1 document describing every route", async () => {
    const doc = await jsonOf(await call("GET", "/openapi.json"));
    expect(doc.openapi).toBe("3.1.0");
    expect(Object.keys(doc.paths).sort()).toEqual([
      "/v0.1/access",
      "/v0.1/analytics/series",
      "/v0.1/analytics/summary",
      "/v0.1/feedback",
      "/v0.1/me",
      "/v0.1/publish",
      "/v0.1/servers",
      "/v0.1/servers/{name}/access",
      "/v0.1/servers/{name}/estimates",
      "/v0.1/servers/{name}/health",
      "/v0.1/servers/{name}/lifecycle",
      "/v0.1/servers/{name}/reviews",
      "/v0.1/servers/{name}/tools/{tool}/estimate",
      "/v0.1/servers/{name}/versions",
      "/v0.1/servers/{name}/versions/{version}",
    ]);
    expect(doc.paths["/v0.1/publish"].post.security).toEqual([{ bearer: [] }]);
    expect(doc.components.schemas).toHaveProperty("ServerResponse");
  });
});

describe("writes are authenticated and authorized", () => {
  it("publish needs a token (401 with resource metadata) and the registry:write scope (403 step-up)", async () => {
    const anonymous = await call("POST", "/v0.1/publish", { body: serverJson("golf") });
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get("www-authenticate")).toContain("resource_metadata=");
    const readOnly = await call("POST", "/v0.1/publish", { as: READ_ONLY, body: serverJson("golf") });
    expect(readOnly.status).toBe(403);
    expect(readOnly.headers.get("www-authenticate")).toContain('error="insufficient_scope"');
    expect((await call("GET", "/v0.1/servers/golf/versions", { as: READ_ONLY })).status).toBe(404);
  });

  it("only the owning team, admins or a publisher service may publish", async () => {
    const outsider = await call("POST", "/v0.1/publish", { as: BOB, body: serverJson("golf") });
    expect(outsider.status).toBe(403);
    expect((await jsonOf(outsider)).detail).toContain("data-eng");
    const otherService = await call("POST", "/v0.1/publish", {
      as: "service:reporting-bot; scopes=registry:write",
      body: serverJson("golf"),
    });
    expect(otherService.status).toBe(403);
    expect((await jsonOf(otherService)).detail).toContain("not a registry publisher");
    await publish("golf", "1.0.0", ALICE);
    const created = await jsonOf(await call("GET", "/v0.1/servers/golf/versions/latest", { as: READ_ONLY }));
    expect(created._meta["dev.mcp-fleet/governance"].lifecycle).toBe("draft");
    // Moving a server to another team is an admin's decision.
    const steal = await call("POST", "/v0.1/publish", {
      as: BOB,
      body: serverJson("golf", "1.0.1", { meta: { team: "finance" } }),
    });
    expect(steal.status).toBe(409);
    const moved = await publish("golf", "1.0.1", ADMIN, { meta: { team: "finance" } });
    expect(moved._meta["dev.mcp-fleet/governance"].team).toBe("finance");
  });

  it("refuses versions that are not semantic and remote URLs a snippet could not carry safely", async () => {
    for (const [overrides, location] of [
      [{ version: "01.2.3" }, "body.version"],
      [{ version: "1.0.0-01" }, "body.version"],
      [{ remotes: [{ type: "streamable-http", url: "https://a.example/mcp && curl e|sh" }] }, "body.remotes[0].url"],
      [{ remotes: [{ type: "streamable-http", url: "http://internal.example/mcp" }] }, "body.remotes[0].url"],
      [{ remotes: [{ type: "streamable-http", url: "javascript:alert(1)" }] }, "body.remotes[0].url"],
    ] as const) {
      const response = await call("POST", "/v0.1/publish", {
        as: PIPELINE,
        body: { ...serverJson("sierra"), ...overrides },
      });
      expect(response.status, JSON.stringify(overrides)).toBe(400);
      expect((await jsonOf(response)).errors.map((e: { location: string }) => e.location)).toContain(location);
    }
    expect((await call("GET", "/v0.1/servers/sierra/versions", { as: READ_ONLY })).status).toBe(404);
  });

  it("rejects invalid server.json with a 400 naming each field, and writes nothing", async () => {
    const bad = serverJson("hotel") as Json;
    bad.remotes[0].url = "not a url";
    bad._meta["io.modelcontextprotocol.registry/publisher-provided"].tools[0].minutesSaved = -1;
    const response = await call("POST", "/v0.1/publish", { as: PIPELINE, body: bad });
    expect(response.status).toBe(400);
    const body = await jsonOf(response);
    const locations = body.errors.map((e: { location: string }) => e.location);
    expect(locations).toContain("body.remotes[0].url");
    expect(locations).toContain("body._meta.io.modelcontextprotocol.registry/publisher-provided.tools[0].minutesSaved");
    expect(body.detail).toContain("nothing was changed");
    const wrongNamespace = await call("POST", "/v0.1/publish", {
      as: PIPELINE,
      body: { ...serverJson("hotel"), name: "org.other/hotel" },
    });
    expect(wrongNamespace.status).toBe(400);
    expect((await jsonOf(wrongNamespace)).errors[0].location).toBe("body.name");
    expect((await call("GET", "/v0.1/servers/hotel/versions", { as: READ_ONLY })).status).toBe(404);
  });

  it("refuses to publish a version twice (409) and leaves the first intact", async () => {
    await publish("india");
    const again = await call("POST", "/v0.1/publish", {
      as: PIPELINE,
      body: serverJson("india", "1.0.0", { description: "changed" }),
    });
    expect(again.status).toBe(409);
    const stored = await jsonOf(await call("GET", "/v0.1/servers/india/versions/1.0.0", { as: READ_ONLY }));
    expect(stored.server.description).toBe("Tools for india");
  });
});

describe("lifecycle and reviews", () => {
  it("walks draft → in_review → approved only with three approved reviews, by the right people", async () => {
    await publish("juliet");
    const skip = await call("PUT", "/v0.1/servers/juliet/lifecycle", { as: REVIEWER, body: { lifecycle: "approved" } });
    expect(skip.status).toBe(409);
    expect((await jsonOf(skip)).detail).toContain("cannot move from draft to approved");
    expect(
      (await call("PUT", "/v0.1/servers/juliet/lifecycle", { as: BOB, body: { lifecycle: "in_review" } })).status,
    ).toBe(403);
    expect(
      (await call("PUT", "/v0.1/servers/juliet/lifecycle", { as: ALICE, body: { lifecycle: "in_review" } })).status,
    ).toBe(200);
    const byOwner = await call("PUT", "/v0.1/servers/juliet/lifecycle", { as: ALICE, body: { lifecycle: "approved" } });
    expect(byOwner.status).toBe(403);
    const unreviewed = await call("PUT", "/v0.1/servers/juliet/lifecycle", {
      as: REVIEWER,
      body: { lifecycle: "approved" },
    });
    expect(unreviewed.status).toBe(409);
    expect((await jsonOf(unreviewed)).detail).toContain(
      "security (not reviewed), legal (not reviewed), genai (not reviewed)",
    );

    const notReviewer = await call("POST", "/v0.1/servers/juliet/reviews", {
      as: ALICE,
      body: { kind: "security", state: "approved" },
    });
    expect(notReviewer.status).toBe(403);
    const badKind = await call("POST", "/v0.1/servers/juliet/reviews", {
      as: REVIEWER,
      body: { kind: "vibes", state: "approved" },
    });
    expect(badKind.status).toBe(400);
    expect((await jsonOf(badKind)).errors[0].location).toBe("body.kind");

    await call("POST", "/v0.1/servers/juliet/reviews", {
      as: REVIEWER,
      body: { kind: "security", state: "changes_requested", notes: "rotate keys" },
    });
    await call("POST", "/v0.1/servers/juliet/reviews", { as: REVIEWER, body: { kind: "legal", state: "approved" } });
    await call("POST", "/v0.1/servers/juliet/reviews", { as: REVIEWER2, body: { kind: "genai", state: "approved" } });
    const pending = await call("PUT", "/v0.1/servers/juliet/lifecycle", {
      as: REVIEWER,
      body: { lifecycle: "approved" },
    });
    expect((await jsonOf(pending)).detail).toContain("security (changes_requested)");
    await new Promise((resolve) => setTimeout(resolve, 2));
    const review = await call("POST", "/v0.1/servers/juliet/reviews", {
      as: REVIEWER,
      body: { kind: "security", state: "approved", notes: "keys rotated" },
    });
    expect(await jsonOf(review)).toMatchObject({
      kind: "security",
      state: "approved",
      // The identity of record (the test token's subject), not the login name.
      reviewer: subjectOf("rita"),
      version: "1.0.0",
    });
    const approved = await call("PUT", "/v0.1/servers/juliet/lifecycle", {
      as: REVIEWER,
      body: { lifecycle: "approved", note: "ship it" },
    });
    expect(approved.status).toBe(200);
    const governance = (await jsonOf(approved))._meta["dev.mcp-fleet/governance"];
    expect(governance.lifecycle).toBe("approved");
    expect(governance.reviews.security).toMatchObject({
      state: "approved",
      notes: "keys rotated",
      reviewer: subjectOf("rita"),
    });
    const history = await jsonOf(await call("GET", "/v0.1/servers/juliet/reviews", { as: READ_ONLY }));
    expect(history.reviews.map((r: { state: string }) => r.state)).toEqual([
      "approved",
      "approved",
      "approved",
      "changes_requested",
    ]);
  });

  it("deprecated and retired show as the official deprecated and deleted statuses; retired is final", async () => {
    await publish("kilo");
    await approve("kilo");
    expect(
      (await call("PUT", "/v0.1/servers/kilo/lifecycle", { as: ALICE, body: { lifecycle: "deprecated" } })).status,
    ).toBe(200);
    let latest = await jsonOf(await call("GET", "/v0.1/servers/kilo/versions/latest", { as: READ_ONLY }));
    expect(latest._meta["io.modelcontextprotocol.registry/official"].status).toBe("deprecated");
    expect(
      (await call("PUT", "/v0.1/servers/kilo/lifecycle", { as: ALICE, body: { lifecycle: "retired" } })).status,
    ).toBe(200);
    latest = await jsonOf(await call("GET", "/v0.1/servers/kilo/versions/latest", { as: READ_ONLY }));
    expect(latest._meta["io.modelcontextprotocol.registry/official"].status).toBe("deleted");
    const revive = await call("PUT", "/v0.1/servers/kilo/lifecycle", { as: ADMIN, body: { lifecycle: "approved" } });
    expect(revive.status).toBe(409);
    expect((await jsonOf(revive)).detail).toContain("retired is final");
  });

  it("a new version of an approved server goes to review; the approved one serves until it is approved", async () => {
    await publish("tango");
    await approve("tango");
    const before = await jsonOf(await call("GET", "/v0.1/servers/tango/versions/1.0.0", { as: READ_ONLY }));
    await new Promise((resolve) => setTimeout(resolve, 2));
    const next = await publish("tango", "1.1.0", ALICE, {
      remotes: [{ type: "streamable-http", url: "https://elsewhere.example.com/mcp" }],
    });
    const governance = next._meta["dev.mcp-fleet/governance"];
    expect(governance).toMatchObject({ lifecycle: "approved", approvedVersion: "1.0.0", versionInReview: "1.1.0" });
    expect(governance.reviews).toEqual({ security: null, legal: null, genai: null });
    expect(await worker.default.serverPolicy("tango")).toMatchObject({
      lifecycle: "approved",
      approvedVersion: "1.0.0",
    });
    // The old version's reviews do not approve the new one.
    const early = await call("PUT", "/v0.1/servers/tango/lifecycle", { as: REVIEWER, body: { lifecycle: "approved" } });
    expect(early.status).toBe(409);
    // Every version's status and governance changed, so a sync with updated_since sees the old one too.
    const since = before._meta["io.modelcontextprotocol.registry/official"].updatedAt;
    const changed = await jsonOf(
      await call("GET", `/v0.1/servers?search=tango&updated_since=${encodeURIComponent(since)}`, { as: READ_ONLY }),
    );
    expect(changed.servers.map((entry: Json) => entry.server.version)).toEqual(["1.0.0", "1.1.0"]);
  });

  it("only reviewers may change where a server is approved to run", async () => {
    await publish("uniform");
    const byOwner = await call("PUT", "/v0.1/servers/uniform/access", {
      as: ALICE,
      body: { allowedGroups: ["ads"], allowedServices: false, environments: ["test", "production"] },
    });
    expect(byOwner.status).toBe(403);
    expect((await jsonOf(byOwner)).detail).toContain("environments");
    const byReviewer = await call("PUT", "/v0.1/servers/uniform/access", {
      as: REVIEWER,
      body: { allowedGroups: ["ads"], allowedServices: false, environments: ["test", "production"] },
    });
    expect(byReviewer.status).toBe(200);
    expect((await jsonOf(byReviewer))._meta["dev.mcp-fleet/governance"].environments).toEqual(["test", "production"]);
    // A later publish proposes nothing over it.
    const next = await publish("uniform", "1.0.1", PIPELINE, { meta: { environments: ["staging"] } });
    expect(next._meta["dev.mcp-fleet/governance"].environments).toEqual(["test", "production"]);
  });

  it("owners and reviewers set who may use a server; others may not", async () => {
    await publish("lima");
    expect(
      (
        await call("PUT", "/v0.1/servers/lima/access", {
          as: BOB,
          body: { allowedGroups: ["finance"], allowedServices: false },
        })
      ).status,
    ).toBe(403);
    const bad = await call("PUT", "/v0.1/servers/lima/access", {
      as: ALICE,
      body: { allowedGroups: ["bad group!"], allowedServices: false },
    });
    expect(bad.status).toBe(400);
    expect((await jsonOf(bad)).errors[0].location).toBe("body.allowedGroups[0]");
    const ok = await call("PUT", "/v0.1/servers/lima/access", {
      as: ALICE,
      body: { allowedGroups: ["finance"], allowedServices: true },
    });
    expect(ok.status).toBe(200);
    expect((await jsonOf(ok))._meta["dev.mcp-fleet/governance"]).toMatchObject({
      allowedGroups: ["finance"],
      allowedServices: true,
    });
  });
});

describe("access check", () => {
  beforeAll(async () => {
    await publish("mike");
    await approve("mike");
    await publish("november");
    await publish("oscar");
    await approve("oscar");
    await call("PUT", "/v0.1/servers/oscar/lifecycle", { as: ALICE, body: { lifecycle: "deprecated" } });
    await publish("papa", "1.0.0", PIPELINE, { meta: { environments: ["staging"] } });
    await approve("papa");
  });

  const ask = async (body: Record<string, unknown>) => jsonOf(await call("POST", "/v0.1/access", { body }));

  it.each([
    ["an allowed group", { server: "mike", user: { groups: ["ads"] } }, true, undefined],
    ["a group not allowed", { server: "mike", user: { groups: ["finance"] } }, false, "group"],
    ["a draft server", { server: "november", user: { groups: ["ads"] } }, false, "not_approved"],
    ["a deprecated server", { server: "oscar", user: { groups: ["ads"] } }, false, "deprecated"],
    ["another environment", { server: "papa", user: { groups: ["ads"] } }, false, "environment"],
    ["the right environment", { server: "papa", environment: "staging", user: { groups: ["ads"] } }, true, undefined],
    ["an unknown server", { server: "zulu", user: { groups: ["ads"] } }, false, "unknown_server"],
    ["an allowed service", { server: "mike", service: "reporting-bot", tool: "mike_read" }, true, undefined],
    ["a service not allowed", { server: "mike", service: "etl-bot" }, false, "service"],
    [
      "a service and an approval tool",
      { server: "mike", service: "reporting-bot", tool: "mike_kill" },
      false,
      "service",
    ],
    ["a tool's group", { server: "mike", tool: "mike_kill", user: { groups: ["ads"] } }, false, "group"],
    ["a tool's group, member", { server: "mike", tool: "mike_kill", user: { groups: ["data-eng"] } }, true, undefined],
    [
      "a missing scope",
      { server: "mike", tool: "mike_read", user: { groups: ["ads"], scopes: ["other:read"] } },
      false,
      "scope",
    ],
    ["an unknown tool", { server: "mike", tool: "mike_fly", user: { groups: ["ads"] } }, false, "unknown_tool"],
  ])("%s", async (_label, query, allowed, code) => {
    const answer = await ask(query);
    expect(answer.allowed).toBe(allowed);
    expect(answer.code).toBe(code);
    if (!allowed) expect(answer.reason).toBeTruthy();
  });

  it("says which scopes an allowed tool needs when the caller's scopes are unknown", async () => {
    const answer = await ask({ server: "mike", tool: "mike_read", user: { groups: ["ads"] } });
    expect(answer).toMatchObject({ allowed: true, scopesNeeded: ["mike:read"], environment: "test" });
  });

  it("refuses a query naming nobody, or both a user and a service", async () => {
    const nobody = await call("POST", "/v0.1/access", { body: { server: "mike" } });
    expect(nobody.status).toBe(400);
    const both = await call("POST", "/v0.1/access", { body: { server: "mike", service: "x", user: { groups: [] } } });
    expect(both.status).toBe(400);
  });

  it("answers for the token's own caller on GET, and needs a token", async () => {
    expect((await call("GET", "/v0.1/access?server=mike")).status).toBe(401);
    const alice = await jsonOf(await call("GET", "/v0.1/access?server=mike&tool=mike_kill", { as: ALICE }));
    // A registry token's scopes say nothing about the domain server's: listed, not enforced.
    expect(alice).toMatchObject({
      allowed: true,
      scopesNeeded: ["mike:write"],
      caller: { kind: "user", name: "alice" },
    });
    const ads = await jsonOf(
      await call("GET", "/v0.1/access?server=mike&tool=mike_kill", { as: "ann; groups=ads; scopes=registry:read" }),
    );
    expect(ads).toMatchObject({ allowed: false, code: "group" });
    expect(await jsonOf(await call("GET", "/v0.1/me", { as: ALICE }))).toEqual({
      caller: { kind: "user", name: "alice", groups: ["data-eng", "ads"] },
    });
    expect((await call("GET", "/v0.1/me")).status).toBe(401);
    const bob = await jsonOf(await call("GET", "/v0.1/access?server=mike", { as: BOB }));
    expect(bob).toMatchObject({ allowed: false, code: "group" });
  });

  it("serves domain servers their policy over RPC", async () => {
    expect(await worker.default.serverPolicy("mike")).toEqual({
      name: "mike",
      lifecycle: "approved",
      environments: ["test"],
      allowedGroups: ["data-eng", "ads"],
      allowedServices: ["reporting-bot"],
      approvedVersion: "1.0.0",
      toolsDigest: expect.stringMatching(/^[0-9a-f]{64}$/),
    });
    expect(await worker.default.serverPolicy("nobody")).toBeNull();
  });
});
