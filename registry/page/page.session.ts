/**
 * Who is looking at the page: the signed-in user's tokens live in one HttpOnly, SameSite=Lax
 * cookie (Secure, with the __Host- prefix, unless the page is served over loopback http). Every
 * page view validates the access token with the auth Worker; an expired one is refreshed once.
 */

import { OAuthError, OAuthErrorCode, type OAuthTokens } from "@modelcontextprotocol/client";
import type { Context } from "hono";
import { deleteCookie, getCookie, setCookie } from "hono/cookie";
import { z } from "zod";
import type { Caller } from "../../shared/auth/caller";
import { callerFrom } from "../../shared/auth/token.validation";
import type { RegistryEnv } from "../registry.env";
import { clientById, forgetClient, messageOf, refresh } from "./page.oauth";

const SESSION_COOKIE = "fleet_session";
/** The sign-in in progress: state, PKCE verifier, client and where to return. */
const SIGN_IN_COOKIE = "fleet_signin";
/** The cookie outlives access tokens (minutes); the grant behind the refresh token decides how long. */
const SESSION_MAX_AGE_S = 30 * 24 * 60 * 60;
const SIGN_IN_MAX_AGE_S = 10 * 60;
/** Refresh a little before the access token expires rather than after. */
const EXPIRY_MARGIN_S = 10;

export interface Viewer {
  caller: Caller;
  /** What to call them on the page. */
  displayName: string;
}

export interface PageVariables {
  /** The signed-in user, if any. */
  viewer?: Viewer;
  /** Why the page shows no signed-in user although a session cookie came (for a notice). */
  sessionProblem?: string;
}

export type PageContext = Context<{ Bindings: RegistryEnv; Variables: PageVariables }>;

const Session = z.object({
  /** Access token. */
  a: z.string().min(1),
  /** Refresh token. */
  r: z.string().optional(),
  /** Access token expiry, epoch seconds. */
  e: z.number(),
  /** The client the tokens were issued to. */
  c: z.string().min(1),
});
type Session = z.infer<typeof Session>;

const SignIn = z.object({
  state: z.string().min(16),
  verifier: z.string().min(43),
  clientId: z.string().min(1),
  returnTo: z.string(),
});
export type SignIn = z.infer<typeof SignIn>;

/** Cookies are Secure (and __Host-) except on plain-http loopback, where browsers would drop them. */
function isSecure(env: RegistryEnv): boolean {
  return new URL(env.PUBLIC_URL).protocol === "https:";
}

function cookieOptions(env: RegistryEnv, maxAge: number) {
  const secure = isSecure(env);
  return {
    httpOnly: true,
    sameSite: "Lax" as const,
    secure,
    path: "/",
    maxAge,
    ...(secure ? { prefix: "host" as const } : {}),
  };
}

