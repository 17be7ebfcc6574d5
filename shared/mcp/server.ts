/**
 * `defineServer`: a domain server's whole entry point. It returns the Worker (Host/Origin
 * checks, OAuth resource server: RFC 9728 metadata, bearer-token validation against the auth
 * Worker, the registry gate: lifecycle, environment and business groups as the registry says,
 * session routing), its publish document (server.json) and the session Durable Object class,
 * all derived from one declaration.
 */
import { insufficientScope, type OAuthResourceContext, OAuthResourceServer } from "@cloudflare/workers-oauth-provider";
import { isLegacyRequest, readRequestBody } from "@modelcontextprotocol/server";
import { Hono } from "hono";
import { CALLER_HEADER, type Caller, encodeCaller } from "../auth/caller";
import { cachedValidator, callerFrom, type TokenProps } from "../auth/token.validation";
import { type AuditRecord, denial, writeAuditEvents } from "../db/audit.store";
import { countDeadLetters } from "../db/dead-letters.store";
import {
  DEFAULT_ENVIRONMENT,
  DEFAULT_NAMESPACE,
  PUBLISH_DOCUMENT_PATH,
  PublishDocumentError,
  publishDocument,
} from "../registry/publish.document";
import { registryGate } from "../registry/registry.gate";
import { callerKey, createCallerStateClass } from "./caller.state";
import { checkHostAndOrigin } from "./http.guards";
import { jsonRpcError } from "./responses";
import type { KitEnv, ServerSpec } from "./server.definition";
import { createSessionClass, MAX_BODY_BYTES } from "./session";
import { requestBodyTooLargeMessage } from "./session.routing";
import { baselineScopesOf } from "./step-up";
import { describeInvalidArguments } from "./tool";

type App = { Bindings: KitEnv; Variables: { caller: Caller } };

