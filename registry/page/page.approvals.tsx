/**
 * The approval page (docs/approvals.md): `/approvals` lists the signed-in person's approval
 * requests, pending first; `/approvals/<id>` shows one exactly (server, tool, validated arguments,
 * the tool's preview, digest, expiry) and, to the person whose call it is, Approve and Reject.
 * A decision is a POST from this page only: its Origin must be the registry's, its form token the
 * request's, its digest the one shown; then one compare-and-set in D1 (approval.store.ts). Every
 * decision and every refused attempt is audited.
 */
import { Hono } from "hono";
import {
  DECISION_REFUSALS,
  decideApproval,
  effectiveStatus,
  getApproval,
  listApprovals,
} from "../../shared/approval/approval.store";
import { type AuditRecord, approvalPageDecision, writeAuditEvents } from "../../shared/db/audit.store";
import type { ApprovalRow, ApprovalStatus } from "../../shared/db/fleet.schema";
import type { RegistryEnv } from "../registry.env";
import type { RenderPage } from "../registry.page";
import { formatDate } from "./page.format";
import { type PageContext, type PageVariables, resolveViewer } from "./page.session";

type PageEnv = { Bindings: RegistryEnv; Variables: PageVariables };

const STATUS_LABELS: Record<ApprovalStatus, string> = {
  pending: "Waiting for your decision",
  approved: "Approved",
  rejected: "Rejected",
  expired: "Expired",
  cancelled: "Cancelled",
};

const FORM_TYPE = /^(application\/x-www-form-urlencoded|multipart\/form-data)\b/i;

export function approvalRoutes(render: RenderPage) {
  const routes = new Hono<PageEnv>();
  routes.use(async (c, next) => {
    await resolveViewer(c);
    await next();
  });

  const signInFirst = (c: PageContext, here: string) =>
    render(
      c,
      401,
      "Sign in to decide",
      <>
        <h1>Sign in to see this approval request</h1>
        <p>Only the person whose call it is can see it and decide it, signed in as themselves.</p>
        <p>
          <a class="button" href={`/auth/signin?return=${encodeURIComponent(here)}`}>
            Sign in
          </a>
        </p>
      </>,
    );

  routes.get("/", async (c) => {
    const viewer = c.get("viewer");
    if (!viewer) return signInFirst(c, "/approvals");
    const now = Date.now();
    const rows = await listApprovals(c.env.DB, viewer.caller.subject);
    const pending = rows.filter((row) => effectiveStatus(row, now) === "pending");
    const past = rows.filter((row) => effectiveStatus(row, now) !== "pending");
    return render(
      c,
      200,
      "Your approvals",
      <>
        <h1>Your approvals</h1>
        <p class="lede">
          High-risk tool calls you made wait here for your decision; nothing runs until you approve it.
        </p>
        <ApprovalTable
          caption="Waiting for your decision"
          rows={pending}
          now={now}
          empty="Nothing is waiting for you."
        />
        <ApprovalTable caption="Decided or ended" rows={past} now={now} empty="No past approvals yet." />
      </>,
    );
  });

  routes.get("/:id", async (c) => {
    const id = c.req.param("id");
    const viewer = c.get("viewer");
    if (!viewer) return signInFirst(c, `/approvals/${encodeURIComponent(id)}`);
    const row = await getApproval(c.env.DB, id);
    if (!row) return notFound(c, render);
    if (row.subject !== viewer.caller.subject) return someoneElses(c, render);
    return render(c, 200, `Approve ${row.toolName}?`, <ApprovalDetail row={row} now={Date.now()} />);
  });

  routes.post("/:id", async (c) => {
    const id = c.req.param("id");
    const viewer = c.get("viewer");
    const audit = (row: ApprovalRow | undefined, decision: "approved" | "rejected" | "refused", reason: string) =>
      recordAudit(
        c.env.DB,
        approvalPageDecision(
          row?.serverName ?? "registry",
          viewer?.caller,
          row?.toolName ?? "(unknown)",
          row?.argsDigest ?? null,
          decision,
          `${reason} [approval ${id}]`,
        ),
      );
    // Only this page's own form: same Origin (always sent by browsers on a form POST), form encoding.
    const origin = c.req.header("origin");
    if (origin !== new URL(c.env.PUBLIC_URL).origin || !FORM_TYPE.test(c.req.header("content-type") ?? "")) {
      // Audited when it concerns a real request and a signed-in person: anyone else's forged POSTs
      // would otherwise add audit rows without bound.
      const row = viewer ? await getApproval(c.env.DB, id) : undefined;
      if (row) await audit(row, "refused", `a decision sent from another origin (${origin ?? "none"})`);
      return refused(c, render, 403, "This decision did not come from the registry's own page, so it was not taken.");
    }
    if (!viewer) return signInFirst(c, `/approvals/${encodeURIComponent(id)}`);
    const form = await c.req.parseBody();
    const field = (name: string) => (typeof form[name] === "string" ? (form[name] as string) : "");
    const choice = field("decision");
    if (choice !== "approve" && choice !== "reject") {
      return refused(c, render, 400, 'The form must say "decision": approve or reject.');
    }
    const result = await decideApproval(c.env.DB, {
      id,
      subject: viewer.caller.subject,
      argsDigest: field("digest"),
      formToken: field("token"),
      decision: choice === "approve" ? "approved" : "rejected",
    });
    if (result.ok) {
      await audit(
        result.row,
        result.row.status === "approved" ? "approved" : "rejected",
        "decided on the registry page",
      );
      c.header("Cache-Control", "no-store");
      return c.redirect(`/approvals/${encodeURIComponent(id)}`, 303);
    }
    if (result.reason === "not_found") return notFound(c, render); // nothing to put on record
    await audit(result.row, "refused", DECISION_REFUSALS[result.reason]);
    if (result.reason === "other_subject") return someoneElses(c, render);
    const status = result.reason === "already_decided" || result.reason === "expired" ? 409 : 403;
    return refused(c, render, status, `Not taken: ${DECISION_REFUSALS[result.reason]}.`, id);
  });

  return routes;
}

