/**
 * The registry page as an OAuth client of the auth Worker: its metadata (discovered, cached per
 * isolate), its client registration (Dynamic Client Registration once, kept in D1 so every
 * isolate shares it), and the code and refresh exchanges. The protocol work is the MCP SDK's.
 *
 * Why D1 and not something stateless: the auth Worker offers no pre-registered clients, and a
 * Client ID Metadata Document needs an https client id the auth Worker fetches from the public
 * internet, which a local fleet on loopback http cannot offer. So the page registers itself once
 * and keeps the result. A registration the auth Worker does not see used for a while expires
 * (90 days; renewed by token requests after half of that), so a client is replaced after
 * CLIENT_REUSE_MS without a token request.
 */
import {
  type AuthorizationServerMetadata,
  discoverAuthorizationServerMetadata,
  exchangeAuthorization,
  type OAuthClientInformationMixed,
  type OAuthTokens,
  refreshAuthorization,
  registerClient,
  startAuthorization,
} from "@modelcontextprotocol/client";
import { and, desc, eq, lt } from "drizzle-orm";
import { type PageClientRow, pageClients } from "../../shared/db/fleet.schema";
import type { RegistryEnv } from "../registry.env";
import { db } from "../registry.store";

/** What the page asks for: enough to know who is looking, nothing more. */
export const PAGE_SCOPE = "registry:read";
export const CALLBACK_PATH = "/auth/callback";

const METADATA_TTL_MS = 10 * 60 * 1000;
const DAY_MS = 24 * 60 * 60 * 1000;
/** A client unused this long may be close to expiring at the auth Worker: register a new one. */
const CLIENT_REUSE_MS = 40 * DAY_MS;
/** Clients unused this long are certainly gone at the auth Worker. */
const CLIENT_FORGET_MS = 90 * DAY_MS;

/** Sign-in cannot work right now (the auth Worker is unreachable or answers nonsense). */
export class SignInUnavailableError extends Error {
  override name = "SignInUnavailableError";
}

export interface PageClient {
  metadata: AuthorizationServerMetadata;
  client: OAuthClientInformationMixed;
}

const metadataCache = new Map<string, { metadata: Promise<AuthorizationServerMetadata>; until: number }>();

/** The auth Worker's RFC 8414 metadata, cached per isolate; a failed lookup is not cached. */
export function authorizationServer(env: RegistryEnv): Promise<AuthorizationServerMetadata> {
  const issuer = env.AUTH_ISSUER;
  const hit = metadataCache.get(issuer);
  if (hit && hit.until > Date.now()) return hit.metadata;
  const metadata = discoverAuthorizationServerMetadata(issuer, { fetchFn: authFetch(env) }).then(
    (found) => {
      if (!found) throw new SignInUnavailableError(`no authorization server metadata at ${issuer}`);
      return found;
    },
    (error: unknown) => {
      throw new SignInUnavailableError(`metadata of ${issuer}: ${messageOf(error)}`);
    },
  );
  metadataCache.set(issuer, { metadata, until: Date.now() + METADATA_TTL_MS });
  metadata.catch(() => metadataCache.delete(issuer));
  return metadata;
}

/**
 * Server-to-server calls to the auth Worker go over its Service Binding: on Cloudflare a Worker's
 * fetch to another Worker's route on the same zone would not reach that Worker.
 */
function authFetch(env: RegistryEnv) {
  return (url: string | URL, init?: RequestInit) => env.AUTH.fetch(new Request(url, init));
}

export function redirectUri(env: RegistryEnv): string {
  return `${env.PUBLIC_URL}${CALLBACK_PATH}`;
}

/** The client to start a sign-in with: the current registration, or a new one. */
export async function currentClient(env: RegistryEnv, now = new Date()): Promise<PageClient> {
  const metadata = await authorizationServer(env);
  const orm = db(env.DB);
  const [row] = await orm
    .select()
    .from(pageClients)
    .where(and(eq(pageClients.issuer, metadata.issuer), eq(pageClients.redirectUri, redirectUri(env))))
    .orderBy(desc(pageClients.registeredAt))
    .limit(1);
  if (row && now.getTime() - row.lastTokenAt.getTime() < CLIENT_REUSE_MS) {
    return { metadata, client: clientInformation(row) };
  }
  return { metadata, client: await register(env, metadata, now) };
}

/** A registration by its id (the one a sign-in began with); undefined once it is forgotten. */
export async function clientById(env: RegistryEnv, clientId: string): Promise<PageClient | undefined> {
  const metadata = await authorizationServer(env);
  const [row] = await db(env.DB).select().from(pageClients).where(eq(pageClients.clientId, clientId)).limit(1);
  return row && row.issuer === metadata.issuer ? { metadata, client: clientInformation(row) } : undefined;
}

/** The auth Worker no longer knows this client: stop using it. */
export async function forgetClient(env: RegistryEnv, clientId: string): Promise<void> {
  await db(env.DB).delete(pageClients).where(eq(pageClients.clientId, clientId));
}

