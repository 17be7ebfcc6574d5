/**
 * Approval requests in D1 (the `approvals` table): created by the call that needs one, decided by
 * the human on the registry page, consumed by the call. Every change of state is one conditional
 * UPDATE (compare-and-set): it happens only if the row is still in the state it was read in and
 * every binding (subject, server, tool, arguments digest, expiry, form token) still holds, so two
 * decisions, a replay or a late answer can never both win. Nothing here depends on a transport.
 */
import { and, desc, eq, gt, inArray, isNull, lt, lte, ne } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { type ApprovalRow, type ApprovalStatus, approvals } from "../db/fleet.schema";

export interface NewApproval {
  serverName: string;
  toolName: string;
  subject: string;
  callerId: string;
  sessionId: string;
  argsDigest: string;
  arguments: Record<string, unknown>;
  action: string;
  /** When decisions stop being accepted (epoch ms). */
  expiresAt: number;
  now?: number;
}

/** What a decision on the page must match: who decides, what they saw, and the form they were given. */
export interface DecisionAttempt {
  id: string;
  /** The signed-in viewer's `<issuer>#<subject>`. */
  subject: string;
  /** The arguments digest the page showed (a hidden field of the form). */
  argsDigest: string;
  formToken: string;
  decision: "approved" | "rejected";
  now?: number;
}

/** Why a decision was refused, in words the page shows and the audit records. */
export type DecisionRefusal =
  | "not_found"
  | "other_subject"
  | "changed_arguments"
  | "bad_form_token"
  | "expired"
  | "already_decided";

export const DECISION_REFUSALS: Record<DecisionRefusal, string> = {
  not_found: "there is no such approval request",
  other_subject: "this approval request belongs to someone else: only the person whose call it is may decide it",
  changed_arguments: "the arguments are not the ones this request was made for",
  bad_form_token: "the form did not come from this approval's page (anti-forgery token missing or wrong)",
  expired: "the approval request has expired",
  already_decided: "the approval request has already been decided",
};

/** What the call itself must match to run on an approval. */
export interface ApprovalBinding {
  subject: string;
  serverName: string;
  toolName: string;
  argsDigest: string;
}

/** Arguments larger than this are not stored (nor shown): such a call cannot be approved on the page. */
export const MAX_APPROVAL_ARGUMENTS_BYTES = 256 * 1024;

