/**
 * The registry page in workerd against a real D1: what the list and server pages show, filters,
 * empty states and errors, and the signed-in view (sessions validated by the auth stub, which
 * accepts `test.<claims>` tokens). The sign-in round trip itself is covered end to end in
 * test/e2e/page.e2e.test.ts.
 */
import { env } from "cloudflare:test";
import { eq } from "drizzle-orm";
import { beforeAll, describe, expect, it } from "vitest";
import { healthChecks, servers } from "../shared/db/fleet.schema";
import { snippetFor } from "../shared/registry/client.snippets";
import type { ToolManifest } from "../shared/registry/registry.contract";
import { subjectOf } from "../test/workers/mcp-client";
import { safeReturn } from "./page/page.signin";
import { pageApp } from "./registry.page";
import { addReview, db, publishVersion, setLifecycle } from "./registry.store";
import { testServerJson } from "./registry.testing";

const NS = env.REGISTRY_NAMESPACE;
/** The environment access answers are for (vitest.config.ts sets it); test servers are approved for it. */
const ENVIRONMENT: string = (() => {
  if (!env.FLEET_ENV) throw new Error("FLEET_ENV must be set for the registry's workerd tests");
  return env.FLEET_ENV;
})();

function document(name: string, overrides: Parameters<typeof testServerJson>[1] = {}) {
  return testServerJson(name, { environments: [ENVIRONMENT], allowedGroups: ["data-eng", "finance"], ...overrides });
}

const TOOLS: ToolManifest[] = [
  {
    name: "pagetest_run_query",
    description: "Run a read-only SQL query",
    annotations: { readOnlyHint: true },
    access: { scopes: ["presto:read"], services: true },
    needsApproval: false,
    minutesSaved: 10,
  },
  {
    name: "pagetest_kill_query",
    description: "Kill a running query",
    annotations: { destructiveHint: true },
    access: { groups: ["data-eng"], scopes: ["presto:read"] },
    needsApproval: true,
    minutesSaved: 5,
  },
];

const MINUTE = 60_000;

beforeAll(async () => {
  const now = Date.now();
  await publishVersion(
    env.DB,
    "pagetest",
    document("pagetest", {
      title: "Page Test SQL",
      tools: TOOLS,
      websiteUrl: "javascript:alert(1)" as unknown as string,
    }),
    "user:alice",
    new Date(now - 3 * MINUTE),
  );
  await publishVersion(
    env.DB,
    "pagetest",
    document("pagetest", { title: "Page Test SQL", version: "1.1.0", tools: TOOLS }),
    "service:pipeline",
    new Date(now - 2 * MINUTE),
  );
  await setLifecycle(env.DB, "pagetest", { from: "draft", to: "approved" }, "user:admin");
  await addReview(
    env.DB,
    {
      serverName: "pagetest",
      version: "1.1.0",
      kind: "security",
      state: "approved",
      reviewer: "sam-security",
      at: new Date(now - MINUTE),
      notes: "No secrets in logs",
    },
    "user:sam-security",
  );
  await publishVersion(env.DB, "sparkpage", document("sparkpage", { team: "analytics" }), "user:carol");
  const orm = db(env.DB);
  await orm.insert(healthChecks).values([
    {
      serverName: "pagetest",
      at: new Date(now - 10 * MINUTE),
      up: false,
      latencyMs: 5000,
      httpStatus: null,
      error: "timeout",
    },
    { serverName: "pagetest", at: new Date(now - 5 * MINUTE), up: true, latencyMs: 42, httpStatus: 200, error: null },
  ]);
  await orm
    .update(servers)
    .set({ healthUp: true, healthCheckedAt: new Date(now - 5 * MINUTE), healthLatencyMs: 42 })
    .where(eq(servers.name, "pagetest"));
});

async function page(path: string, init: RequestInit = {}) {
  const response = await pageApp.request(`http://localhost${path}`, init, env);
  return { response, html: await response.text() };
}

/** The HTML as hono/jsx escapes text. */
function escaped(text: string): string {
  return text.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;").replaceAll('"', "&quot;");
}

/** A signed-in viewer with registry:read, who sees drafts and every version. */
function reader() {
  return sessionCookie({ name: "rhea", groups: [] });
}

