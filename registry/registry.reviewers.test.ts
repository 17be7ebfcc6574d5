/**
 * Who an approval rests on, in workerd with real D1: reviews count per person by the reviewer's
 * stable IdP identity (Caller.subject), not by email or login; nobody on the owning team takes
 * the approval, reinstates the server or widens who may use it, whatever other groups they are in.
 */
import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { ToolManifest } from "../shared/registry/registry.contract";
import { callRegistry as call, testServerJson } from "./registry.testing";

const worker = exports as unknown as { default: { serverPolicy(name: string): Promise<unknown> } };

const SCOPES = "scopes=registry:read registry:write";
const OWNER = `olga; groups=data-eng; ${SCOPES}`;
const RITA = `rita; groups=reviewers; ${SCOPES}`;
const REX = `rex; groups=reviewers; ${SCOPES}`;
/** One person at the IdP (one issuer and subject) whose email changed between two sign-ins. */
const IDP = "iss=https://idp.example.com";
const SAM_OLD = `sam; sub=sam-1; principal=sam@old.example.com; ${IDP}; groups=reviewers; ${SCOPES}`;
const SAM_NEW = `samuel; sub=sam-1; principal=samuel@new.example.com; ${IDP}; groups=reviewers; ${SCOPES}`;
/** A reviewer, and an admin, who are also on the owning team. */
const DORA = `dora; groups=reviewers,data-eng; ${SCOPES}`;
const ADA = `ada; groups=admins,data-eng; ${SCOPES}`;
const PIPELINE = "service:pipeline; scopes=registry:write";

const TOOLS: ToolManifest[] = [
  {
    name: "demo_read",
    description: "Read things",
    annotations: { readOnlyHint: true },
    access: { scopes: ["demo:read"] },
    needsApproval: false,
    minutesSaved: 5,
    inputSchema: { type: "object", properties: {} },
  },
];

async function expectStatus(response: Response, status: number) {
  expect(response.status, await response.clone().text()).toBe(status);
}

async function publish(name: string, version = "1.0.0") {
  const body = testServerJson(name, { version, tools: TOOLS, allowedGroups: ["data-eng"], allowedServices: false });
  await expectStatus(await call("POST", "/v0.1/publish", { as: PIPELINE, body }), 201);
}

async function review(name: string, as: string, kinds: string[]) {
  for (const kind of kinds) {
    const body = { kind, state: "approved", notes: `${kind} looked at` };
    await expectStatus(await call("POST", `/v0.1/servers/${name}/reviews`, { as, body }), 201);
  }
}

const lifecycle = (name: string, as: string, body: Record<string, unknown>) =>
  call("PUT", `/v0.1/servers/${name}/lifecycle`, { as, body });
const setAccess = (name: string, as: string, body: Record<string, unknown>) =>
  call("PUT", `/v0.1/servers/${name}/access`, { as, body });

async function detail(response: Response): Promise<string> {
  return ((await response.json()) as { detail: string }).detail;
}

/** Published, in review, reviewed by rita (security, legal) and rex (genai). */
async function reviewed(name: string) {
  await publish(name);
  await expectStatus(await lifecycle(name, OWNER, { lifecycle: "in_review" }), 200);
  await review(name, RITA, ["security", "legal"]);
  await review(name, REX, ["genai"]);
}

describe("reviews count by the reviewer's stable identity", () => {
  it("refuses an approval whose 'two reviewers' are one person under two emails", async () => {
    await publish("rvw-sam");
    await expectStatus(await lifecycle("rvw-sam", OWNER, { lifecycle: "in_review" }), 200);
    await review("rvw-sam", SAM_OLD, ["security", "legal"]);
    await review("rvw-sam", SAM_NEW, ["genai"]);
    const response = await lifecycle("rvw-sam", RITA, { lifecycle: "approved" });
    await expectStatus(response, 409);
    expect(await detail(response)).toContain("needs reviews by at least 2 different people");
    expect(await worker.default.serverPolicy("rvw-sam")).toMatchObject({ lifecycle: "in_review" });
    // A second person makes two.
    await review("rvw-sam", REX, ["genai"]);
    await expectStatus(await lifecycle("rvw-sam", RITA, { lifecycle: "approved" }), 200);
  });

  it("names each reviewer by their identity of record in the review history (signed in)", async () => {
    await publish("rvw-names");
    await review("rvw-names", SAM_NEW, ["security"]);
    const history = (await (await call("GET", "/v0.1/servers/rvw-names/reviews", { as: RITA })).json()) as {
      reviews: { reviewer: string }[];
    };
    expect(history.reviews.map((item) => item.reviewer)).toEqual(["samuel@new.example.com"]);
  });
});

