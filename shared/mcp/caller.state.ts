/**
 * Per-caller state: one Durable Object per identity (kind and IdP subject) per server. A
 * 2026-07-28 request (no sessions) reaches it as the call's only Durable Object hop; it serves the
 * request statelessly with the SDK's `createMcpHandler` and keeps the invocation outbox
 * (session.outbox) that takes every record to D1 off the call's path. It also holds the caller's
 * limits for every era (caller.limits.ts): a rate limit answered 429 with Retry-After, a cap on
 * calls in flight, a cap on open 2025 sessions; 2025 sessions ask it over Workers RPC
 * (admitSessionCall / returnBudget, openSession / closeSession). One object per caller makes
 * them strict across eras and isolates; every refusal is audited. It keeps the caller's tasks too
 * (the tasks extension, tasks.ts): their state, results and running handlers, pruned by the alarm.
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
import { denial } from "../db/audit.store";
import { APPROVAL_STATE_TTL_SECONDS, approvalStateCodec } from "./approval.modern";
import {
  type Admission,
  type BudgetRequest,
  type CallerLimits,
  CallLimiter,
  callerKey,
  type HolderEntry,
  type HolderStore,
  limitsFor,
  type SessionPlacesRpc,
  tooManyRequests,
} from "./caller.limits";
import { buildMcpServer } from "./mcp.server";
import { outboxRuntime } from "./outbox.runtime";
import { jsonRpcError, releasedWhenDone } from "./responses";
import type { KitEnv, ServerSpec } from "./server.definition";
import { MAX_BODY_BYTES } from "./session";
import { AlarmSchedule } from "./session.alarm";
import { Outbox } from "./session.outbox";
import { authInfoFor, isMessageShaped, requestBodyTooLargeMessage } from "./session.routing";
import { type OutboxRecord, SessionStorage } from "./session.storage";
import { baselineScopesOf, scopeStepUp } from "./step-up";
import { CallerTasks, taskLimitsFor } from "./tasks";
import type { InvocationRuntime } from "./tool.invoke";

const NONCE = "nonce:";
/** Keys one `storage.delete` call takes at most. */
const MAX_DELETE_KEYS = 128;
/** An open 2025 session of this caller: `session:<id>` → when it opened. */
const SESSION = "session:";

export { callerKey } from "./caller.limits";

/** A 2025 session's places in flight in the object's storage: `holder:<session>` → its entry. */
const HOLDER = "holder:";

/** The sessions' places kept in the object's (SQLite-backed) storage, synchronously. */
function holderStore(storage: DurableObjectStorage): HolderStore {
  return {
    load: () =>
      [...storage.kv.list<HolderEntry>({ prefix: HOLDER })].map(([key, entry]) => [key.slice(HOLDER.length), entry]),
    put: (holder, entry) => storage.kv.put(`${HOLDER}${holder}`, entry),
    delete: (holder) => void storage.kv.delete(`${HOLDER}${holder}`),
  };
}

/** How long the caller's object waits for a session to give idle places back before refusing a call. */
const RECLAIM_WAIT_MS = 250;

/** `promise`, or undefined once `ms` have passed. */
async function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), ms);
  });
  try {
    return await Promise.race([promise, late]);
  } finally {
    clearTimeout(timer);
  }
}