function sessionCookie(user: { name: string; groups: string[] }, options: { expiresIn?: number } = {}) {
  const exp = Math.floor(Date.now() / 1000) + (options.expiresIn ?? 300);
  const claims = {
    props: { kind: "user", sub: subjectOf(user.name), username: user.name, groups: user.groups },
    scope: ["registry:read"],
    exp,
  };
  const session = { a: `test.${btoa(JSON.stringify(claims))}`, e: exp, c: "page-test-client" };
  const value = btoa(JSON.stringify(session)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  return { cookie: `fleet_session=${value}` };
}

describe("the server list", () => {
  it("lists each server once (latest version) with team, lifecycle, status, version and tool count", async () => {
    const { response, html } = await page("/", { headers: reader() });
    expect(response.status).toBe(200);
    expect(response.headers.get("content-security-policy")).toContain("default-src 'none'");
    expect(html).toMatch(/^<!doctype html><html lang="en">/);
    expect(html).toContain("ul.cards>li{"); // the stylesheet is not HTML-escaped
    expect(html.match(/<h1[ >]/g)).toHaveLength(1);
    expect(html).toContain("Page Test SQL");
    expect(html).toContain(`${NS}/pagetest`);
    expect(html.match(/href="\/servers\/pagetest"/g)).toHaveLength(1);
    expect(html).toContain('<span class="badge lc-approved">Approved</span>');
    expect(html).toContain('<span class="badge st-up">Up</span> · 42 ms · checked ');
    expect(html).toContain(">5 min ago</time>");
    expect(html).toContain("<dt>Version</dt><dd>1.1.0</dd>");
    expect(html).toContain("<dt>Tools</dt><dd>2</dd>");
    expect(html).toContain("sparkpage title");
    expect(html).toContain('<span class="badge st-unknown">Unknown</span> · not checked yet');
    expect(html).toContain("Signed in as <strong>rhea</strong>");
    expect(html).not.toContain("You can use");
    expect((await page("/")).html).toContain("Sign in");
  });

  it("narrows by search, team, lifecycle and status", async () => {
    const titles = async (query: string) => {
      const { html } = await page(`/?${query}`, { headers: reader() });
      return ["Page Test SQL", "sparkpage title"].filter((title) => html.includes(title));
    };
    expect(await titles("search=PAGE+TEST")).toEqual(["Page Test SQL"]);
    expect(await titles("search=the+sparkpage")).toEqual(["sparkpage title"]);
    expect(await titles("team=analytics")).toEqual(["sparkpage title"]);
    expect(await titles("lifecycle=approved")).toEqual(["Page Test SQL"]);
    expect(await titles("lifecycle=draft")).toEqual(["sparkpage title"]);
    expect(await titles("status=up")).toEqual(["Page Test SQL"]);
    expect(await titles("status=unknown")).toEqual(["sparkpage title"]);
    expect(await titles("status=down")).toEqual([]);
  });

  it("keeps the chosen filters in the form, and says when nothing matches", async () => {
    const { html } = await page("/?search=nothing-like-this&team=analytics&status=down");
    expect(html).toContain('value="nothing-like-this"');
    expect(html).toContain('<option value="analytics" selected="">analytics</option>');
    expect(html).toContain("No server matches these filters.");
  });

  it("ignores filter values that do not exist, with a notice", async () => {
    const { response, html } = await page("/?lifecycle=bogus&status=sideways");
    expect(response.status).toBe(200);
    expect(html).toContain("There is no lifecycle “bogus”");
    expect(html).toContain("There is no status “sideways”");
    expect(html).toContain("Page Test SQL");
  });

  it("recovers from a cursor it did not issue", async () => {
    const { response, html } = await page("/?cursor=not-a-cursor");
    expect(response.status).toBe(200);
    expect(html).toContain("That page link is no longer valid");
  });

  it("pages through the store's cursor, keeping the filters", async () => {
    for (let i = 0; i < 26; i++) {
      const name = `zz-paging-${String(i).padStart(2, "0")}`;
      await publishVersion(env.DB, name, document(name, { team: "paging" }), "service:pipeline");
    }
    const first = await page("/?team=paging", { headers: reader() });
    expect(first.html.match(/href="\/servers\/zz-paging-\d\d"/g)).toHaveLength(24);
    expect(first.html).toContain("more on the next page");
    expect(first.html).not.toContain(">First page</a>");
    const next = /<a href="(\/\?team=paging&amp;cursor=[^"]+)" rel="next">Next page<\/a>/.exec(first.html)?.[1];
    expect(next).toBeDefined();
    const second = await page((next as string).replaceAll("&amp;", "&"), { headers: reader() });
    expect(second.html.match(/href="\/servers\/zz-paging-\d\d"/g)).toEqual([
      'href="/servers/zz-paging-24"',
      'href="/servers/zz-paging-25"',
    ]);
    expect(second.html).toContain('<a href="/?team=paging">First page</a>');
    expect(second.html).not.toContain("Next page");
  });

  it("gives every form control a label", async () => {
    const { html } = await page("/");
    const ids = [...html.matchAll(/<(?:input|select)[^>]*\bid="([^"]+)"/g)].map((match) => match[1]);
    expect(ids.length).toBeGreaterThanOrEqual(4);
    for (const id of ids) expect(html).toContain(`<label for="${id}">`);
  });
});