/** The browser URL of the authorization request and the PKCE verifier to keep for the callback. */
export async function authorizationRequest(env: RegistryEnv, { metadata, client }: PageClient, state: string) {
  return startAuthorization(env.AUTH_ISSUER, {
    metadata,
    clientInformation: client,
    redirectUrl: redirectUri(env),
    scope: PAGE_SCOPE,
    state,
    resource: env.PUBLIC_URL,
  });
}

/**
 * Redeems the code. `iss` is the callback's RFC 9207 issuer: the SDK refuses the exchange
 * (IssuerMismatchError) when it is not the issuer the sign-in was sent to, or is missing while
 * the metadata promises it.
 */
export async function exchangeCode(
  env: RegistryEnv,
  { metadata, client }: PageClient,
  code: string,
  codeVerifier: string,
  iss: string | undefined,
): Promise<OAuthTokens> {
  const tokens = await exchangeAuthorization(env.AUTH_ISSUER, {
    metadata,
    clientInformation: client,
    authorizationCode: code,
    ...(iss === undefined ? {} : { iss }),
    codeVerifier,
    redirectUri: redirectUri(env),
    resource: env.PUBLIC_URL,
    fetchFn: authFetch(env),
  });
  await noteTokenRequest(env, client.client_id);
  return tokens;
}

export async function refresh(
  env: RegistryEnv,
  { metadata, client }: PageClient,
  refreshToken: string,
): Promise<OAuthTokens> {
  const tokens = await refreshAuthorization(env.AUTH_ISSUER, {
    metadata,
    clientInformation: client,
    refreshToken,
    resource: env.PUBLIC_URL,
    fetchFn: authFetch(env),
  });
  await noteTokenRequest(env, client.client_id);
  return tokens;
}

/**
 * RFC 7009: revokes the grant behind a refresh token (and so its access tokens), when the auth
 * Worker advertises revocation. Best effort: signing out must not depend on it.
 */
export async function revoke(env: RegistryEnv, { metadata, client }: PageClient, refreshToken: string) {
  const endpoint = "revocation_endpoint" in metadata ? metadata.revocation_endpoint : undefined;
  if (!endpoint) return;
  const headers = new Headers({ "Content-Type": "application/x-www-form-urlencoded" });
  const body = new URLSearchParams({ token: refreshToken, token_type_hint: "refresh_token" });
  if (client.client_secret) {
    headers.set(
      "Authorization",
      `Basic ${btoa(`${formEncode(client.client_id)}:${formEncode(client.client_secret)}`)}`,
    );
  } else {
    body.set("client_id", client.client_id);
  }
  const response = await authFetch(env)(endpoint, { method: "POST", headers, body }).catch(
    (error: unknown) => new Response(messageOf(error), { status: 599 }),
  );
  if (!response.ok) console.warn(JSON.stringify({ page: "revoke-failed", status: response.status }));
}

async function register(
  env: RegistryEnv,
  metadata: AuthorizationServerMetadata,
  now: Date,
): Promise<OAuthClientInformationMixed> {
  let registered: Awaited<ReturnType<typeof registerClient>>;
  try {
    registered = await registerClient(env.AUTH_ISSUER, {
      metadata,
      clientMetadata: {
        client_name: "MCP Fleet registry",
        client_uri: env.PUBLIC_URL,
        redirect_uris: [redirectUri(env)],
        grant_types: ["authorization_code", "refresh_token"],
        response_types: ["code"],
        token_endpoint_auth_method: "client_secret_basic",
        scope: PAGE_SCOPE,
      },
      fetchFn: authFetch(env),
    });
  } catch (error) {
    throw new SignInUnavailableError(`client registration at ${env.AUTH_ISSUER}: ${messageOf(error)}`);
  }
  const orm = db(env.DB);
  await orm.batch([
    orm.insert(pageClients).values({
      clientId: registered.client_id,
      clientSecret: registered.client_secret ?? null,
      issuer: metadata.issuer,
      redirectUri: redirectUri(env),
      registeredAt: now,
      lastTokenAt: now,
    }),
    orm.delete(pageClients).where(lt(pageClients.lastTokenAt, new Date(now.getTime() - CLIENT_FORGET_MS))),
  ]);
  console.log(JSON.stringify({ page: "client-registered", clientId: registered.client_id }));
  return registered;
}

/** Records that the auth Worker has just renewed this client; at most one write a day per client. */
async function noteTokenRequest(env: RegistryEnv, clientId: string, now = new Date()): Promise<void> {
  await db(env.DB)
    .update(pageClients)
    .set({ lastTokenAt: now })
    .where(and(eq(pageClients.clientId, clientId), lt(pageClients.lastTokenAt, new Date(now.getTime() - DAY_MS))));
}

function clientInformation(row: PageClientRow): OAuthClientInformationMixed {
  return { client_id: row.clientId, ...(row.clientSecret ? { client_secret: row.clientSecret } : {}) };
}

function formEncode(value: string): string {
  return encodeURIComponent(value).replace(/%20/g, "+");
}

export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
