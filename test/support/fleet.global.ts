/**
 * Starts the whole fleet (fleet.config.ts) as `wrangler dev` runs it (local/fleet.ts) for the end-to-end tests, on ports
 * apart from `npm start`'s, plus a tiny control endpoint through which a test can restart a Worker.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestProject } from "vitest/node";
import manifest from "../../fleet.config.ts";
import { withServers } from "../../local/fleet.manifest.ts";
import { type FleetServer, startFleet } from "../../local/fleet.ts";
import type { ServerSummary } from "../../local/server.specs.ts";

declare module "vitest" {
  export interface ProvidedContext {
    registryUrl: string;
    /** The manifest's servers by name: origin, local upstream, declaration. */
    servers: Record<string, FleetServer>;
    /** The registry's own MCP server's declaration. */
    registrySpec: ServerSummary;
    authUrl: string;
    idpUrl: string;
    /** POST {controlUrl}/restart/<worker> restarts that Worker's wrangler process (registry, auth, a server). */
    controlUrl: string;
    /** The fleet's local persistence (D1's SQLite file is under it), for tests that read the audit trail. */
    statePath: string;
    /** How long an approval waits for the human in this fleet (ms). */
    approvalTimeoutMs: number;
  }
}

/** FLEET_E2E_APPROVAL_TIMEOUT_MS, else 10 s. */
const APPROVAL_TIMEOUT_MS = Number(process.env.FLEET_E2E_APPROVAL_TIMEOUT_MS ?? 10_000);

/**
 * FLEET_E2E_SERVERS=presto,echo starts only those of the manifest's servers (with the registry, the
 * auth Worker and the IdP), for a run whose files need no other (scripts/test.ts: the browser and
 * identity half); a file asking for another then fails naming it (fleet.ts: fleetServer).
 */
const manifestForRun = () => withServers(manifest, process.env.FLEET_E2E_SERVERS, "FLEET_E2E_SERVERS");

export default async function setup(project: TestProject) {
  const state = mkdtempSync(join(tmpdir(), "mcp-fleet-e2e-"));
  const fleet = await startFleet({
    manifest: manifestForRun(),
    // FLEET_E2E_PORT_BASE lets two checkouts run their end-to-end suites side by side.
    portBase: Number(process.env.FLEET_E2E_PORT_BASE ?? 18787),
    forTests: true,
    persistTo: join(state, "state"),
    logDir: join(state, "logs"),
    // Short, so a test that deprecates a server sees it refused within a second.
    registryCacheMs: 1_000,
    // Long enough to sign in and decide in Chromium, short enough to wait out in the timeout test.
    serverVars: { APPROVAL_TIMEOUT_MS: String(APPROVAL_TIMEOUT_MS) },
  });
  const control = createServer(async (request, response) => {
    const name = /^\/restart\/([a-z][a-z0-9-]*)$/.exec(request.url ?? "")?.[1];
    if (request.method !== "POST" || !name) {
      response.writeHead(404).end();
      return;
    }
    try {
      await fleet.restart(name);
      response.writeHead(204).end();
    } catch (error) {
      response.writeHead(500).end(String(error));
    }
  });
  await new Promise<void>((resolve) => control.listen(0, "127.0.0.1", resolve));
  project.provide("registryUrl", fleet.registryUrl);
  project.provide("servers", Object.fromEntries(fleet.servers.map((server) => [server.name, server])));
  project.provide("registrySpec", fleet.registrySpec);
  project.provide("authUrl", fleet.authUrl);
  project.provide("idpUrl", fleet.idpUrl);
  project.provide("statePath", join(state, "state"));
  project.provide("approvalTimeoutMs", APPROVAL_TIMEOUT_MS);
  project.provide("controlUrl", `http://127.0.0.1:${(control.address() as AddressInfo).port}`);
  return async () => {
    control.close();
    await fleet.stop();
    rmSync(state, { recursive: true, force: true });
  };
}
