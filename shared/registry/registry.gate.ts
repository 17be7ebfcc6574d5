/**
 * "Servers obey the registry": before a request reaches a session, the registry's policy for
 * the server decides. The server must be registered and approved, approved for the environment
 * this deployment runs in (FLEET_ENV), and the caller must be in one of the groups, or be one of
 * the services, that the registry allows. The spec's own `access.groups/services` are only the
 * proposal in the publish document; they are not consulted here.
 * Reading the policy: see registry.client.ts (cached, stale-if-error, then fail closed).
 */
import type { Caller } from "../auth/caller";
import type { KitEnv } from "../mcp/server.definition";
import { checkServerPolicy } from "./access";
import { DEFAULT_ENVIRONMENT } from "./publish.document";
import { cacheMsFrom, RegistryUnreachableError, ServerPolicyCache } from "./registry.client";

export type RegistryGateDecision =
  | { allowed: true }
  /** 403: the registry says no. 503: the registry could not be asked (fail closed), or misconfigured. */
  | { allowed: false; status: 403 | 503; reason: string; message: string };

/** The gate for one server; its policy cache lives as long as the isolate. */
export function registryGate(serverName: string, cache = new ServerPolicyCache()) {
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
    const decision = checkServerPolicy(policy, caller, env.FLEET_ENV || DEFAULT_ENVIRONMENT);
    if (!decision.allowed) {
      return { allowed: false, status: 403, reason: decision.reason, message: `Forbidden: ${decision.reason}` };
    }
    return { allowed: true };
  };
}
