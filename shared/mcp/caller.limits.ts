/**
 * The per-caller limits, as the caller's object (caller.state.ts) keeps them for every era: a
 * token bucket (`callsPerMinute`), a count of calls in flight (`callsInFlight`: the object's own
 * 2026-07-28 calls plus the places its caller's 2025 sessions hold), and the caller's open 2025
 * sessions (`openSessions`, stored, so the count survives eviction). One object per caller per
 * server makes each of them strict across eras and isolates.
 *
 * A 2025 session does not ask for each call: it holds a budget (session.limits.ts). Places in
 * flight it took stay its own while it keeps calling and go back once it has been idle for
 * IDLE_RETURN_MS (sooner when another call needs the place: the caller's object asks for it before
 * refusing); tokens beyond the call's own come only when the rate is high enough that a second's
 * refill holds more than one (BUDGET_MS), so a low limit is counted call by call as before, and
 * a high one costs one hop per budget instead of one per call.
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
 * Places a 2025 session holds count until it gives them back; a session whose return never came
 * (and that could not be asked: caller.state.ts reclaims on demand) stops counting after this long
 * without a call: longer than any call may run (a 30-minute wait plus its approval).
 */
export const LEASE_MAX_MS = 60 * 60_000;
/** Tokens handed to a session beyond its call's own are usable this long, at most a second's refill. */
export const BUDGET_MS = 1000;
/** At most this many tokens in one budget, whatever the rate. */
export const BUDGET_MAX_TOKENS = 100;
/** A session idle this long gives its places in flight and unused tokens back. */
export const IDLE_RETURN_MS = 100;

/** What a 2025 session holds after an admission: its places in flight, and tokens usable until `until`. */
export interface SessionBudget {
  slots: number;
  tokens: number;
  until: number;
}

/** A 2025 session asking for one call: its calls in flight besides this one, and the valid tokens it still holds. */
export interface BudgetRequest {
  holder: string;
  busy: number;
  tokens: number;
}

export type Admission =
  | { admitted: true; budget: SessionBudget; ownToken: boolean }
  | { admitted: false; message: string; retryAfter: number };

/** What a 2025 session asks of the caller's object (Workers RPC on its stub). */
export interface CallerLimitsRpc {
  admitSessionCall(caller: Caller, tool: string, request: BudgetRequest): Promise<Admission>;
  returnBudget(holder: string, tokens: number): Promise<void>;
  openSession(caller: Caller, sessionId: string): Promise<{ opened: true } | { opened: false; message: string }>;
  /** `running`: calls of the session still running, whose places it gives back when they end. */
  closeSession(sessionId: string, running?: boolean): Promise<void>;
}

/** What the caller's object asks a 2025 session that holds places (its Durable Object, over Workers RPC). */
export interface SessionPlacesRpc {
  /**
   * Gives back the places the session holds for the caller's object `key` if none is in use, with
   * its unused tokens; a session that holds none (e.g. its object restarted) answers returned too.
   */
  givePlacesBack(key: string): Promise<{ returned: boolean; tokens: number }>;
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

/** What the object keeps of a session holding places. `epoch` counts its admissions (see `returned`). */
export interface HolderEntry {
  slots: number;
  touched: number;
  epoch: number;
}

/** Where the holders' entries live beyond the object's memory. */
export interface HolderStore {
  load(): Iterable<[string, HolderEntry]>;
  put(holder: string, entry: HolderEntry): void;
  delete(holder: string): void;
}

/** Why a call was refused: the rate (`rate`) or the places in flight (`inFlight`), and when to retry. */
export type Refusal = { admitted: false; kind: "rate" | "inFlight"; reason: string; retryAfter: number };

/** The token bucket and the calls in flight (in memory: the object is the only one counting). */
export class CallLimiter {
  readonly #limits: CallerLimits;
  readonly #serverName: string;
  #tokens: number;
  #refilledAt = Date.now();
  /** 2026-07-28 calls this object serves itself. */
  #ownInFlight = 0;
  /** 2025 sessions: holder → the places in flight it holds, when it last asked, and its admissions' count. */
  readonly #holders = new Map<string, HolderEntry>();
  readonly #store: HolderStore | undefined;

  /**
   * `store` keeps the sessions' places where the object's eviction cannot lose them (the object's
   * storage): a session mid-call talks to the object only when it asks or gives back, so its places
   * must outlive the instance that counted them.
   */
  constructor(limits: CallerLimits, serverName: string, store?: HolderStore) {
    this.#limits = limits;
    this.#serverName = serverName;
    this.#tokens = limits.callsPerMinute;
    this.#store = store;
    for (const [holder, entry] of store?.load() ?? []) this.#holders.set(holder, entry);
  }

