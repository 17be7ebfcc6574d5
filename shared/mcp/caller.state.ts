/**
 * Per-caller state for the 2026-07-28 era, which has no sessions: one Durable Object per identity
 * (kind and IdP subject) per server. A modern request reaches it as the call's only Durable Object
 * hop; it enforces the caller's limits (a rate limit answered 429 with Retry-After, a cap on calls
 * in flight; one object per caller makes both strict across isolates), serves the request
 * statelessly with the SDK's `createMcpHandler`, and keeps the invocation outbox (session.outbox)
 * that takes every record to D1 off the call's path.
 */
import { DurableObject } from "cloudflare:workers";
import { insufficientScope } from "@cloudflare/workers-oauth-provider";
import {
  createMcpHandler,
  type JSONRPCMessage,
  type McpHttpHandler,
  readRequestBody,
  SUPPORTED_PROTOCOL_VERSIONS,
} from "@modelcontextprotocol/server";
import { CALLER_HEADER, type Caller, decodeCaller } from "../auth/caller";
import { approvalDecision, denial } from "../db/audit.store";
import { APPROVAL_STATE_TTL_SECONDS, approvalStateCodec } from "./approval.modern";
import { buildMcpServer } from "./mcp.server";
import { jsonRpcError } from "./responses";
import type { KitEnv, ServerSpec } from "./server.definition";
import { MAX_BODY_BYTES } from "./session";
import { AlarmSchedule } from "./session.alarm";
import { Outbox } from "./session.outbox";
import { authInfoFor, isMessageShaped, requestBodyTooLargeMessage } from "./session.routing";
import { type OutboxRecord, SessionStorage } from "./session.storage";
import { baselineScopesOf, scopeStepUp } from "./step-up";
import type { InvocationRuntime } from "./tool.invoke";

const NONCE = "nonce:";

/** Per identity per server, unless the server's declaration says otherwise (`limits`). */
export const DEFAULT_LIMITS = { callsPerMinute: 120, callsInFlight: 8 } as const;

/** The object's name: one per server, identity kind and IdP subject. */
export function callerKey(serverName: string, caller: Caller): string {
  return `${serverName}|${caller.kind}|${caller.subject}`;
}

