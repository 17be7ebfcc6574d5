/**
 * The per-person rows of `active_users` (one per period × server × tool × person) are what makes
 * distinct people exact, but they are raw-ish and grow with people × tools × days: they are kept
 * for the raw-row retention window only (ANALYTICS_RETENTION_DAYS, analytics.retention.ts). Once
 * a period has ended before the window's start, its counts are final: they are stored in
 * `active_user_counts` (the same slices the dashboards read, usersBySliceSql) and the period's
 * rows are deleted. Runs on the registry's cron, oldest periods first, a bounded amount per tick;
 * with or without an export bucket (the counts are kept, the people are in the raw invocations
 * or their R2 export).
 */
import { addDays, dayOf } from "./analytics.period";
import { usersBySliceSql } from "./analytics.queries";
import { type RetentionEnv, retentionDays } from "./analytics.retention";

type UsersPeriod = "d" | "w" | "m";

/** Periods compacted per kind and tick, and rows deleted per statement. */
const PERIODS_PER_TICK = 8;
const DELETE_ROWS = 5_000;
/** At most this many rows deleted per tick (a tick cut short resumes on the next). */
const DELETES_PER_TICK = 40;

export interface CompactionRun {
  periods: { period: UsersPeriod; start: string; deleted: number }[];
}

/** The first day a period may start on and still be open: periods starting before it are final. */
export function finalBefore(period: UsersPeriod, cutoffDay: string): string {
  if (period === "d") return cutoffDay;
  // A week [start, start + 7) has ended by the cutoff when start + 7 <= cutoff.
  if (period === "w") return addDays(cutoffDay, -6);
  // A month has ended by the cutoff when its next month starts on or before it.
  return `${cutoffDay.slice(0, 7)}-01`;
}

export async function compactActiveUsers(
  env: Pick<RetentionEnv, "DB" | "ANALYTICS_RETENTION_DAYS">,
  now = Date.now(),
): Promise<CompactionRun> {
  const cutoffDay = dayOf(now - retentionDays(env) * 86_400_000);
  const run: CompactionRun = { periods: [] };
  let deletes = 0;
  for (const period of ["d", "w", "m"] as const) {
    const { results } = await env.DB.prepare(
      "SELECT DISTINCT start FROM active_users WHERE period = ?1 AND start < ?2 ORDER BY start LIMIT ?3",
    )
      .bind(period, finalBefore(period, cutoffDay), PERIODS_PER_TICK)
      .all<{ start: string }>();
    for (const { start } of results) {
      if (deletes >= DELETES_PER_TICK) return run;
      // The counts first, from every row of the period; the first counts stand (OR IGNORE), so a
      // tick cut short mid-deletion never recounts a half-deleted period.
      await env.DB.prepare(
        `INSERT OR IGNORE INTO active_user_counts (period, start, kind, name, users)
          SELECT '${period}', ?1, kind, name, users FROM (${usersBySliceSql(period)})`,
      )
        .bind(start)
        .run();
      let deleted = 0;
      while (deletes < DELETES_PER_TICK) {
        deletes += 1;
        const result = await env.DB.prepare(
          `DELETE FROM active_users WHERE rowid IN
            (SELECT rowid FROM active_users WHERE period = ?1 AND start = ?2 LIMIT ${DELETE_ROWS})`,
        )
          .bind(period, start)
          .run();
        deleted += result.meta.changes;
        if (result.meta.changes < DELETE_ROWS) break;
      }
      run.periods.push({ period, start, deleted });
    }
  }
  return run;
}
