/**
 * The registry's own MCP tools: find servers, read one in full, and ask "may I use it?".
 * They read the registry's D1 directly; answers are compact markdown an agent can act on.
 *
 * By default an agent reads only what reviewers approved: each server at its approved version
 * (its title, description, tools, support channel). Drafts, servers in review that were never
 * approved, and newer versions in review are left out unless the agent asks
 * (`includeUnapproved: true`), and then marked: anyone in a group may publish a server, and its
 * words would otherwise land unreviewed in an agent's context (a prompt-injection path).
 */
import { z } from "zod";
import { LIFECYCLES, type ServiceRule, type ToolRow } from "../shared/db/fleet.schema";
import { BadArgumentError, toolsFor } from "../shared/mcp";
import { PUBLISHER_META, preferredRemote, type ServerJson } from "../shared/registry/registry.contract";
import { feedbackTool } from "./analytics/analytics.tool";
import { answerAccess } from "./registry.access";
import { shortName } from "./registry.api";
import { healthOf, officialStatus } from "./registry.responses";
import {
  getServedEntry,
  getServerEntry,
  isPublic,
  type ServerEntry,
  searchServers,
  versionInReview,
} from "./registry.store";

/** What the tools work with: this registry's database and settings. */
export interface RegistryUpstreams {
  db: D1Database;
  /** The environment access answers are given for (FLEET_ENV). */
  environment: string;
  /** Namespace of full server names (REGISTRY_NAMESPACE). */
  namespace: string;
}

const defineTool = toolsFor<RegistryUpstreams>();

const READ = { scopes: ["registry:read"], services: true } as const;
/** After the title of text reviewers have not approved, when the agent asked for it. */
const UNREVIEWED_MARK = " [UNREVIEWED: its publisher's words, not approved by reviewers]";
const includeUnapproved = z
  .boolean()
  .default(false)
  .describe(
    "Also show what reviewers have not approved (drafts, servers in review, newer versions in review): " +
      "its text is unreviewed, written by whoever published it",
  );
const serverName = z
  .string()
  .trim()
  .min(1)
  .max(200)
  .describe("The server's short name (presto) or full name (com.example.mcp-fleet/presto)");

export const searchServersTool = defineTool({
  name: "registry_search_servers",
  description:
    "Find MCP servers in the fleet's registry by words in their name, title or description, optionally " +
    "filtered by owning team, lifecycle or live status. Lists each match's lifecycle, status, connection URL and tools.",
  input: {
    query: z
      .string()
      .trim()
      .max(200)
      .default("")
      .describe("Words that must all appear in the name, title or description (case-insensitive); empty lists all"),
    team: z.string().trim().min(1).max(64).optional().describe("Only servers owned by this team (e.g. data-eng)"),
    lifecycle: z.enum(LIFECYCLES).optional().describe("Only servers at this lifecycle stage (approved: usable)"),
    status: z.enum(["up", "down", "unknown"]).optional().describe("Only servers whose last health probe says this"),
    limit: z.number().int().min(1).max(50).default(10).describe("Most servers to list"),
    includeUnapproved,
  },
  annotations: { readOnlyHint: true, openWorldHint: false },
  access: READ,
  minutesSaved: 3,
  async run({ query, team, lifecycle, status, limit, includeUnapproved }, ctx) {
    if ((lifecycle === "draft" || lifecycle === "in_review") && !includeUnapproved) {
      return (
        `Servers ${lifecycle === "draft" ? "in draft" : "in review"} are left out unless you ask for them: ` +
        "their text is not approved by reviewers. Call again with includeUnapproved: true."
      );
    }
    const words = query.split(/\s+/).filter(Boolean);
    const { entries, nextCursor } = await searchServers(ctx.upstream.db, {
      words,
      team,
      lifecycle,
      status,
      // By default each server at its approved version; asked, every server at its latest.
      approvedOnly: !includeUnapproved,
      latestOnly: includeUnapproved,
      limit,
    });
    const filters = [
      words.length ? `matching "${words.join(" ")}"` : "",
      team ? `owned by ${team}` : "",
      lifecycle ? `${lifecycle.replace("_", " ")}` : "",
      status ? `status ${status}` : "",
    ].filter(Boolean);
    const scope = filters.length ? ` ${filters.join(", ")}` : "";
    const drafts = includeUnapproved
      ? ""
      : " (what reviewers have not approved is left out: includeUnapproved: true to see it)";
    if (entries.length === 0) return `No servers${scope}${drafts}. Try fewer or shorter words, or no filters.`;
    const blocks = entries.map((entry) => {
      const { server, version } = entry;
      return [
        `### ${server.name}: ${version.title}${markOf(entry)}`,
        version.description,
        `- lifecycle: ${server.lifecycle} · registry status: ${officialStatus(entry)} · live: ${describeHealth(entry)}`,
        `- connect: ${remoteOf(entry) ?? "(no remote published)"} · version ${version.version}${inReviewNote(entry)} · team ${server.team}`,
        `- tools: ${entry.tools.map((tool) => tool.name).join(", ") || "(none)"}`,
      ].join("\n");
    });
    const more = nextCursor ? "\n\nMore servers match: raise `limit` (up to 50) or narrow the query." : "";
    const found = `${entries.length} server${entries.length === 1 ? "" : "s"}${scope}`;
    return `${found}:\n\n${blocks.join("\n\n")}${more}`;
  },
});

