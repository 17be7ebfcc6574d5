/**
 * The Airflow read tools: explore a DAG, diagnose a run, system health, lists of DAGs, runs and
 * task instances, task logs, pending human-in-the-loop questions. Services may call them. The
 * write tools are in airflow.write.tools.ts.
 */
import { z } from "zod";
import { BadArgumentError, toolsFor } from "../../shared/mcp";
import type { AirflowClient } from "./airflow.client";
import { diagnoseRun, summarizeRunFailure } from "./airflow.diagnosis";
import { capText, LEVELS, retriesLeft, shortDuration, shortTime, table } from "./airflow.format";
import { readLogAfter, readLogTail } from "./airflow.logs";
import type { DagRun, TaskInstance } from "./airflow.types";

export interface AirflowUpstreams {
  airflow: AirflowClient;
}

export const defineTool = toolsFor<AirflowUpstreams>();

/** The read tools; services (pipelines, bots) may call them. */
const READ = { scopes: ["airflow:read"], services: true } as const;
/** The most text any tool returns. */
export const OUTPUT_CHARS = 24_000;

const ID = /^[A-Za-z0-9_.-]+$/;
export const dagId = z
  .string()
  .min(1)
  .max(250)
  .regex(ID, "a DAG id has letters, digits, _ . - only")
  .describe("DAG id, e.g. etl_orders");
export const runId = z
  .string()
  .min(1)
  .max(250)
  .describe("DAG run id, e.g. scheduled__2026-12-01T02:00:00+00:00 (see airflow_list_runs)");
export const taskId = z
  .string()
  .min(1)
  .max(250)
  .regex(ID, "a task id has letters, digits, _ . - only")
  .describe("Task id within the DAG");
const RUN_STATES = ["queued", "running", "success", "failed"] as const;
const TI_STATES = [
  "success",
  "failed",
  "upstream_failed",
  "running",
  "queued",
  "scheduled",
  "skipped",
  "deferred",
  "up_for_retry",
  "up_for_reschedule",
  "removed",
  "restarting",
] as const;

export const listDags = defineTool({
  name: "airflow_list_dags",
  title: "List DAGs",
  description: "List DAGs with their schedule, paused flag, owners and tags; filter by id substring, tag or paused.",
  input: {
    pattern: z.string().max(250).optional().describe("Only DAG ids containing this text"),
    tags: z.array(z.string().max(100)).max(20).optional().describe("Only DAGs with any of these tags"),
    paused: z.boolean().optional().describe("Only paused (true) or only active (false) DAGs"),
    limit: z.number().int().min(1).max(200).default(50).describe("Most DAGs to list"),
    offset: z.number().int().min(0).default(0).describe("Skip this many (for the next page)"),
  },
  annotations: { readOnlyHint: true, openWorldHint: true },
  access: READ,
  minutesSaved: 1,
  async run({ pattern, tags, paused, limit, offset }, ctx) {
    const { dags, total_entries } = await ctx.upstream.airflow.listDags(
      { dag_id_pattern: pattern, tags, paused, limit, offset, order_by: "dag_id" },
      ctx.signal,
    );
    const rows = dags.map((d) => [
      d.dag_id,
      d.is_paused ? "paused" : "active",
      d.timetable_summary,
      d.owners.join(","),
      d.tags.map((t) => t.name).join(","),
      d.has_import_errors ? "import error" : "",
    ]);
    const more =
      offset + dags.length < total_entries
        ? `\n… ${total_entries - offset - dags.length} more (offset ${offset + dags.length})`
        : "";
    return {
      text: capText(
        `${table(["dag_id", "state", "schedule", "owners", "tags", "problems"], rows)}${more}`,
        OUTPUT_CHARS,
      ),
      structured: {
        total: total_entries,
        dags: dags.map((d) => ({
          dagId: d.dag_id,
          paused: d.is_paused,
          schedule: d.timetable_summary,
          owners: d.owners,
          tags: d.tags.map((t) => t.name),
        })),
      },
    };
  },
});

