/**
 * The diagnosis of one application attempt: every rule below reads the History Server's data
 * and, when its cause is present, gives a score (0-100, how likely it explains a failure or
 * slowness), its evidence and what to do. The causes come out ranked; docs/spark.md states the rules.
 */
import { UpstreamRejectedError } from "../../shared/mcp";
import {
  gcShare,
  resourceTimeline,
  type Skew,
  SUMMARY_QUANTILES,
  skewOf,
  spilled,
  stageKey,
  stageWallMs,
  summarizeExecutors,
} from "./spark.analysis";
import { type AppRef, type HistoryClient, mapLimited } from "./spark.client";
import { bytes, duration, firstLine, percent } from "./spark.format";
import type { ExecutorSummary, JobData, StageData, TaskData } from "./spark.history.types";

const MB = 1024 * 1024;

export type Rule =
  | "failed_stages"
  | "failed_tasks"
  | "task_skew"
  | "spill"
  | "gc"
  | "lost_executors"
  | "shuffle_fetch_wait";

export interface Cause {
  rule: Rule;
  score: number;
  title: string;
  evidence: string[];
  advice: string;
}

export interface Diagnosis {
  application: string;
  name: string;
  attemptId?: string;
  state: "running" | "succeeded" | "failed";
  durationMs: number;
  causes: Cause[];
  bottlenecks: {
    slowestStages: { stage: string; name: string; wallMs: number; share: number }[];
    slowestJobs: { jobId: number; name: string; status: string; wallMs: number }[];
    utilisation: number;
    peakExecutors: number;
  };
  checked: { stages: number; summaries: number; failedTaskLists: number; executors: number };
}

/** Thresholds of the rules (docs/spark.md#the-diagnosis). */
export const THRESHOLDS = {
  skewRatio: 5,
  skewP95Ratio: 3,
  skewMinTaskMs: 10_000,
  skewMinReadBytes: 64 * MB,
  skewMinTasks: 10,
  spillDiskBytes: 100 * MB,
  spillMemoryBytes: 1024 * MB,
  gcShare: 0.1,
  fetchWaitShare: 0.2,
  fetchWaitMinMs: 30_000,
};

export interface DiagnoseOptions {
  /** Stages whose task summaries are read, the longest-running first. */
  maxStages: number;
  progress(done: number, total: number, message: string): Promise<void>;
  signal?: AbortSignal;
}