describe("the owning team never approves its own server", () => {
  it.each([
    ["a reviewer", DORA],
    ["an admin", ADA],
  ])("refuses the approval by %s on the owning team, though two outsiders reviewed", async (_label, as) => {
    const name = `rvw-own-${as.slice(0, 3)}`;
    await reviewed(name);
    const response = await lifecycle(name, as, { lifecycle: "approved" });
    await expectStatus(response, 403);
    expect(await detail(response)).toContain("member of data-eng, the team that owns");
    expect(await worker.default.serverPolicy(name)).toMatchObject({ lifecycle: "in_review", approvedVersion: null });
  });

  it("refuses an owning-team admin reinstating a deprecated server", async () => {
    await reviewed("rvw-reinstate");
    await expectStatus(await lifecycle("rvw-reinstate", RITA, { lifecycle: "approved" }), 200);
    await expectStatus(await lifecycle("rvw-reinstate", OWNER, { lifecycle: "deprecated" }), 200);
    await expectStatus(await lifecycle("rvw-reinstate", ADA, { lifecycle: "approved" }), 403);
    await expectStatus(await lifecycle("rvw-reinstate", RITA, { lifecycle: "approved" }), 200);
  });
});

describe("the owning team never widens who may use its reviewed server", () => {
  it.each([
    ["a reviewer", DORA],
    ["an admin", ADA],
  ])("refuses %s on the owning team adding a group or a service, or an environment", async (_label, as) => {
    const name = `rvw-wide-${as.slice(0, 3)}`;
    await reviewed(name);
    await expectStatus(await lifecycle(name, RITA, { lifecycle: "approved" }), 200);
    const group = await setAccess(name, as, { allowedGroups: ["data-eng", "ads"], allowedServices: false });
    await expectStatus(group, 403);
    expect(await detail(group)).toContain("adding the group ads widens who may use");
    await expectStatus(await setAccess(name, as, { allowedGroups: ["data-eng"], allowedServices: true }), 403);
    const environments = { allowedGroups: ["data-eng"], allowedServices: false, environments: ["test", "production"] };
    await expectStatus(await setAccess(name, as, environments), 403);
    expect(await worker.default.serverPolicy(name)).toMatchObject({
      allowedGroups: ["data-eng"],
      allowedServices: false,
      environments: ["test"],
    });
    // Narrowing stays theirs; widening is for a reviewer outside the team.
    await expectStatus(await setAccess(name, as, { allowedGroups: ["data-eng"], allowedServices: false }), 200);
    await expectStatus(
      await setAccess(name, RITA, { allowedGroups: ["data-eng", "ads"], allowedServices: false }),
      200,
    );
  });

  it("refuses an owner widening a withdrawn draft whose version has reviews (they approved the old access)", async () => {
    await reviewed("rvw-withdrawn");
    await expectStatus(await lifecycle("rvw-withdrawn", OWNER, { lifecycle: "draft" }), 200);
    const wider = await setAccess("rvw-withdrawn", OWNER, {
      allowedGroups: ["data-eng", "ads"],
      allowedServices: false,
    });
    await expectStatus(wider, 403);
    expect(await detail(wider)).toContain("already has reviews");
    // A new version starts without reviews: its draft is the owners' to shape.
    await publish("rvw-withdrawn", "1.1.0");
    await expectStatus(
      await setAccess("rvw-withdrawn", OWNER, { allowedGroups: ["data-eng", "ads"], allowedServices: false }),
      200,
    );
  });
});
