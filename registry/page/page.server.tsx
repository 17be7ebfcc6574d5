/**
 * `/servers/:name`: one server (its latest version, or `?version=`): description, owners,
 * lifecycle, reviews, live status and recent checks, tools with their access rules, versions,
 * and how to connect each supported MCP client.
 */
import type { HealthCheckRow, ReviewRow, ToolRow } from "../../shared/db/fleet.schema";
import { REVIEW_KINDS } from "../../shared/db/fleet.schema";
import type { AccessDecision } from "../../shared/registry/access";
import { SNIPPET_CLIENTS, SNIPPET_TARGETS, snippetFor } from "../../shared/registry/client.snippets";
import { PUBLISHER_META, serverJsonSchema } from "../../shared/registry/registry.contract";
import { officialStatus } from "../registry.responses";
import type { ServerEntry } from "../registry.store";
import {
  count,
  formatDate,
  formatDay,
  listOr,
  REVIEW_KIND_LABELS,
  REVIEW_STATE_LABELS,
  servicesLabel,
} from "./page.format";
import { HealthLine, LifecycleBadge, serverPath, Verdict } from "./page.list";
import type { Viewer } from "./page.session";

export interface ServerView {
  entry: ServerEntry;
  versions: ServerEntry[];
  reviewHistory: ReviewRow[];
  checks: HealthCheckRow[];
  namespace: string;
  now: Date;
  viewer?: Viewer;
  /** The viewer's answer for the server and for each tool (by name), when signed in. */
  verdicts?: { server: AccessDecision; tools: Map<string, AccessDecision> };
  /**
   * Whether to show what only signed-in readers (registry:read) see: on-call, reviewer names,
   * review notes, and what the health probe ran into (HTTP status, errors).
   */
  detail: boolean;
}

export function ServerPage(view: ServerView) {
  const { entry, namespace } = view;
  const { server, version } = entry;
  const document = parseDocument(entry.version.document);
  return (
    <>
      <p>
        <a href="/">← All servers</a>
      </p>
      <h1>{version.title}</h1>
      <p class="meta-line">
        <code>{`${namespace}/${server.name}`}</code>
        <LifecycleBadge lifecycle={server.lifecycle} />
        <span>
          Version {version.version}
          {version.isLatest ? " (latest)" : null}
        </span>
      </p>
      <p class="lede">{version.description}</p>
      {version.isLatest ? null : (
        <p class="notice">
          {`You are looking at version ${version.version}. `}
          <a href={serverPath(server.name)}>See the latest version</a>
        </p>
      )}
      {view.verdicts ? <Verdict decision={view.verdicts.server} subject="server" /> : <SignInHint />}

      <section aria-labelledby="connect">
        <h2 id="connect">Connect</h2>
        <Connect name={server.name} remotes={document.remotes} />
      </section>

      <section aria-labelledby="owners">
        <h2 id="owners">Owners and governance</h2>
        <dl class="facts">
          <dt>Team</dt>
          <dd>{server.team}</dd>
          <dt>Support channel</dt>
          <dd>{view.detail ? server.supportChannel : (document.supportChannel ?? server.supportChannel)}</dd>
          <dt>On-call</dt>
          <dd>{view.detail ? server.onCall : <SignInToSee />}</dd>
          <dt>Lifecycle</dt>
          <dd>
            <LifecycleBadge lifecycle={server.lifecycle} />
            {` since ${formatDate(server.lifecycleChangedAt)}`}
          </dd>
          <dt>Environments</dt>
          <dd>{listOr(server.environments, "none")}</dd>
          <dt>Groups allowed</dt>
          <dd>{listOr(server.allowedGroups, "every signed-in user")}</dd>
          <dt>Services allowed</dt>
          <dd>{servicesLabel(server.allowedServices)}</dd>
          {document.websiteUrl ? (
            <>
              <dt>Website</dt>
              <dd>
                <a href={document.websiteUrl}>{document.websiteUrl}</a>
              </dd>
            </>
          ) : null}
          {document.repository ? (
            <>
              <dt>Source</dt>
              <dd>
                <a href={document.repository.url}>{document.repository.url}</a>
              </dd>
            </>
          ) : null}
        </dl>
      </section>

      <section aria-labelledby="reviews">
        <h2 id="reviews">Reviews</h2>
        <Reviews entry={entry} history={view.reviewHistory} detail={view.detail} />
      </section>

      <section aria-labelledby="status">
        <h2 id="status">Live status</h2>
        <p>
          <HealthLine server={server} now={view.now} />
        </p>
        {view.detail && server.healthError ? <p>{`Last error: ${server.healthError}`}</p> : null}
        <Checks checks={view.checks} detail={view.detail} />
      </section>

      <section aria-labelledby="tools">
        <h2 id="tools">{`Tools (${entry.tools.length})`}</h2>
        <Tools tools={entry.tools} verdicts={view.verdicts} />
      </section>

      <section aria-labelledby="versions">
        <h2 id="versions">Versions</h2>
        <Versions versions={view.versions} shown={version.version} />
      </section>
    </>
  );
}

