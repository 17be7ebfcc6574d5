/**
 * Sign-in to the registry page through the auth Worker: OAuth 2.1 authorization code with PKCE,
 * `resource` = this Worker's PUBLIC_URL, scope `registry:read`. The state, PKCE verifier and
 * client of a sign-in in progress travel in a short-lived HttpOnly cookie, so the callback only
 * completes a sign-in this browser began.
 */
import { IssuerMismatchError, OAuthError, OAuthErrorCode } from "@modelcontextprotocol/client";
import { Hono } from "hono";
import { csrf } from "hono/csrf";
import type { RegistryEnv } from "../registry.env";
import type { RenderPage } from "../registry.page";
import {
  authorizationRequest,
  authorizationServer,
  clientById,
  currentClient,
  exchangeCode,
  forgetClient,
  messageOf,
  revoke,
  SignInUnavailableError,
} from "./page.oauth";
import { endSession, type PageVariables, saveSession, saveSignIn, takeSignIn } from "./page.session";

type PageEnv = { Bindings: RegistryEnv; Variables: PageVariables };

export function signInRoutes(render: RenderPage) {
  const routes = new Hono<PageEnv>();

  const unavailable = (c: Parameters<RenderPage>[0], error: unknown) => {
    console.error(JSON.stringify({ page: "sign-in-unavailable", error: messageOf(error) }));
    return render(
      c,
      503,
      "Sign-in unavailable",
      <>
        <h1>Sign-in is unavailable right now</h1>
        <p>The fleet's sign-in service could not be reached. The registry still works signed out.</p>
        <p>
          <a href="/">Back to all servers</a>
        </p>
      </>,
    );
  };

  const startAgain = (c: Parameters<RenderPage>[0], title: string, message: string, returnTo = "/") =>
    render(
      c,
      400,
      title,
      <>
        <h1>{title}</h1>
        <p>{message}</p>
        <p>
          <a class="button" href={`/auth/signin?return=${encodeURIComponent(returnTo)}`}>
            Sign in again
          </a>{" "}
          <a href={returnTo}>Continue signed out</a>
        </p>
      </>,
    );

  routes.get("/signin", async (c) => {
    const returnTo = safeReturn(c.req.query("return"));
    try {
      const client = await currentClient(c.env);
      const state = randomState();
      const { authorizationUrl, codeVerifier } = await authorizationRequest(c.env, client, state);
      saveSignIn(c, { state, verifier: codeVerifier, clientId: client.client.client_id, returnTo });
      c.header("Cache-Control", "no-store");
      return c.redirect(authorizationUrl.href, 302);
    } catch (error) {
      if (error instanceof SignInUnavailableError || error instanceof TypeError) return unavailable(c, error);
      throw error;
    }
  });

  routes.get("/callback", async (c) => {
    const signIn = takeSignIn(c);
    const { state, code, error, iss } = c.req.query();
    if (!signIn || !state || state !== signIn.state) {
      return startAgain(
        c,
        "This sign-in cannot be completed",
        "It has expired, or it was started in another browser. Start again from the registry.",
      );
    }
    if (error) {
      const cancelled = error === "access_denied";
      return startAgain(
        c,
        cancelled ? "Sign-in cancelled" : "Sign-in failed",
        cancelled
          ? "You did not allow the registry to know who you are, so it is shown signed out."
          : `The sign-in service answered “${error}”.`,
        signIn.returnTo,
      );
    }
    try {
      const client = await clientById(c.env, signIn.clientId);
      const metadata = client?.metadata ?? (await authorizationServer(c.env));
      // RFC 9207: the response must come from the authorization server the browser was sent to
      // (checked here for a clear page, and again by the SDK before it redeems the code).
      if (iss !== undefined && iss !== metadata.issuer) {
        return startAgain(c, "Sign-in failed", "The answer came from an unexpected sign-in service.", signIn.returnTo);
      }
      if (!client || !code) {
        return startAgain(c, "Sign-in failed", "The sign-in did not complete. Start again.", signIn.returnTo);
      }
      const tokens = await exchangeCode(c.env, client, code, signIn.verifier, iss);
      saveSession(c, tokens, signIn.clientId);
      c.header("Cache-Control", "no-store");
      return c.redirect(signIn.returnTo, 303);
    } catch (failure) {
      if (failure instanceof IssuerMismatchError) {
        return startAgain(c, "Sign-in failed", "The answer came from an unexpected sign-in service.", signIn.returnTo);
      }
      if (failure instanceof OAuthError && failure.code === OAuthErrorCode.InvalidClient) {
        await forgetClient(c.env, signIn.clientId);
      }
      if (failure instanceof OAuthError) {
        console.warn(JSON.stringify({ page: "code-exchange-refused", error: failure.code }));
        return startAgain(
          c,
          "Sign-in failed",
          "The sign-in service refused to complete it. Start again.",
          signIn.returnTo,
        );
      }
      if (failure instanceof SignInUnavailableError || failure instanceof TypeError) return unavailable(c, failure);
      throw failure;
    }
  });

  routes.post(
    "/signout",
    csrf({ origin: (origin, c) => origin === new URL((c.env as RegistryEnv).PUBLIC_URL).origin }),
    async (c) => {
      const ended = endSession(c);
      if (ended?.refreshToken) {
        try {
          const client = await clientById(c.env, ended.clientId);
          if (client) await revoke(c.env, client, ended.refreshToken);
        } catch (error) {
          console.warn(JSON.stringify({ page: "revoke-failed", error: messageOf(error) }));
        }
      }
      c.header("Cache-Control", "no-store");
      return c.redirect("/", 303);
    },
  );

  return routes;
}

/** Only a path on this site: never another origin (`//evil.example`, `/\evil.example`). */
/** A path on this site to come back to; anything that would resolve elsewhere becomes "/". */
export function safeReturn(value: string | undefined): string {
  if (!value?.startsWith("/")) return "/";
  const base = new URL("https://registry.invalid");
  let url: URL;
  try {
    url = new URL(value, base);
  } catch {
    return "/";
  }
  // Browsers drop tabs and newlines and read "\" as "/": resolve as they do, then insist on this origin.
  if (url.origin !== base.origin || /[\s\\]/.test(value)) return "/";
  const path = `${url.pathname}${url.search}${url.hash}`;
  return path.startsWith("/auth/") ? "/" : path;
}

function randomState(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  return btoa(String.fromCharCode(...bytes))
    .replace(/\+/g, "-")
    .replace(/\//g, "_")
    .replace(/=+$/, "");
}
