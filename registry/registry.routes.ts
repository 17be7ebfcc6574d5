/**
 * What every route of the registry's HTTP API shares: the OpenAPI app the routes are declared on
 * (validation and the document come from the same zod declarations), the response schemas the
 * document lists, and the request helpers (who is calling, may they write, which server a path
 * names). The routes: registry.api.ts (reads, access check, the document) and
 * registry.writes.ts (publish, lifecycle, reviews, access).
 */
import { insufficientScope, type OAuthResourceContext } from "@cloudflare/workers-oauth-provider";
import { OpenAPIHono, type RouteConfig, type RouteHandler, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import type { Caller } from "../shared/auth/caller";
import { callerFrom, type TokenProps } from "../shared/auth/token.validation";
import type { ServerRow } from "../shared/db/fleet.schema";
import type { Verdict } from "./registry.authz";
import type { RegistryEnv } from "./registry.env";
import { problem, validationProblem } from "./registry.problems";
import { getServerRow, isPublic } from "./registry.store";

export type ApiEnv = { Bindings: RegistryEnv };

export const READ_SCOPE = "registry:read";
export const WRITE_SCOPE = "registry:write";

// ---- Schemas for the document (responses are built in registry.responses.ts) ----

export const Problem = z
  .object({
    title: z.string(),
    status: z.number().int(),
    detail: z.string(),
    errors: z.array(z.object({ location: z.string(), message: z.string(), value: z.unknown().optional() })).optional(),
  })
  .openapi("Problem");

export const ServerResponse = z
  .object({
    server: z.record(z.string(), z.unknown()).openapi({ description: "server.json, exactly as published" }),
    _meta: z.record(z.string(), z.unknown()).openapi({
      description:
        "`io.modelcontextprotocol.registry/official` (status, publishedAt, updatedAt, isLatest) and `dev.mcp-fleet/governance` (team, lifecycle, approved version, reviews, environments, allowed groups and services, tools with their task modes, resources, resource templates, prompts, health). On-call, reviewer names, review notes and health errors only for a caller with a registry:read token.",
    }),
  })
  .openapi("ServerResponse");

export const ServerList = z
  .object({
    servers: z.array(ServerResponse),
    metadata: z.object({ nextCursor: z.string().optional(), count: z.number().int() }),
  })
  .openapi("ServerList");

export const AccessAnswer = z
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

export const Review = z
  .object({
    id: z.string(),
    kind: z.string(),
    state: z.string(),
    reviewer: z.string().optional().openapi({ description: "only for a caller with a registry:read token" }),
    at: z.string(),
    notes: z.string().optional().openapi({ description: "only for a caller with a registry:read token" }),
    version: z.string(),
  })
  .openapi("Review");

export const json = <T extends z.ZodType>(schema: T, description: string) => ({
  content: { "application/json": { schema } },
  description,
});
export const problemResponse = (description: string) => ({
  content: { "application/problem+json": { schema: Problem } },
  description,
});

export const nameParam = z.object({
  name: z.string().openapi({
    param: { name: "name", in: "path" },
    description: "URL-encoded full name (com.example.mcp-fleet%2Fpresto) or the short name (presto)",
  }),
});
export const bearer = [{ bearer: [] as string[] }];

// ---- The app ----

export const apiApp = new OpenAPIHono<ApiEnv>({
  defaultHook: (result, c) => {
    if (!result.success) return validationProblem(c, result.error, result.target);
  },
});

/**
 * Declares a route: the handler gets the validated input; it may answer with a problem as well as
 * the declared success shape (the document lists both).
 */
export function register<R extends RouteConfig>(
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

// ---- Helpers ----

/** The caller the OAuth resource server verified, if the request came through it. */
export function authenticatedCaller(c: Context<ApiEnv>): Caller | undefined {
  const ctx = c.executionCtx as Partial<OAuthResourceContext<TokenProps>>;
  if (!ctx.auth || !ctx.props) return undefined;
  return callerFrom(ctx.props, ctx.auth.scope);
}

/** A verified caller whose token carries the write scope, or the response refusing it. */
export async function writer(c: Context<ApiEnv>): Promise<Caller | Response> {
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
/**
 * The server a path names, or a 404. `detail` false (a reader without registry:read): a server
 * reviewers never approved is not there for them either (registry.store.ts isPublic).
 */
export async function serverRowOf(c: Context<ApiEnv>, param: string, detail = true): Promise<ServerRow | Response> {
  const name = shortName(param, c.env);
  const server = name ? await getServerRow(c.env.DB, name) : undefined;
  return server && (detail || isPublic(server)) ? server : notFound(c, param);
}

export function notFound(c: Context<ApiEnv>, what: string) {
  return problem(c, 404, "Not Found", `no server ${what} in this registry`);
}

export function refused(c: Context<ApiEnv>, verdict: Verdict & { ok: false }) {
  return problem(c, verdict.status, verdict.status === 403 ? "Forbidden" : "Conflict", verdict.reason);
}

/**
 * Whether the caller may see what the public does not: review notes, reviewer names, on-call and
 * the health probe's raw errors. Needs a token with registry:read (a signed-in user or a
 * service); without one the API answers the public view.
 */
export function seesGovernanceDetail(c: Context<ApiEnv>): boolean {
  return authenticatedCaller(c)?.scopes.includes(READ_SCOPE) ?? false;
}