function SignInHint() {
  return <p class="muted">Sign in to see whether you can use this server and each of its tools.</p>;
}

/** In place of what only signed-in readers see. */
function SignInToSee() {
  return <span class="muted">sign in to see</span>;
}

type Remotes = NonNullable<ReturnType<typeof parseDocument>["remotes"]>;

function Connect({ name, remotes }: { name: string; remotes: Remotes }) {
  const endpoint = remotes.find((remote) => remote.type === "streamable-http");
  if (!endpoint) {
    return (
      <p>
        This version publishes no streamable HTTP endpoint
        {remotes.length > 0 ? `; it lists ${remotes.map((remote) => `${remote.type} ${remote.url}`).join(", ")}.` : "."}
      </p>
    );
  }
  return (
    <>
      <p>
        Endpoint: <code>{endpoint.url}</code>. Your client signs you in through the fleet's sign-in the first time it
        connects.
      </p>
      <div class="snippets">
        {SNIPPET_CLIENTS.map((client) => {
          const id = `snippet-${client}`;
          const target = SNIPPET_TARGETS[client];
          return (
            <div class="snippet">
              <h3 id={`${id}-heading`}>{target.label}</h3>
              <p class="muted">{target.where}</p>
              <pre tabindex={0}>
                <code id={id}>{snippetFor(client, name, endpoint.url)}</code>
              </pre>
              <button type="button" class="secondary" data-copy={id} hidden>
                {`Copy ${target.label} snippet`}
              </button>
              <span class="copy-status" id={`${id}-status`} role="status" aria-live="polite" />
            </div>
          );
        })}
      </div>
    </>
  );
}