export function createCallerStateClass<Upstreams>(spec: ServerSpec<Upstreams>) {
  const declared = { ...DEFAULT_LIMITS, ...spec.limits };
  const baselineScopes = baselineScopesOf(spec);

  return class CallerState extends DurableObject<KitEnv> {
    readonly #storage: SessionStorage;
    readonly #schedule: AlarmSchedule;
    readonly #outbox: Outbox;
    readonly #handler: McpHttpHandler;
    #upstreams: Upstreams | undefined;
    readonly #limits: { callsPerMinute: number; callsInFlight: number };
    /** Token bucket: `callsPerMinute` tokens, refilled continuously. */
    #tokens: number;
    #refilledAt = Date.now();
    #inFlight = 0;

    constructor(ctx: DurableObjectState, env: KitEnv) {
      super(ctx, env);
      // A deployment may tighten or loosen the declared limits (CALLS_PER_MINUTE, CALLS_IN_FLIGHT).
      this.#limits = {
        callsPerMinute: positiveInteger(env.CALLS_PER_MINUTE) ?? declared.callsPerMinute,
        callsInFlight: positiveInteger(env.CALLS_IN_FLIGHT) ?? declared.callsInFlight,
      };
      this.#tokens = this.#limits.callsPerMinute;
      this.#storage = new SessionStorage(ctx.storage);
      this.#schedule = new AlarmSchedule(ctx.storage);
      this.#outbox = new Outbox({
        storage: this.#storage,
        d1: () => this.env.DB,
        serverName: spec.name,
        retryBy: (at) => void this.#schedule.noLaterThan(at),
      });
      const runtime = this.#runtime(`caller:${ctx.id.toString()}`);
      const modern = {
        codec: approvalStateCodec(env.APPROVAL_STATE_KEY),
        consumeNonce: (nonce: string) => this.#consumeNonce(nonce),
      };
      // Stateless: a fresh SDK server per request; only 2026-07-28 requests reach this object.
      this.#handler = createMcpHandler(() => buildMcpServer(spec, runtime, modern), { legacy: "reject" });
    }

    override async fetch(request: Request): Promise<Response> {
      const caller = decodeCaller(request.headers.get(CALLER_HEADER));
      if (!caller) return jsonRpcError(500, -32603, "Caller state reached without a caller");
      const body = await readRequestBody(request, MAX_BODY_BYTES);
      if (body.tooLarge) return jsonRpcError(413, -32000, requestBodyTooLargeMessage(MAX_BODY_BYTES));
      let parsedBody: unknown;
      try {
        parsedBody = JSON.parse(body.text);
      } catch {
        return jsonRpcError(400, -32700, "Parse error: the body is not valid JSON");
      }
      const options = { authInfo: authInfoFor(caller), parsedBody };
      const message = isMessageShaped(parsedBody) ? parsedBody : undefined;
      if (message && "method" in message && message.method === "tools/call") {
        // The same scope challenge as in a 2025 session (step-up.ts): nothing runs.
        const stepUp = scopeStepUp(spec.tools, caller, [message as JSONRPCMessage], baselineScopes);
        if (stepUp) {
          this.#enqueue({
            table: "audit_events",
            ...denial(spec.name, caller, `tools/call ${stepUp.tool}`, stepUp.reason),
          });
          const resource = { token: "", audience: this.env.PUBLIC_URL, scope: caller.scopes };
          return insufficientScope(resource, stepUp.scopes, stepUp.reason);
        }
        const tool = String((message as { params?: { name?: unknown } }).params?.name ?? "");
        const refusal = this.#admitCall(caller, tool);
        if (refusal) return refusal;
        this.#inFlight += 1;
        let response: Response;
        try {
          response = await withBothEras(await this.#handler.fetch(request, options));
        } catch (error) {
          this.#inFlight -= 1;
          throw error;
        }
        return releasedWhenDone(response, () => {
          this.#inFlight -= 1;
        });
      }
      return withBothEras(await this.#handler.fetch(request, options));
    }

    /** An approval's nonce, used once (kept until its state has expired anyway). */
    async #consumeNonce(nonce: string): Promise<boolean> {
      const key = `${NONCE}${nonce}`;
      if ((await this.ctx.storage.get(key)) !== undefined) return false;
      const now = Date.now();
      await this.ctx.storage.put(key, now);
      await this.#schedule.noLaterThan(now + APPROVAL_STATE_TTL_SECONDS * 1000 + 1000);
      return true;
    }

    override async alarm(): Promise<void> {
      this.#schedule.fired();
      const expired = Date.now() - APPROVAL_STATE_TTL_SECONDS * 1000;
      const nonces = await this.ctx.storage.list<number>({ prefix: NONCE });
      const old = [...nonces].filter(([, at]) => at < expired).map(([key]) => key);
      if (old.length > 0) await this.ctx.storage.delete(old.slice(0, 128));
      if (nonces.size > old.length) await this.#schedule.noLaterThan(Date.now() + APPROVAL_STATE_TTL_SECONDS * 1000);
      if (!(await this.#outbox.flush())) {
        await this.#schedule.noLaterThan(Date.now() + (await this.#outbox.retryDelay()));
      }
    }

    /** The caller's limits; a refusal is answered 429 and audited. */
    #admitCall(caller: Caller, tool: string): Response | undefined {
      const limits = this.#limits;
      const now = Date.now();
      const perMs = limits.callsPerMinute / 60_000;
      this.#tokens = Math.min(limits.callsPerMinute, this.#tokens + (now - this.#refilledAt) * perMs);
      this.#refilledAt = now;
      let reason: string | undefined;
      let retryAfter = 1;
      if (this.#tokens < 1) {
        retryAfter = Math.max(1, Math.ceil((1 - this.#tokens) / perMs / 1000));
        reason = `rate limit: more than ${limits.callsPerMinute} calls a minute to the ${spec.name} server`;
      } else if (this.#inFlight >= limits.callsInFlight) {
        reason = `too many calls in flight: at most ${limits.callsInFlight} at once on the ${spec.name} server`;
      }
      if (!reason) {
        this.#tokens -= 1;
        return undefined;
      }
      this.#enqueue({ table: "audit_events", ...denial(spec.name, caller, `tools/call ${tool}`, reason) });
      return jsonRpcError(429, -32000, `Too many requests: ${reason}; retry in ${retryAfter} s`, {
        "retry-after": String(retryAfter),
      });
    }

    #runtime(sessionId: string): InvocationRuntime<Upstreams> {
      return {
        serverName: spec.name,
        sessionId,
        env: this.env as unknown as Record<string, unknown>,
        upstreams: () => {
          this.#upstreams ??= spec.upstreams(this.env as unknown as Record<string, unknown>);
          return this.#upstreams;
        },
        record: (invocation) => this.#enqueue({ table: "invocations", ...invocation }),
        auditDenial: (caller, action, reason) =>
          this.#enqueue({ table: "audit_events", ...denial(spec.name, caller, action, reason) }),
        auditApproval: ({ caller, toolName, argsDigest, decision, action }) =>
          this.#enqueue({
            table: "audit_events",
            ...approvalDecision(spec.name, caller, toolName, argsDigest, decision, action),
          }),
      };
    }

    #enqueue(record: OutboxRecord): void {
      void this.#schedule.noLaterThan(this.#outbox.enqueue(record));
    }
  };
}

/**
 * The SDK's modern-only handler names only 2026-07-28 in an UnsupportedProtocolVersion error
 * (-32022); this endpoint serves the 2025 era too, so the list names both (the client may pick one).
 */
async function withBothEras(response: Response): Promise<Response> {
  if (response.status !== 400 || !response.headers.get("content-type")?.includes("application/json")) return response;
  const body = (await response.clone().json()) as { error?: { code?: number; data?: { supported?: string[] } } };
  if (body.error?.code !== -32022) return response;
  const supported = [...new Set([...(body.error.data?.supported ?? []), ...SUPPORTED_PROTOCOL_VERSIONS])];
  body.error.data = { ...body.error.data, supported };
  const headers = new Headers(response.headers);
  headers.delete("content-length");
  return new Response(JSON.stringify(body), { status: 400, headers });
}

function positiveInteger(value: unknown): number | undefined {
  const number = Number(value);
  return value !== undefined && value !== "" && Number.isSafeInteger(number) && number > 0 ? number : undefined;
}

/** Runs `release` once the response body has been sent or abandoned (SSE answers outlive fetch). */
function releasedWhenDone(response: Response, release: () => void): Response {
  if (!response.body) {
    release();
    return response;
  }
  let released = false;
  const once = () => {
    if (!released) {
      released = true;
      release();
    }
  };
  const body = response.body.pipeThrough(new TransformStream({ flush: once }));
  const reader = body.getReader();
  const stream = new ReadableStream({
    async pull(controller) {
      const { value, done } = await reader.read();
      if (done) {
        once();
        controller.close();
      } else controller.enqueue(value);
    },
    async cancel(reason) {
      once();
      await reader.cancel(reason);
    },
  });
  return new Response(stream, { status: response.status, statusText: response.statusText, headers: response.headers });
}
