/**
 * Service identities: machine callers (bots, pipelines) that get tokens with the client
 * credentials grant (RFC 6749 §4.4), which the OAuth library does not implement. Services are
 * configured, not registered: `SERVICE_IDENTITIES` lists each one's name, the SHA-256 of its
 * secret and the scopes it may ask for. A token is opaque (`svc_` + 32 random bytes), bound to one
 * resource (RFC 8707), and stored in KV only by its hash, for five minutes.
 */
import type { ValidatedAccessToken } from "@cloudflare/workers-oauth-provider";
import { z } from "zod";
import type { TokenProps } from "../../shared/auth/token.validation";
import { hexBytes, randomToken, sha256, sha256Hex } from "./auth.crypto";
import { isRevoked } from "./auth.revocations";

export interface ServiceIdentity {
  name: string;
  secretSha256: Uint8Array;
  scopes: string[];
}

interface ServiceTokenRecord {
  service: string;
  scope: string[];
  audience: string;
  /** Seconds since the Unix epoch. */
  expiresAt: number;
}

export const SERVICE_TOKEN_PREFIX = "svc_";
export const SERVICE_TOKEN_TTL_SECONDS = 300;
const KV_PREFIX = "svc-token:";

const ServiceList = z.array(
  z.strictObject({
    name: z.string().regex(/^[a-z0-9][a-z0-9._-]{0,63}$/, "must be lowercase letters, digits, '.', '_' or '-'"),
    secretSha256: z.string().regex(/^[0-9a-f]{64}$/i, "must be the hex SHA-256 of the secret"),
    scopes: z.array(z.string().min(1)).min(1),
  }),
);

