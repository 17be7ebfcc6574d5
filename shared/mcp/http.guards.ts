/**
 * DNS-rebinding protection: the Host a request names, and the Origin a browser sends, must be
 * one of the server's configured hosts. Anything else is refused with 403 before routing.
 */
import type { KitEnv } from "./server.definition";

function listOf(value: string | undefined): string[] {
  return (value ?? "")
    .split(",")
    .map((item) => item.trim().toLowerCase())
    .filter(Boolean);
}

const allowedByConfig = new Map<string, Set<string>>();

/** Hostnames (without port) this Worker answers to. Empty configuration accepts nothing. */
export function allowedHostnames(env: KitEnv): Set<string> {
  const key = `${env.PUBLIC_URL} ${env.ALLOWED_HOSTS}`;
  let hosts = allowedByConfig.get(key);
  if (!hosts) {
    hosts = new Set(listOf(env.ALLOWED_HOSTS));
    if (env.PUBLIC_URL) hosts.add(new URL(env.PUBLIC_URL).hostname.toLowerCase());
    allowedByConfig.set(key, hosts);
  }
  return hosts;
}

export function checkHostAndOrigin(request: Request, env: KitEnv): string | undefined {
  const hosts = allowedHostnames(env);
  const host = request.headers.get("host") ?? new URL(request.url).host;
  const hostname = hostnameOf(host);
  if (!hostname || !hosts.has(hostname)) return `Host "${host}" is not one of this server's hosts`;
  const origin = request.headers.get("origin");
  if (origin && origin !== "null") {
    const originHost = safeHostname(origin);
    if (!originHost || !(hosts.has(originHost) || listOf(env.ALLOWED_ORIGINS).includes(origin.toLowerCase()))) {
      return `Origin "${origin}" is not allowed`;
    }
  }
  return undefined;
}

function hostnameOf(host: string): string | undefined {
  return safeHostname(`http://${host}`);
}

function safeHostname(url: string): string | undefined {
  try {
    return new URL(url).hostname.toLowerCase();
  } catch {
    return undefined;
  }
}