describe("a server's page", () => {
  it("shows governance, reviews, live status, tools, versions and connection snippets", async () => {
    const { response, html } = await page("/servers/pagetest");
    expect(response.status).toBe(200);
    expect(html.match(/<h1[ >]/g)).toHaveLength(1);
    expect(html).toContain("<h1>Page Test SQL</h1>");
    expect(html).toContain("<dt>Support channel</dt><dd>#pagetest-help</dd>");
    // Reviews: the security review's state, and the areas nobody has reviewed yet. Who reviewed,
    // their notes, on-call and what the probe ran into are for signed-in readers only.
    expect(html).toMatch(
      /<th scope="row">Security<\/th><td data-label="State"><span class="badge rv-approved">Approved<\/span><\/td><td data-label="Reviewer"><span class="muted">sign in to see<\/span><\/td>/,
    );
    expect(html).toMatch(
      /<th scope="row">Legal\/Privacy<\/th><td data-label="State"><span class="badge rv-none">Not reviewed<\/span>/,
    );
    expect(html).toContain('<dt>On-call</dt><dd><span class="muted">sign in to see</span></dd>');
    for (const hidden of ["sam-security", "No secrets in logs", "pagetest-oncall", "HTTP 200", "timeout"]) {
      expect(html).not.toContain(hidden);
    }
    // Health: the last probe and the recent checks, up or down with latency.
    expect(html).toContain("42 ms");
    expect(html).toContain("5000 ms");
    // Tools with their annotations, access and approval.
    expect(html).toContain("<code>pagetest_kill_query</code>");
    expect(html).toContain('<li class="tag destructive">Destructive</li><li class="tag approval">Needs approval</li>');
    expect(html).toContain('<li class="tag">Read-only</li>');
    expect(html).toContain("<dt>Groups</dt><dd>data-eng</dd>");
    expect(html).toContain("<dt>Minutes saved</dt><dd>5 per call (owner&#39;s estimate)</dd>");
    // Versions, newest first.
    expect(html.indexOf("1.1.0 (shown)")).toBeGreaterThan(-1);
    // Anonymously, only the approved version (1.1.0) is there: 1.0.0 was never approved.
    expect(html).not.toContain('href="/servers/pagetest?version=1.0.0"');
    // Snippets, exactly as the shared functions write them.
    const url = "https://pagetest.mcp.example.com/mcp";
    for (const client of ["claude", "cursor", "vscode", "mcp-remote"] as const) {
      expect(html).toContain(`<code id="snippet-${client}">${escaped(snippetFor(client, "pagetest", url))}</code>`);
    }
    expect(html).toContain('<script src="/assets/page.js" defer="">');
    expect(html).toContain("Sign in to see whether you can use this server");
  });

  it("shows an older version on request and links back to the latest", async () => {
    const { html } = await page("/servers/pagetest?version=1.0.0", { headers: reader() });
    expect(html).toContain("You are looking at version 1.0.0.");
    expect(html).toContain("1.0.0 (shown)");
  });

  it("never renders a published non-http URL as a link", async () => {
    const { html } = await page("/servers/pagetest?version=1.0.0", { headers: reader() });
    expect(html).not.toContain("javascript:");
  });

  it("shows an anonymous viewer only what reviewers approved: no drafts, no unapproved versions", async () => {
    const list = await page("/");
    expect(list.html).toContain("Page Test SQL");
    expect(list.html).not.toContain("sparkpage");
    expect((await page("/servers/sparkpage")).response.status).toBe(404);
    expect((await page("/servers/pagetest?version=1.0.0")).response.status).toBe(404);
    expect((await page("/servers/sparkpage", { headers: reader() })).response.status).toBe(200);
  });

  it("answers 404 for an unknown server or version", async () => {
    const unknown = await page("/servers/no-such-server");
    expect(unknown.response.status).toBe(404);
    expect(unknown.html).toContain("No server named “no-such-server” is registered.");
    const version = await page("/servers/pagetest?version=9.9.9");
    expect(version.response.status).toBe(404);
    expect(version.html).toContain("No version 9.9.9 of pagetest");
  });

  it("redirects a full server name to the short one", async () => {
    const { response } = await page(`/servers/${encodeURIComponent(`${NS}/pagetest`)}`);
    expect(response.status).toBe(301);
    expect(response.headers.get("location")).toBe("/servers/pagetest");
  });

  it("serves the copy script", async () => {
    const response = await pageApp.request("http://localhost/assets/page.js", {}, env);
    expect(response.headers.get("content-type")).toContain("text/javascript");
    expect(await response.text()).toContain("navigator.clipboard.writeText");
  });
});

