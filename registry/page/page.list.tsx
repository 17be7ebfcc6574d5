/**
 * `/`: the servers of the registry, searchable and filterable with a plain GET form (no script
 * needed), one card per server (its latest version), keyset pagination through the store's cursor.
 */
import type { ServerRow } from "../../shared/db/fleet.schema";
import { LIFECYCLES, type Lifecycle } from "../../shared/db/fleet.schema";
import type { AccessDecision } from "../../shared/registry/access";
import { healthOf } from "../registry.responses";
import type { ServerEntry } from "../registry.store";
import { count, formatDate, type HealthStatus, LIFECYCLE_LABELS, STATUS_LABELS, timeAgo } from "./page.format";
import type { Viewer } from "./page.session";

export interface ListFilters {
  search?: string;
  team?: string;
  lifecycle?: Lifecycle;
  status?: HealthStatus;
}

export interface ListView {
  filters: ListFilters;
  teams: string[];
  entries: ServerEntry[];
  nextCursor?: string;
  isFirstPage: boolean;
  namespace: string;
  now: Date;
  viewer?: Viewer;
  /** Server name → what the viewer may do, when signed in. */
  verdicts: Map<string, AccessDecision>;
}

export function ListPage(view: ListView) {
  const filtered = Object.values(view.filters).some((value) => value !== undefined);
  return (
    <>
      <h1>MCP servers</h1>
      <p class="lede">
        Every MCP server of the fleet: who owns it, whether it is reviewed and approved, whether it is up, and what its
        tools do.
      </p>
      <Filters filters={view.filters} teams={view.teams} />
      <section aria-labelledby="results-heading">
        <h2 id="results-heading">{filtered ? "Matching servers" : "All servers"}</h2>
        {view.entries.length === 0 ? (
          <EmptyState filtered={filtered} isFirstPage={view.isFirstPage} />
        ) : (
          <>
            <p class="muted" role="status">
              {`Showing ${count(view.entries.length, "server")}${view.isFirstPage ? "" : " (a later page)"}${view.nextCursor ? "; more on the next page" : ""}.`}
            </p>
            <ul class="cards">
              {view.entries.map((entry) => (
                <li>
                  <ServerCard
                    entry={entry}
                    namespace={view.namespace}
                    now={view.now}
                    verdict={view.viewer ? view.verdicts.get(entry.server.name) : undefined}
                  />
                </li>
              ))}
            </ul>
          </>
        )}
        <Pagination filters={view.filters} nextCursor={view.nextCursor} isFirstPage={view.isFirstPage} />
      </section>
    </>
  );
}

function Filters({ filters, teams }: { filters: ListFilters; teams: string[] }) {
  return (
    <search>
      <form class="filters" method="get" action="/" aria-labelledby="filters-heading">
        <h2 id="filters-heading" class="visually-hidden">
          Search and filter
        </h2>
        <div class="field search">
          <label for="search">Search name, title or description</label>
          <input id="search" type="search" name="search" value={filters.search ?? ""} maxlength={200} />
        </div>
        <div class="field">
          <label for="team">Team</label>
          <select id="team" name="team">
            <option value="">All teams</option>
            {teams.map((team) => (
              <option value={team} selected={filters.team === team}>
                {team}
              </option>
            ))}
          </select>
        </div>
        <div class="field">
          <label for="lifecycle">Lifecycle</label>
          <select id="lifecycle" name="lifecycle">
            <option value="">Any lifecycle</option>
            {LIFECYCLES.map((lifecycle) => (
              <option value={lifecycle} selected={filters.lifecycle === lifecycle}>
                {LIFECYCLE_LABELS[lifecycle]}
              </option>
            ))}
          </select>
        </div>
        <div class="field">
          <label for="status">Status</label>
          <select id="status" name="status">
            <option value="">Any status</option>
            {(Object.keys(STATUS_LABELS) as HealthStatus[]).map((status) => (
              <option value={status} selected={filters.status === status}>
                {STATUS_LABELS[status]}
              </option>
            ))}
          </select>
        </div>
        <div class="actions">
          <button type="submit">Search</button>
          <a href="/">Clear filters</a>
        </div>
      </form>
    </search>
  );
}

