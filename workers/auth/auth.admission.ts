/**
 * Who may use the fleet at all. A company IdP signs in only the company's people; a public one
 * (`https://accounts.google.com`) signs in anyone with an account there. So the auth Worker
 * always says whom it admits, and every rule fails closed:
 *
 * - `OIDC_ALLOWED_DOMAINS` (required; space or comma separated): the user needs a verified email
 *   at one of these domains (exactly: a subdomain is another domain), at sign-in, at every
 *   refresh and at every token validation. `*` admits whoever the IdP signs in, for an IdP that
 *   holds only the company's people (Okta, a single-tenant Entra ID, a Keycloak realm); it is
 *   refused for an IdP where anyone can have an account. Unset, the Worker refuses to run.
 * - With Google (`OIDC_ISSUER = https://accounts.google.com`) the account must also be one of
 *   the company's Google Workspace: Google states its hosted domain (`hd`) for those, and a
 *   consumer Google account made with a company address has none. Any `hd` that is stated, by
 *   any IdP, must be one of the allowed domains.
 * - `OIDC_REQUIRED_CLAIMS` (space separated `claim=value|value`): each claim must hold one of its
 *   values in the ID token or at userinfo, at sign-in and at every refresh, e.g. `tid=<tenant>`.
 *
 * A refused sign-in goes back to the client as `access_denied` and records nothing; a refused
 * refresh is `invalid_grant` (the grant ends with its tokens); a token whose identity of record
 * the domains no longer admit is not valid anywhere.
 */
import type { SignedInUser } from "./auth.sso";

export interface Admission {
  /** Verified-email domains, lowercased; `"any"`: whoever the IdP signs in (`*`). */
  domains: readonly string[] | "any";
  /** The hosted domain (`hd`) must be stated and allowed (Google). */
  hostedDomain: boolean;
  /** Each claim must hold one of its values; empty: none required. */
  claims: readonly { name: string; values: readonly string[] }[];
}

/** Why a user was not admitted: `message` is safe to show the user, `detail` is for the logs. */
export interface AdmissionProblem {
  message: string;
  detail: string;
}

export const GOOGLE_ISSUER = "https://accounts.google.com";
/** IdPs where anyone can have an account: `*` would admit the world. */
const PUBLIC_ISSUERS = [
  GOOGLE_ISSUER,
  // Entra ID's tenant of personal Microsoft accounts.
  "https://login.microsoftonline.com/9188040d-6c67-4c5b-b112-36a304b66dad/v2.0",
];
const HOSTED_DOMAIN_CLAIM = "hd";

const DOMAIN = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9-]{0,61}[a-z0-9]$/;
const CLAIM_RULE = /^([A-Za-z_][\w.:-]*)=([^|\s]+(?:\|[^|\s]+)*)$/;

/** The settings, checked: one that is missing or cannot be read throws (never "admit everyone"). */
export function parseAdmission(
  issuer: string,
  allowedDomains: string | undefined,
  requiredClaims: string | undefined,
): Admission {
  const listed = (allowedDomains ?? "")
    .split(/[\s,]+/)
    .filter(Boolean)
    .map((domain) => domain.toLowerCase());
  if (listed.length === 0) {
    throw new Error(
      "OIDC_ALLOWED_DOMAINS must be set: the email domains whose verified users may sign in (e.g. example.com), " +
        "or * when every account at the IdP is one of the company's",
    );
  }
  let domains: Admission["domains"];
  if (listed.includes("*")) {
    if (listed.length > 1) throw new Error("OIDC_ALLOWED_DOMAINS: * stands alone (any account), not among domains");
    if (PUBLIC_ISSUERS.includes(issuer.replace(/\/$/, ""))) {
      throw new Error(
        `OIDC_ALLOWED_DOMAINS cannot be * with ${issuer}, where anyone can have an account: list the company's domains`,
      );
    }
    domains = "any";
  } else {
    const bad = listed.find((domain) => !DOMAIN.test(domain));
    if (bad !== undefined) throw new Error(`OIDC_ALLOWED_DOMAINS: "${bad}" is not a domain such as example.com`);
    domains = listed;
  }
  const claims = (requiredClaims ?? "")
    .split(/\s+/)
    .filter(Boolean)
    .map((rule) => {
      const match = CLAIM_RULE.exec(rule);
      if (!match) throw new Error(`OIDC_REQUIRED_CLAIMS: "${rule}" is not claim=value or claim=value|value`);
      return { name: match[1] as string, values: (match[2] as string).split("|") };
    });
  return { domains, hostedDomain: issuer.replace(/\/$/, "") === GOOGLE_ISSUER, claims };
}

