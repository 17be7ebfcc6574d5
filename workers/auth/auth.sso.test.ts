/**
 * The OpenID Connect client against IdPs that behave differently from the local one: groups only
 * at userinfo under another claim name, and ID tokens that must be refused. The IdP here is a
 * stub behind `fetch`; the full flow against the real local IdP is in auth.authorize.test.ts.
 */
import { exportJWK, generateKeyPair, SignJWT } from "jose";
import { afterEach, describe, expect, it, vi } from "vitest";
import { type Admission, GOOGLE_ISSUER, parseAdmission } from "./auth.admission";
import type { SsoSettings } from "./auth.config";
import {
  completeSignIn,
  IdpRefusal,
  NotAdmitted,
  newPendingSignIn,
  type PendingSignIn,
  refreshSignIn,
  SignInError,
} from "./auth.sso";

interface StubOptions {
  /** Claims added to, or replacing, the ID token's. */
  idToken?: Record<string, unknown>;
  /** How the ID token is signed: the IdP's RSA key (default) or an HMAC with the client secret. */
  signWith?: "rsa" | "client-secret";
  userinfo?: Record<string, unknown>;
  /** The userinfo endpoint's status (default 200). */
  userinfoStatus?: number;
  discovery?: Record<string, unknown>;
  /** The token endpoint's answer to a refresh_token grant (default 200 with a new access token). */
  refresh?: { status: number; body: Record<string, unknown> } | "unreachable";
  /** Claims of an ID token the refresh returns too (default: none returned). */
  refreshIdToken?: Record<string, unknown>;
  /** Who may sign in (default: whoever the IdP signs in). */
  admission?: Admission;
  /** The IdP's issuer (default: a new one each time). */
  issuer?: string;
}

const CLIENT_ID = "fleet-auth";
const CLIENT_SECRET = "client-secret-of-at-least-32-characters";

const keyPairs = new Map<string, ReturnType<typeof generateKeyPair>>();
function keyPairOf(issuer: string): ReturnType<typeof generateKeyPair> {
  const pair = keyPairs.get(issuer) ?? generateKeyPair("RS256");
  keyPairs.set(issuer, pair);
  return pair;
}

