/**
 * `npm start`: the whole fleet (fleet.config.ts) on local defaults, until Ctrl-C or SIGTERM.
 * FLEET_PORT_BASE moves every port (the registry's is the base; default 8787); FLEET_STATE_DIR
 * holds local state and logs (default .wrangler/); FLEET_SERVERS=presto,echo starts only those
 * servers (the registry, sign-in and the IdP always). Nothing it starts outlives it: on SIGINT or
 * SIGTERM it stops every Worker and upstream; if it is killed outright, or its parent dies, the
 * process guardian (local/process.guardian.ts) stops the Workers (upstreams die with it).
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import manifest from "../fleet.config.ts";
import { withServers } from "../local/fleet.manifest.ts";
import { type Fleet, LOCAL_SERVICES, startFleet } from "../local/fleet.ts";

let fleet: Fleet | undefined;
let stopping = false;
async function stop(code: number): Promise<never> {
  if (!stopping) {
    stopping = true;
    // Still starting: exiting closes the guardian's pipe, and the guardian stops what had started.
    await fleet?.stop();
  }
  process.exit(code);
}
for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) process.on(signal, () => void stop(0));
// Orphaned (the parent, e.g. `npm`, was killed): stop too, rather than hold the ports.
const parent = process.ppid;
setInterval(() => process.ppid !== parent && void stop(0), 1_000).unref();

const stateDir = process.env.FLEET_STATE_DIR;
fleet = await startFleet({
  // FLEET_SERVERS=presto,echo: only those servers (with the registry, sign-in and the IdP).
  manifest: withServers(manifest, process.env.FLEET_SERVERS, "FLEET_SERVERS"),
  ...(process.env.FLEET_PORT_BASE ? { portBase: Number(process.env.FLEET_PORT_BASE) } : {}),
  ...(stateDir ? { persistTo: join(stateDir, "state"), logDir: join(stateDir, "logs") } : {}),
});

const users = JSON.parse(readFileSync(new URL("../local/idp.users.json", import.meta.url), "utf8")).users as Record<
  string,
  { password: string; groups: string[] }
>;
const pad = (text: string) => text.padEnd(24);
const [first] = fleet.servers;
console.log(`
MCP Fleet is running locally.

  ${pad("Registry")}${fleet.registryUrl}/   (API: ${fleet.registryUrl}/v0.1/servers, MCP: ${fleet.registryUrl}/mcp)
${fleet.servers
  .map(
    (server) =>
      `  ${pad(server.spec.title)}${server.url}/mcp   (legacy SSE: ${server.url}/sse)` +
      (server.upstream ? `\n  ${pad(`  upstream`)}${server.upstream.url}   (${server.upstream.label})` : ""),
  )
  .join("\n")}
  ${pad("Sign-in (OAuth)")}${fleet.authUrl}   (metadata: ${fleet.authUrl}/.well-known/oauth-authorization-server)
  ${pad("Company SSO (dev)")}${fleet.idpUrl}   (local OpenID Provider)

Point an MCP client at ${first ? `${first.url}/mcp` : `${fleet.registryUrl}/mcp`}; it signs you in through the browser.
Who may use what (groups as each server proposes them; the registry's approval governs):
${fleet.servers.map((server) => `  ${pad(server.name)}${server.spec.groups.join(", ") || "every signed-in user"}`).join("\n")}
Local accounts (dev only; user / password: groups):
${Object.entries(users)
  .map(([name, user]) => `  ${name} / ${user.password}: ${user.groups.join(", ") || "no group"}`)
  .join("\n")}
Service identity (client credentials, dev only): reporting-bot / ${LOCAL_SERVICES["reporting-bot"].secret}
Logs: ${stateDir ? join(stateDir, "logs") : ".wrangler/logs"}/. Press Ctrl-C to stop.`);
