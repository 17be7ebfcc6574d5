/**
 * The registry's HTTP API under /v0.1: the official MCP Registry read API (same shapes, so
 * registry clients can sync from it), the governance writes, and the access check. Routes,
 * validation and the OpenAPI document (/openapi.json) come from one set of zod declarations.
 */

import { insufficientScope, type OAuthResourceContext } from "@cloudflare/workers-oauth-provider";
import { createRoute, OpenAPIHono, type RouteConfig, type RouteHandler, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import type { Caller } from "../shared/auth/caller";
import { callerFrom, type TokenProps } from "../shared/auth/token.validation";
import { LIFECYCLES, type ServerRow } from "../shared/db/fleet.schema";
import {
  accessChangeSchema,
  accessQuerySchema,
  lifecycleChangeSchema,
  PUBLISHER_META,
  reviewInputSchema,
  serverJsonSchema,
} from "../shared/registry/registry.contract";
import { answerAccess as answerFor } from "./registry.access";
import { actorOf, mayChangeLifecycle, mayPublish, mayReview, maySetAccess, type Verdict } from "./registry.authz";
import type { RegistryEnv } from "./registry.env";
import { problem, validationProblem } from "./registry.problems";
import { reviewJson, toServerResponse } from "./registry.responses";
import {
  addReview,
  ConflictError,
  getServerEntry,
  getServerRow,
  InvalidCursorError,
  listHealthChecks,
  listReviews,
  listVersions,
  publishVersion,
  searchServers,
  setAccess,
  setLifecycle,
} from "./registry.store";

type ApiEnv = { Bindings: RegistryEnv };

export const WRITE_SCOPE = "registry:write";

/** Requests that need a bearer token; the Worker sends them through its OAuth resource server. */
export function isProtectedApiRequest(method: string, pathname: string): boolean {
  if (method === "POST" && pathname === "/v0.1/publish") return true;
  if (method === "GET" && (pathname === "/v0.1/access" || pathname === "/v0.1/me")) return true;
  if (method === "PUT" && /^\/v0\.1\/servers\/[^/]+\/(lifecycle|access)$/.test(pathname)) return true;
  return method === "POST" && /^\/v0\.1\/servers\/[^/]+\/reviews$/.test(pathname);
}

// ---- Schemas for the document (responses are built in registry.responses.ts) ----

const Problem = z
  .object({
    title: z.string(),
    status: z.number().int(),
    detail: z.string(),
    errors: z.array(z.object({ location: z.string(), message: z.string(), value: z.unknown().optional() })).optional(),
  })
  .openapi("Problem");

const ServerResponse = z
  .object({
    server: z.record(z.string(), z.unknown()).openapi({ description: "server.json, exactly as published" }),
    _meta: z.record(z.string(), z.unknown()).openapi({
      description:
        "`io.modelcontextprotocol.registry/official` (status, publishedAt, updatedAt, isLatest) and `dev.mcp-fleet/governance` (team, lifecycle, reviews, environments, allowed groups and services, tools, health)",
    }),
  })
  .openapi("ServerResponse");

const ServerList = z
  .object({
    servers: z.array(ServerResponse),
    metadata: z.object({ nextCursor: z.string().optional(), count: z.number().int() }),
  })
  .openapi("ServerList");

const AccessAnswer = z
  .object({
    allowed: z.boolean(),
    server: z.string(),
    tool: z.string().optional(),
    environment: z.string(),
    code: z.string().optional(),
    reason: z.string().optional(),
    scopesNeeded: z.array(z.string()).optional(),
    caller: z.object({ kind: z.enum(["user", "service"]), name: z.string(), groups: z.array(z.string()) }),
  })
  .openapi("AccessAnswer");

const Review = z
  .object({
    id: z.string(),
    kind: z.string(),
    state: z.string(),
    reviewer: z.string(),
    at: z.string(),
    notes: z.string(),
    version: z.string(),
  })
  .openapi("Review");

const json = <T extends z.ZodType>(schema: T, description: string) => ({
  content: { "application/json": { schema } },
  description,
});
const problemResponse = (description: string) => ({
  content: { "application/problem+json": { schema: Problem } },
  description,
});

const nameParam = z.object({
  name: z.string().openapi({
    param: { name: "name", in: "path" },
    description: "URL-encoded full name (com.example.mcp-fleet%2Fpresto) or the short name (presto)",
  }),
});
const bearer = [{ bearer: [] as string[] }];

const listQuery = z.object({
  cursor: z.string().optional().openapi({ description: "nextCursor from the previous page" }),
  limit: z.coerce.number().int().min(1).max(100).default(30),
  search: z
    .string()
    .max(200)
    .optional()
    .openapi({ description: "case-insensitive substring of name, title or description" }),
  updated_since: z.iso.datetime({ offset: true }).optional().openapi({ description: "RFC 3339 timestamp" }),
  version: z.string().max(255).optional().openapi({ description: "`latest`, or an exact version" }),
  team: z.string().max(64).optional().openapi({ description: "fleet extension: owning team" }),
  lifecycle: z.enum(LIFECYCLES).optional().openapi({ description: "fleet extension: lifecycle" }),
  status: z.enum(["up", "down", "unknown"]).optional().openapi({ description: "fleet extension: live status" }),
});

// ---- Routes ----

export const apiApp = new OpenAPIHono<ApiEnv>({
  defaultHook: (result, c) => {
    if (!result.success) return validationProblem(c, result.error, result.target);
  },
});

/**
 * Declares a route: the handler gets the validated input; it may answer with a problem as well as
 * the declared success shape (the document lists both).
 */
function register<R extends RouteConfig>(
  config: R,
  handler: (c: Parameters<RouteHandler<R, ApiEnv>>[0]) => Promise<Response>,
): void {
  apiApp.openapi(config, handler as unknown as RouteHandler<R, ApiEnv>);
}

apiApp.onError((error, c) => {
  console.error(`registry API ${c.req.method} ${c.req.path} failed`, error);
  return problem(
    c,
    500,
    "Internal Server Error",
    "the registry failed to answer (each write is all or nothing); try again",
  );
});

apiApp.openAPIRegistry.registerComponent("securitySchemes", "bearer", {
  type: "http",
  scheme: "bearer",
  description: "An access token from the fleet's auth Worker, bound to this registry (RFC 8707)",
});

register(
  createRoute({
    method: "get",
    path: "/v0.1/servers",
    summary: "List servers (official MCP Registry API)",
    request: { query: listQuery },
    responses: { 200: json(ServerList, "A page of servers"), 400: problemResponse("Bad query") },
  }),
  async (c) => {
    const query = c.req.valid("query");
    try {
      const { entries, nextCursor } = await searchServers(c.env.DB, {
        search: query.search,
        team: query.team,
        lifecycle: query.lifecycle,
        status: query.status,
        updatedSince: query.updated_since ? new Date(query.updated_since) : undefined,
        latestOnly: query.version === "latest",
        version: query.version && query.version !== "latest" ? query.version : undefined,
        cursor: query.cursor,
        limit: query.limit,
      });
      const servers = entries.map(toServerResponse);
      return c.json({ servers, metadata: { ...(nextCursor ? { nextCursor } : {}), count: servers.length } }, 200);
    } catch (error) {
      if (error instanceof InvalidCursorError) {
        return problem(c, 400, "Bad Request", error.message, [{ location: "query.cursor", message: error.message }]);
      }
      throw error;
    }
  },
);

register(
  createRoute({
    method: "get",
    path: "/v0.1/servers/{name}/versions",
    summary: "List every version of a server, newest first",
    request: { params: nameParam },
    responses: { 200: json(ServerList, "All versions"), 404: problemResponse("No such server") },
  }),
  async (c) => {
    const name = shortName(c.req.valid("param").name, c.env);
    const entries = name ? await listVersions(c.env.DB, name) : [];
    if (entries.length === 0) return notFound(c, c.req.valid("param").name);
    return c.json({ servers: entries.map(toServerResponse), metadata: { count: entries.length } }, 200);
  },
);

register(
  createRoute({
    method: "get",
    path: "/v0.1/servers/{name}/versions/{version}",
    summary: "Get one version of a server (`latest` for the latest)",
    request: {
      params: nameParam.extend({
        version: z.string().openapi({ param: { name: "version", in: "path" }, description: "a version or `latest`" }),
      }),
    },
    responses: { 200: json(ServerResponse, "The version"), 404: problemResponse("No such server or version") },
  }),
  async (c) => {
    const params = c.req.valid("param");
    const name = shortName(params.name, c.env);
    const entry = name ? await getServerEntry(c.env.DB, name, params.version) : undefined;
    if (!entry) return notFound(c, `${params.name} version ${params.version}`);
    return c.json(toServerResponse(entry), 200);
  },
);

register(
  createRoute({
    method: "get",
    path: "/v0.1/servers/{name}/health",
    summary: "Recent live-status checks of a server (fleet extension)",
    request: { params: nameParam },
    responses: {
      200: json(
        z.object({
          checks: z.array(
            z.object({
              at: z.string(),
              up: z.boolean(),
              latencyMs: z.number(),
              httpStatus: z.number().nullable(),
              error: z.string().nullable(),
            }),
          ),
        }),
        "Newest first",
      ),
      404: problemResponse("No such server"),
    },
  }),
  async (c) => {
    const server = await serverRowOf(c, c.req.valid("param").name);
    if (server instanceof Response) return server;
    const { name } = server;
    const checks = await listHealthChecks(c.env.DB, name);
    return c.json(
      {
        checks: checks.map((check) => ({
          at: check.at.toISOString(),
          up: check.up,
          latencyMs: check.latencyMs,
          httpStatus: check.httpStatus,
          error: check.error,
        })),
      },
      200,
    );
  },
);

register(
  createRoute({
    method: "get",
    path: "/v0.1/servers/{name}/reviews",
    summary: "Review history of a server (fleet extension)",
    request: { params: nameParam },
    responses: {
      200: json(z.object({ reviews: z.array(Review) }), "Newest first"),
      404: problemResponse("No such server"),
    },
  }),
  async (c) => {
    const server = await serverRowOf(c, c.req.valid("param").name);
    if (server instanceof Response) return server;
    const { name } = server;
    return c.json({ reviews: (await listReviews(c.env.DB, name)).map(reviewJson) }, 200);
  },
);

register(
  createRoute({
    method: "post",
    path: "/v0.1/publish",
    summary: "Publish a server version (owning team members or the pipeline)",
    security: bearer,
    request: { body: { content: { "application/json": { schema: serverJsonSchema } }, required: true } },
    responses: {
      201: json(ServerResponse, "Published"),
      400: problemResponse("Invalid server.json"),
      401: problemResponse("No valid token"),
      403: problemResponse("Not allowed"),
      409: problemResponse("Version exists, or ownership conflict"),
    },
  }),
  async (c) => {
    const caller = await writer(c);
    if (caller instanceof Response) return caller;
    const document = c.req.valid("json");
    const [namespace, name] = document.name.split("/") as [string, string];
    if (namespace !== c.env.REGISTRY_NAMESPACE) {
      const message = `must start with ${c.env.REGISTRY_NAMESPACE}/ (this registry's namespace)`;
      return problem(c, 400, "Bad Request", `name ${message}`, [
        { location: "body.name", message, value: document.name },
      ]);
    }
    const meta = document._meta[PUBLISHER_META];
    const existing = await getServerRow(c.env.DB, name);
    const verdict = mayPublish(caller, c.env, existing, meta.team);
    if (!verdict.ok) return refused(c, verdict);
    try {
      await publishVersion(c.env.DB, name, document, actorOf(caller));
    } catch (error) {
      if (error instanceof ConflictError) return problem(c, 409, "Conflict", error.message);
      throw error;
    }
    const entry = await getServerEntry(c.env.DB, name, document.version);
    if (!entry) throw new Error(`published ${name} ${document.version} but cannot read it back`);
    return c.json(toServerResponse(entry), 201);
  },
);

register(
  createRoute({
    method: "put",
    path: "/v0.1/servers/{name}/lifecycle",
    summary: "Move a server through draft → in_review → approved → deprecated → retired",
    security: bearer,
    request: {
      params: nameParam,
      body: { content: { "application/json": { schema: lifecycleChangeSchema } }, required: true },
    },
    responses: {
      200: json(ServerResponse, "The server's latest version after the change"),
      400: problemResponse("Invalid body"),
      403: problemResponse("Not allowed"),
      404: problemResponse("No such server"),
      409: problemResponse("Transition not possible (or reviews missing)"),
    },
  }),
  async (c) => {
    const caller = await writer(c);
    if (caller instanceof Response) return caller;
    const name = shortName(c.req.valid("param").name, c.env);
    const latest = name ? await getServerEntry(c.env.DB, name, "latest") : undefined;
    if (!name || !latest) return notFound(c, c.req.valid("param").name);
    const { lifecycle, note } = c.req.valid("json");
    const verdict = mayChangeLifecycle(caller, c.env, latest.server, lifecycle, latest.reviews);
    if (!verdict.ok) return refused(c, verdict);
    const changed = await setLifecycle(
      c.env.DB,
      name,
      { from: latest.server.lifecycle, to: lifecycle, note },
      actorOf(caller),
    );
    if (!changed) return problem(c, 409, "Conflict", `${name} changed meanwhile; read it again and retry`);
    return c.json(toServerResponse((await getServerEntry(c.env.DB, name, "latest")) ?? latest), 200);
  },
);

register(
  createRoute({
    method: "post",
    path: "/v0.1/servers/{name}/reviews",
    summary: "Record a Security, Legal/Privacy or GenAI review (reviewers)",
    security: bearer,
    request: {
      params: nameParam,
      body: { content: { "application/json": { schema: reviewInputSchema } }, required: true },
    },
    responses: {
      201: json(Review, "Recorded"),
      400: problemResponse("Invalid body"),
      403: problemResponse("Not a reviewer"),
      404: problemResponse("No such server or version"),
    },
  }),
  async (c) => {
    const caller = await writer(c);
    if (caller instanceof Response) return caller;
    const server = await serverRowOf(c, c.req.valid("param").name);
    if (server instanceof Response) return server;
    const { name } = server;
    const verdict = mayReview(caller, c.env);
    if (!verdict.ok) return refused(c, verdict);
    const input = c.req.valid("json");
    const version = input.version ?? server.latestVersion;
    if (!(await getServerEntry(c.env.DB, name, version))) {
      return problem(c, 404, "Not Found", `${name} has no version ${version}`, [
        { location: "body.version", message: "no such version", value: version },
      ]);
    }
    const review = await addReview(
      c.env.DB,
      {
        serverName: name,
        version,
        kind: input.kind,
        state: input.state,
        notes: input.notes,
        reviewer: caller.principal,
        at: new Date(),
      },
      actorOf(caller),
    );
    return c.json(reviewJson(review), 201);
  },
);

register(
  createRoute({
    method: "put",
    path: "/v0.1/servers/{name}/access",
    summary: "Set the business groups and services allowed to use a server (and, for reviewers, its environments)",
    security: bearer,
    request: {
      params: nameParam,
      body: { content: { "application/json": { schema: accessChangeSchema } }, required: true },
    },
    responses: {
      200: json(ServerResponse, "The server's latest version after the change"),
      400: problemResponse("Invalid body"),
      403: problemResponse("Not allowed"),
      404: problemResponse("No such server"),
    },
  }),
  async (c) => {
    const caller = await writer(c);
    if (caller instanceof Response) return caller;
    const server = await serverRowOf(c, c.req.valid("param").name);
    if (server instanceof Response) return server;
    const { name } = server;
    const change = c.req.valid("json");
    const verdict = maySetAccess(caller, c.env, server, change.environments);
    if (!verdict.ok) return refused(c, verdict);
    await setAccess(c.env.DB, name, change, actorOf(caller));
    const entry = await getServerEntry(c.env.DB, name, "latest");
    if (!entry) throw new Error(`${name} has no latest version`);
    return c.json(toServerResponse(entry), 200);
  },
);

register(
  createRoute({
    method: "get",
    path: "/v0.1/access",
    summary: "May I (the token's caller) use this server, and this tool?",
    security: bearer,
    request: {
      query: z.object({
        server: z.string().min(1).max(200),
        tool: z.string().max(64).optional(),
        environment: z.string().max(32).optional(),
      }),
    },
    responses: {
      200: json(AccessAnswer, "Allowed or denied, with the reason"),
      401: problemResponse("No valid token"),
    },
  }),
  async (c) => {
    const caller = authenticatedCaller(c);
    if (!caller) return problem(c, 401, "Unauthorized", "a bearer token is required");
    const query = c.req.valid("query");
    // The token's scopes are the registry's, not the domain server's: scopes are listed, not evaluated.
    return c.json(await answerAccess(c.env, caller, { ...query, evaluateScopes: false }), 200);
  },
);

register(
  createRoute({
    method: "get",
    path: "/v0.1/me",
    summary: "Who the token's caller is, as the registry sees them",
    security: bearer,
    responses: {
      200: json(z.object({ caller: AccessAnswer.shape.caller }), "The caller"),
      401: problemResponse("No valid token"),
    },
  }),
  async (c) => {
    const caller = authenticatedCaller(c);
    if (!caller) return problem(c, 401, "Unauthorized", "a bearer token is required");
    return c.json({ caller: { kind: caller.kind, name: caller.name, groups: caller.groups } }, 200);
  },
);

register(
  createRoute({
    method: "post",
    path: "/v0.1/access",
    summary: "May this user (by groups) or service use this server, and this tool? (what-if)",
    request: { body: { content: { "application/json": { schema: accessQuerySchema } }, required: true } },
    responses: { 200: json(AccessAnswer, "Allowed or denied, with the reason"), 400: problemResponse("Invalid query") },
  }),
  async (c) => {
    const query = c.req.valid("json");
    let caller: Caller;
    if (query.service) {
      caller = callerFrom({ kind: "service", name: query.service }, []);
    } else if (query.user) {
      const { name = "user", groups, scopes = [] } = query.user;
      caller = callerFrom({ kind: "user", sub: name, username: name, groups }, scopes);
    } else {
      const message = "give the user (with groups) or the service to check";
      return problem(c, 400, "Bad Request", message, [{ location: "body.user", message }]);
    }
    const answer = await answerAccess(c.env, caller, {
      server: query.server,
      tool: query.tool,
      environment: query.environment,
      // A service's scopes live in the auth Worker's configuration: listed, not evaluated.
      evaluateScopes: query.user?.scopes !== undefined,
    });
    return c.json(answer, 200);
  },
);

apiApp.doc31("/openapi.json", (c) => ({
  openapi: "3.1.0",
  info: {
    title: "MCP Fleet registry",
    version: "0.1.0",
    description:
      "The official MCP Registry read API (v0.1) plus the fleet's governance: lifecycle, reviews, access and live status.",
  },
  servers: [{ url: c.env.PUBLIC_URL ?? new URL(c.req.url).origin }],
}));

// ---- Helpers ----

async function answerAccess(
  env: RegistryEnv,
  caller: Caller,
  query: { server: string; tool?: string; environment?: string; evaluateScopes: boolean },
) {
  const name = shortName(query.server, env);
  const { answer } = await answerFor(env.DB, caller, {
    server: name ?? query.server,
    known: name !== undefined,
    tool: query.tool,
    environment: query.environment ?? env.FLEET_ENV,
    evaluateScopes: query.evaluateScopes,
  });
  return answer;
}

/** The caller the OAuth resource server verified, if the request came through it. */
function authenticatedCaller(c: Context<ApiEnv>): Caller | undefined {
  const ctx = c.executionCtx as Partial<OAuthResourceContext<TokenProps>>;
  if (!ctx.auth || !ctx.props) return undefined;
  return callerFrom(ctx.props, ctx.auth.scope);
}

/** A verified caller whose token carries the write scope, or the response refusing it. */
async function writer(c: Context<ApiEnv>): Promise<Caller | Response> {
  const caller = authenticatedCaller(c);
  if (!caller) return problem(c, 401, "Unauthorized", "a bearer token is required");
  const ctx = c.executionCtx as OAuthResourceContext<TokenProps>;
  if (!caller.scopes.includes(WRITE_SCOPE)) {
    return insufficientScope(ctx.auth, [WRITE_SCOPE], `Changing the registry needs the scope ${WRITE_SCOPE}`);
  }
  return caller;
}

/** The short name from a path's full (namespaced) or short server name; undefined for another namespace. */
export function shortName(value: string, env: Pick<RegistryEnv, "REGISTRY_NAMESPACE">): string | undefined {
  const slash = value.indexOf("/");
  if (slash === -1) return value;
  return value.slice(0, slash) === env.REGISTRY_NAMESPACE ? value.slice(slash + 1) : undefined;
}

/** The registered server a path names, or the 404 answering it. */
async function serverRowOf(c: Context<ApiEnv>, param: string): Promise<ServerRow | Response> {
  const name = shortName(param, c.env);
  const server = name ? await getServerRow(c.env.DB, name) : undefined;
  return server ?? notFound(c, param);
}

function notFound(c: Context<ApiEnv>, what: string) {
  return problem(c, 404, "Not Found", `no server ${what} in this registry`);
}

function refused(c: Context<ApiEnv>, verdict: Verdict & { ok: false }) {
  return problem(c, verdict.status, verdict.status === 403 ? "Forbidden" : "Conflict", verdict.reason);
}
