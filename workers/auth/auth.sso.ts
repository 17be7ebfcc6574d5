/**
 * The OpenID Connect client towards the company IdP: discovery by issuer URL, the authorization
 * code request with PKCE S256 and a nonce, the code exchange (`client_secret_basic`), ID token
 * verification against the IdP's JWKS, and the user's profile and groups (from the ID token, or
 * from the userinfo endpoint when the ID token leaves them out). The IdP's refresh token comes
 * back with the user: `refreshSignIn` uses it to read the user again (userinfo) at every refresh
 * of the fleet's own grant. Works with any IdP that follows OpenID Connect Discovery; nothing
 * here is vendor-specific.
 */
import { createRemoteJWKSet, type JWTPayload, jwtVerify } from "jose";
import { z } from "zod";
import { type AdmissionProblem, admissionClaims, admissionProblem } from "./auth.admission";
import type { SsoSettings } from "./auth.config";
import { base64url, randomToken, sha256 } from "./auth.crypto";

/** What the browser's round trip through the IdP must carry back, kept server-side by `beginUpstream`. */
export interface PendingSignIn {
  verifier: string;
  nonce: string;
}

export interface SignedInUser {
  /** The IdP's issuer and its subject for the user. */
  iss: string;
  sub: string;
  /** The identity of record: the verified email (lowercased), else `<issuer>#<subject>`. */
  principal: string;
  name?: string;
  email?: string;
  username?: string;
  groups: string[];
}

/** Who signed in, and the IdP's refresh token when it issued one (to read the user again later). */
export interface SignIn {
  user: SignedInUser;
  refreshToken?: string;
}

/** A sign-in or refresh that failed between us and the IdP. `message` is for logs, never for the page. */
export class SignInError extends Error {
  override name = "SignInError";
}

/**
 * The IdP said no for good: the refresh token is revoked or expired, the user is disabled or
 * gone. Unlike other SignInErrors (unreachable, malformed answers), retrying cannot help.
 */
export class IdpRefusal extends SignInError {
  override name = "IdpRefusal";
}

const ProviderMetadata = z.object({
  issuer: z.string(),
  authorization_endpoint: z.url(),
  token_endpoint: z.url(),
  jwks_uri: z.url(),
  userinfo_endpoint: z.url().optional(),
  id_token_signing_alg_values_supported: z.array(z.string()).min(1),
  authorization_response_iss_parameter_supported: z.boolean().optional(),
});
export type ProviderMetadata = z.infer<typeof ProviderMetadata>;

const TokenResponse = z.object({
  id_token: z.string(),
  access_token: z.string().optional(),
  refresh_token: z.string().optional(),
});
const RefreshResponse = z.object({
  access_token: z.string(),
  id_token: z.string().optional(),
  refresh_token: z.string().optional(),
});
const UserInfo = z.looseObject({ sub: z.string() });

/**
 * The user is one the fleet does not admit (OIDC_ALLOWED_DOMAINS, OIDC_REQUIRED_CLAIMS): final,
 * like any refusal. `message` (the detail, with the setting) is for logs; `reason` may be shown.
 */
export class NotAdmitted extends IdpRefusal {
  override name = "NotAdmitted";
  readonly reason: string;
  constructor(problem: AdmissionProblem) {
    super(problem.detail);
    this.reason = problem.message;
  }
}

/** Signature algorithms we accept for ID tokens: asymmetric only (never `none` or a shared-secret HMAC). */
const ASYMMETRIC_ALGORITHMS = new Set([
  "RS256",
  "RS384",
  "RS512",
  "PS256",
  "PS384",
  "PS512",
  "ES256",
  "ES384",
  "ES512",
  "EdDSA",
  "Ed25519",
]);

const DISCOVERY_TTL_MS = 60 * 60 * 1000;
const IDP_TIMEOUT_MS = 10_000;
const CLOCK_TOLERANCE_SECONDS = 30;

const discoveries = new Map<string, { metadata: Promise<ProviderMetadata>; until: number }>();
const keySets = new Map<string, ReturnType<typeof createRemoteJWKSet>>();

/** The IdP's discovery document, cached per isolate for an hour; a failed lookup is not cached. */
export function discover(issuer: string): Promise<ProviderMetadata> {
  const hit = discoveries.get(issuer);
  if (hit && hit.until > Date.now()) return hit.metadata;
  const metadata = fetchDiscovery(issuer);
  discoveries.set(issuer, { metadata, until: Date.now() + DISCOVERY_TTL_MS });
  metadata.catch(() => discoveries.delete(issuer));
  return metadata;
}

