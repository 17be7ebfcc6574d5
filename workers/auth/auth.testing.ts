/**
 * Test helpers for the auth Worker: the Worker itself (fetch and RPC, in-process), a browser
 * that keeps its cookies the way browsers do, and the steps of an MCP client's authorization:
 * dynamic registration, PKCE, the consent page, sign-in at the local IdP, the token request.
 */
import { exports } from "cloudflare:workers";
import { inject } from "vitest";
import { CookieJar, signInAtIdp } from "../../local/idp.login";
import type AuthWorker from "./auth.app";
import type { TokenValidator, TokenValidatorProps } from "./auth.app";
import { base64url, randomToken, sha256 } from "./auth.crypto";

export const ISSUER = inject("authIssuer");
export const PRESTO = "http://127.0.0.1:8788/mcp";
/** A second resource of the same authorization server. */
export const OTHER = "http://127.0.0.1:8791/mcp";
export const ADMIN = `${ISSUER}/admin`;
export const CLIENT_REDIRECT = "http://127.0.0.1:33418/callback";

type Exports = {
  default: Service<typeof AuthWorker>;
  TokenValidator: (options: { props: TokenValidatorProps }) => Service<typeof TokenValidator>;
};

export const worker = (exports as unknown as Exports).default;

/** What a domain Worker's AUTH binding is: the TokenValidator entrypoint for one server (vitest.auth.config.ts). */
export const validator = (server: string) => (exports as unknown as Exports).TokenValidator({ props: { server } });
/** The Presto server's binding, as workers/presto/wrangler.toml names it. */
export const presto = validator("presto");

export const USERS = {
  alice: { username: "alice", password: "alice-password" },
  bob: { username: "bob", password: "bob-password" },
  carol: { username: "carol", password: "carol-password" },
  admin: { username: "admin", password: "admin-password" },
};

/** The local IdP's directory, which tests change (local/idp.admin.ts). */
export const IDP_ADMIN = { issuer: inject("authIdp").issuer, adminToken: inject("authIdp").adminToken };

/**
 * One browser talking to the Worker: it sends and stores cookies as Chromium and Firefox do,
 * including `Secure` (and so `__Host-`) cookies on a loopback http origin, which they treat as a
 * secure context. A cookie a browser would refuse fails the test instead.
 */
export class Browser {
  #cookies = new Map<string, string>();
  /** The browser's cookies at the IdP, so a second sign-in can reuse its session. */
  readonly idpJar = new CookieJar();

  async fetch(url: string, init: RequestInit = {}): Promise<Response> {
    const headers = new Headers(init.headers);
    const cookie = [...this.#cookies].map(([name, value]) => `${name}=${value}`).join("; ");
    if (cookie) headers.set("Cookie", cookie);
    const response = await worker.fetch(new Request(url, { ...init, headers, redirect: "manual" }));
    for (const header of response.headers.getSetCookie()) this.#store(url, header);
    return response;
  }

  cookieNames(): string[] {
    return [...this.#cookies.keys()];
  }

  forget(prefix: string): void {
    for (const name of this.cookieNames()) if (name.startsWith(prefix)) this.#cookies.delete(name);
  }

  #store(url: string, header: string): void {
    const [pair = "", ...rest] = header.split(";");
    const name = pair.slice(0, pair.indexOf("=")).trim();
    const value = pair.slice(pair.indexOf("=") + 1).trim();
    const attributes = new Map(
      rest.map((attribute) => {
        const [key = "", val = ""] = attribute.split("=", 2).map((part) => part.trim());
        return [key.toLowerCase(), val] as const;
      }),
    );
    const secure = attributes.has("secure");
    if (secure && !isSecureContext(new URL(url))) throw new Error(`a browser refuses Secure cookie ${name} on ${url}`);
    if (name.startsWith("__Host-") && (!secure || attributes.get("path") !== "/" || attributes.has("domain"))) {
      throw new Error(`a browser refuses ${name}: __Host- needs Secure, Path=/ and no Domain`);
    }
    if (Number(attributes.get("max-age") ?? 1) <= 0) this.#cookies.delete(name);
    else this.#cookies.set(name, value);
  }
}

/** https, or a loopback host: where browsers accept `Secure` cookies. */
function isSecureContext(url: URL): boolean {
  const host = url.hostname;
  return (
    url.protocol === "https:" ||
    host === "localhost" ||
    host.endsWith(".localhost") ||
    /^127\.\d+\.\d+\.\d+$/.test(host) ||
    host === "[::1]"
  );
}

export interface RegisteredClient {
  client_id: string;
  client_secret?: string;
  redirect_uris: string[];
  client_name?: string;
}

/** RFC 7591 registration, as an MCP client does it: a public client with a loopback callback. */
export async function registerClient(metadata: Record<string, unknown> = {}): Promise<RegisteredClient> {
  const response = await worker.fetch(
    new Request(`${ISSUER}/oauth/register`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({
        client_name: "Test Client",
        redirect_uris: [CLIENT_REDIRECT],
        token_endpoint_auth_method: "none",
        grant_types: ["authorization_code", "refresh_token"],
        ...metadata,
      }),
    }),
  );
  if (response.status !== 201) throw new Error(`registration failed: ${response.status} ${await response.text()}`);
  return response.json();
}

