/**
 * A local OpenID Provider standing in for the company's SSO (Okta, Entra ID, Google, Keycloak) in
 * local runs and tests, built on oidc-provider.
 *
 * - Discovery at `<issuer>/.well-known/openid-configuration`; the issuer is `http://<host>:<port>`.
 * - Authorization code flow, PKCE (S256) required, confidential clients authenticating with
 *   `client_secret_basic` or `client_secret_post`. Every code exchange also returns a refresh
 *   token (as Keycloak does; `offline_access` is accepted and changes nothing), valid 30 days and
 *   not tied to the browser session; it stops working once the user is disabled.
 * - ID tokens signed RS256 with a key generated at start (published at the JWKS endpoint);
 *   access and ID tokens live 10 minutes.
 * - Scopes `openid profile email groups`: `sub` (the username), `name`, `preferred_username`,
 *   `email`, `email_verified`, `groups` (and `hd` for a user given a hosted domain, as Google
 *   states it), in the ID token as well as at the userinfo endpoint,
 *   always as the directory says now (a refresh sees a changed group at once).
 * - Users from `idp.users.json` (development-only passwords), signed in on a plain HTML form at
 *   `/interaction/<uid>`. Consent is granted without asking: the only clients are the configured
 *   first-party ones, and the fleet asks its own consent towards MCP clients. With `adminToken`,
 *   tests change users while it runs (idp.users.ts): groups, email, disabled.
 * - State (sessions, codes, tokens) lives in memory and is gone when the process stops.
 *
 * Run directly: `node local/idp.ts --client-id ID --client-secret SECRET --redirect-uri URI
 * [--redirect-uri URI ...] [--port 8790] [--host 127.0.0.1] [--users local/idp.users.json]
 * [--admin-token TOKEN]`.
 */
import { generateKeyPair, randomBytes } from "node:crypto";
import type { IncomingMessage, Server } from "node:http";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { parseArgs, promisify } from "node:util";
import type { Context, Middleware } from "koa";
import type { ClientMetadata, Configuration, Grant, Interaction, JWK, KoaContextWithOIDC } from "oidc-provider";
import Provider, { errors } from "oidc-provider";
import { claimsOf, Directory, directoryAdmin } from "./idp.users.ts";

export interface IdpClient {
  clientId: string;
  clientSecret: string;
  redirectUris: string[];
}

export interface IdpOptions {
  /** Default 8790; 0 picks an ephemeral port. */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
  /** The relying parties allowed to sign users in (the fleet's OAuth Worker, tests). */
  clients: IdpClient[];
  /** Default: `idp.users.json` next to this file. */
  usersFile?: string;
  /** Enables `PUT /_local/users/<username>` for this bearer token (development and tests only). */
  adminToken?: string;
}

export interface Idp {
  issuer: string;
  port: number;
  close(): Promise<void>;
}

const DEFAULT_USERS_FILE = join(import.meta.dirname, "idp.users.json");

const TEN_MINUTES = 10 * 60;
const EIGHT_HOURS = 8 * 60 * 60;
const THIRTY_DAYS = 30 * 24 * 60 * 60;
const MAX_FORM_BYTES = 16 * 1024;

export async function startIdp(options: IdpOptions): Promise<Idp> {
  const users = await Directory.load(options.usersFile ?? DEFAULT_USERS_FILE);
  const signingKey = await generateSigningKey();
  const host = options.host ?? "127.0.0.1";
  const server = createServer();
  await listen(server, options.port ?? 8790, host);
  const port = (server.address() as AddressInfo).port;
  // The port is known only now (0 = ephemeral), and the issuer names it. Plain http needs no
  // setting: oidc-provider marks its cookies Secure only on https requests.
  const issuer = `http://${host.includes(":") ? `[${host}]` : host}:${port}`;
  try {
    const provider = new Provider(issuer, providerConfiguration(users, options.clients, signingKey));
    if (options.adminToken) provider.use(directoryAdmin(users, options.adminToken));
    provider.use(loginPage(provider, users));
    server.on("request", provider.callback());
  } catch (error) {
    await closeServer(server);
    throw error;
  }
  return { issuer, port, close: () => closeServer(server) };
}

// ---------------------------------------------------------------------------
// Provider configuration
// ---------------------------------------------------------------------------

async function generateSigningKey(): Promise<JWK> {
  const { privateKey } = await promisify(generateKeyPair)("rsa", { modulusLength: 2048 });
  return { ...privateKey.export({ format: "jwk" }), use: "sig", alg: "RS256" };
}

