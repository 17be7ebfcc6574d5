/**
 * What an approval covers, in workerd with real D1: the version reviewed and its tool inventory
 * (recorded on the server, served in the policy), reviews by two people outside the owning team,
 * compare-and-set against a publish racing the approval, and owners unable to widen who may use a
 * reviewed server.
 */
import { env } from "cloudflare:test";
import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { PromptManifest, ResourceManifest, ToolManifest } from "../shared/registry/registry.contract";
import { inventoryDigest, publishedInventory } from "../shared/registry/tool.digest";
import { subjectOf } from "../test/workers/mcp-client";
import { listEvents, publishVersion, setLifecycle } from "./registry.store";
import { callRegistry as call, testServerJson } from "./registry.testing";

const worker = exports as unknown as { default: { serverPolicy(name: string): Promise<unknown> } };

const OWNER = "olga; groups=data-eng; scopes=registry:read registry:write";
const RITA = "rita; groups=reviewers; scopes=registry:read registry:write";
const REX = "rex; groups=reviewers; scopes=registry:read registry:write";
/** A reviewer who is also on the owning team. */
const DORA = "dora; groups=reviewers,data-eng; scopes=registry:read registry:write";
const ADMIN_OWNER = "ada; groups=admins,data-eng; scopes=registry:read registry:write";
const ADMIN = "adam; groups=admins; scopes=registry:read registry:write";
const PIPELINE = "service:pipeline; scopes=registry:write";

// biome-ignore lint/suspicious/noExplicitAny: the tests read the API's JSON as data
type Json = any;

const TOOLS: ToolManifest[] = [
  {
    name: "demo_read",
    description: "Read things",
    annotations: { readOnlyHint: true },
    access: { scopes: ["demo:read"], services: true },
    needsApproval: false,
    minutesSaved: 5,
    inputSchema: { type: "object", properties: { id: { type: "string", description: "Which thing" } } },
  },
];

function document(name: string, version = "1.0.0", tools = TOOLS) {
  return testServerJson(name, { version, tools, allowedGroups: ["data-eng"], allowedServices: ["etl-bot"] });
}

/** The inventory digest of what `publish(name, version, tools)` publishes. */
const digestOf = (name: string, version = "1.0.0", tools = TOOLS) =>
  inventoryDigest(publishedInventory(document(name, version, tools)));

async function publish(name: string, version = "1.0.0", tools = TOOLS) {
  const response = await call("POST", "/v0.1/publish", { as: PIPELINE, body: document(name, version, tools) });
  expect(response.status, await response.clone().text()).toBe(201);
}

async function review(name: string, as: string, kinds = ["security", "legal", "genai"]) {
  for (const kind of kinds) {
    const response = await call("POST", `/v0.1/servers/${name}/reviews`, {
      as,
      body: { kind, state: "approved", notes: `${kind} looked at` },
    });
    expect(response.status, await response.clone().text()).toBe(201);
  }
}

async function toReview(name: string) {
  const response = await call("PUT", `/v0.1/servers/${name}/lifecycle`, {
    as: OWNER,
    body: { lifecycle: "in_review" },
  });
  expect(response.status).toBe(200);
}

async function reviewed(name: string) {
  await publish(name);
  await toReview(name);
  await review(name, RITA, ["security", "legal"]);
  await review(name, REX, ["genai"]);
}

function approve(name: string, body: Record<string, unknown> = {}, as = RITA) {
  return call("PUT", `/v0.1/servers/${name}/lifecycle`, { as, body: { lifecycle: "approved", ...body } });
}

async function detail(response: Response): Promise<string> {
  return ((await response.json()) as { detail: string }).detail;
}

