/**
 * The auth Worker's configuration: its bindings, and the vars and secrets read once per isolate
 * into a checked `AuthConfig`. A misconfiguration fails every request with a message naming the
 * setting, rather than half-working.
 */
import { z } from "zod";
import { type Admission, parseAdmission } from "./auth.admission";
import { parseServiceIdentities, type ServiceIdentity } from "./auth.services";

export interface AuthEnv {
  OAUTH_KV: KVNamespace;
  /** This server's issuer: an origin, e.g. https://auth.mcp.example.com. */
  AUTH_ISSUER: string;
  /**
   * The domain servers, comma separated `<server>=<canonical resource URL>`: a domain Worker's
   * `AUTH` binding (the `TokenValidator` entrypoint, `props.server`) validates tokens for its own
   * resource only.
   */
  RESOURCES: string;
  /** Every scope this server can grant, space separated. */
  SCOPES: string;
  /** The company IdP (OpenID Connect issuer URL). */
  OIDC_ISSUER: string;
  OIDC_CLIENT_ID: string;
  /** Secret. */
  OIDC_CLIENT_SECRET: string;
  /** The ID token / userinfo claim holding the user's groups. Default `groups`. */
  OIDC_GROUPS_CLAIM?: string;
  /** Scopes asked of the IdP. Default `openid profile email groups offline_access`. */
  OIDC_SCOPES?: string;
  /**
   * Required. Verified-email domains allowed to use the fleet, space or comma separated (e.g.
   * `example.com`), or `*` for whoever the IdP signs in (refused for Google). auth.admission.ts.
   */
  OIDC_ALLOWED_DOMAINS: string;
  /** Claims a user must have, space separated `claim=value|value` (e.g. `tid=<tenant>`). */
  OIDC_REQUIRED_CLAIMS?: string;
  /** The business group whose members may use the admin API (`/admin`). Default `admins`. */
  ADMINS_GROUP?: string;
  /** Seconds a grant lives without a refresh (idle lifetime). Default 7 days. */
  REFRESH_IDLE_SECONDS?: string;
  /** Seconds a grant lives at most after the sign-in, however often it is refreshed. Default 30 days. */
  REFRESH_ABSOLUTE_SECONDS?: string;
  /** Secret: JSON `[{ name, secretSha256, scopes }]`, the services allowed the client credentials grant. */
  SERVICE_IDENTITIES?: string;
  /** Secret (32+ characters): signs remembered consent. Without it the page never offers to remember. */
  CONSENT_SECRET?: string;
}

export interface SsoSettings {
  issuer: string;
  clientId: string;
  clientSecret: string;
  scopes: string[];
  groupsClaim: string;
  /** Our callback at the IdP: `${AUTH_ISSUER}/sso/callback`. */
  redirectUri: string;
  /** Who may sign in at all (OIDC_ALLOWED_DOMAINS, OIDC_REQUIRED_CLAIMS). */
  admission: Admission;
}

export interface AuthConfig {
  issuer: string;
  /** The domain servers' resources (RESOURCES), by server name. */
  servers: ReadonlyMap<string, string>;
  /** Every resource this server issues tokens for: the domain servers' and its own admin API. */
  resources: string[];
  /** This Worker's own admin API (`${issuer}/admin`): tokens for it carry only `fleet:admin`. */
  adminResource: string;
  /** Every scope this server grants: SCOPES and `fleet:admin`. */
  scopes: string[];
  adminsGroup: string;
  refresh: { idleSeconds: number; absoluteSeconds: number };
  sso: SsoSettings;
  services: ServiceIdentity[];
  consentSecret?: string;
}

export const SSO_CALLBACK_PATH = "/sso/callback";
export const ADMIN_PATH = "/admin";
/** The one scope of the admin API, granted for it alone. */
export const ADMIN_SCOPE = "fleet:admin";
const DAY = 24 * 60 * 60;

const list = (separator: RegExp) => (value: string) => value.split(separator).filter(Boolean);

const origin = z.string().refine((value) => URL.canParse(value) && new URL(value).origin === value, {
  message: "must be an origin such as https://auth.example.com (no path, no trailing slash)",
});

