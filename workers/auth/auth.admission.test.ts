/**
 * Who may use the fleet at all: with a public IdP (https://accounts.google.com) every account of
 * the world can sign in, so OIDC_ALLOWED_DOMAINS (required) and OIDC_REQUIRED_CLAIMS narrow it,
 * at sign-in, at refresh, at the code exchange and at token validation, and fail closed.
 */
import { env } from "cloudflare:test";
import { afterEach, describe, expect, it } from "vitest";
import { changeIdpUser, LOCAL_EMAIL_DOMAIN, newIdpUser } from "../../local/idp.admin";
import { admissionProblem, admitsPrincipal, GOOGLE_ISSUER, parseAdmission } from "./auth.admission";
import { type AuthEnv, readConfig } from "./auth.config";
import {
  authorize,
  Browser,
  exchangeCode,
  IDP_ADMIN,
  PRESTO,
  pkcePair,
  presto,
  refresh,
  registerClient,
  signedInClient,
  USERS,
} from "./auth.testing";

const IDP = "https://idp.example";
const user = (principal: string, email?: string) => ({
  iss: IDP,
  sub: "1234",
  principal,
  ...(email ? { email } : {}),
  groups: [],
});

describe("parseAdmission", () => {
  it("reads domains (space or comma separated, lowercased), * and claim=value|value rules", () => {
    expect(parseAdmission(IDP, "Example.com, example.org", "tid=abc|def")).toEqual({
      domains: ["example.com", "example.org"],
      hostedDomain: false,
      claims: [{ name: "tid", values: ["abc", "def"] }],
    });
    expect(parseAdmission(IDP, "*", undefined)).toEqual({ domains: "any", hostedDomain: false, claims: [] });
    expect(parseAdmission(GOOGLE_ISSUER, "example.com", undefined)).toMatchObject({ hostedDomain: true });
  });

  it("refuses to run without a rule, or with one it cannot read, rather than admitting everyone", () => {
    for (const domains of [undefined, "", " , "]) {
      expect(() => parseAdmission(IDP, domains, undefined), String(domains)).toThrow(
        /OIDC_ALLOWED_DOMAINS must be set/,
      );
    }
    expect(() => parseAdmission(IDP, "not a domain!", undefined)).toThrow(/"not" is not a domain/);
    expect(() => parseAdmission(IDP, "* example.com", undefined)).toThrow(/stands alone/);
    expect(() => parseAdmission(GOOGLE_ISSUER, "*", undefined)).toThrow(/anyone can have an account/);
    expect(() => parseAdmission(`${GOOGLE_ISSUER}/`, "*", undefined)).toThrow(/anyone can have an account/);
    for (const claims of ["hd", "hd=", "=example.com", "hd=a||b"]) {
      expect(() => parseAdmission(IDP, "*", claims), claims).toThrow(/OIDC_REQUIRED_CLAIMS/);
    }
  });

  it("is read with the Worker's configuration: a Worker without OIDC_ALLOWED_DOMAINS does not run", () => {
    const settings = { ...(env as unknown as AuthEnv), OIDC_ALLOWED_DOMAINS: "" };
    expect(() => readConfig(settings)).toThrow(/auth Worker misconfigured: OIDC_ALLOWED_DOMAINS must be set/);
  });
});

