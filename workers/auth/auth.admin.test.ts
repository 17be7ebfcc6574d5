/**
 * The admin API: who may use it (an admin's token for this resource, with fleet:admin), revoking
 * and restoring users and services, and the audit trail.
 */
import { env } from "cloudflare:test";
import { afterEach, describe, expect, it, vi } from "vitest";
import { changeIdpUser, LOCAL_EMAIL_DOMAIN, newIdpUser } from "../../local/idp.admin";
import type { AuthEnv } from "./auth.config";
import {
  ADMIN,
  adminRequest,
  adminToken,
  authorize,
  authorizeUrl,
  Browser,
  IDP_ADMIN,
  ISSUER,
  PRESTO,
  pkcePair,
  presto,
  refresh,
  registerClient,
  signedInClient,
  tokenRequest,
  USERS,
  worker,
} from "./auth.testing";

const BOT = { id: "revocable-bot", secret: "revocable-bot-test-secret" };

afterEach(() => vi.restoreAllMocks());

function botToken(): Promise<Response> {
  return tokenRequest(
    { grant_type: "client_credentials", resource: PRESTO },
    { Authorization: `Basic ${btoa(`${BOT.id}:${BOT.secret}`)}` },
  );
}

describe("who may use the admin API", () => {
  it("publishes the admin API as a protected resource that wants fleet:admin", async () => {
    const response = await worker.fetch(new Request(`${ISSUER}/.well-known/oauth-protected-resource/admin`));
    expect(await response.json()).toMatchObject({
      resource: ADMIN,
      authorization_servers: [ISSUER],
      scopes_supported: ["fleet:admin"],
    });
  });

  it("answers a request without a token, or with another server's token, with 401", async () => {
    const { tokens } = await signedInClient(USERS.admin, "presto:read");
    for (const token of [undefined, tokens.access_token, "svc_not-a-token"]) {
      const response = await adminRequest("/admin/revoke", token, { subject: "user:bob@example.com", reason: "x" });
      expect(response.status).toBe(401);
      expect(response.headers.get("WWW-Authenticate")).toContain("resource_metadata=");
    }
  });

  it("refuses a token without fleet:admin (403 insufficient_scope): the scope is offered for this resource only", async () => {
    const token = await adminToken(USERS.admin, "presto:read");
    const response = await adminRequest("/admin/audit", token);
    expect(response.status).toBe(403);
    expect(response.headers.get("WWW-Authenticate")).toContain('error="insufficient_scope"');
    // Nor can fleet:admin be had for a domain server.
    const forPresto = await signedInClient(USERS.admin, "presto:read fleet:admin");
    expect(forPresto.tokens.scope).toBe("presto:read");
  });

  it("refuses someone outside the admins group, whatever their token", async () => {
    const response = await adminRequest("/admin/revoke", await adminToken(USERS.alice), {
      subject: "service:revocable-bot",
      reason: "trying",
    });
    expect(response.status).toBe(403);
    expect(await response.json()).toMatchObject({ message: "only members of admins may administer the fleet" });
  });

  it("gives services no way in: they cannot get a token for it", async () => {
    const response = await tokenRequest(
      { grant_type: "client_credentials", resource: ADMIN },
      { Authorization: `Basic ${btoa(`${BOT.id}:${BOT.secret}`)}` },
    );
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ error: "invalid_target" });
  });

  it("refuses malformed actions: a reason is required, the subject must make sense", async () => {
    const token = await adminToken();
    for (const body of [
      { subject: "user:bob@example.com" },
      { subject: "user:bob@example.com", reason: "  " },
      { subject: "service:NOT A NAME", reason: "x" },
      { subject: "service:no-such-bot", reason: "x" },
      { subject: "bob@example.com", reason: "x", extra: true },
    ]) {
      expect((await adminRequest("/admin/revoke", token, body)).status, JSON.stringify(body)).toBe(400);
    }
  });
});

