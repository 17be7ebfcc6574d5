/**
 * What the Spark tools compute from the History Server's data: stage figures, task skew from
 * quantiles, the executors' summary and the resource timeline. Pure functions, tested on their own.
 */
import { bytes, duration, epoch, percent } from "./spark.format";
import type { ApplicationAttempt, ExecutorSummary, StageData, TaskMetricDistributions } from "./spark.history.types";

/** The quantiles the Spark tools ask for: Spark's defaults plus the maximum (1.0). */
export const SUMMARY_QUANTILES = [0.05, 0.25, 0.5, 0.75, 0.95, 1.0] as const;

export function stageKey(stage: Pick<StageData, "stageId" | "attemptId">): string {
  return `${stage.stageId}.${stage.attemptId}`;
}

/** Wall-clock time of a stage attempt (submission to completion, or to now while active). */
export function stageWallMs(stage: StageData, now = Date.now()): number {
  const start = epoch(stage.submissionTime);
  if (start === undefined) return 0;
  return (epoch(stage.completionTime) ?? now) - start;
}

export function attemptDurationMs(attempt: ApplicationAttempt, now = Date.now()): number {
  return attempt.completed ? attempt.duration : now - attempt.startTimeEpoch;
}

export const gcShare = (stage: Pick<StageData, "jvmGcTime" | "executorRunTime">) =>
  stage.executorRunTime > 0 ? stage.jvmGcTime / stage.executorRunTime : 0;

export const spilled = (stage: Pick<StageData, "memoryBytesSpilled" | "diskBytesSpilled">) =>
  stage.memoryBytesSpilled + stage.diskBytesSpilled;

/** One line of figures per stage attempt. */
export function stageRow(stage: StageData): (string | number)[] {
  return [
    stageKey(stage),
    stage.status,
    `${stage.numCompleteTasks}/${stage.numTasks}${stage.numFailedTasks ? ` (${stage.numFailedTasks} failed)` : ""}`,
    duration(stageWallMs(stage)),
    bytes(stage.inputBytes),
    bytes(stage.shuffleReadBytes),
    bytes(stage.shuffleWriteBytes),
    bytes(spilled(stage)),
    percent(gcShare(stage)),
    stage.name,
  ];
}

export const STAGE_HEADER = [
  "stage",
  "status",
  "tasks",
  "wall",
  "input",
  "shuffle read",
  "shuffle write",
  "spill",
  "gc",
  "name",
];

/** The value at quantile `q` of a distribution, if it was asked for. */
export function at(
  summary: Pick<TaskMetricDistributions, "quantiles">,
  values: number[] | undefined,
  q: number,
): number | undefined {
  const index = summary.quantiles.findIndex((candidate) => Math.abs(candidate - q) < 1e-9);
  return index >= 0 ? values?.[index] : undefined;
}

export interface Skew {
  /** p95 / p50 and max / p50 of task duration. */
  durationP95: number;
  durationMax: number;
  /** The same of shuffle read bytes (0 when the stage reads no shuffle). */
  readP95: number;
  readMax: number;
  medianMs: number;
  maxMs: number;
  medianRead: number;
  maxRead: number;
}

const ratio = (value: number | undefined, median: number | undefined) =>
  value !== undefined && median !== undefined && median > 0 ? value / median : 0;

/** Skew ratios from a summary that has the quantiles 0.5, 0.95 and 1.0. */
export function skewOf(summary: TaskMetricDistributions): Skew {
  const medianMs = at(summary, summary.duration, 0.5);
  const medianRead = at(summary, summary.shuffleReadMetrics?.readBytes, 0.5);
  return {
    durationP95: ratio(at(summary, summary.duration, 0.95), medianMs),
    durationMax: ratio(at(summary, summary.duration, 1), medianMs),
    readP95: ratio(at(summary, summary.shuffleReadMetrics?.readBytes, 0.95), medianRead),
    readMax: ratio(at(summary, summary.shuffleReadMetrics?.readBytes, 1), medianRead),
    medianMs: medianMs ?? 0,
    maxMs: at(summary, summary.duration, 1) ?? 0,
    medianRead: medianRead ?? 0,
    maxRead: at(summary, summary.shuffleReadMetrics?.readBytes, 1) ?? 0,
  };
}

/** Rows "metric q1 q2 …" of a summary's main metrics, sizes and times readable. */
export function quantileRows(summary: TaskMetricDistributions): (string | number)[][] {
  const time = (values: number[] | undefined) => (values ?? []).map((v) => duration(v));
  const size = (values: number[] | undefined) => (values ?? []).map((v) => bytes(v));
  return [
    ["duration", ...time(summary.duration)],
    ["executorRunTime", ...time(summary.executorRunTime)],
    ["jvmGcTime", ...time(summary.jvmGcTime)],
    ["schedulerDelay", ...time(summary.schedulerDelay)],
    ["input", ...size(summary.inputMetrics?.bytesRead)],
    ["shuffle read", ...size(summary.shuffleReadMetrics?.readBytes)],
    ["shuffle fetch wait", ...time(summary.shuffleReadMetrics?.fetchWaitTime)],
    ["shuffle write", ...size(summary.shuffleWriteMetrics?.writeBytes)],
    ["memory spill", ...size(summary.memoryBytesSpilled)],
    ["disk spill", ...size(summary.diskBytesSpilled)],
    ["peak exec memory", ...size(summary.peakExecutionMemory)],
  ];
}

