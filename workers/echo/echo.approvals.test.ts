/**
 * echo_forget is high-risk: the human approves it on the registry page (URL-mode elicitation),
 * never by whatever the client answers. Here the page's decision is made in D1 as the page makes
 * it (decideApproval, with the request's form token and digest; the page's own rules are tested in
 * registry/registry.approvals.test.ts, the browser path in test/e2e/approvals.e2e.test.ts).
 */
import { env } from "cloudflare:test";
import type { ElicitRequest, ElicitResult } from "@modelcontextprotocol/client";
import { describe, expect, it } from "vitest";
import { decideApproval, getApproval } from "../../shared/approval/approval.store";
import { connect, subjectOf, textOf } from "../../test/workers/mcp-client";

const ALICE = "alice; groups=data-eng; scopes=echo:read echo:write";
const REGISTRY = env.REGISTRY_URL as string;

type Result = { isError?: boolean; structuredContent?: Record<string, unknown>; _meta?: Record<string, unknown> };

/** The approval's id from the link the client was given. */
function approvalIdOf(url: string): string {
  const match = new RegExp(`^${REGISTRY}/approvals/([A-Za-z0-9_-]{43})$`).exec(url);
  if (!match?.[1]) throw new Error(`not an approval link: ${url}`);
  return match[1];
}

/** Decides on the page's behalf, as the request's owner, with the form the page gave them. */
async function decideAsPage(id: string, decision: "approved" | "rejected") {
  const row = await getApproval(env.DB, id);
  if (!row) throw new Error(`no approval ${id}`);
  return decideApproval(env.DB, {
    id,
    subject: row.subject,
    argsDigest: row.argsDigest,
    formToken: row.formToken,
    decision,
  });
}

/** A client that declares only URL-mode elicitation and lets `onLink` act on the link it is given. */
async function urlClient(onLink: (params: ElicitRequest["params"]) => Promise<ElicitResult> | ElicitResult) {
  const links: ElicitRequest["params"][] = [];
  const completed: string[] = [];
  const { client } = await connect({
    user: ALICE,
    elicit: {
      modes: { url: true },
      answer: (params) => {
        links.push(params);
        return onLink(params);
      },
      onComplete: (id) => completed.push(id),
    },
  });
  return { client, links, completed };
}

async function say(text: string) {
  const { client } = await connect({ user: ALICE });
  await client.callTool({ name: "echo_say", arguments: { text } });
}

async function historyCount(): Promise<number> {
  const { client } = await connect({ user: ALICE });
  const result = (await client.callTool({ name: "echo_history", arguments: { limit: 100 } })) as Result;
  return ((result.structuredContent?.messages ?? []) as unknown[]).length;
}

describe("a high-risk tool", () => {
  it("runs once the human approves on the registry page, told through a URL elicitation", async () => {
    await say("to forget");
    const { client, links, completed } = await urlClient((params) => {
      // The human opens the link and approves (shortly after the client said it opens it).
      const url = (params as { url: string }).url;
      setTimeout(() => void decideAsPage(approvalIdOf(url), "approved"), 300);
      return { action: "accept" };
    });
    const result = (await client.callTool({ name: "echo_forget", arguments: {} })) as Result;
    expect(result.isError).toBeFalsy();
    expect(result.structuredContent?.forgotten).toBeGreaterThan(0);
    expect(links).toHaveLength(1);
    const link = links[0] as ElicitRequest["params"] & { url: string; elicitationId: string };
    expect(link.mode).toBe("url");
    expect(link.message).toBe(
      "Approve or reject on the fleet registry, signed in as yourself: Make the echo service forget every message you sent? This cannot be undone.",
    );
    const id = approvalIdOf(link.url);
    expect(link.elicitationId).toBe(id);
    expect(completed).toEqual([id]);
    const row = await getApproval(env.DB, id);
    expect(row).toMatchObject({ status: "approved", serverName: "echo", toolName: "echo_forget", arguments: {} });
    expect(row?.subject).toBe(subjectOf("alice"));
    expect(row?.consumedAt).toBeInstanceOf(Date);
    expect(await historyCount()).toBe(0);
  });

  it("does nothing when the human rejects it on the page", async () => {
    await say("to keep");
    const { client } = await urlClient((params) => {
      setTimeout(() => void decideAsPage(approvalIdOf((params as { url: string }).url), "rejected"), 300);
      return { action: "accept" };
    });
    const result = (await client.callTool({ name: "echo_forget", arguments: {} })) as Result;
    expect(result._meta?.["fleet/errorClass"]).toBe("not_approved");
    expect(textOf(result)).toMatch(/^Not approved: you rejected it on the registry; nothing was done: Make the echo/);
    expect(await historyCount()).toBeGreaterThan(0);
  });

  it("ends as not approved when nobody decides before the expiry (APPROVAL_TIMEOUT_MS)", async () => {
    await say("to keep too");
    const { client, links } = await urlClient(() => ({ action: "accept" }));
    const startedAt = Date.now();
    const result = (await client.callTool({ name: "echo_forget", arguments: {} })) as Result;
    expect(Date.now() - startedAt).toBeGreaterThanOrEqual(1_400);
    expect(textOf(result)).toMatch(/^Not approved: nobody decided within 2 s; nothing was done/);
    const id = approvalIdOf((links[0] as { url: string }).url);
    expect((await getApproval(env.DB, id))?.status).toBe("expired");
    // Too late: the page can no longer decide it.
    expect(await decideAsPage(id, "approved")).toMatchObject({ ok: false, reason: "already_decided" });
    expect(await historyCount()).toBeGreaterThan(0);
  });

  it("does nothing when the client declines to open the link, and closes the request", async () => {
    const { client, links } = await urlClient(() => ({ action: "decline" }));
    const result = (await client.callTool({ name: "echo_forget", arguments: {} })) as Result;
    expect(textOf(result)).toMatch(/^Not approved \(the approval link was declined\)/);
    const id = approvalIdOf((links[0] as { url: string }).url);
    expect((await getApproval(env.DB, id))?.status).toBe("cancelled");
    expect(await decideAsPage(id, "approved")).toMatchObject({ ok: false, reason: "already_decided" });
  });

  it("refuses a client that only answers forms: its answer is not a human's approval", async () => {
    const asked: string[] = [];
    const { client } = await connect({
      user: ALICE,
      onElicit: (message) => {
        asked.push(message);
        return { action: "accept", content: { approve: true } };
      },
    });
    const result = (await client.callTool({ name: "echo_forget", arguments: {} })) as Result;
    expect(asked).toEqual([]);
    expect(result._meta?.["fleet/errorClass"]).toBe("not_approved");
    expect(textOf(result)).toContain("it lacks URL-mode elicitation");
  });

  it("refuses a client with neither form nor URL elicitation, saying so", async () => {
    const { client } = await connect({ user: ALICE });
    const result = (await client.callTool({ name: "echo_forget", arguments: {} })) as Result;
    expect(textOf(result)).toBe(
      "Not approved: this action needs a human's approval, and this client cannot ask for it (it supports neither " +
        "form nor URL-mode elicitation); nothing was done: Make the echo service forget every message you sent? This cannot be undone.",
    );
  });
});
