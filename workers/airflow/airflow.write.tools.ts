/**
 * The Airflow write tools. Every one runs only after the human approved the exact action and
 * its consequence (for a clear: the task instances Airflow's dry run says it would reset; for a
 * trigger: whether the DAG is paused; for a delete: the run's state), needs `airflow:write`
 * besides `airflow:read`, and names the business groups that may call it.
 */
import { z } from "zod";
import type { Caller } from "../../shared/auth/caller";
import { type ApprovalRequest, BadArgumentError, ToolError } from "../../shared/mcp";
import type { AirflowClient } from "./airflow.client";
import { diagnoseRun, summarizeRunFailure } from "./airflow.diagnosis";
import { shortTime } from "./airflow.format";
import { dagId, defineTool, OUTPUT_CHARS, runId, runSummary, taskId, tiTable } from "./airflow.tools";
import type { DagRun, HitlDetail, TriggerBody } from "./airflow.types";

/** Who may change runs: both business groups, with a token consented for writing. */
const RUN_WRITERS = { groups: ["data-eng", "ads"], scopes: ["airflow:read", "airflow:write"] } as const;
/** Who may pause DAGs or delete runs: the owning team only. */
const DAG_ADMINS = { groups: ["data-eng"], scopes: ["airflow:read", "airflow:write"] } as const;
/** The most task instances an approval lists by name. */
const LISTED = 15;

const conf = z
  .record(z.string(), z.unknown())
  .default({})
  .describe("The run's conf (JSON object), passed to its tasks");
const logicalDate = z.iso
  .datetime({ offset: true })
  .nullable()
  .default(null)
  .describe("The run's logical date (ISO 8601); default none, as for a manual run");
const triggerInput = {
  dag_id: dagId,
  conf,
  logical_date: logicalDate,
  run_id: z.string().min(1).max(250).optional().describe("The new run's id (default: manual__<time>)"),
  note: z.string().max(1_000).optional().describe("A note shown on the run"),
};

async function triggerApproval(
  client: AirflowClient,
  args: { dag_id: string; conf: Record<string, unknown>; logical_date: string | null },
  signal: AbortSignal,
  wait?: number,
) {
  const dag = await client.dag(args.dag_id, signal);
  const confText = Object.keys(args.conf).length
    ? ` with conf ${JSON.stringify(args.conf).slice(0, 500)}`
    : " with an empty conf";
  const paused = dag.is_paused ? " The DAG is PAUSED: the run stays queued until someone unpauses it." : "";
  const waiting = wait ? ` and wait up to ${wait} s for it to finish` : "";
  return `Trigger a new run of DAG ${args.dag_id}${confText}${args.logical_date ? ` for logical date ${args.logical_date}` : ""}${waiting}? Its tasks run for real.${paused}`;
}

function triggerBody(args: {
  conf: Record<string, unknown>;
  logical_date: string | null;
  run_id?: string | undefined;
  note?: string | undefined;
}): TriggerBody {
  return {
    logical_date: args.logical_date,
    conf: args.conf,
    ...(args.run_id ? { dag_run_id: args.run_id } : {}),
    ...(args.note ? { note: args.note } : {}),
  };
}

export const trigger = defineTool({
  name: "airflow_trigger_dag",
  title: "Trigger a DAG run",
  description:
    "Start a new run of a DAG now (you approve it first) and return its run id; follow it with airflow_list_task_instances or airflow_diagnose_run.",
  input: triggerInput,
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: true },
  access: RUN_WRITERS,
  minutesSaved: 2,
  approval: (args, ctx) => triggerApproval(ctx.upstream.airflow, args, ctx.signal),
  async run(args, ctx) {
    const run = await ctx.upstream.airflow.trigger(args.dag_id, triggerBody(args), ctx.signal);
    return {
      text: `Triggered ${run.dag_id}: run ${run.dag_run_id} is ${run.state}.`,
      structured: runSummary(run),
    };
  },
});

