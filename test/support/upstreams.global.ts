/** Starts the local Presto-compatible coordinator for the workerd test projects. */
import type { TestProject } from "vitest/node";
import { startPrestoUpstream } from "../../local/presto.upstream.ts";

declare module "vitest" {
  export interface ProvidedContext {
    prestoUrl: string;
  }
}

export default async function setup(project: TestProject) {
  const upstream = await startPrestoUpstream({ port: 0, pageSize: 500 });
  project.provide("prestoUrl", upstream.url);
  return () => upstream.close();
}
