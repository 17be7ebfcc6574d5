/**
 * The caller's limiter with 2025 sessions' budgets (caller.limits.ts): what a budget holds at low
 * and high rates, that the places and tokens sessions hold count against every other call, and
 * that no mix of sessions and modern calls gets past the bucket.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import {
  BUDGET_MAX_TOKENS,
  BUDGET_MS,
  CallLimiter,
  type HolderEntry,
  type HolderStore,
  LEASE_MAX_MS,
} from "./caller.limits";

const limiter = (callsPerMinute: number, callsInFlight = 8) =>
  new CallLimiter({ callsPerMinute, callsInFlight, openSessions: 64 }, "echo");

beforeEach(() => {
  // Only the clock: the workers pool itself runs on timers.
  vi.useFakeTimers({ toFake: ["Date"] });
  vi.setSystemTime(new Date("2026-12-03T08:00:00Z"));
});
afterEach(() => vi.useRealTimers());

describe("a 2025 session's budget", () => {
  it("at a low rate holds no tokens beyond the call's own: every call is counted by the caller's object", () => {
    const limits = limiter(40);
    const first = limits.admitHolder({ holder: "s1", busy: 0, tokens: 0 });
    expect(first).toEqual({
      admitted: true,
      ownToken: false,
      budget: { slots: 1, tokens: 0, until: Date.now() + BUDGET_MS },
    });
    // The second call reuses the session's idle place (busy 0 < 1 slot) and takes one token.
    expect(limits.admitHolder({ holder: "s1", busy: 0, tokens: 0 })).toMatchObject({ budget: { slots: 1, tokens: 0 } });
    for (let i = 2; i < 40; i++) expect(limits.admitHolder({ holder: "s1", busy: 0, tokens: 0 }).admitted).toBe(true);
    const refused = limits.admitHolder({ holder: "s1", busy: 0, tokens: 0 });
    expect(refused).toMatchObject({
      admitted: false,
      reason: "rate limit: more than 40 calls a minute to the echo server",
    });
    expect(limits.admit().admitted).toBe(false);
  });

  it("at a high rate holds a second's refill (at most BUDGET_MAX_TOKENS), taken from the bucket at once", () => {
    const perSecond = limiter(600).admitHolder({ holder: "s1", busy: 0, tokens: 0 });
    expect(perSecond).toMatchObject({ admitted: true, budget: { tokens: 10 } });
    const capped = limiter(1_000_000).admitHolder({ holder: "s1", busy: 0, tokens: 0 });
    expect(capped).toMatchObject({ admitted: true, budget: { tokens: BUDGET_MAX_TOKENS } });
    // Tokens held by a session are gone from the bucket: 600 a minute = 1 + 10 held + 589 others.
    const limits = limiter(600);
    limits.admitHolder({ holder: "s1", busy: 0, tokens: 0 });
    let modern = 0;
    while (limits.admit().admitted) {
      modern += 1;
      limits.started();
      limits.ended();
    }
    expect(modern).toBe(589);
  });

  it("a session still holding a token asks only for a place, and takes none from the bucket", () => {
    const limits = limiter(60, 2);
    const granted = limits.admitHolder({ holder: "s1", busy: 1, tokens: 1 });
    expect(granted).toMatchObject({ admitted: true, ownToken: true, budget: { slots: 2, tokens: 0 } });
    // Its two places are the caller's two in flight: a modern call is refused until they are back.
    expect(limits.admit()).toMatchObject({ admitted: false, reason: /too many calls in flight: at most 2/ });
    limits.returned("s1", 0);
    expect(limits.admit().admitted).toBe(true);
  });

  it("places held count against other sessions and modern calls; returned tokens go back to the bucket", () => {
    const limits = limiter(60, 3);
    expect(limits.admitHolder({ holder: "s1", busy: 0, tokens: 0 }).admitted).toBe(true);
    expect(limits.admitHolder({ holder: "s1", busy: 1, tokens: 0 }).admitted).toBe(true);
    expect(limits.admitHolder({ holder: "s2", busy: 0, tokens: 0 }).admitted).toBe(true);
    expect(limits.admitHolder({ holder: "s2", busy: 1, tokens: 0 })).toMatchObject({ admitted: false });
    expect(limits.admit()).toMatchObject({ admitted: false, reason: /too many calls in flight/ });
    // s2's own idle place still serves s2.
    expect(limits.admitHolder({ holder: "s2", busy: 0, tokens: 0 }).admitted).toBe(true);
    limits.returned("s1", 0);
    expect(limits.admit().admitted).toBe(true);
  });

  it("a session that never gave its places back stops counting after LEASE_MAX_MS without a call", () => {
    const limits = limiter(60, 1);
    expect(limits.admitHolder({ holder: "gone", busy: 0, tokens: 0 }).admitted).toBe(true);
    expect(limits.admit().admitted).toBe(false);
    vi.setSystemTime(Date.now() + LEASE_MAX_MS + 1);
    expect(limits.admit().admitted).toBe(true);
  });

  it("a refund never fills the bucket past its size, and a bogus one is ignored", () => {
    const limits = limiter(10);
    limits.returned("s1", 1_000);
    limits.returned("s1", Number.NaN);
    limits.returned("s1", -5);
    let admitted = 0;
    while (limits.admit().admitted) admitted += 1;
    expect(admitted).toBe(10);
  });

  it("an answer to an ask for places that comes after the session's next admission keeps that admission's place", () => {
    const limits = limiter(60, 1);
    expect(limits.admitHolder({ holder: "s1", busy: 0, tokens: 0 }).admitted).toBe(true);
    const [asked] = limits.holdersWithPlaces();
    // s1 gave its place back (locally), then was admitted again before its answer was applied.
    expect(limits.admitHolder({ holder: "s1", busy: 0, tokens: 0 }).admitted).toBe(true);
    limits.returned("s1", 0, asked?.epoch);
    // The place of the second admission still counts: nothing else gets in.
    expect(limits.admit()).toMatchObject({ admitted: false, kind: "inFlight" });
    // An answer for the current epoch does free it.
    limits.returned("s1", 0, limits.holdersWithPlaces()[0]?.epoch);
    expect(limits.admit().admitted).toBe(true);
  });

  it("keeps the sessions' places in its store, so a new instance (after an eviction) counts them", () => {
    const kept = new Map<string, HolderEntry>();
    const store: HolderStore = {
      load: () => kept,
      put: (holder, entry) => kept.set(holder, { ...entry }),
      delete: (holder) => kept.delete(holder),
    };
    const before = new CallLimiter({ callsPerMinute: 60, callsInFlight: 2, openSessions: 8 }, "echo", store);
    expect(before.admitHolder({ holder: "s1", busy: 0, tokens: 0 }).admitted).toBe(true);
    expect(before.admitHolder({ holder: "s2", busy: 0, tokens: 0 }).admitted).toBe(true);
    const after = new CallLimiter({ callsPerMinute: 60, callsInFlight: 2, openSessions: 8 }, "echo", store);
    expect(after.admit()).toMatchObject({ admitted: false, kind: "inFlight" });
    after.returned("s1", 0);
    expect(kept.has("s1")).toBe(false);
    expect(after.admit().admitted).toBe(true);
  });

  it("a busy count that is not a number asks for a place, never reuses one", () => {
    const limits = limiter(60, 1);
    expect(limits.admitHolder({ holder: "s1", busy: 0, tokens: 0 }).admitted).toBe(true);
    expect(limits.admitHolder({ holder: "s1", busy: Number.NaN, tokens: 0 })).toMatchObject({
      admitted: false,
      reason: /too many calls in flight/,
    });
  });

  it("no mix of sessions and modern calls gets more than the bucket plus one budget per session in a minute", () => {
    const callsPerMinute = 1200;
    const limits = limiter(callsPerMinute, 64);
    const sessions = ["s1", "s2", "s3"].map((holder) => ({ holder, tokens: 0, until: 0 }));
    let admitted = 0;
    for (let ms = 0; ms < 60_000; ms += 5) {
      vi.setSystemTime(new Date("2026-12-03T08:00:00Z").getTime() + ms);
      for (const session of sessions) {
        const own = Date.now() < session.until ? session.tokens : 0;
        if (own >= 1) {
          session.tokens -= 1;
          admitted += 1;
          continue;
        }
        const answer = limits.admitHolder({ holder: session.holder, busy: 0, tokens: 0 });
        if (!answer.admitted) continue;
        admitted += 1;
        session.tokens = answer.budget.tokens;
        session.until = answer.budget.until;
      }
      if (limits.admit().admitted) admitted += 1;
    }
    // The bucket starts full (1200) and refills 1200 in the minute; each session may end holding one budget.
    expect(admitted).toBeLessThanOrEqual(2 * callsPerMinute);
    expect(admitted).toBeGreaterThanOrEqual(2 * callsPerMinute - sessions.length * (callsPerMinute / 60) - 3);
  });
});
