/**
 * Scope step-up: which scopes a request would need that the caller's token lacks. A user who
 * may call a tool but whose token was consented for less (e.g. only `presto:read` for a tool
 * that needs `presto:write`) is asked for the missing consent instead of refused outright; the
 * tool's other rules (groups, services, approval) are never stepped up.
 */
import type { Caller } from "../auth/caller";
import { checkToolAccess } from "../auth/policy";
import type { ServerSpec } from "./server.definition";
import type { Tool } from "./tool";

export interface StepUp {
  tool: string;
  /** Every scope the client should hold afterwards: what it has plus what the tool needs. */
  scopes: string[];
  reason: string;
}

/** Whether `tool` would be allowed for `caller` once its token carries the tool's scopes. */
export function allowedWithStepUp(tool: Tool<unknown>, caller: Caller): boolean {
  if (caller.kind !== "user") return false;
  const wider = { ...caller, scopes: [...new Set([...caller.scopes, ...(tool.access.scopes ?? [])])] };
  return checkToolAccess(tool, wider).allowed;
}

/** The scopes a token must carry to use the server at all: declared, else those every tool needs. */
export function baselineScopesOf(spec: ServerSpec<unknown>): string[] {
  if (spec.access.scopes) return [...spec.access.scopes];
  const [first, ...rest] = spec.tools.map((tool) => tool.access.scopes ?? []);
  return (first ?? []).filter((scope) => rest.every((scopes) => scopes.includes(scope)));
}

/**
 * The step-up a POSTed batch of JSON-RPC messages needs, or undefined when none does. Only
 * users are stepped up; a service asks for its scopes itself with the client credentials grant.
 */
export function scopeStepUp(
  tools: readonly Tool<unknown>[],
  caller: Caller,
  messages: readonly unknown[],
  baseline: readonly string[],
): StepUp | undefined {
  if (caller.kind !== "user") return undefined;
  for (const message of messages) {
    const { method, params } = (message ?? {}) as { method?: unknown; params?: { name?: unknown } };
    if (method !== "tools/call") continue;
    const tool = tools.find((candidate) => candidate.name === params?.name);
    if (!tool) continue;
    const missing = (tool.access.scopes ?? []).filter((scope) => !caller.scopes.includes(scope));
    if (missing.length === 0 || !allowedWithStepUp(tool, caller)) continue;
    return {
      tool: tool.name,
      scopes: [...new Set([...baseline, ...caller.scopes, ...(tool.access.scopes ?? [])])],
      reason: `${tool.name} needs the scope ${missing.join(" ")}: consent to it and retry`,
    };
  }
  return undefined;
}