/** A stub IdP answering discovery, JWKS, token and userinfo requests, and what it was asked. */
async function stubIdp(pending: PendingSignIn, options: StubOptions = {}) {
  const issuer = options.issuer ?? `https://idp-${crypto.randomUUID()}.example`;
  // One key per issuer: the client caches an issuer's discovery and keys across sign-ins.
  const { publicKey, privateKey } = await keyPairOf(issuer);
  const jwk = { ...(await exportJWK(publicKey)), kid: "key-1", alg: "RS256", use: "sig" };
  const settings: SsoSettings = {
    issuer,
    clientId: CLIENT_ID,
    clientSecret: CLIENT_SECRET,
    scopes: ["openid", "profile", "email"],
    groupsClaim: "roles",
    redirectUri: "https://auth.example/sso/callback",
    admission: options.admission ?? { domains: "any", hostedDomain: false, claims: [] },
  };
  const tokenRequests: { authorization: string | null; form: URLSearchParams }[] = [];

  const signIdToken = async (refreshed?: Record<string, unknown>) => {
    const claims = {
      iss: issuer,
      aud: CLIENT_ID,
      sub: "dana",
      ...(refreshed ?? { nonce: pending.nonce, name: "Dana Data", ...options.idToken }),
    };
    const jwt = new SignJWT(claims).setIssuedAt().setExpirationTime("5m");
    if (options.signWith === "client-secret") {
      return jwt.setProtectedHeader({ alg: "HS256" }).sign(new TextEncoder().encode(CLIENT_SECRET));
    }
    return jwt.setProtectedHeader({ alg: "RS256", kid: "key-1" }).sign(privateKey);
  };

  vi.spyOn(globalThis, "fetch").mockImplementation(async (input, init) => {
    const request = new Request(input, init);
    switch (new URL(request.url).pathname) {
      case "/.well-known/openid-configuration":
        return Response.json({
          issuer,
          authorization_endpoint: `${issuer}/authorize`,
          token_endpoint: `${issuer}/token`,
          jwks_uri: `${issuer}/jwks`,
          userinfo_endpoint: `${issuer}/userinfo`,
          id_token_signing_alg_values_supported: ["RS256"],
          ...options.discovery,
        });
      case "/jwks":
        return Response.json({ keys: [jwk] });
      case "/token": {
        const form = new URLSearchParams(new TextDecoder().decode(await request.arrayBuffer()));
        tokenRequests.push({ authorization: request.headers.get("Authorization"), form });
        if (form.get("grant_type") === "refresh_token") {
          if (options.refresh === "unreachable") throw new TypeError("Network connection lost.");
          const answer = options.refresh ?? { status: 200, body: { access_token: "idp-access-token" } };
          const idToken = options.refreshIdToken ? { id_token: await signIdToken(options.refreshIdToken) } : {};
          return Response.json({ ...answer.body, ...idToken }, { status: answer.status });
        }
        return Response.json({
          id_token: await signIdToken(),
          access_token: "idp-access-token",
          refresh_token: "idp-refresh-token",
          token_type: "Bearer",
        });
      }
      case "/userinfo":
        if (request.headers.get("Authorization") !== "Bearer idp-access-token")
          return new Response(null, { status: 401 });
        if (options.userinfoStatus) return new Response(null, { status: options.userinfoStatus });
        return Response.json(options.userinfo ?? { sub: "dana" });
      default:
        return new Response(null, { status: 404 });
    }
  });
  return { settings, tokenRequests, callback: new URL(`${settings.redirectUri}?code=idp-code&state=s`) };
}

afterEach(() => vi.restoreAllMocks());

describe("OpenID Connect client", () => {
  it("exchanges the code with client_secret_basic and PKCE, and reads groups from userinfo when the ID token has none", async () => {
    const pending = newPendingSignIn();
    const idp = await stubIdp(pending, {
      userinfo: { sub: "dana", email: "dana@example.com", roles: ["finance", "ads"] },
    });
    const signIn = await completeSignIn(idp.settings, idp.callback, pending);
    expect(signIn).toEqual({
      user: {
        iss: idp.settings.issuer,
        sub: "dana",
        // Not verified: the identity of record is the issuer and subject, not the email.
        principal: `${idp.settings.issuer}#dana`,
        name: "Dana Data",
        email: "dana@example.com",
        groups: ["finance", "ads"],
      },
      refreshToken: "idp-refresh-token",
    });

    const [request] = idp.tokenRequests;
    expect(request?.authorization).toBe(`Basic ${btoa(`${CLIENT_ID}:${CLIENT_SECRET}`)}`);
    expect(Object.fromEntries(request?.form ?? [])).toEqual({
      grant_type: "authorization_code",
      code: "idp-code",
      redirect_uri: idp.settings.redirectUri,
      code_verifier: pending.verifier,
    });
  });

  it("takes the groups from the ID token when they are there", async () => {
    const pending = newPendingSignIn();
    const idp = await stubIdp(pending, { idToken: { email: "dana@example.com", roles: "finance" } });
    expect((await completeSignIn(idp.settings, idp.callback, pending)).user).toMatchObject({ groups: ["finance"] });
  });

  it("records a verified email (lowercased) as the identity of record, never preferred_username", async () => {
    const pending = newPendingSignIn();
    const claims = { email: "Mallory@Example.com", email_verified: true, preferred_username: "alice", roles: [] };
    const idp = await stubIdp(pending, { idToken: claims });
    const { user } = await completeSignIn(idp.settings, idp.callback, pending);
    expect(user).toMatchObject({ principal: "mallory@example.com", username: "alice" });
  });

  it("falls back to issuer#subject when the email is not verified, even if it looks like someone's", async () => {
    const pending = newPendingSignIn();
    const claims = { email: "admin@example.com", email_verified: false, preferred_username: "admin", roles: [] };
    const idp = await stubIdp(pending, { idToken: claims });
    const { user } = await completeSignIn(idp.settings, idp.callback, pending);
    expect(user.principal).toBe(`${idp.settings.issuer}#dana`);
  });

  it.each<[string, StubOptions]>([
    ["a nonce from another sign-in", { idToken: { nonce: "someone-elses" } }],
    ["a token for another client", { idToken: { aud: "another-client" } }],
    ["a token authorized for another party", { idToken: { aud: [CLIENT_ID, "other"], azp: "other" } }],
    ["a token signed with the client secret", { signWith: "client-secret" }],
    ["userinfo about another subject", { userinfo: { sub: "mallory", roles: ["admins"] } }],
    ["discovery naming another issuer", { discovery: { issuer: "https://elsewhere.example" } }],
  ])("refuses %s", async (_, options) => {
    const pending = newPendingSignIn();
    const idp = await stubIdp(pending, options);
    await expect(completeSignIn(idp.settings, idp.callback, pending)).rejects.toBeInstanceOf(SignInError);
  });

  it("requires the iss parameter from an IdP that promises it (RFC 9207)", async () => {
    const pending = newPendingSignIn();
    const idp = await stubIdp(pending, { discovery: { authorization_response_iss_parameter_supported: true } });
    await expect(completeSignIn(idp.settings, idp.callback, pending)).rejects.toThrow(/issuer \(missing\)/);
    idp.callback.searchParams.set("iss", idp.settings.issuer);
    await expect(completeSignIn(idp.settings, idp.callback, pending)).resolves.toMatchObject({ user: { sub: "dana" } });
  });
});

