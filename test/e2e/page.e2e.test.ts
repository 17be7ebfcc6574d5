/**
 * The registry page in a real browser (Chromium through playwright-core) against the e2e fleet:
 * the list and its filters, a server's page, the copy button, sign-in as alice and as bob through
 * the real consent page and the local IdP, basic accessibility checks, and the 375 px layout.
 * Screenshots go to test-results/screenshots/ on every run.
 *
 * Chromium: CHROMIUM_PATH, else a system one (Debian's /usr/bin/chromium), else the one inside the
 * @sparticuz/chromium devDependency; FLEET_PAGE_CHROMIUM=npm forces that one (./chromium.ts).
 */
// biome-ignore-all lint/performance/useDomNodeTextContent: Playwright locators' innerText(), not DOM nodes
import { mkdirSync } from "node:fs";
import { join, resolve } from "node:path";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { LOCAL_SERVICES } from "../../local/fleet.ts";
import { PASSWORDS, serviceToken, signIn } from "../../local/oauth.client.ts";
import { snippetFor } from "../../shared/registry/client.snippets.ts";
import { chooseChromium, launchChromium } from "./chromium.ts";

const registry = inject("registryUrl");
const authUrl = inject("authUrl");
const NS = "com.example.mcp-fleet";
const SCREENSHOTS = resolve(import.meta.dirname, "../../test-results/screenshots");

/** Servers this test publishes next to the fleet's own (presto), to have something to filter. */
const EXTRA = [
  { name: "pagee2e-draft", title: "Page e2e draft server", lifecycle: "draft", description: "A draft server" },
  {
    name: "pagee2e-review",
    title: "Page e2e review server",
    lifecycle: "in_review",
    description: "A server waiting for its reviews",
  },
] as const;
const EXTRA_TEAM = "pagee2e-team";

let browser: Browser;
const contexts: BrowserContext[] = [];
/**
 * A reviewer (dave) signed in with registry:read, in the browser and as a token: drafts and
 * servers in review are shown only to such a reader (anonymously, only what reviewers approved).
 */
let readerState: Awaited<ReturnType<BrowserContext["storageState"]>>;
let readerToken: string;

beforeAll(async () => {
  mkdirSync(SCREENSHOTS, { recursive: true });
  await publishExtraServers();
  const choice = chooseChromium(process.env);
  browser = await launchChromium(choice);
  console.log(
    `page tests: Chromium ${browser.version()} from ${choice.source} (${choice.executablePath ?? "@sparticuz/chromium"})`,
  );
  readerToken = (await signIn(authUrl, "dave", registry, "registry:read")).access_token;
  const context = await browser.newContext({ baseURL: registry });
  const page = await context.newPage();
  await page.goto("/");
  await signInThroughBrowser(page, "dave");
  await page.waitForURL(`${registry}/`);
  readerState = await context.storageState();
  await context.close();
});

afterAll(async () => {
  for (const context of contexts) await context.close();
  await browser?.close();
});

async function newPage(
  options: { width?: number; height?: number; clipboard?: boolean; reader?: boolean } = {},
): Promise<Page> {
  const context = await browser.newContext({
    viewport: { width: options.width ?? 1280, height: options.height ?? 900 },
    baseURL: registry,
    ...(options.reader ? { storageState: readerState } : {}),
  });
  if (options.clipboard) {
    await context.grantPermissions(["clipboard-read", "clipboard-write"], { origin: registry });
  }
  contexts.push(context);
  return context.newPage();
}

async function screenshot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true });
}

/** The titles of the server cards on the list, in page order. */
async function cardTitles(page: Page): Promise<string[]> {
  return page.locator("ul.cards article h3").allInnerTexts();
}

/** The server titles the API lists for the same filters (every page of them), to the reader or anonymously. */
async function apiTitles(query: Record<string, string>, as: "reader" | "anonymous" = "reader"): Promise<string[]> {
  const titles: string[] = [];
  let cursor: string | undefined;
  do {
    const params = new URLSearchParams({ ...query, version: "latest", limit: "100", ...(cursor ? { cursor } : {}) });
    const headers: Record<string, string> = as === "reader" ? { authorization: `Bearer ${readerToken}` } : {};
    const response = await fetch(`${registry}/v0.1/servers?${params}`, { headers });
    expect(response.status).toBe(200);
    const body = (await response.json()) as {
      servers: { server: { title: string } }[];
      metadata: { nextCursor?: string };
    };
    titles.push(...body.servers.map((entry) => entry.server.title));
    cursor = body.metadata.nextCursor;
  } while (cursor);
  return titles.sort();
}