describe("revoking a user", () => {
  it("ends every grant and token of the user at once, refuses their refresh and sign-in until restored", async () => {
    const user = await newIdpUser(IDP_ADMIN, "kim", ["finance"]);
    const first = await signedInClient(user);
    const second = await signedInClient(user);
    const bystander = await signedInClient(USERS.bob);
    const token = await adminToken();

    const response = await adminRequest("/admin/revoke", token, { subject: user.email, reason: "laptop stolen" });
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({
      action: "revoke",
      subject: `user:${user.email}`,
      by: "user:admin@example.com",
      reason: "laptop stolen",
      grantsRevoked: 2,
      revoked: true,
    });
    for (const session of [first, second]) {
      expect(await presto.validateToken(PRESTO, session.tokens.access_token)).toBeNull();
      expect((await refresh(session.client, session.tokens.refresh_token)).status).toBe(400);
    }
    expect(await presto.validateToken(PRESTO, bystander.tokens.access_token)).not.toBeNull();

    // Signing in again is refused while revoked: the client gets access_denied.
    const client = await registerClient();
    const { challenge } = await pkcePair();
    const back = await authorize(new Browser(), { client, challenge }, user);
    expect(back.searchParams.get("error")).toBe("access_denied");

    const restored = await adminRequest("/admin/restore", token, { subject: `user:${user.email}`, reason: "found" });
    expect(await restored.json()).toMatchObject({ action: "restore", restored: true });
    const again = await signedInClient(user);
    expect(await presto.validateToken(PRESTO, again.tokens.access_token)).not.toBeNull();
  });
});

