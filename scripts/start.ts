/** `npm start`: the whole fleet on local defaults, until Ctrl-C. */
import { LOCAL_SERVICES, startFleet } from "../local/fleet.ts";

const fleet = await startFleet();
const [serviceName, service] = Object.entries(LOCAL_SERVICES)[0] ?? [];
console.log(`
MCP Fleet is running locally.

  Registry          ${fleet.registryUrl}/            (API: ${fleet.registryUrl}/v0.1/servers)
  Presto server     ${fleet.prestoUrl}/mcp          (legacy SSE: ${fleet.prestoUrl}/sse)
  Sign-in (OAuth)   ${fleet.authUrl}              (metadata: ${fleet.authUrl}/.well-known/oauth-authorization-server)
  Company SSO (dev) ${fleet.idpUrl}              (local OpenID Provider)
  Presto upstream   ${fleet.upstreamUrl}              (local Trino-compatible coordinator)

Point an MCP client at ${fleet.prestoUrl}/mcp; it signs you in through the browser.
Local accounts (dev only): alice / alice-password (data-eng, ads), bob / bob-password (finance),
carol / carol-password (no group: refused by Presto), admin / admin-password.
Service identity (client credentials, dev only): ${serviceName} / ${service?.secret}
Logs: .wrangler/logs/. Press Ctrl-C to stop.`);

let stopping = false;
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, async () => {
    if (stopping) return;
    stopping = true;
    await fleet.stop();
    process.exit(0);
  });
}