function EmptyState({ filtered, isFirstPage }: { filtered: boolean; isFirstPage: boolean }) {
  if (!isFirstPage) {
    return (
      <p>
        No more servers. <a href="/">Back to the first page</a>
      </p>
    );
  }
  if (filtered) {
    return (
      <p>
        No server matches these filters. <a href="/">Show all servers</a>
      </p>
    );
  }
  return (
    <p>
      No servers are registered yet. A server appears here once its team (or the deployment pipeline) publishes it to{" "}
      <code>POST /v0.1/publish</code>.
    </p>
  );
}

export function ServerCard({
  entry,
  namespace,
  now,
  verdict,
}: {
  entry: ServerEntry;
  namespace: string;
  now: Date;
  verdict: AccessDecision | undefined;
}) {
  const { server, version } = entry;
  const headingId = `server-${server.name}`;
  return (
    <article class="card" aria-labelledby={headingId}>
      <h3 id={headingId}>
        <a href={serverPath(server.name)}>{version.title}</a>
      </h3>
      <p>
        <code>{`${namespace}/${server.name}`}</code>
      </p>
      <p>{version.description}</p>
      <dl class="facts">
        <dt>Team</dt>
        <dd>{server.team}</dd>
        <dt>Lifecycle</dt>
        <dd>
          <LifecycleBadge lifecycle={server.lifecycle} />
        </dd>
        <dt>Status</dt>
        <dd>
          <HealthLine server={server} now={now} />
        </dd>
        <dt>Version</dt>
        <dd>{version.version}</dd>
        <dt>Tools</dt>
        <dd>{entry.tools.length}</dd>
      </dl>
      {verdict ? <Verdict decision={verdict} subject="server" /> : null}
    </article>
  );
}

export function serverPath(name: string, version?: string): string {
  return `/servers/${encodeURIComponent(name)}${version ? `?version=${encodeURIComponent(version)}` : ""}`;
}

export function LifecycleBadge({ lifecycle }: { lifecycle: Lifecycle }) {
  return <span class={`badge lc-${lifecycle}`}>{LIFECYCLE_LABELS[lifecycle]}</span>;
}

/** "Up · 42 ms · checked 3 min ago" (the last probe), or "Unknown · not checked yet". */
export function HealthLine({ server, now }: { server: ServerRow; now: Date }) {
  const health = healthOf({ server }, false);
  const checkedAt = health.checkedAt ? new Date(health.checkedAt) : undefined;
  return (
    <span>
      <span class={`badge st-${health.status}`}>{STATUS_LABELS[health.status]}</span>
      {health.latencyMs !== undefined ? ` · ${health.latencyMs} ms` : null}
      {checkedAt ? (
        <>
          {" · checked "}
          <time datetime={checkedAt.toISOString()} title={formatDate(checkedAt)}>
            {timeAgo(checkedAt, now)}
          </time>
        </>
      ) : (
        " · not checked yet"
      )}
    </span>
  );
}

/** What the signed-in viewer may do with a server or tool, and why not. */
export function Verdict({
  decision,
  subject,
  needsApproval = false,
}: {
  decision: AccessDecision;
  subject: "server" | "tool";
  needsApproval?: boolean;
}) {
  if (decision.allowed) {
    const notes = [
      ...(decision.scopesNeeded.length > 0 ? [`your MCP client will ask for ${decision.scopesNeeded.join(", ")}`] : []),
      ...(needsApproval ? ["you confirm each call"] : []),
    ];
    return (
      <p class="verdict yes">
        {`You can use this ${subject}`}
        {notes.length > 0 ? <span class="why">{` (${notes.join("; ")})`}</span> : null}
      </p>
    );
  }
  return (
    <p class="verdict no">
      {"Not for you: "}
      <span class="why">{decision.reason}</span>
    </p>
  );
}

function Pagination({
  filters,
  nextCursor,
  isFirstPage,
}: {
  filters: ListFilters;
  nextCursor: string | undefined;
  isFirstPage: boolean;
}) {
  if (!nextCursor && isFirstPage) return null;
  return (
    <nav class="pages" aria-label="Pages">
      {isFirstPage ? null : <a href={listPath(filters)}>First page</a>}
      {nextCursor ? (
        <a href={listPath(filters, nextCursor)} rel="next">
          Next page
        </a>
      ) : null}
    </nav>
  );
}

export function listPath(filters: ListFilters, cursor?: string): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(filters)) if (value) params.set(key, value);
  if (cursor) params.set("cursor", cursor);
  const query = params.toString();
  return query ? `/?${query}` : "/";
}