describe("admissionProblem", () => {
  const domains = parseAdmission(IDP, "example.com", undefined);
  const problem = (...args: Parameters<typeof admissionProblem>) => admissionProblem(...args)?.detail;

  it("admits whoever the IdP signs in with *, verified or not", () => {
    expect(problem(parseAdmission(IDP, "*", undefined), user(`${IDP}#1234`), [{}])).toBeUndefined();
  });

  it("admits a verified email at an allowed domain only", () => {
    expect(problem(domains, user("ann@example.com", "ann@example.com"), [{}])).toBeUndefined();
    expect(problem(domains, user("ann@gmail.com", "ann@gmail.com"), [{}])).toMatch(/domain gmail.com/);
    expect(problem(domains, user("ann@sub.example.com", "ann@sub.example.com"), [{}])).toMatch(/domain/);
    // Not verified: the email says nothing about who this is.
    expect(problem(domains, user(`${IDP}#1234`, "ann@example.com"), [{}])).toMatch(/no verified email/);
    expect(problem(domains, user(`${IDP}#1234`), [{}])).toMatch(/no verified email/);
    // "Verified", but not an address at a domain.
    expect(problem(domains, user("example.com", "example.com"), [{}])).toMatch(/no verified email/);
    expect(problem(domains, user("@example.com", "@example.com"), [{}])).toMatch(/no verified email/);
  });

  it("refuses an hd that is stated and not allowed; with Google, an account without one", () => {
    const ann = user("ann@example.com", "ann@example.com");
    expect(problem(domains, ann, [{ hd: "example.com" }])).toBeUndefined();
    expect(problem(domains, ann, [{ hd: "example.com" }, { hd: "evil.example" }])).toMatch(/hd "evil.example"/);
    const google = parseAdmission(GOOGLE_ISSUER, "example.com", undefined);
    expect(problem(google, ann, [{}, {}])).toMatch(/no hd claim/);
    expect(problem(google, ann, [{ hd: "Example.com" }])).toBeUndefined();
  });

  it("requires each claim with an allowed value in some source, contradicted by none", () => {
    const tid = parseAdmission(IDP, "example.com", "tid=abc");
    const ann = user("ann@example.com", "ann@example.com");
    expect(problem(tid, ann, [{ tid: "abc" }])).toBeUndefined();
    expect(problem(tid, ann, [{}, {}])).toMatch(/tid is missing/);
    expect(problem(tid, ann, [{ tid: "xyz" }])).toMatch(/tid has a value not allowed/);
    expect(problem(tid, ann, [{ tid: "abc" }, { tid: "xyz" }])).toMatch(/tid has a value not allowed/);
  });

  it("tells the user why in words that name no setting", () => {
    const refused = admissionProblem(domains, user("ann@gmail.com", "ann@gmail.com"), [{}]);
    expect(refused?.message).toBe("its email is not at one of the company's domains");
  });
});

describe("admitsPrincipal (code exchange and token validation)", () => {
  it("admits an identity of record at an allowed domain, anything with *", () => {
    const domains = parseAdmission(IDP, "example.com", undefined);
    expect(admitsPrincipal(domains, "ann@example.com")).toBe(true);
    for (const principal of ["ann@example.org", `${IDP}#1234`, "example.com", undefined]) {
      expect(admitsPrincipal(domains, principal), String(principal)).toBe(false);
    }
    expect(admitsPrincipal(parseAdmission(IDP, "*", undefined), `${IDP}#1234`)).toBe(true);
  });
});

