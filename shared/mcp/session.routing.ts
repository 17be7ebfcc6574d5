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

/** Requests that may send anything besides their answer need the SSE channel. */
export function channelNeeds(spec: ServerSpec<unknown>): (messages: JSONRPCMessage[]) => ChannelKind {
  const streamingTools = new Set(spec.tools.filter((tool) => tool.needsApproval).map((tool) => tool.name));
  return (messages) =>
    messages.some((message) => {
      const kind = kindOf(message);
      if (kind !== "request") return kind === "response"; // client answers to our requests (elicitation)
      const { method, params: rawParams } = message as { method: string; params?: unknown };
      if (method === "logging/setLevel") return true;
      if (method !== "tools/call") return false;
      const params = rawParams as { name?: string; _meta?: { progressToken?: unknown } } | undefined;
      return params?._meta?.progressToken !== undefined || streamingTools.has(String(params?.name));
    })
      ? "stream"
      : "json";
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