export function defineServer<Upstreams>(spec: ServerSpec<Upstreams>) {
  assertWellFormed(spec);
  const Session = createSessionClass(spec);
  const CallerState = createCallerStateClass(spec);
  const baselineScopes = baselineScopesOf(spec);

  // Public: health and the publish document (server.json with the fleet metadata).
  const publicApp = new Hono<App>();
  publicApp.get("/health", async (c) => {
    // Records a session's outbox could not write to D1 (session.outbox): kept, and counted here.
    let deadLetters: number | null = null;
    try {
      deadLetters = await countDeadLetters(c.env.DB, spec.name);
    } catch (error) {
      console.error(`${spec.name}: could not count dead letters`, error);
    }
    return c.json({ status: "ok", server: spec.name, version: spec.version, deadLetters });
  });
  publicApp.get(PUBLISH_DOCUMENT_PATH, (c) => {
    try {
      return c.json(
        publishDocument(spec, {
          origin: publicOrigin(c.req.raw, c.env),
          environment: c.env.FLEET_ENV || DEFAULT_ENVIRONMENT,
          namespace: c.env.REGISTRY_NAMESPACE || DEFAULT_NAMESPACE,
        }),
      );
    } catch (error) {
      if (!(error instanceof PublishDocumentError)) throw error;
      console.error(error.message);
      const problem = { title: "Invalid publish document", status: 500, detail: error.message, errors: error.issues };
      return c.json(problem, 500, { "content-type": "application/problem+json" });
    }
  });

  // Protected: everything an MCP client does, behind a validated token.
  // Every request (opening a session, using one, SSE, messages) passes the registry gate first.
  const admitByRegistry = registryGate(spec);
  const mcpApp = new Hono<App>();
  mcpApp.use(async (c, next) => {
    const { props, auth } = c.executionCtx as OAuthResourceContext<TokenProps>;
    const caller = callerFrom(props, auth.scope);
    const audit = (reason: string) =>
      c.executionCtx.waitUntil(
        recordDenial(c.env.DB, denial(spec.name, caller, `${c.req.method} ${c.req.path}`, reason)),
      );
    const decision = await admitByRegistry(c.env, caller);
    if (!decision.allowed) {
      audit(decision.reason);
      return decision.status === 503
        ? jsonRpcError(503, -32603, decision.message, { "retry-after": "5" })
        : jsonRpcError(403, -32000, decision.message);
    }
    const missing = baselineScopes.filter((scope) => !caller.scopes.includes(scope));
    if (missing.length > 0) {
      audit(`token lacks the scope ${missing.join(" ")}`);
      return insufficientScope(auth, baselineScopes, `The ${spec.name} server needs the scope ${missing.join(" ")}`);
    }
    c.set("caller", caller);
    await next();
  });
  mcpApp.all("/mcp", async (c) => {
    const sessionId = c.req.header("mcp-session-id");
    // Era routing, after the same token, gate and baseline-scope checks for every era: a request
    // claiming 2026-07-28 (per-request _meta, a modern MCP-Protocol-Version) is served statelessly
    // by the caller's object; everything else (initialize, sessions, GET/DELETE) as 2025.
    if (c.req.method === "POST" && !sessionId) {
      // The era is in the body: read it once here (capped), and hand the same text on.
      const body = await readRequestBody(c.req.raw, MAX_BODY_BYTES);
      if (body.tooLarge) return jsonRpcError(413, -32000, requestBodyTooLargeMessage(MAX_BODY_BYTES));
      let parsed: unknown;
      try {
        parsed = JSON.parse(body.text);
      } catch {} // not JSON: 2025's answer (a parse error), as the SDK routes it
      const caller = c.get("caller");
      if (parsed !== undefined && !(await isLegacyRequest(c.req.raw, parsed))) {
        if (!c.env.CALLERS) {
          console.error(`${spec.name}: the CALLERS Durable Object binding (per-caller state) must be configured`);
          return jsonRpcError(503, -32603, "This server does not serve protocol 2026-07-28 yet");
        }
        const stub = c.env.CALLERS.get(c.env.CALLERS.idFromName(callerKey(spec.name, caller)));
        return forward(stub, c.req.raw, caller, body.text);
      }
      return forward(c.env.SESSIONS.get(c.env.SESSIONS.newUniqueId()), c.req.raw, caller, body.text);
    }
    if (!sessionId) return jsonRpcError(400, -32000, "Bad Request: Mcp-Session-Id header is required");
    const id = parseSessionId(c.env.SESSIONS, sessionId);
    if (!id) return jsonRpcError(404, -32001, "Session not found");
    return forward(c.env.SESSIONS.get(id), c.req.raw, c.get("caller"));
  });
  mcpApp.get("/sse", (c) => forward(c.env.SESSIONS.get(c.env.SESSIONS.newUniqueId()), c.req.raw, c.get("caller")));
  mcpApp.post("/messages", (c) => {
    const id = parseSessionId(c.env.SESSIONS, c.req.query("sessionId") ?? "");
    if (!id) return new Response("Session not found: open a new one with GET /sse", { status: 404 });
    return forward(c.env.SESSIONS.get(id), c.req.raw, c.get("caller"));
  });

  const resourceServers = new Map<string, OAuthResourceServer<KitEnv, TokenProps>>();
  function resourceServerFor(env: KitEnv): OAuthResourceServer<KitEnv, TokenProps> {
    const key = `${env.PUBLIC_URL} ${env.AUTH_ISSUER}`;
    let server = resourceServers.get(key);
    if (!server) {
      server = new OAuthResourceServer<KitEnv, TokenProps>({
        resourceMetadata: {
          resource: env.PUBLIC_URL,
          authorization_servers: [env.AUTH_ISSUER],
          bearer_methods_supported: ["header"],
          resource_name: spec.title,
        },
        requiredScopes: baselineScopes,
        validateToken: (workerEnv) => cachedValidator(workerEnv.AUTH),
        handler: { fetch: (request, workerEnv, ctx) => mcpApp.fetch(request, workerEnv, ctx) },
      });
      resourceServers.set(key, server);
    }
    return server;
  }

  async function fetch(request: Request, env: KitEnv, ctx: ExecutionContext): Promise<Response> {
    const { pathname } = new URL(request.url);
    if (pathname === "/health" || pathname === PUBLISH_DOCUMENT_PATH) {
      return publicApp.fetch(request, env, ctx);
    }
    const refusal = checkHostAndOrigin(request, env);
    if (refusal) return jsonRpcError(403, -32000, `Forbidden: ${refusal}`);
    if (Number(request.headers.get("content-length") ?? 0) > MAX_BODY_BYTES) {
      return jsonRpcError(413, -32000, `Request body exceeds the ${MAX_BODY_BYTES} byte limit`);
    }
    if (!env.PUBLIC_URL || !env.AUTH_ISSUER) {
      console.error(`${spec.name}: PUBLIC_URL and AUTH_ISSUER must be configured`);
      return jsonRpcError(503, -32603, "This server is not configured for sign-in yet");
    }
    if (!env.REGISTRY) {
      console.error(`${spec.name}: the REGISTRY Service Binding (the registry Worker) must be configured`);
      return jsonRpcError(503, -32603, "This server is not connected to the fleet registry yet");
    }
    const response = await resourceServerFor(env).fetch(request, env, ctx);
    if (response.status === 401) {
      const reason = /error_description="([^"]*)"/.exec(response.headers.get("www-authenticate") ?? "")?.[1];
      ctx.waitUntil(
        recordDenial(
          env.DB,
          denial(spec.name, undefined, `${request.method} ${pathname}`, reason ?? "no valid access token"),
        ),
      );
    }
    return response;
  }

  return { fetch, Session, CallerState, spec };
}

