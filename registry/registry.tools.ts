/**
 * The registry's own MCP tools: find servers, read one in full, and ask "may I use it?".
 * They read the registry's D1 directly; answers are compact markdown an agent can act on.
 *
 * Drafts are left out unless the agent asks for them (`includeDrafts: true`): anyone in a group
 * may publish a draft, and its title, description and tool texts are unreviewed words of its
 * publisher that would otherwise land in an agent's context (a prompt-injection path).
 */
import { z } from "zod";
import { LIFECYCLES, type ServiceRule, type ToolRow } from "../shared/db/fleet.schema";
import { BadArgumentError, toolsFor } from "../shared/mcp";
import { preferredRemote, type ServerJson } from "../shared/registry/registry.contract";
import { feedbackTool } from "./analytics/analytics.tool";
import { answerAccess } from "./registry.access";
import { shortName } from "./registry.api";
import { healthOf, officialStatus } from "./registry.responses";
import { getServerEntry, type ServerEntry, searchServers } from "./registry.store";

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
/** After a draft's title, when the agent asked for drafts. */
const DRAFT_MARK = " [DRAFT: unreviewed text from its publisher]";
const includeDrafts = z
  .boolean()
  .default(false)
  .describe("Also show draft servers: their text is unreviewed, written by whoever published them");
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
    includeDrafts,
  },
  annotations: { readOnlyHint: true, openWorldHint: false },
  access: READ,
  minutesSaved: 3,
  async run({ query, team, lifecycle, status, limit, includeDrafts }, ctx) {
    if (lifecycle === "draft" && !includeDrafts) {
      return "Drafts are left out unless you ask for them: their text is unreviewed. Call again with includeDrafts: true.";
    }
    const words = query.split(/\s+/).filter(Boolean);
    const { entries, nextCursor } = await searchServers(ctx.upstream.db, {
      words,
      team,
      lifecycle,
      status,
      excludeDrafts: !includeDrafts,
      latestOnly: true,
      limit,
    });
    const filters = [
      words.length ? `matching "${words.join(" ")}"` : "",
      team ? `owned by ${team}` : "",
      lifecycle ? `${lifecycle.replace("_", " ")}` : "",
      status ? `status ${status}` : "",
    ].filter(Boolean);
    const scope = filters.length ? ` ${filters.join(", ")}` : "";
    const drafts = includeDrafts ? "" : " (drafts left out: includeDrafts: true to see them)";
    if (entries.length === 0) return `No servers${scope}${drafts}. Try fewer or shorter words, or no filters.`;
    const blocks = entries.map((entry) => {
      const { server, version } = entry;
      return [
        `### ${server.name}: ${version.title}${server.lifecycle === "draft" ? DRAFT_MARK : ""}`,
        version.description,
        `- lifecycle: ${server.lifecycle} · registry status: ${officialStatus(entry)} · live: ${describeHealth(entry)}`,
        `- connect: ${remoteOf(entry) ?? "(no remote published)"} · version ${version.version} · team ${server.team}`,
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
  input: { name: serverName, includeDrafts },
  annotations: { readOnlyHint: true, openWorldHint: false },
  access: READ,
  minutesSaved: 5,
  async run({ name, includeDrafts }, ctx) {
    const entry = await findServer(name, ctx.upstream);
    const { server, version, reviews } = entry;
    if (server.lifecycle === "draft" && !includeDrafts) {
      return (
        `${server.name} is a draft: not reviewed, not usable, and its text (title, description, tools) is ` +
        "unreviewed words of its publisher, so it is not shown. Call again with includeDrafts: true to read it."
      );
    }
    const published = version.publishedAt.toISOString();
    const lines = [
      `# ${version.title} (${server.name})${server.lifecycle === "draft" ? DRAFT_MARK : ""}`,
      version.description,
      "",
      `- full name: ${ctx.upstream.namespace}/${server.name}`,
      `- version: ${version.version} (latest; published ${published} by ${version.publishedBy})`,
      `- lifecycle: ${server.lifecycle} since ${server.lifecycleChangedAt.toISOString()} · registry status: ${officialStatus(entry)}`,
      `- live status: ${describeHealth(entry)}`,
      `- connect: ${remoteOf(entry) ?? "(no remote published)"}`,
      `- owner: team ${server.team} · support ${server.supportChannel} · on call ${server.onCall}`,
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
    const { answer, decision, latest } = await answerAccess(db, ctx.caller, {
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
    // A draft's support channel is its publisher's unreviewed text: not passed on.
    const help =
      latest && latest.server.lifecycle !== "draft"
        ? ` To ask for access: ${latest.server.supportChannel} (team ${latest.server.team}).`
        : "";
    return {
      text: `Denied (${decision.code}): ${who} may not use ${target} in ${environment}: ${decision.reason}.${help}`,
      structured: answer,
    };
  },
});

export const registryTools = [searchServersTool, getServerTool, checkAccessTool, feedbackTool];

async function findServer(asked: string, upstream: RegistryUpstreams): Promise<ServerEntry> {
  const name = shortName(asked, { REGISTRY_NAMESPACE: upstream.namespace });
  const entry = name ? await getServerEntry(upstream.db, name, "latest") : undefined;
  if (!entry) {
    throw new BadArgumentError(
      "name",
      `no server "${asked}" is registered in this registry; find servers with registry_search_servers`,
    );
  }
  return entry;
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
