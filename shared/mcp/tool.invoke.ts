/**
 * One tools/call, end to end: policy, argument validation, human approval, the handler, error
 * mapping, and the invocation record. Handlers only do their job.
 */
import { createHash } from "node:crypto";
import {
  type CallToolResult,
  type InputRequiredResult,
  ProtocolError,
  ProtocolErrorCode,
  SdkError,
  SdkErrorCode,
  type Server,
} from "@modelcontextprotocol/server";
import { v7 as uuidv7 } from "uuid";
import { askUrlApproval, pageDecidesModern, usesUrlApproval } from "../approval/approval.elicit";
import type { Caller } from "../auth/caller";
import { checkToolAccess } from "../auth/policy";
import type { AuditDecision, ApprovalOutcome as RecordedApproval } from "../db/fleet.schema";
import { type InvocationRecord, primaryGroup } from "../db/invocations.store";
import { approveModern, type ModernApprovalRound } from "./approval.modern";
import { approveModernOnPage } from "./approval.modern.page";
import { type ClientAsks, clientAsks, noAsks } from "./ask";
import { ModernAskRound } from "./ask.modern";
import { sessionAsker } from "./ask.session";
import { type ErrorClass, NotApprovedError, ToolError } from "./errors";
import type { SessionAdmission } from "./session.limits";
import type { CreateTaskResult, TaskLauncher } from "./tasks";
import {
  type ApprovalRequest,
  describeInvalidArguments,
  type LogLevel,
  type Tool,
  type ToolContext,
  toCallToolResult,
} from "./tool";

export interface InvocationRuntime<Upstreams> {
  serverName: string;
  sessionId: string;
  env: Record<string, unknown>;
  upstreams(): Upstreams;
  record(invocation: InvocationRecord): void;
  auditDenial(caller: Caller, action: string, reason: string): void;
  /** Puts the human's answer to an approval request (or the lack of one) on record. */
  auditApproval(answer: ApprovalAnswer): void;
  /**
   * 2025 sessions: the caller's limits for a tools/call the session did not admit itself (a batch,
   * legacy SSE); see session.limits.ts. Absent where the caller's object serves the call itself.
   */
  admitCall?(caller: Caller, tool: string): Promise<SessionAdmission>;
  /** 2025 sessions: the log level the client set (logging/setLevel), if it set one. */
  logLevel?(): string | undefined;
  /** 2025 sessions: the resources the client subscribed to (resources/subscribe), bounded. */
  subscriptions?: ResourceSubscriptions;
}

/** A session's resource subscriptions (kept in its storage). */
export interface ResourceSubscriptions {
  /** At most this many URIs at once. */
  readonly max: number;
  /**
   * False when the session already holds `max` subscriptions (subscribing twice is fine). Writes
   * storage before the set: when that throws, nothing changed.
   */
  add(uri: string): boolean;
  remove(uri: string): void;
  has(uri: string): boolean;
  /** Sends notifications/resources/updated for `uri` to the session's client, if it subscribed to it. */
  updated(uri: string): Promise<void>;
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
  /** A 2026-07-28 request: approval by input_required and a signed requestState (approval.modern.ts). */
  modern?: ModernApprovalRound;
  /** The call runs as a task (its tool has `task`, the client declared the extension; tasks.ts). */
  task?: TaskLauncher;
}

