/**
 * The analytics API (docs/analytics.md): the month summary (JSON or CSV), day/week/month series,
 * feedback on one call, and the owners' estimate overrides. Every route needs a token with
 * registry:read (the OAuth resource server checks it); the writes (feedback, overrides) need
 * registry:write; detail follows `visibilityOf`.
 */
import { createRoute, z } from "@hono/zod-openapi";
import type { Caller } from "../../shared/auth/caller";
import { actorOf, rolesOf } from "../registry.authz";
import type { RegistryEnv } from "../registry.env";
import { problem } from "../registry.problems";
import {
  authenticatedCaller,
  bearer,
  json,
  nameParam,
  problemResponse,
  register,
  serverRowOf,
  writer,
} from "../registry.routes";
import { listEstimateOverrides, recordFeedback, setEstimateOverride } from "./analytics.feedback";
import { MAX_FEEDBACK_MINUTES } from "./analytics.feedback.rules";
import { addDays, dayOf, daysBetween, isDay, isMonth, monthOf } from "./analytics.period";
import { loadSeries, type Visibility } from "./analytics.queries";
import { monthSummary, serverTeams, summaryCsv } from "./analytics.summary";

/** Admins see every server's detail; everyone else the servers their teams own. */
export function visibilityOf(caller: Caller, env: RegistryEnv): Visibility {
  return { all: rolesOf(caller, env, undefined).has("admin"), teams: caller.kind === "user" ? caller.groups : [] };
}

const Figures = z.object({
  invocations: z.number().int(),
  activeUsers: z.number().int(),
  hoursSaved: z.object({ estimate: z.number(), effective: z.number() }),
  successRate: z.number().nullable(),
  errorRate: z.number().nullable(),
  denials: z.number().int(),
  approvals: z.object({ requested: z.number().int(), granted: z.number().int(), declined: z.number().int() }),
  latencyMs: z.object({ p50: z.number().nullable(), p95: z.number().nullable() }),
});
const Named = Figures.extend({ name: z.string() });

export const SummarySchema = Figures.extend({
  month: z.string(),
  previousMonth: z.string(),
  change: z.object({
    invocations: z.number().nullable(),
    activeUsers: z.number().nullable(),
    hoursSaved: z.number().nullable(),
  }),
  byTeam: z.array(Named),
  byGroup: z.array(Named),
  byServer: z.array(Named.extend({ team: z.string() })),
  byTool: z.array(Named.extend({ server: z.string(), tool: z.string(), team: z.string() })),
  topTools: z.array(
    z.object({ server: z.string(), tool: z.string(), hoursSaved: z.number(), invocations: z.number() }),
  ),
  detail: z.object({ allServers: z.boolean(), teams: z.array(z.string()) }),
}).openapi("AnalyticsSummary");

const SeriesSchema = z
  .object({
    period: z.enum(["day", "week", "month"]),
    from: z.string(),
    to: z.string(),
    server: z.string().optional(),
    points: z.array(
      z.object({
        start: z.string(),
        invocations: z.number().int(),
        successes: z.number().int(),
        errors: z.number().int(),
        activeUsers: z.number().int(),
        hoursSaved: z.object({ estimate: z.number(), effective: z.number() }),
      }),
    ),
  })
  .openapi("AnalyticsSeries");

const month = z
  .string()
  .refine(isMonth, "month must be YYYY-MM")
  .optional()
  .openapi({ description: "YYYY-MM (UTC); default the current month" });
const day = (what: string) => z.string().refine(isDay, `${what} must be a date YYYY-MM-DD`).optional();

/** The most periods one series answers (a day series of 3 months, a week series of a year…). */
const MAX_DAYS: Record<"day" | "week" | "month", number> = { day: 92, week: 371, month: 731 };
const DEFAULT_DAYS: Record<"day" | "week" | "month", number> = { day: 30, week: 84, month: 365 };

function readerOf(c: Parameters<typeof authenticatedCaller>[0]): Caller | Response {
  return authenticatedCaller(c) ?? problem(c, 401, "Unauthorized", "a bearer token with registry:read is required");
}