describe("the server list", () => {
  it("shows an anonymous visitor only approved servers, as the API does", async () => {
    const page = await newPage();
    await page.goto("/");
    const titles = await cardTitles(page);
    expect(titles).toContain("Presto SQL");
    for (const server of EXTRA) expect(titles).not.toContain(server.title);
    expect([...titles].sort()).toEqual(await apiTitles({}, "anonymous"));
    const draft = await page.goto(`/servers/${EXTRA[0].name}`);
    expect(draft?.status()).toBe(404);
  });

  it("shows a signed-in reader every server with its team, lifecycle, live status, version and tools", async () => {
    const page = await newPage({ reader: true });
    const response = await page.goto("/");
    expect(response?.status()).toBe(200);
    await expect(page.locator("h1").innerText()).resolves.toBe("MCP servers");
    const titles = await cardTitles(page);
    expect(titles).toEqual(expect.arrayContaining(["Presto SQL", ...EXTRA.map((server) => server.title)]));
    expect([...titles].sort()).toEqual(await apiTitles({}));

    const presto = page.locator("article", { has: page.getByRole("link", { name: "Presto SQL", exact: true }) });
    await expect(presto.locator("code").innerText()).resolves.toBe(`${NS}/presto`);
    await expect(presto.locator(".lc-approved").innerText()).resolves.toBe("Approved");
    await expect(presto.locator("dt:text('Status') + dd").innerText()).resolves.toMatch(
      /^(Up|Down) · \d+ ms · checked (just now|\d+ min ago|\d+ h ago)|^Unknown · not checked yet$/,
    );
    await expect(presto.locator("dt:text('Tools') + dd").innerText()).resolves.toMatch(/^[1-9]\d*$/);
    await expect(presto.locator("dt:text('Team') + dd").innerText()).resolves.not.toBe("");
    await screenshot(page, "list-desktop");
  });

  it("searches name, title and description without JavaScript", async () => {
    const context = await browser.newContext({
      javaScriptEnabled: false,
      baseURL: registry,
      storageState: readerState,
    });
    contexts.push(context);
    const page = await context.newPage();
    await page.goto("/");
    await page.getByLabel("Search name, title or description").fill("presto");
    await page.getByRole("button", { name: "Search" }).click();
    await page.waitForURL(/search=presto/);
    expect(await cardTitles(page)).toEqual(["Presto SQL"]);
    await page.getByLabel("Search name, title or description").fill("pagee2e");
    await page.getByRole("button", { name: "Search" }).click();
    await page.waitForURL(/search=pagee2e/);
    expect((await cardTitles(page)).sort()).toEqual(EXTRA.map((server) => server.title).sort());
    await page.getByLabel("Search name, title or description").fill("WAITING for its");
    await page.getByRole("button", { name: "Search" }).click();
    await page.waitForURL(/search=WAITING/);
    expect(await cardTitles(page)).toEqual(["Page e2e review server"]);
  });

  it("narrows by team, lifecycle and status, agreeing with the API", async () => {
    const page = await newPage({ reader: true });
    await page.goto("/");
    const all = await cardTitles(page);

    await page.getByLabel("Team").selectOption(EXTRA_TEAM);
    await page.getByRole("button", { name: "Search" }).click();
    await page.waitForURL(/team=/);
    expect((await cardTitles(page)).sort()).toEqual(EXTRA.map((server) => server.title).sort());

    await page.getByLabel("Lifecycle").selectOption("draft");
    await page.getByRole("button", { name: "Search" }).click();
    await page.waitForURL(/lifecycle=draft/);
    expect(await cardTitles(page)).toEqual(["Page e2e draft server"]);

    await page.goto("/?lifecycle=approved");
    const approved = await cardTitles(page);
    expect(approved).toContain("Presto SQL");
    expect(approved).not.toContain("Page e2e draft server");
    expect(approved.length).toBeLessThan(all.length);

    const byStatus: string[] = [];
    for (const status of ["up", "down", "unknown"]) {
      await page.goto("/");
      await page.getByLabel("Status").selectOption(status);
      await page.getByRole("button", { name: "Search" }).click();
      await page.waitForURL(new RegExp(`status=${status}`));
      const titles = (await cardTitles(page)).sort();
      expect(titles).toEqual(await apiTitles({ status }));
      if (titles.length === 0)
        await expect(page.getByText("No server matches these filters.").count()).resolves.toBe(1);
      byStatus.push(...titles);
    }
    expect(byStatus.sort()).toEqual([...all].sort());
  });
});

