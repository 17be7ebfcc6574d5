/**
 * "Servers obey the registry": before a request reaches a session, the registry's policy for
 * the server decides. The server must be registered and approved, approved for the environment
 * this deployment runs in (FLEET_ENV), running exactly what was approved (its version and the
 * digest of its inventory: server text, tools with their task modes, resources, resource
 * templates and prompts, see tool.digest.ts), and the caller must be in one of the
 * groups, or be one of the services, that the registry allows. The spec's own
 * `access.groups/services` are only the proposal in the publish document; they are not consulted
 * here.
 * Reading the policy: see registry.client.ts (cached, stale-if-error, then fail closed).
 */
import type { Caller } from "../auth/caller";
import type { KitEnv, ServerSpec } from "../mcp/server.definition";
import { checkLifecycle, checkServerPolicy, type ServerPolicy } from "./access";
import { DEFAULT_ENVIRONMENT, runningInventory } from "./publish.document";
import { cacheMsFrom, RegistryUnreachableError, ServerPolicyCache } from "./registry.client";
import { inventoryDigest, shortDigest } from "./tool.digest";

/** What the gate needs to know about the code that is running: the server's own declaration. */
export type RunningServer = Pick<
  ServerSpec<unknown>,
  "name" | "version" | "title" | "description" | "instructions" | "access" | "tools" | "resources" | "prompts"
>;

export type RegistryGateDecision =
  | { allowed: true }
  /** 403: the registry says no. 503: the registry could not be asked (fail closed), or misconfigured. */
  | { allowed: false; status: 403 | 503; reason: string; message: string };

/** The gate for one server; its policy cache (and its own inventory digest) live as long as the isolate. */
export function registryGate(running: RunningServer, cache = new ServerPolicyCache()) {
  const serverName = running.name;
  let runningDigest: string | undefined;
  return async function admit(env: KitEnv, caller: Caller): Promise<RegistryGateDecision> {
    const cacheMs = cacheMsFrom(env.REGISTRY_CACHE_MS);
    if (cacheMs === undefined) {
      const reason = `REGISTRY_CACHE_MS must be a whole number of milliseconds (it is "${env.REGISTRY_CACHE_MS}")`;
      console.error(`${serverName}: ${reason}`);
      return { allowed: false, status: 503, reason, message: "This server is misconfigured; try again later" };
    }
    let policy: Awaited<ReturnType<ServerPolicyCache["policy"]>>;
    try {
      policy = await cache.policy(env.REGISTRY, serverName, cacheMs);
    } catch (error) {
      if (!(error instanceof RegistryUnreachableError)) throw error;
      console.error(error.message, error.cause);
      return {
        allowed: false,
        status: 503,
        reason: error.message,
        message:
          `Service unavailable: registry unreachable, so the ${serverName} server cannot confirm ` +
          "that it is approved or who may use it; try again shortly",
      };
    }
    if (!policy) {
      const reason = `the ${serverName} server is not registered in the fleet registry`;
      return { allowed: false, status: 403, reason, message: `Forbidden: ${reason}` };
    }
    const environment = env.FLEET_ENV || DEFAULT_ENVIRONMENT;
    const lifecycle = checkLifecycle(policy, environment);
    if (lifecycle.allowed) {
      // Kept as a value: a pending promise is never shared between requests (registry.client.ts).
      runningDigest ??= await inventoryDigest(runningInventory(running));
      const mismatch = inventoryMismatch(running, runningDigest, policy);
      if (mismatch) {
        console.error(`${serverName}: ${mismatch}`);
        return {
          allowed: false,
          status: 503,
          reason: mismatch,
          message:
            `Service unavailable: the ${serverName} server is not running what the registry approved (${mismatch}); ` +
            "it serves again once the running code is published and approved",
        };
      }
    }
    const decision = checkServerPolicy(policy, caller, environment);
    if (!decision.allowed) {
      return { allowed: false, status: 403, reason: decision.reason, message: `Forbidden: ${decision.reason}` };
    }
    return { allowed: true };
  };
}

/** Why the running server is not what the registry approved, or undefined when it is. */
function inventoryMismatch(running: RunningServer, digest: string, policy: ServerPolicy): string | undefined {
  if (!policy.approvedVersion || !policy.toolsDigest) {
    return "the registry holds no approved version and tool inventory for it";
  }
  if (running.version !== policy.approvedVersion) {
    return `running version ${running.version} but the registry approved ${policy.approvedVersion}`;
  }
  if (digest !== policy.toolsDigest) {
    return (
      "running inventory differs from the approved one: its server text, tools (or their task modes), " +
      `resources, resource templates or prompts changed (digest ${shortDigest(digest)} vs ${shortDigest(policy.toolsDigest)})`
    );
  }
  return undefined;
}