/** Audit writes from the Worker (before any session exists) must not fail the request, nor vanish. */
async function recordDenial(d1: D1Database, record: AuditRecord): Promise<void> {
  try {
    await writeAuditEvents(d1, [record]);
  } catch (error) {
    console.error(`audit write failed: ${JSON.stringify(record)}`, error);
  }
}

/** To the object serving the request, with the caller; `body`: the request's body, if read here already. */
function forward(stub: DurableObjectStub, request: Request, caller: Caller, body?: string): Promise<Response> {
  const headers = new Headers(request.headers);
  headers.set(CALLER_HEADER, encodeCaller(caller));
  if (body === undefined) return stub.fetch(new Request(request, { headers }));
  headers.delete("content-length"); // the text's own length is sent
  headers.delete("transfer-encoding");
  return stub.fetch(request.url, { method: request.method, headers, body });
}

function parseSessionId(namespace: DurableObjectNamespace, value: string): DurableObjectId | undefined {
  if (!/^[0-9a-f]{64}$/.test(value)) return undefined;
  try {
    return namespace.idFromString(value);
  } catch {
    return undefined;
  }
}

function publicOrigin(request: Request, env: KitEnv): string {
  return env.PUBLIC_URL ?? new URL(request.url).origin;
}

function assertWellFormed(spec: ServerSpec<unknown>): void {
  if (!/^[a-z][a-z0-9-]*$/.test(spec.name)) throw new Error(`Server name "${spec.name}" must be lowercase`);
  const names = new Set<string>();
  for (const tool of spec.tools) {
    if (!tool.name.startsWith(`${spec.name.replace(/-/g, "_")}_`)) {
      throw new Error(`Tool ${tool.name} must be prefixed with "${spec.name}_"`);
    }
    if (names.has(tool.name)) throw new Error(`Tool ${tool.name} is declared twice`);
    names.add(tool.name);
  }
  const prompts = new Set<string>();
  for (const prompt of spec.prompts ?? []) {
    if (!prompt.name.startsWith(`${spec.name.replace(/-/g, "_")}_`)) {
      throw new Error(`Prompt ${prompt.name} must be prefixed with "${spec.name}_"`);
    }
    if (prompts.has(prompt.name)) throw new Error(`Prompt ${prompt.name} is declared twice`);
    prompts.add(prompt.name);
  }
  const resources = new Set<string>();
  for (const resource of spec.resources ?? []) {
    const address = resource.uri ?? (resource.uriTemplate as string);
    if (resources.has(address)) throw new Error(`Resource ${address} is declared twice`);
    resources.add(address);
  }
  const example = spec.tools.find((tool) => tool.name === spec.example.tool);
  if (!example) throw new Error(`The example call names ${spec.example.tool}, which is not one of its tools`);
  if (example.annotations.readOnlyHint !== true) {
    throw new Error(`The example call's tool ${example.name} must be read-only (it is made by the contract test)`);
  }
  const parsed = example.schema.safeParse(spec.example.arguments);
  if (!parsed.success) {
    throw new Error(`The example call: ${describeInvalidArguments(example.name, parsed.error)}`);
  }
  // What the registry would refuse in the spec itself (a 120-character description, an owner
  // team that is not a group name...) fails here, when the Worker loads, not at publish time.
  // Origin, environment and namespace come from the deployment; these stand-ins are valid.
  publishDocument(spec, {
    origin: "https://server.invalid",
    environment: DEFAULT_ENVIRONMENT,
    namespace: DEFAULT_NAMESPACE,
  });
}