export async function diagnose(history: HistoryClient, app: AppRef, options: DiagnoseOptions): Promise<Diagnosis> {
  const { signal } = options;
  const [stages, jobs, executors, environment] = await Promise.all([
    history.stages(app, {}, signal),
    history.jobs(app, undefined, signal),
    history.executors(app, true, signal),
    history.environment(app, signal).catch(() => undefined),
  ]);
  const measured = stages
    .filter((stage) => stage.numCompleteTasks >= THRESHOLDS.skewMinTasks)
    .sort((a, b) => b.executorRunTime - a.executorRunTime)
    .slice(0, options.maxStages);
  const failed = stages.filter((stage) => stage.numFailedTasks > 0).slice(0, 8);
  const total = 1 + measured.length + failed.length;
  let done = 1;
  await options.progress(
    done,
    total,
    `read ${stages.length} stage attempts, ${jobs.length} jobs, ${executors.length} executors`,
  );
  const summaries = await mapLimited(measured, 4, async (stage) => {
    const summary = await history
      .taskSummary(app, stage.stageId, stage.attemptId, SUMMARY_QUANTILES, signal)
      .catch((error) => ignoreNotFound(error));
    await options.progress(++done, total, `task summary of stage ${stageKey(stage)}`);
    return { stage, skew: summary ? skewOf(summary) : undefined };
  });
  const failures = await mapLimited(failed, 4, async (stage) => {
    const tasks = await history.taskList(app, stage.stageId, stage.attemptId, { status: "failed", length: 50 }, signal);
    await options.progress(++done, total, `failed tasks of stage ${stageKey(stage)}`);
    return { stage, tasks };
  });

  const attempt = app.info.attempts.find((candidate) => candidate.attemptId === app.attemptId) ?? app.info.attempts[0];
  if (!attempt) throw new UpstreamRejectedError(`The History Server lists no attempt of ${app.appId}`);
  const durationMs = attempt.completed ? attempt.duration : Date.now() - attempt.startTimeEpoch;
  const conf = new Map(environment?.sparkProperties ?? []);
  const causes = [
    ...failedStageCauses(stages, failures),
    ...skewCauses(summaries, durationMs, conf),
    ...spillCauses(stages),
    ...gcCauses(executors, stages),
    ...lostExecutorCauses(executors, conf),
    ...fetchWaitCauses(stages),
  ].sort((a, b) => b.score - a.score);

  const timeline = resourceTimeline(attempt, executors, stages);
  const state = !attempt.completed ? "running" : jobs.some((job) => job.status === "FAILED") ? "failed" : "succeeded";
  return {
    application: app.appId,
    name: app.info.name,
    ...(app.attemptId !== undefined ? { attemptId: app.attemptId } : {}),
    state,
    durationMs,
    causes,
    bottlenecks: {
      slowestStages: [...stages]
        .sort((a, b) => stageWallMs(b) - stageWallMs(a))
        .slice(0, 5)
        .map((stage) => ({
          stage: stageKey(stage),
          name: stage.name,
          wallMs: stageWallMs(stage),
          share: durationMs > 0 ? stageWallMs(stage) / durationMs : 0,
        })),
      slowestJobs: jobs
        .map((job) => ({ jobId: job.jobId, name: job.name, status: job.status, wallMs: jobWallMs(job) }))
        .sort((a, b) => b.wallMs - a.wallMs)
        .slice(0, 3),
      utilisation: timeline.utilisation,
      peakExecutors: timeline.peakExecutors,
    },
    checked: {
      stages: stages.length,
      summaries: summaries.filter((s) => s.skew).length,
      failedTaskLists: failures.length,
      executors: executors.length,
    },
  };
}

function ignoreNotFound(error: unknown): undefined {
  // "No tasks reported metrics for 2 / 0 yet.": nothing to measure, not a failure of the diagnosis.
  if (error instanceof UpstreamRejectedError && error.status === 404) return undefined;
  throw error;
}

function jobWallMs(job: JobData): number {
  const start = job.submissionTime ? Date.parse(job.submissionTime.replace(/GMT$/, "Z")) : Number.NaN;
  const end = job.completionTime ? Date.parse(job.completionTime.replace(/GMT$/, "Z")) : Date.now();
  return Number.isNaN(start) ? 0 : end - start;
}

/** Failed task errors grouped by their first line, most frequent first. */
export function groupErrors(tasks: readonly TaskData[]): { error: string; count: number; tasks: number[] }[] {
  const groups = new Map<string, { error: string; count: number; tasks: number[] }>();
  for (const task of tasks) {
    const error = firstLine(task.errorMessage, 240) || "(no error message)";
    const group = groups.get(error) ?? { error, count: 0, tasks: [] };
    group.count++;
    if (!group.tasks.includes(task.index)) group.tasks.push(task.index);
    groups.set(error, group);
  }
  return [...groups.values()].sort((a, b) => b.count - a.count);
}

function adviceFor(error: string): string {
  if (/OutOfMemoryError|exceeding (physical )?memory|Exit (code|status):? 137/i.test(error)) {
    return "Tasks ran out of memory: raise spark.executor.memory or spark.executor.memoryOverhead, or give each task less data (more shuffle partitions, fix skew).";
  }
  if (/FetchFailed/i.test(error)) {
    return "Shuffle blocks were lost with the executor that held them: see the lost executors; an external shuffle service or graceful decommissioning keeps them.";
  }
  if (/ExecutorLostFailure/i.test(error))
    return "Tasks died with their executor: see the lost executors and their reasons.";
  return "Read the error and the task's stderr (executorLogs) for the first failing task.";
}