/** Parses `SERVICE_IDENTITIES`; every scope must be one the server grants. */
export function parseServiceIdentities(
  json: string | undefined,
  scopesSupported: readonly string[],
): ServiceIdentity[] {
  if (!json) return [];
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch {
    throw new Error("SERVICE_IDENTITIES is not valid JSON");
  }
  const parsed = ServiceList.safeParse(value);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join(".")} ${issue.message}`);
    throw new Error(`SERVICE_IDENTITIES: ${problems.join("; ")}`);
  }
  const names = new Set<string>();
  return parsed.data.map((service) => {
    if (names.has(service.name)) throw new Error(`SERVICE_IDENTITIES: ${service.name} is listed twice`);
    names.add(service.name);
    const unknown = service.scopes.filter((scope) => !scopesSupported.includes(scope));
    if (unknown.length > 0) {
      throw new Error(`SERVICE_IDENTITIES: ${service.name} has scopes outside SCOPES: ${unknown.join(" ")}`);
    }
    return { name: service.name, secretSha256: hexBytes(service.secretSha256), scopes: service.scopes };
  });
}

export interface ClientCredentialsContext {
  services: readonly ServiceIdentity[];
  resources: readonly string[];
  kv: KVNamespace;
}

/** Answers a token request whose `grant_type` is `client_credentials` (RFC 6749 §4.4, §5). */
export async function clientCredentialsGrant(
  request: Request,
  form: URLSearchParams,
  context: ClientCredentialsContext,
): Promise<Response> {
  for (const key of new Set(form.keys())) {
    if (key !== "resource" && form.getAll(key).length > 1) {
      return tokenError(400, "invalid_request", `Request parameter "${key}" must not be repeated`);
    }
  }
  const credentials = clientCredentials(request, form);
  if (credentials.kind === "conflict") {
    return tokenError(400, "invalid_request", "Client must not use multiple authentication methods");
  }
  const service = credentials.kind === "ok" ? await authenticate(context.services, credentials) : undefined;
  if (!service) {
    const client = credentials.clientId?.slice(0, 64) ?? null;
    console.warn(JSON.stringify({ audit: "service-token-refused", client }));
    const challenge: Record<string, string> = credentials.basic ? { "WWW-Authenticate": 'Basic realm="OAuth"' } : {};
    return tokenError(401, "invalid_client", "Client authentication failed", challenge);
  }
  if (await isRevoked(context.kv, [`service:${service.name}`])) {
    console.warn(JSON.stringify({ audit: "service-token-refused", client: service.name, reason: "revoked" }));
    return tokenError(400, "unauthorized_client", "This service's access has been revoked by an administrator");
  }

  const resources = form.getAll("resource");
  const resource = resources[0];
  if (resources.length !== 1 || resource === undefined) {
    return tokenError(400, "invalid_target", "Name exactly one resource");
  }
  if (!context.resources.includes(resource)) {
    return tokenError(400, "invalid_target", "The resource is not served by this authorization server");
  }
  const requested = form.get("scope")?.split(" ").filter(Boolean) ?? [];
  const scope = requested.length > 0 ? [...new Set(requested)] : service.scopes;
  if (!scope.every((item) => service.scopes.includes(item))) {
    return tokenError(400, "invalid_scope", "The requested scope exceeds what this service may ask for");
  }

  const token = `${SERVICE_TOKEN_PREFIX}${randomToken()}`;
  const record: ServiceTokenRecord = {
    service: service.name,
    scope,
    audience: resource,
    expiresAt: Math.floor(Date.now() / 1000) + SERVICE_TOKEN_TTL_SECONDS,
  };
  await context.kv.put(`${KV_PREFIX}${await sha256Hex(token)}`, JSON.stringify(record), {
    expirationTtl: SERVICE_TOKEN_TTL_SECONDS,
  });
  console.log(JSON.stringify({ audit: "service-token-issued", service: service.name, audience: resource, scope }));
  return Response.json(
    { access_token: token, token_type: "Bearer", expires_in: SERVICE_TOKEN_TTL_SECONDS, scope: scope.join(" ") },
    { headers: NO_STORE },
  );
}

export function isServiceToken(token: string): boolean {
  // The library's tokens are `userId:grantId:secret`; ours never contain ":".
  return token.startsWith(SERVICE_TOKEN_PREFIX) && !token.includes(":");
}

/** A service token valid for `resource`, by the service still configured; `null` otherwise. */
export async function validateServiceToken(
  kv: KVNamespace,
  services: readonly ServiceIdentity[],
  resource: string,
  token: string,
): Promise<ValidatedAccessToken<TokenProps> | null> {
  const record = await kv.get<ServiceTokenRecord>(`${KV_PREFIX}${await sha256Hex(token)}`, "json");
  if (!record || record.expiresAt <= Date.now() / 1000 || record.audience !== resource) return null;
  const service = services.find((candidate) => candidate.name === record.service);
  if (!service) return null;
  return {
    props: { kind: "service", name: service.name },
    audience: record.audience,
    expiresAt: record.expiresAt,
    scope: record.scope.filter((scope) => service.scopes.includes(scope)),
    userId: `service:${service.name}`,
    clientId: service.name,
  };
}

type Credentials =
  | { kind: "ok"; basic: boolean; clientId: string; clientSecret: string }
  | { kind: "missing"; basic: boolean; clientId?: string }
  | { kind: "conflict" };

/** `client_secret_basic` (RFC 6749 §2.3.1: form-encoded id and secret) or `client_secret_post`. */
function clientCredentials(request: Request, form: URLSearchParams): Credentials {
  const header = request.headers.get("Authorization");
  const formId = form.get("client_id") || undefined;
  const formSecret = form.get("client_secret") || undefined;
  if (header && /^basic(\s|$)/i.test(header)) {
    if (formId || formSecret) return { kind: "conflict" };
    const decoded = decodeBasic(header.slice(5).trim());
    return decoded ? { kind: "ok", basic: true, ...decoded } : { kind: "missing", basic: true };
  }
  if (formId && formSecret) return { kind: "ok", basic: false, clientId: formId, clientSecret: formSecret };
  return { kind: "missing", basic: false, ...(formId ? { clientId: formId } : {}) };
}

function decodeBasic(encoded: string): { clientId: string; clientSecret: string } | undefined {
  try {
    const plain = atob(encoded);
    const separator = plain.indexOf(":");
    if (separator <= 0) return undefined;
    const decode = (part: string) => decodeURIComponent(part.replace(/\+/g, " "));
    return { clientId: decode(plain.slice(0, separator)), clientSecret: decode(plain.slice(separator + 1)) };
  } catch {
    return undefined;
  }
}

const UNKNOWN_SERVICE_DIGEST = new Uint8Array(32);

/** The service whose secret this is. The digest comparison takes the same time whether or not the name exists. */
async function authenticate(
  services: readonly ServiceIdentity[],
  credentials: { clientId: string; clientSecret: string },
): Promise<ServiceIdentity | undefined> {
  const service = services.find((candidate) => candidate.name === credentials.clientId);
  const presented = await sha256(credentials.clientSecret);
  const matches = crypto.subtle.timingSafeEqual(presented, service?.secretSha256 ?? UNKNOWN_SERVICE_DIGEST);
  return service && matches ? service : undefined;
}

const NO_STORE = { "Cache-Control": "no-store", Pragma: "no-cache" };

function tokenError(status: number, error: string, description: string, headers: Record<string, string> = {}) {
  return Response.json({ error, error_description: description }, { status, headers: { ...NO_STORE, ...headers } });
}