export async function invokeTool<Upstreams>(
  runtime: InvocationRuntime<Upstreams>,
  request: CallRequest,
): Promise<CallToolResult | InputRequiredResult | CreateTaskResult> {
  const tool = request.tool as Tool<Upstreams>;
  const startedAt = Date.now();
  const id = uuidv7({ msecs: startedAt });
  const argsDigest = digestArguments(request.arguments ?? {});
  const approval: { outcome: RecordedApproval | null } = { outcome: null };
  // The invocation as recorded once the handler ends: here, or when its task does (tasks.ts).
  const invocation = (outcome: { errorClass: ErrorClass | null }): InvocationRecord => ({
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
  const ended = (outcome: Outcome): CallToolResult => {
    // The id rates the call later (fleet_feedback, `fleet feedback`, the registry page).
    outcome.result._meta = { ...outcome.result._meta, [INVOCATION_ID_META]: id };
    runtime.record(invocation(outcome));
    return outcome.result;
  };
  const handler: HandlerStep<Upstreams> = async (args, ctx) => {
    const prepare = async () => {
      if (tool.prepare) ctx.prepared = await tool.prepare(args, ctx);
    };
    if (request.task && (tool.taskWhen?.(args) ?? true)) {
      // `prepare` asks on the call (its rounds are not the task's); the task is the handler alone.
      const prepared = await withAsks(runtime, tool, request, argsDigest, ctx, prepare);
      if ("ask" in prepared) return prepared.ask;
      return startTask(request.task, tool, args, ctx, ended, invocation);
    }
    const settled = await withAsks(runtime, tool, request, argsDigest, ctx, async () => {
      await prepare();
      return tool.run(args, ctx);
    });
    return "ask" in settled ? settled.ask : toCallToolResult(settled.output);
  };
  let outcome: Outcome;
  let protocolError: ProtocolError | undefined;
  try {
    const result = await runChecked(runtime, tool, request, argsDigest, approval, handler);
    // An approval or an ask put to the client (2026-07-28): not an invocation yet; the retry that answers it is.
    if ("resultType" in result && result.resultType === "input_required") return result as InputRequiredResult;
    // A task: the invocation is recorded when it ends.
    if ("resultType" in result && result.resultType === "task") return result as CreateTaskResult;
    outcome = { errorClass: null, result: result as CallToolResult };
  } catch (error) {
    // A protocol error (an ask the client declared no capability for: -32021) is the call's answer, recorded too.
    if (error instanceof ProtocolError) protocolError = error;
    outcome = toErrorOutcome(tool.name, protocolError ? new ToolError(protocolError.message, "denied") : error);
  }
  const result = ended(outcome);
  if (protocolError) throw protocolError;
  return result;
}

type Outcome = { errorClass: ErrorClass | null; result: CallToolResult };

/** Runs the handler once the checks (policy, validation, approval) passed: in the call, or as a task. */
type HandlerStep<Upstreams> = (
  args: Record<string, unknown>,
  ctx: ToolContext<Upstreams>,
) => Promise<CallToolResult | InputRequiredResult | CreateTaskResult>;

/**
 * Starts the handler as a task: it gets the task's signal (tasks/cancel), asks on the task
 * (input_required until tasks/update answers) and reports progress as the task's status message;
 * its ending is recorded (once) and becomes the task's result, or its error for a protocol error.
 */
async function startTask<Upstreams>(
  launcher: TaskLauncher,
  tool: Tool<Upstreams>,
  args: Record<string, unknown>,
  ctx: ToolContext<Upstreams>,
  ended: (outcome: Outcome) => CallToolResult,
  invocation: (outcome: { errorClass: ErrorClass | null }) => InvocationRecord,
): Promise<CreateTaskResult> {
  const created = await launcher.start(
    async (run) => {
      ctx.signal = run.signal;
      ctx.progress = async (progress, total, message) =>
        run.status([`${progress}${total === undefined ? "" : `/${total}`}`, message].filter(Boolean).join(": "));
      ctx.log = async (level, message) => console.log(JSON.stringify({ level, tool: tool.name, message, task: true }));
      Object.assign(ctx, clientAsks(tool.name, tool.asks, run.asker));
      try {
        return { result: ended({ errorClass: null, result: toCallToolResult(await tool.run(args, ctx)) }) };
      } catch (error) {
        // Recorded as in a call: cancelled; an ask the client declared no capability for, denied.
        const recordedAs = run.signal.aborted
          ? new ToolError("Cancelled by the client (tasks/cancel)", "cancelled")
          : error instanceof ProtocolError && error.code === ProtocolErrorCode.MissingRequiredClientCapability
            ? new ToolError(error.message, "denied")
            : error;
        const result = ended(toErrorOutcome(tool.name, recordedAs));
        return error instanceof ProtocolError && !run.signal.aborted ? { error } : { result };
      }
    },
    invocation({ errorClass: "internal" }),
  );
  return created as CreateTaskResult;
}

async function runChecked<Upstreams>(
  runtime: InvocationRuntime<Upstreams>,
  tool: Tool<Upstreams>,
  request: CallRequest,
  argsDigest: string,
  recorded: { outcome: RecordedApproval | null },
  handler: HandlerStep<Upstreams>,
): Promise<CallToolResult | InputRequiredResult | CreateTaskResult> {
  const decision = checkToolAccess(tool, request.caller);
  if (!decision.allowed) {
    runtime.auditDenial(request.caller, `tools/call ${tool.name}`, decision.reason);
    throw new ToolError(`Access denied: ${decision.reason} (missing ${decision.missing})`, "denied");
  }
  const parsed = tool.schema.safeParse(request.arguments ?? {});
  if (!parsed.success) throw new ToolError(describeInvalidArguments(tool.name, parsed.error), "bad_arguments");
  const args = parsed.data as Record<string, unknown>;
  const ctx = contextFor(runtime, tool, request);
  if (tool.approval && request.modern) {
    const asked = await tool.approval(args, ctx);
    const form: ApprovalRequest = typeof asked === "string" ? { message: asked, fields: {} } : asked;
    const action = form.message;
    const envelope = request.modern.ctx.mcpReq.envelope as Record<string, unknown> | undefined;
    if (pageDecidesModern(tool.approvalRisk ?? "normal", envelope?.["io.modelcontextprotocol/clientCapabilities"])) {
      // High-risk tools, and clients that open links but answer no forms: the registry page
      // decides; the stateless call is asked in rounds (approval.modern.page.ts).
      const subject = { ...approvalSubject(runtime, tool, request, args), action };
      const page = await approveModernOnPage(request.modern, {
        caller: request.caller,
        server: runtime.serverName,
        tool: tool.name,
        argsDigest,
        subject,
        hasFields: Object.keys(form.fields).length > 0,
        registryUrl: runtime.env.REGISTRY_URL as string | undefined,
        db: runtime.env.DB as D1Database,
        timeoutMs: approvalTimeoutMs(runtime.env),
      });
      if (page.kind === "ask") return page.result;
      const tagged = page.approvalId ? `${action} [approval ${page.approvalId}]` : action;
      if (page.kind === "refused") {
        recorded.outcome = "refused";
        runtime.auditApproval({
          caller: request.caller,
          toolName: tool.name,
          argsDigest: subject.argsDigest,
          decision: "refused",
          action: `${tagged}: ${page.reason}`,
        });
        throw new ToolError(`Not approved: ${page.reason}; nothing was done: ${action}`, "not_approved");
      }
      const decision = page.kind === "approved" ? "approved" : page.decision;
      recorded.outcome = decision;
      runtime.auditApproval({
        caller: request.caller,
        toolName: tool.name,
        argsDigest: subject.argsDigest,
        decision,
        action: tagged,
      });
      if (page.kind !== "approved") throw new NotApprovedError(page.message);
      return handler(args, ctx);
    }
    const call = { caller: request.caller, server: runtime.serverName, tool: tool.name, argsDigest, form };
    const approval = await approveModern(request.modern, call);
    if (approval.kind === "ask") return approval.result;
    if (approval.kind === "refused") {
      recorded.outcome = "refused";
      runtime.auditDenial(request.caller, `tools/call ${tool.name}`, `approval refused: ${approval.reason}`);
      throw new ToolError(`Not approved: ${approval.reason}; nothing was done: ${action}`, "not_approved");
    }
    const decision = approval.kind === "approved" ? "approved" : approval.decision;
    recorded.outcome = decision;
    runtime.auditApproval({ caller: request.caller, toolName: tool.name, argsDigest, decision, action });
    if (approval.kind !== "approved") throw new NotApprovedError(approval.message);
    ctx.answers = approval.answers;
  } else if (tool.approval) {
    const asked = await tool.approval(args, ctx);
    const form: ApprovalRequest = typeof asked === "string" ? { message: asked, fields: {} } : asked;
    const action = form.message;
    const timeoutMs = approvalTimeoutMs(runtime.env);
    // High-risk tools, and clients that open links but answer no forms: the registry page decides,
    // bound to the digest of the validated arguments (what the page shows and the handler gets).
    const onPage = usesUrlApproval(tool.approvalRisk ?? "normal", request.server);
    const decision = onPage
      ? await askOnPage(form, runtime, tool, request, args, timeoutMs)
      : await askApproval(form, request, timeoutMs);
    recorded.outcome = decision.decision;
    runtime.auditApproval({
      caller: request.caller,
      toolName: tool.name,
      argsDigest: onPage ? digestArguments(args) : argsDigest,
      decision: decision.decision,
      action: decision.approvalId ? `${action} [approval ${decision.approvalId}]` : action,
    });
    if (decision.decision !== "approved") throw new NotApprovedError(decision.message);
    ctx.answers = decision.answers;
  }
  return handler(args, ctx);
}

/**
 * Runs `work` (the handler, or a task tool's `prepare`) with the call's way of asking the client:
 * pushed over a 2025 session, in rounds on 2026-07-28 (ask.ts); `ask` is the round's input_required.
 */
async function withAsks<Upstreams, Output>(
  runtime: InvocationRuntime<Upstreams>,
  tool: Tool<Upstreams>,
  request: CallRequest,
  argsDigest: string,
  ctx: ToolContext<Upstreams>,
  work: () => Promise<Output>,
): Promise<{ output: Output } | { ask: InputRequiredResult }> {
  if (tool.asks.length === 0) return { output: await work() };
  if (!request.modern) {
    const asker = sessionAsker({
      server: request.server,
      requestId: request.requestId,
      signal: request.signal,
      timeoutMs: approvalTimeoutMs(runtime.env),
    });
    Object.assign(ctx, clientAsks(tool.name, tool.asks, asker));
    return { output: await work() };
  }
  if (!request.modern.codec) {
    console.error(
      `${runtime.serverName}: APPROVAL_STATE_KEY (at least 32 bytes) must be set to ask clients on 2026-07-28`,
    );
    throw new ToolError("This server cannot ask the client anything on protocol 2026-07-28 yet", "internal");
  }
  const round = await ModernAskRound.open({
    round: request.modern,
    caller: request.caller,
    server: runtime.serverName,
    tool: tool.name,
    argsDigest,
  });
  if (!(round instanceof ModernAskRound)) {
    runtime.auditDenial(request.caller, `tools/call ${tool.name}`, `request state refused: ${round.refused}`);
    throw new ToolError(`Refused: ${round.refused}; nothing was done (call again without requestState)`, "denied");
  }
  Object.assign(ctx, clientAsks(tool.name, tool.asks, round));
  return round.settle(work);
}

type ApprovalOutcome =
  | { decision: "approved"; answers: Record<string, unknown>; approvalId?: string }
  | { decision: Exclude<ApprovalAnswer["decision"], "approved">; message: string; approvalId?: string };

/**
 * The registry page decides (URL-mode elicitation). The page takes a yes or no, not the form's
 * extra fields: an approval that asks for choices needs a client with form elicitation.
 */
async function askOnPage<Upstreams>(
  form: ApprovalRequest,
  runtime: InvocationRuntime<Upstreams>,
  tool: Tool<Upstreams>,
  request: CallRequest,
  args: Record<string, unknown>,
  timeoutMs: number,
): Promise<ApprovalOutcome> {
  const action = form.message;
  if (Object.keys(form.fields).length > 0) {
    return {
      decision: "no_elicitation",
      message: `Not approved: this approval asks for choices, which only a client with form elicitation can give; nothing was done: ${action}`,
    };
  }
  const outcome = await askUrlApproval(
    { ...approvalSubject(runtime, tool, request, args), action },
    {
      server: request.server,
      requestId: request.requestId,
      signal: request.signal,
      registryUrl: runtime.env.REGISTRY_URL as string | undefined,
      db: runtime.env.DB as D1Database,
      waiting: (message) => contextFor(runtime, tool, request).progress(0, undefined, message),
    },
    timeoutMs,
  );
  return outcome.decision === "approved" ? { ...outcome, answers: {} } : outcome;
}

/** What the registry-page approval binds to: who calls, where, which tool, with what (validated) arguments. */
function approvalSubject<Upstreams>(
  runtime: InvocationRuntime<Upstreams>,
  tool: Tool<Upstreams>,
  request: CallRequest,
  args: Record<string, unknown>,
) {
  return {
    caller: request.caller,
    serverName: runtime.serverName,
    toolName: tool.name,
    sessionId: runtime.sessionId,
    arguments: args,
    argsDigest: digestArguments(args),
  };
}

/**
 * Puts the exact action to the human through MCP elicitation (with the form's extra fields, if
 * any); anything but an explicit yes within `timeoutMs` stops it. Never throws: every ending is
 * an outcome the caller records.
 */
async function askApproval(form: ApprovalRequest, request: CallRequest, timeoutMs: number): Promise<ApprovalOutcome> {
  const action = form.message;
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
          properties: { ...form.fields, approve: { type: "boolean", title: "Approve", description: action } },
          required: [...(form.required ?? []), "approve"],
        },
      },
      { relatedRequestId: request.requestId, signal: request.signal, timeout: timeoutMs },
    );
  } catch (error) {
    if (error instanceof SdkError && error.code === SdkErrorCode.RequestTimeout && !request.signal.aborted) {
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
  if (answer.action === "accept" && answer.content?.approve === true) {
    // Only the fields asked for reach the handler (elicitInput checked them against their schema).
    const content = answer.content;
    const answers = Object.fromEntries(
      Object.keys(form.fields)
        .filter((field) => content[field] !== undefined)
        .map((field) => [field, content[field]]),
    );
    return { decision: "approved", answers };
  }
  const decision = answer.action === "cancel" ? "cancelled" : "declined";
  return { decision, message: `Not approved (${answer.action}); ${nothingDone}` };
}

/** APPROVAL_TIMEOUT_MS as milliseconds (a whole number > 0), else the default. */
export function approvalTimeoutMs(env: Record<string, unknown>): number {
  const ms = Number(env.APPROVAL_TIMEOUT_MS);
  return Number.isSafeInteger(ms) && ms > 0 ? ms : DEFAULT_APPROVAL_TIMEOUT_MS;
}

function contextFor<Upstreams>(
  runtime: InvocationRuntime<Upstreams>,
  tool: Tool<Upstreams>,
  request: CallRequest,
): ToolContext<Upstreams> {
  const asks: ClientAsks = noAsks(tool.name);
  return {
    ...asks,
    caller: request.caller,
    env: runtime.env,
    get upstream() {
      return runtime.upstreams();
    },
    signal: request.signal,
    answers: {},
    resourceUpdated: (uri) => runtime.subscriptions?.updated(uri) ?? Promise.resolve(),
    prepared: {},
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
