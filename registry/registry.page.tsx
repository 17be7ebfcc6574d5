/**
 * The registry page (hono/jsx): the server list at `/`, one server at `/servers/:name`, the
 * signed-in person's approvals at `/approvals` (page/page.approvals.tsx), and sign-in through the auth Worker (`/auth/signin`, `/auth/callback`, `/auth/signout`). Every
 * fact shown is read from D1 through the registry store; access answers come from the fleet's
 * one evaluation (shared/registry/access.ts). Mounted by registry.app.tsx with
 * `app.route("/", pageApp)`: middleware is attached per route so nothing leaks onto the API.
 */
import { Hono, type MiddlewareHandler } from "hono";
import { HTTPException } from "hono/http-exception";
import type { Child } from "hono/jsx";
import { LIFECYCLES, type Lifecycle } from "../shared/db/fleet.schema";
import type { AccessDecision } from "../shared/registry/access";
import { serverVerdict, toolVerdict } from "./page/page.access";
import { analyticsRoutes } from "./page/page.analytics.routes";
import { approvalRoutes } from "./page/page.approvals";
import { type HealthStatus, STATUS_LABELS } from "./page/page.format";
import { Layout, PAGE_SCRIPT_PATH, renderDocument } from "./page/page.layout";
import { type ListFilters, ListPage } from "./page/page.list";
import { PAGE_SCOPE } from "./page/page.oauth";
import { COPY_SCRIPT } from "./page/page.script";
import { ServerPage } from "./page/page.server";
import { type PageContext, type PageVariables, resolveViewer } from "./page/page.session";
import { signInRoutes } from "./page/page.signin";
import type { RegistryEnv } from "./registry.env";
import {
  getServerEntry,
  getServerRow,
  InvalidCursorError,
  isPublic,
  listHealthChecks,
  listReviews,
  listTeams,
  listVersions,
  searchServers,
} from "./registry.store";

const PAGE_SIZE = 24;
const RECENT_CHECKS = 20;

type PageEnv = { Bindings: RegistryEnv; Variables: PageVariables };

export const pageApp = new Hono<PageEnv>();

/** Resolves the signed-in viewer before a page renders. */
const withViewer: MiddlewareHandler<PageEnv> = async (c, next) => {
  await resolveViewer(c);
  await next();
};

pageApp.get("/", withViewer, async (c) => {
  const notices: string[] = [];
  const filters = readFilters(c, notices);
  const cursor = c.req.query("cursor") || undefined;
  // As the API: without registry:read, only what reviewers approved (each server's approved version).
  const detail = c.get("viewer")?.caller.scopes.includes(PAGE_SCOPE) ?? false;
  const query = { ...filters, latestOnly: detail, approvedOnly: !detail, limit: PAGE_SIZE };
  let page: Awaited<ReturnType<typeof searchServers>>;
  let isFirstPage = cursor === undefined;
  try {
    page = await searchServers(c.env.DB, { ...query, ...(cursor ? { cursor } : {}) });
  } catch (error) {
    if (!(error instanceof InvalidCursorError)) throw error;
    notices.push("That page link is no longer valid; showing the first page.");
    page = await searchServers(c.env.DB, query);
    isFirstPage = true;
  }
  const teams = await listTeams(c.env.DB);
  const viewer = c.get("viewer");
  const verdicts = new Map<string, AccessDecision>();
  if (viewer) {
    for (const entry of page.entries) {
      verdicts.set(entry.server.name, serverVerdict(entry.server, entry.tools, viewer.caller, c.env.FLEET_ENV));
    }
  }
  const title = filters.search ? `Servers matching “${filters.search}”` : "MCP servers";
  return render(
    c,
    200,
    title,
    <ListPage
      filters={filters}
      teams={teams}
      entries={page.entries}
      {...(page.nextCursor ? { nextCursor: page.nextCursor } : {})}
      isFirstPage={isFirstPage}
      namespace={c.env.REGISTRY_NAMESPACE}
      now={new Date()}
      {...(viewer ? { viewer } : {})}
      verdicts={verdicts}
    />,
    { notices },
  );
});