async function fetchDiscovery(issuer: string): Promise<ProviderMetadata> {
  const url = `${issuer.replace(/\/$/, "")}/.well-known/openid-configuration`;
  const response = await idpFetch(url, { headers: { Accept: "application/json" } });
  if (!response.ok) throw new SignInError(`discovery at ${url} answered ${response.status}`);
  const parsed = ProviderMetadata.safeParse(await response.json().catch(() => undefined));
  if (!parsed.success) throw new SignInError(`discovery at ${url} is not an OpenID Provider configuration`);
  if (parsed.data.issuer !== issuer) {
    throw new SignInError(`discovery at ${url} names issuer ${parsed.data.issuer}, expected ${issuer}`);
  }
  return parsed.data;
}

export function newPendingSignIn(): PendingSignIn {
  return { verifier: randomToken(), nonce: randomToken() };
}

/** Where to send the browser: the IdP's authorization endpoint with our request. */
export async function authorizationUrl(
  settings: SsoSettings,
  idp: ProviderMetadata,
  state: string,
  pending: PendingSignIn,
): Promise<string> {
  const url = new URL(idp.authorization_endpoint);
  url.searchParams.set("response_type", "code");
  url.searchParams.set("client_id", settings.clientId);
  url.searchParams.set("redirect_uri", settings.redirectUri);
  url.searchParams.set("scope", settings.scopes.join(" "));
  url.searchParams.set("state", state);
  url.searchParams.set("nonce", pending.nonce);
  url.searchParams.set("code_challenge", base64url(await sha256(pending.verifier)));
  url.searchParams.set("code_challenge_method", "S256");
  return url.href;
}

/**
 * Finishes the sign-in the IdP redirected back from (a success: `code` present) and returns who it
 * is; throws NotAdmitted when the admission rules keep the user out (auth.admission.ts).
 */
export async function completeSignIn(settings: SsoSettings, callback: URL, pending: PendingSignIn): Promise<SignIn> {
  const idp = await discover(settings.issuer);
  // RFC 9207: an authorization response must come from the IdP we sent the browser to.
  const iss = callback.searchParams.get("iss");
  if (iss === null ? idp.authorization_response_iss_parameter_supported === true : iss !== idp.issuer) {
    throw new SignInError(`authorization response issuer ${iss ?? "(missing)"} is not ${idp.issuer}`);
  }
  const code = callback.searchParams.get("code");
  if (!code) throw new SignInError("authorization response without a code");

  const tokens = TokenResponse.safeParse(
    await tokenRequest(settings, idp, {
      grant_type: "authorization_code",
      code,
      redirect_uri: settings.redirectUri,
      code_verifier: pending.verifier,
    }),
  );
  if (!tokens.success) throw new SignInError("token response without an id_token");
  const { id_token, access_token, refresh_token } = tokens.data;
  const claims = await verifyIdToken(settings, idp, id_token, pending.nonce);
  const fromIdToken = profileOf(claims, settings.groupsClaim);
  const needsUserInfo =
    !isComplete(fromIdToken) || admissionClaims(settings.admission).some((name) => claims[name] === undefined);
  const info =
    needsUserInfo && idp.userinfo_endpoint && access_token
      ? await userInfo(idp.userinfo_endpoint, access_token, claims.sub)
      : undefined;
  const fromUserInfo = info && profileOf(info, settings.groupsClaim);
  const user = signedInUser(idp.issuer, claims.sub, [fromUserInfo, fromIdToken]);
  admit(settings, user, [claims, info]);
  return { user, ...(refresh_token ? { refreshToken: refresh_token } : {}) };
}

/** Throws NotAdmitted when the settings keep this user out (auth.admission.ts). */
function admit(settings: SsoSettings, user: SignedInUser, sources: (Record<string, unknown> | undefined)[]): void {
  const present = sources.filter((claims): claims is Record<string, unknown> => claims !== undefined);
  const problem = admissionProblem(settings.admission, user, present);
  if (problem) throw new NotAdmitted(problem);
}

/** Who the grant says the user was at the last sign-in or refresh. */
export type KnownUser = Pick<SignedInUser, "sub" | "principal" | "email">;