/** Audit writes must not fail the page, nor vanish silently. */
async function recordAudit(d1: D1Database, record: AuditRecord): Promise<void> {
  try {
    await writeAuditEvents(d1, [record]);
  } catch (error) {
    console.error(`audit write failed: ${JSON.stringify(record)}`, error);
  }
}

function notFound(c: PageContext, render: RenderPage) {
  return render(
    c,
    404,
    "No such approval request",
    <>
      <h1>No such approval request</h1>
      <p>
        The link is wrong or the request is gone. <a href="/approvals">See your approvals</a>
      </p>
    </>,
  );
}

function someoneElses(c: PageContext, render: RenderPage) {
  return render(
    c,
    403,
    "Not your approval request",
    <>
      <h1>This approval request is not yours</h1>
      <p>Only the person whose call it is can decide it. Nothing was decided.</p>
      <p>
        <a href="/approvals">See your own approvals</a>
      </p>
    </>,
  );
}

function refused(c: PageContext, render: RenderPage, status: 400 | 403 | 409, message: string, id?: string) {
  return render(
    c,
    status,
    "Decision not taken",
    <>
      <h1>Decision not taken</h1>
      <p class="notice error">{message}</p>
      <p>
        {id ? <a href={`/approvals/${encodeURIComponent(id)}`}>Back to the request</a> : null}{" "}
        <a href="/approvals">See your approvals</a>
      </p>
    </>,
  );
}

function statusLabel(row: ApprovalRow, now: number): string {
  const status = effectiveStatus(row, now);
  if (status === "approved") return row.consumedAt ? "Approved · the call ran" : "Approved · the call resumes";
  return STATUS_LABELS[status];
}

function ApprovalDetail({ row, now }: { row: ApprovalRow; now: number }) {
  const open = effectiveStatus(row, now) === "pending";
  return (
    <>
      <h1>{`Approve ${row.toolName} on ${row.serverName}?`}</h1>
      <p class="lede">{row.action}</p>
      <dl class="facts approval">
        <dt>Status</dt>
        <dd data-field="status">{statusLabel(row, now)}</dd>
        <dt>Server</dt>
        <dd data-field="server">{row.serverName}</dd>
        <dt>Tool</dt>
        <dd data-field="tool">
          <code>{row.toolName}</code>
        </dd>
        <dt>Requested by</dt>
        <dd>{`${row.callerId} · ${formatDate(row.createdAt)}`}</dd>
        <dt>{open ? "Decide before" : "Expiry"}</dt>
        <dd>{formatDate(row.expiresAt)}</dd>
        {row.decidedAt && row.status !== "pending" ? (
          <>
            <dt>Ended</dt>
            <dd>{formatDate(row.decidedAt)}</dd>
          </>
        ) : null}
        <dt>Arguments digest</dt>
        <dd>
          <code>{row.argsDigest}</code>
        </dd>
      </dl>
      <h2>Arguments, exactly as the tool gets them</h2>
      <div class="snippet">
        <pre data-field="arguments">{JSON.stringify(row.arguments, null, 2)}</pre>
      </div>
      {open ? (
        <form method="post" action={`/approvals/${encodeURIComponent(row.id)}`} class="decision">
          <input type="hidden" name="token" value={row.formToken} />
          <input type="hidden" name="digest" value={row.argsDigest} />
          <button type="submit" name="decision" value="approve">
            Approve
          </button>{" "}
          <button type="submit" name="decision" value="reject" class="secondary">
            Reject
          </button>
        </form>
      ) : null}
      <p>
        <a href="/approvals">All your approvals</a>
      </p>
    </>
  );
}

function ApprovalTable(props: { caption: string; rows: ApprovalRow[]; now: number; empty: string }) {
  if (props.rows.length === 0) {
    return (
      <>
        <h2>{props.caption}</h2>
        <p class="muted">{props.empty}</p>
      </>
    );
  }
  return (
    <>
      <h2>{props.caption}</h2>
      <div class="table-wrap">
        <table class="stack approvals">
          <thead>
            <tr>
              <th scope="col">Requested</th>
              <th scope="col">Server</th>
              <th scope="col">Tool</th>
              <th scope="col">Action</th>
              <th scope="col">Status</th>
            </tr>
          </thead>
          <tbody>
            {props.rows.map((row) => (
              <tr>
                <td data-label="Requested">{formatDate(row.createdAt)}</td>
                <td data-label="Server">{row.serverName}</td>
                <td data-label="Tool">
                  <a href={`/approvals/${encodeURIComponent(row.id)}`}>{row.toolName}</a>
                </td>
                <td data-label="Action">{row.action}</td>
                <td data-label="Status">{statusLabel(row, props.now)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </>
  );
}
