/**
 * The Airflow write tools: nothing changes unless the human approves the exact action and its
 * consequence; per-tool groups, airflow:write, no services; human-in-the-loop answers chosen by
 * the human through elicitation; trigger-and-wait with progress.
 */
import type { ElicitRequest, ElicitResult } from "@modelcontextprotocol/client";
import { describe, expect, inject, it } from "vitest";
import { connect, textOf } from "../../test/workers/mcp-client";
import { modernRpc, untilTask } from "../../test/workers/modern-rpc";

const upstream = inject("upstreamUrl");
const ALICE = "alice; groups=data-eng,ads; scopes=airflow:read airflow:write";
const ANN = "ann; groups=ads; scopes=airflow:read airflow:write";
const READER = "alice; groups=data-eng,ads; scopes=airflow:read";
const BOT = "service:etl-bot; scopes=airflow:read airflow:write";

type Result = { isError?: boolean; structuredContent?: Record<string, unknown>; _meta?: Record<string, unknown> };
type Answer = (message: string, params: ElicitRequest["params"]) => ElicitResult;
const approve: Answer = () => ({ action: "accept", content: { approve: true } });
const decline: Answer = () => ({ action: "decline" });

async function call(name: string, args: Record<string, unknown>, answer: Answer, user = ALICE) {
  const asked: string[] = [];
  const { client } = await connect({
    user,
    onElicit: (message, params) => {
      asked.push(message);
      return answer(message, params);
    },
  });
  const result = (await client.callTool({ name, arguments: args })) as Result;
  return { result, asked };
}

async function airflow(path: string, init: RequestInit = {}) {
  const { access_token } = (await (
    await fetch(`${upstream}/auth/token`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ username: "mcp-fleet", password: "local-airflow-password" }),
    })
  ).json()) as { access_token: string };
  const response = await fetch(`${upstream}/api/v2${path}`, {
    ...init,
    headers: { authorization: `Bearer ${access_token}`, "content-type": "application/json" },
  });
  return { status: response.status, body: (await response.json().catch(() => ({}))) as Record<string, unknown> };
}

const runIds = async (dagId: string) =>
  ((await airflow(`/dags/${dagId}/dagRuns?limit=1000`)).body.dag_runs as { dag_run_id: string }[]).map(
    (run) => run.dag_run_id,
  );