describe("a server's page", () => {
  it("shows reviews, tools with their approval flag, and exact connection snippets", async () => {
    const page = await newPage({ clipboard: true });
    await page.goto("/");
    await page.getByRole("link", { name: "Presto SQL", exact: true }).click();
    await page.waitForURL(/\/servers\/presto$/);
    await expect(page.locator("h1").innerText()).resolves.toBe("Presto SQL");

    // Reviews: the three areas, each with a state and date; who reviewed is for signed-in readers.
    const reviews = page.getByRole("table", { name: "Current review per area" });
    for (const area of ["Security", "Legal/Privacy", "GenAI"]) {
      const row = reviews.getByRole("row", { name: new RegExp(`^${area.replace("/", "\\/")}`) });
      await expect(row.locator("td").nth(0).innerText()).resolves.toMatch(
        /Approved|Pending|Changes requested|Rejected/,
      );
      await expect(row.locator("td").nth(1).innerText()).resolves.toBe("sign in to see");
      await expect(row.locator("td").nth(2).innerText()).resolves.toMatch(/^\d{4}-\d{2}-\d{2}$/);
    }
    await expect(page.locator("dt:text('On-call') + dd").innerText()).resolves.toBe("sign in to see");

    // Tools: the kill tool is destructive and needs approval; the query tool is read-only.
    const kill = page.locator("article", { has: page.locator("h3", { hasText: "presto_kill_query" }) });
    await expect(kill.getByText("Needs approval", { exact: true }).count()).resolves.toBe(1);
    await expect(kill.getByText("Destructive", { exact: true }).count()).resolves.toBe(1);
    await expect(kill.locator("dt:text('Groups') + dd").innerText()).resolves.toBe("data-eng");
    const run = page.locator("article", { has: page.locator("h3", { hasText: "presto_run_query" }) });
    await expect(run.getByText("Read-only", { exact: true }).count()).resolves.toBe(1);
    await expect(run.getByText("Needs approval", { exact: true }).count()).resolves.toBe(0);

    // Snippets: exactly what the shared functions write for the published endpoint.
    const published = (await (
      await fetch(`${registry}/v0.1/servers/${encodeURIComponent(`${NS}/presto`)}/versions/latest`)
    ).json()) as { server: { remotes: { url: string }[] } };
    const url = published.server.remotes[0]?.url as string;
    for (const client of ["claude", "cursor", "vscode", "mcp-remote"] as const) {
      await expect(page.locator(`#snippet-${client}`).textContent()).resolves.toBe(snippetFor(client, "presto", url));
    }
    await page.getByRole("button", { name: "Copy Claude Code snippet" }).click();
    // The clipboard write is asynchronous: wait for the button's status message.
    await page.locator("#snippet-claude-status", { hasText: /^Copied$/ }).waitFor({ timeout: 5_000 });
    await expect(page.evaluate(() => navigator.clipboard.readText())).resolves.toBe(
      `claude mcp add --transport http presto ${url}`,
    );
    await screenshot(page, "server-page");
  });

  it("answers 404 with a way back for a server that does not exist", async () => {
    const page = await newPage();
    const response = await page.goto("/servers/no-such-server");
    expect(response?.status()).toBe(404);
    await page.getByRole("link", { name: "See all servers" }).click();
    await page.waitForURL(`${registry}/`);
  });
});

