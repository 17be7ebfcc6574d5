/**
 * The fleet's D1 schema: the single source of types (drizzle) and of migrations (drizzle-kit).
 * Change it here, then `npm run db:generate` writes the next migration into migrations/.
 */
import { index, integer, primaryKey, real, sqliteTable, text } from "drizzle-orm/sqlite-core";

/** Where a server stands in its review: draft → in_review → approved → deprecated → retired. */
export const LIFECYCLES = ["draft", "in_review", "approved", "deprecated", "retired"] as const;
export type Lifecycle = (typeof LIFECYCLES)[number];

/** The reviews a server needs before it may be approved. */
export const REVIEW_KINDS = ["security", "legal", "genai"] as const;
export type ReviewKind = (typeof REVIEW_KINDS)[number];
export const REVIEW_STATES = ["pending", "approved", "changes_requested", "rejected"] as const;
export type ReviewState = (typeof REVIEW_STATES)[number];

/** Services allowed: `true` for every registered service, or their names. */
export type ServiceRule = boolean | string[];

/**
 * One row per registered server (its short name, e.g. "presto"): the governance that spans its
 * versions. What a version says about itself (server.json) lives in `server_versions`.
 */
export const servers = sqliteTable(
  "servers",
  {
    name: text("name").primaryKey(),
    /** The owning team: a business group whose members may publish and manage the server. */
    team: text("team").notNull(),
    supportChannel: text("support_channel").notNull(),
    onCall: text("on_call").notNull(),
    lifecycle: text("lifecycle", { enum: LIFECYCLES }).notNull().default("draft"),
    lifecycleChangedAt: integer("lifecycle_changed_at", { mode: "timestamp_ms" }).notNull(),
    /** Deployment environments the server is approved to run in (e.g. production, staging, local). */
    environments: text("environments", { mode: "json" }).$type<string[]>().notNull(),
    /** Business groups allowed to open a session at all; empty means every signed-in user. */
    allowedGroups: text("allowed_groups", { mode: "json" }).$type<string[]>().notNull(),
    allowedServices: text("allowed_services", { mode: "json" }).$type<ServiceRule>().notNull(),
    latestVersion: text("latest_version").notNull(),
    /**
     * What the last approval covered: the version reviewed and its tools digest (from
     * server_versions.tools_digest), written in the same statement that moves the server to
     * approved, on condition that this version is still the latest. Every domain server compares
     * its running version and inventory with these and refuses to serve when they differ.
     */
    approvedVersion: text("approved_version"),
    approvedToolsDigest: text("approved_tools_digest"),
    /** The last health probe, denormalised from health_checks for listing and filtering. */
    healthUp: integer("health_up", { mode: "boolean" }),
    healthCheckedAt: integer("health_checked_at", { mode: "timestamp_ms" }),
    healthLatencyMs: integer("health_latency_ms"),
    healthError: text("health_error"),
    createdAt: integer("created_at", { mode: "timestamp_ms" }).notNull(),
    updatedAt: integer("updated_at", { mode: "timestamp_ms" }).notNull(),
  },
  (t) => [index("servers_team").on(t.team), index("servers_updated").on(t.updatedAt)],
);

/** Each published version: the official server.json, as published, plus the registry's own facts. */
export const serverVersions = sqliteTable(
  "server_versions",
  {
    serverName: text("server_name")
      .notNull()
      .references(() => servers.name, { onDelete: "cascade" }),
    version: text("version").notNull(),
    title: text("title").notNull(),
    description: text("description").notNull(),
    /** The complete server.json document that was published (validated). */
    document: text("document", { mode: "json" }).$type<Record<string, unknown>>().notNull(),
    /** The official registry status of this version. */
    status: text("status", { enum: ["active", "deprecated", "deleted"] })
      .notNull()
      .default("active"),
    isLatest: integer("is_latest", { mode: "boolean" }).notNull(),
    /**
     * SHA-256 of the version's inventory (shared/registry/tool.digest.ts: despite the name, its
     * tools, resources, resource templates and prompts too), computed at publish from the
     * document's publisher metadata. Null for versions published before it was recorded:
     * such a version cannot be approved (publish a new one).
     */
    toolsDigest: text("tools_digest"),
    publishedBy: text("published_by").notNull(),
    publishedAt: integer("published_at", { mode: "timestamp_ms" }).notNull(),
    updatedAt: integer("updated_at", { mode: "timestamp_ms" }).notNull(),
  },
  (t) => [primaryKey({ columns: [t.serverName, t.version] }), index("server_versions_updated").on(t.updatedAt)],
);