function failedStageCauses(stages: StageData[], failures: { stage: StageData; tasks: TaskData[] }[]): Cause[] {
  const causes: Cause[] = [];
  for (const { stage, tasks } of failures) {
    const errors = groupErrors(tasks);
    const top = errors[0]?.error ?? firstLine(stage.failureReason);
    const errorLines = errors
      .slice(0, 3)
      .map(
        (group) =>
          `${group.count}× ${group.error} (task${group.tasks.length > 1 ? "s" : ""} ${group.tasks.slice(0, 5).join(", ")})`,
      );
    if (stage.status === "FAILED") {
      const retried = stages.some(
        (other) => other.stageId === stage.stageId && other.attemptId > stage.attemptId && other.status === "COMPLETE",
      );
      causes.push({
        rule: "failed_stages",
        score: retried ? 60 : 95,
        title: `Stage ${stageKey(stage)} (${stage.name}) failed${retried ? ", then succeeded on a retry" : ""}`,
        evidence: [
          `failure: ${firstLine(stage.failureReason, 400) || "(no reason recorded)"}`,
          `${stage.numFailedTasks} failed task attempt${stage.numFailedTasks === 1 ? "" : "s"} of ${stage.numTasks} tasks, after ${duration(stageWallMs(stage))}`,
          ...errorLines,
        ],
        advice: adviceFor(`${top} ${stage.failureReason ?? ""}`),
      });
    } else {
      causes.push({
        rule: "failed_tasks",
        score: 35,
        title: `Stage ${stageKey(stage)} (${stage.name}) succeeded after ${stage.numFailedTasks} task failure${stage.numFailedTasks === 1 ? "" : "s"}`,
        evidence: errorLines,
        advice: adviceFor(top),
      });
    }
  }
  return causes;
}

function isSkewed(skew: Skew): boolean {
  const slowTasks =
    skew.maxMs >= THRESHOLDS.skewMinTaskMs &&
    (skew.durationMax >= THRESHOLDS.skewRatio || skew.durationP95 >= THRESHOLDS.skewP95Ratio);
  const bigReads =
    skew.maxRead >= THRESHOLDS.skewMinReadBytes &&
    (skew.readMax >= THRESHOLDS.skewRatio || skew.readP95 >= THRESHOLDS.skewP95Ratio);
  return slowTasks || bigReads;
}

function skewCauses(summaries: { stage: StageData; skew?: Skew }[], appMs: number, conf: Map<string, string>): Cause[] {
  const skewJoin = conf.get("spark.sql.adaptive.skewJoin.enabled");
  return summaries.flatMap(({ stage, skew }) => {
    if (!skew || !isSkewed(skew)) return [];
    const worst = Math.max(skew.durationMax, skew.readMax, skew.durationP95, skew.readP95);
    const share = appMs > 0 ? stageWallMs(stage) / appMs : 0;
    const score = Math.round(Math.min(90, 50 + 8 * Math.log2(worst)) * (share < 0.05 ? 0.6 : 1));
    const evidence = [
      `task time: p50 ${duration(skew.medianMs)}, max ${duration(skew.maxMs)} (max/median ${skew.durationMax.toFixed(1)}×, p95/p50 ${skew.durationP95.toFixed(1)}×)`,
      ...(skew.medianRead > 0 || skew.maxRead > 0
        ? [
            `shuffle read: p50 ${bytes(skew.medianRead)}, max ${bytes(skew.maxRead)} (max/median ${skew.readMax.toFixed(1)}×, p95/p50 ${skew.readP95.toFixed(1)}×)`,
          ]
        : []),
      `the stage took ${duration(stageWallMs(stage))}, ${percent(share)} of the application's run time`,
    ];
    const aqe = skewJoin === "false" ? " spark.sql.adaptive.skewJoin.enabled is false here: enable it." : "";
    return [
      {
        rule: "task_skew" as const,
        score,
        title: `Task skew in stage ${stageKey(stage)} (${stage.name})`,
        evidence,
        advice: `A few partitions hold most of the data: salt or pre-aggregate the hot keys, or let AQE split them.${aqe}`,
      },
    ];
  });
}

