/**
 * One tools/call, end to end: policy, argument validation, human approval, the handler, error
 * mapping, and the invocation record. Handlers only do their job.
 */
import { createHash } from "node:crypto";
import type { Server } from "@modelcontextprotocol/sdk/server/index.js";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import type { Caller } from "../auth/caller";
import { checkToolAccess } from "../auth/policy";
import type { InvocationRecord } from "../db/invocations.store";
import { type ErrorClass, NotApprovedError, ToolError } from "./errors";
import { describeInvalidArguments, type LogLevel, type Tool, type ToolContext, toCallToolResult } from "./tool";

export interface InvocationRuntime<Upstreams> {
  serverName: string;
  sessionId: string;
  env: Record<string, unknown>;
  upstreams(): Upstreams;
  record(invocation: InvocationRecord): void;
  auditDenial(caller: Caller, action: string, reason: string): void;
}

export interface CallRequest {
  tool: Tool<never> | Tool<unknown>;
  arguments: Record<string, unknown> | undefined;
  caller: Caller;
  signal: AbortSignal;
  requestId: string | number;
  progressToken: string | number | undefined;
  /** The SDK server the call arrived on (used to ask the human for approval). */
  server: Server;
  sendNotification(notification: { method: string; params: Record<string, unknown> }): Promise<void>;
}

export async function invokeTool<Upstreams>(
  runtime: InvocationRuntime<Upstreams>,
  request: CallRequest,
): Promise<CallToolResult> {
  const tool = request.tool as Tool<Upstreams>;
  const startedAt = Date.now();
  let outcome: { errorClass: ErrorClass | null; result: CallToolResult };
  try {
    outcome = { errorClass: null, result: await runChecked(runtime, tool, request) };
  } catch (error) {
    outcome = toErrorOutcome(tool.name, error);
  }
  runtime.record({
    id: crypto.randomUUID(),
    serverName: runtime.serverName,
    toolName: tool.name,
    sessionId: runtime.sessionId,
    callerKind: request.caller.kind,
    callerId: request.caller.id,
    startedAt,
    durationMs: Date.now() - startedAt,
    outcome: outcome.errorClass ? "error" : "ok",
    errorClass: outcome.errorClass,
    minutesSaved: outcome.errorClass ? 0 : tool.minutesSaved,
    argsDigest: digestArguments(request.arguments ?? {}),
  });
  return outcome.result;
}

async function runChecked<Upstreams>(
  runtime: InvocationRuntime<Upstreams>,
  tool: Tool<Upstreams>,
  request: CallRequest,
): Promise<CallToolResult> {
  const decision = checkToolAccess(tool, request.caller);
  if (!decision.allowed) {
    runtime.auditDenial(request.caller, `tools/call ${tool.name}`, decision.reason);
    throw new ToolError(`Access denied: ${decision.reason} (missing ${decision.missing})`, "denied");
  }
  const parsed = tool.schema.safeParse(request.arguments ?? {});
  if (!parsed.success) throw new ToolError(describeInvalidArguments(tool.name, parsed.error), "bad_arguments");
  const args = parsed.data as Record<string, unknown>;
  if (tool.approval) await requireApproval(tool.approval(args), request);
  const output = await tool.run(args, contextFor(runtime, tool, request));
  return toCallToolResult(output);
}

/** Puts the exact action to the human through MCP elicitation; anything but an explicit yes stops it. */
async function requireApproval(action: string, request: CallRequest): Promise<void> {
  if (request.caller.kind !== "user") throw new NotApprovedError("Only a human can approve this action");
  if (!request.server.getClientCapabilities()?.elicitation) {
    throw new NotApprovedError(
      `This action needs a human's approval, and this client cannot ask for it (no elicitation support): ${action}`,
    );
  }
  const answer = await request.server.elicitInput(
    {
      mode: "form",
      message: action,
      requestedSchema: {
        type: "object",
        properties: { approve: { type: "boolean", title: "Approve", description: action } },
        required: ["approve"],
      },
    },
    { relatedRequestId: request.requestId, signal: request.signal },
  );
  if (answer.action !== "accept" || answer.content?.approve !== true) {
    throw new NotApprovedError(`Not approved (${answer.action}); nothing was done: ${action}`);
  }
}

function contextFor<Upstreams>(
  runtime: InvocationRuntime<Upstreams>,
  tool: Tool<Upstreams>,
  request: CallRequest,
): ToolContext<Upstreams> {
  return {
    caller: request.caller,
    env: runtime.env,
    get upstream() {
      return runtime.upstreams();
    },
    signal: request.signal,
    async progress(progress, total, message) {
      if (request.progressToken === undefined) return;
      await request.sendNotification({
        method: "notifications/progress",
        params: { progressToken: request.progressToken, progress, total, message },
      });
    },
    async log(level: LogLevel, message: string) {
      console.log(JSON.stringify({ level, server: runtime.serverName, tool: tool.name, message }));
      await request.sendNotification({
        method: "notifications/message",
        params: { level, logger: `${runtime.serverName}/${tool.name}`, data: message },
      });
    },
  };
}

function toErrorOutcome(toolName: string, error: unknown): { errorClass: ErrorClass; result: CallToolResult } {
  if (error instanceof ToolError) {
    return {
      errorClass: error.errorClass,
      result: {
        isError: true,
        content: [{ type: "text", text: error.retriable ? `${error.message} (retriable)` : error.message }],
        _meta: { "fleet/errorClass": error.errorClass, "fleet/retriable": error.retriable },
      },
    };
  }
  const ref = crypto.randomUUID().slice(0, 8);
  console.error(`tool ${toolName} failed (ref ${ref})`, error);
  return {
    errorClass: "internal",
    result: {
      isError: true,
      content: [
        { type: "text", text: `Internal error in ${toolName} (ref ${ref}); the server's owners can look it up` },
      ],
      _meta: { "fleet/errorClass": "internal", "fleet/retriable": false },
    },
  };
}

/** SHA-256 of the arguments with keys sorted: links identical calls without storing their content. */
export function digestArguments(args: Record<string, unknown>): string {
  const canonical = JSON.stringify(args, (_key, value: unknown) =>
    value && typeof value === "object" && !Array.isArray(value)
      ? Object.fromEntries(Object.entries(value).sort(([a], [b]) => a.localeCompare(b)))
      : value,
  );
  // node:crypto's hash is synchronous (no promise hop on the call's path), unlike crypto.subtle.
  return createHash("sha256").update(canonical).digest("hex");
}
