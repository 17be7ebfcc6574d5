/**
 * The fleet's OAuth authorization server (Worker `mcp-fleet-auth`). Domain servers are separate
 * Workers that reach it over a Service Binding: `validateToken` is the only way a token is
 * checked, since only this Worker holds the token records and the keys to their props.
 *
 * Routes: the library serves DCR (`/oauth/register`), the token and revocation endpoint
 * (`/oauth/token`) and its metadata; this Worker adds the consent page and IdP sign-in
 * (`/authorize`, `/sso/callback`), the client credentials grant for service identities, and the
 * metadata under the OpenID discovery name too.
 */

import { WorkerEntrypoint } from "cloudflare:workers";
import type { ValidatedAccessToken } from "@cloudflare/workers-oauth-provider";
import type { TokenProps } from "../../shared/auth/token.validation";
import { decideConsent, finishSignIn, showConsent } from "./auth.authorize";
import { type AuthConfig, type AuthEnv, readConfig, SSO_CALLBACK_PATH } from "./auth.config";
import { messagePage, pageHeaders } from "./auth.consent";
import { authorizationServer, METADATA_PATHS, serveMetadata, TOKEN_PATH } from "./auth.server";
import { clientCredentialsGrant, isServiceToken, validateServiceToken } from "./auth.services";

const FORM = "application/x-www-form-urlencoded";

export default class AuthWorker extends WorkerEntrypoint<AuthEnv> {
  override async fetch(request: Request): Promise<Response> {
    try {
      return await this.route(request, readConfig(this.env));
    } catch (error) {
      const reference = crypto.randomUUID();
      console.error(JSON.stringify({ audit: "auth-error", reference }), error);
      const body = await messagePage("Something went wrong", "The request could not be completed.", reference);
      return new Response(body, { status: 500, headers: pageHeaders() });
    }
  }

  /**
   * What a resource server's `OAuthResourceServer` asks over the Service Binding: the token's
   * props, audience, expiry, scopes, subject and client if it is valid for `resource`, else
   * `null`. Throws for a resource this server does not serve (the resource server answers 503).
   */
  async validateToken(resource: string, token: string): Promise<ValidatedAccessToken<TokenProps> | null> {
    const config = readConfig(this.env);
    if (!isServiceToken(token)) {
      return authorizationServer(config).validateToken<TokenProps>(resource, token, this.env);
    }
    if (!config.resources.includes(resource)) throw new TypeError(`${resource} is not a resource of this server`);
    return validateServiceToken(this.env.OAUTH_KV, config.services, resource, token);
  }

  /**
   * Revokes every grant (with its refresh and access tokens) of a user, by the `userId` that
   * `validateToken` reports. Returns how many grants were revoked.
   */
  async revokeUserGrants(userId: string): Promise<number> {
    const oauth = authorizationServer(readConfig(this.env)).getOAuthApi(this.env);
    const grantIds: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await oauth.listUserGrants(userId, cursor ? { cursor } : {});
      grantIds.push(...page.items.map((grant) => grant.id));
      cursor = page.cursor;
    } while (cursor);
    for (const grantId of grantIds) await oauth.revokeGrant(grantId, userId);
    return grantIds.length;
  }

  private route(request: Request, config: AuthConfig): Promise<Response> {
    const { pathname } = new URL(request.url);
    const { method } = request;
    if (pathname === "/health" && method === "GET") return Promise.resolve(Response.json({ status: "ok" }));
    if (METADATA_PATHS.includes(pathname) && ["GET", "HEAD", "OPTIONS"].includes(method)) {
      return serveMetadata(request, this.env, this.ctx, config);
    }
    if (pathname === "/authorize" && method === "GET") return showConsent(request, this.env, config);
    if (pathname === "/authorize" && method === "POST") return decideConsent(request, this.env, config);
    if (pathname === SSO_CALLBACK_PATH && method === "GET") return finishSignIn(request, this.env, config);
    if (pathname === TOKEN_PATH && method === "POST") return this.token(request, config);
    return authorizationServer(config).fetch(request, this.env, this.ctx);
  }

  /** The token endpoint: the client credentials grant is ours, every other request the library's. */
  private async token(request: Request, config: AuthConfig): Promise<Response> {
    const isForm = request.headers.get("Content-Type")?.split(";")[0]?.trim().toLowerCase() === FORM;
    if (!isForm) return authorizationServer(config).fetch(request, this.env, this.ctx);
    const body = await request.arrayBuffer();
    const form = new URLSearchParams(new TextDecoder().decode(body));
    if (form.get("grant_type") === "client_credentials") {
      return clientCredentialsGrant(request, form, {
        services: config.services,
        resources: config.resources,
        kv: this.env.OAUTH_KV,
      });
    }
    return authorizationServer(config).fetch(new Request(request, { body }), this.env, this.ctx);
  }
}
