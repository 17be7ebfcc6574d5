/**
 * The registry's HTTP API under /v0.1: the official MCP Registry read API (same shapes, so
 * registry clients can sync from it), the governance writes (registry.writes.ts), and the access
 * check. Routes, validation and the OpenAPI document (/openapi.json) come from one set of zod
 * declarations (registry.routes.ts).
 *
 * Reads are public. A read that comes with a bearer token goes through the OAuth resource server
 * too; with registry:read it answers the full governance block (on-call, reviewer names, review
 * notes, health errors), without a token the public view.
 */

import { createRoute, z } from "@hono/zod-openapi";
import type { Caller } from "../shared/auth/caller";
import { callerFrom } from "../shared/auth/token.validation";
import { LIFECYCLES } from "../shared/db/fleet.schema";
import { accessQuerySchema } from "../shared/registry/registry.contract";
import { isAnalyticsRequest, registerAnalyticsRoutes } from "./analytics/analytics.routes";
import { answerAccess as answerFor } from "./registry.access";
import type { RegistryEnv } from "./registry.env";
import { problem } from "./registry.problems";
import { reviewJson, toServerResponse } from "./registry.responses";
import {
  AccessAnswer,
  apiApp,
  authenticatedCaller,
  bearer,
  json,
  nameParam,
  notFound,
  problemResponse,
  Review,
  register,
  ServerList,
  ServerResponse,
  seesGovernanceDetail,
  serverRowOf,
  shortName,
} from "./registry.routes";
import {
  getServerEntry,
  getServerRow,
  InvalidCursorError,
  isPublic,
  listHealthChecks,
  listReviews,
  listVersions,
  searchServers,
} from "./registry.store";
import { registerWriteRoutes } from "./registry.writes";

export { apiApp, shortName };

/**
 * Whether a request goes through the Worker's OAuth resource server: writes and the caller's own
 * access check always (they need a token); reads only when they carry one (to see more).
 */
export function isProtectedApiRequest(method: string, pathname: string, authorization?: string | null): boolean {
  if (method === "POST" && pathname === "/v0.1/publish") return true;
  if (isAnalyticsRequest(method, pathname)) return true;
  if (method === "GET" && (pathname === "/v0.1/access" || pathname === "/v0.1/me")) return true;
  if (method === "PUT" && /^\/v0\.1\/servers\/[^/]+\/(lifecycle|access)$/.test(pathname)) return true;
  if (method === "POST" && /^\/v0\.1\/servers\/[^/]+\/reviews$/.test(pathname)) return true;
  return method === "GET" && Boolean(authorization) && pathname.startsWith("/v0.1/servers");
}

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
    const detail = seesGovernanceDetail(c);
    try {
      const { entries, nextCursor } = await searchServers(c.env.DB, {
        // Without registry:read, only what reviewers approved, one version per server.
        approvedOnly: !detail,
        search: query.search,
        team: query.team,
        lifecycle: query.lifecycle,
        status: query.status,
        updatedSince: query.updated_since ? new Date(query.updated_since) : undefined,
        latestOnly: detail && query.version === "latest",
        version: query.version && query.version !== "latest" ? query.version : undefined,
        cursor: query.cursor,
        limit: query.limit,
      });
      const servers = entries.map((entry) => toServerResponse(entry, detail));
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
    const detail = seesGovernanceDetail(c);
    const entries = (name ? await listVersions(c.env.DB, name) : []).filter(
      (entry) => detail || (isPublic(entry.server) && entry.version.version === entry.server.approvedVersion),
    );
    if (entries.length === 0) return notFound(c, c.req.valid("param").name);
    return c.json(
      { servers: entries.map((entry) => toServerResponse(entry, detail)), metadata: { count: entries.length } },
      200,
    );
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
    const detail = seesGovernanceDetail(c);
    const server = name ? await getServerRow(c.env.DB, name) : undefined;
    // Without registry:read, the approved version is the only one there is (and the latest).
    const version = detail || !server || !isPublic(server) ? params.version : server.approvedVersion;
    const entry =
      server && (detail || (isPublic(server) && (params.version === "latest" || params.version === version)))
        ? await getServerEntry(c.env.DB, server.name, version)
        : undefined;
    if (!entry) return notFound(c, `${params.name} version ${params.version}`);
    return c.json(toServerResponse(entry, detail), 200);
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
              httpStatus: z.number().nullable().optional(),
              error: z.string().nullable().optional(),
            }),
          ),
        }),
        "Newest first (httpStatus and error only for a caller with a registry:read token)",
      ),
      404: problemResponse("No such server"),
    },
  }),
  async (c) => {
    const detail = seesGovernanceDetail(c);
    const server = await serverRowOf(c, c.req.valid("param").name, detail);
    if (server instanceof Response) return server;
    const { name } = server;
    const checks = await listHealthChecks(c.env.DB, name);
    return c.json(
      {
        checks: checks.map((check) => ({
          at: check.at.toISOString(),
          up: check.up,
          latencyMs: check.latencyMs,
          // What the probe ran into (connection refused, HTTP 403...) says something about the
          // network behind the published URL: signed-in callers only.
          ...(detail ? { httpStatus: check.httpStatus, error: check.error } : {}),
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
    const detail = seesGovernanceDetail(c);
    const server = await serverRowOf(c, c.req.valid("param").name, detail);
    if (server instanceof Response) return server;
    // Without registry:read, the reviews of the approved version (what the public view shows).
    const history = (await listReviews(c.env.DB, server.name)).filter(
      (review) => detail || review.version === server.approvedVersion,
    );
    return c.json({ reviews: history.map((review) => reviewJson(review, detail)) }, 200);
  },
);

registerWriteRoutes();
registerAnalyticsRoutes();

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
