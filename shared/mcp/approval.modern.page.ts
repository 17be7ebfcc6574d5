/**
 * High-risk approvals on 2026-07-28: the human decides on the registry's page, and the stateless
 * call cannot wait for it, so it is asked in rounds. The first call writes the approval request
 * (url.approval.ts: requestUrlApproval) and answers `input_required` with a URL-mode elicitation
 * (the link to `/approvals/<id>`) and a signed requestState (approval.modern.ts's codec) carrying
 * the approval's id, bound to caller, server, tool, the arguments' digest and an expiry, with a
 * nonce. A retry reads the decision from D1: still pending → asked again (same request, same link);
 * approved → the nonce is used and the approval taken (single use, same subject, server, tool and
 * digest), and only then does the handler run; rejected, expired, another call's state or changed
 * arguments → refused, nothing runs.
 */
import { inputRequired } from "@modelcontextprotocol/server";
import { getApproval } from "../approval/approval.store";
import {
  type ApprovalSubject,
  abandonApproval,
  approvalPageUrl,
  requestUrlApproval,
  takeApproval,
  UrlApprovalUnavailableError,
} from "../approval/url.approval";
import type { Caller } from "../auth/caller";
import { APPROVAL_KEY, type ApprovalState, identityOf, type ModernApprovalRound } from "./approval.modern";

export type PageApproval =
  | { kind: "approved"; approvalId: string }
  | { kind: "ask"; result: ReturnType<typeof inputRequired>; approvalId: string }
  | {
      kind: "not_approved";
      decision: "rejected" | "expired" | "cancelled" | "declined" | "no_elicitation" | "not_human";
      message: string;
      approvalId?: string;
    }
  | { kind: "refused"; reason: string; approvalId?: string };

export interface PageApprovalCall {
  caller: Caller;
  server: string;
  tool: string;
  /** Digest of the arguments as sent (what the requestState binds, as for form approvals). */
  argsDigest: string;
  /** The validated arguments, their digest, the preview: what the page shows and the approval binds. */
  subject: ApprovalSubject;
  /** The form's own fields: the page takes a yes or no only. */
  hasFields: boolean;
  registryUrl: string | undefined;
  db: D1Database;
  timeoutMs: number;
}

