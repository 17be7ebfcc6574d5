import { LATENCY_BOUNDS_MS } from "../../shared/db/analytics.schema";

/**
 * The q-quantile (0 < q ≤ 1) of a latency histogram, as the upper bound (ms) of the bucket that
 * holds it: "p95 ≤ 250 ms". The overflow bucket answers the last bound (slower than that). Null
 * for an empty histogram.
 */
export function percentileMs(buckets: readonly number[], q: number): number | null {
  const total = buckets.reduce((sum, n) => sum + n, 0);
  if (total === 0) return null;
  const rank = Math.ceil(q * total);
  let seen = 0;
  for (let i = 0; i < buckets.length; i++) {
    seen += buckets[i] ?? 0;
    if (seen >= rank) return LATENCY_BOUNDS_MS[Math.min(i, LATENCY_BOUNDS_MS.length - 1)] ?? null;
  }
  return LATENCY_BOUNDS_MS[LATENCY_BOUNDS_MS.length - 1] ?? null;
}
