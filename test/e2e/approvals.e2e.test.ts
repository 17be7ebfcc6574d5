/**
 * Approvals a human really gives, end to end: real SDK clients (Streamable HTTP and legacy SSE)
 * that declare only URL-mode elicitation call the echo server's high-risk echo_forget; headless
 * Chromium opens the link they are given, signs in through the real consent page and the local
 * IdP, and decides on the registry's approval page. Approved → executed once (a replayed form is
 * refused); rejected → not executed; another person → cannot decide; nobody → not approved at
 * the expiry; a client with neither elicitation mode → refused. The audit trail (D1) shows each.
 */
// biome-ignore-all lint/performance/useDomNodeTextContent: Playwright locators' innerText(), not DOM nodes
import { spawn } from "node:child_process";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { fileURLToPath } from "node:url";
import {
  Client,
  SSEClientTransport,
  StreamableHTTPClientTransport,
  type Transport,
} from "@modelcontextprotocol/client";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, inject, it, vi } from "vitest";
import { approveInBrowser, PASSWORDS } from "../../local/oauth.client.ts";
import { launchChromium } from "./chromium.ts";
import { fleetServer } from "./fleet.ts";
import { bearer, userToken } from "./identities.ts";

const registry = inject("registryUrl");
const authUrl = inject("authUrl");
const timeoutMs = inject("approvalTimeoutMs");
const echo = fleetServer("echo").url;
const ACTION = "Make the echo service forget every message you sent? This cannot be undone.";

type Result = { isError?: boolean; content?: { text?: string }[]; structuredContent?: Record<string, unknown> };
const textOf = (result: Result) => (result.content ?? []).map((part) => part.text ?? "").join("");

let browser: Browser;
const contexts: BrowserContext[] = [];
const clients: Client[] = [];
/** Alice's browser, signed in once at the first approval she opens. */
let alicePage: Page | undefined;

beforeAll(async () => {
  browser = await launchChromium();
});

afterAll(async () => {
  for (const client of clients) await client.close();
  for (const context of contexts) await context.close();
  await browser?.close();
});

/** A client of alice's with only the given elicitation capability; links it is given queue up. */
async function aliceClient(options: { url: boolean; legacy?: boolean }) {
  const headers = bearer(await userToken("alice", echo, "echo:read echo:write"));
  const client = new Client(
    { name: "approvals-e2e", version: "1.0.0" },
    { capabilities: options.url ? { elicitation: { url: {} } } : {} },
  );
  const links: { url: string; elicitationId: string; message: string }[] = [];
  const waiting: ((link: (typeof links)[number]) => void)[] = [];
  const completed: string[] = [];
  if (options.url) {
    client.setRequestHandler("elicitation/create", async (request) => {
      const link = request.params as unknown as (typeof links)[number];
      const next = waiting.shift();
      if (next) next(link);
      else links.push(link);
      return { action: "accept" };
    });
    client.setNotificationHandler("notifications/elicitation/complete", async (notification) => {
      completed.push(notification.params.elicitationId);
    });
  }
  const transport: Transport = options.legacy
    ? new SSEClientTransport(new URL(`${echo}/sse`), {
        requestInit: { headers },
        eventSourceInit: { fetch: (url, init) => fetch(url, { ...init, headers: { ...init?.headers, ...headers } }) },
      })
    : new StreamableHTTPClientTransport(new URL(`${echo}/mcp`), { requestInit: { headers } });
  await client.connect(transport);
  clients.push(client);
  const nextLink = () =>
    new Promise<(typeof links)[number]>((resolve) => {
      const queued = links.shift();
      if (queued) resolve(queued);
      else waiting.push(resolve);
    });
  const call = (name: string, args: Record<string, unknown> = {}) =>
    client.callTool({ name, arguments: args }, { timeout: timeoutMs + 30_000 }) as Promise<Result>;
  return { client, call, nextLink, completed };
}

async function newPage(): Promise<Page> {
  const context = await browser.newContext({ baseURL: registry });
  contexts.push(context);
  return context.newPage();
}

/** Opens an approval link; signs in as `username` first if this browser is not signed in yet. */
async function openApproval(page: Page, url: string, username: string): Promise<void> {
  await page.goto(url);
  if ((await page.locator("h1").innerText()) !== "Sign in to see this approval request") return;
  await page.locator("main").getByRole("link", { name: "Sign in" }).click();
  await page.waitForURL(`${authUrl}/authorize**`);
  await page.getByRole("button", { name: "Allow" }).click();
  await page.getByLabel("Username").fill(username);
  await page.getByLabel("Password").fill(PASSWORDS[username] as string);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.waitForURL(url);
}

async function asAlice(url: string): Promise<Page> {
  alicePage ??= await newPage();
  await openApproval(alicePage, url, "alice");
  return alicePage;
}

const approvalIdOf = (url: string) => new URL(url).pathname.split("/").pop() as string;

