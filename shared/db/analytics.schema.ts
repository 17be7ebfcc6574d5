/**
 * The time-saved analytics (docs/analytics.md): rollups maintained in the same D1 batch as the
 * invocation rows they count (shared/db/invocations.store.ts), the owners' estimate overrides
 * with their history, per-call feedback, and the export watermark of the raw-row retention.
 * Rollups of counts are kept forever; raw `invocations`, and the per-person `active_users` rows
 * of days, weeks and months, only for the retention window (then compacted to `active_user_counts`).
 */
import { index, integer, primaryKey, real, sqliteTable, text } from "drizzle-orm/sqlite-core";

/**
 * Upper bounds (ms, inclusive) of the latency histogram's buckets; the last bucket is everything
 * slower. p50/p95 are read off the summed buckets (the upper bound of the bucket holding the rank).
 */
export const LATENCY_BOUNDS_MS = [50, 100, 250, 500, 1_000, 2_500, 5_000, 10_000, 30_000] as const;
/** Column names of the histogram: lat_0 … lat_9 (lat_9: slower than the last bound). */
export const LATENCY_COLUMNS = Array.from({ length: LATENCY_BOUNDS_MS.length + 1 }, (_, i) => `lat_${i}`);

const latency = (i: number) => integer(`lat_${i}`).notNull().default(0);

function usageColumns() {
  return {
    day: text("day").notNull(),
    serverName: text("server_name").notNull(),
    toolName: text("tool_name").notNull(),
    /** The caller's primary business group (its first group; services: `service`; none: ``). */
    callerGroup: text("caller_group").notNull(),
    invocations: integer("invocations").notNull().default(0),
    successes: integer("successes").notNull().default(0),
    /** Failed calls other than refusals (`denials`). */
    errors: integer("errors").notNull().default(0),
    denials: integer("denials").notNull().default(0),
    approvalsRequested: integer("approvals_requested").notNull().default(0),
    approvalsGranted: integer("approvals_granted").notNull().default(0),
    approvalsDeclined: integer("approvals_declined").notNull().default(0),
    minutesCode: real("minutes_code").notNull().default(0),
    durationMsTotal: integer("duration_ms_total").notNull().default(0),
    lat0: latency(0),
    lat1: latency(1),
    lat2: latency(2),
    lat3: latency(3),
    lat4: latency(4),
    lat5: latency(5),
    lat6: latency(6),
    lat7: latency(7),
    lat8: latency(8),
    lat9: latency(9),
  };
}

/**
 * One row per UTC day × server × tool × the caller's business group: everything the dashboards
 * sum. `minutes_code` is the sum of the estimates recorded with the calls (the code's
 * `minutesSaved` of successful calls); overrides and feedback are applied when read.
 */
export const usageDaily = sqliteTable("usage_daily", usageColumns(), (t) => [
  primaryKey({ columns: [t.day, t.serverName, t.toolName, t.callerGroup] }),
  index("usage_daily_server_day").on(t.serverName, t.day),
]);

/**
 * The same sums per month (`day` is the month's first day), written in the same batch: the
 * month summary and the monthly series read a few hundred rows a month whatever the volume.
 */
export const usageMonthly = sqliteTable("usage_monthly", usageColumns(), (t) => [
  primaryKey({ columns: [t.day, t.serverName, t.toolName, t.callerGroup] }),
]);

/**
 * Exact distinct users: one row per period (`d` day, `w` ISO week from Monday, `m` month) ×
 * its first day × server × tool × user, inserted OR IGNOREd with the calls. Counting rows of one
 * period gives the active users of any slice of it, with no double counting across days.
 * Only people (caller kind `user`) are counted. Kept for the raw-row retention window; a period
 * that ended before it is compacted to `active_user_counts` and its rows deleted.
 */
export const activeUsers = sqliteTable(
  "active_users",
  {
    period: text("period", { enum: ["d", "w", "m"] }).notNull(),
    start: text("start").notNull(),
    serverName: text("server_name").notNull(),
    toolName: text("tool_name").notNull(),
    callerId: text("caller_id").notNull(),
    /** The user's primary group when first seen in the period. */
    callerGroup: text("caller_group").notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.period, t.start, t.serverName, t.toolName, t.callerId] }),
    index("active_users_period_user").on(t.period, t.start, t.callerId),
  ],
);

