/**
 * What the registry's read API shows to anyone (a syncing registry client, an anonymous reader)
 * and what needs a signed-in caller (a token with registry:read): on-call, reviewer names, review
 * notes, and what the health probe ran into.
 */
import { env } from "cloudflare:test";
import { eq } from "drizzle-orm";
import { beforeAll, describe, expect, it } from "vitest";
import { healthChecks, servers } from "../shared/db/fleet.schema";
import { addReview, db, publishVersion } from "./registry.store";
import { callRegistry as call, testServerJson } from "./registry.testing";

const READER = "rhea; groups=finance; scopes=registry:read";
const NO_READ_SCOPE = "rhea; groups=finance; scopes=registry:write";

// biome-ignore lint/suspicious/noExplicitAny: the tests read the API's JSON as data
type Json = any;

const SECRET_ERROR = "connection failed: connect ECONNREFUSED 10.0.0.7:8443";

beforeAll(async () => {
  await publishVersion(env.DB, "pub-alpha", testServerJson("pub-alpha", { onCall: "pager:alpha-secret" }), "test");
  await addReview(
    env.DB,
    {
      serverName: "pub-alpha",
      version: "1.0.0",
      kind: "security",
      state: "changes_requested",
      reviewer: "sam-security",
      at: new Date(),
      notes: "the token is logged in plain text",
    },
    "user:sam-security",
  );
  // Approved (with a review still open, as data): only approved servers are listed publicly
  // (registry.anonymous.test.ts).
  await db(env.DB)
    .update(servers)
    .set({ lifecycle: "approved", approvedVersion: "1.0.0" })
    .where(eq(servers.name, "pub-alpha"));
  const at = new Date();
  await db(env.DB)
    .insert(healthChecks)
    .values({ serverName: "pub-alpha", at, up: false, latencyMs: 12, httpStatus: null, error: SECRET_ERROR });
  await db(env.DB)
    .update(servers)
    .set({ healthUp: false, healthCheckedAt: at, healthLatencyMs: 12, healthError: SECRET_ERROR })
    .where(eq(servers.name, "pub-alpha"));
});

const governanceOf = (body: Json) => body._meta["dev.mcp-fleet/governance"];

describe("the public view (no token)", () => {
  it.each([
    "/v0.1/servers?search=pub-alpha",
    "/v0.1/servers/pub-alpha/versions",
    "/v0.1/servers/pub-alpha/versions/latest",
  ])("%s: the official shape with up/down and latency, without on-call, reviewers, notes or errors", async (path) => {
    const response = await call("GET", path);
    expect(response.status).toBe(200);
    const text = await response.clone().text();
    for (const hidden of ["pager:alpha-secret", "sam-security", "plain text", "ECONNREFUSED"]) {
      expect(text).not.toContain(hidden);
    }
    const body = (await response.json()) as Json;
    const governance = governanceOf(body.servers ? body.servers[0] : body);
    expect(governance).not.toHaveProperty("onCall");
    expect(governance.reviews.security).toEqual({
      id: expect.any(String),
      kind: "security",
      state: "changes_requested",
      at: expect.any(String),
      version: "1.0.0",
    });
    expect(governance.health).toEqual({ status: "down", checkedAt: expect.any(String), latencyMs: 12 });
    expect(governance.supportChannel).toBe("#pub-alpha-help");
  });

  it("review history and health checks: states, up/down and latency only", async () => {
    const reviews = (await (await call("GET", "/v0.1/servers/pub-alpha/reviews")).json()) as Json;
    expect(reviews.reviews).toEqual([
      {
        id: expect.any(String),
        kind: "security",
        state: "changes_requested",
        at: expect.any(String),
        version: "1.0.0",
      },
    ]);
    const health = (await (await call("GET", "/v0.1/servers/pub-alpha/health")).json()) as Json;
    expect(health.checks).toEqual([{ at: expect.any(String), up: false, latencyMs: 12 }]);
  });
});

describe("a signed-in caller (registry:read)", () => {
  it("sees on-call, who reviewed and their notes, and the probe's errors", async () => {
    const latest = (await (
      await call("GET", "/v0.1/servers/pub-alpha/versions/latest", { as: READER })
    ).json()) as Json;
    const governance = governanceOf(latest);
    expect(governance.onCall).toBe("pager:alpha-secret");
    expect(governance.reviews.security).toMatchObject({
      reviewer: "sam-security",
      notes: "the token is logged in plain text",
    });
    expect(governance.health.error).toBe(SECRET_ERROR);
    const list = (await (await call("GET", "/v0.1/servers?search=pub-alpha", { as: READER })).json()) as Json;
    expect(governanceOf(list.servers[0]).onCall).toBe("pager:alpha-secret");
    const reviews = (await (await call("GET", "/v0.1/servers/pub-alpha/reviews", { as: READER })).json()) as Json;
    expect(reviews.reviews[0]).toMatchObject({ reviewer: "sam-security" });
    const health = (await (await call("GET", "/v0.1/servers/pub-alpha/health", { as: READER })).json()) as Json;
    expect(health.checks[0]).toMatchObject({ httpStatus: null, error: SECRET_ERROR });
  });

  it("a token without registry:read gets the public view; an invalid token gets 401", async () => {
    const latest = (await (
      await call("GET", "/v0.1/servers/pub-alpha/versions/latest", { as: NO_READ_SCOPE })
    ).json()) as Json;
    expect(governanceOf(latest)).not.toHaveProperty("onCall");
    const invalid = await call("GET", "/v0.1/servers/pub-alpha/versions/latest", {
      headers: { authorization: "Bearer not-a-token" },
    });
    expect(invalid.status).toBe(401);
  });
});
