/**
 * The local OpenID Provider over real HTTP: discovery, JWKS, the sign-in page, the code + PKCE
 * flow driven by signInAtIdp, the token exchange, the claims, and what it refuses.
 * Run: `npm exec -- node --test local/idp.test.ts`
 */
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { after, before, test } from "node:test";
import { createRemoteJWKSet, type JWTPayload, jwtVerify } from "jose";
import { changeIdpUser, newIdpUser } from "./idp.admin.ts";
import { CookieJar, signInAtIdp } from "./idp.login.ts";
import type { Idp } from "./idp.ts";
import { startIdp } from "./idp.ts";

const REDIRECT_URI = "http://127.0.0.1:8789/sso/callback";
const CLIENT = { clientId: "fleet-test", clientSecret: "test-secret", redirectUris: [REDIRECT_URI] };
const ALICE = { username: "alice", password: "alice-password" };
const CAROL = { username: "carol", password: "carol-password" };

interface Discovery {
  issuer: string;
  authorization_endpoint: string;
  token_endpoint: string;
  userinfo_endpoint: string;
  jwks_uri: string;
  [key: string]: unknown;
}

interface Tokens {
  access_token: string;
  id_token: string;
  token_type: string;
  expires_in: number;
  refresh_token?: string;
}

const ADMIN_TOKEN = randomBytes(16).toString("base64url");

let idp: Idp;
let discovery: Discovery;
const admin = () => ({ issuer: idp.issuer, adminToken: ADMIN_TOKEN });

before(async () => {
  idp = await startIdp({ port: 0, clients: [CLIENT], adminToken: ADMIN_TOKEN });
  discovery = (await (await fetch(`${idp.issuer}/.well-known/openid-configuration`)).json()) as Discovery;
});

after(() => idp.close());

interface AuthorizationRequest {
  url: string;
  state: string;
  nonce: string;
  verifier: string;
}

/** An authorization URL for the test client, with a fresh PKCE verifier, state and nonce. */
function authorizationRequest(overrides: Record<string, string> = {}): AuthorizationRequest {
  const [state, nonce, verifier] = [8, 8, 32].map((bytes) => randomBytes(bytes).toString("base64url")) as [
    string,
    string,
    string,
  ];
  const url = new URL(discovery.authorization_endpoint);
  url.search = new URLSearchParams({
    response_type: "code",
    client_id: CLIENT.clientId,
    redirect_uri: REDIRECT_URI,
    scope: "openid profile email groups",
    state,
    nonce,
    code_challenge: createHash("sha256").update(verifier).digest("base64url"),
    code_challenge_method: "S256",
    ...overrides,
  }).toString();
  return { url: url.href, state, nonce, verifier };
}

/** Signs a user in and returns the authorization code from the redirect back to the client. */
async function signIn(credentials: { username: string; password: string }, jar?: CookieJar) {
  const request = authorizationRequest();
  const callback = new URL(await signInAtIdp(request.url, credentials, jar));
  assert.equal(`${callback.origin}${callback.pathname}`, REDIRECT_URI);
  assert.equal(callback.searchParams.get("state"), request.state);
  assert.equal(callback.searchParams.get("iss"), idp.issuer);
  const code = callback.searchParams.get("code");
  assert.ok(code, callback.href);
  return { code, request };
}

function exchangeCode(code: string, verifier: string, auth: "basic" | "post" = "basic"): Promise<Response> {
  const body = new URLSearchParams({
    grant_type: "authorization_code",
    code,
    redirect_uri: REDIRECT_URI,
    code_verifier: verifier,
  });
  const headers: Record<string, string> = {};
  if (auth === "basic") {
    const credentials = `${encodeURIComponent(CLIENT.clientId)}:${encodeURIComponent(CLIENT.clientSecret)}`;
    headers.authorization = `Basic ${Buffer.from(credentials).toString("base64")}`;
  } else {
    body.set("client_id", CLIENT.clientId);
    body.set("client_secret", CLIENT.clientSecret);
  }
  return fetch(discovery.token_endpoint, { method: "POST", headers, body });
}