describe("a revocation binds the person at the IdP, not a claim that can change", () => {
  const settings = env as unknown as AuthEnv;
  afterEach(() => {
    settings.OIDC_ALLOWED_DOMAINS = LOCAL_EMAIL_DOMAIN;
  });

  /** Signing in again, as `user`: the error the client gets back, or null for a code. */
  async function signInAgain(user: { username: string; password: string }): Promise<string | null> {
    const client = await registerClient();
    const { challenge } = await pkcePair();
    return (await authorize(new Browser(), { client, challenge }, user)).searchParams.get("error");
  }

  it("keeps refusing a user revoked by email whose email then changes at the IdP", async () => {
    const user = await newIdpUser(IDP_ADMIN, "max", ["ads"]);
    const session = await signedInClient(user);
    const token = await adminToken();
    const response = await adminRequest("/admin/revoke", token, { subject: user.email, reason: "left" });
    expect(await response.json()).toMatchObject({
      subject: `user:${user.email}`,
      subjects: [`${IDP_ADMIN.issuer}#${user.username}`],
      revoked: true,
    });

    await changeIdpUser(IDP_ADMIN, user.username, { email: `${user.username}-new@${LOCAL_EMAIL_DOMAIN}` });
    expect(await signInAgain(user)).toBe("access_denied");
    expect((await refresh(session.client, session.tokens.refresh_token)).status).toBe(400);

    // Restored by email, the person is restored, whatever their email is now.
    await adminRequest("/admin/restore", token, { subject: user.email, reason: "rehired" });
    expect(await signInAgain(user)).toBeNull();
  });

  it("keeps refusing a user revoked by email whose email stops being verified", async () => {
    settings.OIDC_ALLOWED_DOMAINS = "*"; // so that only the revocation can refuse the unverified user
    const user = await newIdpUser(IDP_ADMIN, "mona", ["ads"]);
    await signedInClient(user);
    const token = await adminToken();
    await adminRequest("/admin/revoke", token, { subject: user.email, reason: "left" });
    await changeIdpUser(IDP_ADMIN, user.username, { emailVerified: false });
    expect(await signInAgain(user)).toBe("access_denied");
    await adminRequest("/admin/restore", token, { subject: user.email, reason: "test over" });
  });

  it("revokes by email a user whose email the IdP does not verify (as Entra ID): the subjects seen with it", async () => {
    settings.OIDC_ALLOWED_DOMAINS = "*"; // as an Entra ID tenant must be configured
    const user = await newIdpUser(IDP_ADMIN, "nils", ["ads"]);
    await changeIdpUser(IDP_ADMIN, user.username, { emailVerified: false });
    const session = await signedInClient(user);
    const subject = `${IDP_ADMIN.issuer}#${user.username}`;
    expect((await presto.validateToken(PRESTO, session.tokens.access_token))?.props).toMatchObject({
      principal: subject,
    });
    const token = await adminToken();
    const response = await adminRequest("/admin/revoke", token, { subject: user.email, reason: "left" });
    expect(await response.json()).toMatchObject({ subjects: [subject], grantsRevoked: 1, revoked: true });
    expect(await presto.validateToken(PRESTO, session.tokens.access_token)).toBeNull();
    expect(await signInAgain(user)).toBe("access_denied");
    await adminRequest("/admin/restore", token, { subject: user.email, reason: "test over" });
    expect(await signInAgain(user)).toBeNull();
  });

  it("revokes and restores by <issuer>#<subject>, at every door", async () => {
    const user = await newIdpUser(IDP_ADMIN, "nia", ["ads"]);
    const session = await signedInClient(user);
    const token = await adminToken();
    const subject = `${IDP_ADMIN.issuer}#${user.username}`;
    const response = await adminRequest("/admin/revoke", token, { subject, reason: "suspicious" });
    expect(await response.json()).toMatchObject({ subject, grantsRevoked: 1, revoked: true });
    expect(await presto.validateToken(PRESTO, session.tokens.access_token)).toBeNull();
    expect(await signInAgain(user)).toBe("access_denied");

    const restored = await adminRequest("/admin/restore", token, { subject, reason: "cleared" });
    expect(await restored.json()).toMatchObject({ restored: true });
    expect(await signInAgain(user)).toBeNull();
  });

  it("refuses the refresh of a user whose new email is one an admin revoked", async () => {
    const gone = await newIdpUser(IDP_ADMIN, "olga", []);
    await signedInClient(gone);
    const token = await adminToken();
    await adminRequest("/admin/revoke", token, { subject: gone.email, reason: "left" });
    const user = await newIdpUser(IDP_ADMIN, "pat", ["ads"]);
    const session = await signedInClient(user);
    await changeIdpUser(IDP_ADMIN, user.username, { email: gone.email });
    const response = await refresh(session.client, session.tokens.refresh_token);
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ error: "invalid_grant" });
    await adminRequest("/admin/restore", token, { subject: gone.email, reason: "test over" });
  });

  it("refuses, and records nothing for, a name no one has signed in as", async () => {
    const token = await adminToken();
    const login = await adminRequest("/admin/revoke", token, { subject: "bob", reason: "login name" });
    expect(login.status).toBe(400);
    expect(await login.json()).toMatchObject({ message: expect.stringContaining("not their login name") });
    const unknown = `nobody-${crypto.randomUUID().slice(0, 8)}@example.com`;
    for (const subject of [unknown, `${IDP_ADMIN.issuer}#${unknown}`]) {
      const response = await adminRequest("/admin/revoke", token, { subject, reason: "typo" });
      expect(response.status, subject).toBe(404);
      expect(await response.json()).toMatchObject({ message: expect.stringContaining("no one has signed in as") });
    }
    const { entries } = (await (await adminRequest("/admin/audit?limit=100", token)).json()) as {
      entries: { subject: string }[];
    };
    expect(entries.filter((entry) => entry.subject.includes(unknown))).toEqual([]);
  });

  it("keeps the revocation on record when ending the grants fails part-way", async () => {
    const user = await newIdpUser(IDP_ADMIN, "quinn", ["ads"]);
    const session = await signedInClient(user);
    const token = await adminToken();
    const kv = (env as unknown as AuthEnv).OAUTH_KV;
    const realDelete = kv.delete.bind(kv);
    vi.spyOn(kv, "delete").mockImplementation((key) =>
      key.startsWith("grant:") ? Promise.reject(new Error("KV unavailable")) : realDelete(key),
    );
    const response = await adminRequest("/admin/revoke", token, { subject: user.email, reason: "stolen" });
    expect(response.status).toBe(500);
    expect(await response.json()).toMatchObject({ message: expect.stringContaining("run the same revoke again") });
    vi.restoreAllMocks();

    expect(await presto.validateToken(PRESTO, session.tokens.access_token)).toBeNull();
    const { entries } = (await (await adminRequest("/admin/audit?limit=20", token)).json()) as {
      entries: Record<string, unknown>[];
    };
    expect(entries.find((entry) => entry.subject === `user:${user.email}`)).toMatchObject({
      action: "revoke",
      reason: "stolen",
      grantsRevoked: 0,
      incomplete: expect.stringContaining("KV unavailable"),
    });
  });
});

