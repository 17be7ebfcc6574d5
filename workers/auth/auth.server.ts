/**
 * The OAuth authorization server (the library's role object) for the configured issuer, and the
 * metadata it publishes: RFC 8414 at `/.well-known/oauth-authorization-server`, the same document
 * at `/.well-known/openid-configuration` for clients that only look there, both naming the
 * client credentials grant this Worker adds in front of the library's token endpoint.
 */
import { OAuthAuthorizationServer } from "@cloudflare/workers-oauth-provider";
import type { AuthConfig, AuthEnv } from "./auth.config";
import { identityRefresh } from "./auth.refresh";

export const TOKEN_PATH = "/oauth/token";
export const REGISTRATION_PATH = "/oauth/register";
export const METADATA_PATHS = ["/.well-known/oauth-authorization-server", "/.well-known/openid-configuration"];
export const ACCESS_TOKEN_TTL_SECONDS = 300;

const servers = new WeakMap<AuthConfig, OAuthAuthorizationServer<AuthEnv>>();

export function authorizationServer(config: AuthConfig): OAuthAuthorizationServer<AuthEnv> {
  let server = servers.get(config);
  if (!server) {
    server = new OAuthAuthorizationServer<AuthEnv>({
      issuer: config.issuer,
      resources: config.resources,
      scopesSupported: config.scopes,
      tokenEndpoint: TOKEN_PATH,
      clientRegistrationEndpoint: REGISTRATION_PATH,
      // Advertised and used only where the runtime has global_fetch_strictly_public (SSRF safety).
      clientIdMetadataDocumentEnabled: true,
      // Native clients' own schemes (cursor://, vscode://); https and loopback http are always allowed.
      allowPrivateUseRedirectUris: true,
      accessTokenTTL: ACCESS_TOKEN_TTL_SECONDS,
      // Explicit lifetimes (the library would keep a grant 30 days): a new grant lives the idle
      // lifetime, each refresh extends it by that much, and the callback caps it at the
      // absolute lifetime after the sign-in. Each refresh reads the user again at the IdP.
      refreshTokenTTL: config.refresh.idleSeconds,
      refreshTokenIdleTTL: config.refresh.idleSeconds,
      tokenExchangeCallback: identityRefresh(config),
    });
    servers.set(config, server);
  }
  return server;
}

/** Either metadata URL: the library's document (and CORS), plus `client_credentials`. */
export async function serveMetadata(
  request: Request,
  env: AuthEnv,
  ctx: ExecutionContext,
  config: AuthConfig,
): Promise<Response> {
  const url = new URL(request.url);
  url.pathname = METADATA_PATHS[0] as string;
  const response = await authorizationServer(config).fetch(new Request(url, request), env, ctx);
  if (request.method !== "GET" || !response.ok) return response;
  const metadata = await response.json<{ grant_types_supported?: string[] }>();
  const headers = new Headers(response.headers);
  headers.delete("Content-Length");
  const grantTypes = [...(metadata.grant_types_supported ?? []), "client_credentials"];
  return new Response(JSON.stringify({ ...metadata, grant_types_supported: grantTypes }), { headers });
}
