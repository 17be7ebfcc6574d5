/**
 * Echo's one resource: what the caller echoed, as a document a client can read (and, in a 2025
 * session, subscribe to: echo_say says it changed). The caller's own messages only, like echo_history.
 */
import { resourcesFor } from "../../shared/mcp";
import type { EchoUpstreams } from "./echo.tools";

const defineResource = resourcesFor<EchoUpstreams>();

export const HISTORY_URI = "echo://history";

export const historyResource = defineResource({
  uri: HISTORY_URI,
  name: "history",
  title: "What you echoed",
  description: "Your latest 100 messages through the echo service, newest first (nobody else's).",
  mimeType: "text/plain",
  access: { scopes: ["echo:read"], services: true },
  async read(_args, ctx) {
    const { messages } = await ctx.upstream.echo.history(ctx.caller.id, 100, ctx.signal);
    if (messages.length === 0) return "You have echoed nothing yet.";
    return messages.map((m) => `${m.at}  ${m.text}`).join("\n");
  },
});

export const echoResources = [historyResource];
