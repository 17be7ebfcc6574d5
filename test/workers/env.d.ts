import type { D1Migration } from "cloudflare:test";
import type { RegistryEnv } from "../../registry/registry.env";
import type { KitEnv } from "../../shared/mcp";
import type { ServerPolicy } from "../../shared/registry/access";
import type { RegistryBinding } from "../../shared/registry/registry.contract";

/** test/workers/registry-stub.js: the registry RPC plus what tests use to steer it. */
interface RegistryStub extends RegistryBinding {
  setPolicy(name: string, policy: ServerPolicy | null): Promise<void>;
  setUnreachable(unreachable: boolean): Promise<void>;
  setDelay(ms: number): Promise<void>;
  calls(): Promise<number>;
  reset(): Promise<void>;
  approvePublished(
    name: string,
    approvedVersion: string,
    toolsDigest: string,
    published: { environments: string[]; allowedGroups: string[]; allowedServices: boolean | string[] },
  ): Promise<void>;
}

declare global {
  namespace Cloudflare {
    interface Env extends KitEnv, Omit<RegistryEnv, keyof KitEnv> {
      TEST_MIGRATIONS: D1Migration[];
      ECHO_UPSTREAM_URL: string;
      REGISTRY: RegistryStub;
    }
  }
}

declare module "vitest" {
  export interface ProvidedContext {
    /** The local upstream of the project's server (test/support/upstream.global.ts). */
    upstreamUrl: string;
    /** Origins of the registry health probe's targets (test/support/health-targets.global.ts). */
    healthTargets: { healthy: string; authOnly: string; failing: string; slow: string; unreachable: string };
  }
}
