/** `fleet servers` (the table) and `fleet show <server>` (everything about one server). */
import { type CliContext, formatTable, shortTime } from "./cli.context.ts";
import { CliError, EXIT, usageError } from "./cli.errors.ts";
import {
  type AccessAnswer,
  type Governance,
  governanceOf,
  type Health,
  OFFICIAL_META,
  RegistryHttpError,
  type ServerResponse,
  shortName,
} from "./registry.api.client.ts";

export async function listServers(
  ctx: CliContext,
  options: { search?: string; team?: string; lifecycle?: string; json?: boolean },
): Promise<void> {
  let servers: ServerResponse[];
  try {
    servers = await ctx.registry.listServers({
      search: options.search,
      team: options.team,
      lifecycle: options.lifecycle,
    });
  } catch (error) {
    // The registry names the filter it could not take (e.g. an unknown lifecycle).
    if (error instanceof RegistryHttpError && error.status === 400) throw usageError(error.message);
    throw error;
  }
  if (options.json) {
    ctx.out(JSON.stringify(servers, null, 2));
    return;
  }
  if (servers.length === 0) {
    ctx.err(`No servers${filterText(options)} in the registry at ${ctx.registryUrl}.`);
    return;
  }
  const rows = servers.map((entry) => {
    const governance = governanceOf(entry);
    return [
      shortName(entry),
      entry.server.title ?? "",
      governance.lifecycle,
      governance.team,
      healthText(governance.health),
      entry.server.version,
    ];
  });
  ctx.out(formatTable(["NAME", "TITLE", "LIFECYCLE", "TEAM", "STATUS", "VERSION"], rows));
}

export async function showServer(ctx: CliContext, name: string, options: { json?: boolean }): Promise<void> {
  const entry = await ctx.registry.latest(name);
  if (!entry) throw new CliError(`no server "${name}" in the registry at ${ctx.registryUrl}`, EXIT.refused);
  const governance = governanceOf(entry);
  const short = shortName(entry);
  const [versions, checks, access] = await Promise.all([
    ctx.registry.versions(short),
    ctx.registry.healthChecks(short),
    accessFor(ctx, short, governance),
  ]);
  if (options.json) {
    ctx.out(JSON.stringify({ ...entry, versions, healthChecks: checks, access: access ?? null }, null, 2));
    return;
  }

  const { server } = entry;
  const lines: string[] = [];
  lines.push(`${short}: ${server.title ?? ""}  (${server.name} ${server.version})`, server.description, "");
  const facts: [string, string][] = [
    ["Lifecycle", `${governance.lifecycle} since ${shortTime(governance.lifecycleChangedAt)}`],
    ["Team", governance.team],
    ["Support", governance.supportChannel],
    ["On call", governance.onCall ?? "(shown to signed-in readers)"],
    ["Environments", governance.environments.join(", ") || "-"],
    ["Allowed", allowedText(governance)],
    ["URL", server.remotes.map((remote) => `${remote.url} (${remote.type})`).join(", ")],
    ["Status", `${healthText(governance.health)}${healthDetail(governance.health)}`],
  ];
  if (checks.length > 0) {
    const up = checks.filter((check) => check.up).length;
    facts.push(["Recent checks", `${up} of the last ${checks.length} up`]);
  }
  if (server.websiteUrl) facts.push(["Website", server.websiteUrl]);
  if (server.repository) facts.push(["Repository", server.repository.url]);
  const width = Math.max(...facts.map(([label]) => label.length)) + 2;
  for (const [label, value] of facts) lines.push(`${label.padEnd(width)}${value}`);

  lines.push("", "Reviews");
  for (const kind of ["security", "legal", "genai"] as const) {
    const review = governance.reviews[kind];
    lines.push(
      review
        ? `  ${kind.padEnd(9)}${review.state}${review.reviewer ? ` by ${review.reviewer}` : ""}, ${shortTime(review.at)} (version ${review.version})${review.notes ? `: ${review.notes}` : ""}`
        : `  ${kind.padEnd(9)}not reviewed`,
    );
  }

  lines.push("", "Versions");
  for (const version of versions.length > 0 ? versions : [entry]) {
    const official = version._meta[OFFICIAL_META];
    lines.push(
      `  ${version.server.version.padEnd(10)}${(official?.status ?? "").padEnd(11)}published ${shortTime(official?.publishedAt)}${official?.isLatest ? "  (latest)" : ""}`,
    );
  }

  lines.push("", "Tools");
  const toolRows = governance.tools.map((tool) => {
    const answer = access?.tools.get(tool.name);
    return [
      tool.name,
      toolAccessText(tool.access),
      tool.needsApproval ? "human approval" : "-",
      tool.annotations.destructiveHint ? "destructive" : tool.annotations.readOnlyHint ? "read-only" : "-",
      ...(access ? [answer ? mayText(answer) : "?"] : []),
    ];
  });
  const header = ["NAME", "ACCESS", "APPROVAL", "KIND", ...(access ? ["YOU"] : [])];
  lines.push(
    governance.tools.length > 0
      ? formatTable(header, toolRows)
          .split("\n")
          .map((line) => `  ${line}`)
          .join("\n")
      : "  (none published)",
  );
  const needed = [...new Set(governance.tools.flatMap((tool) => tool.access.scopes ?? []))];
  if (access && needed.length > 0) {
    lines.push(
      `  (Scopes such as ${needed.join(" ")} go on your token for ${short} itself, a separate audience; \`fleet call\` asks for them.)`,
    );
  }
  lines.push("");
  if (access) {
    const caller = access.server.caller;
    const who = `${caller.name}; ${caller.groups.length > 0 ? caller.groups.join(", ") : "no groups"}`;
    lines.push(
      access.server.allowed
        ? `You (${who}) may use this server in ${access.server.environment}.`
        : `You (${who}) may not use this server: ${access.server.reason ?? access.server.code}.`,
    );
  } else {
    lines.push("Sign in with `fleet login` to see whether you may use this server and its tools.");
  }
  ctx.out(lines.join("\n"));
}

