/**
 * Sign-in for the CLI: OAuth 2.1 authorization code with PKCE through the MCP SDK's client
 * helpers (`auth()` for discovery-backed registration, PKCE and the code exchange;
 * `refreshAuthorization` for refreshes), a loopback redirect (RFC 8252) on a random port, and
 * tokens kept per resource: the registry and every domain server are separate audiences
 * (RFC 8707), so each gets its own authorization, with the same registered client.
 */
import { spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import {
  type AuthorizationServerMetadata,
  auth,
  checkResourceAllowed,
  discoverAuthorizationServerMetadata,
  discoverOAuthProtectedResourceMetadata,
  type OAuthClientInformationMixed,
  type OAuthClientMetadata,
  type OAuthClientProvider,
  type OAuthDiscoveryState,
  OAuthError,
  OAuthErrorCode,
  type OAuthProtectedResourceMetadata,
  type OAuthTokens,
  refreshAuthorization,
} from "@modelcontextprotocol/client";
import { CliError, EXIT } from "./cli.errors.ts";
import type { CredentialsStore, StoredTokens } from "./credentials.store.ts";

/** Tokens are treated as expired this long before they are, so a call does not start with one about to lapse. */
const EXPIRY_MARGIN_MS = 30_000;
const CALLBACK_PATH = "/callback";

export interface SignInOptions {
  store: CredentialsStore;
  /** The registry the CLI talks to (recorded with each token, for `fleet logout`). */
  registryUrl: string;
  /** Where messages for the person go (stderr). */
  log: (line: string) => void;
  /** Try to open the authorization URL in a browser (besides printing it). */
  openBrowser: boolean;
  /** How long to wait for the browser to come back. */
  timeoutMs: number;
}

export interface TokenRequest {
  /** The protected resource's URL as the client uses it (registry origin, server's /mcp URL). */
  serverUrl: string;
  /** Shown to the person: what the sign-in is for. */
  purpose: string;
  /** Scopes needed beyond the resource's baseline (`scopes_supported` of its metadata). */
  scopes?: readonly string[];
  /** Without it, only a stored or refreshed token is returned; never a browser sign-in. */
  interactive: boolean;
  /** Ignore stored tokens and sign in again (`fleet login`). */
  force?: boolean;
}

export interface AccessToken {
  token: string;
  resource: string;
  scopes: string[];
}

interface Discovery {
  resourceMetadata: OAuthProtectedResourceMetadata;
  issuer: string;
  metadata: AuthorizationServerMetadata;
}

export class SignIn {
  private readonly discoveries = new Map<string, Promise<Discovery>>();
  private readonly options: SignInOptions;

  constructor(options: SignInOptions) {
    this.options = options;
  }

  /** An access token for `serverUrl`'s resource: stored, refreshed, or from a new sign-in. */
  async accessToken(request: TokenRequest & { interactive: true }): Promise<AccessToken>;
  async accessToken(request: TokenRequest): Promise<AccessToken | undefined>;
  async accessToken(request: TokenRequest): Promise<AccessToken | undefined> {
    if (!request.interactive && !this.hasTokensFor(request.serverUrl)) return undefined; // no need to ask anyone
    const discovery = await this.discover(request.serverUrl);
    const { resource } = discovery.resourceMetadata;
    const wanted = union(discovery.resourceMetadata.scopes_supported ?? [], request.scopes ?? []);
    const stored = request.force ? undefined : this.options.store.tokens(resource);
    const reusable = stored && stored.issuer === discovery.issuer && covers(stored, wanted) ? stored : undefined;
    if (reusable && !isExpired(reusable)) return toAccessToken(reusable);
    if (reusable?.refresh_token) {
      const refreshed = await this.refresh(reusable, discovery);
      if (refreshed) return toAccessToken(refreshed);
    }
    if (!request.interactive) return undefined;
    return toAccessToken(await this.authorize(request, discovery, wanted));
  }

  /** Whether any stored tokens are for a resource on `serverUrl`'s origin (no network needed). */
  private hasTokensFor(serverUrl: string): boolean {
    const { origin } = new URL(serverUrl);
    return Object.keys(this.options.store.read().tokens).some(
      (resource) => URL.canParse(resource) && new URL(resource).origin === origin,
    );
  }

  /** Forgets the tokens for a resource (after the server refused them). */
  forget(resource: string): void {
    this.options.store.update((file) => {
      delete file.tokens[resource];
    });
  }

  /**
   * Removes the tokens obtained through this registry (or all), revoking each grant at its
   * authorization server first (RFC 7009; best effort: the local copy goes either way).
   */
  async logout(all: boolean): Promise<StoredTokens[]> {
    const file = this.options.store.read();
    const removed = Object.values(file.tokens).filter((t) => all || t.registry === this.options.registryUrl);
    for (const tokens of removed) {
      const problem = await revoke(tokens, file.clients[tokens.issuer]);
      if (problem) this.options.log(`Could not revoke the ${tokens.resource} grant at ${tokens.issuer}: ${problem}`);
    }
    this.options.store.update((current) => {
      for (const tokens of removed) delete current.tokens[tokens.resource];
    });
    return removed;
  }

  /** RFC 9728 protected resource metadata, then the RFC 8414 metadata of its authorization server. */
  discover(serverUrl: string): Promise<Discovery> {
    let pending = this.discoveries.get(serverUrl);
    if (!pending) {
      pending = discover(serverUrl);
      this.discoveries.set(serverUrl, pending);
    }
    return pending;
  }

  private async refresh(stored: StoredTokens, discovery: Discovery): Promise<StoredTokens | undefined> {
    const clientInformation = this.options.store.read().clients[discovery.issuer];
    if (!clientInformation || !stored.refresh_token) return undefined;
    try {
      const tokens = await refreshAuthorization(discovery.issuer, {
        metadata: discovery.metadata,
        clientInformation,
        refreshToken: stored.refresh_token,
        resource: stored.resource,
      });
      return this.save(discovery, tokens, stored.scope);
    } catch (error) {
      if (
        error instanceof OAuthError &&
        (error.code === OAuthErrorCode.InvalidGrant || error.code === OAuthErrorCode.InvalidClient)
      ) {
        this.forget(stored.resource); // expired or revoked: a new sign-in is the only way
        return undefined;
      }
      throw authFailure(`refreshing the token for ${stored.resource} at ${discovery.issuer}`, error);
    }
  }

  /** The browser sign-in: `auth()` registers (once per authorization server), builds the URL; we wait for the code. */
  private async authorize(request: TokenRequest, discovery: Discovery, scopes: string[]): Promise<StoredTokens> {
    const callback = await LoopbackCallback.start();
    try {
      const state = randomUUID();
      let saved: StoredTokens | undefined;
      const provider = new CliOAuthProvider({
        store: this.options.store,
        discovery,
        redirectUrl: callback.url,
        state,
        onTokens: (tokens) => {
          saved = this.save(discovery, tokens, scopes.join(" "));
        },
        onAuthorizationUrl: (url) => this.announce(url, request.purpose),
      });
      const options = { serverUrl: request.serverUrl, scope: scopes.join(" ") };
      const started = await runAuth(provider, options, `starting the sign-in for ${request.purpose}`);
      if (started !== "REDIRECT") throw new CliError(`the sign-in for ${request.purpose} did not start`, EXIT.auth);
      const { code, iss } = await callback.waitForCode(state, this.options.timeoutMs);
      // RFC 9207: the SDK checks `iss` against the issuer the sign-in was sent to before redeeming the code.
      await runAuth(
        provider,
        { ...options, authorizationCode: code, ...(iss === undefined ? {} : { iss }) },
        `exchanging the code for ${request.purpose}`,
      );
      if (!saved) throw new CliError(`no tokens were issued for ${request.purpose}`, EXIT.auth);
      const missing = scopes.filter((scope) => !scopeList(saved as StoredTokens).includes(scope));
      if (missing.length > 0) this.options.log(`Note: the scope ${missing.join(" ")} was not granted.`);
      return saved;
    } finally {
      callback.close();
    }
  }

  private save(discovery: Discovery, tokens: OAuthTokens, requestedScope: string | undefined): StoredTokens {
    const now = Date.now();
    const stored: StoredTokens = {
      resource: discovery.resourceMetadata.resource,
      issuer: discovery.issuer,
      registry: this.options.registryUrl,
      access_token: tokens.access_token,
      token_type: tokens.token_type,
      ...(tokens.refresh_token ? { refresh_token: tokens.refresh_token } : {}),
      ...((tokens.scope ?? requestedScope) ? { scope: tokens.scope ?? requestedScope } : {}),
      ...(tokens.expires_in !== undefined ? { expiresAt: now + tokens.expires_in * 1000 } : {}),
      obtainedAt: now,
    };
    this.options.store.update((file) => {
      file.tokens[stored.resource] = stored;
    });
    return stored;
  }

  private announce(url: URL, purpose: string): void {
    this.options.log(`To sign in for ${purpose}, open this URL in a browser:\n\n  ${url.href}\n`);
    if (this.options.openBrowser) openInBrowser(url.href);
    this.options.log(`Waiting for the browser to come back (up to ${Math.round(this.options.timeoutMs / 1000)} s)…`);
  }
}

/** The SDK's client-side OAuth state for one authorization, kept in the credentials file. */
interface ProviderOptions {
  store: CredentialsStore;
  discovery: Discovery;
  redirectUrl: string;
  state: string;
  onTokens: (tokens: OAuthTokens) => void;
  onAuthorizationUrl: (url: URL) => void;
}

class CliOAuthProvider implements OAuthClientProvider {
  private verifier: string | undefined;
  private readonly options: ProviderOptions;

  constructor(options: ProviderOptions) {
    this.options = options;
  }

  get redirectUrl(): string {
    return this.options.redirectUrl;
  }

  get clientMetadata(): OAuthClientMetadata {
    return {
      client_name: "MCP Fleet CLI",
      // The port varies per sign-in; loopback redirects match on everything but the port (RFC 8252 §7.3).
      redirect_uris: [this.options.redirectUrl],
      grant_types: ["authorization_code", "refresh_token"],
      response_types: ["code"],
      token_endpoint_auth_method: "none",
    };
  }

  state(): string {
    return this.options.state;
  }

  clientInformation(): OAuthClientInformationMixed | undefined {
    return this.options.store.read().clients[this.options.discovery.issuer];
  }

  saveClientInformation(information: OAuthClientInformationMixed): void {
    this.options.store.update((file) => {
      file.clients[this.options.discovery.issuer] = information;
    });
  }

  /** Refreshes happen before `auth()` is called; here it only ever starts a new authorization. */
  tokens(): undefined {
    return undefined;
  }

  saveTokens(tokens: OAuthTokens): void {
    this.options.onTokens(tokens);
  }

  redirectToAuthorization(url: URL): void {
    this.options.onAuthorizationUrl(url);
  }

  saveCodeVerifier(verifier: string): void {
    this.verifier = verifier;
  }

  codeVerifier(): string {
    if (!this.verifier) throw new CliError("no sign-in is in progress (no PKCE verifier)", EXIT.auth);
    return this.verifier;
  }

  discoveryState(): OAuthDiscoveryState {
    const { discovery } = this.options;
    return {
      authorizationServerUrl: discovery.issuer,
      authorizationServerMetadata: discovery.metadata,
      resourceMetadata: discovery.resourceMetadata,
    };
  }

  invalidateCredentials(scope: "all" | "client" | "tokens" | "verifier" | "discovery"): void {
    if (scope === "all" || scope === "client") {
      this.options.store.update((file) => {
        delete file.clients[this.options.discovery.issuer];
      });
    }
    if (scope === "all" || scope === "verifier") this.verifier = undefined;
  }
}

/** What the authorization server sent back: the code, and its issuer (RFC 9207) when it names one. */
interface CallbackAnswer {
  code: string;
  iss: string | undefined;
}

/** The redirect target on 127.0.0.1, a random port, for one sign-in. */
class LoopbackCallback {
  private waiting:
    | { state: string; resolve: (answer: CallbackAnswer) => void; reject: (error: Error) => void }
    | undefined;
  private readonly server: Server;
  readonly url: string;

  private constructor(server: Server, url: string) {
    this.server = server;
    this.url = url;
  }

  static async start(): Promise<LoopbackCallback> {
    let callback: LoopbackCallback | undefined;
    const server = createServer((request, response) => callback?.handle(request.url ?? "/", response));
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(0, "127.0.0.1", resolve);
    });
    const { port } = server.address() as AddressInfo;
    callback = new LoopbackCallback(server, `http://127.0.0.1:${port}${CALLBACK_PATH}`);
    return callback;
  }

  waitForCode(state: string, timeoutMs: number): Promise<CallbackAnswer> {
    return new Promise<CallbackAnswer>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new CliError(`no sign-in arrived within ${Math.round(timeoutMs / 1000)} s`, EXIT.auth)),
        timeoutMs,
      );
      const settle =
        <T>(done: (value: T) => void) =>
        (value: T) => {
          clearTimeout(timer);
          done(value);
        };
      this.waiting = { state, resolve: settle(resolve), reject: settle(reject) };
    });
  }

  close(): void {
    this.server.closeAllConnections();
    this.server.close();
  }

  private handle(path: string, response: import("node:http").ServerResponse): void {
    const url = new URL(path, this.url);
    if (url.pathname !== CALLBACK_PATH || !this.waiting) {
      response.writeHead(404, { "content-type": "text/plain; charset=utf-8" }).end("Not found\n");
      return;
    }
    const page = (status: number, title: string, text: string) =>
      response
        .writeHead(status, { "content-type": "text/html; charset=utf-8", "cache-control": "no-store" })
        .end(`<!doctype html><meta charset="utf-8"><title>${title}</title><h1>${title}</h1><p>${escapeHtml(text)}</p>`);
    const { state, resolve, reject } = this.waiting;
    if (url.searchParams.get("state") !== state) {
      page(400, "Sign-in not recognised", "This answer does not belong to the sign-in the fleet CLI started.");
      return; // keep waiting: a stale or forged redirect must not end the real one
    }
    this.waiting = undefined;
    const error = url.searchParams.get("error");
    if (error) {
      const description = url.searchParams.get("error_description");
      page(400, "Sign-in failed", `${error}${description ? `: ${description}` : ""}. Go back to the terminal.`);
      reject(
        new CliError(`the sign-in was not completed (${error}${description ? `: ${description}` : ""})`, EXIT.auth),
      );
      return;
    }
    const code = url.searchParams.get("code");
    if (!code) {
      page(400, "Sign-in failed", "The answer carries no authorization code.");
      reject(new CliError("the authorization server answered without a code", EXIT.auth));
      return;
    }
    page(200, "Signed in", "You are signed in to the fleet CLI. You can close this tab.");
    resolve({ code, iss: url.searchParams.get("iss") ?? undefined });
  }
}