describe("signed in", () => {
  it("shows alice what she may use, and what not with the reason; sign-out forgets her", async () => {
    const page = await newPage();
    await page.goto("/servers/presto");
    await signInThroughBrowser(page, "alice");
    await page.waitForURL(`${registry}/servers/presto`);
    await expect(page.locator("header").innerText()).resolves.toContain("Signed in as Alice Analyst");
    await expect(page.locator("main > .verdict").innerText()).resolves.toBe("You can use this server");
    const kill = page.locator("article", { has: page.locator("h3", { hasText: "presto_kill_query" }) });
    await expect(kill.locator(".verdict").innerText()).resolves.toMatch(
      /^You can use this tool .*you confirm each call/,
    );
    // Signed in, she sees who reviewed (two people outside data-eng) and who is on call.
    const reviewers = page.getByRole("table", { name: "Current review per area" }).locator("td[data-label=Reviewer]");
    // Reviewers of record are their verified emails, never a login name.
    expect((await reviewers.allInnerTexts()).sort()).toEqual([
      "dave@example.com",
      "dave@example.com",
      "erin@example.com",
    ]);
    await expect(page.locator("dt:text('On-call') + dd").innerText()).resolves.toBe("data-eng-oncall");
    await screenshot(page, "signed-in-server");

    await page.goto("/");
    const draft = page.locator("article", { has: page.getByRole("link", { name: "Page e2e draft server" }) });
    await expect(draft.locator(".verdict").innerText()).resolves.toBe(
      "Not for you: the pagee2e-draft server is not approved (it is draft)",
    );
    const presto = page.locator("article", { has: page.getByRole("link", { name: "Presto SQL", exact: true }) });
    await expect(presto.locator(".verdict").innerText()).resolves.toBe("You can use this server");
    await screenshot(page, "signed-in-list");

    const cookies = await page.context().cookies(registry);
    const session = cookies.find((cookie) => cookie.name === "fleet_session");
    expect(session).toMatchObject({ httpOnly: true, sameSite: "Lax", secure: false });

    // An access token lives minutes: once it has expired the page renews it with the refresh token.
    const stored = JSON.parse(Buffer.from(session?.value ?? "", "base64url").toString()) as { a: string; e: number };
    const expired = Buffer.from(JSON.stringify({ ...stored, e: 0 })).toString("base64url");
    await page.context().addCookies([{ ...(session as NonNullable<typeof session>), value: expired }]);
    await page.reload();
    await expect(page.locator("header").innerText()).resolves.toContain("Signed in as Alice Analyst");
    const renewed = (await page.context().cookies(registry)).find((cookie) => cookie.name === "fleet_session");
    const renewedSession = JSON.parse(Buffer.from(renewed?.value ?? "", "base64url").toString()) as {
      a: string;
      e: number;
    };
    expect(renewedSession.a).not.toBe(stored.a);
    expect(renewedSession.e).toBeGreaterThan(Date.now() / 1000);

    await page.getByRole("button", { name: "Sign out" }).click();
    await page.waitForURL(`${registry}/`);
    await expect(page.getByRole("link", { name: "Sign in" }).count()).resolves.toBe(1);
    await expect(page.locator(".verdict").count()).resolves.toBe(0);
    expect((await page.context().cookies(registry)).some((cookie) => cookie.name === "fleet_session")).toBe(false);
  });

  it("tells bob that presto_kill_query is not for him, and why", async () => {
    const page = await newPage();
    await page.goto("/servers/presto");
    await signInThroughBrowser(page, "bob");
    await page.waitForURL(`${registry}/servers/presto`);
    await expect(page.locator("header").innerText()).resolves.toContain("Signed in as Bob Budget");
    await expect(page.locator("main > .verdict").innerText()).resolves.toBe("You can use this server");
    const kill = page.locator("article", { has: page.locator("h3", { hasText: "presto_kill_query" }) });
    await expect(kill.locator(".verdict").innerText()).resolves.toBe(
      "Not for you: presto_kill_query requires membership in one of: data-eng",
    );
    const run = page.locator("article", { has: page.locator("h3", { hasText: "presto_run_query" }) });
    await expect(run.locator(".verdict").innerText()).resolves.toMatch(/^You can use this tool/);
    await kill.scrollIntoViewIfNeeded();
    await screenshot(page, "signed-in-bob");
  });
});

