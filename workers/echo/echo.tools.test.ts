import { describe, expect, inject, it } from "vitest";
import { connect, textOf } from "../../test/workers/mcp-client";
import { readEchoConfig } from "./echo.client";

/** The local echo service fleet.config.ts starts for this project (test/support/upstream.global.ts). */
const upstream = inject("upstreamUrl");
const ALICE = "alice; groups=data-eng; scopes=echo:read";
const CAROL = "carol; scopes=echo:read";
const BOT = "service:reporting-bot; scopes=echo:read";

type Result = { isError?: boolean; structuredContent?: Record<string, unknown>; _meta?: Record<string, unknown> };

async function call(user: string, name: string, args: Record<string, unknown> = {}) {
  const { client } = await connect({ user });
  return (await client.callTool({ name, arguments: args })) as Result;
}

describe("echo tools", () => {
  it("echoes text through the echo service, counting what the caller sent", async () => {
    const first = await call(ALICE, "echo_say", { text: "hello" });
    expect(textOf(first)).toBe("hello");
    const second = await call(ALICE, "echo_say", { text: "again" });
    expect(second.structuredContent).toEqual({
      text: "again",
      messages: (first.structuredContent?.messages as number) + 1,
    });
  });

  it("says who the fleet takes the caller for", async () => {
    const user = await call(ALICE, "echo_whoami");
    expect(user.structuredContent).toMatchObject({ kind: "user", name: "alice", groups: ["data-eng"] });
    expect(user.structuredContent?.scopes).toEqual(["echo:read"]);
    expect(textOf(await call(BOT, "echo_whoami"))).toMatch(/^You are service:reporting-bot \(service/);
  });

  it("lists a caller's own messages only, newest first", async () => {
    await call(CAROL, "echo_say", { text: "carol's first" });
    await call(CAROL, "echo_say", { text: "carol's second" });
    const mine = await call(CAROL, "echo_history", { limit: 2 });
    expect(((mine.structuredContent?.messages ?? []) as { text: string }[]).map((m) => m.text)).toEqual([
      "carol's second",
      "carol's first",
    ]);
    expect(textOf(await call(BOT, "echo_history"))).toBe("You have echoed nothing yet.");
  });

  it("offers the caller's history as a resource (echo://history), and a subscribed session hears of new messages", async () => {
    const { client } = await connect({ user: "dave; scopes=echo:read" });
    expect((await client.listResources()).resources.map((r) => r.uri)).toEqual(["echo://history"]);
    const read = async () =>
      ((await client.readResource({ uri: "echo://history" })).contents[0] as { text: string }).text;
    expect(await read()).toBe("You have echoed nothing yet.");
    const updates: string[] = [];
    client.setNotificationHandler("notifications/resources/updated", async (n) => {
      updates.push(n.params.uri);
    });
    await client.subscribeResource({ uri: "echo://history" });
    await client.callTool({ name: "echo_say", arguments: { text: "dave was here" } });
    await expect.poll(() => updates, { timeout: 3000 }).toEqual(["echo://history"]);
    expect(await read()).toMatch(/dave was here$/);
    await client.close();
  });

  it("forgets only with echo:write, never for a service (its approval: echo.approvals.test.ts)", async () => {
    // A read-only token: listed (consenting to echo:write would allow it), met with a scope challenge.
    const readOnly = await connect({ user: ALICE, onElicit: () => ({ action: "accept", content: { approve: true } }) });
    expect((await readOnly.client.listTools()).tools.map((t) => t.name)).toContain("echo_forget");
    await expect(readOnly.client.callTool({ name: "echo_forget", arguments: {} })).rejects.toThrow(
      /Insufficient scope: required "echo:read echo:write"/, // the SDK v2 client's words for the 403 challenge
    );
    const bot = await call(`${BOT} echo:write`, "echo_forget");
    expect(bot._meta?.["fleet/errorClass"]).toBe("denied");
  });

  it("refuses what is not an argument, naming it", async () => {
    const result = await call(ALICE, "echo_say", { text: "x", loud: true });
    expect(result.isError).toBe(true);
    expect(textOf(result)).toContain('unexpected argument "loud"');
  });
});

describe("echo client", () => {
  it("reads its configuration, refusing a missing or odd ECHO_URL", () => {
    expect(readEchoConfig({ ECHO_URL: `${upstream}/` })).toEqual({ url: upstream, timeoutMs: 5_000 });
    expect(() => readEchoConfig({})).toThrow(/ECHO_URL must be an http\(s\) URL/);
    expect(() => readEchoConfig({ ECHO_URL: "ftp://x" })).toThrow(/ECHO_URL/);
    expect(() => readEchoConfig({ ECHO_URL: upstream, ECHO_TIMEOUT_MS: "0" })).toThrow(/ECHO_TIMEOUT_MS/);
  });
});