const Vars = z.object({
  AUTH_ISSUER: origin,
  RESOURCES: z
    .string()
    .transform(list(/\s*,\s*/))
    .pipe(
      z
        .array(
          z
            .string()
            .regex(
              /^[a-z][a-z0-9-]*=\S+$/,
              "entries must be <server>=<resource URL>, e.g. presto=https://presto.example.com",
            )
            .transform((entry): [string, string] => [
              entry.slice(0, entry.indexOf("=")),
              entry.slice(entry.indexOf("=") + 1),
            ])
            .refine(([, url]) => URL.canParse(url), { message: "must name a URL after =" }),
        )
        .min(1),
    ),
  SCOPES: z
    .string()
    .transform(list(/\s+/))
    .refine((scopes) => !scopes.includes(ADMIN_SCOPE), {
      message: `must not list ${ADMIN_SCOPE} (always granted, for /admin only)`,
    }),
  OIDC_ISSUER: z.url(),
  OIDC_CLIENT_ID: z.string().min(1),
  OIDC_CLIENT_SECRET: z.string().min(1),
  OIDC_GROUPS_CLAIM: z.string().min(1).default("groups"),
  OIDC_SCOPES: z
    .string()
    .default("openid profile email groups offline_access")
    .transform(list(/\s+/))
    .refine((scopes) => scopes.includes("openid"), { message: 'must include "openid"' }),
  OIDC_ALLOWED_DOMAINS: z.string().optional(),
  OIDC_REQUIRED_CLAIMS: z.string().optional(),
  ADMINS_GROUP: z.string().min(1).default("admins"),
  // The library's floor is 60 s; the absolute lifetime must cover at least one idle period.
  REFRESH_IDLE_SECONDS: z.coerce
    .number()
    .int()
    .min(60)
    .default(7 * DAY),
  REFRESH_ABSOLUTE_SECONDS: z.coerce
    .number()
    .int()
    .min(60)
    .default(30 * DAY),
  SERVICE_IDENTITIES: z.string().optional(),
  CONSENT_SECRET: z.string().min(32).optional(),
});

let cached: { key: string; config: AuthConfig } | undefined;

export function readConfig(env: AuthEnv): AuthConfig {
  const raw = {
    AUTH_ISSUER: env.AUTH_ISSUER,
    RESOURCES: env.RESOURCES,
    SCOPES: env.SCOPES,
    OIDC_ISSUER: env.OIDC_ISSUER,
    OIDC_CLIENT_ID: env.OIDC_CLIENT_ID,
    OIDC_CLIENT_SECRET: env.OIDC_CLIENT_SECRET,
    OIDC_GROUPS_CLAIM: env.OIDC_GROUPS_CLAIM || undefined,
    OIDC_SCOPES: env.OIDC_SCOPES || undefined,
    OIDC_ALLOWED_DOMAINS: env.OIDC_ALLOWED_DOMAINS || undefined,
    OIDC_REQUIRED_CLAIMS: env.OIDC_REQUIRED_CLAIMS || undefined,
    ADMINS_GROUP: env.ADMINS_GROUP || undefined,
    REFRESH_IDLE_SECONDS: env.REFRESH_IDLE_SECONDS || undefined,
    REFRESH_ABSOLUTE_SECONDS: env.REFRESH_ABSOLUTE_SECONDS || undefined,
    SERVICE_IDENTITIES: env.SERVICE_IDENTITIES || undefined,
    CONSENT_SECRET: env.CONSENT_SECRET || undefined,
  };
  const key = JSON.stringify(raw);
  if (cached?.key === key) return cached.config;
  const parsed = Vars.safeParse(raw);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join(".")} ${issue.message}`);
    throw new Error(`auth Worker misconfigured: ${problems.join("; ")}`);
  }
  const vars = parsed.data;
  const servers = new Map<string, string>();
  for (const [server, resource] of vars.RESOURCES) {
    if (servers.has(server)) throw new Error(`auth Worker misconfigured: RESOURCES names ${server} twice`);
    servers.set(server, resource);
  }
  if (vars.REFRESH_ABSOLUTE_SECONDS < vars.REFRESH_IDLE_SECONDS) {
    throw new Error("auth Worker misconfigured: REFRESH_ABSOLUTE_SECONDS is shorter than REFRESH_IDLE_SECONDS");
  }
  let admission: Admission;
  try {
    admission = parseAdmission(vars.OIDC_ISSUER, vars.OIDC_ALLOWED_DOMAINS, vars.OIDC_REQUIRED_CLAIMS);
  } catch (error) {
    throw new Error(`auth Worker misconfigured: ${(error as Error).message}`);
  }
  const adminResource = `${vars.AUTH_ISSUER}${ADMIN_PATH}`;
  const config: AuthConfig = {
    issuer: vars.AUTH_ISSUER,
    servers,
    resources: [...servers.values(), adminResource],
    adminResource,
    scopes: [...vars.SCOPES, ADMIN_SCOPE],
    adminsGroup: vars.ADMINS_GROUP,
    refresh: { idleSeconds: vars.REFRESH_IDLE_SECONDS, absoluteSeconds: vars.REFRESH_ABSOLUTE_SECONDS },
    sso: {
      issuer: vars.OIDC_ISSUER,
      clientId: vars.OIDC_CLIENT_ID,
      clientSecret: vars.OIDC_CLIENT_SECRET,
      scopes: vars.OIDC_SCOPES,
      groupsClaim: vars.OIDC_GROUPS_CLAIM,
      redirectUri: `${vars.AUTH_ISSUER}${SSO_CALLBACK_PATH}`,
      admission,
    },
    services: parseServiceIdentities(vars.SERVICE_IDENTITIES, vars.SCOPES),
    ...(vars.CONSENT_SECRET ? { consentSecret: vars.CONSENT_SECRET } : {}),
  };
  cached = { key, config };
  return config;
}
