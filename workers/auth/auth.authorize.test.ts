import { describe, expect, inject, it } from "vitest";
import { signInAtIdp } from "../../local/idp.login";
import {
  authorize,
  authorizeUrl,
  Browser,
  CLIENT_REDIRECT,
  consentForm,
  exchangeCode,
  handleOf,
  ISSUER,
  locationOf,
  OTHER,
  PRESTO,
  pkcePair,
  presto,
  registerClient,
  USERS,
  validator,
} from "./auth.testing";

const idp = inject("authIdp");

/** A registered client, a browser on its consent page, and the page. */
async function onConsentPage(scope = "presto:read", clientName = "Test Client") {
  const client = await registerClient({ client_name: clientName });
  const { verifier, challenge } = await pkcePair();
  const browser = new Browser();
  const page = await browser.fetch(authorizeUrl({ client, challenge, scope }));
  expect(page.status).toBe(200);
  return { client, verifier, browser, page, html: await page.text() };
}

/** Consent approved: the browser is on its way to the IdP. */
async function atIdp() {
  const consent = await onConsentPage();
  const approved = await consent.browser.fetch(`${ISSUER}/authorize`, consentForm(handleOf(consent.html), "approve"));
  expect(approved.status).toBe(302);
  return { ...consent, idpUrl: locationOf(approved) };
}

describe("consent page", () => {
  it("names the client (escaped), where access goes, the server and the scopes", async () => {
    const { page, html } = await onConsentPage("presto:read", `Evil <script>alert("x")</script> App`);
    expect(html).toContain("Evil &lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; App");
    expect(html).not.toContain("<script>");
    expect(html).toContain("This app registered itself");
    expect(html).toContain("<strong>127.0.0.1</strong>");
    expect(html).toContain("an app on your computer");
    expect(html).toContain(`<code>${PRESTO}</code>`);
    expect(html).toContain("<code>presto:read</code>");
    expect(html).toContain('name="remember"');
    expect(page.headers.get("X-Frame-Options")).toBe("DENY");
    expect(page.headers.get("Content-Security-Policy")).toContain("frame-ancestors 'none'");
    expect(page.headers.get("Cache-Control")).toBe("no-store");
    expect(page.headers.getSetCookie().join("\n")).toMatch(/^__Host-oauth-consent-\w+=\w+; Path=\/; Secure; HttpOnly/);
  });

  it("says plainly, apart from reading, that a write scope lets the app ask to change things, each with approval", async () => {
    const { html } = await onConsentPage("presto:read presto:write");
    const write = /<section class="scopes write" data-scope-kind="write">([\s\S]*?)<\/section>/.exec(html)?.[1] ?? "";
    expect(write).toContain("it may also ask to run actions that change things");
    expect(write).toContain("Each such action still asks for your approval at the time it runs.");
    expect(write).toContain("<code>presto:write</code>");
    expect(write).not.toContain("presto:read");
    const read = /<section class="scopes read" data-scope-kind="read">([\s\S]*?)<\/section>/.exec(html)?.[1] ?? "";
    expect(read).toContain("<code>presto:read</code>");
    expect(read).not.toContain("change things");
  });

  it("says nothing about changing things when only read scopes are asked for", async () => {
    const { html } = await onConsentPage("presto:read");
    expect(html).toContain('data-scope-kind="read"');
    expect(html).not.toContain('data-scope-kind="write"');
    expect(html).not.toContain("change things");
  });

  it("offers only the scopes this server grants", async () => {
    const { html } = await onConsentPage("presto:read admin:everything");
    expect(html).toContain("<code>presto:read</code>");
    expect(html).not.toContain("<code>admin:everything</code>");
    expect(html).toContain("not offered here: admin:everything");
  });

  it("sends a request for plain PKCE back to the client as invalid_request", async () => {
    const client = await registerClient();
    const url = new URL(authorizeUrl({ client, challenge: (await pkcePair()).verifier }));
    url.searchParams.set("code_challenge_method", "plain");
    const response = await new Browser().fetch(url.href);
    expect(response.status).toBe(302);
    expect(locationOf(response).searchParams.get("error")).toBe("invalid_request");
  });

  it("renders a bad request locally instead of redirecting to an unverified client", async () => {
    const response = await new Browser().fetch(`${ISSUER}/authorize?response_type=code&client_id=nobody`);
    expect(response.status).toBe(400);
    expect(response.headers.get("Location")).toBeNull();
  });
});