/** Each version's tools, taken from the server's own `defineTool` declarations at publish time. */
export const tools = sqliteTable(
  "tools",
  {
    serverName: text("server_name")
      .notNull()
      .references(() => servers.name, { onDelete: "cascade" }),
    version: text("version").notNull(),
    name: text("name").notNull(),
    description: text("description").notNull(),
    annotations: text("annotations", { mode: "json" }).$type<Record<string, unknown>>().notNull(),
    access: text("access", { mode: "json" })
      .$type<{ groups?: string[]; scopes?: string[]; services?: ServiceRule }>()
      .notNull(),
    needsApproval: integer("needs_approval", { mode: "boolean" }).notNull(),
    minutesSaved: real("minutes_saved").notNull(),
  },
  (t) => [primaryKey({ columns: [t.serverName, t.version, t.name] })],
);

/** Review records (Security, Legal/Privacy, GenAI); a server's current state per kind is its latest record. */
export const reviews = sqliteTable(
  "reviews",
  {
    id: text("id").primaryKey(),
    serverName: text("server_name")
      .notNull()
      .references(() => servers.name, { onDelete: "cascade" }),
    /** The version that was reviewed. */
    version: text("version").notNull(),
    kind: text("kind", { enum: REVIEW_KINDS }).notNull(),
    state: text("state", { enum: REVIEW_STATES }).notNull(),
    /** The reviewer's identity of record (Caller.principal), for people to read. */
    reviewer: text("reviewer").notNull(),
    /**
     * Who the reviewer is at the IdP (Caller.subject, `<issuer>#<subject>`), whatever their email
     * becomes: "two different people" counts these, never emails or logins.
     */
    reviewerSubject: text("reviewer_subject").notNull().default(""),
    /**
     * The reviewer's business groups when the review was recorded: approval checks that no
     * review counted came from the owning team, even if the team changed since.
     */
    reviewerGroups: text("reviewer_groups", { mode: "json" }).$type<string[]>().notNull().default([]),
    at: integer("at", { mode: "timestamp_ms" }).notNull(),
    notes: text("notes").notNull().default(""),
  },
  (t) => [index("reviews_server_kind").on(t.serverName, t.kind, t.at)],
);

/** Who changed what in the registry, when: publishes, lifecycle moves, reviews, access changes. */
export const serverEvents = sqliteTable(
  "server_events",
  {
    id: text("id").primaryKey(),
    serverName: text("server_name")
      .notNull()
      .references(() => servers.name, { onDelete: "cascade" }),
    at: integer("at", { mode: "timestamp_ms" }).notNull(),
    /** `user:<login>` or `service:<name>`. */
    actor: text("actor").notNull(),
    action: text("action", { enum: ["publish", "lifecycle", "review", "access"] }).notNull(),
    detail: text("detail", { mode: "json" }).$type<Record<string, unknown>>().notNull(),
  },
  (t) => [index("server_events_server_at").on(t.serverName, t.at)],
);

/** Live status: the scheduled probe's results, newest kept per server. */
export const healthChecks = sqliteTable(
  "health_checks",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    serverName: text("server_name")
      .notNull()
      .references(() => servers.name, { onDelete: "cascade" }),
    at: integer("at", { mode: "timestamp_ms" }).notNull(),
    up: integer("up", { mode: "boolean" }).notNull(),
    latencyMs: integer("latency_ms").notNull(),
    /** HTTP status of the probe, when it got an answer. */
    httpStatus: integer("http_status"),
    error: text("error"),
  },
  (t) => [index("health_checks_server_at").on(t.serverName, t.at)],
);