/** 32 random bytes, base64url: the id of a request and its form token. */
export function randomToken(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

export async function createApproval(d1: D1Database, input: NewApproval): Promise<ApprovalRow> {
  const now = input.now ?? Date.now();
  const row: ApprovalRow = {
    id: randomToken(),
    serverName: input.serverName,
    toolName: input.toolName,
    subject: input.subject,
    callerId: input.callerId,
    sessionId: input.sessionId,
    argsDigest: input.argsDigest,
    arguments: input.arguments,
    action: input.action,
    status: "pending",
    formToken: randomToken(),
    createdAt: new Date(now),
    expiresAt: new Date(input.expiresAt),
    decidedAt: null,
    decidedBy: null,
    consumedAt: null,
  };
  await drizzle(d1).insert(approvals).values(row);
  return row;
}

export async function getApproval(d1: D1Database, id: string): Promise<ApprovalRow | undefined> {
  return drizzle(d1).select().from(approvals).where(eq(approvals.id, id)).get();
}

/** The signed-in person's approval requests, newest first. */
export async function listApprovals(d1: D1Database, subject: string, limit = 50): Promise<ApprovalRow[]> {
  return drizzle(d1)
    .select()
    .from(approvals)
    .where(eq(approvals.subject, subject))
    .orderBy(desc(approvals.createdAt))
    .limit(limit)
    .all();
}

/**
 * The human's decision: pending → approved/rejected in one compare-and-set that also requires the
 * subject, the digest the page showed, the form token and an unexpired request. When it does not
 * apply, the row is read to say why.
 */
export async function decideApproval(
  d1: D1Database,
  attempt: DecisionAttempt,
): Promise<{ ok: true; row: ApprovalRow } | { ok: false; reason: DecisionRefusal; row?: ApprovalRow }> {
  const now = new Date(attempt.now ?? Date.now());
  const updated = await drizzle(d1)
    .update(approvals)
    .set({ status: attempt.decision, decidedAt: now, decidedBy: attempt.subject })
    .where(
      and(
        eq(approvals.id, attempt.id),
        eq(approvals.status, "pending"),
        eq(approvals.subject, attempt.subject),
        eq(approvals.argsDigest, attempt.argsDigest),
        eq(approvals.formToken, attempt.formToken),
        gt(approvals.expiresAt, now),
      ),
    )
    .returning()
    .get();
  if (updated) return { ok: true, row: updated };
  const row = await getApproval(d1, attempt.id);
  if (!row) return { ok: false, reason: "not_found" };
  // The order matters: someone else learns nothing about the request's state or contents.
  if (row.subject !== attempt.subject) return { ok: false, reason: "other_subject", row };
  if (row.status !== "pending") return { ok: false, reason: "already_decided", row };
  if (row.expiresAt.getTime() <= now.getTime()) return { ok: false, reason: "expired", row };
  if (row.argsDigest !== attempt.argsDigest) return { ok: false, reason: "changed_arguments", row };
  return { ok: false, reason: "bad_form_token", row };
}

/**
 * The call takes its approval: only an approved, unconsumed request decided before its expiry,
 * for this subject, server, tool and arguments digest. True at most once per request.
 */
export async function consumeApproval(
  d1: D1Database,
  id: string,
  binding: ApprovalBinding,
  now = Date.now(),
): Promise<boolean> {
  const taken = await drizzle(d1)
    .update(approvals)
    .set({ consumedAt: new Date(now) })
    .where(
      and(
        eq(approvals.id, id),
        eq(approvals.status, "approved"),
        isNull(approvals.consumedAt),
        eq(approvals.subject, binding.subject),
        eq(approvals.serverName, binding.serverName),
        eq(approvals.toolName, binding.toolName),
        eq(approvals.argsDigest, binding.argsDigest),
        lte(approvals.decidedAt, approvals.expiresAt),
      ),
    )
    .returning({ id: approvals.id })
    .get();
  return taken !== undefined;
}

/**
 * Ends a request nobody decided: pending → expired (its time is up) or cancelled (the client
 * declined to open the link, or the call was cancelled). False when it was decided meanwhile.
 */
export async function closeApproval(
  d1: D1Database,
  id: string,
  status: Extract<ApprovalStatus, "expired" | "cancelled">,
  now = Date.now(),
): Promise<boolean> {
  const closed = await drizzle(d1)
    .update(approvals)
    .set({ status, decidedAt: new Date(now) })
    .where(and(eq(approvals.id, id), eq(approvals.status, "pending")))
    .returning({ id: approvals.id })
    .get();
  return closed !== undefined;
}

/** The request's status now (one small read, for polling). */
export async function approvalStatus(d1: D1Database, id: string): Promise<ApprovalStatus | undefined> {
  const row = await drizzle(d1).select({ status: approvals.status }).from(approvals).where(eq(approvals.id, id)).get();
  return row?.status;
}

/** Pending requests past their expiry read as expired everywhere (the page, the list). */
export function effectiveStatus(row: ApprovalRow, now = Date.now()): ApprovalStatus {
  return row.status === "pending" && row.expiresAt.getTime() <= now ? "expired" : row.status;
}

/**
 * How long after its expiry a pending request is closed by the registry's sweep: well after the
 * call itself would have closed it (it does at the expiry, within one poll), so the two never
 * both record the same expiry.
 */
export const SWEEP_GRACE_MS = 60_000;

/**
 * Closes, as expired, every request still pending SWEEP_GRACE_MS after its expiry: the call that
 * waited on it is gone (its session ended or its Worker restarted). Returns the rows it closed.
 */
export async function expireAbandonedApprovals(d1: D1Database, now = Date.now()): Promise<ApprovalRow[]> {
  return drizzle(d1)
    .update(approvals)
    .set({ status: "expired", decidedAt: new Date(now) })
    .where(and(eq(approvals.status, "pending"), lte(approvals.expiresAt, new Date(now - SWEEP_GRACE_MS))))
    .returning()
    .all();
}

/** Days a request is kept after it ended (decided, expired or cancelled), unless APPROVALS_RETENTION_DAYS says otherwise. */
export const DEFAULT_APPROVALS_RETENTION_DAYS = 90;
/** Rows deleted per statement (the sweep runs every minute: a backlog clears over a few ticks). */
const PRUNE_ROWS = 1_000;

/** The window in days: a whole number ≥ 1, else the default (a bad setting never deletes more). */
export function approvalsRetentionDays(setting: string | undefined): number {
  const days = Number(setting);
  return Number.isSafeInteger(days) && days >= 1 ? days : DEFAULT_APPROVALS_RETENTION_DAYS;
}

/**
 * Deletes up to PRUNE_ROWS requests that ended (any status but pending) before `endedBefore`:
 * their decision and expiry are in the audit trail, which stays. A pending request is never
 * pruned (the sweep closes it first). Returns how many were deleted.
 */
export async function pruneEndedApprovals(d1: D1Database, endedBefore: number): Promise<number> {
  const db = drizzle(d1);
  const ended = db
    .select({ id: approvals.id })
    .from(approvals)
    .where(and(ne(approvals.status, "pending"), lt(approvals.decidedAt, new Date(endedBefore))))
    .limit(PRUNE_ROWS);
  const deleted = await db.delete(approvals).where(inArray(approvals.id, ended)).returning({ id: approvals.id }).all();
  return deleted.length;
}
