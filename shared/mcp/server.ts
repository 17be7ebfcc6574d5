/**
 * `defineServer`: a domain server's whole entry point. It returns the Worker (routing, Host/
 * Origin checks, identity, the business-group gate, session routing) and the session Durable
 * Object class, both derived from one declaration.
 */
import { Hono, type MiddlewareHandler } from "hono";
import { CALLER_HEADER, type Caller, encodeCaller } from "../auth/caller";
import { DEV_USER_HEADER, devIdentityEnabled, parseDevCaller } from "../auth/dev-identity";
import { checkServerAccess } from "../auth/policy";
import { type ServerManifest, upsertServer } from "../db/servers.store";
import { checkHostAndOrigin } from "./http.guards";
import { jsonRpcError } from "./responses";
import type { KitEnv, ServerSpec } from "./server.definition";
import { createSessionClass, MAX_BODY_BYTES } from "./session";

type App = { Bindings: KitEnv; Variables: { caller: Caller } };

export function defineServer<Upstreams>(spec: ServerSpec<Upstreams>) {
  assertWellFormed(spec);
  const Session = createSessionClass(spec);
  const declaredScopes = [...new Set(spec.tools.flatMap((tool) => tool.access.scopes ?? []))];
  const app = new Hono<App>();
  let registered = false;

  app.get("/health", async (c) => {
    if (!registered) {
      // Announce this server (and its tool inventory) to the registry's D1 tables.
      c.executionCtx.waitUntil(
        upsertServer(c.env.DB, manifestOf(spec, publicOrigin(c.req.raw, c.env))).then(
          () => {
            registered = true;
          },
          (error) => console.error(`registering ${spec.name} failed`, error),
        ),
      );
    }
    return c.json({ status: "ok", server: spec.name, version: spec.version });
  });
  app.get("/.well-known/mcp-fleet/manifest.json", (c) => c.json(manifestOf(spec, publicOrigin(c.req.raw, c.env))));

  const guard: MiddlewareHandler<App> = async (c, next) => {
    const refusal = checkHostAndOrigin(c.req.raw, c.env);
    if (refusal) return jsonRpcError(403, -32000, `Forbidden: ${refusal}`);
    const length = Number(c.req.header("content-length") ?? 0);
    if (length > MAX_BODY_BYTES) {
      return jsonRpcError(413, -32000, `Request body exceeds the ${MAX_BODY_BYTES} byte limit`);
    }
    const caller = resolveCaller(c.req.raw, c.env, declaredScopes);
    if (!caller) {
      return jsonRpcError(401, -32001, "Unauthorized: sign in to use this server", {
        "www-authenticate": 'Bearer realm="mcp-fleet"',
      });
    }
    const decision = checkServerAccess(spec.name, spec.access, caller);
    if (!decision.allowed) {
      console.warn(
        JSON.stringify({
          audit: "denied",
          server: spec.name,
          caller: caller.id,
          action: "session",
          reason: decision.reason,
        }),
      );
      return jsonRpcError(403, -32000, `Forbidden: ${decision.reason}`);
    }
    c.set("caller", caller);
    await next();
  };
  app.use("/mcp", guard);
  app.use("/sse", guard);
  app.use("/messages", guard);

  app.all("/mcp", (c) => {
    const sessionId = c.req.header("mcp-session-id");
    if (!sessionId && c.req.method !== "POST") {
      return jsonRpcError(400, -32000, "Bad Request: Mcp-Session-Id header is required");
    }
    const id = sessionId ? parseSessionId(c.env.SESSIONS, sessionId) : c.env.SESSIONS.newUniqueId();
    if (!id) return jsonRpcError(404, -32001, "Session not found");
    return forward(c.env.SESSIONS.get(id), c.req.raw, c.get("caller"));
  });
  app.get("/sse", (c) => forward(c.env.SESSIONS.get(c.env.SESSIONS.newUniqueId()), c.req.raw, c.get("caller")));
  app.post("/messages", (c) => {
    const id = parseSessionId(c.env.SESSIONS, c.req.query("sessionId") ?? "");
    if (!id) return new Response("Session not found: open a new one with GET /sse", { status: 404 });
    return forward(c.env.SESSIONS.get(id), c.req.raw, c.get("caller"));
  });

  return { fetch: app.fetch, Session, spec, manifest: (origin: string) => manifestOf(spec, origin) };
}

function forward(stub: DurableObjectStub, request: Request, caller: Caller): Promise<Response> {
  const headers = new Headers(request.headers);
  headers.set(CALLER_HEADER, encodeCaller(caller));
  return stub.fetch(new Request(request, { headers }));
}

function parseSessionId(namespace: DurableObjectNamespace, value: string): DurableObjectId | undefined {
  if (!/^[0-9a-f]{64}$/.test(value)) return undefined;
  try {
    return namespace.idFromString(value);
  } catch {
    return undefined;
  }
}

/** The caller behind a request. Until OAuth lands: the development identity, loopback only. */
function resolveCaller(request: Request, env: KitEnv, declaredScopes: readonly string[]): Caller | undefined {
  const url = new URL(request.url);
  if (!devIdentityEnabled(env, url)) return undefined;
  const value = request.headers.get(DEV_USER_HEADER) ?? env.DEV_DEFAULT_USER;
  return value ? parseDevCaller(value, declaredScopes) : undefined;
}

function publicOrigin(request: Request, env: KitEnv): string {
  return env.PUBLIC_URL ?? new URL(request.url).origin;
}

function manifestOf(spec: ServerSpec<unknown>, origin: string): ServerManifest {
  return {
    name: spec.name,
    title: spec.title,
    description: spec.description,
    version: spec.version,
    remoteUrl: `${origin.replace(/\/$/, "")}/mcp`,
    allowedGroups: [...(spec.access.groups ?? [])],
    tools: spec.tools.map((tool) => ({
      name: tool.name,
      description: tool.description,
      annotations: tool.annotations,
      access: { ...tool.access },
      needsApproval: tool.needsApproval,
      minutesSaved: tool.minutesSaved,
    })),
  };
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
}
