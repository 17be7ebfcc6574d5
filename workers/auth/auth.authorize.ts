/**
 * The interactive authorization: `/authorize` shows the consent page (GET) and takes the decision
 * (POST); on Allow the browser goes to the company IdP, and `/sso/callback` finishes there and
 * issues the authorization code. The library keeps the request server-side between the steps,
 * binds each step to the browser with its cookies and makes every handle single-use.
 */
import {
  AuthorizationError,
  type AuthorizationErrorCode,
  type AuthRequest,
  authorizationErrorRedirect,
  CimdFetchError,
  type OAuthHelpers,
  type ResumedUpstream,
} from "@cloudflare/workers-oauth-provider";
import { grantUserId } from "./auth.admin";
import { ADMIN_SCOPE, type AuthConfig, type AuthEnv } from "./auth.config";
import { consentPage, messagePage, pageHeaders } from "./auth.consent";
import { grantPropsOf } from "./auth.refresh";
import { isRevoked, userSubject } from "./auth.revocations";
import { authorizationServer } from "./auth.server";
import { recordSighting } from "./auth.sightings";
import {
  authorizationUrl,
  completeSignIn,
  discover,
  NotAdmitted,
  newPendingSignIn,
  type PendingSignIn,
  type ProviderMetadata,
  type SignIn,
  SignInError,
} from "./auth.sso";

/** GET /authorize: validate the client's request, then ask (or go straight on if remembered). */
export async function showConsent(request: Request, env: AuthEnv, config: AuthConfig): Promise<Response> {
  const oauth = authorizationServer(config).getOAuthApi(env);
  try {
    const authRequest = await oauth.parseAuthRequest(request);
    const { resource } = authRequest;
    if (!resource) throw new Error("parseAuthRequest() always selects a resource");
    if (config.consentSecret) {
      const remembered = await oauth.isConsentRemembered(request, authRequest, { secret: config.consentSecret });
      if (remembered) return await redirectToIdp(oauth, config, await discover(config.sso.issuer), authRequest);
    }
    const details = await oauth.describeConsent(authRequest); // before beginConsent: a failed lookup stores nothing
    const consent = await oauth.beginConsent(authRequest);
    const page = await consentPage({
      handle: consent.handle,
      clientName: details.clientName,
      ...(details.clientDomain ? { clientDomain: details.clientDomain } : {}),
      redirectHost: details.redirectHost,
      redirectIsLoopback: details.redirectIsLoopback,
      resource,
      scopes: grantableScopes(authRequest.scope, resource, config),
      unavailableScopes: authRequest.scope.filter((scope) => !offeredScopes(resource, config).includes(scope)),
      canRemember: config.consentSecret !== undefined,
    });
    return new Response(page, { headers: pageHeaders(consent.headers) });
  } catch (error) {
    return authorizationFailure(error);
  }
}

/** POST /authorize: the consent form. Allow sends the browser to the IdP; Deny back to the client. */
export async function decideConsent(request: Request, env: AuthEnv, config: AuthConfig): Promise<Response> {
  const oauth = authorizationServer(config).getOAuthApi(env);
  try {
    const form = await request.formData().catch(() => undefined);
    if (!form) return page(400, "Invalid request", "The consent form was not submitted properly. Start again.");
    const handle = String(form.get("handle") ?? "");
    if (form.get("decision") !== "approve") {
      const denied = await oauth.denyConsent(request, handle);
      return new Response(null, { status: 302, headers: denied.headers });
    }
    const idp = await discover(config.sso.issuer); // before the handle is used up, so a retry can work
    const remember =
      config.consentSecret && form.get("remember") === "on" ? { secret: config.consentSecret } : undefined;
    const approved = await oauth.approveConsent(request, handle, remember ? { remember } : {});
    return await redirectToIdp(oauth, config, idp, approved.request, approved.headers);
  } catch (error) {
    return authorizationFailure(error);
  }
}