describe("revoking a service", () => {
  it("refuses its tokens and new ones until restored", async () => {
    const issued = (await (await botToken()).json()) as { access_token: string };
    expect(await presto.validateToken(PRESTO, issued.access_token)).not.toBeNull();
    const token = await adminToken();

    const revoked = await adminRequest("/admin/revoke", token, { subject: "service:revocable-bot", reason: "leaked" });
    expect(await revoked.json()).toMatchObject({ subject: "service:revocable-bot", revoked: true });
    expect(await presto.validateToken(PRESTO, issued.access_token)).toBeNull();
    const refused = await botToken();
    expect(refused.status).toBe(400);
    expect(await refused.json()).toMatchObject({ error: "unauthorized_client" });

    await adminRequest("/admin/restore", token, { subject: "service:revocable-bot", reason: "rotated" });
    const fresh = (await (await botToken()).json()) as { access_token: string };
    expect(await presto.validateToken(PRESTO, fresh.access_token)).not.toBeNull();
  });
});

describe("the audit trail", () => {
  it("keeps who did what to whom, when and why, newest first", async () => {
    const token = await adminToken();
    const user = await newIdpUser(IDP_ADMIN, "lee", []);
    await signedInClient(user);
    await adminRequest("/admin/revoke", token, { subject: user.email, reason: "left the company" });
    await adminRequest("/admin/restore", token, { subject: user.email, reason: "rehired" });
    const response = await adminRequest("/admin/audit?limit=10", token);
    const { entries } = (await response.json()) as { entries: Record<string, unknown>[] };
    const mine = entries.filter((entry) => entry.subject === `user:${user.email}`);
    expect(mine).toEqual([
      {
        at: expect.any(String),
        action: "restore",
        subject: `user:${user.email}`,
        by: "user:admin@example.com",
        reason: "rehired",
        lifted: [`user:${user.email}`],
      },
      {
        at: expect.any(String),
        action: "revoke",
        subject: `user:${user.email}`,
        by: "user:admin@example.com",
        reason: "left the company",
        subjects: [`${IDP_ADMIN.issuer}#${user.username}`],
        grantsRevoked: 1,
      },
    ]);
  });
});

describe("the consent page for the admin API", () => {
  it("says plainly that the app may revoke people's and services' access", async () => {
    const client = await registerClient();
    const { challenge } = await pkcePair();
    const page = await new Browser().fetch(authorizeUrl({ client, challenge, scope: "fleet:admin", resource: ADMIN }));
    const html = await page.text();
    expect(html).toContain('data-scope-kind="admin"');
    expect(html).toContain("revoke and restore people&#39;s and services&#39; access to every fleet server");
    expect(html).toContain("<code>fleet:admin</code>");
    expect(html).not.toContain('data-scope-kind="read"');
  });
});
