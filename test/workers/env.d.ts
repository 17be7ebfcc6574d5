import type { D1Migration } from "cloudflare:test";
import type { RegistryEnv } from "../../registry/registry.env";
import type { KitEnv } from "../../shared/mcp";

declare global {
  namespace Cloudflare {
    interface Env extends KitEnv, Omit<RegistryEnv, keyof KitEnv> {
      TEST_MIGRATIONS: D1Migration[];
      PRESTO_URL: string;
      ECHO_UPSTREAM_URL: string;
    }
  }
}

declare module "vitest" {
  export interface ProvidedContext {
    prestoUrl: string;
  }
}