async function messagesOfAlice(): Promise<number> {
  const { call } = await aliceClient({ url: false });
  const result = await call("echo_history", { limit: 100 });
  return ((result.structuredContent?.messages ?? []) as unknown[]).length;
}

/** The audit trail's decisions about one approval request, read from the fleet's D1 (SQLite) file. */
function auditDecisions(id: string): string[] {
  const dir = join(inject("statePath"), "v3", "d1", "miniflare-D1DatabaseObject");
  const file = readdirSync(dir).find((name) => name.endsWith(".sqlite") && name !== "metadata.sqlite");
  if (!file) throw new Error(`no D1 database under ${dir}`);
  const db = new DatabaseSync(join(dir, file), { readOnly: true });
  try {
    const rows = db
      .prepare("SELECT action, decision FROM audit_events WHERE instr(reason, ?) > 0 ORDER BY action, decision")
      .all(`[approval ${id}]`) as { action: string; decision: string }[];
    return rows.map((row) => `${row.action}: ${row.decision}`);
  } finally {
    db.close();
  }
}

describe("a high-risk tool approved on the registry page", () => {
  it("runs once when alice approves the exact action, signed in as herself; a replayed form is refused", async () => {
    const { call, nextLink, completed } = await aliceClient({ url: true });
    await call("echo_say", { text: "to forget" });
    const pending = call("echo_forget");
    const link = await nextLink();
    expect(link.url).toMatch(new RegExp(`^${registry}/approvals/[A-Za-z0-9_-]{43}$`));
    expect(link.message).toBe(`Approve or reject on the fleet registry, signed in as yourself: ${ACTION}`);

    const page = await asAlice(link.url);
    await expect(page.locator("h1").innerText()).resolves.toBe("Approve echo_forget on echo?");
    await expect(page.locator("main .lede").innerText()).resolves.toBe(ACTION);
    await expect(page.locator("[data-field=arguments]").innerText()).resolves.toBe("{}");
    const token = await page.locator("input[name=token]").inputValue();
    const digest = await page.locator("input[name=digest]").inputValue();
    await page.getByRole("button", { name: "Approve", exact: true }).click();
    await page.locator("[data-field=status]", { hasText: /^Approved/ }).waitFor();

    const result = await pending;
    expect(result.isError).toBeFalsy();
    expect(result.structuredContent?.forgotten).toBeGreaterThan(0);
    expect(completed).toEqual([link.elicitationId]);
    expect(await messagesOfAlice()).toBe(0);
    await page.reload();
    await expect(page.locator("[data-field=status]").innerText()).resolves.toBe("Approved · the call ran");

    // The same form again, from the page's own origin: the request is decided, nothing more happens.
    const replay = await page.request.post(link.url, {
      form: { decision: "approve", token, digest },
      headers: { origin: registry },
      maxRedirects: 0,
    });
    expect(replay.status()).toBe(409);
    const id = approvalIdOf(link.url);
    await vi.waitFor(
      () =>
        expect(auditDecisions(id)).toEqual([
          "approval decision echo_forget: approved",
          "approval decision echo_forget: refused",
          "approval echo_forget: approved",
        ]),
      { timeout: 15_000, interval: 500 },
    );
  });

  it("does nothing when alice rejects it (over legacy SSE too)", async () => {
    const { call, nextLink } = await aliceClient({ url: true, legacy: true });
    await call("echo_say", { text: "to keep" });
    const pending = call("echo_forget");
    const link = await nextLink();
    const page = await asAlice(link.url);
    await page.getByRole("button", { name: "Reject", exact: true }).click();
    await page.locator("[data-field=status]", { hasText: "Rejected" }).waitFor();
    const result = await pending;
    expect(textOf(result)).toBe(`Not approved: you rejected it on the registry; nothing was done: ${ACTION}`);
    expect(await messagesOfAlice()).toBeGreaterThan(0);
    const id = approvalIdOf(link.url);
    await vi.waitFor(
      () =>
        expect(auditDecisions(id)).toEqual([
          "approval decision echo_forget: rejected",
          "approval echo_forget: rejected",
        ]),
      { timeout: 15_000, interval: 500 },
    );
  });

  it("cannot be decided by another person who opens the link", async () => {
    const { call, nextLink } = await aliceClient({ url: true });
    const pending = call("echo_forget");
    const link = await nextLink();
    const bob = await newPage();
    await openApproval(bob, link.url, "bob");
    await expect(bob.locator("header").innerText()).resolves.toContain("Signed in as Bob Budget");
    await expect(bob.locator("h1").innerText()).resolves.toBe("This approval request is not yours");
    await expect(bob.getByRole("button", { name: "Approve" }).count()).resolves.toBe(0);
    await expect(bob.locator("body").innerText()).resolves.not.toContain(ACTION);
    // Nor by posting a decision without the form he never got.
    const forged = await bob.request.post(link.url, {
      form: { decision: "approve", token: "x", digest: "y" },
      headers: { origin: registry },
      maxRedirects: 0,
    });
    expect(forged.status()).toBe(403);
    await bob.goto("/approvals");
    await expect(bob.locator("main").innerText()).resolves.not.toContain("echo_forget");

    // Alice still can; she rejects it, so the call ends now.
    const page = await asAlice(link.url);
    await expect(page.locator("[data-field=status]").innerText()).resolves.toBe("Waiting for your decision");
    await page.getByRole("button", { name: "Reject", exact: true }).click();
    expect(textOf(await pending)).toMatch(/^Not approved: you rejected it/);
    const id = approvalIdOf(link.url);
    await vi.waitFor(() => expect(auditDecisions(id)).toContain("approval decision echo_forget: refused"), {
      timeout: 15_000,
      interval: 500,
    });
  });

  it("ends as not approved when nobody decides in time; the page then shows it expired", async () => {
    const { call, nextLink } = await aliceClient({ url: true });
    const startedAt = Date.now();
    const pending = call("echo_forget");
    const link = await nextLink();
    const result = await pending;
    expect(Date.now() - startedAt).toBeGreaterThanOrEqual(timeoutMs - 500);
    expect(textOf(result)).toBe(
      `Not approved: nobody decided within ${Math.round(timeoutMs / 1000)} s; nothing was done: ${ACTION}`,
    );
    const page = await asAlice(link.url);
    await expect(page.locator("[data-field=status]").innerText()).resolves.toBe("Expired");
    await expect(page.getByRole("button", { name: "Approve" }).count()).resolves.toBe(0);
    await page.goto("/approvals");
    await expect(page.locator("main").innerText()).resolves.toContain("Expired");
    const id = approvalIdOf(link.url);
    await vi.waitFor(() => expect(auditDecisions(id)).toEqual(["approval echo_forget: expired"]), {
      timeout: 15_000,
      interval: 500,
    });
  });

  it("works from the fleet CLI: it prints the link, waits, and prints the result once approved", async () => {
    const home = mkdtempSync(join(tmpdir(), "fleet-cli-approval-"));
    try {
      const cli = fileURLToPath(new URL("../../registry/cli/fleet.ts", import.meta.url));
      const child = spawn(process.execPath, [cli, "call", "echo", "echo_forget"], {
        env: { ...process.env, FLEET_REGISTRY_URL: registry, XDG_CONFIG_HOME: home, CI: "true" },
        stdio: ["ignore", "pipe", "pipe"],
      });
      let stdout = "";
      let stderr = "";
      const signIns = new Set<string>();
      const browsing: Promise<unknown>[] = [];
      let approvalLink: Promise<void> | undefined;
      child.stdout.on("data", (chunk: Buffer) => {
        stdout += chunk.toString();
      });
      child.stderr.on("data", (chunk: Buffer) => {
        stderr += chunk.toString();
        // Sign-ins (registry, then echo with echo:write): the scripted consent and IdP sign-in.
        for (const [, url] of stderr.matchAll(/^\s+(http\S+\/authorize\?\S+)$/gm)) {
          if (!url || signIns.has(url)) continue;
          signIns.add(url);
          const redirectUri = new URL(url).searchParams.get("redirect_uri") ?? "";
          browsing.push(approveInBrowser(url, { username: "alice" }, { redirectUri }).then((back) => fetch(back)));
        }
        const link = new RegExp(`^\\s+(${registry}/approvals/[A-Za-z0-9_-]{43})$`, "m").exec(stderr)?.[1];
        if (link && !approvalLink) {
          approvalLink = (async () => {
            const page = await asAlice(link);
            await page.getByRole("button", { name: "Approve", exact: true }).click();
            await page.locator("[data-field=status]", { hasText: /^Approved/ }).waitFor();
          })();
        }
      });
      const code = await new Promise<number | null>((resolve, reject) => {
        child.on("error", reject);
        child.on("close", resolve);
      });
      await Promise.all([...browsing, approvalLink]);
      expect(code, `stderr:\n${stderr}`).toBe(0);
      expect(stderr).toContain(`The server asks for your decision on a web page:\n  Approve or reject`);
      expect(stderr).toContain("Waiting for your decision…");
      expect(stderr).toContain("The decision is in; the call goes on.");
      expect(stdout).toMatch(/^Forgot \d+ messages?\.$/m);
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  });

  it("refuses a client with neither form nor URL elicitation, saying why", async () => {
    const { call } = await aliceClient({ url: false });
    const result = await call("echo_forget");
    expect(result.isError).toBe(true);
    expect(textOf(result)).toBe(
      "Not approved: this action needs a human's approval, and this client cannot ask for it (it supports " +
        `neither form nor URL-mode elicitation); nothing was done: ${ACTION}`,
    );
  });
});
