/**
 * High-risk approvals on 2026-07-28 (approval.modern.page.ts): the first call answers
 * input_required with a URL-mode elicitation linking to the registry page and a signed requestState
 * carrying the approval's id; the retry reads the page's decision from D1 (written here as the page
 * writes it, with decideApproval) and runs the handler only for an approval of exactly this call,
 * once. The page's own rules: registry/registry.approvals.test.ts.
 */
import { env, runDurableObjectAlarm } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { decideApproval, getApproval } from "../../shared/approval/approval.store";
import { digestArguments } from "../../shared/mcp/tool.invoke";
import { bearer, callerObjectOf, postRpc, textOf, userIdOf } from "./mcp-client";

const MODERN = "2026-07-28";
const REGISTRY = env.REGISTRY_URL as string;
const callers = env.CALLERS as DurableObjectNamespace;
const WRITER = (name: string) => `${name}; groups=data-eng; scopes=echo:read echo:write`;
const URL_ONLY = { elicitation: { url: {} } };
const accept = { approval: { action: "accept" } };

type Answer = { result?: Record<string, unknown>; error?: { code: number; message: string } };

function callPurge(
  user: string,
  prefix: string,
  extra: Record<string, unknown> = {},
  capabilities: object = URL_ONLY,
): Promise<Answer> {
  return callModern(user, "echo_purge", { prefix }, extra, capabilities);
}

function callModern(
  user: string,
  tool: string,
  args: Record<string, unknown>,
  extra: Record<string, unknown> = {},
  capabilities: object = URL_ONLY,
): Promise<Answer> {
  return postRpc(
    {
      jsonrpc: "2.0",
      id: crypto.randomUUID(),
      method: "tools/call",
      params: {
        name: tool,
        arguments: args,
        ...extra,
        _meta: {
          "io.modelcontextprotocol/protocolVersion": MODERN,
          "io.modelcontextprotocol/clientCapabilities": capabilities,
          "io.modelcontextprotocol/clientInfo": { name: "raw", version: "1" },
        },
      },
    },
    {
      "mcp-protocol-version": MODERN,
      "mcp-method": "tools/call",
      "mcp-name": tool,
      accept: "application/json, text/event-stream",
      authorization: bearer(user),
    },
  ).then(async (response) => {
    const text = await response.text();
    const data = text.startsWith("{") ? text : ([...text.matchAll(/^data: (.*)$/gm)].at(-1)?.[1] ?? "{}");
    return JSON.parse(data) as Answer;
  });
}

/** The first round: the link's approval id and the state to retry with. */
async function ask(user: string, prefix: string) {
  const first = await callPurge(user, prefix);
  expect(first.result?.resultType).toBe("input_required");
  const requests = first.result?.inputRequests as Record<string, { method: string; params: Record<string, string> }>;
  const link = requests.approval;
  expect(link?.method).toBe("elicitation/create");
  expect(link?.params.mode).toBe("url");
  expect(link?.params.message).toContain(`Purge every item starting with "${prefix}"?`);
  const match = new RegExp(`^${REGISTRY}/approvals/([A-Za-z0-9_-]{43})$`).exec(link?.params.url ?? "");
  expect(match).not.toBeNull();
  return { id: match?.[1] as string, requestState: first.result?.requestState as string };
}

async function decideAsPage(id: string, decision: "approved" | "rejected") {
  const row = await getApproval(env.DB, id);
  if (!row) throw new Error(`no approval ${id}`);
  const decided = await decideApproval(env.DB, {
    id,
    subject: row.subject,
    argsDigest: row.argsDigest,
    formToken: row.formToken,
    decision,
  });
  expect(decided.ok).toBe(true);
}

async function recorded(name: string) {
  await runDurableObjectAlarm(callers.get(callers.idFromName(callerObjectOf("echo", name))));
  const invocations = await env.DB.prepare(
    "SELECT outcome, error_class FROM invocations WHERE caller_id = ? AND tool_name = 'echo_purge'",
  )
    .bind(userIdOf(name))
    .all();
  const audit = await env.DB.prepare(
    "SELECT decision, reason FROM audit_events WHERE caller_id = ? AND action = 'approval echo_purge' ORDER BY at",
  )
    .bind(userIdOf(name))
    .all<{ decision: string; reason: string }>();
  return { invocations: invocations.results, audit: audit.results };
}