describe("accessibility and layout", () => {
  for (const path of ["/", "/servers/presto"]) {
    it(`${path}: lang, landmarks, one h1, ordered headings, labelled controls, table headers`, async () => {
      const page = await newPage();
      await page.goto(path);
      const report = await page.evaluate(() => {
        const visible = (element: Element) => (element as HTMLElement).offsetParent !== null;
        const controls = Array.from(document.querySelectorAll("input, select, textarea")).filter(
          (element) => (element as HTMLInputElement).type !== "hidden",
        );
        const unlabelled = controls
          .filter((element) => {
            const labelled = (element as HTMLInputElement).labels?.length ?? 0;
            return labelled === 0 && !element.getAttribute("aria-label") && !element.getAttribute("aria-labelledby");
          })
          .map((element) => element.outerHTML);
        const levels = Array.from(document.querySelectorAll("h1, h2, h3, h4, h5, h6")).map((h) => Number(h.tagName[1]));
        const skipped = levels.filter((level, i) => i > 0 && level > (levels[i - 1] as number) + 1);
        const tables = Array.from(document.querySelectorAll("table"));
        return {
          lang: document.documentElement.lang,
          h1: document.querySelectorAll("h1").length,
          firstHeading: levels[0],
          skipped,
          unlabelled,
          imagesWithoutAlt: document.querySelectorAll("img:not([alt])").length,
          landmarks: ["header", "main", "footer"].map((tag) => document.querySelectorAll(tag).length),
          tablesWithoutCaption: tables.filter((table) => !table.caption).length,
          tablesWithoutHeaders: tables.filter((table) => table.querySelectorAll("th").length === 0).length,
          buttonsWithoutName: Array.from(document.querySelectorAll("button, a"))
            .filter((element) => visible(element) && !(element.textContent ?? "").trim())
            .map((element) => element.outerHTML),
          title: document.title,
        };
      });
      expect(report).toMatchObject({
        lang: "en",
        h1: 1,
        firstHeading: 1,
        skipped: [],
        unlabelled: [],
        imagesWithoutAlt: 0,
        landmarks: [1, 1, 1],
        tablesWithoutCaption: 0,
        tablesWithoutHeaders: 0,
        buttonsWithoutName: [],
      });
      expect(report.title).toMatch(/MCP Fleet registry$/);
      // Keyboard: the skip link is the first stop and leads to the content.
      await page.keyboard.press("Tab");
      await expect(page.evaluate(() => document.activeElement?.textContent)).resolves.toBe("Skip to content");
    });
  }

  it("fits a 375 px wide screen without horizontal scrolling", async () => {
    const page = await newPage({ width: 375, height: 812 });
    for (const [path, name] of [
      ["/", "mobile-list"],
      ["/servers/presto", "mobile-server"],
    ] as const) {
      await page.goto(path);
      const overflow = await page.evaluate(() => ({
        scrollWidth: document.documentElement.scrollWidth,
        clientWidth: document.documentElement.clientWidth,
      }));
      expect(overflow.scrollWidth, `${path} scrolls sideways`).toBeLessThanOrEqual(overflow.clientWidth);
      await screenshot(page, name);
    }
  });
});

/** From a registry page: Sign in → consent at the auth Worker (Allow) → the local IdP's form → back. */
async function signInThroughBrowser(page: Page, username: string): Promise<void> {
  await page.getByRole("link", { name: "Sign in" }).click();
  await page.waitForURL(`${authUrl}/authorize**`);
  await expect(page.locator("h1").innerText()).resolves.toMatch(/^Allow MCP Fleet registry/);
  await page.getByRole("button", { name: "Allow" }).click();
  await page.getByLabel("Username").fill(username);
  await page.getByLabel("Password").fill(PASSWORDS[username] as string);
  await page.getByRole("button", { name: "Sign in" }).click();
}

/** Two servers of their own team, published by the pipeline as production does: one draft, one in review. */
async function publishExtraServers(): Promise<void> {
  const response = await serviceToken(
    authUrl,
    { name: "pipeline", secret: LOCAL_SERVICES.pipeline.secret },
    registry,
    "registry:write",
  );
  if (!response.ok) throw new Error(`pipeline token: ${response.status} ${await response.text()}`);
  const { access_token: token } = (await response.json()) as { access_token: string };
  const headers = { authorization: `Bearer ${token}`, "content-type": "application/json" };
  for (const server of EXTRA) {
    const published = await fetch(`${registry}/v0.1/publish`, {
      method: "POST",
      headers,
      body: JSON.stringify({
        name: `${NS}/${server.name}`,
        title: server.title,
        description: `${server.description}, published by the page's e2e test`,
        version: "1.0.0",
        remotes: [{ type: "streamable-http", url: `http://127.0.0.1:9/${server.name}/mcp` }],
        _meta: {
          "io.modelcontextprotocol.registry/publisher-provided": {
            team: EXTRA_TEAM,
            supportChannel: "#pagee2e",
            onCall: "pagee2e-oncall",
            environments: ["local"],
            allowedGroups: [],
            tools: [],
          },
        },
      }),
    });
    if (published.status !== 201 && published.status !== 409) {
      throw new Error(`publishing ${server.name}: ${published.status} ${await published.text()}`);
    }
    if (server.lifecycle === "in_review" && published.status === 201) {
      const moved = await fetch(`${registry}/v0.1/servers/${encodeURIComponent(`${NS}/${server.name}`)}/lifecycle`, {
        method: "PUT",
        headers,
        body: JSON.stringify({ lifecycle: "in_review" }),
      });
      if (!moved.ok) throw new Error(`moving ${server.name} to review: ${moved.status} ${await moved.text()}`);
    }
  }
}
