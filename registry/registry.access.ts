/**
 * The registry's answer to "may this caller use server X (and tool T)?", as the access API and
 * the registry's MCP tool give it: the one evaluation (shared/registry/access.ts) applied to the
 * server's latest version, read once.
 */
import type { Caller } from "../shared/auth/caller";
import { checkAccess } from "../shared/registry/access";
import { getServerEntry, policyOf, type ServerEntry } from "./registry.store";

export interface AccessQuestion {
  /** The server's short name (already resolved from a full name), or the name as asked if unknown. */
  server: string;
  known: boolean;
  tool?: string;
  environment: string;
  evaluateScopes: boolean;
}

export async function answerAccess(d1: D1Database, caller: Caller, question: AccessQuestion) {
  const latest: ServerEntry | undefined = question.known
    ? await getServerEntry(d1, question.server, "latest")
    : undefined;
  const decision = checkAccess(latest && policyOf(latest.server), latest?.tools ?? [], caller, {
    environment: question.environment,
    tool: question.tool,
    evaluateScopes: question.evaluateScopes,
  });
  const answer = {
    server: question.server,
    ...(question.tool ? { tool: question.tool } : {}),
    environment: question.environment,
    ...(decision.allowed
      ? { allowed: true as const, scopesNeeded: decision.scopesNeeded }
      : { allowed: false as const, code: decision.code, reason: decision.reason }),
    caller: { kind: caller.kind, name: caller.name, groups: caller.groups },
  };
  return { answer, decision, latest };
}
