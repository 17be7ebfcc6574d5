/**
 * Access tokens at a domain server. Tokens are issued by the auth Worker and validated by it over
 * a Service Binding (RPC) to its `TokenValidator` entrypoint, bound to this server alone; results
 * are cached briefly per isolate so a session's calls do not each pay a round trip. A revocation
 * therefore reaches a server within CACHE_TTL_MS (plus the auth Worker's own 30 s, see docs/identity.md).
 */
import type { Caller } from "./caller";

/** What the auth Worker puts in an access token: a user's identity and groups, or a service. */
export type TokenProps =
  | {
      kind: "user";
      /** The IdP (OpenID Connect issuer) and its subject: who signed in. */
      iss?: string;
      sub: string;
      /** The identity of record the auth Worker derived (see Caller.principal). */
      principal?: string;
      name?: string;
      email?: string;
      username?: string;
      groups?: string[];
    }
  | { kind: "service"; name: string };

export interface TokenValidation {
  props: TokenProps;
  audience: string;
  expiresAt?: number;
  scope?: string[];
  userId?: string;
  clientId?: string;
}

/**
 * The auth Worker's RPC surface, as a domain Worker's `AUTH` binding sees it: the
 * `TokenValidator` entrypoint with `props = { server = "<name>" }`. It validates tokens for that
 * server's resource only (another `resource` is refused) and offers nothing else.
 */
export interface AuthBinding {
  validateToken(resource: string, token: string): Promise<TokenValidation | null>;
}

/** With the auth Worker's 30 s read of revocations, a revocation takes effect within 60 s. */
export const CACHE_TTL_MS = 30_000;
const CACHE_MAX = 10_000;

interface Cached {
  result: TokenValidation;
  until: number;
}

const cache = new Map<string, Cached>();

/** Validates through the binding; a valid result is reused until min(expiry, 30 s). Fails closed. */
export function cachedValidator(auth: AuthBinding) {
  return async (resource: string, token: string): Promise<TokenValidation | null> => {
    const key = `${resource} ${token}`;
    const now = Date.now();
    const hit = cache.get(key);
    if (hit && hit.until > now) return hit.result;
    if (hit) cache.delete(key);
    const result = await auth.validateToken(resource, token);
    if (result) {
      const expiresAtMs = result.expiresAt ? result.expiresAt * 1000 : now + CACHE_TTL_MS;
      if (cache.size >= CACHE_MAX) cache.delete(cache.keys().next().value as string);
      cache.set(key, { result, until: Math.min(expiresAtMs, now + CACHE_TTL_MS) });
    }
    return result;
  };
}

/** The fleet's caller, from what the auth Worker verified about the token. */
export function callerFrom(props: TokenProps, scope: readonly string[]): Caller {
  if (props.kind === "service") {
    const { name } = props;
    const id = `service:${name}`;
    return { kind: "service", id, principal: name, subject: id, name, groups: [], scopes: [...scope] };
  }
  // Tokens issued before the auth Worker derived a principal carry only the subject.
  const principal = props.principal ?? props.sub;
  const login = props.username ?? props.email?.split("@")[0] ?? props.sub;
  return {
    kind: "user",
    id: `user:${principal}`,
    principal,
    subject: props.iss ? `${props.iss}#${props.sub}` : props.sub,
    name: login,
    groups: [...(props.groups ?? [])],
    scopes: [...scope],
  };
}
