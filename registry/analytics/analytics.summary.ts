/**
 * One month's summary as the API, the page and the CLI show it: the fleet's totals for everyone,
 * by team and business group for everyone, by server and tool only for the servers the reader's
 * teams own (admins: all), with month-over-month change and the top tools.
 */
import {
  change,
  type Figures,
  figuresOf,
  loadMonth,
  type MonthUsage,
  monthTotals,
  previousMonth,
  type Visibility,
} from "./analytics.queries";

export interface NamedFigures extends Figures {
  name: string;
}

export interface Summary extends Figures {
  month: string;
  previousMonth: string;
  change: { invocations: number | null; activeUsers: number | null; hoursSaved: number | null };
  byTeam: NamedFigures[];
  byGroup: NamedFigures[];
  byServer: (NamedFigures & { team: string })[];
  byTool: (NamedFigures & { server: string; tool: string; team: string })[];
  topTools: { server: string; tool: string; hoursSaved: number; invocations: number }[];
  /** Whose detail this summary shows. */
  detail: { allServers: boolean; teams: string[] };
}

export async function monthSummary(
  db: D1Database,
  month: string,
  visibility: Visibility,
  server?: string,
): Promise<Summary> {
  const teams = await serverTeams(db);
  const [now, before] = await Promise.all([loadMonth(db, month, teams), monthTotals(db, previousMonth(month))]);
  const visible = (serverName: string) =>
    visibility.all || visibility.teams.includes(teams.get(serverName) ?? "\u0000");
  const wanted = (serverName: string) => visible(serverName) && (!server || serverName === server);
  const fleet = figuresOf(now.fleet, now.activeUsers.fleet);
  const named = (map: MonthUsage["byTeam"], users: Map<string, number>) =>
    [...map]
      .map(([name, totals]) => ({ name, ...figuresOf(totals, users.get(name) ?? 0) }))
      .sort((a, b) => b.hoursSaved.estimate - a.hoursSaved.estimate || a.name.localeCompare(b.name));
  const byServer = named(now.byServer, now.activeUsers.byServer)
    .filter((row) => wanted(row.name))
    .map((row) => ({ ...row, team: teams.get(row.name) ?? "unregistered" }));
  const byTool = named(now.byTool, now.activeUsers.byTool)
    .map((row) => {
      const [serverName = "", tool = ""] = row.name.split("/");
      return { ...row, server: serverName, tool, team: teams.get(serverName) ?? "unregistered" };
    })
    .filter((row) => wanted(row.server));
  return {
    month,
    previousMonth: previousMonth(month),
    ...fleet,
    change: {
      invocations: change(fleet.invocations, before.invocations),
      activeUsers: change(fleet.activeUsers, before.activeUsers),
      hoursSaved: change(fleet.hoursSaved.estimate, before.hoursSaved),
    },
    byTeam: named(now.byTeam, now.activeUsers.byTeam),
    byGroup: named(now.byGroup, now.activeUsers.byGroup),
    byServer,
    byTool,
    topTools: byTool.slice(0, 10).map((row) => ({
      server: row.server,
      tool: row.tool,
      hoursSaved: row.hoursSaved.estimate,
      invocations: row.invocations,
    })),
    detail: { allServers: visibility.all, teams: [...visibility.teams] },
  };
}

/** Server name → owning team, from the registry. */
export async function serverTeams(db: D1Database): Promise<Map<string, string>> {
  const { results } = await db.prepare("SELECT name, team FROM servers").all<{ name: string; team: string }>();
  return new Map(results.map((row) => [row.name, row.team]));
}

const CSV_COLUMNS = [
  "scope",
  "name",
  "invocations",
  "activeUsers",
  "hoursSavedEstimate",
  "hoursSavedEffective",
  "successRate",
  "errorRate",
  "denials",
  "approvalsRequested",
  "approvalsGranted",
  "approvalsDeclined",
  "p50Ms",
  "p95Ms",
] as const;

/** The summary as CSV (RFC 4180): one row for the fleet, then teams, groups, servers and tools. */
export function summaryCsv(summary: Summary): string {
  const row = (scope: string, name: string, f: Figures) =>
    [
      scope,
      name,
      f.invocations,
      f.activeUsers,
      f.hoursSaved.estimate,
      f.hoursSaved.effective,
      f.successRate ?? "",
      f.errorRate ?? "",
      f.denials,
      f.approvals.requested,
      f.approvals.granted,
      f.approvals.declined,
      f.latencyMs.p50 ?? "",
      f.latencyMs.p95 ?? "",
    ]
      .map((value) => csvField(String(value)))
      .join(",");
  const lines = [
    CSV_COLUMNS.join(","),
    row("fleet", summary.month, summary),
    ...summary.byTeam.map((f) => row("team", f.name, f)),
    ...summary.byGroup.map((f) => row("group", f.name, f)),
    ...summary.byServer.map((f) => row("server", f.name, f)),
    ...summary.byTool.map((f) => row("tool", f.name, f)),
  ];
  return `${lines.join("\r\n")}\r\n`;
}

function csvField(value: string): string {
  return /[",\r\n]/.test(value) ? `"${value.replaceAll('"', '""')}"` : value;
}
