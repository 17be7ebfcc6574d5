/** Words and dates as the page shows them. */
import type { Lifecycle, ReviewKind, ReviewState, ServiceRule } from "../../shared/db/fleet.schema";

export const LIFECYCLE_LABELS: Record<Lifecycle, string> = {
  draft: "Draft",
  in_review: "In review",
  approved: "Approved",
  deprecated: "Deprecated",
  retired: "Retired",
};

export const REVIEW_KIND_LABELS: Record<ReviewKind, string> = {
  security: "Security",
  legal: "Legal/Privacy",
  genai: "GenAI",
};

export const REVIEW_STATE_LABELS: Record<ReviewState, string> = {
  pending: "Pending",
  approved: "Approved",
  changes_requested: "Changes requested",
  rejected: "Rejected",
};

export const STATUS_LABELS = { up: "Up", down: "Down", unknown: "Unknown" } as const;
export type HealthStatus = keyof typeof STATUS_LABELS;

/** "just now", "1 min ago", "5 min ago", "3 h ago", "2 days ago". */
export function timeAgo(at: Date, now: Date): string {
  const seconds = Math.max(0, Math.round((now.getTime() - at.getTime()) / 1000));
  if (seconds < 60) return "just now";
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes} min ago`;
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return `${hours} h ago`;
  return `${Math.floor(hours / 24)} days ago`;
}

/** "2026-11-26 14:03 UTC": unambiguous for every reader, whatever their locale. */
export function formatDate(at: Date): string {
  return `${at.toISOString().slice(0, 16).replace("T", " ")} UTC`;
}

export function formatDay(at: Date): string {
  return at.toISOString().slice(0, 10);
}

export function servicesLabel(rule: ServiceRule | undefined): string {
  if (rule === true) return "any registered service";
  if (!rule || rule.length === 0) return "none";
  return rule.join(", ");
}

export function listOr(values: readonly string[] | undefined, empty: string): string {
  return values && values.length > 0 ? values.join(", ") : empty;
}

/** "1 tool", "3 tools". */
export function count(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? "" : "s"}`;
}