/** GET /sso/callback: the IdP sent the browser back. Finish the sign-in and issue our code. */
export async function finishSignIn(request: Request, env: AuthEnv, config: AuthConfig): Promise<Response> {
  const oauth = authorizationServer(config).getOAuthApi(env);
  let upstream: ResumedUpstream<PendingSignIn>;
  try {
    upstream = await oauth.finishUpstream<PendingSignIn>(request);
  } catch (error) {
    return authorizationFailure(error);
  }
  const { request: original, data: pending, headers } = upstream;
  const callback = new URL(request.url);
  const idpError = callback.searchParams.get("error");
  if (idpError !== null) {
    console.warn(JSON.stringify({ audit: "idp-refused", error: idpError.slice(0, 64) }));
    headers.set("Location", authorizationErrorRedirect(original, clientErrorFor(idpError)));
    return new Response(null, { status: 302, headers });
  }

  let signIn: SignIn;
  try {
    signIn = await completeSignIn(config.sso, callback, pending);
  } catch (error) {
    if (error instanceof NotAdmitted) {
      // Nothing is issued or recorded: the client hears why, in words that name no setting.
      console.warn(JSON.stringify({ audit: "sign-in-refused", reason: "not-admitted", detail: error.message }));
      const description = `This account may not use the fleet: ${error.reason}. Sign in with your company account`;
      headers.set("Location", authorizationErrorRedirect(original, "access_denied", description));
      return new Response(null, { status: 302, headers });
    }
    if (!(error instanceof SignInError)) throw error;
    const reference = crypto.randomUUID();
    console.error(JSON.stringify({ audit: "sign-in-failed", reference, reason: error.message }));
    const body = await messagePage(
      "Sign-in failed",
      "The company sign-in could not be completed. Go back to the app and try again; if it keeps failing, contact support with the reference below.",
      reference,
    );
    return new Response(body, { status: 502, headers: pageHeaders(headers) });
  }

  const { principal, iss, sub } = signIn.user;
  const subject = userSubject(iss, sub);
  if (await isRevoked(env.OAUTH_KV, [`user:${principal}`, subject])) {
    console.warn(JSON.stringify({ audit: "sign-in-refused", principal, subject, reason: "revoked" }));
    const description = "An administrator has revoked this user's access to the fleet";
    headers.set("Location", authorizationErrorRedirect(original, "access_denied", description));
    return new Response(null, { status: 302, headers });
  }
  // So that an admin who names this user by email reaches this subject, whatever the email becomes.
  await recordSighting(env.OAUTH_KV, signIn.user);
  const resource = original.resource ?? "";
  try {
    const { redirectTo } = await oauth.completeAuthorization({
      request: original,
      // The grant belongs to the IdP subject, which an email change does not move.
      userId: grantUserId(subject),
      metadata: {},
      scope: grantableScopes(original.scope, resource, config),
      props: grantPropsOf(signIn),
    });
    headers.set("Location", redirectTo);
    return new Response(null, { status: 302, headers });
  } catch (error) {
    return authorizationFailure(error);
  }
}

/** What the user is asked to grant: the requested scopes this server offers for the resource. */
function grantableScopes(requested: readonly string[], resource: string, config: AuthConfig): string[] {
  const offered = offeredScopes(resource, config);
  return requested.filter((scope) => offered.includes(scope));
}

/** `fleet:admin` for the admin API, and only for it; the domain scopes for everything else. */
function offeredScopes(resource: string, config: AuthConfig): string[] {
  if (resource === config.adminResource) return [ADMIN_SCOPE];
  return config.scopes.filter((scope) => scope !== ADMIN_SCOPE);
}

async function redirectToIdp(
  oauth: OAuthHelpers,
  config: AuthConfig,
  idp: ProviderMetadata,
  authRequest: AuthRequest,
  headers = new Headers(),
): Promise<Response> {
  const pending = newPendingSignIn();
  const { state, headers: out } = await oauth.beginUpstream(authRequest, { data: pending, headers });
  out.set("Location", await authorizationUrl(config.sso, idp, state, pending));
  return new Response(null, { status: 302, headers: out });
}

function clientErrorFor(idpError: string): AuthorizationErrorCode {
  if (idpError === "access_denied" || idpError === "temporarily_unavailable") return idpError;
  return "server_error";
}

/** The library's validation failures: redirect to the client only when the library says it is safe. */
async function authorizationFailure(error: unknown): Promise<Response> {
  if (error instanceof AuthorizationError) {
    if (error.redirectTo) return Response.redirect(error.redirectTo, 302);
    return page(400, "This sign-in cannot continue", error.description);
  }
  if (error instanceof CimdFetchError) {
    console.warn(JSON.stringify({ audit: "cimd-failed", url: error.metadataUrl, detail: error.detail }));
    return page(400, "This app could not be verified", "Its metadata document could not be loaded.");
  }
  if (error instanceof SignInError) {
    console.error(JSON.stringify({ audit: "idp-unavailable", reason: error.message }));
    return page(503, "Sign-in unavailable", "The company sign-in is not reachable right now. Try again shortly.");
  }
  throw error;
}

async function page(status: number, title: string, message: string): Promise<Response> {
  return new Response(await messagePage(title, message), { status, headers: pageHeaders() });
}