/** The raw claims the rules read, besides the profile: a sign-in or refresh asks the other source when one lacks them. */
export function admissionClaims(admission: Admission): string[] {
  return [...admission.claims.map(({ name }) => name), ...(admission.hostedDomain ? [HOSTED_DOMAIN_CLAIM] : [])];
}

/**
 * Why this user may not sign in (or refresh), or `undefined` when they may. `sources` are the
 * raw claims read from the IdP this time (ID token, userinfo).
 */
export function admissionProblem(
  admission: Admission,
  user: SignedInUser,
  sources: readonly Record<string, unknown>[],
): AdmissionProblem | undefined {
  if (admission.domains !== "any") {
    // The principal is the email only when the IdP verified it (auth.sso.ts).
    const verified = user.email !== undefined && user.principal === user.email.toLowerCase();
    const domain = verified ? domainOf(user.principal) : undefined;
    if (domain === undefined) {
      return { message: "its email is not verified", detail: "no verified email (OIDC_ALLOWED_DOMAINS)" };
    }
    if (!admission.domains.includes(domain)) {
      return {
        message: "its email is not at one of the company's domains",
        detail: `email domain ${domain} is not allowed (OIDC_ALLOWED_DOMAINS)`,
      };
    }
    const hosted = stated(sources, HOSTED_DOMAIN_CLAIM);
    const domains = admission.domains;
    const foreign = hosted.find((value) => typeof value !== "string" || !domains.includes(value.toLowerCase()));
    if (foreign !== undefined || (admission.hostedDomain && hosted.length === 0)) {
      return {
        message: "it is not an account of the company's Google Workspace",
        detail:
          foreign === undefined
            ? "no hd claim: not a Google Workspace account (OIDC_ALLOWED_DOMAINS)"
            : `hd ${JSON.stringify(foreign)} is not allowed (OIDC_ALLOWED_DOMAINS)`,
      };
    }
  }
  for (const { name, values } of admission.claims) {
    const found = stated(sources, name);
    const wrong =
      found.length === 0
        ? "is missing"
        : found.some((value) => !holdsOneOf(value, values))
          ? "has a value not allowed"
          : "";
    if (wrong) {
      return {
        message: "the company sign-in does not say it is one of the company's accounts",
        detail: `claim ${name} ${wrong} (OIDC_REQUIRED_CLAIMS)`,
      };
    }
  }
  return undefined;
}

/**
 * Whether a token's identity of record is still admitted by the domains: checked at every code
 * exchange and token validation, so a domain removed from OIDC_ALLOWED_DOMAINS admits no one at
 * once. (The claims are checked where the IdP is read: sign-in and refresh.)
 */
export function admitsPrincipal(admission: Admission, principal: string | undefined): boolean {
  if (admission.domains === "any") return true;
  const domain = principal === undefined ? undefined : domainOf(principal);
  return domain !== undefined && admission.domains.includes(domain);
}

/** The domain of `local@domain`, or `undefined` when it is not such an address. */
function domainOf(address: string): string | undefined {
  const at = address.lastIndexOf("@");
  if (at <= 0 || at === address.length - 1) return undefined;
  return address.slice(at + 1).toLowerCase();
}

function stated(sources: readonly Record<string, unknown>[], name: string): unknown[] {
  return sources.map((claims) => claims[name]).filter((value) => value !== undefined && value !== null);
}

/** A claim (a string, number or boolean, or a list of them) that is, or lists, one of the values. */
function holdsOneOf(value: unknown, values: readonly string[]): boolean {
  const items = Array.isArray(value) ? value : [value];
  return items.some((item) => ["string", "number", "boolean"].includes(typeof item) && values.includes(String(item)));
}
