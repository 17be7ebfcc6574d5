/**
 * Starts the whole fleet under `wrangler dev` for the end-to-end tests (ports apart from
 * `npm start`), plus a tiny control endpoint through which a test can restart a Worker.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestProject } from "vitest/node";
import { startFleet } from "../../local/fleet.ts";

declare module "vitest" {
  export interface ProvidedContext {
    registryUrl: string;
    prestoServerUrl: string;
    upstreamUrl: string;
    authUrl: string;
    idpUrl: string;
    /** POST {controlUrl}/restart/presto restarts that Worker's wrangler process. */
    controlUrl: string;
  }
}

export default async function setup(project: TestProject) {
  const state = mkdtempSync(join(tmpdir(), "mcp-fleet-e2e-"));
  // FLEET_E2E_PORT_BASE lets two checkouts run their end-to-end suites side by side.
  const base = Number(process.env.FLEET_E2E_PORT_BASE ?? 18787);
  const fleet = await startFleet({
    registryPort: base,
    prestoPort: base + 1,
    authPort: base + 2,
    idpPort: 0,
    upstreamPort: 0,
    persistTo: join(state, "state"),
    logDir: join(state, "logs"),
    upstream: { pageSize: 500 },
    // Short, so a test that deprecates a server sees it refused within a second.
    registryCacheMs: 1_000,
  });
  const control = createServer(async (request, response) => {
    const name = /^\/restart\/(registry|presto|auth)$/.exec(request.url ?? "")?.[1] as
      | "registry"
      | "presto"
      | "auth"
      | undefined;
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
  project.provide("prestoServerUrl", fleet.prestoUrl);
  project.provide("upstreamUrl", fleet.upstreamUrl);
  project.provide("authUrl", fleet.authUrl);
  project.provide("idpUrl", fleet.idpUrl);
  project.provide("controlUrl", `http://127.0.0.1:${(control.address() as AddressInfo).port}`);
  return async () => {
    control.close();
    await fleet.stop();
    rmSync(state, { recursive: true, force: true });
  };
}
