/**
 * A new version of an approved server, in workerd with real D1: it goes to review while the
 * approved version keeps serving (the policy keeps its version and tools digest, access answers
 * come from its tools), the API shows both, and its approval is a compare-and-set on the latest
 * version like the first one.
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
const PIPELINE = "service:pipeline; scopes=registry:write";
const USER = "ulla; groups=data-eng; scopes=registry:read";

// biome-ignore lint/suspicious/noExplicitAny: the tests read the API's JSON as data
type Json = any;

const READ: ToolManifest = {
  name: "demo_read",
  description: "Read things",
  annotations: { readOnlyHint: true },
  access: {},
  needsApproval: false,
  minutesSaved: 5,
  inputSchema: { type: "object", properties: {} },
};
const WRITE: ToolManifest = { ...READ, name: "demo_write", annotations: { destructiveHint: true } };

async function expectStatus(response: Response, status: number) {
  expect(response.status, await response.clone().text()).toBe(status);
}

async function publish(name: string, version: string, tools: ToolManifest[]) {
  const body = testServerJson(name, { version, tools, allowedGroups: ["data-eng"] });
  await expectStatus(await call("POST", "/v0.1/publish", { as: PIPELINE, body }), 201);
}

async function reviewAll(name: string, version: string) {
  for (const [kind, as] of [
    ["security", RITA],
    ["legal", RITA],
    ["genai", REX],
  ] as const) {
    const body = { kind, state: "approved", version };
    await expectStatus(await call("POST", `/v0.1/servers/${name}/reviews`, { as, body }), 201);
  }
}

const approve = (name: string, version?: string) =>
  call("PUT", `/v0.1/servers/${name}/lifecycle`, {
    as: RITA,
    body: { lifecycle: "approved", ...(version ? { version } : {}) },
  });

async function governance(name: string, version = "latest"): Promise<Json> {
  const response = await call("GET", `/v0.1/servers/${name}/versions/${version}`, { as: RITA });
  await expectStatus(response, 200);
  return ((await response.json()) as Json)._meta["dev.mcp-fleet/governance"];
}

/** 1.0.0 (READ only) approved, then 1.1.0 (READ and WRITE) published. */
async function approvedWithNewVersion(name: string) {
  await publish(name, "1.0.0", [READ]);
  await expectStatus(
    await call("PUT", `/v0.1/servers/${name}/lifecycle`, { as: OWNER, body: { lifecycle: "in_review" } }),
    200,
  );
  await reviewAll(name, "1.0.0");
  await expectStatus(await approve(name, "1.0.0"), 200);
  const before = (await worker.default.serverPolicy(name)) as Json;
  await publish(name, "1.1.0", [READ, WRITE]);
  return before;
}

describe("a new version of an approved server goes to review; the approved one keeps serving", () => {
  it("keeps the policy (lifecycle, version, digest) of the approved version", async () => {
    const before = await approvedWithNewVersion("ver-keep");
    expect(before).toMatchObject({ lifecycle: "approved", approvedVersion: "1.0.0" });
    expect(await worker.default.serverPolicy("ver-keep")).toEqual(before);
  });

  it("shows both versions: what is approved and serving, what is latest and in review", async () => {
    await approvedWithNewVersion("ver-both");
    expect(await governance("ver-both")).toMatchObject({
      lifecycle: "approved",
      approvedVersion: "1.0.0",
      latestVersion: "1.1.0",
      versionInReview: "1.1.0",
    });
  });

  it("answers access questions from the approved version's tools, not the one in review", async () => {
    await approvedWithNewVersion("ver-tools");
    const ask = async (tool: string) =>
      (await (await call("GET", `/v0.1/access?server=ver-tools&tool=${tool}`, { as: USER })).json()) as Json;
    expect(await ask("demo_read")).toMatchObject({ allowed: true });
    expect(await ask("demo_write")).toMatchObject({ allowed: false, code: "unknown_tool" });
  });

  it("approves the new version once it is reviewed, and then serves it", async () => {
    await approvedWithNewVersion("ver-next");
    const unreviewed = await approve("ver-next", "1.1.0");
    await expectStatus(unreviewed, 409);
    expect(((await unreviewed.json()) as Json).detail).toContain("security (not reviewed)");
    await reviewAll("ver-next", "1.1.0");
    await expectStatus(await approve("ver-next", "1.1.0"), 200);
    expect(await worker.default.serverPolicy("ver-next")).toMatchObject({
      lifecycle: "approved",
      approvedVersion: "1.1.0",
    });
    expect(await governance("ver-next")).toMatchObject({ versionInReview: null, latestVersion: "1.1.0" });
    // Approving it again is no change.
    await expectStatus(await approve("ver-next", "1.1.0"), 409);
  });

  it("refuses an approval racing a newer publish, and keeps serving the approved version", async () => {
    const before = await approvedWithNewVersion("ver-race");
    await reviewAll("ver-race", "1.1.0");
    await publish("ver-race", "1.2.0", [READ, WRITE]);
    const late = await approve("ver-race", "1.1.0");
    await expectStatus(late, 409);
    expect(((await late.json()) as Json).detail).toContain("1.1.0 is not its latest version (1.2.0)");
    expect(await worker.default.serverPolicy("ver-race")).toEqual(before);
    expect(await governance("ver-race")).toMatchObject({ versionInReview: "1.2.0", approvedVersion: "1.0.0" });
  });
});
