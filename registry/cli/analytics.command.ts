/**
 * `fleet analytics [--month YYYY-MM] [--server s]`: the month's time saved as tables (the same
 * summary as GET /v0.1/analytics/summary and the /analytics page), and `fleet feedback
 * <invocation> --helped yes|no [--minutes N]`: rate one of your calls (its id is printed by
 * `fleet call` and carried in every result's _meta as fleet/invocationId).
 */

import { MAX_FEEDBACK_MINUTES } from "../analytics/analytics.feedback.rules.ts";
import type { CliContext } from "./cli.context.ts";
import { formatTable } from "./cli.context.ts";
import { CliError, EXIT, usageError } from "./cli.errors.ts";
import { type AnalyticsFigures, type AnalyticsSummary, RegistryHttpError } from "./registry.api.client.ts";

async function registryToken(ctx: CliContext, scopes: string[] = []): Promise<string> {
  const token = await ctx.signIn.accessToken({
    serverUrl: ctx.registryUrl,
    purpose: `the fleet registry at ${ctx.registryUrl}`,
    scopes,
    interactive: true,
  });
  if (!token) throw new CliError("sign in first: fleet login", EXIT.auth);
  return token.token;
}

function refusal(error: unknown): never {
  if (error instanceof RegistryHttpError) {
    if (error.status === 400) throw usageError(error.message);
    if (error.status === 401) throw new CliError(`${error.message} (sign in again: fleet login)`, EXIT.auth);
    if (error.status === 403 || error.status === 404 || error.status === 409) {
      throw new CliError(error.message, EXIT.refused);
    }
  }
  throw error;
}

const pct = (value: number | null) => (value === null ? "-" : `${(value * 100).toFixed(1)}%`);
const signed = (value: number | null) =>
  value === null ? "n/a" : `${value >= 0 ? "+" : ""}${(value * 100).toFixed(1)}%`;
const ms = (value: number | null) => (value === null ? "-" : `≤${value}`);

function row(name: string, f: AnalyticsFigures): string[] {
  return [
    name,
    String(f.invocations),
    String(f.activeUsers),
    f.hoursSaved.estimate.toFixed(1),
    f.hoursSaved.effective.toFixed(1),
    pct(f.successRate),
    pct(f.errorRate),
    String(f.denials),
    `${f.approvals.granted}/${f.approvals.requested}`,
    ms(f.latencyMs.p50),
    ms(f.latencyMs.p95),
  ];
}

const HEADER = ["", "CALLS", "USERS", "HOURS", "EFFECTIVE", "OK", "ERRORS", "DENIED", "APPROVED", "P50 MS", "P95 MS"];

export function formatSummary(summary: AnalyticsSummary): string {
  const lines = [
    `Time saved in ${summary.month} (UTC): ${summary.hoursSaved.estimate.toFixed(1)} h estimated, ` +
      `${summary.hoursSaved.effective.toFixed(1)} h with feedback; ${summary.invocations} calls by ${summary.activeUsers} people.`,
    `Against ${summary.previousMonth}: calls ${signed(summary.change.invocations)}, people ${signed(summary.change.activeUsers)}, hours ${signed(summary.change.hoursSaved)}.`,
    "",
    formatTable(
      ["FLEET", ...HEADER.slice(1)],
      [row("fleet", summary), ...summary.byTeam.map((team) => row(`team ${team.name}`, team))],
    ),
  ];
  if (summary.byServer.length > 0) {
    lines.push(
      "",
      formatTable(
        ["SERVER", ...HEADER.slice(1)],
        summary.byServer.map((s) => row(s.name, s)),
      ),
    );
    lines.push(
      "",
      formatTable(
        ["TOOL", ...HEADER.slice(1)],
        summary.byTool.map((t) => row(t.name, t)),
      ),
    );
  } else {
    const teams = summary.detail.teams.length ? summary.detail.teams.join(", ") : "none";
    lines.push("", `No server detail: it is shown to a server's owning team and to admins (your groups: ${teams}).`);
  }
  return lines.join("\n");
}

export async function analytics(ctx: CliContext, options: { month?: string; server?: string; json?: boolean }) {
  if (options.month !== undefined && !/^\d{4}-(0[1-9]|1[0-2])$/.test(options.month)) {
    throw usageError(`--month must be YYYY-MM, not "${options.month}"`);
  }
  const token = await registryToken(ctx);
  const summary = await ctx.registry
    .analyticsSummary(token, { month: options.month, server: options.server })
    .catch(refusal);
  ctx.out(options.json ? JSON.stringify(summary, null, 2) : formatSummary(summary));
}

export async function feedback(ctx: CliContext, invocationId: string, options: { helped?: string; minutes?: string }) {
  const helped = { yes: true, no: false }[String(options.helped)];
  if (helped === undefined) throw usageError(`--helped must be yes or no, not "${options.helped ?? ""}"`);
  let minutes: number | undefined;
  if (options.minutes !== undefined) {
    minutes = Number(options.minutes);
    if (!Number.isFinite(minutes) || minutes < 0 || minutes > MAX_FEEDBACK_MINUTES) {
      throw usageError(
        `--minutes must be a number of minutes from 0 to ${MAX_FEEDBACK_MINUTES} (8 hours), not "${options.minutes}"`,
      );
    }
    if (!helped) throw usageError("--minutes goes with --helped yes (the minutes the call saved)");
  }
  // A rating is a write (registry:write): a token signed in only for reading is stepped up.
  const token = await registryToken(ctx, ["registry:write"]);
  const answer = await ctx.registry
    .feedback(token, { invocationId, helped, ...(minutes !== undefined ? { minutes } : {}) })
    .catch(refusal);
  ctx.out(
    `Recorded: ${answer.server}/${answer.tool} ${helped ? "helped" : "did not help"}${minutes !== undefined ? ` (${minutes} min)` : ""}.`,
  );
}
