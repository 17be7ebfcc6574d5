/**
 * The per-caller limits, as the caller's object (caller.state.ts) keeps them for every era: a
 * token bucket (`callsPerMinute`), a count of calls in flight (`callsInFlight`: the object's own
 * 2026-07-28 calls plus the leases it handed to the caller's 2025 sessions), and the caller's open
 * 2025 sessions (`openSessions`, stored, so the count survives eviction). One object per caller
 * per server makes each of them strict across eras and isolates.
 */
import type { Caller } from "../auth/caller";

/** Per identity per server, unless the server's declaration (`limits`) or the deployment's vars say otherwise. */
export const DEFAULT_LIMITS = { callsPerMinute: 120, callsInFlight: 8, openSessions: 64 } as const;

export interface CallerLimits {
  callsPerMinute: number;
  callsInFlight: number;
  openSessions: number;
}

/**
 * A 2025 session's call holds its lease until it ends (the session releases it); a lease whose
 * release never came (the session's object died mid-call) stops counting after this long.
 */
export const LEASE_MAX_MS = 15 * 60_000;

export type Admission = { admitted: true; lease: string } | { admitted: false; message: string; retryAfter: number };

/** What a 2025 session asks of the caller's object (Workers RPC on its stub). */
export interface CallerLimitsRpc {
  admitSessionCall(caller: Caller, tool: string): Promise<Admission>;
  releaseSessionCall(lease: string): Promise<void>;
  openSession(caller: Caller, sessionId: string): Promise<{ opened: true } | { opened: false; message: string }>;
  closeSession(sessionId: string): Promise<void>;
}

/** The caller's object's name: one per server, identity kind and IdP subject. */
export function callerKey(serverName: string, caller: Caller): string {
  return `${serverName}|${caller.kind}|${caller.subject}`;
}

/** The declared limits, overridden by CALLS_PER_MINUTE / CALLS_IN_FLIGHT / OPEN_SESSIONS where set. */
export function limitsFor(declared: Partial<CallerLimits> | undefined, env: Record<string, unknown>): CallerLimits {
  const base = { ...DEFAULT_LIMITS, ...declared };
  return {
    callsPerMinute: positiveInteger(env.CALLS_PER_MINUTE) ?? base.callsPerMinute,
    callsInFlight: positiveInteger(env.CALLS_IN_FLIGHT) ?? base.callsInFlight,
    openSessions: positiveInteger(env.OPEN_SESSIONS) ?? base.openSessions,
  };
}

/** The answer to a refused call: the same words in every era. */
export function tooManyRequests(reason: string, retryAfter: number): string {
  return `Too many requests: ${reason}; retry in ${retryAfter} s`;
}

/** The token bucket and the calls in flight (in memory: the object is the only one counting). */
export class CallLimiter {
  readonly #limits: CallerLimits;
  readonly #serverName: string;
  #tokens: number;
  #refilledAt = Date.now();
  /** 2026-07-28 calls this object serves itself. */
  #ownInFlight = 0;
  /** 2025 sessions' calls: lease id → when it was handed out. */
  readonly #leases = new Map<string, number>();

  constructor(limits: CallerLimits, serverName: string) {
    this.#limits = limits;
    this.#serverName = serverName;
    this.#tokens = limits.callsPerMinute;
  }

  /** Takes a token and a place in flight, or says why not (and when to retry). */
  admit(): { admitted: true } | { admitted: false; reason: string; retryAfter: number } {
    const limits = this.#limits;
    const now = Date.now();
    const perMs = limits.callsPerMinute / 60_000;
    this.#tokens = Math.min(limits.callsPerMinute, this.#tokens + (now - this.#refilledAt) * perMs);
    this.#refilledAt = now;
    if (this.#tokens < 1) {
      const retryAfter = Math.max(1, Math.ceil((1 - this.#tokens) / perMs / 1000));
      const reason = `rate limit: more than ${limits.callsPerMinute} calls a minute to the ${this.#serverName} server`;
      return { admitted: false, reason, retryAfter };
    }
    if (this.#inFlight(now) >= limits.callsInFlight) {
      const reason = `too many calls in flight: at most ${limits.callsInFlight} at once on the ${this.#serverName} server`;
      return { admitted: false, reason, retryAfter: 1 };
    }
    this.#tokens -= 1;
    return { admitted: true };
  }

  /** A modern call admitted by `admit` started (`started`) or ended (`ended`). */
  started(): void {
    this.#ownInFlight += 1;
  }

  ended(): void {
    this.#ownInFlight = Math.max(0, this.#ownInFlight - 1);
  }

  /** A 2025 session's call admitted by `admit`: its lease. */
  lease(): string {
    const id = crypto.randomUUID();
    this.#leases.set(id, Date.now());
    return id;
  }

  release(lease: string): void {
    this.#leases.delete(lease);
  }

  #inFlight(now: number): number {
    for (const [id, at] of this.#leases) if (now - at > LEASE_MAX_MS) this.#leases.delete(id);
    return this.#ownInFlight + this.#leases.size;
  }
}

function positiveInteger(value: unknown): number | undefined {
  const number = Number(value);
  return value !== undefined && value !== "" && Number.isSafeInteger(number) && number > 0 ? number : undefined;
}