describe("high-risk approvals on the registry page, on 2026-07-28", () => {
  it("asks with the page's link; pending asks again; approved runs once; a replay is refused", async () => {
    const { id, requestState } = await ask(WRITER("hal"), "tmp-");
    const row = await getApproval(env.DB, id);
    expect(row).toMatchObject({
      toolName: "echo_purge",
      arguments: { prefix: "tmp-" },
      argsDigest: digestArguments({ prefix: "tmp-" }),
      status: "pending",
    });
    const pending = await callPurge(WRITER("hal"), "tmp-", { requestState, inputResponses: accept });
    expect(pending.result?.resultType).toBe("input_required");
    const again = (pending.result?.inputRequests ?? {}) as Record<string, { params: Record<string, string> }>;
    const link = again.approval;
    expect(link?.params.message).toContain("Not decided yet");
    expect(link?.params.url).toBe(`${REGISTRY}/approvals/${id}`);

    await decideAsPage(id, "approved");
    const approved = await callPurge(WRITER("hal"), "tmp-", {
      requestState: pending.result?.requestState,
      inputResponses: accept,
    });
    expect(textOf(approved.result)).toBe("purged tmp-");
    expect((await getApproval(env.DB, id))?.consumedAt).not.toBeNull();
    for (const state of [requestState, pending.result?.requestState]) {
      const replay = await callPurge(WRITER("hal"), "tmp-", { requestState: state, inputResponses: accept });
      expect(textOf(replay.result)).toContain("this approval was already used");
    }
    const { invocations, audit } = await recorded("hal");
    expect(invocations.filter((row) => row.outcome === "ok")).toHaveLength(1);
    expect(audit.map((row) => row.decision)).toEqual(["approved", "refused", "refused"]);
    expect(audit[0]?.reason).toContain(`[approval ${id}]`);
  });

  it("a normal-risk approval for a client that opens links but answers no forms: the page decides", async () => {
    const first = await callModern(WRITER("ulla"), "echo_delete_item", { item: "u1" });
    expect(first.result?.resultType).toBe("input_required");
    const requests = first.result?.inputRequests as Record<string, { method: string; params: Record<string, string> }>;
    expect(requests.approval?.params.mode).toBe("url");
    const id = new RegExp(`^${REGISTRY}/approvals/([A-Za-z0-9_-]{43})$`).exec(requests.approval?.params.url ?? "")?.[1];
    expect(id).toBeDefined();
    await decideAsPage(id as string, "approved");
    const approved = await callModern(
      WRITER("ulla"),
      "echo_delete_item",
      { item: "u1" },
      {
        requestState: first.result?.requestState,
        inputResponses: accept,
      },
    );
    expect(textOf(approved.result)).toBe("deleted u1");
    // A client that answers forms is asked with the form, as before.
    const form = await callModern(WRITER("ulla"), "echo_delete_item", { item: "u2" }, {}, { elicitation: {} });
    const asked = form.result?.inputRequests as Record<string, { method: string; params: Record<string, unknown> }>;
    expect(asked.approval?.method).toBe("elicitation/create");
    expect(asked.approval?.params.mode ?? "form").toBe("form");
    expect(asked.approval?.params.requestedSchema).toBeDefined();
  });

  it("rejected on the page, expired, or the link declined: nothing runs", async () => {
    const rejected = await ask(WRITER("ida"), "a-");
    await decideAsPage(rejected.id, "rejected");
    const no = await callPurge(WRITER("ida"), "a-", { requestState: rejected.requestState, inputResponses: accept });
    expect(textOf(no.result)).toContain("Not approved: you rejected it on the registry; nothing was done");

    const late = await ask(WRITER("ida"), "b-");
    await env.DB.prepare("UPDATE approvals SET expires_at = ? WHERE id = ?")
      .bind(Date.now() - 1, late.id)
      .run();
    const expired = await callPurge(WRITER("ida"), "b-", { requestState: late.requestState, inputResponses: accept });
    expect(textOf(expired.result)).toContain("Not approved: nobody decided within");
    expect((await getApproval(env.DB, late.id))?.status).toBe("expired");

    const declined = await ask(WRITER("ida"), "c-");
    const answer = { approval: { action: "decline" } };
    const closed = await callPurge(WRITER("ida"), "c-", {
      requestState: declined.requestState,
      inputResponses: answer,
    });
    expect(textOf(closed.result)).toContain("the approval link was declined");
    expect((await getApproval(env.DB, declined.id))?.status).toBe("cancelled");
    // A decision after the link was declined cannot run it either.
    const { invocations, audit } = await recorded("ida");
    expect(invocations.every((row) => row.error_class === "not_approved")).toBe(true);
    expect(audit.map((row) => row.decision)).toEqual(["rejected", "expired", "declined"]);
  });

  it("another caller's state, changed arguments, a form-only client, a client with neither: refused", async () => {
    const { id, requestState } = await ask(WRITER("jon"), "x-");
    await decideAsPage(id, "approved");
    const stranger = await callPurge(WRITER("kim"), "x-", { requestState, inputResponses: accept });
    expect(stranger.error?.code).toBe(-32602);
    const changed = await callPurge(WRITER("jon"), "y-", { requestState, inputResponses: accept });
    expect(textOf(changed.result)).toContain("the arguments changed since the approval was asked for");
    expect((await getApproval(env.DB, id))?.consumedAt).toBeNull();

    const formOnly = await callPurge(WRITER("jon"), "z-", {}, { elicitation: { form: {} } });
    expect(textOf(formOnly.result)).toContain("it lacks URL-mode elicitation");
    const neither = await callPurge(WRITER("jon"), "z-", {}, {});
    expect(textOf(neither.result)).toContain("it supports neither form nor URL-mode elicitation");
    const { invocations } = await recorded("jon");
    expect(invocations.some((row) => row.outcome === "ok")).toBe(false);
  });
});