function spillCauses(stages: StageData[]): Cause[] {
  return stages.flatMap((stage) => {
    if (stage.diskBytesSpilled < THRESHOLDS.spillDiskBytes && stage.memoryBytesSpilled < THRESHOLDS.spillMemoryBytes)
      return [];
    const score = Math.round(
      45 + Math.min(35, 5 * Math.log2(Math.max(1, stage.diskBytesSpilled / THRESHOLDS.spillDiskBytes))),
    );
    return [
      {
        rule: "spill" as const,
        score,
        title: `Stage ${stageKey(stage)} (${stage.name}) spilled ${bytes(spilled(stage))}`,
        evidence: [
          `memory spill ${bytes(stage.memoryBytesSpilled)}, disk spill ${bytes(stage.diskBytesSpilled)}, peak execution memory ${bytes(stage.peakExecutionMemory)}`,
          `shuffle read ${bytes(stage.shuffleReadBytes)} over ${stage.numTasks} tasks`,
        ],
        advice:
          "Tasks did not fit in execution memory: more shuffle partitions (spark.sql.shuffle.partitions), more executor memory, or fix the skew that concentrates the data.",
      },
    ];
  });
}

function gcCauses(executors: ExecutorSummary[], stages: StageData[]): Cause[] {
  const summary = summarizeExecutors(executors);
  if (summary.gcShare < THRESHOLDS.gcShare) return [];
  const worstExecutors = executors
    .filter((e) => e.totalDuration > 0)
    .map((e) => ({ id: e.id, share: e.totalGCTime / e.totalDuration }))
    .sort((a, b) => b.share - a.share)
    .slice(0, 3);
  const worstStages = stages
    .filter((stage) => stage.executorRunTime > 0)
    .sort((a, b) => gcShare(b) - gcShare(a))
    .slice(0, 3);
  return [
    {
      rule: "gc",
      score: Math.round(40 + Math.min(40, (summary.gcShare - THRESHOLDS.gcShare) * 200)),
      title: `${percent(summary.gcShare)} of task time went to garbage collection`,
      evidence: [
        `GC ${duration(summary.gcTimeMs)} of ${duration(summary.taskTimeMs)} task time over ${summary.executors} executors`,
        `highest: ${worstExecutors.map((e) => `executor ${e.id} ${percent(e.share)}`).join(", ")}`,
        `stages: ${worstStages.map((stage) => `${stageKey(stage)} ${percent(gcShare(stage))}`).join(", ")}`,
      ],
      advice:
        "The heap is under pressure: more executor memory or fewer cores per executor, fewer cached or broadcast objects, Kryo serialization.",
    },
  ];
}

type RemovalKind = "memory" | "heartbeat" | "released" | "other";

export function classifyRemoval(reason: string): RemovalKind {
  if (/memory limits|OutOfMemory|exit (code|status)( is)?:? ?(137|143)|Killed by external signal/i.test(reason))
    return "memory";
  if (/heartbeat/i.test(reason)) return "heartbeat";
  if (/killed by driver|decommission|idle/i.test(reason)) return "released";
  return "other";
}

function lostExecutorCauses(executors: ExecutorSummary[], conf: Map<string, string>): Cause[] {
  const removals = summarizeExecutors(executors).removals.map((removal) => ({
    ...removal,
    kind: classifyRemoval(removal.reason),
  }));
  const lost = removals.filter((removal) => removal.kind !== "released");
  if (lost.length === 0) return [];
  const memory = lost.filter((removal) => removal.kind === "memory").length;
  const released = removals.length - lost.length;
  const overhead = conf.get("spark.executor.memoryOverhead");
  return [
    {
      rule: "lost_executors",
      score: Math.min(90, (memory ? 75 : 60) + 5 * (lost.length - 1)),
      title: `${lost.length} executor${lost.length === 1 ? " was" : "s were"} lost${memory ? ` (${memory} for memory)` : ""}`,
      evidence: [
        ...lost.map(
          (removal) =>
            `executor ${removal.id} on ${removal.host}${removal.at ? ` at ${removal.at}` : ""}: ${firstLine(removal.reason, 300)}`,
        ),
        ...(released ? [`${released} more released normally (dynamic allocation or decommissioning)`] : []),
      ],
      advice: memory
        ? `Containers were killed for memory: raise spark.executor.memoryOverhead${overhead ? ` (now ${overhead})` : ""} or spark.executor.memory; Python or off-heap use counts against the overhead.`
        : "Executors stopped answering: long GC pauses or overloaded nodes; check the executors' logs and the node's health, raise spark.network.timeout if pauses are expected.",
    },
  ];
}

