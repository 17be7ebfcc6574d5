/**
 * The fleet's OAuth authorization server (Worker `mcp-fleet-auth`). Domain servers are separate
 * Workers that reach it over a Service Binding to its `TokenValidator` entrypoint, which validates
 * tokens for that server's own resource and does nothing else; the default entrypoint serves HTTP
 * only. Only this Worker holds the token records and the keys to their props.
 *
 * Routes: the library serves DCR (`/oauth/register`), the token and revocation endpoint
 * (`/oauth/token`) and its metadata; this Worker adds the consent page and IdP sign-in
 * (`/authorize`, `/sso/callback`), the client credentials grant for service identities, the
 * metadata under the OpenID discovery name too, and the admin API (`/admin`, auth.admin.ts).
 */

import { WorkerEntrypoint } from "cloudflare:workers";
import type { ValidatedAccessToken } from "@cloudflare/workers-oauth-provider";
import type { TokenProps } from "../../shared/auth/token.validation";
import { adminApi, isAdminPath } from "./auth.admin";
import { decideConsent, finishSignIn, showConsent } from "./auth.authorize";
import { type AuthConfig, type AuthEnv, readConfig, SSO_CALLBACK_PATH } from "./auth.config";
import { messagePage, pageHeaders } from "./auth.consent";
import { authorizationServer, METADATA_PATHS, serveMetadata, TOKEN_PATH } from "./auth.server";
import { clientCredentialsGrant } from "./auth.services";
import { validateAccessToken } from "./auth.validation";

const FORM = "application/x-www-form-urlencoded";

/**
 * HTTP only. Every method of an entrypoint class is callable over RPC by any Worker bound to it,
 * so this class has `fetch` and nothing else: routing lives in module functions.
 */
export default class AuthWorker extends WorkerEntrypoint<AuthEnv> {
  override fetch(request: Request): Promise<Response> {
    return serve(request, this.env, this.ctx);
  }
}

/** The public HTTP surface, the same whether it arrives from the internet or over a binding. */
async function serve(request: Request, env: AuthEnv, ctx: ExecutionContext): Promise<Response> {
  try {
    return await route(request, env, ctx, readConfig(env));
  } catch (error) {
    const reference = crypto.randomUUID();
    console.error(JSON.stringify({ audit: "auth-error", reference }), error);
    const body = await messagePage("Something went wrong", "The request could not be completed.", reference);
    return new Response(body, { status: 500, headers: pageHeaders() });
  }
}

function route(request: Request, env: AuthEnv, ctx: ExecutionContext, config: AuthConfig): Promise<Response> {
  const { pathname } = new URL(request.url);
  const { method } = request;
  if (pathname === "/health" && method === "GET") return Promise.resolve(Response.json({ status: "ok" }));
  if (METADATA_PATHS.includes(pathname) && ["GET", "HEAD", "OPTIONS"].includes(method)) {
    return serveMetadata(request, env, ctx, config);
  }
  if (pathname === "/authorize" && method === "GET") return showConsent(request, env, config);
  if (pathname === "/authorize" && method === "POST") return decideConsent(request, env, config);
  if (pathname === SSO_CALLBACK_PATH && method === "GET") return finishSignIn(request, env, config);
  if (pathname === TOKEN_PATH && method === "POST") return token(request, env, ctx, config);
  if (isAdminPath(pathname)) return adminApi(config).fetch(request, env, ctx);
  return authorizationServer(config).fetch(request, env, ctx);
}

/** The token endpoint: the client credentials grant is ours, every other request the library's. */
async function token(request: Request, env: AuthEnv, ctx: ExecutionContext, config: AuthConfig): Promise<Response> {
  const isForm = request.headers.get("Content-Type")?.split(";")[0]?.trim().toLowerCase() === FORM;
  if (!isForm) return authorizationServer(config).fetch(request, env, ctx);
  const body = await request.arrayBuffer();
  const form = new URLSearchParams(new TextDecoder().decode(body));
  if (form.get("grant_type") === "client_credentials") {
    return clientCredentialsGrant(request, form, {
      services: config.services,
      resources: [...config.servers.values()],
      kv: env.OAUTH_KV,
    });
  }
  return authorizationServer(config).fetch(new Request(request, { body }), env, ctx);
}

/** What a domain Worker's `AUTH` binding names: `entrypoint = "TokenValidator"`, `props = { server = "<name>" }`. */
export interface TokenValidatorProps {
  /** A server named in RESOURCES: the one resource this binding validates tokens for. */
  server?: string;
}

/**
 * Token validation for one domain server, and otherwise only what the internet has. The server
 * comes from the binding's `props`, which the Worker's deployment fixes, not its code: a domain
 * Worker cannot validate another server's tokens, revoke anything, or reach the admin API
 * without an admin's token through it.
 */
export class TokenValidator extends WorkerEntrypoint<AuthEnv, TokenValidatorProps> {
  /** The public HTTP surface (the registry page is an OAuth client of it), nothing more. */
  override fetch(request: Request): Promise<Response> {
    return serve(request, this.env, this.ctx);
  }

  /**
   * What a resource server's `OAuthResourceServer` asks: the token's props, audience, expiry,
   * scopes, subject and client if it is valid for this binding's resource, else `null`. Throws
   * (the resource server answers 503) for any other `resource`, or a binding without a server.
   */
  async validateToken(resource: string, token: string): Promise<ValidatedAccessToken<TokenProps> | null> {
    const config = readConfig(this.env);
    const server = this.ctx.props?.server;
    const own = server === undefined ? undefined : config.servers.get(server);
    if (own === undefined) {
      throw new TypeError(`this binding names no server of RESOURCES (props.server: ${server ?? "missing"})`);
    }
    if (resource !== own) throw new TypeError(`this binding validates tokens for ${server} (${own}) only`);
    return validateAccessToken(this.env, config, own, token);
  }
}
