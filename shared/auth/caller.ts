/**
 * Who is calling. Every request the kit serves carries exactly one Caller, resolved at the
 * Worker edge before anything reaches a session.
 */
export interface Caller {
  kind: "user" | "service";
  /**
   * Stable and unique across kinds: `user:<principal>` or `service:<name>`. Session ownership,
   * invocation and audit records, and registry actors use it.
   */
  id: string;
  /**
   * The identity of record without the kind: a user's verified email (lowercased), else
   * `<issuer>#<subject>`; a service's name. What an upstream is told the acting user is (the
   * Trino user) and who a review is recorded for. Never the IdP's `preferred_username`.
   */
  principal: string;
  /**
   * Who this is at the IdP, whatever their email becomes: `<issuer>#<subject>` for a user (the
   * one claim pair an IdP never reassigns), `service:<name>` for a service. Rules that must count
   * or refuse people (revocation, "two different reviewers") key on it, not on the principal.
   */
  subject: string;
  /** Display only (a user's login, a service's name): never an identity. */
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
    return typeof parsed.id === "string" && typeof parsed.subject === "string" && Array.isArray(parsed.groups)
      ? parsed
      : undefined;
  } catch {
    return undefined;
  }
}
