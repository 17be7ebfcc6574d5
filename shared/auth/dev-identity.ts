/**
 * Development-only identity, for local runs before/without the OAuth provider. Off unless the
 * Worker's DEV_IDENTITY var is "on" (set only by `npm start` and tests, never in a deploy
 * config), and even then honoured only for requests addressed to a loopback host.
 *
 *   X-Fleet-Dev-User: alice; groups=data-eng,ads; scopes=presto:read
 *   X-Fleet-Dev-User: service:etl-bot; scopes=presto:read
 */
import type { Caller } from "./caller";

export const DEV_USER_HEADER = "x-fleet-dev-user";

const LOOPBACK = new Set(["localhost", "127.0.0.1", "[::1]"]);

export function isLoopback(url: URL): boolean {
  return LOOPBACK.has(url.hostname);
}

export function devIdentityEnabled(env: { DEV_IDENTITY?: string }, url: URL): boolean {
  return env.DEV_IDENTITY === "on" && isLoopback(url);
}

/** Parses `name; groups=a,b; scopes=x y`. `defaultScopes` apply when none are given. */
export function parseDevCaller(value: string, defaultScopes: readonly string[]): Caller | undefined {
  const [rawName, ...attributes] = value.split(";").map((part) => part.trim());
  if (!rawName || !/^(service:)?[a-z0-9][a-z0-9._-]{0,63}$/i.test(rawName)) return undefined;
  const attrs = new Map(
    attributes.map((attr) => {
      const at = attr.indexOf("=");
      return [attr.slice(0, at).trim().toLowerCase(), attr.slice(at + 1).trim()] as const;
    }),
  );
  const list = (key: string, separator: RegExp) =>
    (attrs.get(key) ?? "")
      .split(separator)
      .map((item) => item.trim())
      .filter(Boolean);
  const scopes = attrs.has("scopes") ? list("scopes", /[\s,]+/) : [...defaultScopes];
  if (rawName.startsWith("service:")) {
    return { kind: "service", id: rawName, name: rawName.slice("service:".length), groups: [], scopes };
  }
  return { kind: "user", id: `dev:${rawName}`, name: rawName, groups: list("groups", /,/), scopes };
}
