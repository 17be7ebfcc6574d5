/**
 * Revoked identities and the admin audit trail, in the auth Worker's KV.
 *
 * A revocation record `revoked:<subject>` (`user:<principal>` or `service:<name>`) stops the
 * subject at every door until an admin restores it: sign-in, refresh, the client credentials
 * grant, and token validation (which reads it with KV's shortest cache, 30 s, so with the domain
 * servers' 30 s validation cache a revocation takes effect everywhere within 60 s).
 *
 * The audit trail: every admin action as `audit:<inverted time>:<id>`, newest first when listed,
 * kept 400 days (that TTL is what bounds it); each entry is also
 * logged as one JSON line (`"audit":"admin-…"`) for Workers Logs / Logpush. The fleet's D1
 * `audit_events` belongs to the domain Workers and the registry; the auth Worker has no D1 binding.
 */

export type Subject = { kind: "user"; principal: string } | { kind: "service"; name: string };

export interface AdminAuditEntry {
  /** ISO 8601. */
  at: string;
  action: "revoke" | "restore";
  /** `user:<principal>` or `service:<name>`. */
  subject: string;
  /** The admin's stable id (`user:<principal>`). */
  by: string;
  reason: string;
  /** Grants (with their refresh and access tokens) ended by a user revocation. */
  grantsRevoked?: number;
}

const REVOKED_PREFIX = "revoked:";
const AUDIT_PREFIX = "audit:";
const AUDIT_TTL_SECONDS = 400 * 24 * 60 * 60;
/** KV's minimum read cache: how stale a revocation check may be at one location. */
const REVOCATION_CACHE_SECONDS = 30;
const SERVICE_NAME = /^[a-z0-9][a-z0-9._-]{0,63}$/;

/** `service:<name>` is a service; `user:<principal>` or a bare principal is a user. */
export function parseSubject(text: string): Subject | undefined {
  const value = text.trim();
  if (value.startsWith("service:")) {
    const name = value.slice("service:".length);
    return SERVICE_NAME.test(name) ? { kind: "service", name } : undefined;
  }
  const principal = value.startsWith("user:") ? value.slice("user:".length) : value;
  if (principal === "" || principal.length > 320 || /\s/.test(principal)) return undefined;
  // Principals that are emails are stored lowercased (see auth.sso.ts).
  return { kind: "user", principal: principal.includes("#") ? principal : principal.toLowerCase() };
}

export function subjectId(subject: Subject): string {
  return subject.kind === "user" ? `user:${subject.principal}` : `service:${subject.name}`;
}

export async function isRevoked(kv: KVNamespace, subject: string): Promise<boolean> {
  return (await kv.get(`${REVOKED_PREFIX}${subject}`, { cacheTtl: REVOCATION_CACHE_SECONDS })) !== null;
}

export async function markRevoked(kv: KVNamespace, entry: AdminAuditEntry): Promise<void> {
  await kv.put(
    `${REVOKED_PREFIX}${entry.subject}`,
    JSON.stringify({ at: entry.at, by: entry.by, reason: entry.reason }),
  );
}

/** Lifts a revocation; false when there was none. */
export async function clearRevoked(kv: KVNamespace, subject: string): Promise<boolean> {
  const key = `${REVOKED_PREFIX}${subject}`;
  if ((await kv.get(key)) === null) return false;
  await kv.delete(key);
  return true;
}

export async function recordAudit(kv: KVNamespace, entry: AdminAuditEntry): Promise<void> {
  console.log(JSON.stringify({ audit: `admin-${entry.action}`, ...entry }));
  const inverted = String(Number.MAX_SAFE_INTEGER - Date.parse(entry.at)).padStart(16, "0");
  await kv.put(`${AUDIT_PREFIX}${inverted}:${crypto.randomUUID()}`, JSON.stringify(entry), {
    expirationTtl: AUDIT_TTL_SECONDS,
  });
}

/** The newest admin actions first (at most 100). */
export async function recentAudit(kv: KVNamespace, limit: number): Promise<AdminAuditEntry[]> {
  const page = await kv.list({ prefix: AUDIT_PREFIX, limit: Math.min(Math.max(limit, 1), 100) });
  const entries = await Promise.all(page.keys.map((key) => kv.get<AdminAuditEntry>(key.name, "json")));
  return entries.filter((entry): entry is AdminAuditEntry => entry !== null);
}