export const quantileHeader = (summary: TaskMetricDistributions) => [
  "metric",
  ...summary.quantiles.map((q) => (q === 1 ? "max" : q === 0 ? "min" : `p${Math.round(q * 100)}`)),
];

export interface ExecutorsSummary {
  executors: number;
  active: number;
  removed: number;
  cores: number;
  tasks: { completed: number; failed: number; total: number };
  taskTimeMs: number;
  gcTimeMs: number;
  gcShare: number;
  inputBytes: number;
  shuffleReadBytes: number;
  shuffleWriteBytes: number;
  memoryUsed: number;
  maxMemory: number;
  /** Removed executors and why (the History Server's removeReason). */
  removals: { id: string; host: string; at?: string; reason: string }[];
}

/** The aggregate over all executors (driver included for memory, excluded for cores). */
export function summarizeExecutors(executors: readonly ExecutorSummary[]): ExecutorsSummary {
  const workers = executors.filter((executor) => executor.id !== "driver");
  const sum = (pick: (executor: ExecutorSummary) => number) => executors.reduce((total, e) => total + pick(e), 0);
  const taskTimeMs = sum((e) => e.totalDuration);
  const gcTimeMs = sum((e) => e.totalGCTime);
  return {
    executors: workers.length,
    active: workers.filter((e) => e.isActive).length,
    removed: workers.filter((e) => !e.isActive).length,
    cores: workers.reduce((total, e) => total + e.totalCores, 0),
    tasks: {
      completed: sum((e) => e.completedTasks),
      failed: sum((e) => e.failedTasks),
      total: sum((e) => e.totalTasks),
    },
    taskTimeMs,
    gcTimeMs,
    gcShare: taskTimeMs > 0 ? gcTimeMs / taskTimeMs : 0,
    inputBytes: sum((e) => e.totalInputBytes),
    shuffleReadBytes: sum((e) => e.totalShuffleRead),
    shuffleWriteBytes: sum((e) => e.totalShuffleWrite),
    memoryUsed: sum((e) => e.memoryUsed),
    maxMemory: sum((e) => e.maxMemory),
    removals: workers
      .filter((e) => !e.isActive)
      .map((e) => ({
        id: e.id,
        host: e.hostPort.split(":")[0] ?? e.hostPort,
        ...(e.removeTime ? { at: e.removeTime } : {}),
        reason: e.removeReason ?? "(no reason recorded)",
      })),
  };
}

export interface TimelineEvent {
  at: number;
  kind: "executor added" | "executor removed" | "stage submitted" | "stage completed" | "stage failed";
  what: string;
  /** Executors and cores alive after the event. */
  executors: number;
  cores: number;
}

export interface Timeline {
  events: TimelineEvent[];
  peakExecutors: number;
  peakCores: number;
  /** Core-time offered by the executors over their lifetimes vs task time used. */
  coreMs: number;
  taskMs: number;
  utilisation: number;
}

/** Executor additions and removals and stage starts and ends, in time order, with the resources alive. */
export function resourceTimeline(
  attempt: ApplicationAttempt,
  executors: readonly ExecutorSummary[],
  stages: readonly StageData[],
  now = Date.now(),
): Timeline {
  const end = attempt.completed ? attempt.endTimeEpoch : now;
  let coreMs = 0;
  const changes: { at: number; executors: number; cores: number; event: Omit<TimelineEvent, "executors" | "cores"> }[] =
    [];
  for (const executor of executors) {
    if (executor.id === "driver") continue;
    const added = epoch(executor.addTime) ?? attempt.startTimeEpoch;
    const removed = epoch(executor.removeTime);
    coreMs += ((removed ?? end) - added) * executor.totalCores;
    changes.push({
      at: added,
      executors: 1,
      cores: executor.totalCores,
      event: { at: added, kind: "executor added", what: `executor ${executor.id} (${executor.totalCores} cores)` },
    });
    if (removed !== undefined) {
      const reason = executor.removeReason ? `: ${executor.removeReason}` : "";
      changes.push({
        at: removed,
        executors: -1,
        cores: -executor.totalCores,
        event: { at: removed, kind: "executor removed", what: `executor ${executor.id}${reason}` },
      });
    }
  }
  for (const stage of stages) {
    const submitted = epoch(stage.submissionTime);
    const completed = epoch(stage.completionTime);
    const name = `stage ${stageKey(stage)} ${stage.name}`;
    if (submitted !== undefined)
      changes.push({
        at: submitted,
        executors: 0,
        cores: 0,
        event: { at: submitted, kind: "stage submitted", what: name },
      });
    if (completed !== undefined) {
      const kind = stage.status === "FAILED" ? "stage failed" : "stage completed";
      changes.push({
        at: completed,
        executors: 0,
        cores: 0,
        event: { at: completed, kind, what: `${name} (${duration(completed - (submitted ?? completed))})` },
      });
    }
  }
  changes.sort((a, b) => a.at - b.at || b.executors - a.executors);
  let alive = 0;
  let cores = 0;
  let peakExecutors = 0;
  let peakCores = 0;
  const events = changes.map((change) => {
    alive += change.executors;
    cores += change.cores;
    peakExecutors = Math.max(peakExecutors, alive);
    peakCores = Math.max(peakCores, cores);
    return { ...change.event, executors: alive, cores };
  });
  const taskMs = executors.reduce((total, executor) => total + executor.totalDuration, 0);
  return { events, peakExecutors, peakCores, coreMs, taskMs, utilisation: coreMs > 0 ? taskMs / coreMs : 0 };
}