describe("an approval covers the version reviewed and its tool inventory", () => {
  it("records the approved version and its tools digest, and serves them in the policy", async () => {
    await reviewed("apv-alpha");
    const approved = await approve("apv-alpha", { version: "1.0.0" });
    expect(approved.status, await approved.clone().text()).toBe(200);
    const digest = await digestOf("apv-alpha");
    expect(((await approved.json()) as Json)._meta["dev.mcp-fleet/governance"]).toMatchObject({
      lifecycle: "approved",
      approvedVersion: "1.0.0",
      approvedToolsDigest: digest,
      toolsDigest: digest,
    });
    expect(await worker.default.serverPolicy("apv-alpha")).toMatchObject({
      lifecycle: "approved",
      approvedVersion: "1.0.0",
      toolsDigest: digest,
    });
  });

  it("keeps what was approved while a new version is in review (the approved version keeps serving)", async () => {
    await reviewed("apv-bravo");
    expect((await approve("apv-bravo")).status).toBe(200);
    const changedTools = [{ ...(TOOLS[0] as ToolManifest), description: "Read and write things" }];
    await publish("apv-bravo", "1.1.0", changedTools);
    const policy = (await worker.default.serverPolicy("apv-bravo")) as Json;
    expect(policy).toMatchObject({ lifecycle: "approved", approvedVersion: "1.0.0" });
    expect(policy.toolsDigest).toBe(await digestOf("apv-bravo"));
    const latest = (await (await call("GET", "/v0.1/servers/apv-bravo/versions/latest", { as: RITA })).json()) as Json;
    expect(latest._meta["dev.mcp-fleet/governance"].toolsDigest).toBe(
      await digestOf("apv-bravo", "1.1.0", changedTools),
    );
  });

  it("digests and shows the version's resources, prompts and task modes, as the kit's gate computes them", async () => {
    const resources: ResourceManifest[] = [
      { uri: "demo://history", name: "history", description: "What you did", access: { scopes: ["demo:read"] } },
    ];
    const prompts: PromptManifest[] = [
      {
        name: "demo_recap",
        description: "Recap what you did",
        access: {},
        argumentsSchema: { type: "object", properties: {} },
        asks: ["sampling"],
      },
    ];
    const tools: ToolManifest[] = [{ ...(TOOLS[0] as ToolManifest), task: "optional" }];
    const published = testServerJson("apv-offers", { tools, resources, prompts });
    const response = await call("POST", "/v0.1/publish", { as: PIPELINE, body: published });
    expect(response.status, await response.clone().text()).toBe(201);
    const governance = ((await response.json()) as Json)._meta["dev.mcp-fleet/governance"];
    expect(governance.toolsDigest).toBe(await inventoryDigest(publishedInventory(published)));
    expect(governance.toolsDigest).not.toBe(await digestOf("apv-offers"));
    expect(governance).toMatchObject({ resources, resourceTemplates: [], prompts });
    expect(governance.tools).toEqual([expect.objectContaining({ name: "demo_read", task: "optional" })]);
    // A widened resource is a different inventory (under the same version: refused as a conflict).
    const widened = testServerJson("apv-offers", {
      tools,
      prompts,
      resources: [{ ...(resources[0] as ResourceManifest), access: { services: true } }],
    });
    expect(await inventoryDigest(publishedInventory(widened))).not.toBe(governance.toolsDigest);
    const bad = await call("POST", "/v0.1/publish", {
      as: PIPELINE,
      body: testServerJson("apv-offers-bad", { prompts: [{ ...(prompts[0] as PromptManifest), name: "Bad Name" }] }),
    });
    expect(bad.status).toBe(400);
    expect(await bad.text()).toContain("prompts[0].name");
  });

  it("refuses to approve a version that is not the latest", async () => {
    await reviewed("apv-charlie");
    const response = await approve("apv-charlie", { version: "0.9.0" });
    expect(response.status).toBe(409);
    expect(await detail(response)).toContain("apv-charlie 0.9.0 is not its latest version (1.0.0)");
  });

  it("refuses to approve a version published before tool digests were recorded", async () => {
    await reviewed("apv-delta");
    await env.DB.prepare("UPDATE server_versions SET tools_digest = NULL WHERE server_name = 'apv-delta'").run();
    const response = await approve("apv-delta");
    expect(response.status).toBe(409);
    expect(await detail(response)).toContain("publish a new version to approve");
  });
});

describe("compare-and-set: a publish racing an approval cannot land it on an unreviewed version", () => {
  it("answers 409 when a new version was published between the reviews and the approval, and records nothing", async () => {
    await reviewed("apv-race");
    // The reviewers looked at 1.0.0; meanwhile the pipeline publishes 1.0.1.
    await publish("apv-race", "1.0.1");
    const before = await listEvents(env.DB, "apv-race");
    const late = await approve("apv-race", { version: "1.0.0" });
    expect(late.status).toBe(409);
    expect(await detail(late)).toContain("1.0.0 is not its latest version (1.0.1)");
    // Without naming the version, the latest (1.0.1) is what would be approved: it has no reviews.
    const unnamed = await approve("apv-race");
    expect(unnamed.status).toBe(409);
    expect(await detail(unnamed)).toContain("security (not reviewed)");
    expect(await worker.default.serverPolicy("apv-race")).toMatchObject({
      lifecycle: "in_review",
      approvedVersion: null,
    });
    expect(await listEvents(env.DB, "apv-race")).toHaveLength(before.length);
  });

  it("the store's approval lands only while the version is still the latest (the publish came after the check)", async () => {
    await reviewed("apv-race2");
    // The API checked 1.0.0's reviews; the publish commits before the approval's batch does.
    await publishVersion(env.DB, "apv-race2", document("apv-race2", "1.0.1"), "service:pipeline");
    const events = (await listEvents(env.DB, "apv-race2")).length;
    const changed = await setLifecycle(
      env.DB,
      "apv-race2",
      { from: "in_review", to: "approved", version: "1.0.0" },
      "user:rita",
    );
    expect(changed).toBe(false);
    expect(await worker.default.serverPolicy("apv-race2")).toMatchObject({
      lifecycle: "in_review",
      approvedVersion: null,
      toolsDigest: null,
    });
    // Neither the event nor the versions' updatedAt were written for the change that did not land.
    expect(await listEvents(env.DB, "apv-race2")).toHaveLength(events);
    expect(
      await setLifecycle(env.DB, "apv-race2", { from: "in_review", to: "approved", version: "1.0.1" }, "user:rita"),
    ).toBe(true);
    expect(await worker.default.serverPolicy("apv-race2")).toMatchObject({ approvedVersion: "1.0.1" });
    expect(await listEvents(env.DB, "apv-race2")).toHaveLength(events + 1);
  });

  it("a publish landing after an approval it read before puts the new version in review", async () => {
    await reviewed("apv-race3");
    const stale = document("apv-race3", "1.1.0");
    expect((await approve("apv-race3")).status).toBe(200);
    await publishVersion(env.DB, "apv-race3", stale, "service:pipeline");
    expect(await worker.default.serverPolicy("apv-race3")).toMatchObject({
      lifecycle: "approved",
      approvedVersion: "1.0.0",
    });
    const latest = (await (await call("GET", "/v0.1/servers/apv-race3/versions/latest", { as: RITA })).json()) as Json;
    expect(latest._meta["dev.mcp-fleet/governance"]).toMatchObject({ versionInReview: "1.1.0" });
    const [last] = await listEvents(env.DB, "apv-race3");
    expect(last?.action).toBe("publish");
  });
});

