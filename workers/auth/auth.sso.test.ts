/**
 * The OpenID Connect client against IdPs that behave differently from the local one: groups only
 * at userinfo under another claim name, and ID tokens that must be refused. The IdP here is a
 * stub behind `fetch`; the full flow against the real local IdP is in auth.authorize.test.ts.
 */
import { exportJWK, generateKeyPair, SignJWT } from "jose";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { SsoSettings } from "./auth.config";
import { completeSignIn, newPendingSignIn, type PendingSignIn, SignInError } from "./auth.sso";

interface StubOptions {
  /** Claims added to, or replacing, the ID token's. */
  idToken?: Record<string, unknown>;
  /** How the ID token is signed: the IdP's RSA key (default) or an HMAC with the client secret. */
  signWith?: "rsa" | "client-secret";
  userinfo?: Record<string, unknown>;
  discovery?: Record<string, unknown>;
}

const CLIENT_ID = "fleet-auth";
const CLIENT_SECRET = "client-secret-of-at-least-32-characters";

/** A stub IdP answering discovery, JWKS, token and userinfo requests, and what it was asked. */
async function stubIdp(pending: PendingSignIn, options: StubOptions = {}) {
  const issuer = `https://idp-${crypto.randomUUID()}.example`;
  const { publicKey, privateKey } = await generateKeyPair("RS256");
  const jwk = { ...(await exportJWK(publicKey)), kid: "key-1", alg: "RS256", use: "sig" };
  const settings: SsoSettings = {
    issuer,
    clientId: CLIENT_ID,
    clientSecret: CLIENT_SECRET,
    scopes: ["openid", "profile", "email"],
    groupsClaim: "roles",
    redirectUri: "https://auth.example/sso/callback",
  };
  const tokenRequests: { authorization: string | null; form: URLSearchParams }[] = [];

  const signIdToken = async () => {
    const claims = {
      iss: issuer,
      aud: CLIENT_ID,
      sub: "dana",
      nonce: pending.nonce,
      name: "Dana Data",
      ...options.idToken,
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
      case "/token":
        tokenRequests.push({
          authorization: request.headers.get("Authorization"),
          form: new URLSearchParams(new TextDecoder().decode(await request.arrayBuffer())),
        });
        return Response.json({ id_token: await signIdToken(), access_token: "idp-access-token", token_type: "Bearer" });
      case "/userinfo":
        if (request.headers.get("Authorization") !== "Bearer idp-access-token")
          return new Response(null, { status: 401 });
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
    const user = await completeSignIn(idp.settings, idp.callback, pending);
    expect(user).toEqual({ sub: "dana", name: "Dana Data", email: "dana@example.com", groups: ["finance", "ads"] });

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
    expect(await completeSignIn(idp.settings, idp.callback, pending)).toMatchObject({ groups: ["finance"] });
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
    await expect(completeSignIn(idp.settings, idp.callback, pending)).resolves.toMatchObject({ sub: "dana" });
  });
});
