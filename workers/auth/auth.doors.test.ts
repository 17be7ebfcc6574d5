/**
 * A revoked person cannot come back: not through another revocation's restore, not through a
 * sign-in that finished while the revocation was being recorded, not through the code exchange
 * of a sign-in that passed its check just before, not with another email at the same subject.
 */
import { env } from "cloudflare:test";
import { afterEach, describe, expect, it, vi } from "vitest";
import { changeIdpUser, LOCAL_EMAIL_DOMAIN, newIdpUser } from "../../local/idp.admin";
import type { AuthEnv } from "./auth.config";
import { clearRevoked, markRevoked } from "./auth.revocations";
import {
  adminRequest,
  adminToken,
  authorize,
  Browser,
  exchangeCode,
  IDP_ADMIN,
  PRESTO,
  pkcePair,
  presto,
  refresh,
  registerClient,
  signedInClient,
} from "./auth.testing";

const kv = () => (env as unknown as AuthEnv).OAUTH_KV;
afterEach(() => vi.restoreAllMocks());

/** Signing in again, as `user`: the error the client gets back, or null for a code. */
async function signInAgain(user: { username: string; password: string }): Promise<string | null> {
  const client = await registerClient();
  const { challenge } = await pkcePair();
  return (await authorize(new Browser(), { client, challenge }, user)).searchParams.get("error");
}

describe("overlapping revocations", () => {
  it("restoring a revocation by email leaves a revocation of the person's subject on its own in force", async () => {
    const user = await newIdpUser(IDP_ADMIN, "sam", ["ads"]);
    const session = await signedInClient(user);
    const subject = `${IDP_ADMIN.issuer}#${user.username}`;
    const token = await adminToken();
    await adminRequest("/admin/revoke", token, { subject, reason: "suspicious activity" });
    await adminRequest("/admin/revoke", token, { subject: user.email, reason: "left" });

    // The email revocation was a mistake; the subject's own revocation is not lifted with it.
    const undone = await adminRequest("/admin/restore", token, { subject: user.email, reason: "wrong person" });
    expect(await undone.json()).toMatchObject({
      restored: true,
      lifted: [`user:${user.email}`],
      stillRevokedBy: [subject],
      warning: expect.stringContaining(`revoked as ${subject} too`),
    });
    expect(await signInAgain(user)).toBe("access_denied");
    expect((await refresh(session.client, session.tokens.refresh_token)).status).toBe(400);

    const cleared = await adminRequest("/admin/restore", token, { subject, reason: "cleared" });
    expect(await cleared.json()).toMatchObject({ restored: true, lifted: [subject] });
    expect(await signInAgain(user)).toBeNull();
  });

  it("restoring by a subject lifts the revocation by email that bound it, whole, and says so", async () => {
    const user = await newIdpUser(IDP_ADMIN, "tess", ["ads"]);
    await signedInClient(user);
    const subject = `${IDP_ADMIN.issuer}#${user.username}`;
    const token = await adminToken();
    await adminRequest("/admin/revoke", token, { subject: user.email, reason: "left" });
    const restored = await adminRequest("/admin/restore", token, { subject, reason: "rehired" });
    const answer = (await restored.json()) as Record<string, unknown>;
    expect(answer).toMatchObject({ restored: true, lifted: [`user:${user.email}`] });
    expect(answer.stillRevokedBy).toBeUndefined();
    expect(await signInAgain(user)).toBeNull();
  });

  it("reads a revocation recorded before records listed their revocations", async () => {
    const user = await newIdpUser(IDP_ADMIN, "uli", ["ads"]);
    await signedInClient(user);
    const legacy = { at: new Date().toISOString(), by: "user:admin@example.com", reason: "old format" };
    await kv().put(`revoked:user:${user.email}`, JSON.stringify(legacy));
    expect(await signInAgain(user)).toBe("access_denied");
    const restored = await adminRequest("/admin/restore", await adminToken(), { subject: user.email, reason: "ok" });
    expect(await restored.json()).toMatchObject({ restored: true, lifted: [`user:${user.email}`] });
    expect(await signInAgain(user)).toBeNull();
  });
});

describe("every door checks the revocation", () => {
  it("ends a grant made by a sign-in that finished while the revocation was being recorded", async () => {
    const user = await newIdpUser(IDP_ADMIN, "vic", ["ads"]);
    await signedInClient(user);
    // The moment the admin's revocation is written, the user finishes one more sign-in.
    const realPut = kv().put.bind(kv());
    let late: ReturnType<typeof signedInClient> | undefined;
    vi.spyOn(kv(), "put").mockImplementation(async (key, ...rest) => {
      if (key.startsWith("revoked:")) {
        late ??= signedInClient(user);
        await late;
      }
      return realPut(key, ...rest);
    });
    const response = await adminRequest("/admin/revoke", await adminToken(), { subject: user.email, reason: "left" });
    vi.restoreAllMocks();
    expect(await response.json()).toMatchObject({ revoked: true, grantsRevoked: 2 });
    const session = await (late as ReturnType<typeof signedInClient>);
    expect(await presto.validateToken(PRESTO, session.tokens.access_token)).toBeNull();
    expect((await refresh(session.client, session.tokens.refresh_token)).status).toBe(400);
  });

  it("issues nothing at the code exchange of a sign-in that passed its check before the revocation", async () => {
    const user = await newIdpUser(IDP_ADMIN, "wes", ["ads"]);
    const client = await registerClient();
    const { verifier, challenge } = await pkcePair();
    const code = (await authorize(new Browser(), { client, challenge }, user)).searchParams.get("code") ?? "";
    // Revoked between the sign-in's check and the code exchange (the admin's listing missed the new grant).
    const subject = `${IDP_ADMIN.issuer}#${user.username}`;
    const at = new Date().toISOString();
    await markRevoked(kv(), { target: subject, at, by: "user:admin@example.com", reason: "race", keys: [subject] });
    const response = await exchangeCode({ client, code, verifier });
    expect(response.status).toBe(400);
    const body = (await response.json()) as Record<string, unknown>;
    expect(body).toMatchObject({ error: "invalid_grant" });
    expect(body.access_token).toBeUndefined();
    await clearRevoked(kv(), subject);
  });

  it("refuses a revoked person at the same subject with another email, at every door", async () => {
    const user = await newIdpUser(IDP_ADMIN, "xan", ["ads"]);
    const session = await signedInClient(user);
    const token = await adminToken();
    await adminRequest("/admin/revoke", token, { subject: user.email, reason: "left" });
    await changeIdpUser(IDP_ADMIN, user.username, { email: `${user.username}.renamed@${LOCAL_EMAIL_DOMAIN}` });
    expect(await signInAgain(user)).toBe("access_denied");
    expect((await refresh(session.client, session.tokens.refresh_token)).status).toBe(400);
    expect(await presto.validateToken(PRESTO, session.tokens.access_token)).toBeNull();
    await adminRequest("/admin/restore", token, { subject: user.email, reason: "test over" });
  });
});
