/**
 * The fleet's D1 schema: the single source of types (drizzle) and of migrations (drizzle-kit).
 * Change it here, then `npm run db:generate` writes the next migration into migrations/.
 */
import { sql } from "drizzle-orm";
import { index, integer, primaryKey, real, sqliteTable, text } from "drizzle-orm/sqlite-core";

/** Approved domain MCP servers (the registry issue adds versions and governance). */
export const servers = sqliteTable("servers", {
  name: text("name").primaryKey(),
  title: text("title").notNull(),
  description: text("description").notNull(),
  version: text("version").notNull(),
  /** Where an MCP client reaches the server (Streamable HTTP endpoint). */
  remoteUrl: text("remote_url").notNull(),
  /** Business groups allowed to open a session at all; empty means every signed-in caller. */
  allowedGroups: text("allowed_groups", { mode: "json" }).$type<string[]>().notNull().default(sql`'[]'`),
  registeredAt: integer("registered_at", { mode: "timestamp_ms" }).notNull(),
  updatedAt: integer("updated_at", { mode: "timestamp_ms" }).notNull(),
});

/** Each server's tools, taken from its own `defineTool` declarations. */
export const tools = sqliteTable(
  "tools",
  {
    serverName: text("server_name")
      .notNull()
      .references(() => servers.name, { onDelete: "cascade" }),
    name: text("name").notNull(),
    description: text("description").notNull(),
    annotations: text("annotations", { mode: "json" }).$type<Record<string, unknown>>().notNull(),
    access: text("access", { mode: "json" }).$type<Record<string, unknown>>().notNull(),
    needsApproval: integer("needs_approval", { mode: "boolean" }).notNull(),
    minutesSaved: real("minutes_saved").notNull(),
  },
  (t) => [primaryKey({ columns: [t.serverName, t.name] })],
);

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
  },
  (t) => [
    index("invocations_server_started").on(t.serverName, t.startedAt),
    index("invocations_caller").on(t.callerId),
  ],
);

/** Every refusal (who, what, why, when): the audit trail of the fleet's access control. */
export const auditEvents = sqliteTable(
  "audit_events",
  {
    id: text("id").primaryKey(),
    at: integer("at", { mode: "timestamp_ms" }).notNull(),
    serverName: text("server_name").notNull(),
    callerKind: text("caller_kind", { enum: ["user", "service", "anonymous"] }).notNull(),
    callerId: text("caller_id").notNull(),
    action: text("action").notNull(),
    decision: text("decision", { enum: ["denied"] }).notNull(),
    reason: text("reason").notNull(),
  },
  (t) => [index("audit_events_at").on(t.at), index("audit_events_caller").on(t.callerId)],
);

export type ServerRow = typeof servers.$inferSelect;
