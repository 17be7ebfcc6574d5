/**
 * Asking the client in a 2025 session (and on 2024 SSE): the request is pushed over the session,
 * related to the tool call (so it travels on the call's own stream), and the handler waits for the
 * answer, as the kit's approvals do (tool.invoke.ts). The capabilities are the ones the client
 * declared at initialize; an ask it did not declare fails as a tool error (2025 has no -32021).
 */
import {
  type ClientCapabilities,
  type CreateMessageRequestParams,
  type ElicitRequestFormParams,
  type ElicitRequestURLParams,
  type InputRequest,
  SdkError,
  SdkErrorCode,
  type Server,
} from "@modelcontextprotocol/server";
import type { Asker } from "./ask";
import { ToolError } from "./errors";

export interface SessionAskContext {
  server: Server;
  requestId: string | number;
  signal: AbortSignal;
  /** How long the human (or the client's model) has to answer. */
  timeoutMs: number;
}

export function sessionAsker(call: SessionAskContext): Asker {
  const options = { relatedRequestId: call.requestId, signal: call.signal, timeout: call.timeoutMs };
  return {
    capabilities: () => call.server.getClientCapabilities(),
    missingCapability: (_required: ClientCapabilities, what: string) =>
      new ToolError(`This client cannot answer: the tool asks it for ${what}, which it did not declare`, "denied"),
    async ask(_key: string, request: InputRequest) {
      try {
        if (request.method === "elicitation/create") {
          const params = request.params as ElicitRequestFormParams | Omit<ElicitRequestURLParams, "elicitationId">;
          const pushed =
            params.mode === "url"
              ? ({ ...params, elicitationId: crypto.randomUUID() } as ElicitRequestURLParams)
              : params;
          return await call.server.elicitInput(pushed as ElicitRequestFormParams | ElicitRequestURLParams, options);
        }
        if (request.method === "sampling/createMessage") {
          return await call.server.createMessage(request.params as CreateMessageRequestParams, options);
        }
        return await call.server.listRoots(undefined, options);
      } catch (error) {
        throw unanswered(error, call, request.method);
      }
    },
  };
}

/** A push that got no usable answer, as the error the handler (and so the call) ends with. */
function unanswered(error: unknown, call: SessionAskContext, method: string): ToolError {
  if (error instanceof SdkError && error.code === SdkErrorCode.RequestTimeout && !call.signal.aborted) {
    return new ToolError(
      `The client did not answer ${method} within ${Math.round(call.timeoutMs / 1000)} s`,
      "timeout",
    );
  }
  if (call.signal.aborted) return new ToolError(`The call was cancelled while waiting for ${method}`, "timeout");
  const detail = error instanceof Error ? error.message : String(error);
  return new ToolError(`The client answered ${method} with an error: ${detail}`, "upstream_rejected");
}
