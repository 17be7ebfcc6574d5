/**
 * OAuth as a real client does it, for the end-to-end tests and the local registry seed: dynamic registration, PKCE,
 * the consent page at the auth Worker, sign-in at the (local) company IdP, the code exchange;
 * and client credentials for service identities. No shortcut into the auth Worker's storage.
 */
import { createHash, randomBytes } from "node:crypto";
import { CookieJar, signInAtIdp } from "./idp.login.ts";

export const PASSWORDS: Record<string, string> = {
  alice: "alice-password",
  bob: "bob-password",
  carol: "carol-password",
  admin: "admin-password",
  dave: "dave-password",
  erin: "erin-password",
};

export interface RegisteredClient {
  clientId: string;
  redirectUri: string;
}

export interface Tokens {
  access_token: string;
  refresh_token?: string;
  expires_in: number;
  scope?: string;
  token_type: string;
}

export async function registerClient(authUrl: string, redirectUri = "http://127.0.0.1:33418/callback") {
  const response = await fetch(`${authUrl}/oauth/register`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({
      client_name: "Fleet e2e client",
      redirect_uris: [redirectUri],
      grant_types: ["authorization_code", "refresh_token"],
      response_types: ["code"],
      token_endpoint_auth_method: "none",
    }),
  });
  if (response.status !== 201) throw new Error(`registration failed: ${response.status} ${await response.text()}`);
  const body = (await response.json()) as { client_id: string };
  return { clientId: body.client_id, redirectUri };
}

export function pkce() {
  const verifier = randomBytes(32).toString("base64url");
  return { verifier, challenge: createHash("sha256").update(verifier).digest("base64url") };
}

export function authorizeUrl(
  authUrl: string,
  client: RegisteredClient,
  options: { resource: string; scope: string; challenge: string; state?: string },
): string {
  const url = new URL(`${authUrl}/authorize`);
  url.search = new URLSearchParams({
    response_type: "code",
    client_id: client.clientId,
    redirect_uri: client.redirectUri,
    scope: options.scope,
    resource: options.resource,
    code_challenge: options.challenge,
    code_challenge_method: "S256",
    state: options.state ?? randomBytes(8).toString("hex"),
  }).toString();
  return url.toString();
}

/**
 * A user in a browser: opens the authorization URL, approves (or denies) on the consent page,
 * signs in at the IdP, and comes back. Returns the final redirect to the client (with `code` or
 * `error`), without fetching it.
 */
export async function approveInBrowser(
  url: string,
  user: { username: string; password?: string },
  options: { decision?: "allow" | "deny"; jar?: CookieJar; redirectUri: string },
): Promise<URL> {
  const jar = options.jar ?? new CookieJar();
  const consent = await get(url, jar);
  if (consent.status !== 200) throw new Error(`consent page: HTTP ${consent.status} ${await consent.text()}`);
  const html = await consent.text();
  const form = consentForm(html, options.decision ?? "allow");
  const posted = await send(new URL(form.action, url).toString(), jar, form.body);
  let location = posted.headers.get("location");
  if (!location) throw new Error(`consent answered ${posted.status}: ${await posted.text()}`);
  location = new URL(location, url).toString();
  if (!location.startsWith(options.redirectUri)) {
    // On to the company IdP, and back to the auth Worker's callback.
    const callback = await signInAtIdp(
      location,
      { username: user.username, password: user.password ?? PASSWORDS[user.username] ?? "" },
      jar,
    );
    const finished = await get(callback, jar);
    const next = finished.headers.get("location");
    if (!next) throw new Error(`SSO callback answered ${finished.status}: ${await finished.text()}`);
    location = new URL(next, callback).toString();
  }
  return new URL(location);
}

export async function exchangeCode(
  authUrl: string,
  client: RegisteredClient,
  code: string,
  verifier: string,
  resource?: string,
): Promise<Response> {
  return fetch(`${authUrl}/oauth/token`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({
      grant_type: "authorization_code",
      code,
      redirect_uri: client.redirectUri,
      client_id: client.clientId,
      code_verifier: verifier,
      ...(resource ? { resource } : {}),
    }),
  });
}

/** The whole flow for one user: a fresh client, consent, SSO, tokens for `resource`. */
export async function signIn(authUrl: string, username: string, resource: string, scope = "presto:read") {
  return (await signInSession(authUrl, { username }, resource, scope)).tokens;
}

