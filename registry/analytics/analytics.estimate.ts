/**
 * The effective estimate of a tool's minutes saved per successful call: the owner's estimate
 * blended with the feedback of the people who called it (docs/analytics.md).
 *
 *   effective = (K · E + Σ v) / (K + n)
 *
 * E is the owner's estimate (the registry override in force, else the code's `minutesSaved`),
 * n the number of ratings, and v each rating's minutes: the minutes given when it said "helped"
 * and gave them, E when it said "helped" without minutes, 0 when it said "did not help". K is
 * how many ratings the owner's estimate weighs: with few ratings the estimate stays near E, with
 * many it tends to what people report.
 */
export const OWNER_WEIGHT = 10;

export interface FeedbackTotals {
  ratings: number;
  helped: number;
  /** Ratings that said "helped" and gave minutes, and the minutes they gave. */
  helpedWithMinutes: number;
  minutesGiven: number;
}

export function effectiveMinutes(estimate: number, totals: FeedbackTotals, weight = OWNER_WEIGHT): number {
  const helpedWithout = totals.helped - totals.helpedWithMinutes;
  const reported = totals.minutesGiven + helpedWithout * estimate;
  return (weight * estimate + reported) / (weight + totals.ratings);
}