function Reviews({ entry, history, detail }: { entry: ServerEntry; history: ReviewRow[]; detail: boolean }) {
  return (
    <>
      <div class="table-wrap">
        <table class="stack">
          <caption>Current review per area</caption>
          <thead>
            <tr>
              <th scope="col">Area</th>
              <th scope="col">State</th>
              <th scope="col">Reviewer</th>
              <th scope="col">Date</th>
              <th scope="col">Notes</th>
            </tr>
          </thead>
          <tbody>
            {REVIEW_KINDS.map((kind) => {
              const review = entry.reviews[kind];
              return (
                <tr>
                  <th scope="row">{REVIEW_KIND_LABELS[kind]}</th>
                  {review ? (
                    <>
                      <td data-label="State">
                        <span class={`badge rv-${review.state}`}>{REVIEW_STATE_LABELS[review.state]}</span>
                        {review.version !== entry.version.version ? (
                          <span class="muted">{` (of ${review.version})`}</span>
                        ) : null}
                      </td>
                      <td data-label="Reviewer">{detail ? review.reviewer : <SignInToSee />}</td>
                      <td data-label="Date">
                        <time datetime={review.at.toISOString()}>{formatDay(review.at)}</time>
                      </td>
                      <td data-label="Notes">{detail ? review.notes || "—" : <SignInToSee />}</td>
                    </>
                  ) : (
                    <>
                      <td data-label="State">
                        <span class="badge rv-none">Not reviewed</span>
                      </td>
                      <td data-label="Reviewer">—</td>
                      <td data-label="Date">—</td>
                      <td data-label="Notes">—</td>
                    </>
                  )}
                </tr>
              );
            })}
          </tbody>
        </table>
      </div>
      {history.length > REVIEW_KINDS.filter((kind) => entry.reviews[kind]).length ? (
        <details>
          <summary>{`Review history (${count(history.length, "record")})`}</summary>
          <div class="table-wrap">
            <table class="stack">
              <caption>Every review record, newest first</caption>
              <thead>
                <tr>
                  <th scope="col">Date</th>
                  <th scope="col">Area</th>
                  <th scope="col">State</th>
                  <th scope="col">Reviewer</th>
                  <th scope="col">Version</th>
                  <th scope="col">Notes</th>
                </tr>
              </thead>
              <tbody>
                {history.map((review) => (
                  <tr>
                    <td data-label="Date">
                      <time datetime={review.at.toISOString()}>{formatDate(review.at)}</time>
                    </td>
                    <td data-label="Area">{REVIEW_KIND_LABELS[review.kind]}</td>
                    <td data-label="State">{REVIEW_STATE_LABELS[review.state]}</td>
                    <td data-label="Reviewer">{detail ? review.reviewer : <SignInToSee />}</td>
                    <td data-label="Version">{review.version}</td>
                    <td data-label="Notes">{detail ? review.notes || "—" : <SignInToSee />}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </details>
      ) : null}
    </>
  );
}

function Checks({ checks, detail }: { checks: HealthCheckRow[]; detail: boolean }) {
  if (checks.length === 0) return <p class="muted">No health checks recorded yet.</p>;
  return (
    <div class="table-wrap">
      <table class="stack">
        <caption>{`Recent checks (last ${count(checks.length, "check")}, newest first)`}</caption>
        <thead>
          <tr>
            <th scope="col">When</th>
            <th scope="col">Result</th>
            <th scope="col">Latency</th>
            {detail ? <th scope="col">Detail</th> : null}
          </tr>
        </thead>
        <tbody>
          {checks.map((check) => (
            <tr>
              <td data-label="When">
                <time datetime={check.at.toISOString()}>{formatDate(check.at)}</time>
              </td>
              <td data-label="Result">
                <span class={`badge st-${check.up ? "up" : "down"}`}>{check.up ? "Up" : "Down"}</span>
              </td>
              <td data-label="Latency">{`${check.latencyMs} ms`}</td>
              {detail ? (
                <td data-label="Detail">
                  {[check.httpStatus === null ? undefined : `HTTP ${check.httpStatus}`, check.error ?? undefined]
                    .filter(Boolean)
                    .join(" · ") || "—"}
                </td>
              ) : null}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function Tools({ tools, verdicts }: { tools: ToolRow[]; verdicts: ServerView["verdicts"] }) {
  if (tools.length === 0) return <p>This version declares no tools.</p>;
  const serverRefused = verdicts && !verdicts.server.allowed;
  return (
    <>
      {serverRefused ? <p class="muted">You cannot use this server (see above), so none of its tools either.</p> : null}
      <ul class="tools">
        {tools.map((tool) => {
          const verdict = verdicts && !serverRefused ? verdicts.tools.get(tool.name) : undefined;
          return (
            <li>
              <article class="card" aria-labelledby={`tool-${tool.name}`}>
                <h3 id={`tool-${tool.name}`}>
                  <code>{tool.name}</code>
                </h3>
                <p>{tool.description}</p>
                <ToolTags tool={tool} />
                <dl class="facts">
                  <dt>Groups</dt>
                  <dd>{listOr(tool.access.groups, "anyone allowed on the server")}</dd>
                  <dt>Scopes</dt>
                  <dd>{listOr(tool.access.scopes, "none")}</dd>
                  <dt>Services</dt>
                  <dd>{servicesLabel(tool.access.services)}</dd>
                  <dt>Minutes saved</dt>
                  <dd>{`${tool.minutesSaved} per call (owner's estimate)`}</dd>
                </dl>
                {verdict ? <Verdict decision={verdict} subject="tool" needsApproval={tool.needsApproval} /> : null}
              </article>
            </li>
          );
        })}
      </ul>
    </>
  );
}

function ToolTags({ tool }: { tool: ToolRow }) {
  const hints = tool.annotations;
  const tags: { text: string; kind?: string }[] = [];
  if (hints.readOnlyHint === true) tags.push({ text: "Read-only" });
  if (hints.destructiveHint === true) tags.push({ text: "Destructive", kind: "destructive" });
  if (hints.idempotentHint === true) tags.push({ text: "Idempotent" });
  if (hints.openWorldHint === true) tags.push({ text: "Reaches outside systems" });
  if (tool.needsApproval) tags.push({ text: "Needs approval", kind: "approval" });
  if (tags.length === 0) return null;
  return (
    <ul class="tags" aria-label="Properties">
      {tags.map((tag) => (
        <li class={tag.kind ? `tag ${tag.kind}` : "tag"}>{tag.text}</li>
      ))}
    </ul>
  );
}

function Versions({ versions, shown }: { versions: ServerEntry[]; shown: string }) {
  return (
    <div class="table-wrap">
      <table class="stack">
        <caption>{`${count(versions.length, "version")}, newest first`}</caption>
        <thead>
          <tr>
            <th scope="col">Version</th>
            <th scope="col">Published</th>
            <th scope="col">By</th>
            <th scope="col">Status</th>
          </tr>
        </thead>
        <tbody>
          {versions.map((entry) => {
            const { version } = entry;
            return (
              <tr>
                <th scope="row">
                  {version.version === shown ? (
                    <span aria-current="page">{`${version.version} (shown)`}</span>
                  ) : (
                    <a href={serverPath(entry.server.name, version.version)}>{version.version}</a>
                  )}
                </th>
                <td data-label="Published">
                  <time datetime={version.publishedAt.toISOString()}>{formatDate(version.publishedAt)}</time>
                </td>
                <td data-label="By">{version.publishedBy}</td>
                <td data-label="Status">
                  {officialStatus(entry)}
                  {version.isLatest ? ", latest" : ""}
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}

/** The parts of the published server.json the page shows (it was validated when published). */
function parseDocument(document: Record<string, unknown>) {
  const shape = serverJsonSchema.shape;
  const remotes = shape.remotes.safeParse(document.remotes);
  const websiteUrl = shape.websiteUrl.safeParse(document.websiteUrl);
  const repository = shape.repository.safeParse(document.repository);
  // The support channel this version published (the server row carries the latest version's).
  const meta = document._meta as Record<string, { supportChannel?: unknown } | undefined> | undefined;
  const channel = meta?.[PUBLISHER_META]?.supportChannel;
  return {
    supportChannel: typeof channel === "string" ? channel : undefined,
    remotes: remotes.success ? remotes.data : [],
    websiteUrl: websiteUrl.success ? webLink(websiteUrl.data) : undefined,
    repository: repository.success && repository.data && webLink(repository.data.url) ? repository.data : undefined,
  };
}

/** Only http(s) links are rendered as links: a published URL may use any scheme (javascript: too). */
function webLink(url: string | undefined): string | undefined {
  return url && /^https?:$/.test(new URL(url).protocol) ? url : undefined;
}