const TERMINAL = new Set(["success", "failed"]);

export const triggerAndWait = defineTool({
  name: "airflow_trigger_and_wait",
  title: "Trigger a DAG run and wait for it",
  description:
    "Start a new run of a DAG (you approve it first) and follow it to its end, reporting progress (tasks done of all); then say how it ended, with the failed tasks' log tails if it failed. Stops waiting after timeout_seconds (the run goes on).",
  input: {
    ...triggerInput,
    timeout_seconds: z
      .number()
      .int()
      .min(5)
      .max(1_800)
      .default(600)
      .describe("Stop waiting after this long (the run continues)"),
    poll_seconds: z.number().int().min(1).max(60).default(3).describe("How often to look at the run"),
  },
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: true },
  access: RUN_WRITERS,
  minutesSaved: 10,
  approval: (args, ctx) => triggerApproval(ctx.upstream.airflow, args, ctx.signal, args.timeout_seconds),
  // Approved on the call; the wait is a task for clients that support tasks (tasks/get shows progress).
  task: "optional",
  async run(args, ctx) {
    const { airflow } = ctx.upstream;
    const started = await airflow.trigger(args.dag_id, triggerBody(args), ctx.signal);
    const dag = await airflow.dag(args.dag_id, ctx.signal);
    if (dag.is_paused) {
      return {
        text: `Triggered ${started.dag_id}: run ${started.dag_run_id} is ${started.state}, but the DAG is paused, so it stays queued; not waiting (unpause it with airflow_set_paused).`,
        structured: { ...runSummary(started), waited: false },
      };
    }
    const deadline = Date.now() + args.timeout_seconds * 1000;
    let run: DagRun = started;
    let last = "";
    while (!TERMINAL.has(run.state) && Date.now() < deadline) {
      await sleep(Math.min(args.poll_seconds * 1000, Math.max(0, deadline - Date.now())), ctx.signal);
      run = await airflow.run(run.dag_id, run.dag_run_id, ctx.signal);
      const { task_instances: tis } = await airflow.taskInstances(
        run.dag_id,
        run.dag_run_id,
        { limit: 1000 },
        ctx.signal,
      );
      const done = tis.filter((ti) =>
        ["success", "failed", "upstream_failed", "skipped", "removed"].includes(ti.state ?? ""),
      ).length;
      const running = tis.filter((ti) => ti.state === "running").map((ti) => ti.task_id);
      const message = `${run.state}: ${done}/${tis.length} tasks done${running.length ? `; running ${running.join(", ")}` : ""}`;
      if (message !== last) await ctx.progress(done, tis.length, message);
      last = message;
    }
    if (!TERMINAL.has(run.state)) {
      return {
        text: `Run ${run.dag_run_id} of ${run.dag_id} is still ${run.state} after ${args.timeout_seconds} s (${last}); it goes on. Follow it with airflow_list_task_instances.`,
        structured: { ...runSummary(run), waited: true, finished: false },
      };
    }
    if (run.state === "success") {
      return {
        text: `Run ${run.dag_run_id} of ${run.dag_id} succeeded (started ${shortTime(run.start_date)}, ended ${shortTime(run.end_date)}).`,
        structured: { ...runSummary(run), waited: true, finished: true },
      };
    }
    const diagnosis = await diagnoseRun(airflow, run, 15, ctx.signal);
    return {
      text: summarizeRunFailure(run, diagnosis).slice(0, OUTPUT_CHARS),
      structured: { ...runSummary(run), waited: true, finished: true, diagnosis: { ...diagnosis } },
    };
  },
});

