/**
 * The page tests' choice of Chromium, and the npm one (@sparticuz/chromium) opening the registry
 * page whatever the machine has installed, so every run exercises the fallback that a machine
 * without a system Chromium depends on.
 */
import { mkdirSync } from "node:fs";
import { join, resolve } from "node:path";
import type { Browser } from "playwright-core";
import { afterAll, describe, expect, inject, it } from "vitest";
import { chooseChromium, launchChromium, NPM_CHROMIUM_VERSION, npmChromiumArgs, SYSTEM_CHROMIUMS } from "./chromium.ts";

const registry = inject("registryUrl");
const SCREENSHOTS = resolve(import.meta.dirname, "../../test-results/screenshots");

describe("choosing Chromium", () => {
  const only =
    (...paths: string[]) =>
    (path: string) =>
      paths.includes(path);

  it("takes CHROMIUM_PATH first, then a system Chromium, then the npm one", () => {
    const everything = only("/opt/chrome", ...SYSTEM_CHROMIUMS);
    expect(chooseChromium({ CHROMIUM_PATH: "/opt/chrome" }, everything)).toEqual({
      source: "CHROMIUM_PATH",
      executablePath: "/opt/chrome",
    });
    expect(chooseChromium({ CHROMIUM_PATH: "" }, everything)).toEqual({
      source: "system",
      executablePath: "/usr/bin/chromium",
    });
    expect(chooseChromium({}, only("/usr/bin/google-chrome"))).toEqual({
      source: "system",
      executablePath: "/usr/bin/google-chrome",
    });
    expect(chooseChromium({}, only())).toEqual({ source: "npm" });
  });

  it("is forced to the npm one or to the system's by FLEET_PAGE_CHROMIUM", () => {
    const everything = only("/opt/chrome", ...SYSTEM_CHROMIUMS);
    expect(chooseChromium({ CHROMIUM_PATH: "/opt/chrome", FLEET_PAGE_CHROMIUM: "npm" }, everything)).toEqual({
      source: "npm",
    });
    expect(() => chooseChromium({ FLEET_PAGE_CHROMIUM: "system" }, only())).toThrow(/no Chromium at \/usr\/bin/);
    expect(() => chooseChromium({ FLEET_PAGE_CHROMIUM: "debian" }, everything)).toThrow(/auto, system or npm/);
    expect(() => chooseChromium({ CHROMIUM_PATH: "/nowhere" }, everything)).toThrow(/\/nowhere, which does not exist/);
  });

  it("runs the npm one as a normal multi-process browser with the web's security model on", () => {
    expect(npmChromiumArgs()).toContain("--no-sandbox");
    expect(npmChromiumArgs()).not.toContain("--single-process");
    expect(npmChromiumArgs()).not.toContain("--disable-web-security");
    expect(npmChromiumArgs()).not.toContain("--allow-running-insecure-content");
  });
});

describe("the npm Chromium", () => {
  let browser: Browser | undefined;
  afterAll(async () => {
    await browser?.close();
  });

  it("opens the registry page, renders it with its own fonts and takes a screenshot", async () => {
    browser = await launchChromium({ source: "npm" });
    // The package's version is the Chromium major it ships (153.0.0 → 153.0.x.y).
    expect(browser.version().split(".")[0]).toBe(NPM_CHROMIUM_VERSION.split(".")[0]);

    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const response = await page.goto(registry);
    expect(response?.status()).toBe(200);
    await expect(page.locator("h1").textContent()).resolves.toBe("MCP servers");
    // Text is drawn with the package's own font (its fontconfig, not the system's).
    const cdp = await page.context().newCDPSession(page);
    await cdp.send("DOM.enable");
    await cdp.send("CSS.enable");
    const { root } = await cdp.send("DOM.getDocument");
    const { nodeId } = await cdp.send("DOM.querySelector", { nodeId: root.nodeId, selector: "h1" });
    const { fonts } = await cdp.send("CSS.getPlatformFontsForNode", { nodeId });
    expect(fonts.map((font) => font.familyName)).toEqual(["Open Sans"]);
    mkdirSync(SCREENSHOTS, { recursive: true });
    const png = await page.screenshot({ path: join(SCREENSHOTS, "npm-chromium-list.png") });
    expect(png.subarray(1, 4).toString()).toBe("PNG");
  });

  it("keeps a permission granted to one context while another is open (the copy button)", async () => {
    if (!browser) throw new Error("the npm Chromium did not start");
    const context = await browser.newContext({ baseURL: registry });
    await context.grantPermissions(["clipboard-read", "clipboard-write"], { origin: registry });
    const page = await context.newPage();
    await page.goto("/servers/presto");
    await page.getByRole("button", { name: "Copy Claude Code snippet" }).click();
    await page.locator("#snippet-claude-status", { hasText: /^Copied$/ }).waitFor({ timeout: 5_000 });
    await expect(page.evaluate(() => navigator.clipboard.readText())).resolves.toMatch(/^claude mcp add /);
    await context.close();
  });
});
