/**
 * The approval page's binding rules in workerd against a real D1: only the person whose call it is
 * decides (by IdP subject), only for the arguments shown, only before the expiry, only once, only
 * from this page's own form (Origin and form token); the call consumes an approval exactly once,
 * for the same subject, server, tool and arguments. Every decision and refused attempt is audited.
 * The whole path (a real client, the page in Chromium) is test/e2e/approvals.e2e.test.ts.
 */
import { env } from "cloudflare:test";
import { desc, sql } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { describe, expect, it } from "vitest";
import {
  approvalsRetentionDays,
  closeApproval,
  consumeApproval,
  createApproval,
  getApproval,
  SWEEP_GRACE_MS,
} from "../shared/approval/approval.store";
import { auditEvents } from "../shared/db/fleet.schema";
import { digestArguments } from "../shared/mcp/tool.invoke";
import { sweepApprovals } from "./registry.approvals";
import { pageApp } from "./registry.page";

const ORIGIN = "http://localhost";
const ISSUER = "http://localhost:8789";
const ALICE = { name: "alice", sub: "alice-sub" };
const MALLORY = { name: "mallory", sub: "mallory-sub" };
const subjectOf = (user: { sub: string }) => `${ISSUER}#${user.sub}`;

function sessionCookie(user: { name: string; sub: string }): string {
  const exp = Math.floor(Date.now() / 1000) + 300;
  const claims = {
    props: { kind: "user", iss: ISSUER, sub: user.sub, username: user.name, principal: `${user.name}@example.com` },
    scope: ["registry:read"],
    exp,
  };
  const session = { a: `test.${btoa(JSON.stringify(claims))}`, e: exp, c: "page-test-client" };
  return `fleet_session=${btoa(JSON.stringify(session)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "")}`;
}

async function pending(options: { args?: Record<string, unknown>; expiresIn?: number; tool?: string } = {}) {
  const args = options.args ?? { queryId: "q-1" };
  return createApproval(env.DB, {
    serverName: "echo",
    toolName: options.tool ?? "echo_forget",
    subject: subjectOf(ALICE),
    callerId: "user:alice@example.com",
    sessionId: "session-1",
    argsDigest: digestArguments(args),
    arguments: args,
    action: "Make the echo service forget every message you sent?",
    expiresAt: Date.now() + (options.expiresIn ?? 60_000),
  });
}

async function view(id: string, user?: { name: string; sub: string }) {
  const response = await pageApp.request(
    `${ORIGIN}/approvals/${id}`,
    { headers: user ? { cookie: sessionCookie(user) } : {} },
    env,
  );
  return { response, html: await response.text() };
}

async function decide(
  id: string,
  user: { name: string; sub: string } | undefined,
  fields: Record<string, string>,
  headers: Record<string, string> = { origin: ORIGIN, "content-type": "application/x-www-form-urlencoded" },
) {
  const response = await pageApp.request(
    `${ORIGIN}/approvals/${id}`,
    {
      method: "POST",
      headers: { ...headers, ...(user ? { cookie: sessionCookie(user) } : {}) },
      body: new URLSearchParams(fields).toString(),
    },
    env,
  );
  return { response, html: await response.text() };
}

async function auditFor(id: string) {
  return drizzle(env.DB)
    .select()
    .from(auditEvents)
    .where(sql`instr(${auditEvents.reason}, ${`[approval ${id}]`}) > 0`)
    .orderBy(desc(auditEvents.at))
    .all();
}

const binding = (row: { argsDigest: string; toolName: string }) => ({
  subject: subjectOf(ALICE),
  serverName: "echo",
  toolName: row.toolName,
  argsDigest: row.argsDigest,
});

