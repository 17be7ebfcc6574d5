import { z } from "zod";
import { toolsFor } from "../../shared/mcp";
import type { EchoClient } from "./echo.client";

export interface EchoUpstreams {
  echo: EchoClient;
}

const defineTool = toolsFor<EchoUpstreams>();

/** The read tools; services (pipelines, bots) may call them. */
const READ = { scopes: ["echo:read"], services: true } as const;

export const say = defineTool({
  name: "echo_say",
  title: "Echo text",
  description:
    "Send text through the echo service and get it back: proves the whole path from you to an upstream works.",
  input: { text: z.string().min(1).max(10_000).describe("The text to echo") },
  annotations: { readOnlyHint: true, openWorldHint: true },
  access: READ,
  minutesSaved: 0.5,
  async run({ text }, ctx) {
    const reply = await ctx.upstream.echo.say(ctx.caller.id, text, ctx.signal);
    await ctx.resourceUpdated("echo://history"); // a 2025 session subscribed to it hears of the new message
    return { text: reply.text, structured: { text: reply.text, messages: reply.count } };
  },
});

export const whoami = defineTool({
  name: "echo_whoami",
  title: "Who am I",
  description: "Say who the fleet takes you for: your identity, kind, groups and the scopes your token carries.",
  input: {},
  annotations: { readOnlyHint: true, openWorldHint: false },
  access: READ,
  minutesSaved: 1,
  async run(_args, ctx) {
    const { id, kind, name, groups, scopes } = ctx.caller;
    const you = { id, kind, name, groups, scopes };
    return {
      text: `You are ${id} (${kind}, shown as ${name}); groups: ${groups.join(", ") || "none"}; scopes: ${scopes.join(" ")}.`,
      structured: you,
    };
  },
});

export const history = defineTool({
  name: "echo_history",
  title: "What you echoed",
  description: "List the latest messages you sent through the echo service, newest first (nobody else's).",
  input: { limit: z.number().int().min(1).max(100).default(10).describe("Most messages to list") },
  annotations: { readOnlyHint: true, openWorldHint: true },
  access: READ,
  minutesSaved: 0.5,
  async run({ limit }, ctx) {
    const { messages } = await ctx.upstream.echo.history(ctx.caller.id, limit, ctx.signal);
    if (messages.length === 0) return { text: "You have echoed nothing yet.", structured: { messages } };
    return { text: messages.map((m) => `${m.at}  ${m.text}`).join("\n"), structured: { messages } };
  },
});

export const forget = defineTool({
  name: "echo_forget",
  title: "Forget what you echoed",
  description:
    "Make the echo service forget every message you sent. High-risk: you approve it on the fleet registry's page.",
  input: {},
  annotations: { destructiveHint: true, idempotentHint: true, openWorldHint: true },
  access: { scopes: ["echo:read", "echo:write"] },
  minutesSaved: 0.5,
  // High-risk: the human decides on the registry page, never whatever the client answers.
  approval: {
    risk: "high",
    action: () => "Make the echo service forget every message you sent? This cannot be undone.",
  },
  async run(_args, ctx) {
    const { forgotten } = await ctx.upstream.echo.forget(ctx.caller.id, ctx.signal);
    return { text: `Forgot ${forgotten} message${forgotten === 1 ? "" : "s"}.`, structured: { forgotten } };
  },
});

export const echoTools = [say, whoami, history, forget];