describe("signed in", () => {
  const alice = sessionCookie({ name: "alice", groups: ["data-eng", "ads"] });
  const bob = sessionCookie({ name: "bob", groups: ["finance"] });
  const carol = sessionCookie({ name: "carol", groups: [] });

  it("says on the list which servers the viewer can use and why not", async () => {
    const { html } = await page("/", { headers: carol });
    expect(html).toContain("Signed in as <strong>carol</strong>");
    expect(html).toContain("Sign out");
    expect(html).toContain(
      'Not for you: <span class="why">user carol is in none of the groups allowed to use the pagetest server (data-eng, finance)</span>',
    );
    expect(html).toContain("the sparkpage server is not approved (it is draft)");
    const asAlice = await page("/", { headers: alice });
    expect(asAlice.html).toContain("You can use this server");
  });

  it("shows a reader with registry:read who reviewed, their notes, on-call and the probe's errors", async () => {
    const { html } = await page("/servers/pagetest", { headers: bob });
    expect(html).toMatch(
      /<th scope="row">Security<\/th><td data-label="State"><span class="badge rv-approved">Approved<\/span><\/td><td data-label="Reviewer">sam-security<\/td>/,
    );
    expect(html).toContain("No secrets in logs");
    expect(html).toContain("<dt>On-call</dt><dd>pagetest-oncall</dd>");
    expect(html).toContain("HTTP 200");
    expect(html).toContain("timeout");
    expect(html).not.toContain("sign in to see");
  });

  it("answers per tool: alice may kill queries, bob may not", async () => {
    const asAlice = await page("/servers/pagetest", { headers: alice });
    expect(asAlice.html.match(/You can use this tool/g)).toHaveLength(2);
    expect(asAlice.html).toContain("(your MCP client will ask for presto:read)");
    expect(asAlice.html).toContain("(your MCP client will ask for presto:read; you confirm each call)");
    const asBob = await page("/servers/pagetest", { headers: bob });
    expect(asBob.html).toContain("You can use this server");
    expect(asBob.html.match(/You can use this tool/g)).toHaveLength(1);
    expect(asBob.html).toContain("pagetest_kill_query requires membership in one of: data-eng");
  });

  it("ends a session whose token has expired and cannot be refreshed", async () => {
    const expired = sessionCookie({ name: "alice", groups: ["data-eng"] }, { expiresIn: -60 });
    const { response, html } = await page("/", { headers: expired });
    expect(html).toContain("Your sign-in has expired");
    expect(html).not.toContain("Signed in as");
    expect(response.headers.get("set-cookie")).toMatch(/^fleet_session=; Max-Age=0; Path=\//);
  });

  it("ignores a cookie that is not a session", async () => {
    const { html } = await page("/", { headers: { cookie: "fleet_session=garbage" } });
    expect(html).not.toContain("Signed in as");
  });

  it("signs out with a same-origin POST only", async () => {
    const forged = await pageApp.request(
      "http://localhost/auth/signout",
      {
        method: "POST",
        headers: { ...alice, origin: "https://evil.example", "content-type": "application/x-www-form-urlencoded" },
      },
      env,
    );
    expect(forged.status).toBe(403);
    const signedOut = await pageApp.request(
      "http://localhost/auth/signout",
      {
        method: "POST",
        headers: { ...alice, origin: "http://localhost", "content-type": "application/x-www-form-urlencoded" },
      },
      env,
    );
    expect(signedOut.status).toBe(303);
    expect(signedOut.headers.get("location")).toBe("/");
    expect(signedOut.headers.get("set-cookie")).toMatch(/^fleet_session=; Max-Age=0; Path=\//);
  });

  it("refuses a callback this browser did not start", async () => {
    const { response, html } = await page("/auth/callback?code=abc&state=forged-state-value-123");
    expect(response.status).toBe(400);
    expect(html).toContain("This sign-in cannot be completed");
  });

  it.each([
    ["/servers/presto?version=1.0.0#tools", "/servers/presto?version=1.0.0#tools"],
    ["/", "/"],
    ["https://evil.example/", "/"],
    ["//evil.example", "/"],
    ["/\\evil.example", "/"],
    ["/\t/evil.example", "/"],
    ["/\n/evil.example", "/"],
    ["/auth/signin", "/"],
    [undefined, "/"],
  ])("comes back after sign-in only to a page of this site: %j → %s", (value, expected) => {
    expect(safeReturn(value)).toBe(expected);
  });
});