describe("the approval page", () => {
  it("shows the owner the exact action with Approve and Reject; asks others to sign in or refuses them", async () => {
    const row = await pending({ args: { queryId: "q-<script>" } });
    const owner = await view(row.id, ALICE);
    expect(owner.response.status).toBe(200);
    expect(owner.html).toContain("Approve echo_forget on echo?");
    expect(owner.html).toContain("q-&lt;script&gt;");
    expect(owner.html).toContain(row.argsDigest);
    expect(owner.html).toContain(`name="token" value="${row.formToken}"`);
    expect(owner.html).toContain('value="approve"');

    const other = await view(row.id, MALLORY);
    expect(other.response.status).toBe(403);
    expect(other.html).toContain("This approval request is not yours");
    expect(other.html).not.toContain(row.formToken);
    expect(other.html).not.toContain("q-&lt;script&gt;");

    const anonymous = await view(row.id);
    expect(anonymous.response.status).toBe(401);
    expect(anonymous.html).toContain(`/auth/signin?return=${encodeURIComponent(`/approvals/${row.id}`)}`);
    expect(anonymous.html).not.toContain(row.formToken);
    expect((await view("no-such-id", ALICE)).response.status).toBe(404);
  });

  it("takes the owner's approval once; a second decision and a second consumption are refused", async () => {
    const row = await pending();
    const fields = { decision: "approve", token: row.formToken, digest: row.argsDigest };
    const first = await decide(row.id, ALICE, fields);
    expect(first.response.status).toBe(303);
    expect(first.response.headers.get("location")).toBe(`/approvals/${row.id}`);
    expect((await getApproval(env.DB, row.id))?.status).toBe("approved");

    const again = await decide(row.id, ALICE, { ...fields, decision: "reject" });
    expect(again.response.status).toBe(409);
    expect(again.html).toContain("already been decided");
    expect((await getApproval(env.DB, row.id))?.status).toBe("approved");

    expect(await consumeApproval(env.DB, row.id, binding(row))).toBe(true);
    expect(await consumeApproval(env.DB, row.id, binding(row))).toBe(false);
    expect((await view(row.id, ALICE)).html).toContain("Approved · the call ran");

    const audit = await auditFor(row.id);
    expect(audit.map((event) => event.decision).sort()).toEqual(["approved", "refused"]);
    expect(audit.find((event) => event.decision === "approved")).toMatchObject({
      serverName: "echo",
      callerId: "user:alice@example.com",
      action: "approval decision echo_forget",
      argsDigest: row.argsDigest,
    });
  });

  it("records a rejection, which no call can consume", async () => {
    const row = await pending();
    const rejected = await decide(row.id, ALICE, { decision: "reject", token: row.formToken, digest: row.argsDigest });
    expect(rejected.response.status).toBe(303);
    expect((await getApproval(env.DB, row.id))?.status).toBe("rejected");
    expect(await consumeApproval(env.DB, row.id, binding(row))).toBe(false);
    expect((await auditFor(row.id)).map((event) => event.decision)).toEqual(["rejected"]);
  });

  it("refuses another person, even holding the form token, and audits the attempt", async () => {
    const row = await pending();
    const attempt = await decide(row.id, MALLORY, {
      decision: "approve",
      token: row.formToken,
      digest: row.argsDigest,
    });
    expect(attempt.response.status).toBe(403);
    expect((await getApproval(env.DB, row.id))?.status).toBe("pending");
    const [audit] = await auditFor(row.id);
    expect(audit).toMatchObject({ decision: "refused", callerId: "user:mallory@example.com" });
    expect(audit?.reason).toContain("belongs to someone else");
    expect(await consumeApproval(env.DB, row.id, binding(row))).toBe(false);
  });

  it("refuses a decision for other arguments than those shown", async () => {
    const row = await pending();
    const changed = digestArguments({ queryId: "q-2" });
    const attempt = await decide(row.id, ALICE, { decision: "approve", token: row.formToken, digest: changed });
    expect(attempt.response.status).toBe(403);
    expect(attempt.html).toContain("the arguments are not the ones this request was made for");
    expect((await getApproval(env.DB, row.id))?.status).toBe("pending");
  });

  it("refuses a decision after the expiry", async () => {
    const row = await pending({ expiresIn: -1 });
    const late = await decide(row.id, ALICE, { decision: "approve", token: row.formToken, digest: row.argsDigest });
    expect(late.response.status).toBe(409);
    expect(late.html).toContain("has expired");
    expect((await getApproval(env.DB, row.id))?.status).toBe("pending");
    expect((await view(row.id, ALICE)).html).toContain("Expired");
    expect((await view(row.id, ALICE)).html).not.toContain('value="approve"');
  });

  it("puts nothing on record for forged POSTs from nobody, or for requests that do not exist", async () => {
    const before = await env.DB.prepare("SELECT count(*) AS n FROM audit_events").first<{ n: number }>();
    const row = await pending();
    const form = "application/x-www-form-urlencoded";
    for (const id of [row.id, "no-such-request", crypto.randomUUID()]) {
      const anonymous = await decide(
        id,
        undefined,
        { decision: "approve" },
        { origin: "https://evil.example", "content-type": form },
      );
      expect(anonymous.response.status).toBe(403);
    }
    const unknown = await decide("no-such-request", ALICE, { decision: "approve" });
    expect(unknown.response.status).toBe(404);
    const after = await env.DB.prepare("SELECT count(*) AS n FROM audit_events").first<{ n: number }>();
    expect(after?.n).toBe(before?.n);
    expect((await getApproval(env.DB, row.id))?.status).toBe("pending");
  });

  it("refuses a forged form: another Origin, no Origin, a JSON body, a wrong or missing token", async () => {
    const row = await pending();
    const good = { decision: "approve", token: row.formToken, digest: row.argsDigest };
    const form = "application/x-www-form-urlencoded";
    const forged = [
      await decide(row.id, ALICE, good, { origin: "https://evil.example", "content-type": form }),
      await decide(row.id, ALICE, good, { "content-type": form }),
      await decide(row.id, ALICE, good, { origin: "null", "content-type": form }),
      await decide(row.id, ALICE, good, { origin: ORIGIN, "content-type": "application/json" }),
    ];
    expect(forged.map((attempt) => attempt.response.status)).toEqual([403, 403, 403, 403]);
    const noToken = await decide(row.id, ALICE, { decision: "approve", digest: row.argsDigest });
    const wrongToken = await decide(row.id, ALICE, { ...good, token: `${row.formToken.slice(0, -2)}xx` });
    expect([noToken.response.status, wrongToken.response.status]).toEqual([403, 403]);
    expect(wrongToken.html).toContain("anti-forgery token");
    expect((await getApproval(env.DB, row.id))?.status).toBe("pending");
    const audit = await auditFor(row.id);
    expect(audit).toHaveLength(6);
    expect(audit.every((event) => event.decision === "refused")).toBe(true);
  });

  it("lets a call consume only its own approval: same subject, server, tool and arguments", async () => {
    const row = await pending();
    await decide(row.id, ALICE, { decision: "approve", token: row.formToken, digest: row.argsDigest });
    const own = binding(row);
    expect(await consumeApproval(env.DB, row.id, { ...own, subject: subjectOf(MALLORY) })).toBe(false);
    expect(await consumeApproval(env.DB, row.id, { ...own, serverName: "presto" })).toBe(false);
    expect(await consumeApproval(env.DB, row.id, { ...own, toolName: "echo_say" })).toBe(false);
    expect(await consumeApproval(env.DB, row.id, { ...own, argsDigest: digestArguments({ queryId: "q-2" }) })).toBe(
      false,
    );
    expect(await consumeApproval(env.DB, row.id, own)).toBe(true);
  });

  it("lists the signed-in person's pending and past approvals, nobody else's", async () => {
    const open = await pending({ tool: "echo_listed_open" });
    const done = await pending({ tool: "echo_listed_done" });
    await decide(done.id, ALICE, { decision: "reject", token: done.formToken, digest: done.argsDigest });
    const mine = await pageApp.request(`${ORIGIN}/approvals`, { headers: { cookie: sessionCookie(ALICE) } }, env);
    const html = await mine.text();
    expect(mine.status).toBe(200);
    const [waiting, past] = html.split("Decided or ended");
    expect(waiting).toContain(`/approvals/${open.id}`);
    expect(past).toContain(`/approvals/${done.id}`);
    expect(past).toContain("Rejected");
    const theirs = await pageApp.request(`${ORIGIN}/approvals`, { headers: { cookie: sessionCookie(MALLORY) } }, env);
    expect(await theirs.text()).not.toContain(open.id);
    expect((await pageApp.request(`${ORIGIN}/approvals`, {}, env)).status).toBe(401);
  });
});