async function redeemCode(code: string, verifier: string, auth: "basic" | "post" = "basic"): Promise<Tokens> {
  const response = await exchangeCode(code, verifier, auth);
  assert.equal(response.status, 200, await response.clone().text());
  return (await response.json()) as Tokens;
}

async function assertTokenError(response: Response, status: number, error: string): Promise<void> {
  assert.equal(response.status, status);
  assert.equal(((await response.json()) as { error: string }).error, error);
}

async function verifiedIdToken(idToken: string): Promise<JWTPayload> {
  const keys = createRemoteJWKSet(new URL(discovery.jwks_uri));
  const { payload } = await jwtVerify(idToken, keys, { issuer: idp.issuer, audience: CLIENT.clientId });
  return payload;
}

async function userinfo(accessToken: string): Promise<Record<string, unknown>> {
  const response = await fetch(discovery.userinfo_endpoint, { headers: { authorization: `Bearer ${accessToken}` } });
  assert.equal(response.status, 200, await response.clone().text());
  return (await response.json()) as Record<string, unknown>;
}

test("discovery describes a code + PKCE provider with the groups scope", () => {
  assert.equal(discovery.issuer, idp.issuer);
  assert.match(idp.issuer, /^http:\/\/127\.0\.0\.1:\d+$/);
  assert.deepEqual(discovery.response_types_supported, ["code"]);
  assert.deepEqual(discovery.code_challenge_methods_supported, ["S256"]);
  assert.deepEqual(discovery.token_endpoint_auth_methods_supported, ["client_secret_basic", "client_secret_post"]);
  assert.deepEqual(discovery.scopes_supported, ["openid", "offline_access", "profile", "email", "groups"]);
  for (const claim of ["sub", "name", "preferred_username", "email", "groups"]) {
    assert.ok((discovery.claims_supported as string[]).includes(claim), claim);
  }
  assert.deepEqual(discovery.id_token_signing_alg_values_supported, ["RS256"]);
});

test("the JWKS publishes one public RS256 signing key", async () => {
  const { keys } = (await (await fetch(discovery.jwks_uri)).json()) as { keys: Record<string, unknown>[] };
  assert.equal(keys.length, 1);
  const [key] = keys;
  assert.equal(key?.kty, "RSA");
  assert.equal(key?.alg, "RS256");
  assert.equal(key?.use, "sig");
  assert.ok(key?.kid);
  assert.equal(key?.d, undefined, "no private key material");
});

test("the sign-in page is a labelled username/password form", async () => {
  const jar = new CookieJar();
  const start = authorizationRequest().url;
  const redirect = await fetch(start, { redirect: "manual" });
  jar.store(start, redirect);
  assert.equal(redirect.status, 303);
  const pageUrl = new URL(redirect.headers.get("location") ?? "", start).href;
  const page = await fetch(pageUrl, { headers: { cookie: jar.get(pageUrl) } });
  assert.equal(page.status, 200);
  const html = await page.text();
  assert.match(html, /<form method="post" action="\/interaction\/[^"]+">/);
  assert.match(html, /<label for="username">Username<\/label>\s*<input id="username" name="username"/);
  assert.match(html, /<label for="password">Password<\/label>\s*<input id="password" name="password" type="password"/);
  assert.match(html, /<button type="submit">Sign in<\/button>/);
});

test("alice signs in with code + PKCE; the ID token and userinfo carry her groups", async () => {
  const { code, request } = await signIn(ALICE);
  const tokens = await redeemCode(code, request.verifier);
  assert.equal(tokens.token_type, "Bearer");
  assert.ok(tokens.expires_in <= 600);
  assert.ok(tokens.refresh_token, "a refresh token comes with every code exchange");

  const idToken = await verifiedIdToken(tokens.id_token);
  assert.equal(idToken.sub, "alice");
  assert.equal(idToken.nonce, request.nonce);
  assert.equal(idToken.name, "Alice Analyst");
  assert.equal(idToken.preferred_username, "alice");
  assert.equal(idToken.email, "alice@example.com");
  assert.deepEqual(idToken.groups, ["data-eng", "ads"]);
  assert.ok((idToken.exp ?? 0) - (idToken.iat ?? 0) <= 600);

  const info = await userinfo(tokens.access_token);
  assert.equal(info.sub, "alice");
  assert.equal(info.email, "alice@example.com");
  assert.deepEqual(info.groups, ["data-eng", "ads"]);
});

