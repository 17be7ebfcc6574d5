/**
 * The registry's part in approvals besides the page (page/page.approvals.tsx): each cron run
 * closes the approval requests whose call is gone, and puts their expiry on record, so every
 * request ends in the audit trail even when nobody was left waiting for it; then it deletes the
 * requests that ended more than APPROVALS_RETENTION_DAYS (default 90) ago, so the table does not
 * grow without bound — their audit rows stay (docs/approvals.md).
 */
import {
  approvalsRetentionDays,
  expireAbandonedApprovals,
  pruneEndedApprovals,
} from "../shared/approval/approval.store";
import { type AuditRecord, writeAuditEvents } from "../shared/db/audit.store";
import type { RegistryEnv } from "./registry.env";

export async function sweepApprovals(
  env: Pick<RegistryEnv, "DB" | "APPROVALS_RETENTION_DAYS">,
  now = Date.now(),
): Promise<{ closed: number; pruned: number }> {
  const closed = await expireAbandonedApprovals(env.DB, now);
  const records: AuditRecord[] = closed.map((row) => ({
    id: crypto.randomUUID(),
    at: now,
    serverName: row.serverName,
    callerKind: "user",
    callerId: row.callerId,
    action: `approval ${row.toolName}`,
    decision: "expired",
    reason: `nobody decided before ${row.expiresAt.toISOString()} and the call was gone; closed by the registry [approval ${row.id}]`,
    argsDigest: row.argsDigest,
  }));
  await writeAuditEvents(env.DB, records);
  const pruned = await pruneEndedApprovals(
    env.DB,
    now - approvalsRetentionDays(env.APPROVALS_RETENTION_DAYS) * 86_400_000,
  );
  return { closed: closed.length, pruned };
}
