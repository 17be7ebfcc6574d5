/**
 * The admin API at `${AUTH_ISSUER}/admin`: an OAuth protected resource of this Worker (RFC 9728
 * metadata at `/.well-known/oauth-protected-resource/admin`), so the CLI signs in for it like for
 * any server. A request needs a user's access token for this resource (no other audience), with
 * the scope `fleet:admin`, from a member of `ADMINS_GROUP` as the IdP says now (groups are re-read
 * at every refresh). Services are never admins. Anything else is refused, and logged.
 *
 * - `POST /admin/revoke`  `{ subject, reason }`: `user:<principal>` (or a bare principal) ends
 *   every grant of the user with its tokens and refuses them until restored; `service:<name>`
 *   refuses the service's tokens and new ones until restored.
 * - `POST /admin/restore` `{ subject, reason }`: lifts a revocation.
 * - `GET /admin/audit?limit=50`: the newest admin actions.
 *
 * Every action is audited (who, whom, when, why): auth.revocations.ts.
 */
import { insufficientScope, type OAuthResourceContext, OAuthResourceServer } from "@cloudflare/workers-oauth-provider";
import { z } from "zod";
import type { TokenProps } from "../../shared/auth/token.validation";
import { ADMIN_PATH, ADMIN_SCOPE, type AuthConfig, type AuthEnv } from "./auth.config";
import {
  type AdminAuditEntry,
  clearRevoked,
  markRevoked,
  parseSubject,
  recentAudit,
  recordAudit,
  type Subject,
  subjectId,
} from "./auth.revocations";
import { authorizationServer } from "./auth.server";
import { subjectOf, validateAccessToken } from "./auth.validation";

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
  const who = subjectOf(props);
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
  const subject = parseSubject(input.data.subject);
  if (!subject) {
    const message = `"${input.data.subject}" is neither user:<principal> (or a bare principal) nor service:<name>`;
    return Response.json({ error: "invalid_request", message }, { status: 400 });
  }
  if (subject.kind === "service" && !config.services.some((service) => service.name === subject.name)) {
    const message = `no service identity ${subject.name} is configured`;
    return Response.json({ error: "invalid_request", message }, { status: 400 });
  }
  const entry: AdminAuditEntry = {
    at: new Date().toISOString(),
    action,
    subject: subjectId(subject),
    by: who,
    reason: input.data.reason,
  };
  if (action === "revoke") {
    await markRevoked(env.OAUTH_KV, entry); // first: from here on no sign-in, refresh or validation succeeds
    if (subject.kind === "user") entry.grantsRevoked = await revokeUserGrants(env, config, subject);
    await recordAudit(env.OAUTH_KV, entry);
    return Response.json({ ...entry, revoked: true });
  }
  const lifted = await clearRevoked(env.OAUTH_KV, entry.subject);
  await recordAudit(env.OAUTH_KV, entry);
  return Response.json({ ...entry, restored: lifted });
}

/** Ends every grant of the user (each with its refresh and access tokens); returns how many. */
async function revokeUserGrants(
  env: AuthEnv,
  config: AuthConfig,
  subject: Extract<Subject, { kind: "user" }>,
): Promise<number> {
  const oauth = authorizationServer(config).getOAuthApi(env);
  const userId = grantUserId(subject.principal);
  const grantIds: string[] = [];
  let cursor: string | undefined;
  do {
    const page = await oauth.listUserGrants(userId, cursor ? { cursor } : {});
    grantIds.push(...page.items.map((grant) => grant.id));
    cursor = page.cursor;
  } while (cursor);
  for (const grantId of grantIds) await oauth.revokeGrant(grantId, userId);
  return grantIds.length;
}

/** The library's user id for a principal (it reserves ":"; encoding keeps every principal distinct). */
export function grantUserId(principal: string): string {
  return encodeURIComponent(principal);
}
