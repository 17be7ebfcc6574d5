/**
 * Ratings of single calls and the owners' estimate overrides. A rating is written with its
 * feedback_daily rollup in one D1 batch; the rollup counts only a rating not yet stored, so a
 * repeated request changes nothing.
 */
import type { Caller } from "../../shared/auth/caller";
import { feedbackMinutesProblem } from "./analytics.feedback.rules";
import { dayOf } from "./analytics.period";

export type FeedbackAnswer =
  | { ok: true; invocationId: string; server: string; tool: string }
  | { ok: false; status: 400 | 404 | 403 | 409; reason: string; field?: "minutes" };

export interface FeedbackInput {
  invocationId: string;
  helped: boolean;
  /** The minutes the call really saved (only with helped). */
  minutes?: number | undefined;
}

/** The rating's rollup (?1 id, ?2 day, ?3 server, ?4 tool, ?5 helped 0/1, ?6 minutes), before its row. */
export const FEEDBACK_ROLLUP = `INSERT INTO feedback_daily (day, server_name, tool_name, ratings, helped, helped_with_minutes, minutes_given)
  SELECT ?2, ?3, ?4, 1, ?5, CASE WHEN ?5 = 1 AND ?6 IS NOT NULL THEN 1 ELSE 0 END, CASE WHEN ?5 = 1 THEN coalesce(?6, 0) ELSE 0 END
  WHERE NOT EXISTS (SELECT 1 FROM feedback WHERE invocation_id = ?1)
  ON CONFLICT (server_name, tool_name, day) DO UPDATE SET ratings = ratings + 1, helped = helped + excluded.helped,
    helped_with_minutes = helped_with_minutes + excluded.helped_with_minutes, minutes_given = minutes_given + excluded.minutes_given`;
/** The rating (?1 id, ?2 server, ?3 tool, ?4 caller, ?5 day, ?6 helped 0/1, ?7 minutes, ?8 at). */
export const FEEDBACK_INSERT = `INSERT INTO feedback (invocation_id, server_name, tool_name, caller_id, day, helped, minutes, at)
  VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) ON CONFLICT (invocation_id) DO NOTHING`;

/**
 * Rates one invocation: only its caller (a person or a service: the invocation's `caller_id`),
 * only once, only while its raw row is kept, with at most MAX_FEEDBACK_MINUTES and minutes only
 * with helped. Who may write at all (registry:write) is the entry point's check.
 */
export async function recordFeedback(
  db: D1Database,
  caller: Caller,
  input: FeedbackInput,
  now = Date.now(),
): Promise<FeedbackAnswer> {
  const bad = feedbackMinutesProblem(input.minutes, input.helped);
  if (bad) return { ok: false, status: 400, reason: bad, field: "minutes" };
  const invocation = await db
    .prepare("SELECT server_name, tool_name, caller_id, started_at FROM invocations WHERE id = ?1")
    .bind(input.invocationId)
    .first<{ server_name: string; tool_name: string; caller_id: string; started_at: number }>();
  if (!invocation) {
    return {
      ok: false,
      status: 404,
      reason: `no invocation ${input.invocationId} on record (calls are recorded a few seconds after they end, and rated within the retention window)`,
    };
  }
  if (invocation.caller_id !== caller.id) {
    return { ok: false, status: 403, reason: "only the caller of an invocation may rate it" };
  }
  const minutes = input.helped ? (input.minutes ?? null) : null;
  const day = dayOf(invocation.started_at);
  const [rollup] = await db.batch([
    db
      .prepare(FEEDBACK_ROLLUP)
      .bind(input.invocationId, day, invocation.server_name, invocation.tool_name, input.helped ? 1 : 0, minutes),
    db
      .prepare(FEEDBACK_INSERT)
      .bind(
        input.invocationId,
        invocation.server_name,
        invocation.tool_name,
        caller.id,
        day,
        input.helped ? 1 : 0,
        minutes,
        now,
      ),
  ]);
  if (!rollup?.meta.changes)
    return { ok: false, status: 409, reason: `invocation ${input.invocationId} is already rated` };
  return { ok: true, invocationId: input.invocationId, server: invocation.server_name, tool: invocation.tool_name };
}

export interface EstimateOverride {
  server: string;
  tool: string;
  minutes: number | null;
  effectiveFrom: string;
  reason: string;
  setBy: string;
  setAt: string;
}

export async function setEstimateOverride(
  db: D1Database,
  override: Omit<EstimateOverride, "setAt">,
  now = Date.now(),
): Promise<EstimateOverride> {
  await db
    .prepare(
      `INSERT INTO estimate_overrides (id, server_name, tool_name, minutes, effective_from, reason, set_by, set_at)
        VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)`,
    )
    .bind(
      crypto.randomUUID(),
      override.server,
      override.tool,
      override.minutes,
      override.effectiveFrom,
      override.reason,
      override.setBy,
      now,
    )
    .run();
  return { ...override, setAt: new Date(now).toISOString() };
}

/** A tool's override history, newest first. */
export async function listEstimateOverrides(
  db: D1Database,
  server: string,
  tool?: string,
): Promise<EstimateOverride[]> {
  const { results } = await db
    .prepare(
      `SELECT server_name, tool_name, minutes, effective_from, reason, set_by, set_at FROM estimate_overrides
        WHERE server_name = ?1 AND (?2 IS NULL OR tool_name = ?2) ORDER BY set_at DESC`,
    )
    .bind(server, tool ?? null)
    .all<{
      server_name: string;
      tool_name: string;
      minutes: number | null;
      effective_from: string;
      reason: string;
      set_by: string;
      set_at: number;
    }>();
  return results.map((row) => ({
    server: row.server_name,
    tool: row.tool_name,
    minutes: row.minutes,
    effectiveFrom: row.effective_from,
    reason: row.reason,
    setBy: row.set_by,
    setAt: new Date(row.set_at).toISOString(),
  }));
}