export const exploreDag = defineTool({
  name: "airflow_explore_dag",
  title: "Explore a DAG",
  description:
    "Everything about one DAG in one call: metadata, tasks with their dependencies and retries, its recent runs, its warnings, and the start of its source code.",
  input: {
    dag_id: dagId,
    runs: z.number().int().min(0).max(50).default(5).describe("How many recent runs to show"),
    source_chars: z
      .number()
      .int()
      .min(0)
      .max(50_000)
      .default(3_000)
      .describe("How much of the source file to show (0: none)"),
  },
  annotations: { readOnlyHint: true, openWorldHint: true },
  access: READ,
  minutesSaved: 5,
  async run({ dag_id, runs, source_chars }, ctx) {
    const { airflow } = ctx.upstream;
    const [dag, { tasks }, recent, warnings, source] = await Promise.all([
      airflow.dag(dag_id, ctx.signal),
      airflow.tasks(dag_id, ctx.signal),
      runs > 0 ? airflow.listRuns(dag_id, { limit: runs, order_by: "-run_after" }, ctx.signal) : undefined,
      airflow.dagWarnings(100, dag_id, ctx.signal),
      source_chars > 0 ? airflow.source(dag_id, ctx.signal) : undefined,
    ]);
    const dagWarnings = warnings.dag_warnings;
    const lines = [
      `DAG ${dag.dag_id}${dag.is_paused ? " (PAUSED)" : ""}: ${dag.description ?? "no description"}`,
      `schedule ${dag.timetable_summary ?? "-"}; owners ${dag.owners.join(", ") || "-"}; tags ${dag.tags.map((t) => t.name).join(", ") || "-"}; file ${dag.fileloc}; parsed ${shortTime(dag.last_parsed_time)}${dag.has_import_errors ? "; HAS IMPORT ERRORS" : ""}`,
      ...dagWarnings.map((w) => `warning (${w.warning_type}): ${w.message}`),
      "",
      `Tasks (${tasks.length}):`,
      table(
        ["task_id", "operator", "retries", "downstream"],
        tasks.map((t) => [t.task_id, t.operator_name, t.retries ?? 0, t.downstream_task_ids.join(",") || "-"]),
      ),
    ];
    if (recent) {
      lines.push("", `Recent runs (${recent.dag_runs.length} of ${recent.total_entries}):`, runsTable(recent.dag_runs));
    }
    if (source?.content) {
      lines.push("", `Source (${source.content.length} characters):`, capText(source.content, source_chars));
    }
    return {
      text: capText(lines.join("\n"), OUTPUT_CHARS),
      structured: {
        dagId: dag.dag_id,
        paused: dag.is_paused,
        schedule: dag.timetable_summary,
        tasks: tasks.map((t) => ({
          taskId: t.task_id,
          operator: t.operator_name,
          downstream: t.downstream_task_ids,
          retries: t.retries ?? 0,
        })),
        recentRuns: (recent?.dag_runs ?? []).map(runSummary),
        warnings: dagWarnings.map((w) => w.message),
      },
    };
  },
});

export const listRuns = defineTool({
  name: "airflow_list_runs",
  title: "List DAG runs",
  description: "List runs, newest first, of one DAG or of all DAGs, optionally only in some states.",
  input: {
    dag_id: dagId.optional().describe("DAG id; omit for runs of every DAG"),
    states: z.array(z.enum(RUN_STATES)).max(4).optional().describe("Only runs in these states"),
    limit: z.number().int().min(1).max(200).default(20).describe("Most runs to list"),
    offset: z.number().int().min(0).default(0).describe("Skip this many (for the next page)"),
  },
  annotations: { readOnlyHint: true, openWorldHint: true },
  access: READ,
  minutesSaved: 1,
  async run({ dag_id, states, limit, offset }, ctx) {
    const { dag_runs, total_entries } = await ctx.upstream.airflow.listRuns(
      dag_id ?? "~",
      { state: states, limit, offset, order_by: "-run_after" },
      ctx.signal,
    );
    if (dag_runs.length === 0) return { text: "No runs match.", structured: { total: total_entries, runs: [] } };
    const more =
      offset + dag_runs.length < total_entries
        ? `\n… ${total_entries - offset - dag_runs.length} more (offset ${offset + dag_runs.length})`
        : "";
    return {
      text: capText(`${runsTable(dag_runs, !dag_id)}${more}`, OUTPUT_CHARS),
      structured: { total: total_entries, runs: dag_runs.map(runSummary) },
    };
  },
});