function readCookie<T>(c: PageContext, name: string, schema: z.ZodType<T>): T | undefined {
  const raw = isSecure(c.env) ? getCookie(c, name, "host") : getCookie(c, name);
  if (!raw) return undefined;
  try {
    const parsed = schema.safeParse(JSON.parse(fromBase64Url(raw)));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

function writeCookie(c: PageContext, name: string, value: unknown, maxAge: number): void {
  setCookie(c, name, toBase64Url(JSON.stringify(value)), cookieOptions(c.env, maxAge));
}

function clearCookie(c: PageContext, name: string): void {
  const { path, secure } = cookieOptions(c.env, 0);
  deleteCookie(c, name, { path, secure, ...(secure ? { prefix: "host" as const } : {}) });
}

export function saveSession(c: PageContext, tokens: OAuthTokens, clientId: string, now = Date.now()): void {
  const session: Session = {
    a: tokens.access_token,
    ...(tokens.refresh_token ? { r: tokens.refresh_token } : {}),
    e: Math.floor(now / 1000) + (tokens.expires_in ?? 0),
    c: clientId,
  };
  writeCookie(c, SESSION_COOKIE, session, SESSION_MAX_AGE_S);
}

/** Takes the session out of the browser; returns what it held (for revocation). */
export function endSession(c: PageContext): { refreshToken?: string; clientId: string } | undefined {
  const session = readCookie(c, SESSION_COOKIE, Session);
  clearCookie(c, SESSION_COOKIE);
  return session && { ...(session.r ? { refreshToken: session.r } : {}), clientId: session.c };
}

export function saveSignIn(c: PageContext, signIn: SignIn): void {
  writeCookie(c, SIGN_IN_COOKIE, signIn, SIGN_IN_MAX_AGE_S);
}

/** The sign-in this browser began (single use: the cookie is cleared). */
export function takeSignIn(c: PageContext): SignIn | undefined {
  const signIn = readCookie(c, SIGN_IN_COOKIE, SignIn);
  clearCookie(c, SIGN_IN_COOKIE);
  return signIn;
}

/**
 * The signed-in user for this request, or undefined. Validates the access token with the auth
 * Worker (refreshing it when it has expired); a session that cannot be renewed is ended. When
 * the auth Worker cannot be asked, the page is shown signed out with a notice, and the cookie is
 * kept for the next view.
 */
export async function resolveViewer(c: PageContext): Promise<void> {
  const session = readCookie(c, SESSION_COOKIE, Session);
  if (!session) return;
  const env = c.env;
  try {
    let current = session;
    let validation = current.e - EXPIRY_MARGIN_S > Date.now() / 1000 ? await validate(env, current.a) : null;
    if (!validation && current.r) {
      const renewed = await renew(c, current);
      if (renewed) {
        current = renewed;
        validation = await validate(env, current.a);
      }
    }
    if (!validation) {
      clearCookie(c, SESSION_COOKIE);
      c.set("sessionProblem", "Your sign-in has expired. Sign in again to see what you may use.");
      return;
    }
    const caller = callerFrom(validation.props, validation.scope ?? []);
    const props = validation.props;
    const displayName = props.kind === "user" ? (props.name ?? caller.name) : caller.name;
    c.set("viewer", { caller, displayName });
  } catch (error) {
    console.error(JSON.stringify({ page: "session-check-failed", error: messageOf(error) }));
    c.set("sessionProblem", "Sign-in could not be checked right now, so the page is shown signed out.");
  }
}

function validate(env: RegistryEnv, token: string) {
  return env.AUTH.validateToken(env.PUBLIC_URL, token);
}

/** New tokens for the session's refresh token, saved in the cookie; undefined when the grant is gone. */
async function renew(c: PageContext, session: Session): Promise<Session | undefined> {
  const refreshToken = session.r;
  if (!refreshToken) return undefined;
  const client = await clientById(c.env, session.c);
  if (!client) return undefined;
  let tokens: OAuthTokens;
  try {
    tokens = await refresh(c.env, client, refreshToken);
  } catch (error) {
    // A revoked or expired grant, or a client the auth Worker has forgotten, ends the session;
    // anything else (unreachable, 5xx) may pass, so it is thrown on and the cookie kept.
    const code = error instanceof OAuthError ? error.code : undefined;
    if (code === OAuthErrorCode.InvalidClient) await forgetClient(c.env, session.c);
    if (code === OAuthErrorCode.InvalidGrant || code === OAuthErrorCode.InvalidClient) return undefined;
    throw error;
  }
  saveSession(c, tokens, session.c);
  return {
    a: tokens.access_token,
    r: tokens.refresh_token ?? refreshToken,
    e: Math.floor(Date.now() / 1000) + (tokens.expires_in ?? 0),
    c: session.c,
  };
}

function toBase64Url(text: string): string {
  const bytes = new TextEncoder().encode(text);
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function fromBase64Url(text: string): string {
  const binary = atob(text.replace(/-/g, "+").replace(/_/g, "/"));
  return new TextDecoder().decode(Uint8Array.from(binary, (char) => char.charCodeAt(0)));
}
