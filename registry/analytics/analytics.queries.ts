/**
 * The dashboards' reads: every one sums rollups (usage_daily, active_users, feedback_daily),
 * never raw invocations, so its cost follows the number of days × tools × groups, not the number
 * of calls (bench/analytics measures them at 1 M and 10 M invocations).
 */
import { LATENCY_COLUMNS } from "../../shared/db/analytics.schema";
import { effectiveMinutes, type FeedbackTotals } from "./analytics.estimate";
import { percentileMs } from "./analytics.percentile";
import { addMonths, monthRange, weekStart } from "./analytics.period";

/** Which servers' detail the reader may see: all (admins), or those of these teams. */
export interface Visibility {
  all: boolean;
  teams: readonly string[];
}

export interface Totals {
  invocations: number;
  successes: number;
  errors: number;
  denials: number;
  approvalsRequested: number;
  approvalsGranted: number;
  approvalsDeclined: number;
  minutesEstimate: number;
  minutesEffective: number;
  latency: number[];
}

export interface Figures {
  invocations: number;
  activeUsers: number;
  hoursSaved: { estimate: number; effective: number };
  successRate: number | null;
  errorRate: number | null;
  denials: number;
  approvals: { requested: number; granted: number; declined: number };
  latencyMs: { p50: number | null; p95: number | null };
}

interface UsageRow {
  server_name: string;
  tool_name: string;
  caller_group: string;
  invocations: number;
  successes: number;
  errors: number;
  denials: number;
  approvals_requested: number;
  approvals_granted: number;
  approvals_declined: number;
  minutes_estimate: number;
  minutes_code: number;
  [latency: `lat_${number}`]: number;
}

const LATENCY_SUMS = LATENCY_COLUMNS.map((column) => `SUM(${column}) AS ${column}`).join(", ");

/** The override in force on the row's day: the newest one set that applies from that day on. */
const OVERRIDE_IN_FORCE = `(SELECT o.minutes FROM estimate_overrides o
  WHERE o.server_name = u.server_name AND o.tool_name = u.tool_name AND o.effective_from <= u.day
  ORDER BY o.set_at DESC LIMIT 1)`;

const USAGE_BY_TOOL_GROUP = `SELECT server_name, tool_name, caller_group,
  SUM(invocations) AS invocations, SUM(successes) AS successes, SUM(errors) AS errors, SUM(denials) AS denials,
  SUM(approvals_requested) AS approvals_requested, SUM(approvals_granted) AS approvals_granted,
  SUM(approvals_declined) AS approvals_declined,
  SUM(CASE WHEN override IS NULL THEN minutes_code ELSE successes * override END) AS minutes_estimate,
  SUM(minutes_code) AS minutes_code, ${LATENCY_SUMS}
  FROM (SELECT u.*, ${OVERRIDE_IN_FORCE} AS override FROM usage_monthly u WHERE u.day = ?1)
  GROUP BY server_name, tool_name, caller_group`;

/**
 * Distinct people of one period (?1 its first day), fleet-wide and per slice, counted in D1 from
 * the per-person `active_users` rows (a few rows come back): every period fleet-wide and per
 * server; a month also per tool, business group and owning team. The compaction
 * (analytics.compaction.ts) stores exactly these rows in `active_user_counts`.
 */
export function usersBySliceSql(period: "d" | "w" | "m"): string {
  const of = `period = '${period}' AND start = ?1`;
  const common = `SELECT 'fleet' AS kind, '' AS name, count(DISTINCT caller_id) AS users FROM active_users WHERE ${of}
  UNION ALL SELECT 'server', server_name, count(DISTINCT caller_id) FROM active_users WHERE ${of} GROUP BY server_name`;
  if (period !== "m") return common;
  return `${common}
  UNION ALL SELECT 'tool', server_name || '/' || tool_name, count(*) FROM active_users WHERE ${of} GROUP BY server_name, tool_name
  UNION ALL SELECT 'group', CASE caller_group WHEN '' THEN '(none)' ELSE caller_group END, count(DISTINCT caller_id)
    FROM active_users WHERE ${of} GROUP BY caller_group
  UNION ALL SELECT 'team', coalesce(s.team, 'unregistered'), count(DISTINCT a.caller_id) FROM active_users a
    LEFT JOIN servers s ON s.name = a.server_name WHERE a.period = '${period}' AND a.start = ?1
    GROUP BY coalesce(s.team, 'unregistered')`;
}

