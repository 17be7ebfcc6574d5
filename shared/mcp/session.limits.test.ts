/**
 * A 2025 session's side of the limits (session.limits.ts) against a real CallLimiter standing in
 * for the caller's object (the RPC is a slow async call here): every admitted call is paid for by
 * a token from the caller's bucket, however many ask at once.
 */
import { describe, expect, it } from "vitest";
import type { Caller } from "../auth/caller";
import { type Admission, type BudgetRequest, CallLimiter } from "./caller.limits";
import type { KitEnv } from "./server.definition";
import { SessionLimits } from "./session.limits";

const CALLER = { kind: "user", subject: "user-ada", name: "ada", groups: [], scopes: [] } as unknown as Caller;

function fleetOf(callsPerMinute: number, callsInFlight: number) {
  const limiter = new CallLimiter({ callsPerMinute, callsInFlight, openSessions: 8 }, "echo");
  const object = {
    async admitSessionCall(_caller: Caller, _tool: string, request: BudgetRequest): Promise<Admission> {
      // The answer comes back after other calls of the session asked: the race under test.
      await new Promise((resolve) => setTimeout(resolve, 20));
      const answer = limiter.admitHolder(request);
      return answer.admitted ? answer : { admitted: false, message: answer.reason, retryAfter: answer.retryAfter };
    },
    async returnBudget(holder: string, tokens: number) {
      limiter.returned(holder, tokens);
    },
  };
  const env = { CALLERS: { idFromName: () => "id", get: () => object } } as unknown as KitEnv;
  return { limiter, session: new SessionLimits("echo", "session-1", () => env) };
}

/** What is left in the bucket: how many 2026-07-28 calls it still admits (the session's places freed first). */
function bucketLeft(limiter: CallLimiter): number {
  limiter.returned("session-1", 0);
  let left = 0;
  while (limiter.admit().admitted) left += 1;
  return left;
}

describe("a 2025 session's budget", () => {
  it("never lets one token admit two calls that ask at the same moment", async () => {
    const { limiter, session } = fleetOf(120, 8);
    // The first call gets one place and a second's refill (2 tokens); it stays in flight.
    const first = await session.admitCall(CALLER, "echo_say");
    expect(first.admitted).toBe(true);
    // Seven more at once: each needs a place, and the two tokens held must go to two of them only.
    const rest = await Promise.all(Array.from({ length: 7 }, () => session.admitCall(CALLER, "echo_say")));
    const admitted = 1 + rest.filter((answer) => answer.admitted).length;
    const paid = 120 - bucketLeft(limiter);
    expect(admitted).toBe(8);
    expect(paid).toBeGreaterThanOrEqual(admitted);
  });

  it("gives a token it brought back when the call is refused", async () => {
    const { session } = fleetOf(120, 1);
    const first = await session.admitCall(CALLER, "echo_say");
    expect(first.admitted).toBe(true);
    // The only place is in use: refused, and the token it brought is still the session's.
    const refused = await session.admitCall(CALLER, "echo_say");
    expect(refused).toMatchObject({ admitted: false, status: 429 });
    if (first.admitted) first.release();
    const again = await session.admitCall(CALLER, "echo_say");
    expect(again.admitted).toBe(true);
  });

  it("a session that holds nothing here (its object restarted) gives its places back when asked", () => {
    const { session } = fleetOf(120, 8);
    expect(session.givePlacesBack("echo|user|user-ada")).toEqual({ returned: true, tokens: 0 });
  });
});