export function createCallerStateClass<Upstreams>(spec: ServerSpec<Upstreams>) {
  const baselineScopes = baselineScopesOf(spec);

  return class CallerState extends DurableObject<KitEnv> {
    readonly #storage: SessionStorage;
    readonly #schedule: AlarmSchedule;
    readonly #outbox: Outbox;
    readonly #handler: McpHttpHandler;
    #upstreams: Upstreams | undefined;
    readonly #limits: CallerLimits;
    readonly #limiter: CallLimiter;
    readonly #tasks: CallerTasks;

    constructor(ctx: DurableObjectState, env: KitEnv) {
      super(ctx, env);
      // A deployment may tighten or loosen the declared limits (CALLS_PER_MINUTE, CALLS_IN_FLIGHT, OPEN_SESSIONS).
      this.#limits = limitsFor(spec.limits, env as unknown as Record<string, unknown>);
      this.#limiter = new CallLimiter(this.#limits, spec.name, holderStore(ctx.storage));
      this.#storage = new SessionStorage(ctx.storage);
      this.#schedule = new AlarmSchedule(ctx.storage);
      this.#outbox = new Outbox({
        storage: this.#storage,
        d1: () => this.env.DB,
        serverName: spec.name,
        retryBy: (at) => void this.#schedule.noLaterThan(at),
      });
      const runtime = this.#runtime(`caller:${ctx.id.toString()}`);
      this.#tasks = new CallerTasks({
        storage: ctx.storage,
        limits: taskLimitsFor(env as unknown as Record<string, unknown>),
        wakeBy: (at) => void this.#schedule.noLaterThan(at),
        record: (invocation) => this.#enqueue({ table: "invocations", ...invocation }),
        // A running task counts as a call in flight (it polls an upstream for up to half an hour).
        inFlight: { started: () => this.#limiter.started(), ended: () => this.#limiter.ended() },
      });
      const modern = {
        codec: approvalStateCodec(env.APPROVAL_STATE_KEY),
        consumeNonce: (nonce: string) => this.#consumeNonce(nonce),
        tasks: this.#tasks,
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
        const refusal = await this.#admitCall(caller, tool);
        if (refusal) return refusal;
        this.#limiter.started();
        // The place is the call's until its handler ends: a closed stream aborts the handler's
        // signal, but a handler that does not heed it runs on. Until the handler starts (or if it
        // never does: a refusal before it), the answer's end is the call's.
        let ended = false;
        const end = () => {
          if (ended) return;
          ended = true;
          this.#limiter.ended();
        };
        let started = false;
        const callRunning = (call: Promise<unknown>) => {
          started = true;
          call.then(end, end);
        };
        const tracked = {
          ...options,
          authInfo: { ...options.authInfo, extra: { ...options.authInfo.extra, callRunning } },
        };
        let response: Response;
        try {
          response = await withBothEras(await this.#handler.fetch(request, tracked));
        } catch (error) {
          if (!started) end();
          throw error;
        }
        return releasedWhenDone(response, () => {
          if (!started) end();
        });
      }
      const method = message && "method" in message ? message.method : undefined;
      const response = await withBothEras(await this.#handler.fetch(request, options));
      return method === "server/discover" ? discoverEveryVersion(response) : response;
    }

    /** A request state's nonce (approvals, asks), used once; kept until the state has expired (#sweepNonces). */
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
      await this.#sweepNonces();
      // Expired tasks go; those an eviction cut short end (and are recorded) now.
      const nextExpiry = await this.#tasks.prune();
      if (nextExpiry !== undefined) await this.#schedule.noLaterThan(nextExpiry);
      if (!(await this.#outbox.flush())) {
        await this.#schedule.noLaterThan(Date.now() + (await this.#outbox.retryDelay()));
      }
    }

    /**
     * Deletes every nonce whose request state has expired (a state is refused once expired, so
     * its nonce is no longer needed), 128 keys per delete (the storage API's limit per call),
     * and wakes again when the oldest one left expires. The live ones are bounded by the caller's
     * rate limit: each is one admitted tools/call within APPROVAL_STATE_TTL_SECONDS.
     */
    async #sweepNonces(): Promise<void> {
      const ttl = APPROVAL_STATE_TTL_SECONDS * 1000;
      const expired = Date.now() - ttl;
      const nonces = await this.ctx.storage.list<number>({ prefix: NONCE });
      const old: string[] = [];
      let oldestLive: number | undefined;
      for (const [key, at] of nonces) {
        if (at < expired) old.push(key);
        else oldestLive = Math.min(oldestLive ?? at, at);
      }
      for (let i = 0; i < old.length; i += MAX_DELETE_KEYS) {
        await this.ctx.storage.delete(old.slice(i, i + MAX_DELETE_KEYS));
      }
      if (oldestLive !== undefined) await this.#schedule.noLaterThan(oldestLive + ttl + 1000);
    }

    /** The caller's limits; a refusal is answered 429 and audited. */
    async #admitCall(caller: Caller, tool: string): Promise<Response | undefined> {
      let admission = this.#limiter.admit();
      if (!admission.admitted && admission.kind === "inFlight" && (await this.#reclaimPlaces(caller))) {
        admission = this.#limiter.admit();
      }
      if (admission.admitted) return undefined;
      this.#enqueue({ table: "audit_events", ...denial(spec.name, caller, `tools/call ${tool}`, admission.reason) });
      return jsonRpcError(429, -32000, tooManyRequests(admission.reason, admission.retryAfter), {
        "retry-after": String(admission.retryAfter),
      });
    }

    // --- what 2025 sessions ask (Workers RPC, caller.limits.ts: CallerLimitsRpc) ---

    /**
     * A 2025 session's tools/call that its budget could not admit alone (session.limits.ts):
     * admitted with the session's renewed budget, or refused (audited).
     */
    async admitSessionCall(caller: Caller, tool: string, request: BudgetRequest): Promise<Admission> {
      let admission = this.#limiter.admitHolder(request);
      if (!admission.admitted && admission.kind === "inFlight" && (await this.#reclaimPlaces(caller, request.holder))) {
        admission = this.#limiter.admitHolder(request);
      }
      if (admission.admitted) return admission;
      this.#enqueue({ table: "audit_events", ...denial(spec.name, caller, `tools/call ${tool}`, admission.reason) });
      return {
        admitted: false,
        message: tooManyRequests(admission.reason, admission.retryAfter),
        retryAfter: admission.retryAfter,
      };
    }

    /**
     * Places run out: the sessions holding some give back those they hold idle (a session keeps
     * its places IDLE_RETURN_MS after its last call), so only calls really in flight refuse one.
     * The call waits at most RECLAIM_WAIT_MS for the answers. True if any came back.
     */
    async #reclaimPlaces(caller: Caller, except?: string): Promise<boolean> {
      const holders = this.#limiter.holdersWithPlaces(except);
      const sessions = this.env.SESSIONS;
      if (holders.length === 0 || !sessions) return false;
      const key = callerKey(spec.name, caller);
      const answers = await Promise.all(
        holders.map(({ holder, epoch }) => {
          const session = sessions.get(sessions.idFromString(holder)) as unknown as SessionPlacesRpc;
          // A late answer still counts (the session has let go by then), unless the session has
          // been admitted since: that admission's place stays (the epoch tells).
          const asked = session.givePlacesBack(key).then(
            (answer) => {
              if (answer.returned) this.#limiter.returned(holder, answer.tokens, epoch);
              return answer.returned;
            },
            (error: unknown) => {
              console.error(`${spec.name}: could not ask session ${holder} for its places in flight`, error);
              return false;
            },
          );
          return withTimeout(asked, RECLAIM_WAIT_MS);
        }),
      );
      return answers.some(Boolean);
    }

    /** A session idle a while gives its places in flight back, with the tokens it did not use. */
    async returnBudget(holder: string, tokens: number): Promise<void> {
      this.#limiter.returned(holder, tokens);
    }

    /** A 2025 session opening (initialize, GET /sse): a slot, unless the caller has `openSessions` open. */
    async openSession(
      caller: Caller,
      sessionId: string,
    ): Promise<{ opened: true } | { opened: false; message: string }> {
      const key = `${SESSION}${sessionId}`;
      const open = await this.ctx.storage.list({ prefix: SESSION });
      if (open.has(key)) return { opened: true };
      if (open.size >= this.#limits.openSessions) {
        const reason = `too many open sessions: at most ${this.#limits.openSessions} per caller on the ${spec.name} server`;
        this.#enqueue({ table: "audit_events", ...denial(spec.name, caller, "initialize", reason) });
        return {
          opened: false,
          message: `Too many requests: ${reason}; end one (DELETE it, or let it expire after a day unused) and retry`,
        };
      }
      await this.ctx.storage.put(key, Date.now());
      return { opened: true };
    }

    /** A 2025 session ended (DELETE, idle expiry, its stream closed, a refused initialize): its slot is free. */
    async closeSession(sessionId: string, running = false): Promise<void> {
      // Calls still running keep their places: the session gives them back when they end (returnBudget).
      if (!running) this.#limiter.returned(sessionId, 0);
      await this.ctx.storage.delete(`${SESSION}${sessionId}`);
    }

    #runtime(sessionId: string): InvocationRuntime<Upstreams> {
      const env = this.env as unknown as Record<string, unknown>;
      const upstreams = () => {
        this.#upstreams ??= spec.upstreams(env);
        return this.#upstreams;
      };
      return {
        ...outboxRuntime(spec, env, sessionId, upstreams, (record) => this.#enqueue(record)),
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

/**
 * server/discover lists every version this endpoint serves, as -32022 does (withBothEras): the SDK
 * names only 2026-07-28 there, but the same URL serves the 2025 versions (by initialize), and a
 * client may pick any of them.
 */
async function discoverEveryVersion(response: Response): Promise<Response> {
  if (response.status !== 200 || !response.headers.get("content-type")?.includes("application/json")) return response;
  const body = (await response.clone().json()) as { result?: { supportedVersions?: string[] } };
  if (!Array.isArray(body.result?.supportedVersions)) return response;
  body.result.supportedVersions = [...new Set([...body.result.supportedVersions, ...SUPPORTED_PROTOCOL_VERSIONS])];
  const headers = new Headers(response.headers);
  headers.delete("content-length");
  return new Response(JSON.stringify(body), { status: 200, headers });
}