/** A compacted period's counts stand (its fleet row marks it compacted); others are counted from the rows. */
const MONTH_USERS = `SELECT kind, name, users FROM active_user_counts WHERE period = 'm' AND start = ?1
  UNION ALL SELECT kind, name, users FROM (${usersBySliceSql("m")})
    WHERE NOT EXISTS (SELECT 1 FROM active_user_counts WHERE period = 'm' AND start = ?1 AND kind = 'fleet')`;

/** Per tool: the factor feedback puts on the owner's estimate (effective / estimate), as of `to`. */
export async function feedbackFactors(
  db: D1Database,
  to: string,
  usage: readonly { server_name: string; tool_name: string; successes: number; minutes_code: number }[],
): Promise<Map<string, number>> {
  const [feedbackRows, overrideRows] = await Promise.all([
    db
      .prepare(
        `SELECT server_name, tool_name, SUM(ratings) AS ratings, SUM(helped) AS helped,
          SUM(helped_with_minutes) AS helpedWithMinutes, SUM(minutes_given) AS minutesGiven
          FROM feedback_daily WHERE day < ?1 GROUP BY server_name, tool_name`,
      )
      .bind(to)
      .all<FeedbackTotals & { server_name: string; tool_name: string }>(),
    db
      .prepare(
        "SELECT server_name, tool_name, minutes FROM estimate_overrides WHERE effective_from < ?1 ORDER BY set_at",
      )
      .bind(to)
      .all<{ server_name: string; tool_name: string; minutes: number | null }>(),
  ]);
  const override = new Map<string, number | null>();
  for (const row of overrideRows.results) override.set(`${row.server_name}/${row.tool_name}`, row.minutes);
  const code = new Map<string, { successes: number; minutes: number }>();
  for (const row of usage) {
    const key = `${row.server_name}/${row.tool_name}`;
    const sum = code.get(key) ?? { successes: 0, minutes: 0 };
    sum.successes += row.successes;
    sum.minutes += row.minutes_code;
    code.set(key, sum);
  }
  const factors = new Map<string, number>();
  for (const row of feedbackRows.results) {
    const key = `${row.server_name}/${row.tool_name}`;
    const sum = code.get(key);
    const estimate = override.get(key) ?? (sum && sum.successes > 0 ? sum.minutes / sum.successes : 0);
    if (estimate > 0) factors.set(key, effectiveMinutes(estimate, row) / estimate);
  }
  return factors;
}

function emptyTotals(): Totals {
  return {
    invocations: 0,
    successes: 0,
    errors: 0,
    denials: 0,
    approvalsRequested: 0,
    approvalsGranted: 0,
    approvalsDeclined: 0,
    minutesEstimate: 0,
    minutesEffective: 0,
    latency: LATENCY_COLUMNS.map(() => 0),
  };
}

function add(totals: Totals, row: UsageRow, factor: number): void {
  totals.invocations += row.invocations;
  totals.successes += row.successes;
  totals.errors += row.errors;
  totals.denials += row.denials;
  totals.approvalsRequested += row.approvals_requested;
  totals.approvalsGranted += row.approvals_granted;
  totals.approvalsDeclined += row.approvals_declined;
  totals.minutesEstimate += row.minutes_estimate;
  totals.minutesEffective += row.minutes_estimate * factor;
  LATENCY_COLUMNS.forEach((column, i) => {
    totals.latency[i] = (totals.latency[i] ?? 0) + Number(row[column as `lat_${number}`]);
  });
}

const round = (n: number, places = 1) => Math.round(n * 10 ** places) / 10 ** places;

export function figuresOf(totals: Totals, activeUsers: number): Figures {
  const { invocations } = totals;
  return {
    invocations,
    activeUsers,
    hoursSaved: { estimate: round(totals.minutesEstimate / 60), effective: round(totals.minutesEffective / 60) },
    successRate: invocations ? round(totals.successes / invocations, 4) : null,
    errorRate: invocations ? round(totals.errors / invocations, 4) : null,
    denials: totals.denials,
    approvals: {
      requested: totals.approvalsRequested,
      granted: totals.approvalsGranted,
      declined: totals.approvalsDeclined,
    },
    latencyMs: { p50: percentileMs(totals.latency, 0.5), p95: percentileMs(totals.latency, 0.95) },
  };
}