describe("airflow write tools", () => {
  it("triggers only after the human approves, once; declined, nothing is triggered", async () => {
    const before = await runIds("quick_check");
    const declined = await call("airflow_trigger_dag", { dag_id: "quick_check", conf: { n: 1 } }, decline);
    expect(declined.asked).toEqual(['Trigger a new run of DAG quick_check with conf {"n":1}? Its tasks run for real.']);
    expect(declined.result._meta?.["fleet/errorClass"]).toBe("not_approved");
    expect(await runIds("quick_check")).toEqual(before);

    const approved = await call("airflow_trigger_dag", { dag_id: "quick_check", run_id: "manual__approved" }, approve);
    expect(textOf(approved.result)).toBe("Triggered quick_check: run manual__approved is queued.");
    expect((await runIds("quick_check")).filter((id) => !before.includes(id))).toEqual(["manual__approved"]);
  });

  it("warns in the approval that a paused DAG's run stays queued", async () => {
    const { asked } = await call("airflow_trigger_dag", { dag_id: "ml_features" }, decline);
    expect(asked[0]).toContain("The DAG is PAUSED: the run stays queued until someone unpauses it.");
  });

  it("shows the task instances Airflow's dry run would reset, and clears only those once approved", async () => {
    const run = "manual__spare_clear_run";
    const declined = await call("airflow_clear", { dag_id: "etl_orders", run_id: "manual__spare_decline" }, decline);
    expect(declined.asked).toEqual([
      "Clear 3 task instances of run manual__spare_decline of DAG etl_orders? Airflow resets them and runs them again: " +
        "transform_orders (failed, try 2), load_orders (upstream_failed, try 0), notify (upstream_failed, try 0). " +
        "Their current state is lost; the run goes back to queued.",
    ]);
    expect((await airflow("/dags/etl_orders/dagRuns/manual__spare_decline")).body.state).toBe("failed");

    const approved = await call("airflow_clear", { dag_id: "etl_orders", run_id: run }, approve);
    expect(approved.asked[0]).toMatch(/^Clear 3 task instances of run manual__spare_clear_run/);
    expect(textOf(approved.result)).toMatch(/^Cleared 3 task instances of manual__spare_clear_run/);
    const after = await airflow(`/dags/etl_orders/dagRuns/${run}/taskInstances`);
    const states = Object.fromEntries(
      (after.body.task_instances as { task_id: string; state: string | null }[]).map((ti) => [ti.task_id, ti.state]),
    );
    expect(states.extract_orders).toBe("success"); // not failed: left alone
    expect(states.transform_orders).not.toBe("failed");
  });

  it("asks nothing when the dry run finds nothing to clear", async () => {
    const { result, asked } = await call(
      "airflow_clear",
      { dag_id: "etl_orders", run_id: "manual__spare_decline", task_ids: ["extract_orders"] },
      approve,
    );
    expect(asked).toEqual([]);
    expect(textOf(result)).toContain('Invalid argument "task_ids": nothing to clear in run manual__spare_decline');
  });

  it("pauses and unpauses for data-eng only, after approval, refusing a no-op", async () => {
    // quick_check, not ml_features: the read tests expect ml_features paused throughout.
    const byAds = await call("airflow_set_paused", { dag_id: "quick_check", paused: true }, approve, ANN);
    expect(byAds.result._meta?.["fleet/errorClass"]).toBe("denied");
    expect(textOf(byAds.result)).toContain("group:data-eng");
    const noop = await call("airflow_set_paused", { dag_id: "quick_check", paused: false }, approve);
    expect(textOf(noop.result)).toContain('Invalid argument "paused": DAG quick_check is already active');
    const pause = await call("airflow_set_paused", { dag_id: "quick_check", paused: true }, approve);
    expect(pause.asked[0]).toBe(
      "Pause DAG quick_check? The scheduler creates no new runs of it until it is unpaused; running tasks finish.",
    );
    expect(textOf(pause.result)).toBe("DAG quick_check is now paused.");
    const unpause = await call("airflow_set_paused", { dag_id: "quick_check", paused: false }, approve);
    expect(unpause.asked[0]).toMatch(/^Unpause DAG quick_check \(schedule None\)\?/);
    expect(textOf(unpause.result)).toBe("DAG quick_check is now active.");
  });

  it("deletes a run after approval that shows its state", async () => {
    const { result, asked } = await call(
      "airflow_delete_run",
      { dag_id: "etl_orders", run_id: "manual__spare_delete" },
      approve,
    );
    expect(asked[0]).toMatch(
      /^Delete run manual__spare_delete of DAG etl_orders \(failed, manual, run after .*\)\? .*cannot be undone/,
    );
    expect(textOf(result)).toBe("Deleted run manual__spare_delete of etl_orders.");
    expect((await airflow("/dags/etl_orders/dagRuns/manual__spare_delete")).status).toBe(404);
  });

  it("refuses services, and meets a read-only token with a scope challenge", async () => {
    const bot = await call("airflow_trigger_dag", { dag_id: "quick_check" }, approve, BOT);
    expect(bot.result._meta?.["fleet/errorClass"]).toBe("denied");
    expect(bot.asked).toEqual([]);
    await expect(call("airflow_trigger_dag", { dag_id: "quick_check" }, approve, READER)).rejects.toThrow(
      /Insufficient scope: required "[^"]*airflow:write/, // the SDK v2 client's words
    );
  });

  it("answers a human-in-the-loop task with the option the human picks in the form", async () => {
    const pending = await airflow("/dags/ads_daily_report/dagRuns/~/hitlDetails?response_received=false");
    const runs = (pending.body.hitl_details as { task_instance: { dag_run_id: string } }[]).map(
      (h) => h.task_instance.dag_run_id,
    );
    const [first, second] = [
      runs.find((id) => !id.endsWith("_second") && !id.endsWith("_assigned")),
      runs.find((id) => id.endsWith("_second")),
    ];
    const args = (run_id: string | undefined) => ({ dag_id: "ads_daily_report", run_id, task_id: "approve_report" });

    // Not one of the options: nothing reaches Airflow.
    const odd = await call("airflow_answer_hitl", args(second), () => ({
      action: "accept",
      content: { choice: "Delete everything", approve: true },
    }));
    expect(odd.result.isError).toBe(true);
    const declined = await call("airflow_answer_hitl", args(second), decline);
    expect(declined.result._meta?.["fleet/errorClass"]).toBe("not_approved");
    const still = await airflow(
      `/dags/ads_daily_report/dagRuns/${encodeURIComponent(second as string)}/taskInstances/approve_report/-1/hitlDetails`,
    );
    expect(still.body.response_received).toBe(false);

    let schema: unknown;
    const answered = await call("airflow_answer_hitl", args(first), (_message, params) => {
      schema = (params as { requestedSchema?: unknown }).requestedSchema;
      return { action: "accept", content: { choice: "Publish", param_reason: "checked the campaigns", approve: true } };
    });
    expect(answered.asked[0]).toMatch(
      /^Airflow asks \(ads_daily_report \/ scheduled__.* \/ approve_report\): Publish the ads spend report/,
    );
    expect(schema).toMatchObject({
      properties: {
        choice: { type: "string", enum: ["Publish", "Hold"], default: "Hold" },
        param_reason: { type: "string" },
        approve: { type: "boolean" },
      },
      required: ["choice", "approve"],
    });
    expect(textOf(answered.result)).toContain("Answered approve_report of");
    const detail = await airflow(
      `/dags/ads_daily_report/dagRuns/${encodeURIComponent(first as string)}/taskInstances/approve_report/-1/hitlDetails`,
    );
    expect(detail.body).toMatchObject({
      response_received: true,
      chosen_options: ["Publish"],
      params_input: { reason: "checked the campaigns" },
    });
    const again = await call("airflow_answer_hitl", args(first), approve);
    expect(again.asked).toEqual([]);
    expect(textOf(again.result)).toContain("was already answered (Publish");
  });

  it("lets only a task's assigned users answer it, and says so to anyone else", async () => {
    const pending = await airflow("/dags/ads_daily_report/dagRuns/~/hitlDetails?response_received=false");
    const assigned = (
      pending.body.hitl_details as { task_instance: { dag_run_id: string }; assigned_users: unknown[] }[]
    ).find((h) => h.task_instance.dag_run_id.endsWith("_assigned"));
    expect(assigned?.assigned_users).toEqual([{ id: "dana@example.com", name: "dana@example.com" }]);
    const run_id = assigned?.task_instance.dag_run_id as string;
    const args = { dag_id: "ads_daily_report", run_id, task_id: "approve_report" };
    const detailPath = `/dags/ads_daily_report/dagRuns/${encodeURIComponent(run_id)}/taskInstances/approve_report/-1/hitlDetails`;
    const publish: Answer = () => ({ action: "accept", content: { choice: "Publish", approve: true } });

    // Listed with who may answer it.
    const { client } = await connect({ user: ALICE });
    const listed = textOf(
      await client.callTool({ name: "airflow_list_hitl", arguments: { dag_id: "ads_daily_report" } }),
    );
    expect(listed).toContain("only for: dana@example.com");

    // Someone else (with every scope and group the tool needs): refused before anyone is asked.
    const other = await call(
      "airflow_answer_hitl",
      args,
      publish,
      "alice; groups=ads; scopes=airflow:read airflow:write; principal=alice@example.com",
    );
    expect(other.asked).toEqual([]);
    expect(other.result.isError).toBe(true);
    expect(other.result._meta?.["fleet/errorClass"]).toBe("denied");
    expect(textOf(other.result)).toBe(
      "Only the users assigned to approve_report may answer it (dana@example.com); you are alice@example.com. Ask one of them to answer it.",
    );
    const service = await call("airflow_answer_hitl", args, publish, BOT);
    expect(service.asked).toEqual([]);
    expect(service.result.isError).toBe(true);
    expect((await airflow(detailPath)).body.response_received).toBe(false);

    // The assigned person (their email in another case) answers it.
    const dana = await call(
      "airflow_answer_hitl",
      args,
      publish,
      "dana; groups=ads; scopes=airflow:read airflow:write; principal=Dana@Example.com",
    );
    expect(dana.asked[0]).toContain("Publish the ads spend report");
    expect(textOf(dana.result)).toContain("Answered approve_report of");
    expect((await airflow(detailPath)).body).toMatchObject({ response_received: true, chosen_options: ["Publish"] });
  });

  it("triggers and waits, reporting progress, then says how the run ended", async () => {
    const { client } = await connect({ user: ALICE, onElicit: approve });
    const progress: string[] = [];
    const ok = (await client.callTool(
      { name: "airflow_trigger_and_wait", arguments: { dag_id: "quick_check", poll_seconds: 1 } },
      { onprogress: (p) => progress.push(`${p.progress}/${p.total} ${p.message}`) },
    )) as Result;
    expect(textOf(ok)).toMatch(/^Run manual__\S+ of quick_check succeeded/);
    expect(progress.length).toBeGreaterThan(0);
    expect(progress.at(-1)).toMatch(/^2\/2 success: 2\/2 tasks done/);

    const failed = (await client.callTool({
      name: "airflow_trigger_and_wait",
      arguments: { dag_id: "quick_check", poll_seconds: 1, conf: { fail_task: "ping" } },
    })) as Result;
    expect(textOf(failed)).toContain("FAILED ping: try 1, 0 retries left");
    expect(textOf(failed)).toContain("verify ← ping");
  });

  it("approves on the call, then waits as a task for a 2026-07-28 client that declares tasks", async () => {
    const args = { name: "airflow_trigger_and_wait", arguments: { dag_id: "quick_check", poll_seconds: 1 } };
    const asked = await modernRpc(ALICE, "tools/call", args);
    expect(asked.result?.resultType).toBe("input_required");
    const [key] = Object.keys(asked.result?.inputRequests ?? {});
    const created = await modernRpc(ALICE, "tools/call", {
      ...args,
      inputResponses: { [String(key)]: { action: "accept", content: { approve: true } } },
      requestState: asked.result?.requestState,
    });
    expect(created.result).toMatchObject({ resultType: "task", status: "working" });
    const done = await untilTask(ALICE, String(created.result?.taskId), ["completed", "failed"], 400);
    expect(done.result?.status).toBe("completed");
    expect(done.result?.result?.content[0]?.text).toMatch(/^Run manual__\S+ of quick_check succeeded/);
  });
});
