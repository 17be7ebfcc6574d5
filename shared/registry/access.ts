/**
 * "May this caller use server X (and tool T)?": one evaluation, used by the registry's access
 * API, its page and MCP tools, the CLI (through the API) and every domain server's gate.
 * The registry supplies the governance (lifecycle, environments, groups, services); the tool
 * rules come from the server's own `defineTool` declarations.
 */
import type { Caller } from "../auth/caller";
import { checkServerAccess, checkToolAccess, type ToolAccess } from "../auth/policy";
import type { Lifecycle, ServiceRule } from "../db/fleet.schema";

/** What a domain server needs to know from the registry to admit a caller. */
export interface ServerPolicy {
  name: string;
  lifecycle: Lifecycle;
  environments: string[];
  allowedGroups: string[];
  allowedServices: ServiceRule;
  /**
   * What the reviewers approved, recorded at the last approval: the version and the digest of its
   * inventory (server text, tools with their task modes, resources, resource templates, prompts:
   * shared/registry/tool.digest.ts). The server refuses to serve when its running version or
   * inventory differ. Null when the server was never approved (or was approved before
   * digests were recorded).
   */
  approvedVersion: string | null;
  toolsDigest: string | null;
}

export type AccessCode =
  | "unknown_server"
  | "not_approved"
  | "deprecated"
  | "retired"
  | "environment"
  | "group"
  | "service"
  | "scope"
  | "human_approval"
  | "unknown_tool";

export type AccessDecision =
  | { allowed: true; scopesNeeded: string[] }
  | { allowed: false; code: AccessCode; reason: string };

/** Only approved servers are usable; the lifecycle decides before any identity does. */
export function checkLifecycle(policy: ServerPolicy, environment: string): AccessDecision {
  const { name, lifecycle } = policy;
  if (lifecycle === "deprecated") {
    return refuse("deprecated", `the ${name} server is deprecated and no longer opens sessions`);
  }
  if (lifecycle === "retired") return refuse("retired", `the ${name} server is retired`);
  if (lifecycle !== "approved") {
    return refuse("not_approved", `the ${name} server is not approved (it is ${lifecycle.replace("_", " ")})`);
  }
  if (!policy.environments.includes(environment)) {
    return refuse(
      "environment",
      `the ${name} server is not approved for the ${environment} environment (only ${policy.environments.join(", ") || "none"})`,
    );
  }
  return { allowed: true, scopesNeeded: [] };
}

/** Lifecycle, then the server's group/service gate. */
export function checkServerPolicy(policy: ServerPolicy, caller: Caller, environment: string): AccessDecision {
  const lifecycle = checkLifecycle(policy, environment);
  if (!lifecycle.allowed) return lifecycle;
  const gate = checkServerAccess(
    policy.name,
    { groups: policy.allowedGroups, services: policy.allowedServices },
    caller,
  );
  if (!gate.allowed) return refuse(caller.kind === "service" ? "service" : "group", gate.reason);
  return { allowed: true, scopesNeeded: [] };
}

/**
 * The full answer for a server and optionally one of its tools. `evaluateScopes: false` answers
 * for a caller whose scopes are unknown (a what-if query): scopes are listed, not enforced.
 */
export function checkAccess(
  policy: ServerPolicy | undefined,
  tools: readonly { name: string; access: ToolAccess; needsApproval: boolean }[],
  caller: Caller,
  options: { environment: string; tool?: string; evaluateScopes?: boolean },
): AccessDecision {
  if (!policy) return refuse("unknown_server", "no such server is registered");
  const server = checkServerPolicy(policy, caller, options.environment);
  if (!server.allowed || !options.tool) return server;
  const tool = tools.find((candidate) => candidate.name === options.tool);
  if (!tool) return refuse("unknown_tool", `the ${policy.name} server has no tool ${options.tool}`);
  const evaluateScopes = options.evaluateScopes ?? true;
  const asChecked = evaluateScopes ? caller : { ...caller, scopes: [...(tool.access.scopes ?? [])] };
  const decision = checkToolAccess(tool, asChecked);
  if (!decision.allowed) {
    const code: AccessCode = decision.missing.startsWith("scope:")
      ? "scope"
      : decision.missing === "human-approval"
        ? "human_approval"
        : decision.missing.startsWith("group:")
          ? "group"
          : "service";
    return refuse(code, decision.reason);
  }
  return { allowed: true, scopesNeeded: [...(tool.access.scopes ?? [])] };
}

function refuse(code: AccessCode, reason: string): AccessDecision {
  return { allowed: false, code, reason };
}
