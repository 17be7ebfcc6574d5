/**
 * Identity that follows the IdP. A user's grant keeps, encrypted by the library, what the access
 * tokens carry plus the IdP's refresh token and the time of the sign-in. At every refresh of the
 * fleet's grant (the library's `tokenExchangeCallback`) the user is read again at the IdP
 * (auth.sso.ts `refreshSignIn`), so a user removed from a group, or disabled, loses it within one
 * access-token lifetime (5 minutes):
 *
 * - the IdP refuses (refresh token revoked, user disabled or gone), names another subject or
 *   issuer, the user was revoked by an admin (by IdP subject, or by the email they had or now
 *   have), the admission rules no longer admit them (auth.admission.ts: their email left the
 *   allowed domains, a required claim changed), or the absolute lifetime is over →
 *   `invalid_grant`: the library revokes the grant with all its tokens; the client signs in again;
 * - the IdP cannot be reached or answers nonsense → `temporarily_unavailable` (503): no token is
 *   issued from stale groups, the grant stays, and the client retries or signs in again later.
 *
 * A new email at the same IdP subject is the same person: the grant carries on with the new
 * identity of record (after checking that it is not revoked).
 *
 * Lifetimes: a grant lives `REFRESH_IDLE_SECONDS` after its last use (sign-in or refresh) and at
 * most `REFRESH_ABSOLUTE_SECONDS` after the sign-in, however often it is refreshed. The IdP's
 * refresh token never leaves the grant: access tokens (and so the domain Workers) get only the
 * public props.
 */
import {
  GrantType,
  OAuthError,
  type TokenExchangeCallbackOptions,
  type TokenExchangeCallbackResult,
} from "@cloudflare/workers-oauth-provider";
import type { TokenProps } from "../../shared/auth/token.validation";
import { admitsPrincipal } from "./auth.admission";
import type { AuthConfig, AuthEnv } from "./auth.config";
import { isRevoked, revocationKeysOf } from "./auth.revocations";
import { recordSighting } from "./auth.sightings";
import { IdpRefusal, NotAdmitted, refreshSignIn, type SignIn, SignInError } from "./auth.sso";

export type UserTokenProps = Extract<TokenProps, { kind: "user" }>;

/** A user's grant props: the access token's, and what only the auth Worker may see. */
export interface UserGrantProps extends UserTokenProps {
  iss: string;
  principal: string;
  groups: string[];
  /** Seconds since the Unix epoch: the sign-in at the IdP, where the absolute lifetime starts. */
  signedInAt: number;
  /** The IdP's refresh token. */
  idpRefreshToken?: string;
}

/** The library's floor for any grant lifetime (KV's minimum expiration). */
const MIN_LIFETIME_SECONDS = 60;
const RETRY_AFTER_SECONDS = "30";

export function grantPropsOf(signIn: SignIn, now = nowSeconds()): UserGrantProps {
  return {
    kind: "user",
    ...signIn.user,
    signedInAt: now,
    ...(signIn.refreshToken ? { idpRefreshToken: signIn.refreshToken } : {}),
  };
}

/** What an access token carries: the grant's props without the IdP's token and the bookkeeping. */
export function accessTokenPropsOf(props: UserGrantProps): UserTokenProps {
  const { idpRefreshToken: _secret, signedInAt: _at, ...visible } = props;
  return visible;
}

/** The library's `tokenExchangeCallback` for this configuration. */
export function identityRefresh(config: AuthConfig) {
  return async (options: TokenExchangeCallbackOptions<AuthEnv>): Promise<TokenExchangeCallbackResult | undefined> => {
    const props = options.props as UserGrantProps | undefined;
    if (props?.kind !== "user") throw refusal(options, "the grant holds no user");
    if (options.grantType === GrantType.AUTHORIZATION_CODE) {
      // A door like the others: a revocation (or a domain removed) between the sign-in and the
      // code exchange issues nothing, and the grant ends.
      await refuseIfShutOut(config, options, props);
      if (!props.idpRefreshToken) {
        // Without it the user cannot be read again: no refresh token, a new sign-in after 5 minutes.
        console.warn(JSON.stringify({ audit: "no-idp-refresh-token", principal: props.principal }));
      }
      return {
        accessTokenProps: accessTokenPropsOf(props),
        refreshTokenTTL: props.idpRefreshToken ? Math.min(config.refresh.idleSeconds, remaining(config, props)) : 0,
      };
    }
    if (options.grantType !== GrantType.REFRESH_TOKEN) throw refusal(options, "only code and refresh grants");
    return refresh(config, options, props);
  };
}

