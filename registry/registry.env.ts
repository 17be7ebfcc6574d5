import type { AuthBinding } from "../shared/auth/token.validation";

/** The registry Worker's bindings and settings (root wrangler.toml). */
export interface RegistryEnv {
  DB: D1Database;
  /**
   * The auth Worker: `validateToken` for the write API, the access API and signed-in pages, and
   * `fetch` for the page's own OAuth calls (discovery, registration, tokens, revocation).
   */
  AUTH: AuthBinding & { fetch(request: Request): Promise<Response> };
  /** Sessions of the registry's own MCP server (/mcp). */
  SESSIONS: DurableObjectNamespace;
  /** This Worker's public origin: the OAuth resource its tokens are bound to. */
  PUBLIC_URL: string;
  AUTH_ISSUER: string;
  /** Reverse-DNS namespace of every server name, e.g. com.example.mcp-fleet. */
  REGISTRY_NAMESPACE: string;
  /** The environment access answers are given for when a query names none (e.g. production). */
  FLEET_ENV: string;
  /** Members may record reviews and approve servers. */
  REVIEWERS_GROUP: string;
  /** Members may do anything in the registry. */
  ADMINS_GROUP: string;
  /** Service identities allowed to publish any server (the pipeline), comma separated. */
  PUBLISHERS: string;
  /** Where raw invocations older than the retention window are exported (NDJSON per day). */
  ANALYTICS_EXPORT?: R2Bucket;
  /** Days of raw invocations kept in D1 (default 90); rollups are kept forever. */
  ANALYTICS_RETENTION_DAYS?: string;
  /** Days an ended approval request is kept (default 90); its audit rows are kept regardless. */
  APPROVALS_RETENTION_DAYS?: string;
  ALLOWED_HOSTS?: string;
  ALLOWED_ORIGINS?: string;
}
