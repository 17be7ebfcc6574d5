/**
 * The registry Worker, the fleet's centre: the /v0.1 API (official MCP Registry shapes plus
 * governance), its OpenAPI document, the page, its own MCP server (/mcp, registry.mcp.ts), the
 * live-status cron, and the `serverPolicy` RPC every domain server consults through its
 * REGISTRY Service Binding.
 */

import { WorkerEntrypoint } from "cloudflare:workers";
import { OAuthResourceServer } from "@cloudflare/workers-oauth-provider";
import { Hono } from "hono";
import { cachedValidator, type TokenProps } from "../shared/auth/token.validation";
import type { ServerPolicy } from "../shared/registry/access";
import type { RegistryBinding } from "../shared/registry/registry.contract";
import { compactActiveUsers } from "./analytics/analytics.compaction";
import { runRetention } from "./analytics/analytics.retention";
import { apiApp, isProtectedApiRequest } from "./registry.api";
import { sweepApprovals } from "./registry.approvals";
import type { RegistryEnv } from "./registry.env";
import { scheduledHealth } from "./registry.health";
import { fetchMcp, isMcpRequest } from "./registry.mcp";
import { pageApp } from "./registry.page";
import { getServerPolicy } from "./registry.store";

const app = new Hono<{ Bindings: RegistryEnv }>();
app.get("/health", (c) => c.json({ status: "ok" }));
app.route("/", apiApp);
app.route("/", pageApp);

/** One resource server per configuration: the registry is one OAuth protected resource. */
const resourceServers = new Map<string, OAuthResourceServer<RegistryEnv, TokenProps>>();
function resourceServerFor(env: RegistryEnv): OAuthResourceServer<RegistryEnv, TokenProps> {
  const key = `${env.PUBLIC_URL} ${env.AUTH_ISSUER}`;
  let server = resourceServers.get(key);
  if (!server) {
    server = new OAuthResourceServer<RegistryEnv, TokenProps>({
      resourceMetadata: {
        resource: env.PUBLIC_URL,
        authorization_servers: [env.AUTH_ISSUER],
        bearer_methods_supported: ["header"],
        resource_name: "MCP Fleet registry",
      },
      requiredScopes: ["registry:read"],
      validateToken: (workerEnv) => cachedValidator(workerEnv.AUTH),
      handler: { fetch: (request, workerEnv, ctx) => app.fetch(request, workerEnv, ctx) },
    });
    resourceServers.set(key, server);
  }
  return server;
}

export { CallerState, Session } from "./registry.mcp";

export default class Registry extends WorkerEntrypoint<RegistryEnv> implements RegistryBinding {
  override async fetch(request: Request): Promise<Response> {
    const { pathname } = new URL(request.url);
    if (isMcpRequest(pathname)) return fetchMcp(request, this.env, this.ctx);
    const viaOAuth =
      isProtectedApiRequest(request.method, pathname, request.headers.get("authorization")) ||
      pathname.startsWith("/.well-known/oauth-protected-resource");
    if (viaOAuth) {
      if (!this.env.PUBLIC_URL || !this.env.AUTH_ISSUER) {
        return Response.json({ error: "PUBLIC_URL and AUTH_ISSUER must be configured" }, { status: 503 });
      }
      return resourceServerFor(this.env).fetch(request, this.env, this.ctx);
    }
    return app.fetch(request, this.env, this.ctx);
  }

  /**
   * The cron trigger: probe every registered server and record its live status; close abandoned
   * approvals; export raw invocations older than the retention window to R2 and delete them from D1;
   * compact the per-person active-user rows of periods that ended before the window to counts.
   */
  override async scheduled(controller: ScheduledController): Promise<void> {
    const sweep = sweepApprovals(this.env).catch((error) => console.error("approval sweep failed", error));
    const retention = runRetention(this.env)
      .catch((error) => console.error("analytics retention failed; it runs again on the next tick", error))
      .then(() => compactActiveUsers(this.env))
      .catch((error) => console.error("active-user compaction failed; it runs again on the next tick", error));
    this.ctx.waitUntil(retention);
    await Promise.all([scheduledHealth(controller, this.env, this.ctx), sweep, retention]);
  }

  /** RPC for domain servers: the governance they enforce (null when the server is not registered). */
  async serverPolicy(name: string): Promise<ServerPolicy | null> {
    return getServerPolicy(this.env.DB, name);
  }
}