test("carol, in no group, gets groups: [] (client_secret_post)", async () => {
  const { code, request } = await signIn(CAROL);
  const tokens = await redeemCode(code, request.verifier, "post");
  const idToken = await verifiedIdToken(tokens.id_token);
  assert.equal(idToken.sub, "carol");
  assert.equal(idToken.name, "Carol Contractor");
  assert.deepEqual(idToken.groups, []);
  assert.deepEqual((await userinfo(tokens.access_token)).groups, []);
});

test("a browser with a session is not asked to sign in again", async () => {
  const jar = new CookieJar();
  await signIn(ALICE, jar);
  const { code, request } = await signIn({ username: "alice", password: "not used" }, jar);
  const idToken = await verifiedIdToken((await redeemCode(code, request.verifier)).id_token);
  assert.equal(idToken.sub, "alice");
});

test("a wrong password or an unknown user is refused", async () => {
  const expected = (user: string) => ({ message: `Sign-in failed for ${user}: Invalid username or password.` });
  await assert.rejects(signInAtIdp(authorizationRequest().url, { ...ALICE, password: "wrong" }), expected("alice"));
  await assert.rejects(
    signInAtIdp(authorizationRequest().url, { username: "mallory", password: "x" }),
    expected("mallory"),
  );
});

test("the token endpoint refuses a PKCE verifier that does not match", async () => {
  const { code } = await signIn(ALICE);
  await assertTokenError(await exchangeCode(code, randomBytes(32).toString("base64url")), 400, "invalid_grant");
});

test("an authorization request without PKCE is refused", async () => {
  const url = new URL(authorizationRequest().url);
  url.searchParams.delete("code_challenge");
  url.searchParams.delete("code_challenge_method");
  const response = await fetch(url, { redirect: "manual" });
  const location = new URL(response.headers.get("location") ?? "");
  assert.equal(`${location.origin}${location.pathname}`, REDIRECT_URI);
  assert.equal(location.searchParams.get("error"), "invalid_request");
  assert.match(location.searchParams.get("error_description") ?? "", /PKCE/);
});

test("a redirect URI that is not registered is refused without redirecting", async () => {
  const url = authorizationRequest({ redirect_uri: "http://127.0.0.1:9999/elsewhere" }).url;
  const response = await fetch(url, { redirect: "manual" });
  assert.equal(response.status, 400);
  assert.equal(response.headers.get("location"), null);
  await assert.rejects(signInAtIdp(url, ALICE), /^Error: Sign-in failed for alice: invalid_redirect_uri/);
});

test("a code cannot be used twice", async () => {
  const { code, request } = await signIn(ALICE);
  await redeemCode(code, request.verifier);
  await assertTokenError(await exchangeCode(code, request.verifier), 400, "invalid_grant");
});

test("a wrong client secret is refused", async () => {
  const { code, request } = await signIn(ALICE);
  const body = new URLSearchParams({
    grant_type: "authorization_code",
    code,
    redirect_uri: REDIRECT_URI,
    code_verifier: request.verifier,
    client_id: CLIENT.clientId,
    client_secret: "wrong",
  });
  await assertTokenError(await fetch(discovery.token_endpoint, { method: "POST", body }), 401, "invalid_client");
});

function refresh(refreshToken: string): Promise<Response> {
  const credentials = `${encodeURIComponent(CLIENT.clientId)}:${encodeURIComponent(CLIENT.clientSecret)}`;
  return fetch(discovery.token_endpoint, {
    method: "POST",
    headers: { authorization: `Basic ${Buffer.from(credentials).toString("base64")}` },
    body: new URLSearchParams({ grant_type: "refresh_token", refresh_token: refreshToken }),
  });
}