pageApp.get("/servers/:name", withViewer, async (c) => {
  const requested = c.req.param("name");
  const prefix = `${c.env.REGISTRY_NAMESPACE}/`;
  if (requested.startsWith(prefix)) {
    const url = new URL(c.req.url);
    return c.redirect(`/servers/${encodeURIComponent(requested.slice(prefix.length))}${url.search}`, 301);
  }
  const asked = c.req.query("version") || "latest";
  const detail = c.get("viewer")?.caller.scopes.includes(PAGE_SCOPE) ?? false;
  const row = await getServerRow(c.env.DB, requested);
  // Without registry:read, a server reviewers never approved is not there, and its approved
  // version is the only one (and the latest) there is.
  const shown = row && (detail || isPublic(row)) ? row : undefined;
  const version = !shown || detail || asked !== "latest" ? asked : (shown.approvedVersion as string);
  const entry =
    shown && (detail || version === shown.approvedVersion)
      ? await getServerEntry(c.env.DB, shown.name, version)
      : undefined;
  if (!entry) {
    const exists = version !== "latest" && shown !== undefined;
    return render(
      c,
      404,
      "Not found",
      <>
        <h1>{exists ? `No version ${version} of ${requested}` : "No such server"}</h1>
        <p>
          {exists ? (
            <a href={`/servers/${encodeURIComponent(requested)}`}>See its latest version</a>
          ) : (
            <>
              {`No server named “${requested}” is registered. `}
              <a href="/">See all servers</a>
            </>
          )}
        </p>
      </>,
    );
  }
  const name = entry.server.name;
  const [allVersions, allReviews, checks] = await Promise.all([
    listVersions(c.env.DB, name),
    listReviews(c.env.DB, name),
    listHealthChecks(c.env.DB, name, RECENT_CHECKS),
  ]);
  const approved = entry.server.approvedVersion;
  const versions = detail ? allVersions : allVersions.filter((item) => item.version.version === approved);
  const reviewHistory = detail ? allReviews : allReviews.filter((review) => review.version === approved);
  const viewer = c.get("viewer");
  const environment = c.env.FLEET_ENV;
  const verdicts = viewer
    ? {
        server: serverVerdict(entry.server, entry.tools, viewer.caller, environment),
        tools: new Map(
          entry.tools.map((tool) => [
            tool.name,
            toolVerdict(entry.server, entry.tools, tool.name, viewer.caller, environment),
          ]),
        ),
      }
    : undefined;
  return render(
    c,
    200,
    entry.version.title,
    <ServerPage
      entry={entry}
      versions={versions}
      reviewHistory={reviewHistory}
      checks={checks}
      namespace={c.env.REGISTRY_NAMESPACE}
      now={new Date()}
      {...(viewer ? { viewer } : {})}
      {...(verdicts ? { verdicts } : {})}
      detail={detail}
    />,
    { withScript: true },
  );
});

pageApp.get(PAGE_SCRIPT_PATH, (c) => {
  c.header("Content-Type", "text/javascript; charset=utf-8");
  c.header("Cache-Control", "public, max-age=300");
  c.header("X-Content-Type-Options", "nosniff");
  return c.body(COPY_SCRIPT);
});

pageApp.route("/auth", signInRoutes(render));
pageApp.route("/approvals", approvalRoutes(render));
pageApp.route("/analytics", analyticsRoutes(render));

pageApp.onError(async (error, c) => {
  if (error instanceof HTTPException) return error.getResponse();
  const reference = crypto.randomUUID();
  console.error(JSON.stringify({ page: "error", reference, path: new URL(c.req.url).pathname }), error);
  return render(
    c,
    500,
    "Something went wrong",
    <>
      <h1>Something went wrong</h1>
      <p>The page could not be shown. Try again in a moment; if it keeps failing, report the reference below.</p>
      <p class="muted">{`Reference: ${reference}`}</p>
    </>,
  );
});

/** The filters of the list, from the query; values that are not allowed are ignored with a notice. */
function readFilters(c: PageContext, notices: string[]): ListFilters {
  const text = (name: string) => c.req.query(name)?.trim() || undefined;
  const filters: ListFilters = {};
  const search = text("search");
  if (search) filters.search = search.slice(0, 200);
  const team = text("team");
  if (team) filters.team = team;
  const lifecycle = text("lifecycle");
  if (lifecycle && (LIFECYCLES as readonly string[]).includes(lifecycle)) filters.lifecycle = lifecycle as Lifecycle;
  else if (lifecycle) notices.push(`There is no lifecycle “${lifecycle}”; that filter was ignored.`);
  const status = text("status");
  if (status && status in STATUS_LABELS) filters.status = status as HealthStatus;
  else if (status) notices.push(`There is no status “${status}”; that filter was ignored.`);
  return filters;
}

export type RenderPage = typeof render;

/** A full page in the layout, with the page's security and caching headers. */
async function render(
  c: PageContext,
  status: 200 | 400 | 401 | 403 | 404 | 409 | 500 | 503,
  title: string,
  body: Child,
  options: { notices?: string[]; withScript?: boolean } = {},
): Promise<Response> {
  const viewer = c.get("viewer");
  const problem = c.get("sessionProblem");
  const url = new URL(c.req.url);
  const notices = [...(problem ? [{ text: problem }] : []), ...(options.notices ?? []).map((text) => ({ text }))];
  const html = await renderDocument(
    <Layout
      title={title}
      {...(viewer ? { viewer } : {})}
      here={url.pathname.startsWith("/auth/") ? "/" : `${url.pathname}${url.search}`}
      notices={notices}
      {...(options.withScript ? { withScript: true } : {})}
    >
      {body}
    </Layout>,
  );
  c.header("Cache-Control", "no-store");
  c.header(
    "Content-Security-Policy",
    "default-src 'none'; style-src 'unsafe-inline'; script-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
  );
  c.header("X-Content-Type-Options", "nosniff");
  c.header("Referrer-Policy", "same-origin");
  return c.html(html, status);
}
