/**
 * Access token validation, the one way a token is checked: the library's tokens (users) or this
 * Worker's service tokens, for one resource, and never for a user (by IdP subject or principal)
 * or service an admin has revoked, nor for a user whose identity of record the allowed domains no
 * longer admit (auth.admission.ts).
 * Domain Workers reach it through the `TokenValidator` entrypoint (auth.app.ts), bound to their
 * own resource; the admin API uses it in-process for its own.
 */
import type { ValidatedAccessToken } from "@cloudflare/workers-oauth-provider";
import type { TokenProps } from "../../shared/auth/token.validation";
import { admitsPrincipal } from "./auth.admission";
import type { AuthConfig, AuthEnv } from "./auth.config";
import { isRevoked, revocationKeysOf } from "./auth.revocations";
import { authorizationServer } from "./auth.server";
import { isServiceToken, validateServiceToken } from "./auth.services";

/** The token's props, audience, expiry, scopes, subject and client if valid for `resource`, else `null`. */
export async function validateAccessToken(
  env: AuthEnv,
  config: AuthConfig,
  resource: string,
  token: string,
): Promise<ValidatedAccessToken<TokenProps> | null> {
  if (!config.resources.includes(resource)) throw new TypeError(`${resource} is not a resource of this server`);
  const result = isServiceToken(token)
    ? await validateServiceToken(env.OAUTH_KV, config.services, resource, token)
    : await authorizationServer(config).validateToken<TokenProps>(resource, token, env);
  if (!result) return null;
  // A domain removed from OIDC_ALLOWED_DOMAINS admits none of its users' tokens, at once.
  if (result.props.kind === "user" && !admitsPrincipal(config.sso.admission, result.props.principal)) return null;
  return (await isRevoked(env.OAUTH_KV, revocationKeysOf(result.props, config.sso.issuer))) ? null : result;
}

/** `user:<principal>` or `service:<name>`: the caller's id (as `Caller.id`). */
export function callerIdOf(props: TokenProps): string {
  return props.kind === "service" ? `service:${props.name}` : `user:${props.principal ?? props.sub}`;
}
