/**
 * Revoked identities and the admin audit trail, in the auth Worker's KV.
 *
 * A revocation is bound to who the person is at the IdP, not to a claim that can change: a
 * record `revoked:<issuer>#<subject>` (the IdP's subject, `Caller.subject`) for each subject the
 * user has signed in as, plus `revoked:user:<principal>` when they were revoked by their email;
 * `revoked:service:<name>` for a service. Every door checks every key of the caller (sign-in,
 * refresh, the client credentials grant, and token validation, which reads them with KV's
 * shortest cache, 30 s, so with the domain servers' 30 s validation cache a revocation takes
 * effect everywhere within 60 s), so a revoked user whose email changes, or stops being verified,
 * is still refused. A key's record lists every revocation that holds it, each with all its keys:
 * a restore lifts the revocations that hold the key it names (the email, a subject, a service),
 * each of them whole, and nothing else, so a subject revoked on its own stays revoked when a
 * revocation by an email that also bound it is lifted. (Records are read, changed and written
 * back: two admins acting on the same person in the same instant could lose one entry of a
 * record, never the record itself, so the person stays refused.)
 *
 * The audit trail: every admin action as `audit:<inverted time>:<id>`, newest first when listed,
 * kept 400 days (that TTL is what bounds it); each entry is also
 * logged as one JSON line (`"audit":"admin-…"`) for Workers Logs / Logpush. The fleet's D1
 * `audit_events` belongs to the domain Workers and the registry; the auth Worker has no D1 binding.
 */
import type { TokenProps } from "../../shared/auth/token.validation";

/** Whom an admin names: a user by their email (identity of record), a user by IdP subject, a service. */
export type Target =
  | { kind: "user"; principal: string }
  | { kind: "subject"; subject: string }
  | { kind: "service"; name: string };

export interface AdminAuditEntry {
  /** ISO 8601. */
  at: string;
  action: "revoke" | "restore";
  /** `user:<principal>`, `<issuer>#<subject>` or `service:<name>`: whom the admin named. */
  subject: string;
  /** The admin's stable id (`user:<principal>`). */
  by: string;
  reason: string;
  /** The IdP subjects (`<issuer>#<subject>`) a user revocation is bound to. */
  subjects?: string[];
  /** Grants (with their refresh and access tokens) ended by a user revocation. */
  grantsRevoked?: number;
  /** A restore: the revocations it lifted (whom each named). */
  lifted?: string[];
  /** A restore: revocations that still refuse some of the person's keys (whom each named). */
  stillRevokedBy?: string[];
  /** Set when the action failed part-way: what did not happen. */
  incomplete?: string;
}

/** One admin's revocation: whom they named, and every key it binds (lifted together). */
export interface Revocation {
  /** What the admin named (`targetId`): at most one revocation per target in a record. */
  target: string;
  at: string;
  by: string;
  reason: string;
  keys: string[];
}

/** What `revoked:<key>` holds: the revocations that hold the key (it exists only while one does). */
interface RevocationRecord {
  revocations: Revocation[];
}

const REVOKED_PREFIX = "revoked:";
const AUDIT_PREFIX = "audit:";
const AUDIT_TTL_SECONDS = 400 * 24 * 60 * 60;
/** KV's minimum read cache: how stale a revocation check may be at one location. */
const REVOCATION_CACHE_SECONDS = 30;
const SERVICE_NAME = /^[a-z0-9][a-z0-9._-]{0,63}$/;
const EMAIL = /^[^\s@]+@[^\s@]+$/;

/**
 * `service:<name>`; `<issuer>#<subject>` (the issuer a URL); `user:<email>` or a bare email.
 * Anything else (a login name such as `bob`) names no one: principals are verified emails or
 * `<issuer>#<subject>`, never the IdP's username.
 */
export function parseTarget(text: string): Target | undefined {
  const value = text.trim();
  if (value.startsWith("service:")) {
    const name = value.slice("service:".length);
    return SERVICE_NAME.test(name) ? { kind: "service", name } : undefined;
  }
  const rest = value.startsWith("user:") ? value.slice("user:".length) : value;
  if (rest === "" || rest.length > 320 || /\s/.test(rest)) return undefined;
  // An issuer is an http(s) URL, which has no fragment: the subject is everything after the first "#".
  const hash = rest.indexOf("#");
  const issuer = rest.slice(0, Math.max(hash, 0));
  if (hash > 0 && hash < rest.length - 1 && URL.canParse(issuer) && /^https?:$/.test(new URL(issuer).protocol)) {
    return { kind: "subject", subject: rest };
  }
  // Principals that are emails are stored lowercased (see auth.sso.ts).
  return EMAIL.test(rest) ? { kind: "user", principal: rest.toLowerCase() } : undefined;
}

/** What the audit trail calls the target. */
export function targetId(target: Target): string {
  if (target.kind === "user") return `user:${target.principal}`;
  return target.kind === "subject" ? target.subject : `service:${target.name}`;
}

