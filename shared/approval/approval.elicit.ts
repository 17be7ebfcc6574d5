/**
 * URL-mode elicitation (MCP 2025-11-25) over the SDK's `Server`, as 2025 sessions and legacy SSE
 * use it: the approval link goes to the client as `elicitation/create` with mode "url", the call
 * waits for the decision on the registry page, then says `notifications/elicitation/complete`.
 * The request, the wait and the single-use consumption are transport-free (url.approval.ts).
 */
import { SdkError, SdkErrorCode, type Server } from "@modelcontextprotocol/server";
import type { AuditDecision } from "../db/fleet.schema";
import {
  type ApprovalSubject,
  abandonApproval,
  awaitApprovalDecision,
  requestUrlApproval,
  takeApproval,
  UrlApprovalUnavailableError,
} from "./url.approval";

/** How asking ended: approved, or why not (what the audit trail records, and what the caller is told). */
export type ApprovalOutcome =
  | { decision: "approved"; approvalId?: string }
  | { decision: Exclude<AuditDecision, "denied" | "approved">; message: string; approvalId?: string };

/** How much risk the tool's owner declared for its approval. */
export type ApprovalRisk = "normal" | "high";

/** Which elicitation modes the client declared at initialize (an empty object means form). */
export function elicitationModes(server: Server): { form: boolean; url: boolean } {
  const elicitation = server.getClientCapabilities()?.elicitation;
  return { form: Boolean(elicitation?.form), url: Boolean(elicitation?.url) };
}

/**
 * The registry page decides high-risk actions always, and any approval for a client that can
 * open links (URL mode) but not answer forms. Everything else is the form elicitation.
 */
export function usesUrlApproval(risk: ApprovalRisk, server: Server): boolean {
  return pageDecides(risk, elicitationModes(server));
}

/** The same rule for a 2026-07-28 request, from the capabilities its envelope declares. */
export function pageDecidesModern(risk: ApprovalRisk, capabilities: unknown): boolean {
  const elicitation = (capabilities as { elicitation?: Record<string, unknown> } | undefined)?.elicitation;
  // As at a 2025 initialize, an empty `elicitation` object means form.
  const form = elicitation !== undefined && (Boolean(elicitation.form) || Object.keys(elicitation).length === 0);
  return pageDecides(risk, { form, url: Boolean(elicitation?.url) });
}

function pageDecides(risk: ApprovalRisk, modes: { form: boolean; url: boolean }): boolean {
  return risk === "high" || (!modes.form && modes.url);
}

export interface ElicitationChannel {
  server: Server;
  requestId: string | number;
  signal: AbortSignal;
  /** The registry's public origin (REGISTRY_URL). */
  registryUrl: string | undefined;
  db: D1Database;
  /**
   * Tells the client the call is waiting for the human (a progress notification when it asked for
   * progress): sent when the wait begins and every WAIT_NOTICE_MS, so a client's request timeout
   * that resets on progress does not end the call before the approval's own expiry.
   */
  waiting?: (message: string) => Promise<void>;
}

const WAIT_NOTICE_MS = 10_000;

/**
 * Asks for approval on the registry page through URL-mode elicitation and waits for it, bounded by
 * `timeoutMs`. Never throws for an ending the caller should hear about: each is an outcome.
 */
export async function askUrlApproval(
  subject: ApprovalSubject,
  channel: ElicitationChannel,
  timeoutMs: number,
): Promise<ApprovalOutcome> {
  const nothingDone = `nothing was done: ${subject.action}`;
  if (subject.caller.kind !== "user") {
    return { decision: "not_human", message: `Not approved: only a human can approve this action; ${nothingDone}` };
  }
  const modes = elicitationModes(channel.server);
  if (!modes.url) {
    return modes.form
      ? {
          decision: "refused",
          message:
            "Not approved: this action is high-risk and is approved only on the fleet registry's page, signed in " +
            "as yourself; this client cannot open an approval link (it lacks URL-mode elicitation). Use a client " +
            `that supports it, e.g. the fleet CLI; ${nothingDone}`,
        }
      : {
          decision: "no_elicitation",
          message:
            "Not approved: this action needs a human's approval, and this client cannot ask for it (it supports " +
            `neither form nor URL-mode elicitation); ${nothingDone}`,
        };
  }
  let request: Awaited<ReturnType<typeof requestUrlApproval>>;
  try {
    request = await requestUrlApproval(channel.db, channel.registryUrl, subject, timeoutMs);
  } catch (error) {
    if (!(error instanceof UrlApprovalUnavailableError)) throw error;
    return { decision: "refused", message: `Not approved: ${error.message}; ${nothingDone}` };
  }
  const approvalId = request.id;
  const remaining = () => Math.max(1, request.expiresAt - Date.now());
  let answer: Awaited<ReturnType<Server["elicitInput"]>>;
  try {
    answer = await channel.server.elicitInput(
      { mode: "url", message: request.message, url: request.url, elicitationId: request.id },
      { relatedRequestId: channel.requestId, signal: channel.signal, timeout: remaining() },
    );
  } catch (error) {
    const timedOut = error instanceof SdkError && error.code === SdkErrorCode.RequestTimeout && !channel.signal.aborted;
    await abandonApproval(channel.db, request.id, timedOut ? "expired" : "cancelled");
    if (timedOut) {
      return { decision: "expired", approvalId, message: `Not approved: nobody decided in time; ${nothingDone}` };
    }
    console.warn(`URL approval request for "${subject.action}" ended without an answer`, error);
    return {
      decision: "cancelled",
      approvalId,
      message: `Not approved: the approval request got no answer; ${nothingDone}`,
    };
  }
  if (answer.action !== "accept") {
    await abandonApproval(channel.db, request.id, "cancelled");
    const decision = answer.action === "cancel" ? "cancelled" : "declined";
    return { decision, approvalId, message: `Not approved (the approval link was ${answer.action}d); ${nothingDone}` };
  }
  const notice = `Waiting for your decision on the registry page: ${request.url}`;
  const sendNotice = () => channel.waiting?.(notice).catch(() => {});
  void sendNotice();
  const notices = setInterval(sendNotice, WAIT_NOTICE_MS);
  const decision = await awaitApprovalDecision(channel.db, request.id, {
    expiresAt: request.expiresAt,
    signal: channel.signal,
  }).finally(() => clearInterval(notices));
  await notifyComplete(channel, request.id);
  switch (decision) {
    case "approved":
      if (await takeApproval(channel.db, request.id, subject)) return { decision: "approved", approvalId };
      return {
        decision: "refused",
        approvalId,
        message: `Not approved: the approval does not match this call or was already used; ${nothingDone}`,
      };
    case "rejected":
      return {
        decision: "rejected",
        approvalId,
        message: `Not approved: you rejected it on the registry; ${nothingDone}`,
      };
    case "expired":
      return {
        decision: "expired",
        approvalId,
        message: `Not approved: nobody decided within ${Math.round(timeoutMs / 1000)} s; ${nothingDone}`,
      };
    default:
      return { decision: "cancelled", approvalId, message: `Not approved: the call was cancelled; ${nothingDone}` };
  }
}

/** Tells the client the link's interaction is over (best effort: the call's answer follows anyway). */
async function notifyComplete(channel: ElicitationChannel, elicitationId: string): Promise<void> {
  if (channel.signal.aborted) return;
  try {
    await channel.server.createElicitationCompletionNotifier(elicitationId, {
      relatedRequestId: channel.requestId,
    })();
  } catch (error) {
    console.warn("notifications/elicitation/complete could not be sent", error);
  }
}