async function signedIn(user: { username: string; password: string }): Promise<Tokens> {
  const { code, request } = await signIn(user);
  return redeemCode(code, request.verifier);
}

test("a refresh reads the directory as it is now: a changed group shows in userinfo", async () => {
  const user = await newIdpUser(admin(), "dana", ["data-eng", "ads"]);
  const tokens = await signedIn(user);
  assert.deepEqual((await userinfo(tokens.access_token)).groups, ["data-eng", "ads"]);

  await changeIdpUser(admin(), user.username, { groups: ["ads"] });
  const response = await refresh(tokens.refresh_token as string);
  assert.equal(response.status, 200, await response.clone().text());
  const refreshed = (await response.json()) as Tokens;
  assert.deepEqual((await userinfo(refreshed.access_token)).groups, ["ads"]);
});

test("a user given a hosted domain has hd in the ID token and at userinfo, as Google states it; others have none", async () => {
  const user = await newIdpUser(admin(), "wanda", []);
  await changeIdpUser(admin(), user.username, { hostedDomain: "example.com" });
  const tokens = await signedIn(user);
  assert.equal((await verifiedIdToken(tokens.id_token)).hd, "example.com");
  assert.equal((await userinfo(tokens.access_token)).hd, "example.com");
  await changeIdpUser(admin(), user.username, { hostedDomain: "" });
  assert.equal((await userinfo(tokens.access_token)).hd, undefined);
  const alice = await signedIn({ username: "alice", password: "alice-password" });
  assert.equal((await verifiedIdToken(alice.id_token)).hd, undefined);
});

test("a disabled user cannot refresh, use userinfo or sign in; re-enabled, they can sign in again", async () => {
  const user = await newIdpUser(admin(), "erin", ["finance"]);
  const tokens = await signedIn(user);
  await changeIdpUser(admin(), user.username, { disabled: true });

  await assertTokenError(await refresh(tokens.refresh_token as string), 400, "invalid_grant");
  const info = await fetch(discovery.userinfo_endpoint, {
    headers: { authorization: `Bearer ${tokens.access_token}` },
  });
  assert.equal(info.status, 401);
  await assert.rejects(signInAtIdp(authorizationRequest().url, user), /Invalid username or password/);

  await changeIdpUser(admin(), user.username, { disabled: false });
  assert.equal((await verifiedIdToken((await signedIn(user)).id_token)).sub, user.username);
});

test("a disabled user's existing IdP session does not sign them in", async () => {
  const user = await newIdpUser(admin(), "fern", ["ads"]);
  const jar = new CookieJar();
  await signIn(user, jar);
  await changeIdpUser(admin(), user.username, { disabled: true });
  await assert.rejects(signIn({ username: user.username, password: "not used" }, jar), /Sign-in failed/);
});

test("the directory admin route needs the admin token and refuses malformed changes", async () => {
  const url = `${idp.issuer}/_local/users/alice`;
  const body = JSON.stringify({ groups: ["admins"] });
  const put = (headers: Record<string, string>, payload = body) =>
    fetch(url, { method: "PUT", headers: { "content-type": "application/json", ...headers }, body: payload });
  assert.equal((await put({})).status, 401);
  assert.equal((await put({ authorization: "Bearer wrong" })).status, 401);
  const unknownField = await put({ authorization: `Bearer ${ADMIN_TOKEN}` }, JSON.stringify({ role: "root" }));
  assert.equal(unknownField.status, 400);
  const incomplete = await fetch(`${idp.issuer}/_local/users/nobody-yet`, {
    method: "PUT",
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "application/json" },
    body: JSON.stringify({ groups: ["admins"] }),
  });
  assert.equal(incomplete.status, 400, "a new user needs a password, a name and an email");
});

test("without an admin token the directory cannot be changed", async () => {
  const plain = await startIdp({ port: 0, clients: [CLIENT] });
  try {
    await assert.rejects(
      changeIdpUser({ issuer: plain.issuer, adminToken: ADMIN_TOKEN }, "alice", { groups: ["admins"] }),
      /404|401/,
    );
  } finally {
    await plain.close();
  }
});
