/**
 * One MCP session = one Durable Object: a Streamable HTTP session (its channels), or a legacy
 * HTTP+SSE one. It persists what `initialize` carried so the session outlives eviction, keeps
 * the SSE event log for resumption and buffers invocation records durably until they are in D1.
 * Each concern has its module: routing and ownership (session.routing), channels
 * (session.channels), the legacy session (session.legacy), the outbox (session.outbox), the one
 * alarm (session.alarm), storage (session.storage), resource subscriptions (session.subscriptions).
 */
import { DurableObject } from "cloudflare:workers";
import { insufficientScope } from "@cloudflare/workers-oauth-provider";
import { type JSONRPCMessage, readRequestBody, type Server } from "@modelcontextprotocol/server";
import { CALLER_HEADER, type Caller, decodeCaller } from "../auth/caller";
import { denial } from "../db/audit.store";
import { buildMcpServer } from "./mcp.server";
import { outboxRuntime } from "./outbox.runtime";
import { jsonRpcError, releasedWhenDone } from "./responses";
import type { KitEnv, ServerSpec } from "./server.definition";
import { AlarmSchedule, earliest } from "./session.alarm";
import { Channels } from "./session.channels";
import { type LegacySession, openLegacySession, receiveLegacyMessage } from "./session.legacy";
import { SessionLimits } from "./session.limits";
import { Outbox } from "./session.outbox";
import {
  authInfoFor,
  channelNeeds,
  forbiddenSession,
  isInitialize,
  isMessageShaped,
  kindOf,
  MAX_BATCH_SIZE,
  requestBodyTooLargeMessage,
  requestedLogLevel,
  sameIdentity,
} from "./session.routing";
import { type OutboxRecord, type SessionRecord, SessionStorage } from "./session.storage";
import { dropSubscriptions, loadSubscriptions, subscriptionStore } from "./session.subscriptions";
import { baselineScopesOf, scopeStepUp } from "./step-up";
import type { InvocationRuntime, ResourceSubscriptions } from "./tool.invoke";

export const MAX_BODY_BYTES = 4 * 1024 * 1024;
export { MAX_SUBSCRIPTION_URI_CHARS, MAX_SUBSCRIPTIONS } from "./session.subscriptions";
/** A session nobody has used for this long is forgotten. */
export const SESSION_IDLE_TTL_MS = 24 * 60 * 60_000;
const TOUCH_EVERY_MS = 60_000;
/** The log level the session's client set (logging/setLevel): its calls then stream, so their logs reach it. */
const LOG_LEVEL_KEY = "logLevel";