describe("the registry's sweep", () => {
  it("closes requests left pending a minute past their expiry, and audits each as expired", async () => {
    const abandoned = await pending({ expiresIn: -(SWEEP_GRACE_MS + 1_000) });
    const recent = await pending({ expiresIn: -1_000 });
    const open = await pending();
    expect((await sweepApprovals(env)).closed).toBeGreaterThanOrEqual(1);
    expect((await getApproval(env.DB, abandoned.id))?.status).toBe("expired");
    expect((await getApproval(env.DB, recent.id))?.status).toBe("pending");
    expect((await getApproval(env.DB, open.id))?.status).toBe("pending");
    const [audit] = await auditFor(abandoned.id);
    expect(audit).toMatchObject({
      decision: "expired",
      action: "approval echo_forget",
      callerId: "user:alice@example.com",
      argsDigest: abandoned.argsDigest,
    });
    expect(await consumeApproval(env.DB, abandoned.id, binding(abandoned))).toBe(false);
  });
});

describe("the retention of ended approval requests", () => {
  const DAY = 86_400_000;

  it("prunes requests that ended more than 90 days ago, keeps pending and recent ones, and keeps the audit", async () => {
    const now = Date.now();
    const ago = (days: number) => now - days * DAY;
    // Ended 100 days ago, each way a request ends: approved (and consumed), rejected, expired, cancelled.
    const approved = await pending({ tool: "echo_prune_approved" });
    await decide(approved.id, ALICE, { decision: "approve", token: approved.formToken, digest: approved.argsDigest });
    expect(await consumeApproval(env.DB, approved.id, binding(approved))).toBe(true);
    const rejected = await pending({ tool: "echo_prune_rejected" });
    await decide(rejected.id, ALICE, { decision: "reject", token: rejected.formToken, digest: rejected.argsDigest });
    const cancelled = await pending({ tool: "echo_prune_cancelled" });
    expect(await closeApproval(env.DB, cancelled.id, "cancelled")).toBe(true);
    const expired = await pending({ tool: "echo_prune_expired", expiresIn: -(SWEEP_GRACE_MS + 1_000) });
    expect((await sweepApprovals(env)).closed).toBeGreaterThanOrEqual(1);
    expect((await getApproval(env.DB, expired.id))?.status).toBe("expired");
    const old = [approved, rejected, cancelled, expired];
    for (const row of old) {
      await env.DB.prepare("UPDATE approvals SET created_at = ?2, decided_at = ?2 WHERE id = ?1")
        .bind(row.id, ago(100))
        .run();
    }
    // Ended 10 days ago; and one created 100 days ago but still pending (never pruned).
    const recent = await pending({ tool: "echo_prune_recent" });
    await decide(recent.id, ALICE, { decision: "reject", token: recent.formToken, digest: recent.argsDigest });
    await env.DB.prepare("UPDATE approvals SET decided_at = ?2 WHERE id = ?1").bind(recent.id, ago(10)).run();
    const open = await pending({ tool: "echo_prune_open", expiresIn: 10 * 60_000 });
    await env.DB.prepare("UPDATE approvals SET created_at = ?2 WHERE id = ?1").bind(open.id, ago(100)).run();
    // Decided on the page and expired by the sweep: on record (a cancellation is audited by its call).
    const audited = [approved, rejected, expired];
    const auditBefore = await Promise.all(audited.map((row) => auditFor(row.id)));
    expect(auditBefore.map((events) => events.length > 0)).toEqual([true, true, true]);

    const swept = await sweepApprovals(env, now);
    expect(swept.pruned).toBe(4);
    for (const row of old) expect(await getApproval(env.DB, row.id)).toBeUndefined();
    expect((await getApproval(env.DB, recent.id))?.status).toBe("rejected");
    expect((await getApproval(env.DB, open.id))?.status).toBe("pending");
    // The audit trail is kept whole.
    expect(await Promise.all(audited.map((row) => auditFor(row.id)))).toEqual(auditBefore);
    // The page answers a pruned request as unknown; nothing more is pruned on the next tick.
    expect((await view(approved.id, ALICE)).response.status).toBe(404);
    expect((await sweepApprovals(env, now)).pruned).toBe(0);
    // A shorter window from the environment; a bad one reads as the default.
    expect((await sweepApprovals({ ...env, APPROVALS_RETENTION_DAYS: "7" }, now)).pruned).toBe(1);
    expect(await getApproval(env.DB, recent.id)).toBeUndefined();
    expect(approvalsRetentionDays("0")).toBe(90);
    expect(approvalsRetentionDays("abc")).toBe(90);
  });
});
