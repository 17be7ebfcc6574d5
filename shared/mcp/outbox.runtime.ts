/**
 * The invocation runtime a Durable Object gives the kit (session or caller object alike): the
 * server's name and upstreams, and records and audit events queued in the object's durable
 * outbox (never D1 on the call's path).
 */
import { approvalDecision, denial } from "../db/audit.store";
import type { ServerSpec } from "./server.definition";
import type { OutboxRecord } from "./session.storage";
import type { InvocationRuntime } from "./tool.invoke";

export function outboxRuntime<Upstreams>(
  spec: ServerSpec<Upstreams>,
  env: Record<string, unknown>,
  sessionId: string,
  upstreams: () => Upstreams,
  enqueue: (record: OutboxRecord) => void,
): InvocationRuntime<Upstreams> {
  return {
    serverName: spec.name,
    sessionId,
    env,
    upstreams,
    record: (invocation) => enqueue({ table: "invocations", ...invocation }),
    auditDenial: (caller, action, reason) =>
      enqueue({ table: "audit_events", ...denial(spec.name, caller, action, reason) }),
    auditApproval: ({ caller, toolName, argsDigest, decision, action }) =>
      enqueue({
        table: "audit_events",
        ...approvalDecision(spec.name, caller, toolName, argsDigest, decision, action),
      }),
  };
}