describe("sign-in through the company IdP", () => {
  it("sends the browser to the IdP with an OpenID Connect code request, PKCE S256 and a nonce", async () => {
    const { idpUrl } = await atIdp();
    expect(idpUrl.origin).toBe(idp.issuer);
    const params = Object.fromEntries(idpUrl.searchParams);
    expect(params).toMatchObject({
      response_type: "code",
      client_id: idp.clientId,
      redirect_uri: `${ISSUER}/sso/callback`,
      // offline_access: the IdP's refresh token lets every refresh read the user again.
      scope: "openid profile email groups offline_access",
      code_challenge_method: "S256",
    });
    expect(params.state).toMatch(/^[\w-]{43}$/);
    expect(params.nonce).toMatch(/^[\w-]{43}$/);
    expect(params.code_challenge).toMatch(/^[\w-]{43}$/);
  });

  it("runs authorize → consent → IdP sign-in → callback → code → token → validation", async () => {
    const client = await registerClient();
    const { verifier, challenge } = await pkcePair();
    const redirect = await authorize(new Browser(), { client, challenge, state: "s-123" }, USERS.alice);
    expect(redirect.origin + redirect.pathname).toBe(CLIENT_REDIRECT);
    expect(redirect.searchParams.get("state")).toBe("s-123");
    expect(redirect.searchParams.get("iss")).toBe(ISSUER);
    const code = redirect.searchParams.get("code") as string;

    const response = await exchangeCode({ client, code, verifier });
    expect(response.status).toBe(200);
    const tokens = (await response.json()) as { access_token: string; expires_in: number; scope: string };
    expect(tokens).toMatchObject({ token_type: "bearer", expires_in: 300, scope: "presto:read", resource: PRESTO });

    const validated = await presto.validateToken(PRESTO, tokens.access_token);
    expect(validated).toMatchObject({
      audience: PRESTO,
      scope: ["presto:read"],
      // The grant belongs to the IdP subject, which an email change does not move.
      userId: encodeURIComponent(`${idp.issuer}#alice`),
      clientId: client.client_id,
    });
    // The identity of record is the verified email; the IdP's refresh token stays in the grant.
    expect(validated?.props).toEqual({
      kind: "user",
      iss: idp.issuer,
      sub: "alice",
      principal: "alice@example.com",
      name: "Alice Analyst",
      email: "alice@example.com",
      username: "alice",
      groups: ["data-eng", "ads"],
    });
    expect(await validator("other").validateToken(OTHER, tokens.access_token)).toBeNull();
  });

  it("grants only the requested scopes this server offers", async () => {
    const client = await registerClient();
    const { verifier, challenge } = await pkcePair();
    const scope = "presto:read admin:everything";
    const redirect = await authorize(new Browser(), { client, challenge, scope }, USERS.bob);
    const response = await exchangeCode({ client, code: redirect.searchParams.get("code") as string, verifier });
    const tokens = (await response.json()) as { access_token: string; scope: string };
    expect(tokens.scope).toBe("presto:read");
    expect((await presto.validateToken(PRESTO, tokens.access_token))?.props).toMatchObject({ groups: ["finance"] });
  });

  it("skips the page for a client the user chose to remember, and only for what was approved", async () => {
    const client = await registerClient();
    const { challenge } = await pkcePair();
    const browser = new Browser();
    const first = await browser.fetch(authorizeUrl({ client, challenge }));
    await browser.fetch(`${ISSUER}/authorize`, consentForm(handleOf(await first.text()), "approve", true));
    expect(browser.cookieNames()).toContain("__Host-oauth-approvals");

    const again = await browser.fetch(authorizeUrl({ client, challenge }));
    expect(again.status).toBe(302);
    expect(locationOf(again).origin).toBe(idp.issuer);
    const more = await browser.fetch(authorizeUrl({ client, challenge, scope: "presto:read presto:write" }));
    expect(more.status).toBe(200);
  });
});

