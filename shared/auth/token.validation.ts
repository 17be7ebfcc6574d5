/**
 * Access tokens at a domain server. Tokens are issued by the auth Worker and validated by it over
 * a Service Binding (RPC); results are cached briefly per isolate so a session's calls do not each
 * pay a round trip. A revoked grant therefore stops working within CACHE_TTL_MS.
 */
import type { Caller } from "./caller";

/** What the auth Worker stores with a grant (user) or a service token. */
export type TokenProps =
  | { kind: "user"; sub: string; name?: string; email?: string; username?: string; groups?: string[] }
  | { kind: "service"; name: string };

export interface TokenValidation {
  props: TokenProps;
  audience: string;
  expiresAt?: number;
  scope?: string[];
  userId?: string;
  clientId?: string;
}

/** The auth Worker's RPC surface, as a domain Worker's `AUTH` binding sees it. */
export interface AuthBinding {
  validateToken(resource: string, token: string): Promise<TokenValidation | null>;
}

export const CACHE_TTL_MS = 60_000;
const CACHE_MAX = 10_000;

interface Cached {
  result: TokenValidation;
  until: number;
}

const cache = new Map<string, Cached>();

/** Validates through the binding; a valid result is reused until min(expiry, 60 s). Fails closed. */
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
    return { kind: "service", id: `service:${props.name}`, name: props.name, groups: [], scopes: [...scope] };
  }
  const login = props.username ?? props.email?.split("@")[0] ?? props.sub;
  return { kind: "user", id: props.sub, name: login, groups: [...(props.groups ?? [])], scopes: [...scope] };
}