export const clear = defineTool({
  name: "airflow_clear",
  title: "Clear task instances (retry them)",
  description:
    "Clear task instances of a run so Airflow runs them again: the named tasks, or the whole run. By default only failed and upstream_failed ones (only_failed). You see exactly which task instances Airflow's dry run would reset, and approve, before anything changes.",
  input: {
    dag_id: dagId,
    run_id: runId,
    task_ids: z.array(taskId).min(1).max(100).optional().describe("Tasks to clear (default: every task of the run)"),
    only_failed: z
      .boolean()
      .default(true)
      .describe("Only failed and upstream_failed task instances (Airflow's default)"),
    include_downstream: z.boolean().default(false).describe("Also clear the tasks downstream of task_ids"),
    include_upstream: z.boolean().default(false).describe("Also clear the tasks upstream of task_ids"),
  },
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: true },
  access: RUN_WRITERS,
  minutesSaved: 5,
  async approval(args, ctx) {
    const { task_instances: would } = await ctx.upstream.airflow.clearTaskInstances(
      args.dag_id,
      clearBody(args, true),
      ctx.signal,
    );
    if (would.length === 0) {
      throw new BadArgumentError(
        args.task_ids ? "task_ids" : "only_failed",
        `nothing to clear in run ${args.run_id} of ${args.dag_id}${args.only_failed ? " (no failed or upstream_failed task instance matches; set only_failed to false to clear others)" : ""}`,
      );
    }
    const listed = would
      .slice(0, LISTED)
      .map((ti) => `${ti.task_id} (${ti.state ?? "none"}, try ${ti.try_number})`)
      .join(", ");
    const more = would.length > LISTED ? ` and ${would.length - LISTED} more` : "";
    return `Clear ${would.length} task instance${would.length === 1 ? "" : "s"} of run ${args.run_id} of DAG ${args.dag_id}? Airflow resets them and runs them again: ${listed}${more}. Their current state is lost; the run goes back to queued.`;
  },
  async run(args, ctx) {
    const { task_instances: cleared } = await ctx.upstream.airflow.clearTaskInstances(
      args.dag_id,
      clearBody(args, false),
      ctx.signal,
    );
    return {
      text: `Cleared ${cleared.length} task instance${cleared.length === 1 ? "" : "s"} of ${args.run_id}; Airflow runs them again.\n${tiTable(cleared)}`.slice(
        0,
        OUTPUT_CHARS,
      ),
      structured: {
        cleared: cleared.map((ti) => ({ taskId: ti.task_id, previousState: ti.state, tryNumber: ti.try_number })),
      },
    };
  },
});

function clearBody(
  args: {
    run_id: string;
    task_ids?: string[] | undefined;
    only_failed: boolean;
    include_downstream: boolean;
    include_upstream: boolean;
  },
  dryRun: boolean,
) {
  return {
    dry_run: dryRun,
    dag_run_id: args.run_id,
    ...(args.task_ids ? { task_ids: args.task_ids } : {}),
    only_failed: args.only_failed,
    include_downstream: args.include_downstream,
    include_upstream: args.include_upstream,
    reset_dag_runs: true,
  };
}

export const setPaused = defineTool({
  name: "airflow_set_paused",
  title: "Pause or unpause a DAG",
  description:
    "Pause a DAG (the scheduler creates no new runs; running tasks finish) or unpause it. You approve it first.",
  input: { dag_id: dagId, paused: z.boolean().describe("true: pause; false: unpause") },
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: true },
  access: DAG_ADMINS,
  minutesSaved: 1,
  async approval({ dag_id, paused }, ctx) {
    const dag = await ctx.upstream.airflow.dag(dag_id, ctx.signal);
    if (dag.is_paused === paused) {
      throw new BadArgumentError("paused", `DAG ${dag_id} is already ${paused ? "paused" : "active"}; nothing to do`);
    }
    return paused
      ? `Pause DAG ${dag_id}? The scheduler creates no new runs of it until it is unpaused; running tasks finish.`
      : `Unpause DAG ${dag_id} (schedule ${dag.timetable_summary ?? "-"})? The scheduler starts creating its runs again, catching up missed intervals if the DAG has catchup on.`;
  },
  async run({ dag_id, paused }, ctx) {
    const dag = await ctx.upstream.airflow.setPaused(dag_id, paused, ctx.signal);
    return {
      text: `DAG ${dag.dag_id} is now ${dag.is_paused ? "paused" : "active"}.`,
      structured: { dagId: dag.dag_id, paused: dag.is_paused },
    };
  },
});