describe("refusals", () => {
  it("Deny sends the client access_denied with its state and our issuer", async () => {
    const { browser, html } = await onConsentPage();
    const denied = await browser.fetch(`${ISSUER}/authorize`, consentForm(handleOf(html), "deny"));
    expect(denied.status).toBe(302);
    const redirect = locationOf(denied);
    expect(redirect.origin + redirect.pathname).toBe(CLIENT_REDIRECT);
    expect(Object.fromEntries(redirect.searchParams)).toMatchObject({
      error: "access_denied",
      state: "client-state",
      iss: ISSUER,
    });
  });

  it("refuses a consent post without the browser's binding cookie (CSRF)", async () => {
    const { html } = await onConsentPage();
    const forged = await new Browser().fetch(`${ISSUER}/authorize`, consentForm(handleOf(html), "approve"));
    expect(forged.status).toBe(400);
    expect(forged.headers.get("Location")).toBeNull();
    expect(await forged.text()).toContain("not started in this browser");
  });

  it("uses a consent handle once", async () => {
    const { browser, html } = await onConsentPage();
    const handle = handleOf(html);
    expect((await browser.fetch(`${ISSUER}/authorize`, consentForm(handle, "approve"))).status).toBe(302);
    const replay = await browser.fetch(`${ISSUER}/authorize`, consentForm(handle, "approve"));
    expect(replay.status).toBe(400);
  });

  it("passes an IdP access_denied on to the client", async () => {
    const { browser, idpUrl } = await atIdp();
    const state = idpUrl.searchParams.get("state") as string;
    const response = await browser.fetch(`${ISSUER}/sso/callback?error=access_denied&state=${state}`);
    expect(response.status).toBe(302);
    const redirect = locationOf(response);
    expect(redirect.origin + redirect.pathname).toBe(CLIENT_REDIRECT);
    expect(Object.fromEntries(redirect.searchParams)).toMatchObject({ error: "access_denied", iss: ISSUER });
  });

  it("refuses an IdP callback in a browser that did not start the sign-in", async () => {
    const { idpUrl } = await atIdp();
    const callback = await signInAtIdp(idpUrl.href, USERS.alice);
    const response = await new Browser().fetch(callback);
    expect(response.status).toBe(400);
    expect(response.headers.get("Location")).toBeNull();
  });

  it("shows a local error page, not a redirect, when the IdP refuses the code", async () => {
    const { browser, idpUrl } = await atIdp();
    const state = idpUrl.searchParams.get("state") as string;
    const iss = encodeURIComponent(idp.issuer);
    const response = await browser.fetch(`${ISSUER}/sso/callback?code=forged&state=${state}&iss=${iss}`);
    expect(response.status).toBe(502);
    expect(response.headers.get("Location")).toBeNull();
    const html = await response.text();
    expect(html).toContain("Sign-in failed");
    expect(html).not.toContain(idp.clientSecret);
    expect(response.headers.get("X-Frame-Options")).toBe("DENY");
  });

  it("refuses an authorization response from another issuer (RFC 9207)", async () => {
    const { browser, idpUrl } = await atIdp();
    const state = idpUrl.searchParams.get("state") as string;
    const response = await browser.fetch(
      `${ISSUER}/sso/callback?code=x&state=${state}&iss=${encodeURIComponent("https://evil.example")}`,
    );
    expect(response.status).toBe(502);
  });
});