export async function discover(serverUrl: string): Promise<Discovery> {
  let resourceMetadata: OAuthProtectedResourceMetadata;
  try {
    resourceMetadata = await discoverOAuthProtectedResourceMetadata(serverUrl);
  } catch (error) {
    throw authFailure(`reading the OAuth protected resource metadata of ${serverUrl}`, error);
  }
  // A server may only claim a resource that covers its own URL; otherwise it could ask for (and
  // be handed) the stored token of another server.
  if (!checkResourceAllowed({ requestedResource: serverUrl, configuredResource: resourceMetadata.resource })) {
    throw new CliError(
      `${serverUrl} claims to be the resource ${resourceMetadata.resource}, which is not its own URL: refusing to send it any token`,
      EXIT.auth,
    );
  }
  const issuer = resourceMetadata.authorization_servers?.[0];
  if (!issuer) {
    throw new CliError(`${serverUrl}: its protected resource metadata names no authorization server`, EXIT.auth);
  }
  let metadata: AuthorizationServerMetadata | undefined;
  try {
    metadata = await discoverAuthorizationServerMetadata(issuer);
  } catch (error) {
    throw authFailure(`reading the metadata of the authorization server ${issuer}`, error);
  }
  if (!metadata) throw new CliError(`${issuer} publishes no OAuth authorization server metadata`, EXIT.auth);
  return { resourceMetadata, issuer, metadata };
}