describe("reading the user again with the IdP's refresh token", () => {
  const current = { sub: "dana", email: "dana@example.com", email_verified: true, roles: ["ads"] };
  const known = { sub: "dana", principal: "dana@example.com", email: "dana@example.com" };

  it("refreshes at the token endpoint and takes the groups from userinfo as they are now", async () => {
    const idp = await stubIdp(newPendingSignIn(), {
      userinfo: current,
      refresh: { status: 200, body: { access_token: "idp-access-token", refresh_token: "rotated" } },
    });
    const signIn = await refreshSignIn(idp.settings, "idp-refresh-token", known);
    expect(signIn).toEqual({
      user: {
        iss: idp.settings.issuer,
        sub: "dana",
        principal: "dana@example.com",
        email: "dana@example.com",
        groups: ["ads"],
      },
      refreshToken: "rotated",
    });
    expect(idp.tokenRequests[0]?.authorization).toBe(`Basic ${btoa(`${CLIENT_ID}:${CLIENT_SECRET}`)}`);
    expect(Object.fromEntries(idp.tokenRequests[0]?.form ?? [])).toEqual({
      grant_type: "refresh_token",
      refresh_token: "idp-refresh-token",
    });
  });

  it("keeps the refresh token when the IdP does not rotate it", async () => {
    const idp = await stubIdp(newPendingSignIn(), { userinfo: current });
    expect((await refreshSignIn(idp.settings, "idp-refresh-token", known)).refreshToken).toBe("idp-refresh-token");
  });

  it.each<[string, StubOptions]>([
    [
      "a refused refresh token (revoked, or the user disabled)",
      { refresh: { status: 400, body: { error: "invalid_grant" } } },
    ],
    ["userinfo refusing the new access token", { userinfoStatus: 401 }],
    ["userinfo about another subject", { userinfo: { ...current, sub: "mallory" } }],
  ])("is refused for good on %s", async (_, options) => {
    const idp = await stubIdp(newPendingSignIn(), { userinfo: current, ...options });
    await expect(refreshSignIn(idp.settings, "idp-refresh-token", known)).rejects.toBeInstanceOf(IdpRefusal);
  });

  it.each<[string, StubOptions]>([
    ["an unreachable IdP", { refresh: "unreachable" }],
    ["a failing IdP", { refresh: { status: 503, body: { error: "temporarily_unavailable" } } }],
    ["a failing userinfo endpoint", { userinfoStatus: 500 }],
    ["a client the IdP no longer accepts", { refresh: { status: 401, body: { error: "invalid_client" } } }],
  ])("fails without refusing the user on %s", async (_, options) => {
    const idp = await stubIdp(newPendingSignIn(), { userinfo: current, ...options });
    const failure = refreshSignIn(idp.settings, "idp-refresh-token", known);
    await expect(failure).rejects.toBeInstanceOf(SignInError);
    await expect(failure).rejects.not.toBeInstanceOf(IdpRefusal);
  });
});