function providerConfiguration(users: Directory, clients: IdpClient[], signingKey: JWK): Configuration {
  return {
    clients: clients.map(clientMetadata),
    responseTypes: ["code"],
    clientAuthMethods: ["client_secret_basic", "client_secret_post"],
    // Besides these, every key of `claims` below is a scope. oidc-provider drops offline_access
    // unless prompt=consent; refresh tokens come without it (issueRefreshToken below).
    scopes: ["openid", "offline_access"],
    claims: {
      // hd: the hosted domain, as Google states it for Workspace accounts (only users that have one).
      openid: ["sub", "hd"],
      profile: ["name", "preferred_username"],
      email: ["email", "email_verified"],
      groups: ["groups"],
    },
    // Put scope-requested claims in the ID token too (by default they go to userinfo only), so a
    // relying party gets the groups without calling userinfo.
    conformIdTokenClaims: false,
    // Read at every use (sign-in, refresh, userinfo): a disabled user has no account, so their
    // refresh tokens and access tokens are refused; changed groups show at the next refresh.
    findAccount: (_ctx, sub) => {
      const user = users.active(sub);
      return user && { accountId: sub, claims: () => claimsOf(sub, user) };
    },
    issueRefreshToken: async (_ctx, client) => client.grantTypeAllowed("refresh_token"),
    expiresWithSession: async () => false,
    pkce: { required: () => true }, // S256 is the only method oidc-provider accepts
    jwks: { keys: [signingKey] },
    cookies: { keys: [randomBytes(32).toString("base64url")] }, // signs the session and interaction cookies
    features: { devInteractions: { enabled: false } }, // the login page below replaces the built-in one
    loadExistingGrant: grantRequested,
    renderError: (ctx, out) => {
      renderFailure(ctx, ctx.status, out.error_description ? `${out.error}: ${out.error_description}` : out.error);
    },
    ttl: {
      AccessToken: TEN_MINUTES,
      IdToken: TEN_MINUTES,
      Interaction: TEN_MINUTES,
      RefreshToken: THIRTY_DAYS,
      Grant: THIRTY_DAYS,
      Session: EIGHT_HOURS,
    },
  };
}

function clientMetadata(client: IdpClient): ClientMetadata {
  return {
    client_id: client.clientId,
    client_secret: client.clientSecret,
    redirect_uris: client.redirectUris,
    grant_types: ["authorization_code", "refresh_token"],
    response_types: ["code"],
  };
}

/**
 * Consent without a consent page: the signed-in user's grant for the client, extended to whatever
 * the request asks for (every client here is first-party).
 */
async function grantRequested(ctx: KoaContextWithOIDC): Promise<Grant | undefined> {
  const { oidc } = ctx;
  if (!oidc.account || !oidc.client || !oidc.session) return undefined;
  const { Grant } = oidc.provider;
  const grantId = oidc.result?.consent?.grantId ?? oidc.session.grantIdFor(oidc.client.clientId);
  const grant =
    (grantId && (await Grant.find(grantId))) ||
    new Grant({ accountId: oidc.account.accountId, clientId: oidc.client.clientId });
  grant.addOIDCScope(oidc.requestParamOIDCScopes);
  grant.addOIDCClaims(oidc.requestParamClaims);
  await grant.save();
  return grant;
}

// ---------------------------------------------------------------------------
// Login page (oidc-provider's interaction route)
// ---------------------------------------------------------------------------

const INTERACTION_PATH = /^\/interaction\/[^/]+$/;

/** GET /interaction/<uid> shows the sign-in form; POST there checks the password and resumes. */
function loginPage(provider: Provider, users: Directory): Middleware {
  return async (ctx, next) => {
    if (!INTERACTION_PATH.test(ctx.path)) return next();
    try {
      if (ctx.method === "GET" || ctx.method === "HEAD") {
        const { uid, params } = await loginInteraction(provider, ctx);
        renderLogin(ctx, uid, String(params.client_id));
      } else if (ctx.method === "POST") {
        await submitLogin(provider, users, ctx);
      } else {
        ctx.set("allow", "GET, HEAD, POST");
        ctx.status = 405;
      }
    } catch (error) {
      if (!(error instanceof errors.OIDCProviderError)) throw error;
      const message =
        error instanceof errors.SessionNotFound
          ? "This sign-in has expired or was started in another browser. Go back to the application and start again."
          : (error.error_description ?? error.message);
      renderFailure(ctx, error.status, message);
    }
  };
}

/** The pending interaction of this browser (by its cookie), which must be a login. */
async function loginInteraction(provider: Provider, ctx: Context): Promise<Interaction> {
  const interaction = await provider.interactionDetails(ctx.req, ctx.res);
  if (interaction.prompt.name !== "login") {
    throw new errors.InvalidRequest(`unsupported interaction "${interaction.prompt.name}"`);
  }
  return interaction;
}

async function submitLogin(provider: Provider, users: Directory, ctx: Context): Promise<void> {
  const { uid, params } = await loginInteraction(provider, ctx);
  const form = await readForm(ctx.req);
  const username = form.get("username")?.trim() ?? "";
  const accountId = users.authenticate(username, form.get("password") ?? "");
  if (!accountId) {
    renderLogin(ctx, uid, String(params.client_id), { username, error: "Invalid username or password." });
    return;
  }
  const returnTo = await provider.interactionResult(
    ctx.req,
    ctx.res,
    { login: { accountId } },
    { mergeWithLastSubmission: false },
  );
  ctx.status = 303;
  ctx.redirect(returnTo);
}