async function runAuth(
  provider: OAuthClientProvider,
  options: Parameters<typeof auth>[1],
  doing: string,
): Promise<"AUTHORIZED" | "REDIRECT"> {
  try {
    return await auth(provider, options);
  } catch (error) {
    throw authFailure(doing, error);
  }
}

/** RFC 7009 revocation of the refresh token (which ends the grant); returns a problem, if any. */
async function revoke(
  tokens: StoredTokens,
  client: OAuthClientInformationMixed | undefined,
): Promise<string | undefined> {
  if (!client) return "no client registration is stored";
  try {
    const metadata = (await discoverAuthorizationServerMetadata(tokens.issuer)) as
      | { revocation_endpoint?: string }
      | undefined;
    if (!metadata?.revocation_endpoint) return "it offers no revocation endpoint";
    const response = await fetch(metadata.revocation_endpoint, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({
        token: tokens.refresh_token ?? tokens.access_token,
        token_type_hint: tokens.refresh_token ? "refresh_token" : "access_token",
        client_id: client.client_id,
      }),
      signal: AbortSignal.timeout(10_000),
    });
    return response.ok ? undefined : `HTTP ${response.status}`;
  } catch (error) {
    return (error as Error).message;
  }
}

function authFailure(doing: string, error: unknown): CliError {
  if (error instanceof CliError) return error;
  const cause = (error as { cause?: { code?: string } }).cause?.code;
  if (error instanceof TypeError && cause) {
    // Not a sign-in problem: the server or the authorization server is not reachable.
    return new CliError(`cannot connect while ${doing} (${cause})`, EXIT.failure);
  }
  const detail =
    error instanceof OAuthError
      ? `${error.code}${error.message ? `: ${error.message}` : ""}`
      : `${(error as Error).message}${cause ? ` (${cause})` : ""}`;
  return new CliError(`sign-in failed while ${doing}: ${detail}`, EXIT.auth);
}

