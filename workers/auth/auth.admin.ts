/**
 * The admin API at `${AUTH_ISSUER}/admin`: an OAuth protected resource of this Worker (RFC 9728
 * metadata at `/.well-known/oauth-protected-resource/admin`), so the CLI signs in for it like for
 * any server. A request needs a user's access token for this resource (no other audience), with
 * the scope `fleet:admin`, from a member of `ADMINS_GROUP` as the IdP says now (groups are re-read
 * at every refresh). Services are never admins. Anything else is refused, and logged.
 *
 * - `POST /admin/revoke`  `{ subject, reason }`: a user by email (`user:<email>` or the bare
 *   email) or by IdP subject (`<issuer>#<subject>`) ends every grant of the user with its tokens
 *   and refuses them until restored, bound to every IdP subject seen with that email, so an email
 *   that changes later changes nothing; someone no one has signed in as is refused (404, nothing
 *   recorded). `service:<name>` refuses the service's tokens and new ones until restored.
 * - `POST /admin/restore` `{ subject, reason }`: lifts the revocations that hold what it names
 *   (each whole, with all its subjects); another revocation of the same person (say, of one of
 *   their subjects on its own) stays, and the answer names it (`stillRevokedBy`).
 * - `GET /admin/audit?limit=50`: the newest admin actions.
 *
 * Every action is audited (who, whom, when, why) before it takes effect, so one that fails
 * part-way is still on record, marked `incomplete`: auth.revocations.ts.
 */
import { insufficientScope, type OAuthResourceContext, OAuthResourceServer } from "@cloudflare/workers-oauth-provider";
import { z } from "zod";
import type { TokenProps } from "../../shared/auth/token.validation";
import { ADMIN_PATH, ADMIN_SCOPE, type AuthConfig, type AuthEnv } from "./auth.config";
import {
  type AdminAuditEntry,
  clearRevoked,
  markRevoked,
  parseTarget,
  recentAudit,
  recordAudit,
  revokedBy,
  rewriteAudit,
  type Target,
  targetId,
} from "./auth.revocations";
import { authorizationServer } from "./auth.server";
import { subjectsSeenWith, wasSeen } from "./auth.sightings";
import { callerIdOf, validateAccessToken } from "./auth.validation";

export const ADMIN_METADATA_PATH = `/.well-known/oauth-protected-resource${ADMIN_PATH}`;

const Action = z.strictObject({
  subject: z.string().min(1).max(330),
  reason: z.string().trim().min(1, "say why (it is kept in the audit trail)").max(500),
});

const servers = new WeakMap<AuthConfig, OAuthResourceServer<AuthEnv, TokenProps>>();

export function isAdminPath(pathname: string): boolean {
  return pathname === ADMIN_METADATA_PATH || pathname === ADMIN_PATH || pathname.startsWith(`${ADMIN_PATH}/`);
}

/** The admin API's resource server for this configuration. */
export function adminApi(config: AuthConfig): OAuthResourceServer<AuthEnv, TokenProps> {
  let server = servers.get(config);
  if (!server) {
    server = new OAuthResourceServer<AuthEnv, TokenProps>({
      resourceMetadata: {
        resource: config.adminResource,
        authorization_servers: [config.issuer],
        bearer_methods_supported: ["header"],
        resource_name: "MCP Fleet administration",
      },
      requiredScopes: [ADMIN_SCOPE],
      validateToken: (env) => (resource, token) => validateAccessToken(env, config, resource, token),
      handler: {
        fetch: (request, env, ctx) => handle(request, env, ctx as OAuthResourceContext<TokenProps>, config),
      },
    });
    servers.set(config, server);
  }
  return server;
}