export const getServerTool = defineTool({
  name: "registry_get_server",
  description:
    "Everything the registry knows about one server: owner and support, lifecycle and reviews, live status, " +
    "connection URL, who may use it, and each tool with its access rules and whether it needs a human's approval.",
  input: { name: serverName, includeUnapproved },
  annotations: { readOnlyHint: true, openWorldHint: false },
  access: READ,
  minutesSaved: 5,
  async run({ name, includeUnapproved }, ctx) {
    const entry = await findServer(name, ctx.upstream, includeUnapproved);
    if (!entry) {
      return (
        `reviewers have not approved any version of ${name} (it is not usable), and its text (title, description, ` +
        "tools) is unreviewed words of its publisher, so it is not shown. Call again with includeUnapproved: true to read it."
      );
    }
    const { server, version, reviews } = entry;
    const published = version.publishedAt.toISOString();
    const which = version.version === server.approvedVersion ? "approved" : version.isLatest ? "latest" : "shown";
    const lines = [
      `# ${version.title} (${server.name})${markOf(entry)}`,
      version.description,
      "",
      `- full name: ${ctx.upstream.namespace}/${server.name}`,
      `- version: ${version.version} (${which}; published ${published} by ${version.publishedBy})${inReviewNote(entry)}`,
      `- lifecycle: ${server.lifecycle} since ${server.lifecycleChangedAt.toISOString()} · registry status: ${officialStatus(entry)}`,
      `- live status: ${describeHealth(entry)}`,
      `- connect: ${remoteOf(entry) ?? "(no remote published)"}`,
      `- owner: team ${server.team} · support ${publisherOf(entry).supportChannel} · on call ${publisherOf(entry).onCall}`,
      `- approved environments: ${server.environments.join(", ") || "(none)"}`,
      `- who may use it: ${server.allowedGroups.length ? `groups ${server.allowedGroups.join(", ")}` : "every signed-in user"}; services: ${describeServices(server.allowedServices)}`,
      "",
      `## Tools (${entry.tools.length})`,
      ...(entry.tools.length ? entry.tools.map(describeTool) : ["(none published)"]),
      "",
      "## Reviews",
      ...Object.entries(reviews).map(([kind, review]) =>
        review
          ? `- ${kind}: ${review.state.replace("_", " ")} by ${review.reviewer} at ${review.at.toISOString()} (version ${review.version})${review.notes ? `: ${review.notes}` : ""}`
          : `- ${kind}: not reviewed yet`,
      ),
    ];
    return lines.join("\n");
  },
});