function fetchWaitCauses(stages: StageData[]): Cause[] {
  return stages.flatMap((stage) => {
    const share = stage.executorRunTime > 0 ? stage.shuffleFetchWaitTime / stage.executorRunTime : 0;
    if (share < THRESHOLDS.fetchWaitShare || stage.shuffleFetchWaitTime < THRESHOLDS.fetchWaitMinMs) return [];
    return [
      {
        rule: "shuffle_fetch_wait" as const,
        score: Math.round(40 + Math.min(35, (share - THRESHOLDS.fetchWaitShare) * 150)),
        title: `Stage ${stageKey(stage)} (${stage.name}) waited ${percent(share)} of its run time on shuffle fetches`,
        evidence: [
          `fetch wait ${duration(stage.shuffleFetchWaitTime)} of ${duration(stage.executorRunTime)} task run time`,
          `shuffle read ${bytes(stage.shuffleReadBytes)} (${bytes(stage.shuffleRemoteBytesRead)} remote) in ${stage.shuffleRemoteBlocksFetched + stage.shuffleLocalBlocksFetched} blocks`,
        ],
        advice:
          "Reducers waited on map output: slow or lost shuffle servers (see lost executors), too many small blocks (fewer, larger partitions), or a saturated network; push-based shuffle helps on YARN.",
      },
    ];
  });
}

/** The diagnosis as compact text: ranked causes with evidence, then the bottlenecks. */
export function diagnosisText(diagnosis: Diagnosis, maxCauses: number): string {
  const lines = [
    `${diagnosis.name} (${diagnosis.application}${diagnosis.attemptId ? `, attempt ${diagnosis.attemptId}` : ""}): ${diagnosis.state}, ${diagnosis.state === "running" ? "running for" : "ran"} ${duration(diagnosis.durationMs)}`,
  ];
  if (diagnosis.causes.length === 0) {
    lines.push(
      "No likely cause found: no failed stages, skew, spill, GC pressure, lost executors or shuffle waits above the thresholds.",
    );
  } else {
    lines.push("Likely causes, most likely first:");
    diagnosis.causes.slice(0, maxCauses).forEach((cause, index) => {
      lines.push(`${index + 1}. [${cause.score}] ${cause.title}`);
      for (const evidence of cause.evidence) lines.push(`   - ${evidence}`);
      lines.push(`   → ${cause.advice}`);
    });
    if (diagnosis.causes.length > maxCauses)
      lines.push(`(${diagnosis.causes.length - maxCauses} more causes; raise maxCauses)`);
  }
  const { bottlenecks } = diagnosis;
  lines.push(
    `Slowest stages: ${bottlenecks.slowestStages.map((s) => `${s.stage} ${s.name} ${duration(s.wallMs)} (${percent(s.share)})`).join("; ") || "none"}`,
    `Slowest jobs: ${bottlenecks.slowestJobs.map((j) => `${j.jobId} ${j.name} ${j.status} ${duration(j.wallMs)}`).join("; ") || "none"}`,
    `Executor utilisation: ${percent(bottlenecks.utilisation)} of offered core time ran tasks (peak ${bottlenecks.peakExecutors} executors)${bottlenecks.utilisation < 0.3 && diagnosis.durationMs > 60_000 ? ": executors sat idle; fewer executors or dynamic allocation would do" : ""}`,
    `Checked ${diagnosis.checked.stages} stage attempts, ${diagnosis.checked.summaries} task summaries, ${diagnosis.checked.failedTaskLists} failed-task lists, ${diagnosis.checked.executors} executors.`,
  );
  return lines.join("\n");
}