describe("the same identity of record at sign-in and at refresh", () => {
  const email = "dana@example.com";
  const roles = ["ads"];

  it("when only the ID token says the email is verified (userinfo leaves email_verified out)", async () => {
    const pending = newPendingSignIn();
    const idp = await stubIdp(pending, {
      idToken: { email, email_verified: true, roles },
      userinfo: { sub: "dana", email, roles },
    });
    const { user } = await completeSignIn(idp.settings, idp.callback, pending);
    expect(user.principal).toBe(email);
    // Refreshed without a new ID token: userinfo says nothing about verification, so it stands.
    expect((await refreshSignIn(idp.settings, "idp-refresh-token", user)).user.principal).toBe(email);
  });

  it("when the refreshed ID token says it and userinfo does not", async () => {
    const pending = newPendingSignIn();
    const idp = await stubIdp(pending, {
      idToken: { email, email_verified: true, roles },
      userinfo: { sub: "dana", email, roles },
      refreshIdToken: { email, email_verified: true },
    });
    const { user } = await completeSignIn(idp.settings, idp.callback, pending);
    // Whatever was known before, the refreshed ID token's statement counts.
    const unknownBefore = { ...user, principal: `${idp.settings.issuer}#dana` };
    expect((await refreshSignIn(idp.settings, "idp-refresh-token", unknownBefore)).user.principal).toBe(email);
  });

  it("when only userinfo says the email is verified (the ID token leaves email_verified out)", async () => {
    const pending = newPendingSignIn();
    const idp = await stubIdp(pending, {
      idToken: { email, roles },
      userinfo: { sub: "dana", email, email_verified: true, roles },
    });
    const { user } = await completeSignIn(idp.settings, idp.callback, pending);
    expect(user.principal).toBe(email);
    expect((await refreshSignIn(idp.settings, "idp-refresh-token", user)).user.principal).toBe(email);
  });

  it("never carries a verification over to another email", async () => {
    const pending = newPendingSignIn();
    const idp = await stubIdp(pending, {
      idToken: { email, email_verified: true, roles },
      userinfo: { sub: "dana", email: "someone-else@example.com", roles },
    });
    const { user } = await completeSignIn(idp.settings, idp.callback, pending);
    expect(user.principal).toBe(email);
    const again = await refreshSignIn(idp.settings, "idp-refresh-token", user);
    expect(again.user).toMatchObject({ principal: `${idp.settings.issuer}#dana`, email: "someone-else@example.com" });
  });
});