async function readForm(request: IncomingMessage): Promise<URLSearchParams> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_FORM_BYTES) throw new errors.InvalidRequest("the form is too large");
    chunks.push(chunk);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString("utf8"));
}

function renderLogin(ctx: Context, uid: string, clientId: string, failed?: { username: string; error: string }): void {
  const invalid = failed ? ' aria-invalid="true" aria-describedby="error"' : "";
  const body = `<h1>Sign in</h1>
<p>to continue to <strong>${escapeHtml(clientId)}</strong></p>
${failed ? errorParagraph(failed.error) : ""}
<form method="post" action="/interaction/${escapeHtml(uid)}">
  <label for="username">Username</label>
  <input id="username" name="username" autocomplete="username" autocapitalize="none" required autofocus value="${escapeHtml(failed?.username ?? "")}"${invalid}>
  <label for="password">Password</label>
  <input id="password" name="password" type="password" autocomplete="current-password" required${invalid}>
  <button type="submit">Sign in</button>
</form>
<p class="note">Local development sign-in. The accounts and their passwords are in local/idp.users.json.</p>`;
  renderPage(ctx, failed ? 401 : 200, "Sign in", body);
}

function renderFailure(ctx: Context, status: number, message: string): void {
  renderPage(ctx, status, "Sign-in failed", `<h1>Sign-in failed</h1>\n${errorParagraph(message)}`);
}

function errorParagraph(message: string): string {
  return `<p id="error" role="alert">${escapeHtml(message)}</p>`;
}

const STYLE = `body{font:16px/1.5 system-ui,sans-serif;margin:0;background:#f4f5f7;color:#1d2129}
main{max-width:22rem;margin:4rem auto;padding:2rem;background:#fff;border-radius:8px;box-shadow:0 1px 4px #0002}
h1{margin:0 0 .25rem;font-size:1.5rem}form{display:grid;gap:.5rem}label{font-weight:600;margin-top:.5rem}
input{font:inherit;padding:.5rem;border:1px solid #8a8f98;border-radius:4px}
button{font:inherit;margin-top:1rem;padding:.6rem;border:0;border-radius:4px;background:#1f5fbf;color:#fff;cursor:pointer}
#error{padding:.5rem .75rem;border-left:4px solid #b3261e;background:#fdecea;color:#8c1d18}.note{color:#5f6670;font-size:.85rem}`;

function renderPage(ctx: Context, status: number, title: string, body: string): void {
  ctx.status = status;
  ctx.type = "html";
  ctx.set("cache-control", "no-store");
  // No form-action: browsers apply it to the redirects after the POST, which end at the relying party.
  ctx.set("content-security-policy", "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'");
  ctx.body = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)} · Local SSO</title>
<style>${STYLE}</style>
</head>
<body>
<main>
${body}
</main>
</body>
</html>
`;
}

const HTML_ESCAPES: Record<string, string> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (char) => HTML_ESCAPES[char] ?? char);
}

// ---------------------------------------------------------------------------
// HTTP server
// ---------------------------------------------------------------------------

function listen(server: Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
}

function closeServer(server: Server): Promise<void> {
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeAllConnections();
  return closed;
}

// ---------------------------------------------------------------------------
// CLI
// ---------------------------------------------------------------------------

async function main(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      port: { type: "string", default: "8790" },
      host: { type: "string", default: "127.0.0.1" },
      "client-id": { type: "string" },
      "client-secret": { type: "string" },
      "redirect-uri": { type: "string", multiple: true },
      users: { type: "string" },
      "admin-token": { type: "string" },
    },
  });
  const clientId = values["client-id"];
  const clientSecret = values["client-secret"];
  const redirectUris = values["redirect-uri"];
  if (!clientId || !clientSecret || !redirectUris?.length) {
    throw new Error(
      "usage: node local/idp.ts --client-id ID --client-secret SECRET --redirect-uri URI [--redirect-uri URI ...] [--port 8790] [--host 127.0.0.1] [--users FILE]",
    );
  }
  const idp = await startIdp({
    port: Number(values.port),
    host: values.host,
    clients: [{ clientId, clientSecret, redirectUris }],
    usersFile: values.users,
    ...(values["admin-token"] ? { adminToken: values["admin-token"] } : {}),
  });
  console.log(`Local OpenID Provider: ${idp.issuer} (discovery: ${idp.issuer}/.well-known/openid-configuration)`);
  const stop = (): void => {
    idp.close().then(() => process.exit(0));
  };
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
}

if (process.argv[1] === import.meta.filename) {
  main(process.argv.slice(2)).catch((error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
  });
}
