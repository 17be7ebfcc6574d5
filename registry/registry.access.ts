/**
 * The registry's answer to "may this caller use server X (and tool T)?", as the access API and
 * the registry's MCP tool give it: the one evaluation (shared/registry/access.ts) applied to the
 * version that serves (the approved one; the latest when none is approved), read once: a newer
 * version in review adds no tools until it is approved.
 */
import type { Caller } from "../shared/auth/caller";
import { checkAccess } from "../shared/registry/access";
import { getServedEntry, policyOf, type ServerEntry } from "./registry.store";

export interface AccessQuestion {
  /** The server's short name (already resolved from a full name), or the name as asked if unknown. */
  server: string;
  known: boolean;
  tool?: string;
  environment: string;
  evaluateScopes: boolean;
}

export async function answerAccess(d1: D1Database, caller: Caller, question: AccessQuestion) {
  const served: ServerEntry | undefined = question.known ? await getServedEntry(d1, question.server) : undefined;
  const decision = checkAccess(served && policyOf(served.server), served?.tools ?? [], caller, {
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
  return { answer, decision, served };
}