export interface MonthUsage {
  fleet: Totals;
  byTeam: Map<string, Totals>;
  byGroup: Map<string, Totals>;
  byServer: Map<string, Totals>;
  byTool: Map<string, Totals>;
  activeUsers: {
    fleet: number;
    byServer: Map<string, number>;
    byTool: Map<string, number>;
    byGroup: Map<string, number>;
    byTeam: Map<string, number>;
  };
}

/** Everything one month's summary reads, in four queries over rollups. */
export async function loadMonth(db: D1Database, month: string, teams: Map<string, string>): Promise<MonthUsage> {
  const { from, to } = monthRange(month);
  const [usage, users] = await Promise.all([
    db.prepare(USAGE_BY_TOOL_GROUP).bind(from).all<UsageRow>(),
    db.prepare(MONTH_USERS).bind(from).all<{ kind: string; name: string; users: number }>(),
  ]);
  const factors = await feedbackFactors(db, to, usage.results);
  const result: MonthUsage = {
    fleet: emptyTotals(),
    byTeam: new Map(),
    byGroup: new Map(),
    byServer: new Map(),
    byTool: new Map(),
    activeUsers: { fleet: 0, byServer: new Map(), byTool: new Map(), byGroup: new Map(), byTeam: new Map() },
  };
  const into = (map: Map<string, Totals>, key: string) => {
    const totals = map.get(key) ?? emptyTotals();
    map.set(key, totals);
    return totals;
  };
  for (const row of usage.results) {
    const tool = `${row.server_name}/${row.tool_name}`;
    const factor = factors.get(tool) ?? 1;
    add(result.fleet, row, factor);
    add(into(result.byTeam, teams.get(row.server_name) ?? "unregistered"), row, factor);
    add(into(result.byGroup, row.caller_group || "(none)"), row, factor);
    add(into(result.byServer, row.server_name), row, factor);
    add(into(result.byTool, tool), row, factor);
  }
  const slice = (kind: string) =>
    new Map(users.results.filter((row) => row.kind === kind).map((row) => [row.name, row.users]));
  result.activeUsers = {
    fleet: users.results.find((row) => row.kind === "fleet")?.users ?? 0,
    byServer: slice("server"),
    byTool: slice("tool"),
    byGroup: slice("group"),
    byTeam: slice("team"),
  };
  return result;
}

export type Period = "day" | "week" | "month";

const BUCKET_OF: Record<Period, string> = {
  day: "day",
  week: "date(day, 'weekday 0', '-6 days')",
  month: "substr(day, 1, 7) || '-01'",
};
const USERS_PERIOD: Record<Period, string> = { day: "d", week: "w", month: "m" };

export interface SeriesPoint {
  start: string;
  invocations: number;
  successes: number;
  errors: number;
  activeUsers: number;
  hoursSaved: { estimate: number; effective: number };
}

