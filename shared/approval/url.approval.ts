/**
 * Approvals a human gives on the registry's page, independent of how the call arrived (a 2025
 * session, legacy SSE, or a stateless 2026-07-28 request): `requestUrlApproval` writes the request
 * and returns the link to put to the human (URL-mode elicitation), `awaitApprovalDecision` waits
 * (bounded) for the decision, `takeApproval` consumes an approved request exactly once, for this
 * caller, server, tool and arguments. See docs/approvals.md.
 */
import type { Caller } from "../auth/caller";
import {
  approvalStatus,
  closeApproval,
  consumeApproval,
  createApproval,
  MAX_APPROVAL_ARGUMENTS_BYTES,
} from "./approval.store";

/** One call that needs a human's approval. */
export interface ApprovalSubject {
  caller: Caller;
  serverName: string;
  toolName: string;
  /** The session (or request) the call came on, for the record. */
  sessionId: string;
  /** The validated arguments the handler will get. */
  arguments: Record<string, unknown>;
  /** digestArguments(arguments). */
  argsDigest: string;
  /** The tool's preview of the action. */
  action: string;
}

export interface UrlApprovalRequest {
  /** The request's id: also the URL elicitation's `elicitationId`. */
  id: string;
  /** The approval page: `<registry>/approvals/<id>`. */
  url: string;
  /** What to tell the human alongside the link. */
  message: string;
  expiresAt: number;
}

/** Why an approval link cannot be made (shown to the caller as the reason nothing was done). */
export class UrlApprovalUnavailableError extends Error {}

/** How a request waited on ended. */
export type ApprovalDecision = "approved" | "rejected" | "expired" | "cancelled";

/** The registry page's link for a request. */
export function approvalPageUrl(registryUrl: string, id: string): string {
  return new URL(`/approvals/${encodeURIComponent(id)}`, registryUrl).href;
}

/**
 * Writes a pending approval request that expires in `timeoutMs`, and returns its link.
 * Throws UrlApprovalUnavailableError when the registry's public URL is not configured (or not
 * http(s)), when the caller is not a person, or when the arguments are too large to show.
 */
export async function requestUrlApproval(
  d1: D1Database,
  registryUrl: string | undefined,
  subject: ApprovalSubject,
  timeoutMs: number,
  now = Date.now(),
): Promise<UrlApprovalRequest> {
  if (subject.caller.kind !== "user") {
    throw new UrlApprovalUnavailableError("only a person can approve this action");
  }
  if (!registryUrl || !/^https?:\/\//.test(registryUrl)) {
    console.error("REGISTRY_URL (the registry's public origin) must be configured for approvals on the registry page");
    throw new UrlApprovalUnavailableError("this server has no registry page configured to approve actions on");
  }
  const size = new TextEncoder().encode(JSON.stringify(subject.arguments)).length;
  if (size > MAX_APPROVAL_ARGUMENTS_BYTES) {
    throw new UrlApprovalUnavailableError(
      `the arguments (${size} bytes) are too large to show for approval (at most ${MAX_APPROVAL_ARGUMENTS_BYTES})`,
    );
  }
  const expiresAt = now + timeoutMs;
  const row = await createApproval(d1, {
    serverName: subject.serverName,
    toolName: subject.toolName,
    subject: subject.caller.subject,
    callerId: subject.caller.id,
    sessionId: subject.sessionId,
    argsDigest: subject.argsDigest,
    arguments: subject.arguments,
    action: subject.action,
    expiresAt,
    now,
  });
  const url = approvalPageUrl(registryUrl, row.id);
  return {
    id: row.id,
    url,
    message: `Approve or reject on the fleet registry, signed in as yourself: ${subject.action}`,
    expiresAt,
  };
}

/** First poll after this long, then 1.5 times longer each time, up to MAX_POLL_MS. */
const FIRST_POLL_MS = 200;
const MAX_POLL_MS = 2_000;

/**
 * Waits for the human's decision on the page, reading D1 with backoff, until `expiresAt`; then
 * the request is closed as expired (compare-and-set: a decision that landed first wins). An
 * aborted `signal` closes it as cancelled. Never waits past `expiresAt` plus one read.
 */
export async function awaitApprovalDecision(
  d1: D1Database,
  id: string,
  options: { expiresAt: number; signal?: AbortSignal },
): Promise<ApprovalDecision> {
  let delay = FIRST_POLL_MS;
  for (;;) {
    const status = await approvalStatus(d1, id);
    if (status === undefined) return "cancelled";
    if (status !== "pending") return status;
    if (options.signal?.aborted) return (await closeApproval(d1, id, "cancelled")) ? "cancelled" : settled(d1, id);
    const remaining = options.expiresAt - Date.now();
    if (remaining <= 0) return (await closeApproval(d1, id, "expired")) ? "expired" : settled(d1, id);
    await sleep(Math.min(delay, remaining), options.signal);
    delay = Math.min(Math.round(delay * 1.5), MAX_POLL_MS);
  }
}

/** Closes a request nobody will decide now (the client declined to open the link, or the call ended). */
export async function abandonApproval(d1: D1Database, id: string, status: "expired" | "cancelled"): Promise<void> {
  await closeApproval(d1, id, status);
}

/** Consumes an approved request for exactly this call: true once, false for a replay or any mismatch. */
export function takeApproval(d1: D1Database, id: string, subject: ApprovalSubject): Promise<boolean> {
  return consumeApproval(d1, id, {
    subject: subject.caller.subject,
    serverName: subject.serverName,
    toolName: subject.toolName,
    argsDigest: subject.argsDigest,
  });
}

async function settled(d1: D1Database, id: string): Promise<ApprovalDecision> {
  const status = await approvalStatus(d1, id);
  return status === undefined || status === "pending" ? "cancelled" : status;
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    }
    signal?.addEventListener("abort", done, { once: true });
  });
}