async function refresh(
  config: AuthConfig,
  options: TokenExchangeCallbackOptions<AuthEnv>,
  props: UserGrantProps,
): Promise<TokenExchangeCallbackResult> {
  const left = remaining(config, props);
  if (left < MIN_LIFETIME_SECONDS) throw refusal(options, "the sign-in has reached its absolute lifetime");
  if (!props.idpRefreshToken) throw refusal(options, "the grant holds no IdP refresh token");
  await refuseIfShutOut(config, options, props);
  let signIn: SignIn;
  try {
    signIn = await refreshSignIn(config.sso, props.idpRefreshToken, props);
  } catch (error) {
    if (error instanceof NotAdmitted)
      throw refusal(options, `this account may not use the fleet: ${error.reason}`, error.message);
    if (error instanceof IdpRefusal) throw refusal(options, "the company sign-in no longer accepts it", error.message);
    if (!(error instanceof SignInError)) throw error;
    console.error(
      JSON.stringify({ audit: "refresh-idp-unavailable", principal: props.principal, reason: error.message }),
    );
    throw new OAuthError("temporarily_unavailable", {
      description:
        "The company sign-in (IdP) cannot be reached to confirm your groups, so no new token was issued. Try again shortly, or sign in again.",
      statusCode: 503,
      headers: { "Retry-After": RETRY_AFTER_SECONDS },
    });
  }
  // Who the user is, is the IdP subject (refreshSignIn refuses another sub): only another IdP is another person.
  if (signIn.user.iss !== props.iss) {
    throw refusal(options, "your identity at the company sign-in changed", `now ${signIn.user.iss}`);
  }
  if (signIn.user.principal !== props.principal) {
    // The same person with a new (or newly unverified) email: the new identity of record, if not revoked.
    if (await isRevoked(options.env.OAUTH_KV, [`user:${signIn.user.principal}`])) {
      throw refusal(options, "the user's access was revoked by an admin", `as ${signIn.user.principal}`);
    }
    console.log(
      JSON.stringify({ audit: "principal-changed", from: props.principal, to: signIn.user.principal, sub: props.sub }),
    );
  }
  if (signIn.user.principal !== props.principal || signIn.user.email?.toLowerCase() !== props.email?.toLowerCase()) {
    await recordSighting(options.env.OAUTH_KV, signIn.user); // an admin naming the new email reaches this subject
  }
  const next: UserGrantProps = {
    ...grantPropsOf(signIn),
    signedInAt: props.signedInAt,
    idpRefreshToken: signIn.refreshToken ?? props.idpRefreshToken,
  };
  if (!sameGroups(next.groups, props.groups)) {
    console.log(
      JSON.stringify({ audit: "groups-changed", principal: props.principal, from: props.groups, to: next.groups }),
    );
  }
  return {
    newProps: next,
    accessTokenProps: accessTokenPropsOf(next),
    refreshTokenIdleTTL: Math.min(config.refresh.idleSeconds, left),
  };
}

/** `invalid_grant` when an admin revoked the user (by subject or principal) or the domains no longer admit them. */
async function refuseIfShutOut(
  config: AuthConfig,
  options: TokenExchangeCallbackOptions<AuthEnv>,
  props: UserGrantProps,
): Promise<void> {
  if (await isRevoked(options.env.OAUTH_KV, revocationKeysOf(props, config.sso.issuer))) {
    throw refusal(options, "the user's access was revoked by an admin");
  }
  if (!admitsPrincipal(config.sso.admission, props.principal)) {
    throw refusal(options, "this account may not use the fleet: its email is not at one of the company's domains");
  }
}

/** Seconds until the grant's absolute lifetime ends. */
function remaining(config: AuthConfig, props: UserGrantProps): number {
  const signedInAt = typeof props.signedInAt === "number" ? props.signedInAt : 0;
  return signedInAt + config.refresh.absoluteSeconds - nowSeconds();
}

/** `invalid_grant`: the library revokes the grant and its tokens; the client must sign in again. */
function refusal(options: TokenExchangeCallbackOptions<AuthEnv>, reason: string, detail?: string): OAuthError {
  const principal = (options.props as Partial<UserGrantProps> | undefined)?.principal;
  console.warn(JSON.stringify({ audit: "refresh-refused", principal, grant: options.grantId, reason, detail }));
  return new OAuthError("invalid_grant", {
    description: `Sign in again: ${reason}.`,
    internal: { category: "token-exchange-callback", reason: "identity_refresh_refused", detail: detail ?? reason },
  });
}

function sameGroups(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((group) => b.includes(group));
}

function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}