/** A series over [from, to), optionally of one server: invocations, users and hours per period. */
export async function loadSeries(
  db: D1Database,
  period: Period,
  from: string,
  to: string,
  server?: string,
): Promise<SeriesPoint[]> {
  const where = server ? "AND u.server_name = ?3" : "";
  const bind = server ? [from, to, server] : [from, to];
  const [usage, users] = await Promise.all([
    db
      .prepare(
        `SELECT ${BUCKET_OF[period]} AS start, server_name, tool_name, SUM(invocations) AS invocations,
          SUM(successes) AS successes, SUM(errors) AS errors, SUM(minutes_code) AS minutes_code,
          SUM(CASE WHEN override IS NULL THEN minutes_code ELSE successes * override END) AS minutes_estimate
          FROM (SELECT u.day, u.server_name, u.tool_name, u.invocations, u.successes, u.errors, u.minutes_code,
            ${OVERRIDE_IN_FORCE} AS override FROM ${period === "month" ? "usage_monthly" : "usage_daily"} u
            WHERE u.day >= ?1 AND u.day < ?2 ${where})
          GROUP BY start, server_name, tool_name`,
      )
      .bind(...(period === "month" ? [periodStart("month", from), ...bind.slice(1)] : bind))
      .all<{
        start: string;
        server_name: string;
        tool_name: string;
        invocations: number;
        successes: number;
        errors: number;
        minutes_code: number;
        minutes_estimate: number;
      }>(),
    // Compacted periods (older than the retention window) from their stored counts, the others
    // counted from the per-person rows.
    db
      .prepare(
        `SELECT start, users FROM active_user_counts WHERE period = '${USERS_PERIOD[period]}' AND start >= ?1
            AND start < ?2 AND kind = '${server ? "server" : "fleet"}' AND name = ${server ? "?3" : "''"}
          UNION ALL SELECT start, count(DISTINCT caller_id) AS users FROM active_users u
          WHERE period = '${USERS_PERIOD[period]}' AND start >= ?1 AND start < ?2 ${where}
            AND start NOT IN (SELECT start FROM active_user_counts WHERE period = '${USERS_PERIOD[period]}'
              AND kind = 'fleet' AND start >= ?1 AND start < ?2)
          GROUP BY start`,
      )
      .bind(periodStart(period, from), to, ...(server ? [server] : []))
      .all<{ start: string; users: number }>(),
  ]);
  const factors = await feedbackFactors(db, to, usage.results);
  const points = new Map<string, SeriesPoint & { minutesEstimate: number; minutesEffective: number }>();
  for (const row of usage.results) {
    let point = points.get(row.start);
    if (!point) {
      point = {
        start: row.start,
        invocations: 0,
        successes: 0,
        errors: 0,
        activeUsers: 0,
        hoursSaved: { estimate: 0, effective: 0 },
        minutesEstimate: 0,
        minutesEffective: 0,
      };
      points.set(row.start, point);
    }
    point.invocations += row.invocations;
    point.successes += row.successes;
    point.errors += row.errors;
    point.minutesEstimate += row.minutes_estimate;
    point.minutesEffective += row.minutes_estimate * (factors.get(`${row.server_name}/${row.tool_name}`) ?? 1);
  }
  for (const row of users.results) {
    const point = points.get(row.start);
    if (point) point.activeUsers = row.users;
  }
  return [...points.values()]
    .sort((a, b) => a.start.localeCompare(b.start))
    .map(({ minutesEstimate, minutesEffective, ...point }) => ({
      ...point,
      hoursSaved: { estimate: round(minutesEstimate / 60), effective: round(minutesEffective / 60) },
    }));
}

/** A month's fleet totals only (for month-over-month change): two one-row reads. */
export async function monthTotals(
  db: D1Database,
  month: string,
): Promise<{ invocations: number; activeUsers: number; hoursSaved: number }> {
  const { from } = monthRange(month);
  const [usage, users] = await Promise.all([
    db
      .prepare(
        `SELECT coalesce(SUM(invocations), 0) AS invocations,
          coalesce(SUM(CASE WHEN override IS NULL THEN minutes_code ELSE successes * override END), 0) AS minutes
          FROM (SELECT u.*, ${OVERRIDE_IN_FORCE} AS override FROM usage_monthly u WHERE u.day = ?1)`,
      )
      .bind(from)
      .first<{ invocations: number; minutes: number }>(),
    db
      .prepare(
        `SELECT coalesce(
            (SELECT users FROM active_user_counts WHERE period = 'm' AND start = ?1 AND kind = 'fleet'),
            (SELECT count(DISTINCT caller_id) FROM active_users WHERE period = 'm' AND start = ?1)) AS users`,
      )
      .bind(from)
      .first<{ users: number }>(),
  ]);
  return {
    invocations: usage?.invocations ?? 0,
    activeUsers: users?.users ?? 0,
    hoursSaved: round((usage?.minutes ?? 0) / 60),
  };
}

/** The month before, for month-over-month change. */
export function previousMonth(month: string): string {
  return addMonths(month, -1);
}

/** Relative change from `before` to `now` (0.25 = +25 %), null when there was nothing before. */
export function change(now: number, before: number): number | null {
  return before > 0 ? round((now - before) / before, 4) : null;
}

/** The first day of the period holding `day`. */
export function periodStart(period: Period, day: string): string {
  if (period === "week") return weekStart(day);
  if (period === "month") return `${day.slice(0, 7)}-01`;
  return day;
}
