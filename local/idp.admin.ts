/**
 * A test's hand on the local IdP's user directory (idp.users.ts): change a user's groups or
 * email, disable or re-enable them, or add a user. Only `fetch`, so Node tests and the workerd
 * tests can both use it.
 */

/**
 * The email domain of every local account (idp.users.json, newIdpUser): the local auth Worker's
 * OIDC_ALLOWED_DOMAINS (local/fleet.ts, vitest.auth.config.ts).
 */
export const LOCAL_EMAIL_DOMAIN = "example.com";

export interface IdpUserChange {
  password?: string;
  name?: string;
  email?: string;
  emailVerified?: boolean;
  /** The Google Workspace domain the IdP states (`hd`), as Google does for Workspace accounts; "" for none. */
  hostedDomain?: string;
  groups?: string[];
  disabled?: boolean;
}

export interface IdpAdmin {
  issuer: string;
  adminToken: string;
}

export async function changeIdpUser(idp: IdpAdmin, username: string, change: IdpUserChange): Promise<void> {
  const response = await fetch(`${idp.issuer}/_local/users/${encodeURIComponent(username)}`, {
    method: "PUT",
    headers: { authorization: `Bearer ${idp.adminToken}`, "content-type": "application/json" },
    body: JSON.stringify(change),
  });
  if (!response.ok) throw new Error(`changing ${username} at the IdP: ${response.status} ${await response.text()}`);
}

/** A new user of the given groups, with a unique name (so tests that change users do not meet). */
export async function newIdpUser(
  idp: IdpAdmin,
  prefix: string,
  groups: string[],
): Promise<{ username: string; password: string; email: string }> {
  const username = `${prefix}-${crypto.randomUUID().slice(0, 8)}`;
  const password = `${username}-password`;
  const email = `${username}@${LOCAL_EMAIL_DOMAIN}`;
  await changeIdpUser(idp, username, { password, name: `Test ${prefix}`, email, groups });
  return { username, password, email };
}
