/** Access tokens for the end-to-end tests, obtained through the real flows and cached per run. */
import { inject } from "vitest";
import { LOCAL_SERVICES } from "../../local/fleet.ts";
import { serviceToken, signIn } from "../../local/oauth.client.ts";

const authUrl = inject("authUrl");
/**
 * Kept for less than the access token's life (300 s, workers/auth): a run's files share this module
 * (vitest.config.ts: e2e `isolate: false`) and a run can last longer than a token.
 */
const CACHE_MS = 120_000;
const cache = new Map<string, { token: Promise<string>; at: number }>();

/** A user's access token for `resource` (sign-in with consent and SSO on first use). */
export function userToken(username: string, resource: string, scope = "presto:read"): Promise<string> {
  const key = `${username} ${resource} ${scope}`;
  const cached = cache.get(key);
  if (cached && Date.now() - cached.at < CACHE_MS) return cached.token;
  const token = signIn(authUrl, username, resource, scope).then((tokens) => tokens.access_token);
  cache.set(key, { token, at: Date.now() });
  token.catch(() => cache.delete(key));
  return token;
}

/** The local `reporting-bot` service identity's token for `resource` (client credentials). */
export async function botToken(resource: string, scope?: string): Promise<string> {
  const response = await serviceToken(
    authUrl,
    { name: "reporting-bot", secret: LOCAL_SERVICES["reporting-bot"].secret },
    resource,
    scope,
  );
  if (!response.ok) throw new Error(`client credentials failed: ${response.status} ${await response.text()}`);
  return ((await response.json()) as { access_token: string }).access_token;
}

export const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

/** A raw `initialize` POST (to see the HTTP status and headers an SDK client would hide). */
export function postInitialize(url: string, headers: Record<string, string>): Promise<Response> {
  return fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", accept: "application/json, text/event-stream", ...headers },
    body: JSON.stringify({
      jsonrpc: "2.0",
      id: 1,
      method: "initialize",
      params: { protocolVersion: "2025-11-25", capabilities: {}, clientInfo: { name: "e2e", version: "1" } },
    }),
  });
}
