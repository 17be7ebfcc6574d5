/**
 * The analytics page in a real browser (Chromium through playwright-core) against the e2e fleet:
 * alice calls echo_say with the MCP SDK client (her token from the real sign-in), the call is
 * recorded through the session's outbox into D1 with its rollups, and on /analytics (signed in
 * through the real consent page and IdP) she sees the month's figures and the SVG charts, rates
 * her call once, and the page reads on a 375 px phone without sideways scrolling. Screenshots go
 * to test-results/screenshots/analytics-*.png.
 */
// biome-ignore-all lint/performance/useDomNodeTextContent: Playwright locators' innerText(), not DOM nodes
import { mkdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { PASSWORDS, signIn } from "../../local/oauth.client.ts";
import { chooseChromium, launchChromium } from "./chromium.ts";
import { fleetServer } from "./fleet.ts";

const registry = inject("registryUrl");
const authUrl = inject("authUrl");
const SCREENSHOTS = resolve(import.meta.dirname, "../../test-results/screenshots");

let browser: Browser;
let invocationId: string;

beforeAll(async () => {
  mkdirSync(SCREENSHOTS, { recursive: true });
  const echo = fleetServer("echo");
  const tokens = await signIn(authUrl, "alice", echo.url, "echo:read");
  const client = new Client({ name: "analytics-e2e", version: "1.0.0" });
  await client.connect(
    new StreamableHTTPClientTransport(new URL(`${echo.url}/mcp`), {
      requestInit: { headers: { authorization: `Bearer ${tokens.access_token}` } },
    }),
  );
  const result = await client.callTool({ name: "echo_say", arguments: { text: "worth rating" } });
  invocationId = (result._meta as Record<string, string>)["fleet/invocationId"] as string;
  await client.close();
  browser = await launchChromium(chooseChromium(process.env));
});

afterAll(async () => {
  await browser?.close();
});

async function signInThroughBrowser(page: Page, username: string): Promise<void> {
  await page.getByRole("link", { name: "Sign in" }).click();
  await page.waitForURL(`${authUrl}/authorize**`);
  await page.getByRole("button", { name: "Allow" }).click();
  await page.getByLabel("Username").fill(username);
  await page.getByLabel("Password").fill(PASSWORDS[username] as string);
  await page.getByRole("button", { name: "Sign in" }).click();
}

describe("the analytics page in Chromium", () => {
  it("shows the month and its charts, rates alice's call once, and reads on a phone", async () => {
    expect(invocationId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7/);
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, baseURL: registry });
    const page = await context.newPage();
    const violations: string[] = [];
    page.on("console", (message) => {
      if (/Content Security Policy/i.test(message.text())) violations.push(message.text());
    });
    await page.goto("/analytics");
    await signInThroughBrowser(page, "alice");
    await page.waitForURL(`${registry}/analytics**`);
    // The call lands in D1 about 2 s after it ended (the outbox flush): wait for that very call on
    // the page (alice's other calls, from other files, are listed too, and may be older).
    const row = page.locator("tr", { has: page.locator(`input[name="invocationId"][value="${invocationId}"]`) });
    for (let i = 0; i < 20 && !(await row.count()); i++) {
      await page.waitForTimeout(500);
      await page.reload();
    }
    await expect(page.locator("h1").innerText()).resolves.toMatch(/^Time saved in \d{4}-\d{2}$/);
    expect(await page.locator("figure.chart svg").count()).toBe(4);
    for (const label of ["Hours saved per month (estimate)", "Hours saved by owning team"]) {
      await expect(page.getByRole("img", { name: new RegExp(label.replace(/[()]/g, "\\$&")) }).count()).resolves.toBe(
        1,
      );
    }
    await expect(page.locator("svg text", { hasText: "Day of the month (UTC)" }).count()).resolves.toBe(1);
    await page.screenshot({ path: join(SCREENSHOTS, "analytics-desktop.png"), fullPage: true });

    await expect(row.locator("td[data-label=Tool]").innerText()).resolves.toBe("echo/echo_say");
    await row.getByLabel("Minutes saved").fill("3");
    await row.getByRole("button", { name: /^Helped/ }).click();
    // The form posts and the registry answers 303 to ?feedback=<outcome>: count only once that page is in.
    await page.waitForURL(/[?&]feedback=/);
    await expect(page.getByText("Thanks: your rating is recorded.").count()).resolves.toBe(1);
    await expect(page.getByText("Helped (3 min)").count()).resolves.toBeGreaterThan(0);
    expect(violations).toEqual([]);

    await page.setViewportSize({ width: 375, height: 800 });
    await page.reload();
    const overflow = await page.evaluate(() => ({
      scrollWidth: document.documentElement.scrollWidth,
      clientWidth: document.documentElement.clientWidth,
    }));
    expect(overflow.scrollWidth).toBeLessThanOrEqual(overflow.clientWidth);
    // Axis labels stay legible: the chart's 12-unit font scales to at least ~9 px at 375 px.
    const fontPx = await page.evaluate(() => {
      const text = document.querySelector("figure.chart svg text");
      return text ? text.getBoundingClientRect().height : 0;
    });
    expect(fontPx).toBeGreaterThanOrEqual(9);
    await page.screenshot({ path: join(SCREENSHOTS, "analytics-phone.png"), fullPage: true });
    await context.close();
  });
});
