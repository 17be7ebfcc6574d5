/**
 * What a session object decides before any SDK code runs: the shape of a posted body, which
 * channel a request needs, and whether the caller owns the session.
 */
import type { JSONRPCMessage } from "@modelcontextprotocol/server";
import type { Caller } from "../auth/caller";
import { jsonRpcError } from "./responses";
import type { ServerSpec } from "./server.definition";

/** At most this many messages in one POST (the limit SDK v1 set; v2 accepts no batches at all in 2026). */
export const MAX_BATCH_SIZE = 100;

export function requestBodyTooLargeMessage(maxBytes: number): string {
  return `Request body exceeds the ${maxBytes} byte limit`;
}

export type MessageKind = "request" | "notification" | "response";

export function isMessageShaped(value: unknown): value is JSONRPCMessage {
  return typeof value === "object" && value !== null && (value as { jsonrpc?: unknown }).jsonrpc === "2.0";
}

export function kindOf(message: JSONRPCMessage): MessageKind {
  if ("method" in message) return "id" in message ? "request" : "notification";
  return "response";
}

export function isInitialize(message: JSONRPCMessage): boolean {
  return kindOf(message) === "request" && (message as { method: string }).method === "initialize";
}

/** JSON answers where nothing streams; SSE (with resumable event log) where something does. */
export type ChannelKind = "json" | "stream";

/**
 * Requests that may send anything besides their answer need the SSE channel: a call with a
 * progress token, of a tool that asks the client (approval, `asks`), or any call once the client
 * set a log level (its handler's ctx.log messages reach the client). Elsewhere JSON: nothing could
 * be sent.
 */
export function channelNeeds(
  spec: ServerSpec<unknown>,
): (messages: JSONRPCMessage[], session?: { logLevelSet: boolean }) => ChannelKind {
  const streamingTools = new Set(
    spec.tools.filter((tool) => tool.needsApproval || tool.asks.length > 0).map((tool) => tool.name),
  );
  // A prompt that asks the client pushes its asks on the prompts/get's own stream, as a tool does.
  const askingPrompts = new Set((spec.prompts ?? []).filter((prompt) => prompt.asks.length > 0).map((p) => p.name));
  return (messages, session) =>
    messages.some((message) => {
      const kind = kindOf(message);
      if (kind !== "request") return kind === "response"; // client answers to our requests (elicitation)
      const { method, params: rawParams } = message as { method: string; params?: unknown };
      if (method === "logging/setLevel") return true;
      if (method === "prompts/get") return askingPrompts.has(String((rawParams as { name?: unknown })?.name));
      if (method !== "tools/call") return false;
      if (session?.logLevelSet) return true;
      const params = rawParams as { name?: string; _meta?: { progressToken?: unknown } } | undefined;
      return params?._meta?.progressToken !== undefined || streamingTools.has(String(params?.name));
    })
      ? "stream"
      : "json";
}

export const LOG_LEVELS = ["debug", "info", "notice", "warning", "error", "critical", "alert", "emergency"];

/** The level a `logging/setLevel` request in the batch sets (a valid one), if any. */
export function requestedLogLevel(messages: JSONRPCMessage[]): string | undefined {
  for (const message of messages) {
    const { method, params } = message as { method?: string; params?: { level?: unknown } };
    if (kindOf(message) === "request" && method === "logging/setLevel" && LOG_LEVELS.includes(String(params?.level))) {
      return String(params?.level);
    }
  }
  return undefined;
}

/** Whether a notification goes out: anything but a log; a log at or above `level` (every log when `level` is unset and `unsetSends`). */
export function notificationWanted(
  level: string | undefined,
  notification: { method: string; params: Record<string, unknown> },
  unsetSends: boolean,
): boolean {
  if (notification.method !== "notifications/message") return true;
  const wanted = LOG_LEVELS.indexOf(String(level));
  if (wanted < 0) return level === undefined && unsetSends;
  return LOG_LEVELS.indexOf(String(notification.params.level)) >= wanted;
}

/**
 * A session belongs to one identity: the same kind (user or service) and the same stable id at
 * the IdP (`Caller.subject`). Not the email: a person whose email changes keeps their sessions,
 * and someone given a recycled email does not get another person's.
 */
export function sameIdentity(owner: Caller, caller: Caller): boolean {
  return owner.kind === caller.kind && owner.subject === caller.subject;
}

export function forbiddenSession(): Response {
  return jsonRpcError(403, -32000, "Forbidden: this session belongs to another identity");
}

export function authInfoFor(caller: Caller) {
  return { token: "", clientId: caller.id, scopes: caller.scopes, extra: { caller } };
}
