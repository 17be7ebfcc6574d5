/**
 * The auth Worker's configuration: its bindings, and the vars and secrets read once per isolate
 * into a checked `AuthConfig`. A misconfiguration fails every request with a message naming the
 * setting, rather than half-working.
 */
import { z } from "zod";
import { parseServiceIdentities, type ServiceIdentity } from "./auth.services";

export interface AuthEnv {
  OAUTH_KV: KVNamespace;
  /** This server's issuer: an origin, e.g. https://auth.mcp.example.com. */
  AUTH_ISSUER: string;
  /** The domain servers' canonical resource URLs, comma separated. */
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
  /** Scopes asked of the IdP. Default `openid profile email groups`. */
  OIDC_SCOPES?: string;
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
}

export interface AuthConfig {
  issuer: string;
  resources: string[];
  scopes: string[];
  sso: SsoSettings;
  services: ServiceIdentity[];
  consentSecret?: string;
}

export const SSO_CALLBACK_PATH = "/sso/callback";

const list = (separator: RegExp) => (value: string) => value.split(separator).filter(Boolean);

const origin = z.string().refine((value) => URL.canParse(value) && new URL(value).origin === value, {
  message: "must be an origin such as https://auth.example.com (no path, no trailing slash)",
});

const Vars = z.object({
  AUTH_ISSUER: origin,
  RESOURCES: z
    .string()
    .transform(list(/\s*,\s*/))
    .pipe(z.array(z.url()).min(1)),
  SCOPES: z.string().transform(list(/\s+/)),
  OIDC_ISSUER: z.url(),
  OIDC_CLIENT_ID: z.string().min(1),
  OIDC_CLIENT_SECRET: z.string().min(1),
  OIDC_GROUPS_CLAIM: z.string().min(1).default("groups"),
  OIDC_SCOPES: z
    .string()
    .default("openid profile email groups")
    .transform(list(/\s+/))
    .refine((scopes) => scopes.includes("openid"), { message: 'must include "openid"' }),
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
  const config: AuthConfig = {
    issuer: vars.AUTH_ISSUER,
    resources: vars.RESOURCES,
    scopes: vars.SCOPES,
    sso: {
      issuer: vars.OIDC_ISSUER,
      clientId: vars.OIDC_CLIENT_ID,
      clientSecret: vars.OIDC_CLIENT_SECRET,
      scopes: vars.OIDC_SCOPES,
      groupsClaim: vars.OIDC_GROUPS_CLAIM,
      redirectUri: `${vars.AUTH_ISSUER}${SSO_CALLBACK_PATH}`,
    },
    services: parseServiceIdentities(vars.SERVICE_IDENTITIES, vars.SCOPES),
    ...(vars.CONSENT_SECRET ? { consentSecret: vars.CONSENT_SECRET } : {}),
  };
  cached = { key, config };
  return config;
}