export async function pkcePair(): Promise<{ verifier: string; challenge: string }> {
  const verifier = randomToken();
  return { verifier, challenge: base64url(await sha256(verifier)) };
}

export interface AuthorizeOptions {
  client: RegisteredClient;
  challenge: string;
  scope?: string;
  resource?: string;
  redirectUri?: string;
  state?: string;
}

export function authorizeUrl(options: AuthorizeOptions): string {
  const url = new URL(`${ISSUER}/authorize`);
  url.searchParams.set("response_type", "code");
  url.searchParams.set("client_id", options.client.client_id);
  url.searchParams.set("redirect_uri", options.redirectUri ?? CLIENT_REDIRECT);
  url.searchParams.set("scope", options.scope ?? "presto:read");
  url.searchParams.set("state", options.state ?? "client-state");
  url.searchParams.set("code_challenge", options.challenge);
  url.searchParams.set("code_challenge_method", "S256");
  url.searchParams.set("resource", options.resource ?? PRESTO);
  return url.href;
}

/** The consent form's handle, from the page. */
export function handleOf(html: string): string {
  const handle = /name="handle" value="([^"]+)"/.exec(html)?.[1];
  if (!handle) throw new Error("no consent handle on the page");
  return handle;
}

export function consentForm(handle: string, decision: "approve" | "deny", remember = false): RequestInit {
  const body = new URLSearchParams({ handle, decision });
  if (remember) body.set("remember", "on");
  return { method: "POST", body, headers: { "Content-Type": "application/x-www-form-urlencoded" } };
}

export function locationOf(response: Response): URL {
  const location = response.headers.get("Location");
  if (!location) throw new Error(`expected a redirect, got ${response.status}`);
  return new URL(location);
}

/**
 * The whole browser side of an authorization: the consent page, Allow, sign-in at the IdP as
 * `user`, and the callback. Returns the redirect back to the client (with `code`, or `error`).
 */
export async function authorize(
  browser: Browser,
  options: AuthorizeOptions,
  user: { username: string; password: string },
): Promise<URL> {
  const consent = await browser.fetch(authorizeUrl(options));
  if (consent.status !== 200) throw new Error(`consent page: ${consent.status} ${await consent.text()}`);
  const approved = await browser.fetch(`${ISSUER}/authorize`, consentForm(handleOf(await consent.text()), "approve"));
  const callback = await signInAtIdp(locationOf(approved).href, user, browser.idpJar);
  return locationOf(await browser.fetch(callback));
}

export interface TokenRequest {
  client: RegisteredClient;
  code: string;
  verifier: string;
  redirectUri?: string;
  resource?: string;
}

export function exchangeCode(request: TokenRequest): Promise<Response> {
  return tokenRequest({
    grant_type: "authorization_code",
    client_id: request.client.client_id,
    code: request.code,
    code_verifier: request.verifier,
    redirect_uri: request.redirectUri ?? CLIENT_REDIRECT,
    resource: request.resource ?? PRESTO,
  });
}

export function tokenRequest(form: Record<string, string> | URLSearchParams, headers: HeadersInit = {}) {
  return worker.fetch(
    new Request(`${ISSUER}/oauth/token`, {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded", ...Object.fromEntries(new Headers(headers)) },
      body: new URLSearchParams(form),
    }),
  );
}

export interface Tokens {
  access_token: string;
  refresh_token: string;
  token_type: string;
  expires_in: number;
  scope: string;
}

/** Registration, authorization as `user` and the code exchange: a signed-in MCP client's tokens. */
export async function signedInClient(
  user: { username: string; password: string },
  scope = "presto:read",
  resource = PRESTO,
) {
  const client = await registerClient();
  const { verifier, challenge } = await pkcePair();
  const redirect = await authorize(new Browser(), { client, challenge, scope, resource }, user);
  const code = redirect.searchParams.get("code");
  if (!code) throw new Error(`no code: ${redirect.href}`);
  const response = await exchangeCode({ client, code, verifier, resource });
  if (response.status !== 200) throw new Error(`token exchange: ${response.status} ${await response.text()}`);
  return { client, tokens: (await response.json()) as Tokens };
}

/** A refresh token request from a public client. */
export function refresh(client: RegisteredClient, refreshToken: string): Promise<Response> {
  return tokenRequest({ grant_type: "refresh_token", client_id: client.client_id, refresh_token: refreshToken });
}

/** A request to the admin API (`/admin/...`): GET without a body, POST with one. */
export function adminRequest(path: string, token: string | undefined, body?: unknown): Promise<Response> {
  const headers: Record<string, string> = { "Content-Type": "application/json" };
  if (token) headers.Authorization = `Bearer ${token}`;
  return worker.fetch(
    new Request(`${ISSUER}${path}`, {
      method: body === undefined ? "GET" : "POST",
      headers,
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    }),
  );
}

/** An access token for the admin API, signed in as `user` (by default the local admin). */
export async function adminToken(user = USERS.admin, scope = "fleet:admin"): Promise<string> {
  return (await signedInClient(user, scope, ADMIN)).tokens.access_token;
}