/**
 * Reads the user again at the IdP with its refresh token: a refresh token grant, then userinfo
 * (the claims as the directory holds them now; a refreshed ID token fills in what userinfo
 * leaves out, as at sign-in, and so do the claims the admission rules read). Throws NotAdmitted
 * when the rules no longer admit the user (auth.admission.ts), IdpRefusal when the IdP refuses the
 * refresh token or the user, or names another subject than `known`'s; SignInError when it cannot
 * be reached or answers nonsense.
 */
export async function refreshSignIn(settings: SsoSettings, refreshToken: string, known: KnownUser): Promise<SignIn> {
  const { sub } = known;
  const idp = await discover(settings.issuer);
  if (!idp.userinfo_endpoint) throw new SignInError("the IdP has no userinfo endpoint to read the user again");
  const tokens = RefreshResponse.safeParse(
    await tokenRequest(settings, idp, { grant_type: "refresh_token", refresh_token: refreshToken }),
  );
  if (!tokens.success) throw new SignInError("refresh response without an access_token");
  const info = await userInfo(idp.userinfo_endpoint, tokens.data.access_token, sub);
  const fromUserInfo = profileOf(info, settings.groupsClaim);
  let claims: Record<string, unknown> | undefined;
  const needsIdToken =
    !isComplete(fromUserInfo) || admissionClaims(settings.admission).some((name) => info[name] === undefined);
  if (tokens.data.id_token && needsIdToken) {
    claims = await verifyIdToken(settings, idp, tokens.data.id_token);
    if (claims.sub !== sub) throw new IdpRefusal("the refreshed ID token names another subject");
  }
  const fromIdToken = claims && profileOf(claims, settings.groupsClaim);
  const user = signedInUser(idp.issuer, sub, [fromUserInfo, fromIdToken], known);
  admit(settings, user, [info, claims]);
  return { user, refreshToken: tokens.data.refresh_token ?? refreshToken };
}

/** Everything a user is made of, said by one source: the other need not be asked. */
function isComplete(profile: Profile): boolean {
  return (
    profile.groups !== undefined &&
    profile.name !== undefined &&
    profile.email !== undefined &&
    profile.emailVerified !== undefined
  );
}

/**
 * The user from their claims, in one order at sign-in and at refresh: userinfo (when it was
 * read), then the ID token. The email is the first source's that has one; whether it is verified
 * is said by the first source that names the same email and says it at all (IdPs that put
 * `email_verified` in only one of the two must not flip the identity of record between sign-in
 * and refresh). When no source says, what was known for the same email at the last sign-in or
 * refresh stands (`known`).
 */
function signedInUser(iss: string, sub: string, sources: (Profile | undefined)[], known?: KnownUser): SignedInUser {
  const profiles = sources.filter((profile): profile is Profile => profile !== undefined);
  const first = <K extends keyof Profile>(key: K): Profile[K] | undefined =>
    profiles.map((profile) => profile[key]).find((value) => value !== undefined);
  const email = first("email");
  const lowered = email?.toLowerCase();
  let verified = profiles
    .filter((profile) => profile.email?.toLowerCase() === lowered)
    .map((profile) => profile.emailVerified)
    .find((value) => value !== undefined);
  if (verified === undefined && lowered !== undefined && known?.email?.toLowerCase() === lowered) {
    verified = known.principal === lowered;
  }
  const name = first("name");
  const username = first("username");
  return {
    iss,
    sub,
    principal: lowered && verified ? lowered : `${iss}#${sub}`,
    ...(name ? { name } : {}),
    ...(email ? { email } : {}),
    ...(username ? { username } : {}),
    groups: first("groups") ?? [],
  };
}

/** A request to the IdP's token endpoint as this confidential client (`client_secret_basic`). */
async function tokenRequest(settings: SsoSettings, idp: ProviderMetadata, form: Record<string, string>) {
  const credentials = btoa(`${formEncode(settings.clientId)}:${formEncode(settings.clientSecret)}`);
  const response = await idpFetch(idp.token_endpoint, {
    method: "POST",
    headers: {
      Authorization: `Basic ${credentials}`,
      "Content-Type": "application/x-www-form-urlencoded",
      Accept: "application/json",
    },
    body: new URLSearchParams(form),
  });
  const body = await response.json().catch(() => undefined);
  if (!response.ok) {
    const error = z.object({ error: z.string() }).safeParse(body);
    const message = `token endpoint answered ${response.status}${error.success ? ` ${error.data.error}` : ""}`;
    // RFC 6749 §5.2: invalid_grant is final (revoked, expired, or the user is gone).
    throw error.success && error.data.error === "invalid_grant" ? new IdpRefusal(message) : new SignInError(message);
  }
  return body;
}