/** `<issuer>#<subject>`: who a user is at the IdP, whatever their email becomes (as `Caller.subject`). */
export function userSubject(iss: string, sub: string): string {
  return `${iss}#${sub}`;
}

/**
 * The revocation keys a caller is checked against: a user's principal and IdP subject, a
 * service's name. Tokens from before the issuer was recorded were all issued for `issuer`.
 */
export function revocationKeysOf(props: TokenProps, issuer: string): string[] {
  if (props.kind === "service") return [`service:${props.name}`];
  return [`user:${props.principal ?? props.sub}`, userSubject(props.iss ?? issuer, props.sub)];
}

/** True when any of the keys is revoked. */
export async function isRevoked(kv: KVNamespace, keys: readonly string[]): Promise<boolean> {
  const found = await Promise.all(
    keys.map((key) => kv.get(`${REVOKED_PREFIX}${key}`, { cacheTtl: REVOCATION_CACHE_SECONDS })),
  );
  return found.some((record) => record !== null);
}

/** Revokes every key (the revocation's), keeping the other revocations that already hold them. */
export async function markRevoked(kv: KVNamespace, revocation: Revocation): Promise<void> {
  await Promise.all(
    revocation.keys.map(async (key) => {
      const held = (await readRecord(kv, key))?.revocations ?? [];
      // The same target revoked again replaces its entry: a record holds one entry per target.
      const revocations = [...held.filter((other) => other.target !== revocation.target), revocation];
      await kv.put(`${REVOKED_PREFIX}${key}`, JSON.stringify({ revocations } satisfies RevocationRecord));
    }),
  );
}

/**
 * Lifts every revocation that holds `key` (what a restore names), each on all its keys; a key
 * stays revoked while another revocation holds it. Returns the revocations lifted.
 */
export async function clearRevoked(kv: KVNamespace, key: string): Promise<Revocation[]> {
  const lifted = (await readRecord(kv, key))?.revocations ?? [];
  if (lifted.length === 0) return [];
  const liftedTargets = new Set(lifted.map((revocation) => revocation.target));
  const keys = new Set([key, ...lifted.flatMap((revocation) => revocation.keys)]);
  await Promise.all(
    [...keys].map(async (affected) => {
      const held = (await readRecord(kv, affected))?.revocations ?? [];
      const revocations = held.filter((revocation) => !liftedTargets.has(revocation.target));
      if (revocations.length === 0) await kv.delete(`${REVOKED_PREFIX}${affected}`);
      else await kv.put(`${REVOKED_PREFIX}${affected}`, JSON.stringify({ revocations } satisfies RevocationRecord));
    }),
  );
  return lifted;
}

/** The targets of the revocations holding any of these keys. */
export async function revokedBy(kv: KVNamespace, keys: readonly string[]): Promise<string[]> {
  const records = await Promise.all(keys.map((key) => readRecord(kv, key)));
  return [...new Set(records.flatMap((record) => record?.revocations.map((revocation) => revocation.target) ?? []))];
}

/** A key's record; one written before records listed their revocations is one revocation of that key. */
async function readRecord(kv: KVNamespace, key: string): Promise<RevocationRecord | undefined> {
  const record = await kv.get<Partial<RevocationRecord> & Partial<Omit<Revocation, "target">>>(
    `${REVOKED_PREFIX}${key}`,
    "json",
  );
  if (record === null) return undefined;
  if (Array.isArray(record.revocations)) return { revocations: record.revocations };
  const { at = "", by = "", reason = "", keys = [key] } = record;
  return { revocations: [{ target: keys[0] ?? key, at, by, reason, keys }] };
}

/** Records an admin action (KV and one log line); returns its key, for `rewriteAudit`. */
export async function recordAudit(kv: KVNamespace, entry: AdminAuditEntry): Promise<string> {
  console.log(JSON.stringify({ audit: `admin-${entry.action}`, ...entry }));
  const inverted = String(Number.MAX_SAFE_INTEGER - Date.parse(entry.at)).padStart(16, "0");
  const key = `${AUDIT_PREFIX}${inverted}:${crypto.randomUUID()}`;
  await rewriteAudit(kv, key, entry);
  return key;
}

/** Replaces a recorded entry with what the action turned out to do (its outcome, or what failed). */
export async function rewriteAudit(kv: KVNamespace, key: string, entry: AdminAuditEntry): Promise<void> {
  await kv.put(key, JSON.stringify(entry), { expirationTtl: AUDIT_TTL_SECONDS });
}

/** The newest admin actions first (at most 100). */
export async function recentAudit(kv: KVNamespace, limit: number): Promise<AdminAuditEntry[]> {
  const page = await kv.list({ prefix: AUDIT_PREFIX, limit: Math.min(Math.max(limit, 1), 100) });
  const entries = await Promise.all(page.keys.map((key) => kv.get<AdminAuditEntry>(key.name, "json")));
  return entries.filter((entry): entry is AdminAuditEntry => entry !== null);
}