function toAccessToken(stored: StoredTokens): AccessToken {
  return { token: stored.access_token, resource: stored.resource, scopes: scopeList(stored) };
}

function scopeList(tokens: Pick<StoredTokens, "scope">): string[] {
  return (tokens.scope ?? "").split(/\s+/).filter(Boolean);
}

function covers(tokens: StoredTokens, wanted: readonly string[]): boolean {
  const granted = scopeList(tokens);
  return wanted.every((scope) => granted.includes(scope));
}

function isExpired(tokens: StoredTokens): boolean {
  return tokens.expiresAt !== undefined && tokens.expiresAt - EXPIRY_MARGIN_MS <= Date.now();
}

function union(...lists: readonly (readonly string[])[]): string[] {
  return [...new Set(lists.flat())];
}

function escapeHtml(text: string): string {
  return text.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;").replaceAll('"', "&quot;");
}

/** Best effort, detached: xdg-open / open / start. The URL is printed either way. */
export function openInBrowser(url: string): void {
  const [command, args] =
    process.platform === "darwin"
      ? ["open", [url]]
      : process.platform === "win32"
        ? ["cmd", ["/c", "start", '""', url]]
        : ["xdg-open", [url]];
  try {
    const child = spawn(command, args as string[], { stdio: "ignore", detached: true });
    child.on("error", () => {});
    child.unref();
  } catch {}
}