export const listTaskInstances = defineTool({
  name: "airflow_list_task_instances",
  title: "List task instances of a run",
  description:
    "List the task instances of one run: state, try, retries left, duration, host; optionally only some states.",
  input: {
    dag_id: dagId,
    run_id: runId,
    states: z.array(z.enum(TI_STATES)).max(12).optional().describe("Only task instances in these states"),
    limit: z.number().int().min(1).max(500).default(100).describe("Most task instances to list"),
  },
  annotations: { readOnlyHint: true, openWorldHint: true },
  access: READ,
  minutesSaved: 1,
  async run({ dag_id, run_id, states, limit }, ctx) {
    const { task_instances, total_entries } = await ctx.upstream.airflow.taskInstances(
      dag_id,
      run_id,
      { state: states, limit },
      ctx.signal,
    );
    if (task_instances.length === 0)
      return { text: "No task instances match.", structured: { total: total_entries, taskInstances: [] } };
    return {
      text: capText(tiTable(task_instances), OUTPUT_CHARS),
      structured: { total: total_entries, taskInstances: task_instances.map(tiSummary) },
    };
  },
});

export const diagnose = defineTool({
  name: "airflow_diagnose_run",
  title: "Diagnose a DAG run",
  description:
    "Why did a run fail? Its failed task instances with the tail of their latest try's log, the first error line and retries left, and the upstream_failed tasks they took down. Without run_id: the DAG's latest failed run.",
  input: {
    dag_id: dagId,
    run_id: runId.optional().describe("DAG run id; omit for the DAG's latest failed run"),
    log_lines: z.number().int().min(0).max(200).default(25).describe("Log lines to show per failed task (0: none)"),
  },
  annotations: { readOnlyHint: true, openWorldHint: true },
  access: READ,
  minutesSaved: 15,
  async run({ dag_id, run_id, log_lines }, ctx) {
    const { airflow } = ctx.upstream;
    let run: DagRun | undefined;
    if (run_id) run = await airflow.run(dag_id, run_id, ctx.signal);
    else {
      run = (await airflow.listRuns(dag_id, { state: ["failed"], limit: 1, order_by: "-run_after" }, ctx.signal))
        .dag_runs[0];
      if (!run) throw new BadArgumentError("run_id", `DAG ${dag_id} has no failed run; name the run to diagnose`);
    }
    const diagnosis = await diagnoseRun(airflow, run, log_lines, ctx.signal);
    return { text: capText(summarizeRunFailure(run, diagnosis), OUTPUT_CHARS), structured: { ...diagnosis } };
  },
});

export const systemHealth = defineTool({
  name: "airflow_system_health",
  title: "Airflow health",
  description:
    "Is Airflow healthy? Its components (metadatabase, scheduler, triggerer, DAG processor) with heartbeats, DAG files that fail to import (with the end of their stack trace), DAG warnings, and the latest failed runs.",
  input: {
    limit: z
      .number()
      .int()
      .min(1)
      .max(50)
      .default(10)
      .describe("Most import errors, warnings and failed runs to show each"),
  },
  annotations: { readOnlyHint: true, openWorldHint: true },
  access: READ,
  minutesSaved: 5,
  async run({ limit }, ctx) {
    const { airflow } = ctx.upstream;
    const [health, imports, warnings, failed] = await Promise.all([
      airflow.health(ctx.signal),
      airflow.importErrors(limit, ctx.signal),
      airflow.dagWarnings(limit, undefined, ctx.signal),
      airflow.listRuns("~", { state: ["failed"], limit, order_by: "-run_after" }, ctx.signal),
    ]);
    const components = Object.entries(health).map(([name, value]) => {
      const entry = (value ?? { status: null }) as Record<string, unknown>;
      const beat = Object.entries(entry).find(([key]) => key.endsWith("heartbeat"))?.[1];
      return { name, status: (entry.status as string | null) ?? "unknown", heartbeat: (beat as string | null) ?? null };
    });
    const unhealthy = components.filter((c) => c.status !== "healthy");
    const lines = [
      unhealthy.length
        ? `UNHEALTHY: ${unhealthy.map((c) => `${c.name} ${c.status}`).join(", ")}`
        : "All components healthy.",
      ...components.map(
        (c) => `  ${c.name}: ${c.status}${c.heartbeat ? ` (heartbeat ${shortTime(c.heartbeat)})` : ""}`,
      ),
      "",
      `Import errors: ${imports.total_entries}`,
      ...imports.import_errors.map(
        (e) => `  ${e.filename} (${shortTime(e.timestamp)}): ${e.stack_trace.trim().split("\n").slice(-2).join(" | ")}`,
      ),
      `DAG warnings: ${warnings.total_entries}`,
      ...warnings.dag_warnings.map((w) => `  ${w.dag_id} (${w.warning_type}): ${w.message}`),
      `Latest failed runs: ${failed.total_entries}`,
      ...failed.dag_runs.map((r) => `  ${r.dag_id} ${r.dag_run_id} (ended ${shortTime(r.end_date)})`),
    ];
    return {
      text: capText(lines.join("\n"), OUTPUT_CHARS),
      structured: {
        healthy: unhealthy.length === 0,
        components,
        importErrors: imports.import_errors.map((e) => ({
          filename: e.filename,
          at: e.timestamp,
          error: e.stack_trace.trim().split("\n").at(-1) ?? "",
        })),
        importErrorCount: imports.total_entries,
        dagWarnings: warnings.dag_warnings.map((w) => ({ dagId: w.dag_id, type: w.warning_type, message: w.message })),
        failedRuns: failed.dag_runs.map(runSummary),
      },
    };
  },
});