describe("admitting only the company's accounts (auth.admission.ts)", () => {
  const complete = { email: "dana@example.com", email_verified: true, roles: [] };
  const known = { sub: "dana", principal: "dana@example.com", email: "dana@example.com" };

  it("reads userinfo for a required claim the ID token leaves out", async () => {
    const pending = newPendingSignIn();
    const admission = parseAdmission("https://idp.example", "*", "tid=company");
    const idp = await stubIdp(pending, { idToken: complete, userinfo: { sub: "dana", tid: "company" }, admission });
    await expect(completeSignIn(idp.settings, idp.callback, pending)).resolves.toMatchObject({ user: { sub: "dana" } });
  });

  it("refuses, for good, an account the settings keep out: at sign-in and at refresh", async () => {
    const pending = newPendingSignIn();
    const admission = parseAdmission("https://idp.example", "example.org", undefined);
    const idp = await stubIdp(pending, { idToken: complete, userinfo: { sub: "dana", ...complete }, admission });
    await expect(completeSignIn(idp.settings, idp.callback, pending)).rejects.toBeInstanceOf(NotAdmitted);
    await expect(refreshSignIn(idp.settings, "idp-refresh-token", known)).rejects.toBeInstanceOf(NotAdmitted);
  });

  it("requires a required claim at refresh too, from the refreshed ID token when userinfo leaves it out", async () => {
    const admission = parseAdmission("https://idp.example", "*", "tid=company");
    // Everything the profile needs, so only the rule makes the client read the refreshed ID token.
    const userinfo = { sub: "dana", name: "Dana Data", ...complete };
    const withIdToken = await stubIdp(newPendingSignIn(), { userinfo, refreshIdToken: { tid: "company" }, admission });
    await expect(refreshSignIn(withIdToken.settings, "idp-refresh-token", known)).resolves.toBeTruthy();
    vi.restoreAllMocks();
    const without = await stubIdp(newPendingSignIn(), { userinfo, admission });
    await expect(refreshSignIn(without.settings, "idp-refresh-token", known)).rejects.toBeInstanceOf(NotAdmitted);
  });

  describe("with Google, a Workspace account of an allowed domain only (hd)", () => {
    const google = parseAdmission(GOOGLE_ISSUER, "example.com", undefined);
    const stub = (pending: PendingSignIn, options: StubOptions) =>
      stubIdp(pending, { issuer: GOOGLE_ISSUER, admission: google, ...options });

    it("admits a verified company email whose ID token states hd = the company's domain", async () => {
      const pending = newPendingSignIn();
      const idp = await stub(pending, { idToken: { ...complete, hd: "example.com" } });
      const { user } = await completeSignIn(idp.settings, idp.callback, pending);
      expect(user).toMatchObject({ iss: GOOGLE_ISSUER, principal: "dana@example.com" });
    });

    it.each<[string, Record<string, unknown>]>([
      // A consumer Google account made with a company address: verified, but Google is not its host.
      ["no hd (a consumer account with a company address)", complete],
      ["another Workspace's hd", { ...complete, hd: "evil.example" }],
      ["an hd that is not a string", { ...complete, hd: ["example.com"] }],
      ["a company hd on a gmail.com email", { ...complete, email: "dana@gmail.com", hd: "example.com" }],
      ["an unverified email", { ...complete, email_verified: false, hd: "example.com" }],
    ])("refuses %s at sign-in", async (_, idToken) => {
      const pending = newPendingSignIn();
      const idp = await stub(pending, { idToken, userinfo: { sub: "dana" } });
      await expect(completeSignIn(idp.settings, idp.callback, pending)).rejects.toBeInstanceOf(NotAdmitted);
    });

    it("refuses a refresh whose userinfo and refreshed ID token state no hd, or another", async () => {
      for (const userinfo of [
        { sub: "dana", ...complete },
        { sub: "dana", ...complete, hd: "evil.example" },
      ]) {
        const idp = await stub(newPendingSignIn(), { userinfo });
        await expect(refreshSignIn(idp.settings, "idp-refresh-token", known)).rejects.toBeInstanceOf(NotAdmitted);
        vi.restoreAllMocks();
      }
      const idp = await stub(newPendingSignIn(), { userinfo: { sub: "dana", ...complete, hd: "example.com" } });
      await expect(refreshSignIn(idp.settings, "idp-refresh-token", known)).resolves.toBeTruthy();
    });
  });
});
