/**
 * Diagnosing a DAG run: which task instances failed (with the tail of their latest try's log,
 * its first error line, and retries left), which were upstream_failed and by which failed
 * upstream task, and what is still running or waiting.
 */
import type { AirflowClient } from "./airflow.client";
import { retriesLeft, shortTime } from "./airflow.format";
import { readLogTail } from "./airflow.logs";
import type { DagRun, Task, TaskInstance } from "./airflow.types";

/** Failed tasks whose logs are read at most (the rest are listed). */
const MAX_LOGS = 5;
const LOG_BYTES = 6_000;

export interface FailedTask {
  taskId: string;
  mapIndex: number;
  tryNumber: number;
  retriesLeft: number;
  firstError: string | null;
  logTail: string[];
  logUnavailable?: string;
}

export interface RunDiagnosis {
  dagId: string;
  runId: string;
  state: string;
  counts: Record<string, number>;
  failed: FailedTask[];
  /** upstream_failed tasks and the failed tasks upstream of each. */
  upstreamFailed: { taskId: string; becauseOf: string[] }[];
  unfinished: { taskId: string; state: string }[];
}

const ERROR_LINE = /\b(ERROR|CRITICAL|Exception|Error:|Traceback)\b/;

export async function diagnoseRun(
  airflow: AirflowClient,
  run: DagRun,
  logLines: number,
  signal?: AbortSignal,
): Promise<RunDiagnosis> {
  const [{ task_instances: tis }, { tasks }] = await Promise.all([
    airflow.taskInstances(run.dag_id, run.dag_run_id, { limit: 1000 }, signal),
    airflow.tasks(run.dag_id, signal),
  ]);
  const counts: Record<string, number> = {};
  for (const ti of tis) counts[ti.state ?? "none"] = (counts[ti.state ?? "none"] ?? 0) + 1;
  const failedTis = tis.filter((ti) => ti.state === "failed");
  const failed = await Promise.all(
    failedTis.map((ti, index) => failedTask(airflow, ti, index < MAX_LOGS ? logLines : 0, signal)),
  );
  const failedIds = new Set(failedTis.map((ti) => ti.task_id));
  const upstreamFailed = tis
    .filter((ti) => ti.state === "upstream_failed")
    .map((ti) => ({ taskId: ti.task_id, becauseOf: failedAncestors(ti.task_id, tasks, failedIds) }));
  const unfinished = tis
    .filter((ti) => !["success", "failed", "upstream_failed", "skipped", "removed"].includes(ti.state ?? "none"))
    .map((ti) => ({ taskId: ti.task_id, state: ti.state ?? "none" }));
  return { dagId: run.dag_id, runId: run.dag_run_id, state: run.state, counts, failed, upstreamFailed, unfinished };
}

async function failedTask(
  airflow: AirflowClient,
  ti: TaskInstance,
  logLines: number,
  signal?: AbortSignal,
): Promise<FailedTask> {
  const base = {
    taskId: ti.task_id,
    mapIndex: ti.map_index,
    tryNumber: ti.try_number,
    retriesLeft: retriesLeft(ti),
  };
  if (logLines === 0 || ti.try_number < 1) return { ...base, firstError: null, logTail: [] };
  try {
    const target = {
      dagId: ti.dag_id,
      runId: ti.dag_run_id,
      taskId: ti.task_id,
      tryNumber: ti.try_number,
      mapIndex: ti.map_index,
    };
    const [tail, errors] = await Promise.all([
      readLogTail(airflow, target, { maxLines: logLines, maxBytes: LOG_BYTES }, signal),
      readLogTail(airflow, target, { level: "error", maxLines: 50, maxBytes: LOG_BYTES }, signal),
    ]);
    const firstError = errors.lines.find((line) => ERROR_LINE.test(line)) ?? errors.lines[0] ?? null;
    return { ...base, firstError, logTail: tail.lines };
  } catch (error) {
    // A log Airflow cannot serve (rotated, remote store down) does not hide the diagnosis.
    return {
      ...base,
      firstError: null,
      logTail: [],
      logUnavailable: error instanceof Error ? error.message : String(error),
    };
  }
}

/** The failed tasks upstream of `taskId` in the DAG's graph. */
function failedAncestors(taskId: string, tasks: Task[], failed: Set<string>): string[] {
  const parents = new Map<string, string[]>();
  for (const t of tasks) for (const d of t.downstream_task_ids) parents.set(d, [...(parents.get(d) ?? []), t.task_id]);
  const found = new Set<string>();
  const seen = new Set<string>();
  const stack = [...(parents.get(taskId) ?? [])];
  while (stack.length) {
    const id = stack.pop() as string;
    if (seen.has(id)) continue;
    seen.add(id);
    if (failed.has(id)) found.add(id);
    else stack.push(...(parents.get(id) ?? []));
  }
  return [...found].sort();
}

export function summarizeRunFailure(run: DagRun, diagnosis: RunDiagnosis): string {
  const counts = Object.entries(diagnosis.counts)
    .map(([state, n]) => `${n} ${state}`)
    .join(", ");
  const lines = [
    `Run ${run.dag_run_id} of ${run.dag_id}: ${run.state} (started ${shortTime(run.start_date)}, ended ${shortTime(run.end_date)}); tasks: ${counts || "none"}`,
  ];
  if (diagnosis.failed.length === 0 && diagnosis.upstreamFailed.length === 0) {
    lines.push(
      run.state === "failed"
        ? "No failed task instance (the run may have failed on a timeout or been marked failed)."
        : "No failed task instance.",
    );
  }
  for (const f of diagnosis.failed) {
    lines.push(
      "",
      `FAILED ${f.taskId}${f.mapIndex >= 0 ? `[${f.mapIndex}]` : ""}: try ${f.tryNumber}, ${f.retriesLeft} retr${f.retriesLeft === 1 ? "y" : "ies"} left`,
    );
    if (f.firstError) lines.push(`  first error: ${f.firstError}`);
    if (f.logUnavailable) lines.push(`  log unavailable: ${f.logUnavailable}`);
    if (f.logTail.length)
      lines.push(`  last ${f.logTail.length} log lines:`, ...f.logTail.map((line) => `    ${line}`));
  }
  if (diagnosis.upstreamFailed.length) {
    lines.push("", "UPSTREAM_FAILED (did not run because an upstream task failed):");
    for (const u of diagnosis.upstreamFailed) lines.push(`  ${u.taskId} ← ${u.becauseOf.join(", ") || "?"}`);
  }
  if (diagnosis.unfinished.length) {
    lines.push("", `Not finished: ${diagnosis.unfinished.map((u) => `${u.taskId} (${u.state})`).join(", ")}`);
  }
  if (diagnosis.failed.length || diagnosis.upstreamFailed.length) {
    lines.push(
      "",
      "To retry: airflow_clear with this run (failed and upstream_failed task instances are cleared by default).",
    );
  }
  return lines.join("\n");
}
