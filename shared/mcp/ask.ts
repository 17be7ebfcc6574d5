/**
 * Asking the client from a tool handler: `ctx.elicit` (form or URL mode), `ctx.sample`
 * (sampling/createMessage) and `ctx.listRoots`, the same call in every era. What carries the
 * question differs: a 2025 session (or 2024 SSE) pushes the request over the session and waits for
 * the answer (ask.session.ts); a 2026-07-28 call cannot, so an unanswered ask ends the round with
 * an `input_required` result and the client's retry re-runs the handler with the answers
 * (ask.modern.ts). A handler therefore asks before it changes anything, gives each ask a key, and
 * asks the same things in the same order on a re-run; the kit replays answers by key.
 *
 * A tool declares what it may ask (`asks` in defineTool); an ask it did not declare fails, so a
 * 2025 session can answer such calls on the stream that carries the requests.
 */
import {
  type ClientCapabilities,
  type CreateMessageRequestParams,
  type CreateMessageResult,
  type ElicitRequestFormParams,
  type ElicitResult,
  type InputRequest,
  inputRequired,
  MissingRequiredClientCapabilityError,
  type Root,
} from "@modelcontextprotocol/server";
import { ToolError } from "./errors";

/** What a handler may ask the client; a tool declares the kinds it uses (`asks`). */
export type AskKind = "elicitation" | "sampling" | "roots";

/** A form elicitation: a message and a flat schema of primitive fields. */
export type ElicitForm = Omit<ElicitRequestFormParams, "mode" | "_meta" | "task"> & { mode?: "form" };
/** A URL elicitation: the human opens `url` (out of band) and the client answers accept/decline/cancel. */
export interface ElicitUrl {
  mode: "url";
  message: string;
  url: string;
}

export interface AskOptions {
  /**
   * Names this ask within the call (letters, digits, `_`, `-`, `.`; at most 64). On 2026-07-28 the
   * answer comes back under it; default: the ask's kind and its position among the call's asks.
   */
  key?: string;
}

/** The asking half of a handler's context (ToolContext extends it). */
export interface ClientAsks {
  /** Puts a form (or a URL) to the human; the answer's `action` says whether they accepted. */
  elicit(request: ElicitForm | ElicitUrl, options?: AskOptions): Promise<ElicitResult>;
  /** Asks the client's model for a completion (sampling/createMessage). */
  sample(params: CreateMessageRequestParams, options?: AskOptions): Promise<CreateMessageResult>;
  /** The client's roots (roots/list). */
  listRoots(options?: AskOptions): Promise<Root[]>;
  /** Whether the client declared what this ask needs ("elicitation" is form mode; "elicitation.url" URL mode). */
  canAsk(kind: AskKind | "elicitation.url"): boolean;
}

/** One era's way of putting a request to the client (ask.session.ts, ask.modern.ts). */
export interface Asker {
  capabilities(): ClientCapabilities | undefined;
  /** Resolves with the client's bare response (ElicitResult, CreateMessageResult, ListRootsResult). */
  ask(key: string, request: InputRequest): Promise<unknown>;
  /** The era's refusal of an ask the client declared no capability for. */
  missingCapability(required: ClientCapabilities, what: string): Error;
}

const KEY = /^[A-Za-z0-9_.-]{1,64}$/;

/** The capability an ask needs, in the ClientCapabilities shape (`-32021`'s requiredCapabilities). */
export function requiredCapability(kind: AskKind | "elicitation.url"): ClientCapabilities {
  if (kind === "elicitation") return { elicitation: { form: {} } };
  if (kind === "elicitation.url") return { elicitation: { url: {} } };
  if (kind === "sampling") return { sampling: {} };
  return { roots: {} };
}

/** Whether the declared capabilities cover an ask (`elicitation: {}` alone means form mode, as the spec says). */
export function declares(capabilities: ClientCapabilities | undefined, kind: AskKind | "elicitation.url"): boolean {
  if (!capabilities) return false;
  if (kind === "sampling") return capabilities.sampling !== undefined;
  if (kind === "roots") return capabilities.roots !== undefined;
  const elicitation = capabilities.elicitation as { form?: unknown; url?: unknown } | undefined;
  if (!elicitation) return false;
  if (kind === "elicitation.url") return elicitation.url !== undefined;
  return elicitation.form !== undefined || elicitation.url === undefined;
}

/** The modern-era refusal: -32021 (HTTP 400) naming what the client would have to declare. */
export function missingCapabilityError(required: ClientCapabilities, what: string): Error {
  return new MissingRequiredClientCapabilityError(
    { requiredCapabilities: required },
    `Missing required client capability: this tool asks the client for ${what}, which it did not declare`,
  );
}

/**
 * The asks of one tool call, checked (declared by the tool, supported by the client, a well-formed
 * key) and handed to the era's asker.
 */
export function clientAsks(
  toolName: string,
  declared: readonly AskKind[],
  asker: Asker,
  owner: "Tool" | "Prompt" = "Tool",
): ClientAsks {
  let position = 0;
  const keys = new Set<string>();
  const keyOf = (kind: string, options: AskOptions | undefined) => {
    const key = options?.key ?? `${kind}-${position}`;
    position += 1;
    if (!KEY.test(key)) {
      throw new ToolError(
        `${owner} ${toolName}: ask key "${key}" must be 1-64 letters, digits, "_", "-" or "."`,
        "internal",
      );
    }
    // One answer per key: a second ask under the same key would get the first one's answer.
    if (keys.has(key))
      throw new ToolError(`${owner} ${toolName}: ask key "${key}" is used twice in one call`, "internal");
    keys.add(key);
    return key;
  };
  const check = (kind: AskKind, need: AskKind | "elicitation.url", what: string) => {
    if (!declared.includes(kind)) {
      throw new ToolError(
        `${owner} ${toolName} asked the client for ${what} but does not declare it (${owner === "Tool" ? "defineTool" : "definePrompt"}: asks: ["${kind}"])`,
        "internal",
      );
    }
    if (!declares(asker.capabilities(), need)) throw asker.missingCapability(requiredCapability(need), what);
  };
  return {
    async elicit(request, options) {
      const url = request.mode === "url";
      check("elicitation", url ? "elicitation.url" : "elicitation", url ? "a URL elicitation" : "a form elicitation");
      const key = keyOf("elicitation", options);
      const ask = url
        ? inputRequired.elicitUrl({ message: request.message, url: request.url })
        : inputRequired.elicit({ ...request, mode: "form" } as ElicitRequestFormParams);
      return (await asker.ask(key, ask)) as ElicitResult;
    },
    async sample(params, options) {
      check("sampling", "sampling", "sampling (a model completion)");
      return (await asker.ask(keyOf("sampling", options), inputRequired.createMessage(params))) as CreateMessageResult;
    },
    async listRoots(options) {
      check("roots", "roots", "its roots");
      const answer = (await asker.ask(keyOf("roots", options), inputRequired.listRoots())) as { roots: Root[] };
      return answer.roots;
    },
    canAsk(kind) {
      return declares(asker.capabilities(), kind);
    },
  };
}

/** For a tool that declares no asks: every ask fails with the same clear message. */
export function noAsks(toolName: string, owner: "Tool" | "Prompt" = "Tool"): ClientAsks {
  const asker: Asker = {
    capabilities: () => undefined,
    ask: () => Promise.reject(new Error("unreachable")),
    missingCapability: missingCapabilityError,
  };
  return clientAsks(toolName, [], asker, owner);
}
