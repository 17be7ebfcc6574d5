/**
 * Starts, for a workerd test project, the local upstream fleet.config.ts declares for the server
 * the project provides as `upstreamOf` (vitest.config.ts sets it: a server's own project, or the
 * kit's, which borrows one), on a free port; its URL is provided as `upstreamUrl`.
 */
import type { TestProject } from "vitest/node";
import manifest from "../../fleet.config.ts";
import { localUpstream } from "../../local/fleet.manifest.ts";

declare module "vitest" {
  export interface ProvidedContext {
    upstreamOf: string;
    upstreamUrl: string;
  }
}

export default async function setup(project: TestProject) {
  const name = project.getProvidedContext().upstreamOf;
  const server = manifest.servers.find((candidate) => candidate.name === name);
  const upstream = server && (await localUpstream(server));
  if (!upstream) throw new Error(`fleet.config.ts declares no local upstream for "${name}"`);
  const started = await upstream.start({ ...upstream.testOptions, port: 0, host: "127.0.0.1" });
  project.provide("upstreamUrl", started.url);
  return () => started.close();
}
