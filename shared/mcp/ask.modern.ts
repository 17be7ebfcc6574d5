/**
 * Asking the client on 2026-07-28 (multi-round-trip requests, SEP-2322): the server cannot send
 * the client a request, so a handler's unanswered ask ends the round. The kit answers the call
 * `input_required` with every ask the handler made before it stopped (several in one round when it
 * asked them together, e.g. with Promise.all) and a `requestState` signed like an approval's
 * (approval.modern.ts: HMAC with APPROVAL_STATE_KEY, bound to the caller, server, tool, the
 * canonical-arguments digest and an expiry, with a nonce the caller's Durable Object consumes once).
 *
 * The retry carries the answers (`inputResponses`, keyed by the asks' keys) and the state; the
 * handler is run again from the start and each ask is answered from them: an answer counts only
 * for the key it was asked under and only if the handler asks the same thing again (the state
 * holds each ask's digest), and it must have the shape of its request's answer (a form's content
 * is checked against the form). Answers of earlier rounds travel in the signed state, so a call
 * can take several rounds. A missing or unusable answer is asked again; answers without state are
 * ignored (asked again); a replayed, altered or another call's state is refused and nothing runs.
 */
import {
  type ClientCapabilities,
  type InputRequest,
  type InputRequiredResult,
  inputRequired,
  type RequestStateCodec,
} from "@modelcontextprotocol/server";
import { CfWorkerJsonSchemaValidator } from "@modelcontextprotocol/server/validators/cf-worker";
import type { Caller } from "../auth/caller";
import { identityOf, type ModernApprovalRound } from "./approval.modern";
import { type Asker, missingCapabilityError } from "./ask";
import { digestArguments } from "./tool.invoke";

/** What an ask round's state says (signed, not secret: the client can read it). */
export interface AskState {
  kind: "ask";
  caller: string;
  server: string;
  tool: string;
  argsDigest: string;
  nonce: string;
  /** Answers the handler used in earlier rounds: what was asked (its digest) and the response. */
  answers: Record<string, Answer>;
  /** What this round asked, by key: each request's digest. */
  pending: Record<string, string>;
}

interface Answer {
  asked: string;
  response: unknown;
}

export interface ModernAskCall {
  round: ModernApprovalRound;
  caller: Caller;
  server: string;
  tool: string;
  argsDigest: string;
}

/** Thrown (as a rejection) by an ask the client has not answered yet: the round ends with it. */
export class AskPending extends Error {
  constructor(readonly key: string) {
    super(`waiting for the client's answer to "${key}"`);
    this.name = "AskPending";
  }
}

const FORMS = new CfWorkerJsonSchemaValidator();

/** A call's asks on 2026-07-28: answers from the verified state and the retry, pending asks, the next round. */
export class ModernAskRound implements Asker {
  readonly #call: ModernAskCall;
  readonly #offered: Record<string, Answer>;
  readonly #used: Record<string, Answer> = {};
  readonly #pending = new Map<string, { request: InputRequest; digest: string }>();

  private constructor(call: ModernAskCall, offered: Record<string, Answer>) {
    this.#call = call;
    this.#offered = offered;
  }

  /** Opens the round: checks the state the retry carries (if any) and takes its answers, or says why not. */
  static async open(call: ModernAskCall): Promise<ModernAskRound | { refused: string }> {
    const { ctx } = call.round;
    const state = ctx.mcpReq.requestState<AskState | { kind?: undefined }>(); // verified by the SDK (codec.verify)
    if (!state) return new ModernAskRound(call, {});
    if (
      state.kind !== "ask" ||
      state.caller !== identityOf(call.caller) ||
      state.server !== call.server ||
      state.tool !== call.tool
    ) {
      return { refused: "the request state was given for another call" };
    }
    if (state.argsDigest !== call.argsDigest) {
      return { refused: "the arguments changed since the client was asked" };
    }
    if (!(await call.round.consumeNonce(state.nonce))) return { refused: "this request state was already used" };
    const responses = ctx.mcpReq.inputResponses ?? {};
    const offered: Record<string, Answer> = { ...state.answers };
    for (const [key, asked] of Object.entries(state.pending)) {
      if (responses[key] !== undefined) offered[key] = { asked, response: responses[key] };
    }
    return new ModernAskRound(call, offered);
  }

  capabilities(): ClientCapabilities | undefined {
    const envelope = this.#call.round.ctx.mcpReq.envelope as Record<string, unknown> | undefined;
    return envelope?.["io.modelcontextprotocol/clientCapabilities"] as ClientCapabilities | undefined;
  }

  missingCapability(required: ClientCapabilities, what: string): Error {
    return missingCapabilityError(required, what);
  }

  ask(key: string, request: InputRequest): Promise<unknown> {
    const digest = digestArguments(request as unknown as Record<string, unknown>);
    const offered = this.#offered[key];
    if (offered && offered.asked === digest && answers(request, offered.response)) {
      this.#used[key] = offered;
      return Promise.resolve(offered.response);
    }
    this.#pending.set(key, { request, digest });
    return Promise.reject(new AskPending(key));
  }

  /**
   * Runs the handler: its output when every ask it made was answered, else the next round
   * (`input_required` with the pending asks and a fresh signed state). Pending asks win over
   * whatever the handler did with their rejections.
   */
  async settle<Output>(run: () => Promise<Output>): Promise<{ output: Output } | { ask: InputRequiredResult }> {
    let output: Output;
    try {
      output = await run();
    } catch (error) {
      if (this.#pending.size === 0) throw error;
      return { ask: await this.#next() };
    }
    if (this.#pending.size > 0) return { ask: await this.#next() };
    return { output };
  }

  async #next(): Promise<InputRequiredResult> {
    const { round, caller, server, tool, argsDigest } = this.#call;
    const state: AskState = {
      kind: "ask",
      caller: identityOf(caller),
      server,
      tool,
      argsDigest,
      nonce: crypto.randomUUID(),
      answers: this.#used,
      pending: Object.fromEntries([...this.#pending].map(([key, { digest }]) => [key, digest])),
    };
    const codec = round.codec as unknown as RequestStateCodec<AskState>;
    const requestState = await codec.mint(state, round.ctx);
    const inputRequests = Object.fromEntries([...this.#pending].map(([key, { request }]) => [key, request]));
    return inputRequired({ inputRequests, requestState });
  }
}

/** Whether a response has the shape of an answer to `request` (a form's content must fit the form). */
function answers(request: InputRequest, response: unknown): boolean {
  if (typeof response !== "object" || response === null || Array.isArray(response)) return false;
  const answer = response as Record<string, unknown>;
  if (request.method === "roots/list") {
    return Array.isArray(answer.roots) && answer.roots.every((root) => typeof root?.uri === "string");
  }
  if (request.method === "sampling/createMessage") {
    return typeof answer.role === "string" && typeof answer.content === "object" && answer.content !== null;
  }
  if (!["accept", "decline", "cancel"].includes(String(answer.action))) return false;
  const params = request.params as { mode?: string; requestedSchema?: Record<string, unknown> };
  if (answer.action !== "accept" || params.mode === "url") return true;
  if (typeof answer.content !== "object" || answer.content === null) return false;
  return FORMS.getValidator(params.requestedSchema as never)(answer.content).valid;
}
