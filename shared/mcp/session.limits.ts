/**
 * A 2025 session's side of the per-caller limits (caller.limits.ts). The caller's object counts;
 * the session holds a budget it was given there: places in flight and, at high rates, a few
 * tokens usable for BUDGET_MS. A call that fits the budget is admitted here, with no hop; any
 * other asks the caller's object (Workers RPC, one round trip on the call's path), which also
 * renews the budget. Once the session has had no call in flight for IDLE_RETURN_MS it gives the
 * places and unused tokens back (not awaited), or at once when the caller's object asks for
 * them because another call needs a place (givePlacesBack). The session also asks when it opens and ends.
 * Fails closed: without the CALLERS binding, or when the caller's object cannot be reached,
 * nothing runs.
 */
import type { CallToolResult } from "@modelcontextprotocol/server";
import type { Caller } from "../auth/caller";
import { type CallerLimitsRpc, callerKey, IDLE_RETURN_MS } from "./caller.limits";
import type { KitEnv } from "./server.definition";

export type SessionAdmission =
  | { admitted: true; release(): void }
  | { admitted: false; status: 429 | 503; message: string; retryAfter: number };

/** What this session holds of one caller's limits. */
interface Budget {
  object: CallerLimitsRpc;
  /** Places in flight the caller's object counts for this session. */
  slots: number;
  /** Calls of this session in flight, or being admitted. */
  busy: number;
  tokens: number;
  until: number;
  idle?: ReturnType<typeof setTimeout>;
}

export class SessionLimits {
  readonly #env: () => KitEnv;
  readonly #serverName: string;
  /** This session's name at the caller's object (its Durable Object id). */
  readonly #holder: string;
  readonly #budgets = new Map<string, Budget>();

  constructor(serverName: string, holder: string, env: () => KitEnv) {
    this.#serverName = serverName;
    this.#holder = holder;
    this.#env = env;
  }