/** How an approval request ended (the audit decisions other than a denial). */
export const APPROVAL_OUTCOMES = [
  "approved",
  "declined",
  "cancelled",
  "timed_out",
  "no_elicitation",
  "not_human",
  "rejected",
  "expired",
  "refused",
] as const;
export type ApprovalOutcome = (typeof APPROVAL_OUTCOMES)[number];

/** One row per tools/call: the source of the time-saved metric. `id` makes retried flushes idempotent. */
export const invocations = sqliteTable(
  "invocations",
  {
    id: text("id").primaryKey(),
    serverName: text("server_name").notNull(),
    toolName: text("tool_name").notNull(),
    sessionId: text("session_id").notNull(),
    callerKind: text("caller_kind", { enum: ["user", "service"] }).notNull(),
    callerId: text("caller_id").notNull(),
    startedAt: integer("started_at", { mode: "timestamp_ms" }).notNull(),
    durationMs: integer("duration_ms").notNull(),
    outcome: text("outcome", { enum: ["ok", "error"] }).notNull(),
    errorClass: text("error_class"),
    minutesSaved: real("minutes_saved").notNull(),
    argsDigest: text("args_digest").notNull(),
    /** The caller's primary business group (first group; `service` for services; `` for none). */
    callerGroup: text("caller_group").notNull().default(""),
    /** How an approval request for the call ended (null: none was asked). */
    approval: text("approval", { enum: APPROVAL_OUTCOMES }),
  },
  (t) => [
    index("invocations_server_started").on(t.serverName, t.startedAt),
    index("invocations_caller").on(t.callerId, t.startedAt),
    index("invocations_started").on(t.startedAt),
  ],
);

/**
 * What an audit record says happened: a refusal (`denied`), or the human's answer to an approval
 * request (`approved`, `declined`, `cancelled`, `timed_out`, `no_elicitation`: the client cannot
 * ask, `not_human`: a service cannot approve). Approvals given on the registry's page add
 * `rejected` (the human said no there), `expired` (nobody decided in time) and `refused` (an
 * attempt the binding rules turned away: another person, changed arguments, a replay, a forged
 * form, or a client that can open no approval link).
 */
export const AUDIT_DECISIONS = ["denied", ...APPROVAL_OUTCOMES] as const;
export type AuditDecision = (typeof AUDIT_DECISIONS)[number];

export const auditEvents = sqliteTable(
  "audit_events",
  {
    id: text("id").primaryKey(),
    at: integer("at", { mode: "timestamp_ms" }).notNull(),
    serverName: text("server_name").notNull(),
    callerKind: text("caller_kind", { enum: ["user", "service", "anonymous"] }).notNull(),
    callerId: text("caller_id").notNull(),
    action: text("action").notNull(),
    decision: text("decision", { enum: AUDIT_DECISIONS }).notNull(),
    reason: text("reason").notNull(),
    /** SHA-256 of the call's arguments (keys sorted), for decisions about one tool call. */
    argsDigest: text("args_digest"),
  },
  (t) => [index("audit_events_at").on(t.at), index("audit_events_caller").on(t.callerId)],
);

/** Where an approval request given on the registry's page stands. */
export const APPROVAL_STATUSES = ["pending", "approved", "rejected", "expired", "cancelled"] as const;
export type ApprovalStatus = (typeof APPROVAL_STATUSES)[number];

/**
 * Approval requests for high-risk tool calls (docs/approvals.md): the call writes one, the human
 * decides it on the registry page (`/approvals/<id>`), the call consumes it once. Every decision
 * is a compare-and-set on `status` (pending → approved/rejected/expired/cancelled), bound to the
 * caller's IdP subject, the server, the tool, the canonical arguments' digest and `expires_at`;
 * `consumed_at` is set by the single call that may run on it.
 */
