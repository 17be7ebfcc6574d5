/**
 * A 2025 session's side of the per-caller limits: the session object asks the caller's object
 * (caller.state.ts, over Workers RPC) before a tools/call runs (one round trip on the call's path;
 * the release when the call ends is not awaited) and when the session opens and ends. Fails
 * closed: without the CALLERS binding, or when the caller's object cannot be reached, nothing runs.
 */
import type { CallToolResult } from "@modelcontextprotocol/server";
import type { Caller } from "../auth/caller";
import { type CallerLimitsRpc, callerKey } from "./caller.limits";
import type { KitEnv } from "./server.definition";

export type SessionAdmission =
  | { admitted: true; release(): void }
  | { admitted: false; status: 429 | 503; message: string; retryAfter: number };

export class SessionLimits {
  readonly #env: () => KitEnv;
  readonly #serverName: string;

  constructor(serverName: string, env: () => KitEnv) {
    this.#serverName = serverName;
    this.#env = env;
  }

  #object(caller: Caller): CallerLimitsRpc | undefined {
    const callers = this.#env().CALLERS;
    if (!callers) return undefined;
    return callers.get(callers.idFromName(callerKey(this.#serverName, caller))) as unknown as CallerLimitsRpc;
  }

  /** One tools/call: admitted (release it when the call ends) or refused with the reason. */
  async admitCall(caller: Caller, tool: string): Promise<SessionAdmission> {
    const object = this.#object(caller);
    if (!object) return this.#unconfigured();
    try {
      const admission = await object.admitSessionCall(caller, tool);
      if (!admission.admitted) return { ...admission, status: 429 };
      const { lease } = admission;
      let released = false;
      return {
        admitted: true,
        release: () => {
          if (released) return;
          released = true;
          object.releaseSessionCall(lease).catch((error: unknown) => {
            // The lease stops counting after LEASE_MAX_MS anyway.
            console.error(`${this.#serverName}: could not release a call's place in flight`, error);
          });
        },
      };
    } catch (error) {
      console.error(`${this.#serverName}: the caller's limits could not be checked`, error);
      return {
        admitted: false,
        status: 503,
        message: "The caller's limits cannot be checked right now",
        retryAfter: 5,
      };
    }
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
      await this.#object(caller)?.closeSession(sessionId);
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
    _meta: { "fleet/errorClass": "rate_limited", "fleet/retriable": true, "fleet/retryAfterSeconds": retryAfter },
  };
}
