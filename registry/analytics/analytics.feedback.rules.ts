/**
 * What a rating may say (docs/analytics.md), in one place for the API, the registry_feedback tool,
 * the page and the CLI (a module without imports, so the CLI can load it on Node).
 *
 * The minutes a call really saved are at most a working day: 8 hours. A cap relative to the tool's
 * estimate (say 10×) would refuse exactly the honest reports feedback exists for — a tool whose
 * owner underestimated it — while the blend already damps one rating (K = 10); the absolute cap
 * bounds what one person can add: at most 480 / (K + n) minutes per call of that tool.
 */
export const MAX_FEEDBACK_MINUTES = 8 * 60;

/** The refusal of a `minutes` value, naming the field; undefined when it is acceptable. */
export function feedbackMinutesProblem(minutes: number | undefined, helped: boolean): string | undefined {
  if (minutes === undefined) return undefined;
  if (!Number.isFinite(minutes) || minutes < 0 || minutes > MAX_FEEDBACK_MINUTES) {
    return `minutes must be a number of minutes from 0 to ${MAX_FEEDBACK_MINUTES} (8 hours), not ${minutes}`;
  }
  if (!helped) return "minutes goes with helped: true (the minutes the call saved)";
  return undefined;
}
