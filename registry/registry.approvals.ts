/**
 * The registry's part in approvals besides the page (page/page.approvals.tsx): each cron run
 * closes the approval requests whose call is gone, and puts their expiry on record, so every
 * request ends in the audit trail even when nobody was left waiting for it (docs/approvals.md).
 */
import { expireAbandonedApprovals } from "../shared/approval/approval.store";
import { type AuditRecord, writeAuditEvents } from "../shared/db/audit.store";
import type { RegistryEnv } from "./registry.env";

export async function sweepApprovals(env: Pick<RegistryEnv, "DB">, now = Date.now()): Promise<number> {
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
  return closed.length;
}