export const deleteRun = defineTool({
  name: "airflow_delete_run",
  title: "Delete a DAG run",
  description:
    "Delete a DAG run with its task instances and their history. Cannot be undone: you approve it first, seeing the run's state.",
  input: { dag_id: dagId, run_id: runId },
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: true },
  access: DAG_ADMINS,
  minutesSaved: 1,
  async approval({ dag_id, run_id }, ctx) {
    const run = await ctx.upstream.airflow.run(dag_id, run_id, ctx.signal);
    const running =
      run.state === "running" || run.state === "queued" ? " It has not finished: its running tasks are orphaned." : "";
    return `Delete run ${run_id} of DAG ${dag_id} (${run.state}, ${run.run_type}, run after ${shortTime(run.run_after)})? Its task instances, their tries and XComs are deleted from Airflow's database; this cannot be undone.${running}`;
  },
  async run({ dag_id, run_id }, ctx) {
    await ctx.upstream.airflow.deleteRun(dag_id, run_id, ctx.signal);
    return { text: `Deleted run ${run_id} of ${dag_id}.`, structured: { dagId: dag_id, runId: run_id, deleted: true } };
  },
});

export const answerHitl = defineTool({
  name: "airflow_answer_hitl",
  title: "Answer a human-in-the-loop task",
  description:
    "Answer an Airflow 3.1 human-in-the-loop task (see airflow_list_hitl): you are shown its question and options and choose one yourself (the agent cannot choose for you); Airflow then continues the run.",
  input: {
    dag_id: dagId,
    run_id: runId,
    task_id: taskId,
    map_index: z.number().int().min(-1).default(-1).describe("Mapped task index (-1: not mapped)"),
  },
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: true },
  access: RUN_WRITERS,
  minutesSaved: 3,
  async approval({ dag_id, run_id, task_id, map_index }, ctx) {
    const detail = await ctx.upstream.airflow.hitlDetail(dag_id, run_id, task_id, map_index, ctx.signal);
    refuseUnassigned(detail, ctx.caller, task_id);
    if (detail.response_received) {
      throw new BadArgumentError(
        "task_id",
        `${task_id} of ${run_id} was already answered (${detail.chosen_options?.join(", ")}, ${shortTime(detail.responded_at)})`,
      );
    }
    return hitlForm(detail, `${dag_id} / ${run_id} / ${task_id}`);
  },
  async run({ dag_id, run_id, task_id, map_index }, ctx) {
    const { airflow } = ctx.upstream;
    const detail = await airflow.hitlDetail(dag_id, run_id, task_id, map_index, ctx.signal);
    // Again on the answer itself: the assignment may have changed while the human was deciding.
    refuseUnassigned(detail, ctx.caller, task_id);
    const chosen = chosenOptions(ctx.answers.choice, detail);
    const params_input = Object.fromEntries(
      Object.keys(detail.params ?? {})
        .filter((name) => ctx.answers[paramField(name)] !== undefined)
        .map((name) => [name, ctx.answers[paramField(name)]]),
    );
    const answer = await airflow.answerHitl(
      dag_id,
      run_id,
      task_id,
      map_index,
      { chosen_options: chosen, params_input },
      ctx.signal,
    );
    return {
      text: `Answered ${task_id} of ${run_id}: ${answer.chosen_options.join(", ")}${Object.keys(params_input).length ? ` (${JSON.stringify(params_input)})` : ""}. Airflow continues the run.`,
      structured: {
        chosenOptions: answer.chosen_options,
        paramsInput: answer.params_input,
        respondedAt: answer.responded_at,
      },
    };
  },
});