export const checkAccessTool = defineTool({
  name: "registry_check_access",
  description:
    "May I (the caller of this session) use this server, and this tool? Answers allowed, or denied with the " +
    "reason (not approved, deprecated, not in an allowed group, ...), for this fleet's environment.",
  input: {
    server: serverName,
    tool: z
      .string()
      .trim()
      .min(1)
      .max(64)
      .optional()
      .describe("One of the server's tools (e.g. presto_run_query); omit to ask about the server"),
  },
  annotations: { readOnlyHint: true, openWorldHint: false },
  access: READ,
  minutesSaved: 10,
  async run({ server: asked, tool }, ctx) {
    const { db, environment, namespace } = ctx.upstream;
    const name = shortName(asked, { REGISTRY_NAMESPACE: namespace });
    // This session's token is for the registry: the domain server's scopes are listed, not evaluated.
    const { answer, decision, served } = await answerAccess(db, ctx.caller, {
      server: name ?? asked,
      known: name !== undefined,
      tool,
      environment,
      evaluateScopes: false,
    });
    const { caller } = ctx;
    const who =
      caller.kind === "service"
        ? `service ${caller.name}`
        : `${caller.name} (groups: ${caller.groups.join(", ") || "none"})`;
    const target = `${tool ? `${tool} on ` : ""}the ${name ?? asked} server`;
    if (decision.allowed) {
      const scopes = decision.scopesNeeded.length
        ? ` Your token for that server needs the scope ${decision.scopesNeeded.join(" ")}.`
        : "";
      return {
        text: `Allowed: ${who} may use ${target} in ${environment}.${scopes}`,
        structured: answer,
      };
    }
    // Only a support channel reviewers approved (the approved version's) is passed on.
    const help =
      served && isPublic(served.server) && served.version.version === served.server.approvedVersion
        ? ` To ask for access: ${publisherOf(served).supportChannel} (team ${served.server.team}).`
        : "";
    return {
      text: `Denied (${decision.code}): ${who} may not use ${target} in ${environment}: ${decision.reason}.${help}`,
      structured: answer,
    };
  },
});

export const registryTools = [searchServersTool, getServerTool, checkAccessTool, feedbackTool];

/**
 * The server's approved version (or, `includeUnapproved`, its latest); undefined when reviewers
 * never approved one and the agent did not ask for unapproved text.
 */
async function findServer(
  asked: string,
  upstream: RegistryUpstreams,
  includeUnapproved: boolean,
): Promise<ServerEntry | undefined> {
  const name = shortName(asked, { REGISTRY_NAMESPACE: upstream.namespace });
  const entry = name
    ? await (includeUnapproved ? getServerEntry(upstream.db, name, "latest") : getServedEntry(upstream.db, name))
    : undefined;
  if (!entry) {
    throw new BadArgumentError(
      "name",
      `no server "${asked}" is registered in this registry; find servers with registry_search_servers`,
    );
  }
  if (!includeUnapproved && entry.version.version !== entry.server.approvedVersion) return undefined;
  return entry;
}

/** The mark after the title of a version reviewers have not approved. */
function markOf(entry: ServerEntry): string {
  return entry.version.version === entry.server.approvedVersion ? "" : UNREVIEWED_MARK;
}

/** Names (only names) the version waiting for reviewers, when it is not the one shown. */
function inReviewNote(entry: ServerEntry): string {
  const next = versionInReview(entry.server);
  return next && next !== entry.version.version ? ` · version ${next} is in review` : "";
}

/** Support channel and on-call as this version published them (the server row has the latest's). */
function publisherOf(entry: ServerEntry): { supportChannel: string; onCall: string } {
  const meta = (entry.version.document as Partial<ServerJson>)._meta?.[PUBLISHER_META];
  return {
    supportChannel: meta?.supportChannel ?? entry.server.supportChannel,
    onCall: meta?.onCall ?? entry.server.onCall,
  };
}

function remoteOf(entry: ServerEntry): string | undefined {
  const remote = preferredRemote(entry.version.document as Partial<ServerJson>);
  return remote && (remote.type === "sse" ? `${remote.url} (legacy SSE)` : remote.url);
}

function describeHealth(entry: ServerEntry): string {
  const health = healthOf(entry, true);
  if (health.status === "unknown") return "unknown (not probed yet)";
  const latency = health.latencyMs === undefined ? "" : `, ${health.latencyMs} ms`;
  const error = health.error ? `: ${health.error}` : "";
  return `${health.status}${error} (checked ${health.checkedAt}${latency})`;
}

function describeServices(rule: ServiceRule | undefined): string {
  if (rule === true) return "any registered service";
  if (!rule || rule.length === 0) return "none";
  return rule.join(", ");
}

function describeTool(tool: ToolRow): string {
  const { annotations, access } = tool;
  const kind = annotations.readOnlyHint ? "read-only" : annotations.destructiveHint ? "destructive" : "changes things";
  const rules = [
    kind,
    `scopes: ${access.scopes?.join(" ") || "none"}`,
    `groups: ${access.groups?.join(", ") || "any allowed user"}`,
    `services: ${describeServices(access.services)}`,
    tool.needsApproval ? "needs a human's approval per call" : "no approval needed",
    `saves ~${tool.minutesSaved} min per call`,
  ];
  return `- ${tool.name}: ${tool.description}\n  ${rules.join(" · ")}`;
}
