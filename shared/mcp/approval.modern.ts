/**
 * Human approval on 2026-07-28, where the server cannot send the client a request: the first call
 * of an approval tool is answered `input_required` with a form elicitation showing the exact action
 * and a `requestState` signed with HMAC-SHA256 (the SDK's createRequestStateCodec, key
 * APPROVAL_STATE_KEY). The state is bound to the caller (also through the codec's binding), the
 * server, the tool, the canonical-arguments digest and an expiry, and carries a nonce the caller's
 * Durable Object consumes once. The handler runs only on the retry that carries an explicit yes;
 * replayed state, changed arguments, another caller or expired state are refused and nothing runs.
 */
import {
  acceptedContent,
  createRequestStateCodec,
  type InputRequiredResult,
  inputRequired,
  type RequestStateCodec,
  type ServerContext,
} from "@modelcontextprotocol/server";
import { CfWorkerJsonSchemaValidator } from "@modelcontextprotocol/server/validators/cf-worker";
import type { Caller } from "../auth/caller";
import type { ApprovalRequest } from "./tool";

/** What a minted approval state says (signed, not secret: the client can read it). */
export interface ApprovalState {
  caller: string;
  server: string;
  tool: string;
  argsDigest: string;
  nonce: string;
  /** A high-risk approval's request on the registry page (approval.modern.page.ts). */
  approvalId?: string;
}

/** What a modern call brings to the approval step (mcp.server.ts fills it from the SDK's ctx). */
export interface ModernApprovalRound {
  codec: RequestStateCodec<ApprovalState> | undefined;
  ctx: ServerContext;
  /** The caller's object: true the first time a nonce is used, false ever after. */
  consumeNonce(nonce: string): Promise<boolean>;
}

export type ModernApproval =
  | { kind: "approved"; answers: Record<string, unknown> }
  | { kind: "ask"; result: InputRequiredResult }
  | { kind: "not_approved"; decision: "declined" | "cancelled" | "no_elicitation" | "not_human"; message: string }
  | { kind: "refused"; reason: string };

export const APPROVAL_STATE_TTL_SECONDS = 300;
const FORMS = new CfWorkerJsonSchemaValidator();
export const APPROVAL_KEY = "approval";
/** The form: the approval's own fields (if any) and the yes/no that approves the exact action. */
const SCHEMA = (form: ApprovalRequest) => ({
  type: "object" as const,
  properties: {
    ...form.fields,
    approve: { type: "boolean" as const, title: "Approve", description: form.message },
  },
  required: [...(form.required ?? []), "approve"],
});

/** The codec for one deployment's key; undefined (approvals refused) when no usable key is set. */
export function approvalStateCodec(key: string | undefined): RequestStateCodec<ApprovalState> | undefined {
  if (!key || new TextEncoder().encode(key).length < 32) return undefined;
  return createRequestStateCodec<ApprovalState>({
    key,
    ttlSeconds: APPROVAL_STATE_TTL_SECONDS,
    bind: (ctx) => identityOf(ctx.http?.authInfo?.extra?.caller as Caller | undefined),
  });
}

export function identityOf(caller: Caller | undefined): string {
  return caller ? `${caller.kind}:${caller.subject}` : "";
}

export async function approveModern(
  round: ModernApprovalRound,
  call: { caller: Caller; server: string; tool: string; argsDigest: string; form: ApprovalRequest },
): Promise<ModernApproval> {
  const action = call.form.message;
  const nothingDone = `nothing was done: ${action}`;
  if (call.caller.kind !== "user") {
    return {
      kind: "not_approved",
      decision: "not_human",
      message: `Not approved: only a human can approve this action; ${nothingDone}`,
    };
  }
  // The SDK lifts the per-request envelope out of _meta (ctx.mcpReq.envelope).
  const envelope = round.ctx.mcpReq.envelope as Record<string, unknown> | undefined;
  const capabilities = envelope?.["io.modelcontextprotocol/clientCapabilities"] as
    | { elicitation?: unknown }
    | undefined;
  if (!capabilities?.elicitation) {
    return {
      kind: "not_approved",
      decision: "no_elicitation",
      message: `Not approved: this action needs a human's approval, and this client cannot ask for it (no elicitation support); ${nothingDone}`,
    };
  }
  if (!round.codec) {
    console.error(`${call.server}: APPROVAL_STATE_KEY (at least 32 bytes) must be set for approvals on 2026-07-28`);
    return { kind: "refused", reason: "this server cannot ask for approvals on protocol 2026-07-28 yet" };
  }
  const state = round.ctx.mcpReq.requestState<ApprovalState>(); // verified by the SDK (codec.verify) before we run
  const answer = round.ctx.mcpReq.inputResponses?.[APPROVAL_KEY] as { action?: string } | undefined;
  if (!state || !answer) {
    const payload: ApprovalState = {
      caller: identityOf(call.caller),
      server: call.server,
      tool: call.tool,
      argsDigest: call.argsDigest,
      nonce: crypto.randomUUID(),
    };
    const requestState = await round.codec.mint(payload, round.ctx);
    const ask = inputRequired.elicit({ mode: "form", message: action, requestedSchema: SCHEMA(call.form) });
    return { kind: "ask", result: inputRequired({ inputRequests: { [APPROVAL_KEY]: ask }, requestState }) };
  }
  if (
    state.caller !== identityOf(call.caller) ||
    state.server !== call.server ||
    state.tool !== call.tool ||
    state.approvalId !== undefined ||
    (state as { kind?: unknown }).kind !== undefined // a handler's ask round (ask.modern.ts) approves nothing
  ) {
    return { kind: "refused", reason: "the approval was given for another call" };
  }
  if (state.argsDigest !== call.argsDigest) {
    return { kind: "refused", reason: "the arguments changed since the approval was asked for" };
  }
  if (!(await round.consumeNonce(state.nonce))) {
    return { kind: "refused", reason: "this approval was already used" };
  }
  const content = acceptedContent(round.ctx.mcpReq.inputResponses, APPROVAL_KEY);
  if (answer.action === "accept" && content) {
    // The SDK hands input responses over unchecked: hold them to the form that was asked (as the
    // 2025 path's elicitInput does), so nothing outside it reaches the handler.
    const checked = FORMS.getValidator(SCHEMA(call.form))(content);
    if (!checked.valid) {
      return { kind: "refused", reason: `the approval's answers do not match its form (${checked.errorMessage})` };
    }
  }
  if (answer.action === "accept" && content?.approve === true) {
    // Only the fields asked for reach the handler.
    const answers = Object.fromEntries(
      Object.keys(call.form.fields)
        .filter((field) => content[field] !== undefined)
        .map((field) => [field, content[field]]),
    );
    return { kind: "approved", answers };
  }
  const decision = answer.action === "cancel" ? "cancelled" : "declined";
  return { kind: "not_approved", decision, message: `Not approved (${answer.action}); ${nothingDone}` };
}
