/**
 * Who is calling. Every request the kit serves carries exactly one Caller, resolved at the
 * Worker edge before anything reaches a session.
 */
export interface Caller {
  kind: "user" | "service";
  /** Stable id: the user's subject, or `service:<name>`. */
  id: string;
  /** Display name (the user's login, the service's name); sent upstream as the acting user. */
  name: string;
  /** Business groups (users only). */
  groups: string[];
  /** OAuth scopes granted to this caller's token. */
  scopes: string[];
}

/** Header on which the Worker hands the resolved caller to its session object (never from clients). */
export const CALLER_HEADER = "x-fleet-caller";

export function encodeCaller(caller: Caller): string {
  return JSON.stringify(caller);
}

export function decodeCaller(value: string | null): Caller | undefined {
  if (!value) return undefined;
  try {
    const parsed = JSON.parse(value) as Caller;
    return typeof parsed.id === "string" && Array.isArray(parsed.groups) ? parsed : undefined;
  } catch {
    return undefined;
  }
}
