/**
 * One tools/call, end to end: policy, argument validation, human approval, the handler, error
 * mapping, and the invocation record. Handlers only do their job.
 */
import { createHash } from "node:crypto";
import type { Server } from "@modelcontextprotocol/sdk/server/index.js";
import { type CallToolResult, ErrorCode, McpError } from "@modelcontextprotocol/sdk/types.js";
import { v7 as uuidv7 } from "uuid";
import type { Caller } from "../auth/caller";
import { checkToolAccess } from "../auth/policy";
import type { AuditDecision, ApprovalOutcome as RecordedApproval } from "../db/fleet.schema";
import { type InvocationRecord, primaryGroup } from "../db/invocations.store";
import { type ErrorClass, NotApprovedError, ToolError } from "./errors";
import { describeInvalidArguments, type LogLevel, type Tool, type ToolContext, toCallToolResult } from "./tool";

export interface InvocationRuntime<Upstreams> {
  serverName: string;
  sessionId: string;
  env: Record<string, unknown>;
  upstreams(): Upstreams;
  record(invocation: InvocationRecord): void;
  auditDenial(caller: Caller, action: string, reason: string): void;
  /** Puts the human's answer to an approval request (or the lack of one) on record. */
  auditApproval(answer: ApprovalAnswer): void;
}

/** How an approval request for one call ended, as the audit trail records it. */
export interface ApprovalAnswer {
  caller: Caller;
  toolName: string;
  argsDigest: string;
  decision: Exclude<AuditDecision, "denied">;
  /** The exact action the human was (or would have been) asked to approve. */
  action: string;
}

/** The `_meta` key of every tool result that carries its invocation id (a UUIDv7). */
export const INVOCATION_ID_META = "fleet/invocationId";

/** How long a human has to answer an approval request, unless APPROVAL_TIMEOUT_MS says otherwise. */
export const DEFAULT_APPROVAL_TIMEOUT_MS = 5 * 60_000;

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
  const id = uuidv7({ msecs: startedAt });
  const argsDigest = digestArguments(request.arguments ?? {});
  const approval: { outcome: RecordedApproval | null } = { outcome: null };
  let outcome: { errorClass: ErrorClass | null; result: CallToolResult };
  try {
    outcome = { errorClass: null, result: await runChecked(runtime, tool, request, argsDigest, approval) };
  } catch (error) {
    outcome = toErrorOutcome(tool.name, error);
  }
  // The id rates the call later (fleet_feedback, `fleet feedback`, the registry page).
  outcome.result._meta = { ...outcome.result._meta, [INVOCATION_ID_META]: id };
  runtime.record({
    id,
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
    argsDigest,
    callerGroup: primaryGroup(request.caller),
    approval: approval.outcome,
  });
  return outcome.result;
}

async function runChecked<Upstreams>(
  runtime: InvocationRuntime<Upstreams>,
  tool: Tool<Upstreams>,
  request: CallRequest,
  argsDigest: string,
  approval: { outcome: RecordedApproval | null },
): Promise<CallToolResult> {
  const decision = checkToolAccess(tool, request.caller);
  if (!decision.allowed) {
    runtime.auditDenial(request.caller, `tools/call ${tool.name}`, decision.reason);
    throw new ToolError(`Access denied: ${decision.reason} (missing ${decision.missing})`, "denied");
  }
  const parsed = tool.schema.safeParse(request.arguments ?? {});
  if (!parsed.success) throw new ToolError(describeInvalidArguments(tool.name, parsed.error), "bad_arguments");
  const args = parsed.data as Record<string, unknown>;
  if (tool.approval) {
    const action = tool.approval(args);
    const decision = await askApproval(action, request, approvalTimeoutMs(runtime.env));
    approval.outcome = decision.decision;
    runtime.auditApproval({
      caller: request.caller,
      toolName: tool.name,
      argsDigest,
      decision: decision.decision,
      action,
    });
    if (decision.decision !== "approved") throw new NotApprovedError(decision.message);
  }
  const output = await tool.run(args, contextFor(runtime, tool, request));
  return toCallToolResult(output);
}

type ApprovalOutcome =
  | { decision: "approved" }
  | { decision: Exclude<ApprovalAnswer["decision"], "approved">; message: string };

/**
 * Puts the exact action to the human through MCP elicitation; anything but an explicit yes
 * within `timeoutMs` stops it. Never throws: every ending is an outcome the caller records.
 */
async function askApproval(action: string, request: CallRequest, timeoutMs: number): Promise<ApprovalOutcome> {
  const nothingDone = `nothing was done: ${action}`;
  if (request.caller.kind !== "user") {
    return { decision: "not_human", message: `Not approved: only a human can approve this action; ${nothingDone}` };
  }
  if (!request.server.getClientCapabilities()?.elicitation) {
    return {
      decision: "no_elicitation",
      message: `Not approved: this action needs a human's approval, and this client cannot ask for it (no elicitation support); ${nothingDone}`,
    };
  }
  let answer: Awaited<ReturnType<Server["elicitInput"]>>;
  try {
    answer = await request.server.elicitInput(
      {
        mode: "form",
        message: action,
        requestedSchema: {
          type: "object",
          properties: { approve: { type: "boolean", title: "Approve", description: action } },
          required: ["approve"],
        },
      },
      { relatedRequestId: request.requestId, signal: request.signal, timeout: timeoutMs },
    );
  } catch (error) {
    if (error instanceof McpError && error.code === ErrorCode.RequestTimeout && !request.signal.aborted) {
      return {
        decision: "timed_out",
        message: `Not approved: no answer within ${Math.round(timeoutMs / 1000)} s; ${nothingDone}`,
      };
    }
    // The call was cancelled, the stream closed, or the client answered with an error.
    console.warn(`approval request for "${action}" ended without an answer`, error);
    const why = request.signal.aborted
      ? "the call was cancelled before an answer"
      : "the approval request got no answer";
    return { decision: "cancelled", message: `Not approved: ${why}; ${nothingDone}` };
  }
  if (answer.action === "accept" && answer.content?.approve === true) return { decision: "approved" };
  const decision = answer.action === "cancel" ? "cancelled" : "declined";
  return { decision, message: `Not approved (${answer.action}); ${nothingDone}` };
}

/** APPROVAL_TIMEOUT_MS as milliseconds (a whole number > 0), else the default. */
function approvalTimeoutMs(env: Record<string, unknown>): number {
  const ms = Number(env.APPROVAL_TIMEOUT_MS);
  return Number.isSafeInteger(ms) && ms > 0 ? ms : DEFAULT_APPROVAL_TIMEOUT_MS;
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
