import { ToolError } from "../../shared/mcp/errors";

/** The Spark server's settings (wrangler `[vars]` and secrets), read and checked once per session. */

/** How a request authenticates to an upstream: nothing, a bearer token, or HTTP Basic. */
export type UpstreamAuth =
  | { kind: "none" }
  | { kind: "bearer"; token: string }
  | { kind: "basic"; user: string; password: string };

export interface SparkConfig {
  /** The History Server's base URL (its REST API is under /api/v1), without a trailing slash. */
  historyUrl: string;
  historyAuth: UpstreamAuth;
  /** Livy's base URL; undefined: the batch tools answer that Livy is not configured. */
  livyUrl?: string;
  livyAuth: UpstreamAuth;
  /** Every upstream request's timeout. */
  requestTimeoutMs: number;
  /** Submit batches as the caller (Livy `proxyUser` = their principal) or as Livy's own user. */
  livyProxyUser: "caller" | "none";
  /** When non-empty, a batch's file (and jars, pyFiles) must start with one of these. */
  livyAllowedFilePrefixes: string[];
}

const DEFAULT_REQUEST_TIMEOUT_MS = 10_000;

export function readSparkConfig(env: Record<string, unknown>): SparkConfig {
  const livyUrl = setting(env, "LIVY_URL");
  return {
    historyUrl: baseUrl(
      "SPARK_HISTORY_URL",
      setting(env, "SPARK_HISTORY_URL"),
      "https://spark-history.example.com:18080",
    ),
    historyAuth: auth(env, "SPARK_HISTORY"),
    ...(livyUrl ? { livyUrl: baseUrl("LIVY_URL", livyUrl, "https://livy.example.com:8998") } : {}),
    livyAuth: auth(env, "LIVY"),
    requestTimeoutMs: milliseconds(env, "SPARK_REQUEST_TIMEOUT_MS", DEFAULT_REQUEST_TIMEOUT_MS),
    livyProxyUser: proxyUser(setting(env, "LIVY_PROXY_USER")),
    livyAllowedFilePrefixes: (setting(env, "LIVY_ALLOWED_FILE_PREFIXES") ?? "")
      .split(",")
      .map((prefix) => prefix.trim())
      .filter(Boolean),
  };
}

/** The Authorization header for `auth`, if any. */
export function authorizationHeader(auth: UpstreamAuth): string | undefined {
  if (auth.kind === "bearer") return `Bearer ${auth.token}`;
  if (auth.kind === "basic") return `Basic ${btoa(`${auth.user}:${auth.password}`)}`;
  return undefined;
}

function configError(message: string): ToolError {
  return new ToolError(`The Spark server is misconfigured: ${message}`, "internal");
}

function setting(env: Record<string, unknown>, name: string): string | undefined {
  const value = env[name];
  if (typeof value !== "string" && typeof value !== "number") return undefined;
  const text = String(value).trim();
  return text === "" ? undefined : text;
}

function baseUrl(name: string, value: string | undefined, example: string): string {
  if (value === undefined) throw configError(`${name} is not set; set it to the server's URL, e.g. ${example}`);
  if (!URL.canParse(value) || !["http:", "https:"].includes(new URL(value).protocol)) {
    throw configError(`${name} must be an http(s) URL, got ${JSON.stringify(value)}`);
  }
  return value.replace(/\/+$/, "");
}

/** `<PREFIX>_TOKEN` (bearer), or `<PREFIX>_USER` with `<PREFIX>_PASSWORD` (Basic), or neither. */
function auth(env: Record<string, unknown>, prefix: string): UpstreamAuth {
  const token = setting(env, `${prefix}_TOKEN`);
  const user = setting(env, `${prefix}_USER`);
  const password = setting(env, `${prefix}_PASSWORD`);
  if (token && (user || password))
    throw configError(`set either ${prefix}_TOKEN or ${prefix}_USER/${prefix}_PASSWORD, not both`);
  if (token) return { kind: "bearer", token };
  if (user && password) return { kind: "basic", user, password };
  if (user || password) throw configError(`${prefix}_USER and ${prefix}_PASSWORD go together`);
  return { kind: "none" };
}

function proxyUser(value: string | undefined): SparkConfig["livyProxyUser"] {
  const mode = (value ?? "caller").toLowerCase();
  if (mode !== "caller" && mode !== "none") {
    throw configError(`LIVY_PROXY_USER must be "caller" or "none", got ${JSON.stringify(value)}`);
  }
  return mode;
}

function milliseconds(env: Record<string, unknown>, name: string, fallback: number): number {
  const value = setting(env, name);
  if (value === undefined) return fallback;
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed <= 0) {
    throw configError(`${name} must be a positive number of milliseconds, got ${JSON.stringify(value)}`);
  }
  return parsed;
}