async function handle(
  request: Request,
  env: AuthEnv,
  ctx: OAuthResourceContext<TokenProps>,
  config: AuthConfig,
): Promise<Response> {
  const { props, auth } = ctx;
  const { pathname } = new URL(request.url);
  const who = callerIdOf(props);
  const refuse = (status: 403 | 404 | 405, message: string) => {
    console.warn(
      JSON.stringify({ audit: "admin-refused", by: who, request: `${request.method} ${pathname}`, message }),
    );
    const error = { 403: "forbidden", 404: "not_found", 405: "method_not_allowed" }[status];
    return Response.json({ error, message }, { status });
  };
  if (!auth.scope.includes(ADMIN_SCOPE))
    return insufficientScope(auth, [ADMIN_SCOPE], "The admin API needs fleet:admin");
  if (props.kind !== "user") return refuse(403, "services cannot administer the fleet");
  if (!(props.groups ?? []).includes(config.adminsGroup)) {
    return refuse(403, `only members of ${config.adminsGroup} may administer the fleet`);
  }

  if (pathname === `${ADMIN_PATH}/audit` && request.method === "GET") {
    const limit = Number(new URL(request.url).searchParams.get("limit") ?? 50);
    return Response.json({ entries: await recentAudit(env.OAUTH_KV, Number.isFinite(limit) ? limit : 50) });
  }
  const action = pathname === `${ADMIN_PATH}/revoke` ? "revoke" : pathname === `${ADMIN_PATH}/restore` ? "restore" : "";
  if (!action) return refuse(404, `no admin operation at ${request.method} ${pathname}`);
  if (request.method !== "POST") return refuse(405, `${pathname} takes POST`);

  const input = Action.safeParse(await request.json().catch(() => undefined));
  if (!input.success) {
    const message = input.error.issues.map((issue) => `${issue.path.join(".") || "body"}: ${issue.message}`);
    return Response.json({ error: "invalid_request", message: message.join("; ") }, { status: 400 });
  }
  const target = parseTarget(input.data.subject);
  if (!target) {
    const message =
      `"${input.data.subject}" names no one: give a user's verified email (their identity of record, not ` +
      "their login name), their <issuer>#<subject> at the IdP, or service:<name>";
    return Response.json({ error: "invalid_request", message }, { status: 400 });
  }
  if (target.kind === "service" && !config.services.some((service) => service.name === target.name)) {
    const message = `no service identity ${target.name} is configured`;
    return Response.json({ error: "invalid_request", message }, { status: 400 });
  }
  const entry: AdminAuditEntry = {
    at: new Date().toISOString(),
    action,
    subject: targetId(target),
    by: who,
    reason: input.data.reason,
  };
  const bound = await bindTarget(env, target);
  return action === "revoke" ? revoke(env, config, bound, entry) : restore(env, bound, entry);
}

/** Whom a revocation of the target binds: its revocation keys and its IdP subjects. */
interface Bound {
  target: Target;
  keys: string[];
  subjects: string[];
}

async function bindTarget(env: AuthEnv, target: Target): Promise<Bound> {
  if (target.kind === "service") return { target, keys: [`service:${target.name}`], subjects: [] };
  const subjects =
    target.kind === "subject" ? [target.subject] : await subjectsSeenWith(env.OAUTH_KV, target.principal);
  const keys = target.kind === "user" ? [`user:${target.principal}`, ...subjects] : subjects;
  return { target, keys, subjects };
}

/** The user's grants: they belong to the IdP subject; those from before that, to the principal. */
async function grantsOfTarget(env: AuthEnv, config: AuthConfig, bound: Bound): Promise<Grant[]> {
  const { target, subjects } = bound;
  if (target.kind === "service") return [];
  const owners = new Set([...subjects, ...(target.kind === "user" ? [target.principal] : [])].map(grantUserId));
  return (await Promise.all([...owners].map((owner) => grantsOf(env, config, owner)))).flat();
}

