/**
 * `fleet admin revoke <user|service:name> --reason …`, `fleet admin restore …` and `fleet admin
 * log`: the auth Worker's admin API (`<auth issuer>/admin`), found through the registry's
 * protected resource metadata. The CLI signs in for it like for any server (browser, PKCE), asking
 * for `fleet:admin`; the auth Worker lets only members of its admins group through.
 */
import type { CliContext } from "./cli.context.ts";
import { formatTable, shortTime } from "./cli.context.ts";
import { CliError, EXIT, usageError } from "./cli.errors.ts";

export const ADMIN_ACTIONS = ["revoke", "restore", "log"] as const;
export type AdminAction = (typeof ADMIN_ACTIONS)[number];

const ADMIN_SCOPE = "fleet:admin";
const REQUEST_TIMEOUT_MS = 30_000;

interface AuditEntry {
  at: string;
  action: string;
  subject: string;
  by: string;
  reason: string;
  grantsRevoked?: number;
}

export interface AdminOptions {
  reason?: string;
  json?: boolean;
  limit?: number;
}

export async function admin(
  ctx: CliContext,
  action: string,
  subject: string | undefined,
  options: AdminOptions,
): Promise<void> {
  if (!(ADMIN_ACTIONS as readonly string[]).includes(action)) {
    throw usageError(`unknown admin action "${action}" (one of: ${ADMIN_ACTIONS.join(", ")})`);
  }
  if (action === "log") {
    const { entries } = (await call(ctx, "GET", `/audit?limit=${options.limit ?? 50}`)) as { entries: AuditEntry[] };
    if (options.json) return ctx.out(JSON.stringify(entries, null, 2));
    if (entries.length === 0) return ctx.err("No admin actions recorded.");
    ctx.out(
      formatTable(
        ["AT", "ACTION", "SUBJECT", "BY", "REASON"],
        entries.map((entry) => [shortTime(entry.at), entry.action, entry.subject, entry.by, entry.reason]),
      ),
    );
    return;
  }
  if (!subject) throw usageError(`fleet admin ${action} needs a subject: a user (their email) or service:<name>`);
  const reason = options.reason?.trim();
  if (!reason) throw usageError(`--reason is required: say why (it is kept in the audit trail)`);
  const entry = (await call(ctx, "POST", `/${action}`, { subject, reason })) as AuditEntry & {
    restored?: boolean;
    /** What the admin should know: a revocation bound to the email only, a restore that leaves the person refused. */
    warning?: string;
  };
  if (options.json) return ctx.out(JSON.stringify(entry, null, 2));
  if (action === "revoke") {
    const grants = entry.grantsRevoked === undefined ? "" : ` (${entry.grantsRevoked} grant(s) ended)`;
    ctx.out(`Revoked ${entry.subject}${grants}.`);
    ctx.err(
      "Every fleet server refuses it within 60 s; sign-in, refresh and new tokens are refused until `fleet admin restore`.",
    );
  } else {
    ctx.out(entry.restored ? `Restored ${entry.subject}.` : `${entry.subject} was not revoked; nothing to restore.`);
  }
  if (entry.warning) ctx.err(`Warning: ${entry.warning}`);
}

/** One request to the admin API with an admin token; a refused stored token gets one fresh sign-in. */
async function call(ctx: CliContext, method: "GET" | "POST", path: string, body?: unknown): Promise<unknown> {
  const { issuer } = await ctx.signIn.discover(ctx.registryUrl);
  const serverUrl = `${issuer.replace(/\/+$/, "")}/admin`;
  for (let attempt = 1; ; attempt++) {
    const token = await ctx.signIn.accessToken({
      serverUrl,
      purpose: `fleet administration at ${issuer}`,
      scopes: [ADMIN_SCOPE],
      interactive: true,
      force: attempt > 1,
    });
    let response: Response;
    try {
      response = await fetch(`${serverUrl}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${token.token}`,
          accept: "application/json",
          ...(body === undefined ? {} : { "content-type": "application/json" }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      });
    } catch (error) {
      throw new CliError(`cannot reach the admin API at ${serverUrl}: ${(error as Error).message}`);
    }
    const answer = (await response.json().catch(() => ({}))) as { message?: string; error?: string };
    if (response.ok) return answer;
    if (response.status === 401 && attempt === 1) {
      ctx.signIn.forget(token.resource); // revoked or expired: sign in again, once
      continue;
    }
    const detail = answer.message ?? answer.error ?? `HTTP ${response.status}`;
    if (response.status === 400) throw usageError(`the admin API refused the request: ${detail}`);
    if (response.status === 401) throw new CliError(`the admin API does not accept your sign-in: ${detail}`, EXIT.auth);
    if (response.status === 403) throw new CliError(`refused: ${detail}`, EXIT.refused);
    throw new CliError(`the admin API answered ${response.status}: ${detail}`);
  }
}
