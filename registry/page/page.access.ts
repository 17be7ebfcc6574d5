/**
 * "Can I use this?" for the signed-in viewer, answered by the fleet's one access evaluation
 * (shared/registry/access.ts). The page's own token carries only `registry:read`, which says
 * nothing about the scopes the viewer's MCP client will be granted, so scopes are listed rather
 * than enforced (`evaluateScopes: false`), as the access API does for a what-if query.
 */
import type { Caller } from "../../shared/auth/caller";
import type { ServerRow, ToolRow } from "../../shared/db/fleet.schema";
import { type AccessDecision, checkAccess } from "../../shared/registry/access";
import { policyOf } from "../registry.store";

export function serverVerdict(server: ServerRow, tools: readonly ToolRow[], caller: Caller, environment: string) {
  return checkAccess(policyOf(server), tools, caller, { environment, evaluateScopes: false });
}

export function toolVerdict(
  server: ServerRow,
  tools: readonly ToolRow[],
  tool: string,
  caller: Caller,
  environment: string,
): AccessDecision {
  return checkAccess(policyOf(server), tools, caller, { environment, tool, evaluateScopes: false });
}