async function revoke(env: AuthEnv, config: AuthConfig, bound: Bound, entry: AdminAuditEntry): Promise<Response> {
  const { target, keys, subjects } = bound;
  let warning: string | undefined;
  if (target.kind !== "service") {
    const seen = target.kind === "user" ? subjects.length > 0 : await wasSeen(env.OAUTH_KV, target.subject);
    if (!seen && (await grantsOfTarget(env, config, bound)).length === 0) {
      // Recording it would look like success and bind nothing: refuse, and record nothing.
      const message =
        `no one has signed in as ${targetId(target)} (no grant, no sign-in in the last 400 days), so ` +
        "nothing was revoked: check the email (the verified email, not the login name), name the user " +
        "by <issuer>#<subject>, or disable them at the IdP";
      return Response.json({ error: "not_found", message }, { status: 404 });
    }
    if (subjects.length === 0) {
      warning =
        `no IdP subject is known for ${targetId(target)} (its grants predate sign-in records): the revocation ` +
        "holds for this email only; should the email change, revoke <issuer>#<subject> too";
    }
    entry.subjects = subjects;
  }
  // The audit entry first: whatever fails from here on, the action is on record.
  const auditKey = await recordAudit(env.OAUTH_KV, entry);
  try {
    // From here on no sign-in, code exchange, refresh or validation succeeds...
    await markRevoked(env.OAUTH_KV, { target: entry.subject, at: entry.at, by: entry.by, reason: entry.reason, keys });
    if (target.kind !== "service") {
      // ...so the grants are listed now: one made by a sign-in that finished just before is among them.
      entry.grantsRevoked = 0;
      const oauth = authorizationServer(config).getOAuthApi(env);
      for (const grant of await grantsOfTarget(env, config, bound)) {
        await oauth.revokeGrant(grant.id, grant.owner);
        entry.grantsRevoked += 1;
      }
    }
  } catch (error) {
    return incomplete(env, auditKey, entry, error);
  }
  await rewriteAudit(env.OAUTH_KV, auditKey, entry);
  return Response.json({ ...entry, revoked: true, ...(warning ? { warning } : {}) });
}

/**
 * Lifts the revocations that name what the admin names (the email, the subject, the service),
 * each whole; any other revocation of the person's subjects stays, and the answer says which.
 */
async function restore(env: AuthEnv, bound: Bound, entry: AdminAuditEntry): Promise<Response> {
  const auditKey = await recordAudit(env.OAUTH_KV, entry);
  try {
    // What the audit trail calls the target is its revocation key (user:<email>, <issuer>#<subject>, service:<name>).
    const lifted = await clearRevoked(env.OAUTH_KV, targetId(bound.target));
    entry.lifted = lifted.map((revocation) => revocation.target);
    const still = await revokedBy(env.OAUTH_KV, bound.keys);
    if (still.length > 0) entry.stillRevokedBy = still;
  } catch (error) {
    return incomplete(env, auditKey, entry, error);
  }
  await rewriteAudit(env.OAUTH_KV, auditKey, entry);
  const warning =
    entry.stillRevokedBy &&
    `still refused: revoked as ${entry.stillRevokedBy.join(", ")} too; restore ${entry.stillRevokedBy.length > 1 ? "those" : "that"} to lift it`;
  return Response.json({ ...entry, restored: (entry.lifted ?? []).length > 0, ...(warning ? { warning } : {}) });
}

/** An action that failed part-way: the audit entry says what did not happen, the admin is told to retry. */
async function incomplete(env: AuthEnv, auditKey: string, entry: AdminAuditEntry, error: unknown) {
  const detail = error instanceof Error ? error.message : String(error);
  entry.incomplete = `failed part-way (${detail})`;
  console.error(JSON.stringify({ audit: `admin-${entry.action}-incomplete`, ...entry }));
  await rewriteAudit(env.OAUTH_KV, auditKey, entry).catch(() => undefined);
  const done =
    entry.action === "revoke"
      ? `${entry.subject} may be only partly revoked (${entry.grantsRevoked ?? 0} grant(s) ended)`
      : `${entry.subject} may be only partly restored`;
  const message = `${done}: the action is in the audit trail; run the same ${entry.action} again to finish`;
  return Response.json({ error: "server_error", message, ...entry }, { status: 500 });
}

interface Grant {
  id: string;
  owner: string;
}

/** The ids of every grant the library keeps for this user id. */
async function grantsOf(env: AuthEnv, config: AuthConfig, owner: string): Promise<Grant[]> {
  const oauth = authorizationServer(config).getOAuthApi(env);
  const grants: Grant[] = [];
  let cursor: string | undefined;
  do {
    const page = await oauth.listUserGrants(owner, cursor ? { cursor } : {});
    grants.push(...page.items.map((grant) => ({ id: grant.id, owner })));
    cursor = page.cursor;
  } while (cursor);
  return grants;
}

/**
 * The library's user id for a user's grants: their IdP subject (`<issuer>#<subject>`), which an
 * email change does not move (grants from before were kept under the principal). The library
 * reserves ":"; encoding keeps every id distinct.
 */
export function grantUserId(identity: string): string {
  return encodeURIComponent(identity);
}