/** Verifies an ID token from the IdP; `nonce` is checked for a sign-in (refreshed ID tokens have none). */
async function verifyIdToken(
  settings: SsoSettings,
  idp: ProviderMetadata,
  idToken: string,
  nonce?: string,
): Promise<JWTPayload & { sub: string }> {
  const algorithms = idp.id_token_signing_alg_values_supported.filter((alg) => ASYMMETRIC_ALGORITHMS.has(alg));
  if (algorithms.length === 0) throw new SignInError("the IdP offers no asymmetric ID token algorithm");
  let keys = keySets.get(idp.jwks_uri);
  if (!keys) {
    keys = createRemoteJWKSet(new URL(idp.jwks_uri), { timeoutDuration: IDP_TIMEOUT_MS });
    keySets.set(idp.jwks_uri, keys);
  }
  let payload: JWTPayload;
  try {
    ({ payload } = await jwtVerify(idToken, keys, {
      issuer: idp.issuer,
      audience: settings.clientId,
      algorithms,
      requiredClaims: ["sub", "iat", "exp"],
      clockTolerance: CLOCK_TOLERANCE_SECONDS,
    }));
  } catch (error) {
    throw new SignInError(`ID token rejected: ${error instanceof Error ? error.message : String(error)}`);
  }
  if (nonce !== undefined && payload.nonce !== nonce)
    throw new SignInError("ID token nonce does not match this sign-in");
  // OpenID Connect Core §3.1.3.7: with several audiences, the token must be authorized for us.
  const audiences = Array.isArray(payload.aud) ? payload.aud : [payload.aud];
  if ((audiences.length > 1 || payload.azp !== undefined) && payload.azp !== settings.clientId) {
    throw new SignInError("ID token is not authorized for this client (azp)");
  }
  return payload as JWTPayload & { sub: string };
}

async function userInfo(endpoint: string, accessToken: string, sub: string): Promise<Record<string, unknown>> {
  const response = await idpFetch(endpoint, {
    headers: { Authorization: `Bearer ${accessToken}`, Accept: "application/json" },
  });
  // RFC 6750 §3.1: 401/403 for a token the IdP just issued means it no longer serves the user.
  if (response.status === 401 || response.status === 403) throw new IdpRefusal(`userinfo answered ${response.status}`);
  if (!response.ok) throw new SignInError(`userinfo answered ${response.status}`);
  const parsed = UserInfo.safeParse(await response.json().catch(() => undefined));
  if (!parsed.success) throw new SignInError("userinfo is not a JSON object with sub");
  // OpenID Connect Core §5.3.2: the userinfo subject must be the ID token's.
  if (parsed.data.sub !== sub) throw new IdpRefusal("userinfo sub differs from the signed-in subject");
  return parsed.data;
}

interface Profile {
  name: string | undefined;
  email: string | undefined;
  /** `undefined` when the source does not say (Entra ID never does; some IdPs say it in one place only). */
  emailVerified: boolean | undefined;
  username: string | undefined;
  groups: string[] | undefined;
}

function profileOf(claims: Record<string, unknown>, groupsClaim: string): Profile {
  const text = (value: unknown) => (typeof value === "string" && value !== "" ? value : undefined);
  return {
    name: text(claims.name),
    email: text(claims.email),
    emailVerified: verifiedOf(claims.email_verified),
    username: text(claims.preferred_username),
    groups: groupsOf(claims[groupsClaim]),
  };
}

/** `email_verified` as a boolean (some IdPs send it as a string); `undefined` when absent. */
function verifiedOf(value: unknown): boolean | undefined {
  if (value === undefined || value === null) return undefined;
  return value === true || value === "true";
}

/** A list of group names; one group as a bare string is accepted too. `undefined` when the claim is absent. */
function groupsOf(value: unknown): string[] | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === "string") return [value];
  if (Array.isArray(value)) return value.filter((group): group is string => typeof group === "string");
  return [];
}

function formEncode(value: string): string {
  return encodeURIComponent(value).replace(/%20/g, "+");
}

function idpFetch(url: string, init: RequestInit): Promise<Response> {
  return fetch(url, { ...init, signal: AbortSignal.timeout(IDP_TIMEOUT_MS) }).catch((error: unknown) => {
    throw new SignInError(`${url} unreachable: ${error instanceof Error ? error.message : String(error)}`);
  });
}