/** The signed-in caller's answers, or undefined when not signed in (never starts a sign-in). */
async function accessFor(
  ctx: CliContext,
  server: string,
  governance: Governance,
): Promise<{ server: AccessAnswer; tools: Map<string, AccessAnswer> } | undefined> {
  let token: Awaited<ReturnType<typeof ctx.signIn.accessToken>>;
  try {
    token = await ctx.signIn.accessToken({
      serverUrl: ctx.registryUrl,
      purpose: "the fleet registry",
      interactive: false,
    });
  } catch (error) {
    if (!(error instanceof CliError)) throw error;
    ctx.err(`Could not use your sign-in (${error.message}); showing the server without your access.`);
    return undefined;
  }
  if (!token) return undefined;
  try {
    const [answer, ...toolAnswers] = await Promise.all([
      ctx.registry.access(token.token, server),
      ...governance.tools.map((tool) => ctx.registry.access(token.token, server, tool.name)),
    ]);
    return {
      server: answer as AccessAnswer,
      tools: new Map(toolAnswers.map((toolAnswer) => [toolAnswer.tool ?? "", toolAnswer])),
    };
  } catch (error) {
    if (error instanceof RegistryHttpError && error.status === 401) {
      ctx.signIn.forget(token.resource);
      ctx.err("Your registry sign-in is no longer valid; run `fleet login` again.");
      return undefined;
    }
    throw error;
  }
}

/** "may use" / "may not: reason". */
export function mayText(answer: AccessAnswer): string {
  if (answer.allowed) return "may use";
  return `may not: ${answer.reason ?? answer.code}`;
}

export function healthText(health: Health): string {
  if (health.status === "up") return health.latencyMs !== undefined ? `up ${Math.round(health.latencyMs)} ms` : "up";
  return health.status;
}

function healthDetail(health: Health): string {
  const parts = [health.checkedAt ? `checked ${shortTime(health.checkedAt)}` : "", health.error ?? ""].filter(Boolean);
  return parts.length > 0 ? ` (${parts.join("; ")})` : "";
}

function allowedText(governance: Governance): string {
  const groups = governance.allowedGroups.length > 0 ? governance.allowedGroups.join(", ") : "every signed-in user";
  const services =
    governance.allowedServices === true
      ? "any service"
      : governance.allowedServices === false || governance.allowedServices.length === 0
        ? "no services"
        : `services ${governance.allowedServices.join(", ")}`;
  return `groups: ${groups}; ${services}`;
}

function toolAccessText(access: Governance["tools"][number]["access"]): string {
  const parts: string[] = [];
  if (access.groups?.length) parts.push(`groups ${access.groups.join("|")}`);
  if (access.scopes?.length) parts.push(`scope ${access.scopes.join(" ")}`);
  if (access.services === true) parts.push("services");
  else if (Array.isArray(access.services) && access.services.length > 0)
    parts.push(`services ${access.services.join("|")}`);
  return parts.join("; ") || "any user";
}

function filterText(options: { search?: string; team?: string; lifecycle?: string }): string {
  const parts = [
    options.search ? `matching "${options.search}"` : "",
    options.team ? `of team ${options.team}` : "",
    options.lifecycle ? `${options.lifecycle}` : "",
  ].filter(Boolean);
  return parts.length > 0 ? ` ${parts.join(", ")}` : "";
}