export const taskLogs = defineTool({
  name: "airflow_task_logs",
  title: "Task log",
  description:
    "A task try's log, bounded: by default its last lines; filter by level or text; capped in lines and bytes. Pass the continuation_token from a previous answer to read what follows (e.g. as a running task writes more).",
  input: {
    dag_id: dagId,
    run_id: runId,
    task_id: taskId,
    try_number: z.number().int().min(1).max(1000).optional().describe("Which try (default: the latest)"),
    map_index: z.number().int().min(-1).default(-1).describe("Mapped task index (-1: not mapped)"),
    tail_lines: z.number().int().min(1).max(2_000).default(100).describe("Most lines to return"),
    level: z.enum(LEVELS).optional().describe("Only lines at this level or above, e.g. warning"),
    contains: z.string().min(1).max(200).optional().describe("Only lines containing this text (case-insensitive)"),
    max_bytes: z.number().int().min(256).max(200_000).default(16_000).describe("Most bytes of log text to return"),
    continuation_token: z
      .string()
      .min(1)
      .max(4_096)
      .optional()
      .describe("Read on from here (a previous answer's continuation_token)"),
  },
  annotations: { readOnlyHint: true, openWorldHint: true },
  access: READ,
  minutesSaved: 3,
  async run(args, ctx) {
    const { airflow } = ctx.upstream;
    const tryNumber =
      args.try_number ?? (await airflow.taskInstance(args.dag_id, args.run_id, args.task_id, ctx.signal)).try_number;
    if (tryNumber < 1)
      throw new BadArgumentError("task_id", `${args.task_id} has not run yet in ${args.run_id}: no log`);
    const target = {
      dagId: args.dag_id,
      runId: args.run_id,
      taskId: args.task_id,
      tryNumber,
      mapIndex: args.map_index,
    };
    const filter = { level: args.level, contains: args.contains, maxLines: args.tail_lines, maxBytes: args.max_bytes };
    const read = args.continuation_token
      ? await readLogAfter(airflow, target, args.continuation_token, filter, ctx.signal)
      : await readLogTail(airflow, target, filter, ctx.signal);
    const notes = [
      `${args.task_id} try ${tryNumber} of ${args.run_id}: ${read.lines.length} line${read.lines.length === 1 ? "" : "s"}${args.level || args.contains ? " matching" : ""} (${read.scanned} read)`,
      read.omitted > 0
        ? `${read.omitted} more matching line${read.omitted === 1 ? "" : "s"} left out (tail_lines / max_bytes)`
        : "",
      read.pageLimitHit ? "stopped at the page limit: continue with the continuation_token" : "",
      read.continuationToken ? `continuation_token: ${read.continuationToken}` : "end of log",
    ].filter(Boolean);
    return {
      text: `${read.lines.join("\n")}${read.lines.length ? "\n" : ""}-- ${notes.join("; ")}`,
      structured: {
        tryNumber,
        lines: read.lines,
        omitted: read.omitted,
        scanned: read.scanned,
        continuationToken: read.continuationToken,
      },
    };
  },
});