/** Declares the analytics routes on the API app (called once, by registry.api.ts). */
export function registerAnalyticsRoutes(): void {
  register(
    createRoute({
      method: "get",
      path: "/v0.1/analytics/summary",
      summary: "A month's time saved: fleet totals, by team, group, server and tool (your teams' servers), MoM",
      security: bearer,
      request: {
        query: z.object({
          month,
          server: z.string().max(64).optional().openapi({ description: "only this server's detail" }),
          format: z.enum(["json", "csv"]).default("json"),
        }),
      },
      responses: {
        200: {
          content: { "application/json": { schema: SummarySchema }, "text/csv": { schema: z.string() } },
          description: "The summary",
        },
        400: problemResponse("Bad query"),
        401: problemResponse("No valid token"),
      },
    }),
    async (c) => {
      const caller = readerOf(c);
      if (caller instanceof Response) return caller;
      const query = c.req.valid("query");
      const summary = await monthSummary(
        c.env.DB,
        query.month ?? monthOf(Date.now()),
        visibilityOf(caller, c.env),
        query.server,
      );
      if (query.format === "csv") {
        return c.body(summaryCsv(summary), 200, {
          "content-type": "text/csv; charset=utf-8",
          "content-disposition": `attachment; filename="fleet-analytics-${summary.month}.csv"`,
        });
      }
      return c.json(summary, 200);
    },
  );

  register(
    createRoute({
      method: "get",
      path: "/v0.1/analytics/series",
      summary: "Invocations, active users and hours saved per day, ISO week or month",
      security: bearer,
      request: {
        query: z.object({
          period: z.enum(["day", "week", "month"]).default("day"),
          from: day("from").openapi({ description: "first day (UTC), default: a window before `to`" }),
          to: day("to").openapi({ description: "day after the last (UTC), default tomorrow" }),
          server: z.string().max(64).optional().openapi({ description: "one server (your teams' servers)" }),
        }),
      },
      responses: {
        200: json(SeriesSchema, "The series, oldest first"),
        400: problemResponse("Bad query"),
        401: problemResponse("No valid token"),
        403: problemResponse("Not one of your teams' servers"),
      },
    }),
    async (c) => {
      const caller = readerOf(c);
      if (caller instanceof Response) return caller;
      const { period, server, ...range } = c.req.valid("query");
      const to = range.to ?? addDays(dayOf(Date.now()), 1);
      const from = range.from ?? addDays(to, -DEFAULT_DAYS[period]);
      const span = daysBetween(from, to);
      if (span <= 0 || span > MAX_DAYS[period]) {
        const message = `from must be before to, at most ${MAX_DAYS[period]} days for period=${period}`;
        return problem(c, 400, "Bad Request", message, [{ location: "query.from", message }]);
      }
      if (server) {
        const visibility = visibilityOf(caller, c.env);
        const team = (await serverTeams(c.env.DB)).get(server);
        if (!visibility.all && !(team && visibility.teams.includes(team))) {
          return problem(
            c,
            403,
            "Forbidden",
            `the detail of ${server} is for its owning team (${team ?? "unknown"}) and admins`,
          );
        }
      }
      const points = await loadSeries(c.env.DB, period, from, to, server);
      return c.json({ period, from, to, ...(server ? { server } : {}), points }, 200);
    },
  );

  register(
    createRoute({
      method: "post",
      path: "/v0.1/feedback",
      summary: "Rate one of your calls: did it help, and how many minutes did it save? (once per call; registry:write)",
      security: bearer,
      request: {
        body: {
          content: {
            "application/json": {
              schema: z.object({
                invocationId: z
                  .string()
                  .min(1)
                  .max(64)
                  .openapi({ description: "`fleet/invocationId` from the tool result's _meta" }),
                helped: z.boolean(),
                minutes: z
                  .number()
                  .min(0)
                  .max(MAX_FEEDBACK_MINUTES)
                  .optional()
                  .openapi({
                    description: `minutes it really saved (only with helped: true), at most ${MAX_FEEDBACK_MINUTES}`,
                  }),
              }),
            },
          },
          required: true,
        },
      },
      responses: {
        201: json(z.object({ invocationId: z.string(), server: z.string(), tool: z.string() }), "Recorded"),
        400: problemResponse("Bad input"),
        401: problemResponse("No valid token"),
        403: problemResponse("Not your call, or a token without registry:write (insufficient_scope)"),
        404: problemResponse("No such invocation"),
        409: problemResponse("Already rated"),
      },
    }),
    async (c) => {
      // A rating is a write: a token consented only for reading gets the step-up challenge.
      const caller = await writer(c);
      if (caller instanceof Response) return caller;
      const answer = await recordFeedback(c.env.DB, caller, c.req.valid("json"));
      if (!answer.ok) {
        if (answer.status === 400) {
          return problem(c, 400, "Bad Request", answer.reason, [{ location: "body.minutes", message: answer.reason }]);
        }
        return problem(
          c,
          answer.status,
          answer.status === 409 ? "Conflict" : answer.status === 403 ? "Forbidden" : "Not Found",
          answer.reason,
        );
      }
      const { ok: _ok, ...body } = answer;
      return c.json(body, 201);
    },
  );

  const Override = z
    .object({
      server: z.string(),
      tool: z.string(),
      minutes: z.number().nullable(),
      effectiveFrom: z.string(),
      reason: z.string(),
      setBy: z.string(),
      setAt: z.string(),
    })
    .openapi("EstimateOverride");
  const toolParams = nameParam.extend({
    tool: z
      .string()
      .min(1)
      .max(64)
      .openapi({ param: { name: "tool", in: "path" } }),
  });

  register(
    createRoute({
      method: "put",
      path: "/v0.1/servers/{name}/tools/{tool}/estimate",
      summary: "Override a tool's minutes-saved estimate (owning team or admins; history kept)",
      security: bearer,
      request: {
        params: toolParams,
        body: {
          content: {
            "application/json": {
              schema: z.object({
                minutes: z
                  .number()
                  .min(0)
                  .max(10_000)
                  .nullable()
                  .openapi({ description: "null: back to the code's estimate" }),
                effectiveFrom: z
                  .string()
                  .refine(isMonth, "effectiveFrom must be a month YYYY-MM")
                  .optional()
                  .openapi({ description: "first month (UTC) it applies to, default the current one" }),
                reason: z.string().min(1).max(500),
              }),
            },
          },
          required: true,
        },
      },
      responses: {
        200: json(Override, "Recorded"),
        400: problemResponse("Bad input"),
        401: problemResponse("No valid token"),
        403: problemResponse("Not the owning team"),
        404: problemResponse("No such server or tool"),
      },
    }),
    async (c) => {
      const caller = await writer(c);
      if (caller instanceof Response) return caller;
      const params = c.req.valid("param");
      const server = await serverRowOf(c, params.name);
      if (server instanceof Response) return server;
      const roles = rolesOf(caller, c.env, server.team);
      if (!roles.has("owner") && !roles.has("admin")) {
        return problem(
          c,
          403,
          "Forbidden",
          `only members of ${server.team} or admins may change ${server.name}'s estimates`,
        );
      }
      const known = await c.env.DB.prepare("SELECT 1 FROM tools WHERE server_name = ?1 AND name = ?2 LIMIT 1")
        .bind(server.name, params.tool)
        .first();
      if (!known) return problem(c, 404, "Not Found", `${server.name} has no tool ${params.tool}`);
      const body = c.req.valid("json");
      const override = await setEstimateOverride(c.env.DB, {
        server: server.name,
        tool: params.tool,
        minutes: body.minutes,
        effectiveFrom: `${body.effectiveFrom ?? monthOf(Date.now())}-01`,
        reason: body.reason,
        setBy: actorOf(caller),
      });
      return c.json(override, 200);
    },
  );

  register(
    createRoute({
      method: "get",
      path: "/v0.1/servers/{name}/estimates",
      summary: "The history of a server's estimate overrides, newest first",
      security: bearer,
      request: { params: nameParam },
      responses: {
        200: json(z.object({ overrides: z.array(Override) }), "History"),
        401: problemResponse("No valid token"),
        404: problemResponse("No such server"),
      },
    }),
    async (c) => {
      const caller = readerOf(c);
      if (caller instanceof Response) return caller;
      const server = await serverRowOf(c, c.req.valid("param").name);
      if (server instanceof Response) return server;
      return c.json({ overrides: await listEstimateOverrides(c.env.DB, server.name) }, 200);
    },
  );
}

/** Whether a path is one of these routes (they always go through the OAuth resource server). */
export function isAnalyticsRequest(method: string, pathname: string): boolean {
  if (method === "GET" && pathname.startsWith("/v0.1/analytics/")) return true;
  if (method === "POST" && pathname === "/v0.1/feedback") return true;
  if (method === "GET" && /^\/v0\.1\/servers\/[^/]+\/estimates$/.test(pathname)) return true;
  return method === "PUT" && /^\/v0\.1\/servers\/[^/]+\/tools\/[^/]+\/estimate$/.test(pathname);
}