  /** A 2026-07-28 call: takes a token and a place in flight, or says why not (and when to retry). */
  admit(): { admitted: true } | Refusal {
    const refusal = this.#refusal(true, true);
    if (refusal) return refusal;
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

  /**
   * A 2025 session's call that its budget could not admit alone: a place in flight unless one of
   * the session's own is idle, a token unless it still holds one, and for a session without
   * tokens, the next budget's (at most a BUDGET_MS refill, never what the bucket lacks).
   */
  admitHolder(request: BudgetRequest): { admitted: true; budget: SessionBudget; ownToken: boolean } | Refusal {
    const now = Date.now();
    const held = this.#holders.get(request.holder) ?? { slots: 0, touched: now, epoch: 0 };
    // A count that is not a number asks for a new place (NaN would compare as "has one idle").
    const busy = Number.isFinite(request.busy) ? Math.max(0, Math.floor(request.busy)) : held.slots;
    const needsSlot = busy >= held.slots;
    const ownToken = request.tokens >= 1;
    const refusal = this.#refusal(!ownToken, needsSlot);
    if (refusal) return refusal;
    let tokens = 0;
    if (!ownToken) {
      this.#tokens -= 1;
      const refill = Math.floor((this.#limits.callsPerMinute * BUDGET_MS) / 60_000);
      tokens = Math.max(0, Math.min(BUDGET_MAX_TOKENS, refill, Math.floor(this.#tokens)));
      this.#tokens -= tokens;
    }
    if (needsSlot) held.slots = busy + 1;
    held.touched = now;
    held.epoch += 1;
    this.#holders.set(request.holder, held);
    this.#store?.put(request.holder, held);
    return { admitted: true, ownToken, budget: { slots: held.slots, tokens, until: now + BUDGET_MS } };
  }

  /**
   * A session gave its places back (idle, or ended), with the tokens it did not use. With `epoch`
   * (an answer to `holdersWithPlaces`' ask), the places go only if the session has not been
   * admitted since it was asked: an answer that arrives after the session's next admission must
   * not uncount the place that admission counted. The tokens come back either way.
   */
  returned(holder: string, tokens: number, epoch?: number): void {
    const held = this.#holders.get(holder);
    if (held && (epoch === undefined || held.epoch === epoch)) {
      this.#holders.delete(holder);
      this.#store?.delete(holder);
    }
    // Anything but a finite count (NaN would make every later call look affordable) returns nothing.
    const unused = Number.isFinite(tokens) ? Math.max(0, Math.min(BUDGET_MAX_TOKENS, Math.floor(tokens))) : 0;
    this.#tokens = Math.min(this.#limits.callsPerMinute, this.#tokens + unused);
  }

  /**
   * The sessions holding places, besides `except`: when places run out, the caller's object asks
   * them for the ones they hold idle (within IDLE_RETURN_MS of their last call) before refusing.
   */
  holdersWithPlaces(except?: string): { holder: string; epoch: number }[] {
    return [...this.#holders]
      .filter(([holder, { slots }]) => holder !== except && slots > 0)
      .map(([holder, { epoch }]) => ({ holder, epoch }));
  }

  #refusal(needsToken: boolean, needsSlot: boolean): Refusal | undefined {
    const limits = this.#limits;
    const now = Date.now();
    const perMs = limits.callsPerMinute / 60_000;
    this.#tokens = Math.min(limits.callsPerMinute, this.#tokens + (now - this.#refilledAt) * perMs);
    this.#refilledAt = now;
    if (needsToken && this.#tokens < 1) {
      const retryAfter = Math.max(1, Math.ceil((1 - this.#tokens) / perMs / 1000));
      const reason = `rate limit: more than ${limits.callsPerMinute} calls a minute to the ${this.#serverName} server`;
      return { admitted: false, kind: "rate", reason, retryAfter };
    }
    if (needsSlot && this.#inFlight(now) >= limits.callsInFlight) {
      const reason = `too many calls in flight: at most ${limits.callsInFlight} at once on the ${this.#serverName} server`;
      return { admitted: false, kind: "inFlight", reason, retryAfter: 1 };
    }
    return undefined;
  }

  #inFlight(now: number): number {
    let held = 0;
    for (const [holder, { slots, touched }] of this.#holders) {
      if (now - touched > LEASE_MAX_MS) {
        this.#holders.delete(holder);
        this.#store?.delete(holder);
      } else held += slots;
    }
    return this.#ownInFlight + held;
  }
}

function positiveInteger(value: unknown): number | undefined {
  const number = Number(value);
  return value !== undefined && value !== "" && Number.isSafeInteger(number) && number > 0 ? number : undefined;
}
