import type { Caller } from "../auth/caller";
import type { ServerAccess } from "../auth/policy";
import type { AuthBinding } from "../auth/token.validation";
import type { RegistryBinding } from "../registry/registry.contract";
import type { Prompt } from "./prompt";
import type { Resource } from "./resource";
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
  /**
   * Per identity (user or service) on this server, in every era; defaults in caller.limits.ts
   * (DEFAULT_LIMITS): calls a minute, calls in flight, open 2025 sessions.
   */
  limits?: { callsPerMinute?: number; callsInFlight?: number; openSessions?: number };
  /** Who runs the server: published to the registry with every version. */
  owner: ServerOwner;
  /**
   * Who may use the server. `scopes` is enforced from here. `groups` and `services` are only the
   * proposal published in server.json: at runtime the registry's allowed groups and services
   * govern (see shared/registry/registry.gate.ts).
   */
  access: ServerAccess;
  tools: readonly Tool<Upstreams>[];
  /** Resources and resource templates (defineResource); the resources capability only when there are any. */
  resources?: readonly Resource<Upstreams>[];
  /** Prompts (definePrompt); the prompts capability only when there are any. */
  prompts?: readonly Prompt<Upstreams>[];
  /**
   * A call of one of its read-only tools that succeeds whenever the server and its upstream are
   * healthy: the fleet's contract test makes it on every server, over every transport.
   */
  example: ExampleCall;
  /** Builds the upstream API clients from the Worker's configuration; called once per session. */
  upstreams: (env: Record<string, unknown>) => Upstreams;
}

/** A tool call with arguments its schema accepts, e.g. `{ tool: "presto_list_catalogs", arguments: {} }`. */
export interface ExampleCall {
  tool: string;
  arguments: Record<string, unknown>;
}

/** The owning team and how to reach it. */
export interface ServerOwner {
  /** The owning team: a business group whose members may publish and manage the server. */
  team: string;
  /** Where users ask for help, e.g. "#data-eng-help". */
  supportChannel: string;
  /** Who is paged when the server is down, e.g. an on-call rotation. */
  onCall: string;
}

/** The bindings and settings every domain Worker has (its own vars come on top). */
export interface KitEnv {
  SESSIONS: DurableObjectNamespace;
  /** Per-caller state (2026-07-28 requests): one object per identity on this server. */
  CALLERS?: DurableObjectNamespace;
  /** Override the server's declared per-caller limits (whole numbers). */
  CALLS_PER_MINUTE?: string;
  CALLS_IN_FLIGHT?: string;
  /** Override the server's declared cap on open 2025 sessions per caller (a whole number). */
  OPEN_SESSIONS?: string;
  /** Tasks kept per caller (the tasks extension; default 32) and how long each is kept, ms (default 1 hour). */
  TASKS_PER_CALLER?: string;
  TASK_TTL_MS?: string;
  /** Secret (at least 32 bytes) signing approval requestStates on 2026-07-28; without it approvals there are refused. */
  APPROVAL_STATE_KEY?: string;
  DB: D1Database;
  /** The auth Worker (Service Binding to its `validateToken` RPC). */
  AUTH: AuthBinding;
  /** The auth Worker's issuer URL, e.g. https://auth.mcp.example.com. */
  AUTH_ISSUER: string;
  /** This Worker's public origin, e.g. https://presto.mcp.example.com: its OAuth resource identifier. */
  PUBLIC_URL: string;
  /** The registry Worker (Service Binding to its `serverPolicy` RPC): lifecycle, environments, access. */
  REGISTRY: RegistryBinding;
  /** The environment this deployment runs in (e.g. production, staging, local); default "production". */
  FLEET_ENV?: string;
  /** How long a policy read from the registry is used before it is asked again (ms); default 30000. */
  REGISTRY_CACHE_MS?: string;
  /** The namespace of published server names, e.g. "com.example.mcp-fleet" (the default). */
  REGISTRY_NAMESPACE?: string;
  /** Extra hostnames accepted in Host/Origin (comma separated); loopback only for local runs. */
  ALLOWED_HOSTS?: string;
  /** Extra browser origins accepted (comma separated). */
  ALLOWED_ORIGINS?: string;
  /** How long a human has to answer an approval request (ms); default 300000, then "not approved". */
  APPROVAL_TIMEOUT_MS?: string;
  /**
   * The registry's public origin, e.g. https://registry.mcp.example.com: high-risk approvals are
   * given on its page (`/approvals/<id>`). Without it such tools refuse every call.
   */
  REGISTRY_URL?: string;
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