describe("through the auth Worker, at the real local IdP", () => {
  const settings = env as unknown as AuthEnv;
  afterEach(() => {
    settings.OIDC_ALLOWED_DOMAINS = LOCAL_EMAIL_DOMAIN;
    delete settings.OIDC_REQUIRED_CLAIMS;
  });

  async function signIn(who: { username: string; password: string }): Promise<URL> {
    const client = await registerClient();
    const { challenge } = await pkcePair();
    return authorize(new Browser(), { client, challenge }, who);
  }

  async function seen(username: string): Promise<boolean> {
    const subject = encodeURIComponent(`${IDP_ADMIN.issuer}#${username}`);
    return (await settings.OAUTH_KV.get(`seen:subject:${subject}`)) !== null;
  }

  it("sends a user outside the allowed domains back to the client with access_denied, recording nothing", async () => {
    const outsider = await newIdpUser(IDP_ADMIN, "olaf", ["ads"]);
    await changeIdpUser(IDP_ADMIN, outsider.username, { email: `${outsider.username}@gmail.example` });
    const back = await signIn(outsider);
    expect(back.searchParams.get("error")).toBe("access_denied");
    expect(back.searchParams.get("error_description")).toBe(
      "This account may not use the fleet: its email is not at one of the company's domains. Sign in with your company account",
    );
    expect(back.searchParams.get("code")).toBeNull();
    expect(await seen(outsider.username)).toBe(false);
    settings.OIDC_ALLOWED_DOMAINS = `${LOCAL_EMAIL_DOMAIN} gmail.example`;
    expect((await signIn(outsider)).searchParams.get("code")).toBeTruthy();
  });

  it("refuses a user whose email the IdP does not verify, unless the rule is *", async () => {
    const unverified = await newIdpUser(IDP_ADMIN, "uma", ["ads"]);
    await changeIdpUser(IDP_ADMIN, unverified.username, { emailVerified: false });
    expect((await signIn(unverified)).searchParams.get("error_description")).toContain("its email is not verified");
    settings.OIDC_ALLOWED_DOMAINS = "*";
    expect((await signIn(unverified)).searchParams.get("code")).toBeTruthy();
  });

  it("requires a hosted domain claim (hd) when told to: present and allowed", async () => {
    settings.OIDC_REQUIRED_CLAIMS = `hd=${LOCAL_EMAIL_DOMAIN}`;
    expect((await signIn(USERS.alice)).searchParams.get("error")).toBe("access_denied"); // alice has no hd
    const workspace = await newIdpUser(IDP_ADMIN, "wanda", ["ads"]);
    await changeIdpUser(IDP_ADMIN, workspace.username, { hostedDomain: LOCAL_EMAIL_DOMAIN });
    expect((await signIn(workspace)).searchParams.get("code")).toBeTruthy();
    await changeIdpUser(IDP_ADMIN, workspace.username, { hostedDomain: "evil.example" });
    expect((await signIn(workspace)).searchParams.get("error")).toBe("access_denied");
  });

  it("refuses the refresh of a user whose email moved outside the allowed domains, and ends the grant", async () => {
    const rhea = await newIdpUser(IDP_ADMIN, "rhea", ["ads"]);
    const session = await signedInClient(rhea);
    await changeIdpUser(IDP_ADMIN, rhea.username, { email: `${rhea.username}@gmail.example` });
    const response = await refresh(session.client, session.tokens.refresh_token);
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({
      error: "invalid_grant",
      error_description: expect.stringContaining("its email is not at one of the company's domains"),
    });
    // The grant is gone: even back at an allowed domain, this refresh token is dead.
    await changeIdpUser(IDP_ADMIN, rhea.username, { email: rhea.email });
    expect((await refresh(session.client, session.tokens.refresh_token)).status).toBe(400);
  });

  it("refuses the refresh of a user whose required claim changed at the IdP", async () => {
    settings.OIDC_REQUIRED_CLAIMS = `hd=${LOCAL_EMAIL_DOMAIN}`;
    const hana = await newIdpUser(IDP_ADMIN, "hana", ["ads"]);
    await changeIdpUser(IDP_ADMIN, hana.username, { hostedDomain: LOCAL_EMAIL_DOMAIN });
    const session = await signedInClient(hana);
    expect((await refresh(session.client, session.tokens.refresh_token)).status).toBe(200);
    const again = await signedInClient(hana);
    await changeIdpUser(IDP_ADMIN, hana.username, { hostedDomain: "" });
    const response = await refresh(again.client, again.tokens.refresh_token);
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ error: "invalid_grant" });
  });

  it("admits none of a domain's tokens once the domain is removed: validation, refresh, code exchange", async () => {
    const session = await signedInClient(USERS.bob);
    expect(await presto.validateToken(PRESTO, session.tokens.access_token)).not.toBeNull();
    const client = await registerClient();
    const { verifier, challenge } = await pkcePair();
    const code = (await authorize(new Browser(), { client, challenge }, USERS.bob)).searchParams.get("code") ?? "";

    settings.OIDC_ALLOWED_DOMAINS = "example.org";
    expect(await presto.validateToken(PRESTO, session.tokens.access_token)).toBeNull();
    const refused = await refresh(session.client, session.tokens.refresh_token);
    expect(refused.status).toBe(400);
    const exchanged = await exchangeCode({ client, code, verifier });
    expect(exchanged.status).toBe(400);
    const body = (await exchanged.json()) as Record<string, unknown>;
    expect(body).toMatchObject({ error: "invalid_grant" });
    expect(body.access_token).toBeUndefined();
  });
});
