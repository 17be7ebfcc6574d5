/**
 * One MCP session = one Durable Object. It holds the SDK server(s) and transports, persists
 * what `initialize` carried so the session outlives eviction, keeps the SSE event log for
 * resumption, and buffers invocation records durably until they are in D1.
 */
import { DurableObject } from "cloudflare:workers";
import { insufficientScope } from "@cloudflare/workers-oauth-provider";
import type { Server } from "@modelcontextprotocol/sdk/server/index.js";
import {
  MAX_BATCH_SIZE,
  readRequestBody,
  requestBodyTooLargeMessage,
} from "@modelcontextprotocol/sdk/server/requestBody.js";
import { WebStandardStreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js";
import {
  type JSONRPCMessage,
  LATEST_PROTOCOL_VERSION,
  SUPPORTED_PROTOCOL_VERSIONS,
} from "@modelcontextprotocol/sdk/types.js";
import { CALLER_HEADER, type Caller, decodeCaller } from "../auth/caller";
import { type AuditRecord, approvalDecision, denial, writeAuditEvents } from "../db/audit.store";
import { type InvocationRecord, writeInvocations } from "../db/invocations.store";
import { LegacySseTransport } from "./legacy-sse.transport";
import { buildMcpServer } from "./mcp.server";
import { jsonRpcError } from "./responses";
import type { KitEnv, ServerSpec } from "./server.definition";
import { type OutboxRecord, type SessionRecord, SessionStorage } from "./session.storage";
import { baselineScopesOf, scopeStepUp } from "./step-up";
import type { InvocationRuntime } from "./tool.invoke";

export const MAX_BODY_BYTES = 4 * 1024 * 1024;
/** A session nobody has used for this long is forgotten. */
const SESSION_IDLE_TTL_MS = 24 * 60 * 60_000;
/** Invocation records are flushed to D1 in batches, this soon after the first call of a batch… */
const FLUSH_DELAY_MS = 2_000;
/** …a durable alarm, armed at most this far ahead, backs the in-memory timer up (eviction)… */
const FLUSH_BACKSTOP_MS = 30_000;
/** …and retries with backoff while D1 keeps failing. */
const FLUSH_RETRY_MS = [1_000, 5_000, 15_000, 60_000];
const OUTBOX_BATCH = 400;
const TOUCH_EVERY_MS = 60_000;

/** JSON answers where nothing streams; SSE (with resumable event log) where something does. */
type ChannelKind = "json" | "stream";
interface Channel {
  server: Server;
  transport: WebStandardStreamableHTTPServerTransport;
}

export function createSessionClass<Upstreams>(spec: ServerSpec<Upstreams>) {
  const baselineScopes = baselineScopesOf(spec);
  const streamingTools = new Set(spec.tools.filter((tool) => tool.needsApproval).map((tool) => tool.name));

  /** Requests that may send anything besides their answer need the SSE channel. */
  function needsStream(messages: JSONRPCMessage[]): boolean {
    return messages.some((message) => {
      const kind = kindOf(message);
      if (kind !== "request") return kind === "response"; // client answers to our requests (elicitation)
      const { method, params: rawParams } = message as { method: string; params?: unknown };
      if (method === "logging/setLevel") return true;
      if (method !== "tools/call") return false;
      const params = rawParams as { name?: string; _meta?: { progressToken?: unknown } } | undefined;
      return params?._meta?.progressToken !== undefined || streamingTools.has(String(params?.name));
    });
  }

  return class Session extends DurableObject<KitEnv> {
    readonly #storage: SessionStorage;
    #record: SessionRecord | undefined;
    readonly #channels = new Map<ChannelKind, Promise<Channel>>();
    #legacy: { transport: LegacySseTransport; owner: Caller } | undefined;
    #upstreams: Upstreams | undefined;
    #lastTouch = 0;
    #flushTimer: ReturnType<typeof setTimeout> | undefined;
    #flushing: Promise<boolean> | undefined;
    #retryAttempt = 0;
    /** When the alarm is known to fire (undefined: not known in this instance). */
    #alarmAt: number | undefined;

    constructor(ctx: DurableObjectState, env: KitEnv) {
      super(ctx, env);
      this.#storage = new SessionStorage(ctx.storage);
      this.#record = this.#storage.load();
    }

    override async fetch(request: Request): Promise<Response> {
      const caller = decodeCaller(request.headers.get(CALLER_HEADER));
      if (!caller) return jsonRpcError(500, -32603, "Session reached without a caller");
      const { pathname } = new URL(request.url);
      if (pathname.endsWith("/sse")) return this.#openLegacy(request, caller);
      if (pathname.endsWith("/messages")) return this.#legacyMessage(request, caller);
      if (request.method === "POST") return this.#post(request, caller);
      const record = this.#record;
      if (!record) return jsonRpcError(404, -32001, "Session not found");
      if (!sameIdentity(record.owner, caller)) return forbiddenSession();
      if (request.method === "DELETE") return this.#end();
      if (request.method === "GET") {
        const channel = await this.#channel("stream");
        return channel.transport.handleRequest(request, { authInfo: authInfoFor(caller) });
      }
      return jsonRpcError(405, -32000, "Method not allowed", { allow: "GET, POST, DELETE" });
    }

    override async alarm(): Promise<void> {
      this.#alarmAt = undefined;
      if (!(await this.#flush())) {
        await this.#armRetry();
        return;
      }
      const record = this.#record;
      if (record && Date.now() - record.lastActiveAt < SESSION_IDLE_TTL_MS) {
        await this.#setAlarm(record.lastActiveAt + SESSION_IDLE_TTL_MS);
        return;
      }
      // Ended or idle: close what is open and wipe the object (the outbox is empty).
      await this.#closeChannels();
      this.#record = undefined;
      await this.ctx.storage.deleteAll();
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

      const initialize = valid.find(
        (message) => kindOf(message) === "request" && (message as { method: string }).method === "initialize",
      );
      if (initialize) {
        if (this.#record) return jsonRpcError(400, -32600, "Invalid Request: this session is already initialized");
        const now = Date.now();
        this.#record = {
          sessionId: this.ctx.id.toString(),
          owner: caller,
          initialize,
          createdAt: now,
          lastActiveAt: now,
        };
        this.#storage.create(this.#record);
        await this.#setAlarm(now + SESSION_IDLE_TTL_MS);
        const channel = await this.#channel("json", { replay: false });
        return channel.transport.handleRequest(request, { parsedBody: parsed, authInfo });
      }

      const record = this.#record;
      if (!record) return jsonRpcError(404, -32001, "Session not found: initialize a new session");
      if (!sameIdentity(record.owner, caller)) return forbiddenSession();
      this.#touch(record);

      if (valid.every((message) => kindOf(message) === "notification")) {
        // Notifications (initialized, cancelled…) concern whichever channel runs the request.
        const channels = await Promise.all([...this.#channels.values()]);
        await Promise.all(
          channels.map((channel) => channel.transport.handleRequest(request.clone(), { parsedBody: parsed, authInfo })),
        );
        return new Response(null, { status: 202 });
      }
      const channel = await this.#channel(needsStream(valid) ? "stream" : "json");
      return channel.transport.handleRequest(request, { parsedBody: parsed, authInfo });
    }

    /** Builds a channel on first use; after a restart, replays the stored initialize into it. */
    #channel(kind: ChannelKind, options: { replay: boolean } = { replay: true }): Promise<Channel> {
      let channel = this.#channels.get(kind);
      if (!channel) {
        channel = this.#openChannel(kind, options.replay);
        this.#channels.set(kind, channel);
        channel.catch(() => this.#channels.delete(kind));
      }
      return channel;
    }

    async #openChannel(kind: ChannelKind, replay: boolean): Promise<Channel> {
      const record = this.#record;
      if (!record) throw new Error("No session to open a channel for");
      const server = buildMcpServer(spec, this.#runtime(record.sessionId));
      const transport = new WebStandardStreamableHTTPServerTransport({
        sessionIdGenerator: () => record.sessionId,
        enableJsonResponse: kind === "json",
        ...(kind === "stream" ? { eventStore: this.#storage.eventStore(), retryInterval: 1_000 } : {}),
        maxRequestBodySize: MAX_BODY_BYTES,
      });
      await server.connect(transport);
      if (replay) await replayInitialize(transport, record);
      return { server, transport };
    }

    async #end(): Promise<Response> {
      await this.#closeChannels();
      this.#record = undefined;
      this.#storage.forgetSession();
      // The outbox survives until flushed; the alarm then wipes the object.
      if (await this.#flush()) await this.ctx.storage.deleteAll();
      else await this.#armRetry();
      return new Response(null, { status: 200 });
    }

    async #closeChannels(): Promise<void> {
      const channels = await Promise.allSettled([...this.#channels.values()]);
      this.#channels.clear();
      for (const channel of channels) if (channel.status === "fulfilled") await channel.value.server.close();
      await this.#legacy?.transport.close();
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
      const messagesPath = new URL(request.url).pathname.replace(/sse$/, "messages");
      const transport = new LegacySseTransport(this.ctx.id.toString(), messagesPath);
      const server = buildMcpServer(spec, this.#runtime(transport.sessionId));
      this.#legacy = { transport, owner: caller };
      const response = transport.open();
      await server.connect(transport);
      transport.onclose = () => {
        this.#legacy = undefined;
      };
      return response;
    }

    async #legacyMessage(request: Request, caller: Caller): Promise<Response> {
      const legacy = this.#legacy;
      if (!legacy) return new Response("Session not found: open a new one with GET /sse", { status: 404 });
      if (!sameIdentity(legacy.owner, caller)) return forbiddenSession();
      const body = await readRequestBody(request, MAX_BODY_BYTES);
      if (body.tooLarge) return new Response(requestBodyTooLargeMessage(MAX_BODY_BYTES), { status: 413 });
      try {
        return legacy.transport.receive(JSON.parse(body.text), authInfoFor(caller));
      } catch {
        return new Response("Parse error: the body is not valid JSON", { status: 400 });
      }
    }

    // --- invocation records: durable outbox → D1 ---

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
      this.#storage.enqueue(record);
      this.#flushTimer ??= setTimeout(() => {
        this.#flushTimer = undefined;
        void this.#flush().then((ok) => (ok ? undefined : this.#armRetry()));
      }, FLUSH_DELAY_MS);
      // The backstop: a flush even if this instance goes away before its timer fires.
      const backstop = Date.now() + FLUSH_BACKSTOP_MS;
      if (this.#alarmAt === undefined || this.#alarmAt > backstop) void this.#setAlarm(backstop);
    }

    /** Writes the whole outbox to D1; true when it is empty afterwards. Single-flight. */
    #flush(): Promise<boolean> {
      this.#flushing ??= this.#drainOutbox().finally(() => {
        this.#flushing = undefined;
      });
      return this.#flushing;
    }

    async #drainOutbox(): Promise<boolean> {
      try {
        for (;;) {
          const batch = await this.#storage.peekOutbox(OUTBOX_BATCH);
          if (batch.records.length === 0) break;
          await writeOutbox(this.env.DB, batch.records);
          await this.#storage.dropOutbox(batch.keys);
        }
        this.#retryAttempt = 0;
        return true;
      } catch (error) {
        console.error(
          `invocation flush to D1 failed; ${await this.#storage.outboxSize()} records kept for retry`,
          error,
        );
        return false;
      }
    }

    /** A durable retry: survives eviction, backs off while D1 keeps failing. */
    async #armRetry(): Promise<void> {
      const delay = FLUSH_RETRY_MS[Math.min(this.#retryAttempt, FLUSH_RETRY_MS.length - 1)] ?? 60_000;
      this.#retryAttempt += 1;
      await this.#setAlarm(Date.now() + delay);
    }

    async #setAlarm(at: number): Promise<void> {
      this.#alarmAt = at;
      await this.ctx.storage.setAlarm(at);
    }
  };
}

async function writeOutbox(d1: D1Database, records: readonly OutboxRecord[]): Promise<void> {
  const invocations: InvocationRecord[] = [];
  const audits: AuditRecord[] = [];
  for (const record of records) {
    if (record.table === "invocations") {
      const { table: _table, ...invocation } = record;
      invocations.push(invocation);
    } else {
      const { table: _table, ...audit } = record;
      audits.push(audit);
    }
  }
  // Both writes are idempotent by id: a retry after a partial failure double-counts nothing.
  await Promise.all([writeInvocations(d1, invocations), writeAuditEvents(d1, audits)]);
}

type MessageKind = "request" | "notification" | "response";

function isMessageShaped(value: unknown): value is JSONRPCMessage {
  return typeof value === "object" && value !== null && (value as { jsonrpc?: unknown }).jsonrpc === "2.0";
}

function kindOf(message: JSONRPCMessage): MessageKind {
  if ("method" in message) return "id" in message ? "request" : "notification";
  return "response";
}

function authInfoFor(caller: Caller) {
  return { token: "", clientId: caller.id, scopes: caller.scopes, extra: { caller } };
}

/** A session belongs to one identity: the same kind (user or service) and the same id. */
function sameIdentity(owner: Caller, caller: Caller): boolean {
  return owner.kind === caller.kind && owner.id === caller.id;
}

function forbiddenSession(): Response {
  return jsonRpcError(403, -32000, "Forbidden: this session belongs to another identity");
}

async function replayInitialize(transport: WebStandardStreamableHTTPServerTransport, record: SessionRecord) {
  const headers = { accept: "application/json, text/event-stream", "content-type": "application/json" };
  const url = "https://session.internal/mcp";
  const authInfo = authInfoFor(record.owner);
  const answer = await transport.handleRequest(new Request(url, { method: "POST", headers }), {
    parsedBody: record.initialize,
    authInfo,
  });
  await answer.body?.cancel();
  const followUp = {
    ...headers,
    "mcp-session-id": record.sessionId,
    "mcp-protocol-version": negotiatedVersion(record),
  };
  await transport.handleRequest(new Request(url, { method: "POST", headers: followUp }), {
    parsedBody: { jsonrpc: "2.0", method: "notifications/initialized" },
    authInfo,
  });
}

/** The version the SDK answered at initialize: the client's, when supported, else the latest. */
function negotiatedVersion(record: SessionRecord): string {
  const requested = (record.initialize as { params?: { protocolVersion?: string } }).params?.protocolVersion;
  return requested && SUPPORTED_PROTOCOL_VERSIONS.includes(requested) ? requested : LATEST_PROTOCOL_VERSION;
}