/**
 * The final counts of a period whose per-person `active_users` rows were compacted away
 * (registry/analytics/analytics.compaction.ts): once a period ends before the raw-row retention
 * window, its distinct people are counted here — days and weeks fleet-wide (`kind` fleet, `name`
 * '') and per server; months also per tool (`server/tool`), business group and owning team, as
 * the month summary reads them — and its `active_users` rows are deleted. The first count
 * written for a slice stands (a call recorded after its period was compacted is not added).
 */
export const activeUserCounts = sqliteTable(
  "active_user_counts",
  {
    period: text("period", { enum: ["d", "w", "m"] }).notNull(),
    start: text("start").notNull(),
    kind: text("kind", { enum: ["fleet", "server", "tool", "group", "team"] }).notNull(),
    name: text("name").notNull(),
    users: integer("users").notNull(),
  },
  (t) => [primaryKey({ columns: [t.period, t.start, t.kind, t.name] })],
);

/**
 * The owning team's override of a tool's `minutesSaved`, with its history: the row in force for
 * a month is the newest one set whose `effective_from` (a month's first day: overrides apply
 * from a whole month on, so monthly rollups suffice) is on or before it. `minutes` null goes
 * back to the code's estimate.
 */
export const estimateOverrides = sqliteTable(
  "estimate_overrides",
  {
    id: text("id").primaryKey(),
    serverName: text("server_name").notNull(),
    toolName: text("tool_name").notNull(),
    minutes: real("minutes"),
    /** First day (YYYY-MM-01, UTC) of the first month the override applies to. */
    effectiveFrom: text("effective_from").notNull(),
    reason: text("reason").notNull(),
    setBy: text("set_by").notNull(),
    setAt: integer("set_at", { mode: "timestamp_ms" }).notNull(),
  },
  (t) => [index("estimate_overrides_tool").on(t.serverName, t.toolName, t.effectiveFrom, t.setAt)],
);

/** One rating per invocation, by its caller: helped or not, optionally the minutes it really saved. */
export const feedback = sqliteTable(
  "feedback",
  {
    invocationId: text("invocation_id").primaryKey(),
    serverName: text("server_name").notNull(),
    toolName: text("tool_name").notNull(),
    callerId: text("caller_id").notNull(),
    /** The invocation's UTC day. */
    day: text("day").notNull(),
    helped: integer("helped", { mode: "boolean" }).notNull(),
    minutes: real("minutes"),
    at: integer("at", { mode: "timestamp_ms" }).notNull(),
  },
  (t) => [index("feedback_tool").on(t.serverName, t.toolName, t.day)],
);

/** Feedback summed per invocation day × server × tool (written in the same batch as the rating). */
export const feedbackDaily = sqliteTable(
  "feedback_daily",
  {
    day: text("day").notNull(),
    serverName: text("server_name").notNull(),
    toolName: text("tool_name").notNull(),
    ratings: integer("ratings").notNull().default(0),
    helped: integer("helped").notNull().default(0),
    /** Ratings that said yes and gave minutes, and the minutes they gave. */
    helpedWithMinutes: integer("helped_with_minutes").notNull().default(0),
    minutesGiven: real("minutes_given").notNull().default(0),
  },
  (t) => [primaryKey({ columns: [t.serverName, t.toolName, t.day] })],
);

/**
 * The retention's watermark: one row per R2 object of raw invocations exported (a UTC day has
 * several when it passed MAX_OBJECT_ROWS or had calls arrive after its first export), then
 * deleted from D1.
 */
export const analyticsExports = sqliteTable(
  "analytics_exports",
  {
    objectKey: text("object_key").primaryKey(),
    day: text("day").notNull(),
    /** The calls this object holds, and its bytes. */
    rows: integer("rows").notNull(),
    bytes: integer("bytes").notNull(),
    exportedAt: integer("exported_at", { mode: "timestamp_ms" }).notNull(),
    /** When this object's raw rows were deleted from D1 (null: exported, not yet deleted). */
    deletedAt: integer("deleted_at", { mode: "timestamp_ms" }),
  },
  (t) => [index("analytics_exports_day").on(t.day)],
);

export type UsageDailyRow = typeof usageDaily.$inferSelect;
export type EstimateOverrideRow = typeof estimateOverrides.$inferSelect;
export type FeedbackRow = typeof feedback.$inferSelect;
