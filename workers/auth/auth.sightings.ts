/**
 * Who has signed in with which email: each sign-in (and each refresh that finds a new identity of
 * record) records the pair of the user's email and their IdP subject, so that an admin who names
 * a user by email revokes the person (every IdP subject seen with that email), and so that naming
 * someone no one has ever signed in as is refused rather than recorded as a revocation that binds
 * nothing. The email counts whether or not the IdP verified it (Entra ID never says): that only
 * ever widens a revocation, and the admin's answer lists the subjects it bound.
 *
 * - `seen:email:<email>:<subject>` (both URI-encoded, the email lowercased): listed by the email;
 * - `seen:subject:<subject>`: the subject was seen, with its latest identity of record.
 *
 * Kept 400 days after the last sign-in, like the audit trail.
 */
import { userSubject } from "./auth.revocations";
import type { SignedInUser } from "./auth.sso";

const EMAIL_PREFIX = "seen:email:";
const SUBJECT_PREFIX = "seen:subject:";
const SIGHTING_TTL_SECONDS = 400 * 24 * 60 * 60;

interface Sighting {
  principal: string;
  email?: string;
  /** ISO 8601. */
  at: string;
}

export async function recordSighting(
  kv: KVNamespace,
  user: Pick<SignedInUser, "iss" | "sub" | "principal" | "email">,
): Promise<void> {
  const subject = encodeURIComponent(userSubject(user.iss, user.sub));
  const email = user.email?.toLowerCase();
  const sighting: Sighting = { principal: user.principal, ...(email ? { email } : {}), at: new Date().toISOString() };
  const value = JSON.stringify(sighting);
  const options = { expirationTtl: SIGHTING_TTL_SECONDS };
  await Promise.all([
    kv.put(`${SUBJECT_PREFIX}${subject}`, value, options),
    ...(email ? [kv.put(`${emailPrefix(email)}${subject}`, value, options)] : []),
  ]);
}

/** Every IdP subject seen signed in with this email (lowercased). */
export async function subjectsSeenWith(kv: KVNamespace, email: string): Promise<string[]> {
  const subjects: string[] = [];
  const prefix = emailPrefix(email);
  let cursor: string | undefined;
  do {
    const page = await kv.list({ prefix, ...(cursor ? { cursor } : {}) });
    subjects.push(...page.keys.map((key) => decodeURIComponent(key.name.slice(prefix.length))));
    cursor = page.list_complete ? undefined : page.cursor;
  } while (cursor);
  return subjects;
}

/** Whether anyone has signed in with this IdP subject (within the last 400 days). */
export async function wasSeen(kv: KVNamespace, subject: string): Promise<boolean> {
  return (await kv.get(`${SUBJECT_PREFIX}${encodeURIComponent(subject)}`)) !== null;
}

function emailPrefix(email: string): string {
  return `${EMAIL_PREFIX}${encodeURIComponent(email)}:`;
}
