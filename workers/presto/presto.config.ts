import { ToolError } from "../../shared/mcp/errors";

/** The Presto server's settings (wrangler `[vars]` and secrets), read and checked once. */

export interface PrestoConfig {
  /** Coordinator base URL, without a trailing slash. */
  url: string;
  /** Which header family the coordinator speaks: `X-Trino-*` or `X-Presto-*`. */
  dialect: "trino" | "presto";
  /** Default (service) user; also the HTTP Basic user when a password is set. */
  user: string;
  password?: string;
  catalog?: string;
  schema?: string;
  source: string;
  /** Limit for each HTTP call. */
  requestTimeoutMs: number;
  /** Limit for a whole query, from submission to its last page. */
  queryTimeoutMs: number;
  /** Run each query inside START TRANSACTION READ ONLY … COMMIT (default true). */
  readOnlyTransaction: boolean;
  /** Catalogs whose connector table functions (SQL pass-through, e.g. system.query) the guard allows. */
  passthroughCatalogs: string[];
}

const DEFAULT_USER = "mcp-fleet";
const DEFAULT_SOURCE = "mcp-fleet";
const DEFAULT_REQUEST_TIMEOUT_MS = 10_000;
const DEFAULT_QUERY_TIMEOUT_MS = 120_000;

export function readPrestoConfig(env: Record<string, unknown>): PrestoConfig {
  return {
    url: coordinatorUrl(setting(env, "PRESTO_URL")),
    dialect: dialect(setting(env, "PRESTO_DIALECT")),
    user: setting(env, "PRESTO_USER") ?? DEFAULT_USER,
    password: setting(env, "PRESTO_PASSWORD"),
    catalog: setting(env, "PRESTO_CATALOG"),
    schema: setting(env, "PRESTO_SCHEMA"),
    source: setting(env, "PRESTO_SOURCE") ?? DEFAULT_SOURCE,
    requestTimeoutMs: milliseconds(env, "PRESTO_REQUEST_TIMEOUT_MS", DEFAULT_REQUEST_TIMEOUT_MS),
    queryTimeoutMs: milliseconds(env, "PRESTO_QUERY_TIMEOUT_MS", DEFAULT_QUERY_TIMEOUT_MS),
    readOnlyTransaction: flag(env, "PRESTO_READ_ONLY_TRANSACTION", true),
    passthroughCatalogs: list(setting(env, "PRESTO_PASSTHROUGH_CATALOGS")),
  };
}

function configError(message: string): ToolError {
  return new ToolError(`The Presto server is misconfigured: ${message}`, "internal");
}

/** A non-empty setting as text; wrangler `[vars]` may hold numbers. */
function setting(env: Record<string, unknown>, name: string): string | undefined {
  const value = env[name];
  if (typeof value !== "string" && typeof value !== "number") return undefined;
  const text = String(value).trim();
  return text === "" ? undefined : text;
}

function coordinatorUrl(value: string | undefined): string {
  if (value === undefined)
    throw configError("PRESTO_URL is not set; set it to the coordinator URL, e.g. https://presto.example.com:8443");
  if (!URL.canParse(value) || !["http:", "https:"].includes(new URL(value).protocol)) {
    throw configError(`PRESTO_URL must be an http(s) URL, got ${JSON.stringify(value)}`);
  }
  return value.replace(/\/+$/, "");
}

function dialect(value: string | undefined): PrestoConfig["dialect"] {
  const name = (value ?? "trino").toLowerCase();
  if (name !== "trino" && name !== "presto") {
    throw configError(`PRESTO_DIALECT must be "trino" or "presto", got ${JSON.stringify(value)}`);
  }
  return name;
}

function flag(env: Record<string, unknown>, name: string, fallback: boolean): boolean {
  const value = setting(env, name)?.toLowerCase();
  if (value === undefined) return fallback;
  if (value === "true" || value === "false") return value === "true";
  throw configError(`${name} must be "true" or "false", got ${JSON.stringify(setting(env, name))}`);
}

/** A comma-separated setting as lowercase names, blanks dropped. */
function list(value: string | undefined): string[] {
  return (value ?? "")
    .split(",")
    .map((entry) => entry.trim().toLowerCase())
    .filter(Boolean);
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