/**
 * Airflow answers every HITL PATCH as the server's own Airflow user, so Airflow's check of
 * `assigned_users` would judge that account, not the human: the tool checks the human. A task
 * with assigned users may be answered only by one of them — the caller's principal (their
 * verified email) equal, ignoring case, to an assigned user's id or name; one without may be
 * answered by anyone the tool's access admits.
 */
export function assignedToCaller(detail: Pick<HitlDetail, "assigned_users">, caller: Caller): boolean {
  const assigned = detail.assigned_users ?? [];
  if (assigned.length === 0) return true;
  if (caller.kind !== "user") return false;
  const me = caller.principal.toLowerCase();
  return assigned.some((user) => user.id.toLowerCase() === me || user.name.toLowerCase() === me);
}

function refuseUnassigned(detail: HitlDetail, caller: Caller, taskId: string): void {
  if (assignedToCaller(detail, caller)) return;
  const names = (detail.assigned_users ?? []).map((user) => user.name || user.id).join(", ");
  throw new ToolError(
    `Only the users assigned to ${taskId} may answer it (${names}); you are ${caller.principal}. Ask one of them to answer it.`,
    "denied",
  );
}

const paramField = (name: string) => `param_${name.replace(/[^A-Za-z0-9_]/g, "_")}`;

/** The HITL question as an approval form: the options as an enum (several if `multiple`), its params as fields. */
export function hitlForm(detail: HitlDetail, where: string): ApprovalRequest {
  const defaults = (detail.defaults ?? []).filter((d) => detail.options.includes(d));
  const choice = detail.multiple
    ? {
        type: "array" as const,
        title: "Your choice",
        items: { type: "string" as const, enum: detail.options },
        minItems: 1,
        ...(defaults.length ? { default: defaults } : {}),
      }
    : {
        type: "string" as const,
        title: "Your choice",
        enum: detail.options,
        ...(defaults[0] ? { default: defaults[0] } : {}),
      };
  const fields: ApprovalRequest["fields"] = { choice };
  for (const [name, raw] of Object.entries(detail.params ?? {})) {
    const param = (raw ?? {}) as { value?: unknown; description?: string | null; schema?: { type?: unknown } };
    const type = typeof param.schema?.type === "string" ? param.schema.type : typeof param.value;
    const description = param.description ?? name;
    if (type === "boolean") fields[paramField(name)] = { type: "boolean", title: name, description };
    else if (type === "number" || type === "integer")
      fields[paramField(name)] = { type: type as "number" | "integer", title: name, description };
    else if (type === "string")
      fields[paramField(name)] = { type: "string", title: name, description, maxLength: 2_000 };
  }
  const message = [
    `Airflow asks (${where}): ${detail.subject}`,
    detail.body ?? "",
    `Options: ${detail.options.join(" | ")}${detail.multiple ? " (choose one or more)" : ""}. Your answer goes to Airflow and the run continues accordingly.`,
  ]
    .filter(Boolean)
    .join("\n");
  return { message, fields, required: ["choice"] };
}

/** The human's choice, checked against the question's options (fail closed). */
function chosenOptions(choice: unknown, detail: HitlDetail): string[] {
  const chosen = Array.isArray(choice) ? choice : typeof choice === "string" ? [choice] : [];
  if (chosen.length === 0 || !chosen.every((c) => typeof c === "string" && detail.options.includes(c))) {
    throw new ToolError(
      `The answer is not one of the options (${detail.options.join(", ")}); nothing was sent to Airflow`,
      "bad_arguments",
    );
  }
  if (!detail.multiple && chosen.length > 1) {
    throw new ToolError(
      "Only one option may be chosen for this question; nothing was sent to Airflow",
      "bad_arguments",
    );
  }
  return chosen as string[];
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const timer = setTimeout(resolve, ms);
    signal.addEventListener(
      "abort",
      () => {
        clearTimeout(timer);
        reject(signal.reason);
      },
      { once: true },
    );
  });
}

export const writeTools = [trigger, triggerAndWait, clear, setPaused, deleteRun, answerHitl];