/** The same, for any user (a password not in PASSWORDS too), keeping the client for refreshes. */
export async function signInSession(
  authUrl: string,
  user: { username: string; password?: string },
  resource: string,
  scope = "presto:read",
): Promise<{ client: RegisteredClient; tokens: Tokens }> {
  const client = await registerClient(authUrl);
  const { verifier, challenge } = pkce();
  const redirect = await approveInBrowser(authorizeUrl(authUrl, client, { resource, scope, challenge }), user, {
    redirectUri: client.redirectUri,
  });
  const code = redirect.searchParams.get("code");
  if (!code) throw new Error(`no code for ${user.username}: ${redirect}`);
  const response = await exchangeCode(authUrl, client, code, verifier, resource);
  if (!response.ok) throw new Error(`token exchange failed: ${response.status} ${await response.text()}`);
  return { client, tokens: (await response.json()) as Tokens };
}

/** A refresh token grant, as a public client (the answer as it comes: tokens or an OAuth error). */
export function refreshTokens(authUrl: string, client: RegisteredClient, refreshToken: string): Promise<Response> {
  return fetch(`${authUrl}/oauth/token`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ grant_type: "refresh_token", refresh_token: refreshToken, client_id: client.clientId }),
  });
}

export async function serviceToken(
  authUrl: string,
  service: { name: string; secret: string },
  resource: string,
  scope?: string,
): Promise<Response> {
  return fetch(`${authUrl}/oauth/token`, {
    method: "POST",
    headers: {
      "content-type": "application/x-www-form-urlencoded",
      authorization: `Basic ${Buffer.from(`${service.name}:${service.secret}`).toString("base64")}`,
    },
    body: new URLSearchParams({ grant_type: "client_credentials", resource, ...(scope ? { scope } : {}) }),
  });
}

async function get(url: string, jar: CookieJar): Promise<Response> {
  const response = await fetch(url, { redirect: "manual", headers: { cookie: jar.get(url) } });
  jar.store(url, response);
  return response;
}

async function send(url: string, jar: CookieJar, body: URLSearchParams): Promise<Response> {
  const response = await fetch(url, {
    method: "POST",
    redirect: "manual",
    headers: { cookie: jar.get(url), "content-type": "application/x-www-form-urlencoded", origin: new URL(url).origin },
    body,
  });
  jar.store(url, response);
  return response;
}

/** The consent form's fields, with the Allow or Deny button pressed. */
function consentForm(html: string, decision: "allow" | "deny"): { action: string; body: URLSearchParams } {
  const form = /<form[^>]*method="post"[^>]*>([\s\S]*?)<\/form>/i.exec(html);
  if (!form) throw new Error(`no consent form on the page: ${html.slice(0, 500)}`);
  const action = /action="([^"]*)"/i.exec(form[0])?.[1]?.replaceAll("&amp;", "&") ?? "";
  const body = new URLSearchParams();
  for (const input of form[1]?.matchAll(/<input[^>]*type="hidden"[^>]*>/gi) ?? []) {
    const name = /name="([^"]*)"/.exec(input[0])?.[1];
    const value = /value="([^"]*)"/.exec(input[0])?.[1] ?? "";
    if (name) body.append(name, decode(value));
  }
  for (const input of form[1]?.matchAll(/<input[^>]*type="checkbox"[^>]*checked[^>]*>/gi) ?? []) {
    const name = /name="([^"]*)"/.exec(input[0])?.[1];
    if (name && name !== "remember") body.append(name, decode(/value="([^"]*)"/.exec(input[0])?.[1] ?? "on"));
  }
  const buttons = [
    ...(form[1]?.matchAll(/<button[^>]*name="([^"]*)"[^>]*value="([^"]*)"[^>]*>([\s\S]*?)<\/button>/gi) ?? []),
  ];
  const pressed = buttons.find((button) =>
    new RegExp(decision === "allow" ? "allow|approve" : "deny|cancel", "i").test(`${button[2]} ${button[3]}`),
  );
  if (!pressed) throw new Error(`no ${decision} button on the consent page`);
  body.append(pressed[1] as string, decode(pressed[2] as string));
  return { action, body };
}

function decode(value: string): string {
  return value
    .replaceAll("&amp;", "&")
    .replaceAll("&quot;", '"')
    .replaceAll("&#39;", "'")
    .replaceAll("&lt;", "<")
    .replaceAll("&gt;", ">");
}