export async function approveModernOnPage(round: ModernApprovalRound, call: PageApprovalCall): Promise<PageApproval> {
  const action = call.subject.action;
  const nothingDone = `nothing was done: ${action}`;
  if (call.caller.kind !== "user") {
    return {
      kind: "not_approved",
      decision: "not_human",
      message: `Not approved: only a human can approve this action; ${nothingDone}`,
    };
  }
  const envelope = round.ctx.mcpReq.envelope as Record<string, unknown> | undefined;
  const capabilities = envelope?.["io.modelcontextprotocol/clientCapabilities"] as
    | { elicitation?: { url?: unknown; form?: unknown } }
    | undefined;
  const elicitation = capabilities?.elicitation;
  if (!elicitation?.url) {
    return elicitation
      ? {
          kind: "refused",
          reason:
            "this action is high-risk and is approved only on the fleet registry's page, signed in as yourself; " +
            "this client cannot open an approval link (it lacks URL-mode elicitation). Use a client that supports it, " +
            "e.g. the fleet CLI",
        }
      : {
          kind: "not_approved",
          decision: "no_elicitation",
          message:
            "Not approved: this action needs a human's approval, and this client cannot ask for it (it supports " +
            `neither form nor URL-mode elicitation); ${nothingDone}`,
        };
  }
  if (call.hasFields) {
    return {
      kind: "not_approved",
      decision: "no_elicitation",
      message: `Not approved: this approval asks for choices, which the registry page cannot take; ${nothingDone}`,
    };
  }
  if (!round.codec) {
    console.error(`${call.server}: APPROVAL_STATE_KEY (at least 32 bytes) must be set for approvals on 2026-07-28`);
    return { kind: "refused", reason: "this server cannot ask for approvals on protocol 2026-07-28 yet" };
  }
  const state = round.ctx.mcpReq.requestState<ApprovalState>(); // verified by the SDK before we run
  const answer = round.ctx.mcpReq.inputResponses?.[APPROVAL_KEY] as { action?: string } | undefined;
  if (!state || !answer) {
    let request: Awaited<ReturnType<typeof requestUrlApproval>>;
    try {
      request = await requestUrlApproval(call.db, call.registryUrl, call.subject, call.timeoutMs);
    } catch (error) {
      if (!(error instanceof UrlApprovalUnavailableError)) throw error;
      return { kind: "refused", reason: error.message };
    }
    const payload: ApprovalState = {
      caller: identityOf(call.caller),
      server: call.server,
      tool: call.tool,
      argsDigest: call.argsDigest,
      nonce: crypto.randomUUID(),
      approvalId: request.id,
    };
    return { kind: "ask", approvalId: request.id, result: await ask(round, payload, request.message, request.url) };
  }
  const approvalId = state.approvalId;
  if (state.caller !== identityOf(call.caller) || state.server !== call.server || state.tool !== call.tool) {
    return { kind: "refused", reason: "the approval was given for another call" };
  }
  if (!approvalId) return { kind: "refused", reason: "this high-risk action is approved only on the registry page" };
  if (state.argsDigest !== call.argsDigest) {
    return { kind: "refused", reason: "the arguments changed since the approval was asked for", approvalId };
  }
  if (answer.action !== "accept") {
    // The client will not show the link: the request is closed (a decision that landed first stays).
    await abandonApproval(call.db, approvalId, "cancelled");
    const decision = answer.action === "cancel" ? "cancelled" : "declined";
    const message = `Not approved (the approval link was ${answer.action}d); ${nothingDone}`;
    return { kind: "not_approved", decision, message, approvalId };
  }
  const row = await getApproval(call.db, approvalId);
  if (!row) return { kind: "refused", reason: "the approval request does not exist", approvalId };
  const expired = row.expiresAt.getTime() <= Date.now();
  if (row.status === "pending" && !expired) {
    // Not decided yet: the same request and link again, with the same (unused) nonce.
    const message = `Not decided yet. Approve or reject on the fleet registry, signed in as yourself: ${action}`;
    const url = approvalPageUrl(call.registryUrl ?? "", approvalId);
    return { kind: "ask", approvalId, result: await ask(round, state, message, url) };
  }
  if (row.status === "pending" || row.status === "expired") {
    await abandonApproval(call.db, approvalId, "expired");
    const message = `Not approved: nobody decided within ${Math.round(call.timeoutMs / 1000)} s; ${nothingDone}`;
    return { kind: "not_approved", decision: "expired", message, approvalId };
  }
  if (row.status === "rejected") {
    return {
      kind: "not_approved",
      decision: "rejected",
      message: `Not approved: you rejected it on the registry; ${nothingDone}`,
      approvalId,
    };
  }
  if (row.status !== "approved") {
    return {
      kind: "not_approved",
      decision: "cancelled",
      message: `Not approved: the request was closed; ${nothingDone}`,
      approvalId,
    };
  }
  if (!(await round.consumeNonce(state.nonce))) {
    return { kind: "refused", reason: "this approval was already used", approvalId };
  }
  if (!(await takeApproval(call.db, approvalId, call.subject))) {
    return { kind: "refused", reason: "the approval does not match this call or was already used", approvalId };
  }
  return { kind: "approved", approvalId };
}

async function ask(round: ModernApprovalRound, payload: ApprovalState, message: string, url: string) {
  const requestState = await (round.codec as NonNullable<ModernApprovalRound["codec"]>).mint(payload, round.ctx);
  // The SDK's URL-mode builder: 2026-07-28 has no elicitationId; the approval's id rides in requestState.
  const elicit = inputRequired.elicitUrl({ message, url });
  return inputRequired({ inputRequests: { [APPROVAL_KEY]: elicit }, requestState });
}
