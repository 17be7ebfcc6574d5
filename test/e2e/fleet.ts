/** The end-to-end fleet's servers (fleet.config.ts), as test/support/fleet.global.ts started them. */
import { inject } from "vitest";
import type { FleetServer } from "../../local/fleet.ts";

/** A server of the manifest, by name. */
export function fleetServer(name: string): FleetServer {
  const server = inject("servers")[name];
  if (!server) {
    const running = Object.keys(inject("servers")).join(", ");
    throw new Error(`this run's fleet has no server "${name}" (it runs ${running}; FLEET_E2E_SERVERS picks them)`);
  }
  return server;
}

/** The URL of a server's local upstream. */
export function upstreamOf(name: string): string {
  const upstream = fleetServer(name).upstream;
  if (!upstream) throw new Error(`${name} has no local upstream in fleet.config.ts`);
  return upstream.url;
}