export const approvals = sqliteTable(
  "approvals",
  {
    /** Unguessable (256 random bits, base64url): also the URL elicitation's elicitationId. */
    id: text("id").primaryKey(),
    serverName: text("server_name").notNull(),
    toolName: text("tool_name").notNull(),
    /** The caller's `<issuer>#<subject>`: only this person may decide it. */
    subject: text("subject").notNull(),
    /** The caller's id (`user:<principal>`), for the audit trail and the page. */
    callerId: text("caller_id").notNull(),
    sessionId: text("session_id").notNull(),
    /** SHA-256 of the validated arguments, keys sorted (digestArguments). */
    argsDigest: text("args_digest").notNull(),
    /** The validated arguments exactly as the handler will get them, shown on the page. */
    arguments: text("arguments", { mode: "json" }).$type<Record<string, unknown>>().notNull(),
    /** The tool's own words for the action (its approval preview). */
    action: text("action").notNull(),
    status: text("status", { enum: APPROVAL_STATUSES }).notNull().default("pending"),
    /** A per-request anti-forgery token, echoed by the page's form and compared on POST. */
    formToken: text("form_token").notNull(),
    createdAt: integer("created_at", { mode: "timestamp_ms" }).notNull(),
    /** No decision is accepted at or after this instant. */
    expiresAt: integer("expires_at", { mode: "timestamp_ms" }).notNull(),
    decidedAt: integer("decided_at", { mode: "timestamp_ms" }),
    /** The subject who decided (always `subject`: the rules accept no one else). */
    decidedBy: text("decided_by"),
    /** When the call took the approval and ran: at most once. */
    consumedAt: integer("consumed_at", { mode: "timestamp_ms" }),
  },
  // decided_at: the sweep prunes requests that ended before the retention window.
  (t) => [index("approvals_subject_created").on(t.subject, t.createdAt), index("approvals_decided").on(t.decidedAt)],
);

export type ApprovalRow = typeof approvals.$inferSelect;

/**
 * Records a session's outbox could not write after repeated attempts (D1 refused that record, not
 * the whole batch): kept here whole, counted in the server's /health, never dropped.
 */
export const deadLetters = sqliteTable(
  "dead_letters",
  {
    id: text("id").primaryKey(),
    serverName: text("server_name").notNull(),
    /** The table the record was meant for: invocations or audit_events. */
    target: text("target").notNull(),
    /** The record as the outbox held it (JSON). */
    record: text("record").notNull(),
    /** What D1 answered to the record on its own. */
    error: text("error").notNull(),
    attempts: integer("attempts").notNull(),
    at: integer("at", { mode: "timestamp_ms" }).notNull(),
  },
  (t) => [index("dead_letters_server").on(t.serverName, t.at)],
);

export type ServerRow = typeof servers.$inferSelect;
export type ServerVersionRow = typeof serverVersions.$inferSelect;
export type ToolRow = typeof tools.$inferSelect;
export type ReviewRow = typeof reviews.$inferSelect;
export type HealthCheckRow = typeof healthChecks.$inferSelect;
export type ServerEventRow = typeof serverEvents.$inferSelect;

/**
 * The registry page's OAuth clients at the auth Worker, registered by Dynamic Client Registration
 * and shared by every isolate: the newest row for (issuer, redirect URI) is the one in use; older
 * rows stay until the auth Worker has forgotten them, so sign-ins begun with them can finish.
 */
export const pageClients = sqliteTable(
  "page_clients",
  {
    clientId: text("client_id").primaryKey(),
    clientSecret: text("client_secret"),
    issuer: text("issuer").notNull(),
    redirectUri: text("redirect_uri").notNull(),
    registeredAt: integer("registered_at", { mode: "timestamp_ms" }).notNull(),
    /** The last successful token request with this client: the auth Worker renews a client in use. */
    lastTokenAt: integer("last_token_at", { mode: "timestamp_ms" }).notNull(),
  },
  (t) => [index("page_clients_issuer").on(t.issuer, t.redirectUri, t.registeredAt)],
);

export type PageClientRow = typeof pageClients.$inferSelect;

export * from "./analytics.schema";