export const listHitl = defineTool({
  name: "airflow_list_hitl",
  title: "Pending human-in-the-loop questions",
  description:
    "List Airflow 3.1 human-in-the-loop tasks waiting for an answer (approvals, choices): their question, options, defaults and where they are. Answer one with airflow_answer_hitl.",
  input: {
    dag_id: dagId.optional().describe("Only this DAG's (default: every DAG)"),
    run_id: runId.optional().describe("Only this run's (needs dag_id)"),
    include_answered: z.boolean().default(false).describe("Also list questions already answered"),
    limit: z.number().int().min(1).max(100).default(20).describe("Most questions to list"),
  },
  annotations: { readOnlyHint: true, openWorldHint: true },
  access: READ,
  minutesSaved: 2,
  async run({ dag_id, run_id, include_answered, limit }, ctx) {
    if (run_id && !dag_id) throw new BadArgumentError("run_id", "name the run's dag_id too");
    const { hitl_details, total_entries } = await ctx.upstream.airflow.hitlDetails(
      dag_id ?? "~",
      run_id ?? "~",
      { limit, ...(include_answered ? {} : { response_received: false }) },
      ctx.signal,
    );
    if (hitl_details.length === 0)
      return { text: "No human-in-the-loop question is waiting.", structured: { total: 0, questions: [] } };
    const questions = hitl_details.map((h) => ({
      dagId: h.task_instance.dag_id,
      runId: h.task_instance.dag_run_id,
      taskId: h.task_instance.task_id,
      mapIndex: h.task_instance.map_index,
      subject: h.subject,
      body: h.body,
      options: h.options,
      defaults: h.defaults,
      multiple: h.multiple,
      params: Object.keys(h.params ?? {}),
      createdAt: h.created_at,
      assignedTo: (h.assigned_users ?? []).map((user) => user.name || user.id),
      answered: h.response_received,
      chosen: h.chosen_options,
    }));
    const text = questions
      .map((q) =>
        [
          `${q.dagId} / ${q.runId} / ${q.taskId}${q.mapIndex >= 0 ? `[${q.mapIndex}]` : ""} (asked ${shortTime(q.createdAt)})${q.answered ? ` answered: ${q.chosen?.join(", ")}` : ""}`,
          `  ${q.subject}`,
          q.body ? `  ${q.body}` : "",
          q.assignedTo.length ? `  only for: ${q.assignedTo.join(", ")}` : "",
          `  options: ${q.options.join(" | ")}${q.multiple ? " (several allowed)" : ""}${q.defaults?.length ? `; default ${q.defaults.join(", ")}` : ""}${q.params.length ? `; fields: ${q.params.join(", ")}` : ""}`,
        ]
          .filter(Boolean)
          .join("\n"),
      )
      .join("\n");
    return { text: capText(text, OUTPUT_CHARS), structured: { total: total_entries, questions } };
  },
});

export function runsTable(runs: DagRun[], withDag = false): string {
  return table(
    [...(withDag ? ["dag_id"] : []), "run_id", "state", "type", "run_after", "started", "duration"],
    runs.map((r) => [
      ...(withDag ? [r.dag_id] : []),
      r.dag_run_id,
      r.state,
      r.run_type,
      shortTime(r.run_after),
      shortTime(r.start_date),
      r.start_date && r.end_date ? shortDuration((Date.parse(r.end_date) - Date.parse(r.start_date)) / 1000) : "-",
    ]),
  );
}

export function tiTable(tis: TaskInstance[]): string {
  return table(
    ["task_id", "state", "try", "retries_left", "duration", "started", "host"],
    tis.map((ti) => [
      ti.task_id + (ti.map_index >= 0 ? `[${ti.map_index}]` : ""),
      ti.state ?? "none",
      ti.try_number,
      retriesLeft(ti),
      shortDuration(ti.duration),
      shortTime(ti.start_date),
      ti.hostname || "-",
    ]),
  );
}

export const runSummary = (r: DagRun) => ({
  dagId: r.dag_id,
  runId: r.dag_run_id,
  state: r.state,
  runType: r.run_type,
  runAfter: r.run_after,
  startDate: r.start_date,
  endDate: r.end_date,
});

export const tiSummary = (ti: TaskInstance) => ({
  taskId: ti.task_id,
  mapIndex: ti.map_index,
  state: ti.state,
  tryNumber: ti.try_number,
  retriesLeft: retriesLeft(ti),
  duration: ti.duration,
});

export const readTools = [
  listDags,
  exploreDag,
  listRuns,
  listTaskInstances,
  diagnose,
  systemHealth,
  taskLogs,
  listHitl,
];