  #object(caller: Caller): CallerLimitsRpc | undefined {
    const callers = this.#env().CALLERS;
    if (!callers) return undefined;
    return callers.get(callers.idFromName(callerKey(this.#serverName, caller))) as unknown as CallerLimitsRpc;
  }

  #budget(caller: Caller): Budget | undefined {
    const key = callerKey(this.#serverName, caller);
    let budget = this.#budgets.get(key);
    if (!budget) {
      const object = this.#object(caller);
      if (!object) return undefined;
      // One stub for the session's life: calls on it arrive at the caller's object in order.
      budget = { object, slots: 0, busy: 0, tokens: 0, until: 0 };
      this.#budgets.set(key, budget);
    }
    return budget;
  }

  /** One tools/call: admitted (release it when the call ends) or refused with the reason. */
  async admitCall(caller: Caller, tool: string): Promise<SessionAdmission> {
    const budget = this.#budget(caller);
    if (!budget) return this.#unconfigured();
    clearTimeout(budget.idle);
    const now = Date.now();
    const tokens = now < budget.until ? budget.tokens : 0;
    if (tokens >= 1 && budget.busy < budget.slots) {
      budget.tokens = tokens - 1;
      budget.busy += 1;
      return this.#admitted(budget);
    }
    const busy = budget.busy;
    // Counted before the answer: a second call asking meanwhile needs a place of its own, and a
    // token this call brings is taken now, so two calls asking at once never both bring it.
    budget.busy += 1;
    const bringsToken = tokens >= 1;
    budget.tokens = tokens - (bringsToken ? 1 : 0);
    const giveTokenBack = () => {
      if (bringsToken && Date.now() < budget.until) budget.tokens += 1;
    };
    try {
      const admission = await budget.object.admitSessionCall(caller, tool, {
        holder: this.#holder,
        busy,
        tokens: bringsToken ? 1 : 0,
      });
      if (!admission.admitted) {
        giveTokenBack();
        this.#ended(budget);
        return { ...admission, status: 429 };
      }
      const { slots, until } = admission.budget;
      // The caller's object counts this session's places: what it says is what the session holds.
      budget.slots = slots;
      if (!admission.ownToken) {
        giveTokenBack();
        budget.tokens = (Date.now() < budget.until ? budget.tokens : 0) + admission.budget.tokens;
        budget.until = until;
      }
      return this.#admitted(budget);
    } catch (error) {
      giveTokenBack();
      this.#ended(budget);
      console.error(`${this.#serverName}: the caller's limits could not be checked`, error);
      return {
        admitted: false,
        status: 503,
        message: "The caller's limits cannot be checked right now",
        retryAfter: 5,
      };
    }
  }

  #admitted(budget: Budget): SessionAdmission {
    let released = false;
    return {
      admitted: true,
      release: () => {
        if (released) return;
        released = true;
        this.#ended(budget);
      },
    };
  }

  /** A call ended (or was refused): once the session is idle a while, its places go back. */
  #ended(budget: Budget): void {
    budget.busy = Math.max(0, budget.busy - 1);
    if (budget.busy > 0) return;
    clearTimeout(budget.idle);
    budget.idle = setTimeout(() => {
      if (budget.busy > 0 || (budget.slots === 0 && budget.tokens === 0)) return;
      const unused = Date.now() < budget.until ? budget.tokens : 0;
      budget.slots = 0;
      budget.tokens = 0;
      budget.until = 0;
      budget.object.returnBudget(this.#holder, unused).catch((error: unknown) => {
        // The places stop counting after LEASE_MAX_MS without a call anyway.
        console.error(`${this.#serverName}: could not give back a session's places in flight`, error);
      });
    }, IDLE_RETURN_MS);
  }

  /**
   * The caller's object `key` needs places back (another call would be refused): those this
   * session holds go back at once if none is in use, with the tokens still valid.
   */
  givePlacesBack(key: string): { returned: boolean; tokens: number } {
    const budget = this.#budgets.get(key);
    // None held here (e.g. this object restarted since the places were counted): they are free.
    if (!budget) return { returned: true, tokens: 0 };
    if (budget.busy > 0) return { returned: false, tokens: 0 };
    clearTimeout(budget.idle);
    const tokens = Date.now() < budget.until ? budget.tokens : 0;
    budget.slots = 0;
    budget.tokens = 0;
    budget.until = 0;
    return { returned: true, tokens };
  }

  /** A session opening: a slot under the caller's cap on open sessions, or the refusal's message. */
  async open(
    caller: Caller,
    sessionId: string,
  ): Promise<{ opened: true } | { opened: false; status: 429 | 503; message: string }> {
    const object = this.#object(caller);
    if (!object) return { opened: false, status: 503, message: this.#unconfigured().message };
    try {
      const answer = await object.openSession(caller, sessionId);
      return answer.opened ? answer : { ...answer, status: 429 };
    } catch (error) {
      console.error(`${this.#serverName}: the caller's open sessions could not be counted`, error);
      return { opened: false, status: 503, message: "The caller's open sessions cannot be counted right now" };
    }
  }

  /** The session ended: its slot is free (retried by nobody; logged if it fails). */
  async close(caller: Caller, sessionId: string): Promise<void> {
    try {
      const running = [...this.#budgets.values()].some((budget) => budget.busy > 0);
      await this.#object(caller)?.closeSession(sessionId, running);
    } catch (error) {
      console.error(`${this.#serverName}: could not free the slot of session ${sessionId}`, error);
    }
  }

  #unconfigured(): { admitted: false; status: 503; message: string; retryAfter: number } {
    console.error(`${this.#serverName}: the CALLERS Durable Object binding (per-caller limits) must be configured`);
    return { admitted: false, status: 503, message: "This server has no per-caller limits configured", retryAfter: 60 };
  }
}

/** A refused call, answered as a tool error (where the transport cannot answer 429 itself). */
export function refusedCallResult(message: string, retryAfter: number): CallToolResult {
  return {
    isError: true,
    content: [{ type: "text", text: message }],
    _meta: { "fleet/errorClass": "rate_limited", "fleet/retryAfterSeconds": retryAfter, "fleet/retriable": true },
  };
}