export function createSessionClass<Upstreams>(spec: ServerSpec<Upstreams>) {
  const baselineScopes = baselineScopesOf(spec);
  const channelFor = channelNeeds(spec as ServerSpec<unknown>);

  return class Session extends DurableObject<KitEnv> {
    readonly #storage: SessionStorage;
    readonly #schedule: AlarmSchedule;
    readonly #outbox: Outbox;
    readonly #channels: Channels;
    /** The caller's limits, kept by the caller's object (caller.state.ts) for every era. */
    readonly #limits: SessionLimits;
    #record: SessionRecord | undefined;
    #legacy: LegacySession | undefined;
    /** The legacy session's SDK server (its notifications go out on the one SSE stream). */
    #legacyServer: Server | undefined;
    #upstreams: Upstreams | undefined;
    #lastTouch = 0;
    #logLevel: string | undefined;
    #subscriptions: Set<string>;

    constructor(ctx: DurableObjectState, env: KitEnv) {
      super(ctx, env);
      this.#storage = new SessionStorage(ctx.storage);
      this.#schedule = new AlarmSchedule(ctx.storage);
      this.#outbox = new Outbox({
        storage: this.#storage,
        d1: () => this.env.DB,
        serverName: spec.name,
        retryBy: (at) => void this.#schedule.noLaterThan(at),
      });
      this.#channels = new Channels({
        buildServer: (sessionId) => buildMcpServer(spec, this.#runtime(sessionId)),
        eventStore: () => this.#storage.eventStore(),
        maxBodyBytes: MAX_BODY_BYTES,
      });
      this.#limits = new SessionLimits(spec.name, ctx.id.toString(), () => this.env);
      this.#record = this.#storage.load();
      this.#logLevel = ctx.storage.kv.get<string>(LOG_LEVEL_KEY);
      this.#subscriptions = loadSubscriptions(ctx.storage.kv);
    }

    /** The caller's object asks for the places this session holds idle (caller.limits.ts: SessionPlacesRpc). */
    async givePlacesBack(key: string): Promise<{ returned: boolean; tokens: number }> {
      return this.#limits.givePlacesBack(key);
    }

    override async fetch(request: Request): Promise<Response> {
      const caller = decodeCaller(request.headers.get(CALLER_HEADER));
      if (!caller) return jsonRpcError(500, -32603, "Session reached without a caller");
      const { pathname } = new URL(request.url);
      if (pathname.endsWith("/sse")) return this.#openLegacy(request, caller);
      if (pathname.endsWith("/messages")) {
        if (this.#record && this.#legacy) this.#touch(this.#record);
        return receiveLegacyMessage(this.#legacy, request, caller, MAX_BODY_BYTES);
      }
      if (request.method === "POST") return this.#post(request, caller);
      const record = this.#streamable();
      if (!record) return jsonRpcError(404, -32001, "Session not found");
      if (!sameIdentity(record.owner, caller)) return forbiddenSession();
      if (request.method === "DELETE") return this.#end();
      if (request.method === "GET") {
        const channel = await this.#channels.get("stream", record);
        return channel.transport.handleRequest(request, { authInfo: authInfoFor(caller) });
      }
      return jsonRpcError(405, -32000, "Method not allowed", { allow: "GET, POST, DELETE" });
    }

    /** The one alarm: flush the outbox, prune the event log, then end or re-arm (session.alarm). */
    override async alarm(): Promise<void> {
      this.#schedule.fired();
      const now = Date.now();
      const flushed = await this.#outbox.flush();
      this.#storage.pruneEvents(now);
      const record = this.#record;
      const legacyGone = record?.transport === "sse" && !this.#legacy; // its stream did not survive a restart
      if (record && (legacyGone || now - record.lastActiveAt >= SESSION_IDLE_TTL_MS)) await this.#forget();
      const idleAt = this.#record ? this.#record.lastActiveAt + SESSION_IDLE_TTL_MS : undefined;
      const retryAt = flushed ? undefined : now + (await this.#outbox.retryDelay());
      const next = earliest(idleAt, retryAt);
      if (next !== undefined) {
        await this.#schedule.set(next);
        return;
      }
      // Ended or idle, and the outbox is empty: nothing is left to keep.
      await this.#storage.wipe();
      this.#schedule.cleared();
    }

    /** The Streamable HTTP session this object hosts, if it hosts one. */
    #streamable(): SessionRecord | undefined {
      return this.#record?.transport === "streamable" ? this.#record : undefined;
    }

    // --- Streamable HTTP ---

    async #post(request: Request, caller: Caller): Promise<Response> {
      const body = await readRequestBody(request, MAX_BODY_BYTES);
      if (body.tooLarge) return jsonRpcError(413, -32000, requestBodyTooLargeMessage(MAX_BODY_BYTES));
      let parsed: unknown;
      try {
        parsed = JSON.parse(body.text);
      } catch {
        return jsonRpcError(400, -32700, "Parse error: the body is not valid JSON");
      }
      // Shape checks only: the transport validates every message against the SDK's schemas.
      const valid = (Array.isArray(parsed) ? parsed : [parsed]) as JSONRPCMessage[];
      if (valid.length === 0 || !valid.every(isMessageShaped)) {
        return jsonRpcError(400, -32600, "Invalid Request: not a JSON-RPC 2.0 message");
      }
      if (valid.length > MAX_BATCH_SIZE) {
        return jsonRpcError(400, -32600, `Invalid Request: a batch must not exceed ${MAX_BATCH_SIZE} messages`);
      }
      const initializing = valid.some(isInitialize);
      if (initializing) {
        if (this.#record) {
          const hosted = this.#record.transport === "sse" ? "a legacy HTTP+SSE session" : "an initialized session";
          return jsonRpcError(400, -32600, `Invalid Request: this object already hosts ${hosted}`);
        }
        if (valid.length > 1) {
          return jsonRpcError(400, -32600, "Invalid Request: initialize must be sent alone, not in a batch");
        }
      } else {
        const record = this.#streamable();
        if (!record) return jsonRpcError(404, -32001, "Session not found: initialize a new session");
        if (!sameIdentity(record.owner, caller)) return forbiddenSession();
      }
      // Step-up (the MCP scope challenge): a call of a tool the caller may use but whose scope the
      // token lacks is answered 403 insufficient_scope naming every scope needed, so the client
      // asks the human to consent to more (e.g. presto:write) and retries. Nothing of the batch runs.
      const stepUp = scopeStepUp(spec.tools, caller, valid, baselineScopes);
      if (stepUp) {
        this.#enqueue({
          table: "audit_events",
          ...denial(spec.name, caller, `tools/call ${stepUp.tool}`, stepUp.reason),
        });
        const resource = { token: "", audience: this.env.PUBLIC_URL, scope: caller.scopes };
        return insufficientScope(resource, stepUp.scopes, stepUp.reason);
      }
      const authInfo = authInfoFor(caller);
      if (initializing) return this.#initialize(request, parsed, caller, valid[0] as JSONRPCMessage);

      const record = this.#record as SessionRecord;
      this.#touch(record);
      const level = requestedLogLevel(valid);
      if (level) {
        this.#logLevel = level;
        this.ctx.storage.kv.put(LOG_LEVEL_KEY, level);
      }
      const session = { logLevelSet: this.#logLevel !== undefined };
      const single = valid.length === 1 ? (valid[0] as { method?: unknown; params?: { name?: unknown } }) : undefined;
      if (single?.method === "tools/call" && kindOf(valid[0] as JSONRPCMessage) === "request") {
        // One call in the POST: the caller's limits answer here, 429 with Retry-After when they refuse.
        const admission = await this.#limits.admitCall(caller, String(single.params?.name ?? ""));
        if (!admission.admitted) {
          return jsonRpcError(admission.status, -32000, admission.message, {
            "retry-after": String(admission.retryAfter),
          });
        }
        try {
          const channel = await this.#channels.get(channelFor(valid, session), record);
          // The place is the call's until its handler ends (mcp.server.ts reports it): on an SSE
          // channel the handler runs on when the client drops the stream (its answer is kept for a
          // resumed one) or cancels the call (a handler may not heed its signal). Until the handler
          // starts, or if it never does (a refusal before it), the answer's end is the call's.
          // (A cancelled call on the JSON channel gets no answer at all: its handler's end is all there is.)
          let started = false;
          const callRunning = (call: Promise<unknown>) => {
            started = true;
            call.then(admission.release, admission.release);
          };
          const admitted = { ...authInfo, extra: { ...authInfo.extra, admitted: true, callRunning } };
          const response = await channel.transport.handleRequest(request, { parsedBody: parsed, authInfo: admitted });
          return releasedWhenDone(response, () => {
            if (!started) admission.release();
          });
        } catch (error) {
          admission.release();
          throw error;
        }
      }
      if (valid.every((message) => kindOf(message) === "notification")) {
        // Notifications (initialized, cancelled…) concern whichever channel runs the request.
        const channels = await this.#channels.opened();
        await Promise.all(
          channels.map((channel) => channel.transport.handleRequest(request.clone(), { parsedBody: parsed, authInfo })),
        );
        return new Response(null, { status: 202 });
      }
      const channel = await this.#channels.get(channelFor(valid, session), record);
      return channel.transport.handleRequest(request, { parsedBody: parsed, authInfo });
    }

    /** A session exists once the SDK accepted its initialize; a refused one leaves nothing. */
    async #initialize(request: Request, parsed: unknown, caller: Caller, initialize: JSONRPCMessage) {
      const sessionId = this.ctx.id.toString();
      const slot = await this.#limits.open(caller, sessionId);
      if (!slot.opened) return jsonRpcError(slot.status, -32000, slot.message, { "retry-after": "60" });
      const now = Date.now();
      const record: SessionRecord = {
        sessionId,
        transport: "streamable",
        owner: caller,
        initialize,
        createdAt: now,
        lastActiveAt: now,
      };
      const channel = await this.#channels.get("json", record, { replay: false });
      const response = await channel.transport.handleRequest(request, {
        parsedBody: parsed,
        authInfo: authInfoFor(caller),
      });
      if (!response.ok || (await answersWithError(response))) {
        await this.#channels.closeAll();
        await this.#limits.close(caller, sessionId);
        return response;
      }
      this.#record = record;
      this.#storage.create(record);
      await this.#schedule.noLaterThan(now + SESSION_IDLE_TTL_MS);
      return response;
    }

    async #end(): Promise<Response> {
      await this.#forget();
      // The outbox survives until flushed; the alarm then wipes the object.
      if (await this.#outbox.flush()) {
        await this.#storage.wipe();
        this.#schedule.cleared();
      }
      return new Response(null, { status: 200 });
    }

    /** Closes what is open and deletes the session (its record and events); the outbox stays. */
    async #forget(): Promise<void> {
      const ended = this.#record;
      this.#record = undefined;
      this.#storage.forgetSession();
      this.#logLevel = undefined;
      this.ctx.storage.kv.delete(LOG_LEVEL_KEY);
      this.#dropSubscriptions();
      await this.#channels.closeAll();
      const legacy = this.#legacy;
      this.#legacy = undefined;
      this.#legacyServer = undefined;
      await legacy?.transport.close();
      if (ended) await this.#limits.close(ended.owner, ended.sessionId);
    }

    #touch(record: SessionRecord): void {
      const now = Date.now();
      record.lastActiveAt = now;
      if (now - this.#lastTouch > TOUCH_EVERY_MS) {
        this.#lastTouch = now;
        this.#storage.touch(now);
      }
    }

    // --- legacy HTTP+SSE (2024-11-05) ---

    async #openLegacy(request: Request, caller: Caller): Promise<Response> {
      if (this.#legacy || this.#record) return jsonRpcError(409, -32000, "This session already exists");
      const sessionId = this.ctx.id.toString();
      const slot = await this.#limits.open(caller, sessionId);
      if (!slot.opened) return jsonRpcError(slot.status, -32000, slot.message, { "retry-after": "60" });
      const now = Date.now();
      const record: SessionRecord = {
        sessionId,
        transport: "sse",
        owner: caller,
        initialize: null,
        createdAt: now,
        lastActiveAt: now,
      };
      this.#record = record;
      this.#storage.create(record);
      await this.#schedule.noLaterThan(now + SESSION_IDLE_TTL_MS);
      const server = buildMcpServer(spec, this.#runtime(sessionId));
      const opened = await openLegacySession(request, sessionId, caller, server, () => {
        if (this.#legacy !== opened.session) return;
        // The stream closed: the session is over. The alarm flushes what is left, then wipes.
        this.#legacy = undefined;
        this.#legacyServer = undefined;
        this.#record = undefined;
        this.#storage.forgetSession();
        this.#dropSubscriptions();
        void this.#limits.close(caller, sessionId);
        void this.#schedule.noLaterThan(Date.now());
      });
      this.#legacy = opened.session;
      this.#legacyServer = server;
      return opened.response;
    }

    // --- invocation records: durable outbox → D1 ---

    #runtime(sessionId: string): InvocationRuntime<Upstreams> {
      const env = this.env as unknown as Record<string, unknown>;
      const upstreams = () => {
        this.#upstreams ??= spec.upstreams(env);
        return this.#upstreams;
      };
      return {
        ...outboxRuntime(spec, env, sessionId, upstreams, (record) => this.#enqueue(record)),
        admitCall: (caller, tool) => this.#limits.admitCall(caller, tool),
        logLevel: () => this.#logLevel,
        subscriptions: this.#subscriptionStore(),
      };
    }

    #dropSubscriptions(): void {
      dropSubscriptions(this.ctx.storage.kv, this.#subscriptions);
    }

    #subscriptionStore(): ResourceSubscriptions {
      return subscriptionStore(this.ctx.storage.kv, this.#subscriptions, async (uri) => {
        // Unrelated to any request: on the standalone GET stream (the stream channel's), or legacy SSE.
        const server = this.#legacyServer ?? (await this.#channels.ifOpen("stream"))?.server;
        try {
          await server?.sendResourceUpdated({ uri });
        } catch (error) {
          console.warn(`${spec.name}: could not notify an update of ${uri}`, error);
        }
      });
    }

    #enqueue(record: OutboxRecord): void {
      // The backstop: a flush even if this instance goes away before the outbox's timer fires.
      void this.#schedule.noLaterThan(this.#outbox.enqueue(record));
    }
  };
}

/** Whether the JSON answer to a request is a JSON-RPC error. */
async function answersWithError(response: Response): Promise<boolean> {
  if (!response.headers.get("content-type")?.includes("application/json")) return false;
  try {
    const body = (await response.clone().json()) as { error?: unknown } | { error?: unknown }[];
    return (Array.isArray(body) ? body : [body]).some((message) => message.error !== undefined);
  } catch {
    return true;
  }
}