describe("approval needs reviews by two different people, none of them on the owning team", () => {
  it("refuses when one person recorded all three reviews", async () => {
    await publish("apv-solo");
    await toReview("apv-solo");
    await review("apv-solo", RITA);
    const response = await approve("apv-solo");
    expect(response.status).toBe(409);
    expect(await detail(response)).toContain(
      `needs reviews by at least 2 different people before approval (so far only ${subjectOf("rita")})`,
    );
  });

  it("refuses a review by a member of the owning team, admins included", async () => {
    await publish("apv-own");
    for (const as of [DORA, ADMIN_OWNER]) {
      const response = await call("POST", "/v0.1/servers/apv-own/reviews", {
        as,
        body: { kind: "security", state: "approved" },
      });
      expect(response.status).toBe(403);
      expect(await detail(response)).toContain("reviews must come from outside the owning team");
    }
    const outsider = await call("POST", "/v0.1/servers/apv-own/reviews", {
      as: ADMIN,
      body: { kind: "security", state: "approved" },
    });
    expect(outsider.status).toBe(201);
  });

  it("refuses an approval whose reviewer has since become an owner (the team moved to their group)", async () => {
    await reviewed("apv-moved");
    // The server now belongs to the reviewers' own group: rita's and rex's reviews no longer count.
    await env.DB.prepare("UPDATE servers SET team = 'reviewers' WHERE name = 'apv-moved'").run();
    const response = await approve("apv-moved", {}, ADMIN);
    expect(response.status).toBe(409);
    expect(await detail(response)).toContain(
      `reviews must not come from its owning team (reviewers): security by ${subjectOf("rita")}, legal by ${subjectOf("rita")}, genai by ${subjectOf("rex")}`,
    );
  });
});

describe("owners cannot widen who may use a reviewed server", () => {
  const setAccess = (name: string, as: string, body: Record<string, unknown>) =>
    call("PUT", `/v0.1/servers/${name}/access`, { as, body });

  it.each([
    ["a group", { allowedGroups: ["data-eng", "ads"], allowedServices: ["etl-bot"] }, "adding the group ads"],
    ["every user", { allowedGroups: [], allowedServices: ["etl-bot"] }, "allowing every signed-in user (no groups)"],
    ["a service", { allowedGroups: ["data-eng"], allowedServices: ["etl-bot", "x-bot"] }, "adding the service x-bot"],
    ["every service", { allowedGroups: ["data-eng"], allowedServices: true }, "allowing every service"],
  ])("refuses an owner adding %s to an approved server; a reviewer may", async (label, body, reason) => {
    const name = `apv-wide-${label.replace(/\s+/g, "-")}`;
    await reviewed(name);
    expect((await approve(name)).status).toBe(200);
    const byOwner = await setAccess(name, OWNER, body);
    expect(byOwner.status).toBe(403);
    expect(await detail(byOwner)).toContain(`${reason} widens who may use ${name}, which is approved`);
    expect(await worker.default.serverPolicy(name)).toMatchObject({
      allowedGroups: ["data-eng"],
      allowedServices: ["etl-bot"],
    });
    expect((await setAccess(name, RITA, body)).status).toBe(200);
    expect(await worker.default.serverPolicy(name)).toMatchObject(body);
  });

  it("lets owners narrow an approved server, and shape a draft's access freely", async () => {
    await reviewed("apv-narrow");
    expect((await approve("apv-narrow")).status).toBe(200);
    expect((await setAccess("apv-narrow", OWNER, { allowedGroups: ["data-eng"], allowedServices: false })).status).toBe(
      200,
    );
    await publish("apv-draft");
    const wider = { allowedGroups: ["data-eng", "ads"], allowedServices: true };
    expect((await setAccess("apv-draft", OWNER, wider)).status).toBe(200);
    await toReview("apv-draft");
    const widerStill = { allowedGroups: ["data-eng", "ads", "finance"], allowedServices: true };
    expect((await setAccess("apv-draft", OWNER, widerStill)).status).toBe(403);
  });
});
