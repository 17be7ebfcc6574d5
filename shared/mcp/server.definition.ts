import type { Caller } from "../auth/caller";
import type { ServerAccess } from "../auth/policy";
import type { AuthBinding } from "../auth/token.validation";
import type { Tool } from "./tool";

/** A domain server as its entry file declares it. */
export interface ServerSpec<Upstreams> {
  /** Registry name, lowercase (e.g. "presto"). */
  name: string;
  title: string;
  description: string;
  version: string;
  /** Shown to the model at initialize. */
  instructions?: string;
  /** The business-group gate: who may open a session at all. */
  access: ServerAccess;
  tools: readonly Tool<Upstreams>[];
  /** Builds the upstream API clients from the Worker's configuration; called once per session. */
  upstreams: (env: Record<string, unknown>) => Upstreams;
}

/** The bindings and settings every domain Worker has (its own vars come on top). */
export interface KitEnv {
  SESSIONS: DurableObjectNamespace;
  DB: D1Database;
  /** The auth Worker (Service Binding to its `validateToken` RPC). */
  AUTH: AuthBinding;
  /** The auth Worker's issuer URL, e.g. https://auth.mcp.example.com. */
  AUTH_ISSUER: string;
  /** This Worker's public origin, e.g. https://presto.mcp.example.com: its OAuth resource identifier. */
  PUBLIC_URL: string;
  /** Extra hostnames accepted in Host/Origin (comma separated); loopback only for local runs. */
  ALLOWED_HOSTS?: string;
  /** Extra browser origins accepted (comma separated). */
  ALLOWED_ORIGINS?: string;
}

/** A denial, for the audit trail. */
export interface AuditEvent {
  at: number;
  server: string;
  caller: Caller;
  action: string;
  decision: "denied";
  reason: string;
}
