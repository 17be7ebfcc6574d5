/**
 * Comparisons of two applications, stages, SQL executions or environments: side-by-side figures
 * with the ratio right/left, and for environments the properties that differ.
 */
import { BadArgumentError } from "../../shared/mcp";
import {
  at,
  attemptDurationMs,
  gcShare,
  SUMMARY_QUANTILES,
  spilled,
  stageKey,
  stageWallMs,
  summarizeExecutors,
} from "./spark.analysis";
import type { AppRef, HistoryClient } from "./spark.client";
import { bytes, duration, epoch, percent, table } from "./spark.format";
import type { StageData, TaskMetricDistributions } from "./spark.history.types";

export interface Side {
  appId: string;
  attemptId?: string | undefined;
  stageId?: number | undefined;
  stageAttemptId?: number | undefined;
  executionId?: number | undefined;
}

type Figure = { name: string; left: number; right: number; format: (value: number) => string };

const count = (value: number) => String(Math.round(value));

function ratio(left: number, right: number): string {
  if (left === 0 && right === 0) return "=";
  if (left === 0) return "new";
  const r = right / left;
  return Math.abs(r - 1) < 0.005 ? "=" : `${r.toFixed(2)}×`;
}

export function figuresTable(figures: Figure[], labels: [string, string]): string {
  return table(
    ["figure", labels[0], labels[1], "right/left"],
    figures.map((f) => [f.name, f.format(f.left), f.format(f.right), ratio(f.left, f.right)]),
  );
}

function stageTotals(stages: StageData[]) {
  const sum = (pick: (stage: StageData) => number) => stages.reduce((total, stage) => total + pick(stage), 0);
  return {
    stages: stages.length,
    tasks: sum((s) => s.numTasks),
    failedTasks: sum((s) => s.numFailedTasks),
    runMs: sum((s) => s.executorRunTime),
    gcMs: sum((s) => s.jvmGcTime),
    inputBytes: sum((s) => s.inputBytes),
    shuffleRead: sum((s) => s.shuffleReadBytes),
    shuffleWrite: sum((s) => s.shuffleWriteBytes),
    spill: sum(spilled),
    fetchWaitMs: sum((s) => s.shuffleFetchWaitTime),
  };
}

function totalsFigures(left: ReturnType<typeof stageTotals>, right: ReturnType<typeof stageTotals>): Figure[] {
  return [
    { name: "stage attempts", left: left.stages, right: right.stages, format: count },
    { name: "tasks", left: left.tasks, right: right.tasks, format: count },
    { name: "failed tasks", left: left.failedTasks, right: right.failedTasks, format: count },
    { name: "task run time", left: left.runMs, right: right.runMs, format: duration },
    { name: "GC time", left: left.gcMs, right: right.gcMs, format: duration },
    { name: "input", left: left.inputBytes, right: right.inputBytes, format: bytes },
    { name: "shuffle read", left: left.shuffleRead, right: right.shuffleRead, format: bytes },
    { name: "shuffle write", left: left.shuffleWrite, right: right.shuffleWrite, format: bytes },
    { name: "spill", left: left.spill, right: right.spill, format: bytes },
    { name: "shuffle fetch wait", left: left.fetchWaitMs, right: right.fetchWaitMs, format: duration },
  ];
}

const label = (app: AppRef) => `${app.appId}${app.attemptId ? `/${app.attemptId}` : ""}`;

export async function compareApplications(history: HistoryClient, left: AppRef, right: AppRef, signal?: AbortSignal) {
  const load = async (app: AppRef) => {
    const [executors, jobs, stages, env] = await Promise.all([
      history.executors(app, true, signal),
      history.jobs(app, undefined, signal),
      history.stages(app, {}, signal),
      history.environment(app, signal),
    ]);
    const attempt = app.info.attempts.find((a) => a.attemptId === app.attemptId) ?? app.info.attempts[0];
    const conf = new Map(env.sparkProperties);
    const jobMs = jobs.map(
      (job) => (epoch(job.completionTime) ?? Date.now()) - (epoch(job.submissionTime) ?? Date.now()),
    );
    return {
      durationMs: attempt ? attemptDurationMs(attempt) : 0,
      executors: summarizeExecutors(executors),
      jobs: jobs.length,
      failedJobs: jobs.filter((job) => job.status === "FAILED").length,
      maxJobMs: Math.max(0, ...jobMs),
      meanJobMs: jobMs.length ? jobMs.reduce((a, b) => a + b, 0) / jobMs.length : 0,
      totals: stageTotals(stages),
      conf: [
        "spark.executor.instances",
        "spark.executor.memory",
        "spark.executor.cores",
        "spark.executor.memoryOverhead",
        "spark.driver.memory",
        "spark.dynamicAllocation.enabled",
        "spark.sql.shuffle.partitions",
      ].map((key) => [key, conf.get(key) ?? "-"] as const),
    };
  };
  const [a, b] = await Promise.all([load(left), load(right)]);
  const figures: Figure[] = [
    { name: "duration", left: a.durationMs, right: b.durationMs, format: duration },
    { name: "jobs", left: a.jobs, right: b.jobs, format: count },
    { name: "failed jobs", left: a.failedJobs, right: b.failedJobs, format: count },
    { name: "longest job", left: a.maxJobMs, right: b.maxJobMs, format: duration },
    { name: "mean job", left: a.meanJobMs, right: b.meanJobMs, format: duration },
    { name: "executors", left: a.executors.executors, right: b.executors.executors, format: count },
    { name: "executors lost/removed", left: a.executors.removed, right: b.executors.removed, format: count },
    { name: "cores", left: a.executors.cores, right: b.executors.cores, format: count },
    { name: "GC share", left: a.executors.gcShare, right: b.executors.gcShare, format: percent },
    ...totalsFigures(a.totals, b.totals),
  ];
  const text = [
    figuresTable(figures, [label(left), label(right)]),
    "",
    "Resources requested:",
    table(
      ["property", label(left), label(right)],
      a.conf.map(([key, value], i) => [key, value, b.conf[i]?.[1] ?? "-"]),
    ),
  ].join("\n");
  return { text, structured: { kind: "applications", figures: figures.map(({ format: _f, ...f }) => f) } };
}

async function stageOf(
  history: HistoryClient,
  app: AppRef,
  side: Side,
  name: string,
  signal?: AbortSignal,
): Promise<StageData> {
  if (side.stageId === undefined) throw new BadArgumentError(`${name}.stageId`, "is required to compare stages");
  const attempts = await history.stageAttempts(app, side.stageId, signal);
  const stage =
    side.stageAttemptId === undefined
      ? [...attempts].sort((x, y) => y.attemptId - x.attemptId)[0]
      : attempts.find((s) => s.attemptId === side.stageAttemptId);
  if (!stage)
    throw new BadArgumentError(
      `${name}.stageAttemptId`,
      `stage ${side.stageId} has attempts ${attempts.map((s) => s.attemptId).join(", ")}`,
    );
  return stage;
}

export async function compareStages(
  history: HistoryClient,
  apps: [AppRef, AppRef],
  sides: [Side, Side],
  signal?: AbortSignal,
) {
  const [left, right] = await Promise.all([
    stageOf(history, apps[0], sides[0], "left", signal),
    stageOf(history, apps[1], sides[1], "right", signal),
  ]);
  const summary = (app: AppRef, stage: StageData) =>
    stage.numCompleteTasks > 0
      ? history.taskSummary(app, stage.stageId, stage.attemptId, SUMMARY_QUANTILES, signal)
      : Promise.resolve(undefined);
  const [sa, sb] = await Promise.all([summary(apps[0], left), summary(apps[1], right)]);
  const figures: Figure[] = [
    { name: "wall time", left: stageWallMs(left), right: stageWallMs(right), format: duration },
    { name: "GC share", left: gcShare(left), right: gcShare(right), format: percent },
    ...totalsFigures(stageTotals([left]), stageTotals([right])),
  ];
  const q = (
    s: TaskMetricDistributions | undefined,
    pick: (s: TaskMetricDistributions) => number[] | undefined,
    quantile: number,
  ) => (s ? (at(s, pick(s), quantile) ?? 0) : 0);
  for (const [metric, pick, format] of [
    ["task time", (s: TaskMetricDistributions) => s.duration, duration],
    ["task shuffle read", (s: TaskMetricDistributions) => s.shuffleReadMetrics?.readBytes, bytes],
    ["task GC", (s: TaskMetricDistributions) => s.jvmGcTime, duration],
    ["task spill (disk)", (s: TaskMetricDistributions) => s.diskBytesSpilled, bytes],
  ] as const) {
    for (const [name, quantile] of [
      ["p25", 0.25],
      ["p50", 0.5],
      ["p75", 0.75],
      ["max", 1],
    ] as const) {
      figures.push({ name: `${metric} ${name}`, left: q(sa, pick, quantile), right: q(sb, pick, quantile), format });
    }
  }
  const labels: [string, string] = [
    `${label(apps[0])} stage ${stageKey(left)}`,
    `${label(apps[1])} stage ${stageKey(right)}`,
  ];
  const text = `${left.name} vs ${right.name}\n${figuresTable(figures, labels)}`;
  return { text, structured: { kind: "stages", figures: figures.map(({ format: _f, ...f }) => f) } };
}

export async function compareSql(
  history: HistoryClient,
  apps: [AppRef, AppRef],
  sides: [Side, Side],
  signal?: AbortSignal,
) {
  const load = async (app: AppRef, side: Side) => {
    let id = side.executionId;
    if (id === undefined) {
      // Default: the application's longest SQL execution.
      const all = await history.sqlExecutions(
        app,
        { offset: 0, length: 1_000, details: false, planDescription: false },
        signal,
      );
      id = [...all].sort((x, y) => y.duration - x.duration)[0]?.id;
      if (id === undefined) throw new BadArgumentError("executionId", `${app.appId} has no SQL executions`);
    }
    const execution = await history.sqlExecution(app, id, { details: true, planDescription: false }, signal);
    const jobIds = [...execution.successJobIds, ...execution.failedJobIds, ...execution.runningJobIds];
    const [jobs, stages] = await Promise.all([history.jobs(app, undefined, signal), history.stages(app, {}, signal)]);
    const stageIds = new Set(jobs.filter((job) => jobIds.includes(job.jobId)).flatMap((job) => job.stageIds));
    return { execution, totals: stageTotals(stages.filter((stage) => stageIds.has(stage.stageId))) };
  };
  const [a, b] = await Promise.all([load(apps[0], sides[0]), load(apps[1], sides[1])]);
  const figures: Figure[] = [
    { name: "duration", left: a.execution.duration, right: b.execution.duration, format: duration },
    {
      name: "jobs",
      left: a.execution.successJobIds.length + a.execution.failedJobIds.length,
      right: b.execution.successJobIds.length + b.execution.failedJobIds.length,
      format: count,
    },
    { name: "plan nodes", left: a.execution.nodes.length, right: b.execution.nodes.length, format: count },
    ...totalsFigures(a.totals, b.totals),
  ];
  const names = (nodes: { nodeName: string }[]) => {
    const counts = new Map<string, number>();
    for (const node of nodes) counts.set(node.nodeName, (counts.get(node.nodeName) ?? 0) + 1);
    return counts;
  };
  const [na, nb] = [names(a.execution.nodes), names(b.execution.nodes)];
  const planDiff = [...new Set([...na.keys(), ...nb.keys()])]
    .filter((name) => (na.get(name) ?? 0) !== (nb.get(name) ?? 0))
    .map((name) => [name, na.get(name) ?? 0, nb.get(name) ?? 0]);
  const labels: [string, string] = [
    `${label(apps[0])} sql ${a.execution.id}`,
    `${label(apps[1])} sql ${b.execution.id}`,
  ];
  const text = [
    `${a.execution.status} vs ${b.execution.status}`,
    figuresTable(figures, labels),
    "",
    planDiff.length
      ? `Plan operators that differ:\n${table(["operator", "left", "right"], planDiff)}`
      : "Both plans have the same operators.",
  ].join("\n");
  return { text, structured: { kind: "sql", figures: figures.map(({ format: _f, ...f }) => f), planDiff } };
}

export async function compareEnvironments(
  history: HistoryClient,
  apps: [AppRef, AppRef],
  section: "spark" | "hadoop" | "system",
  signal?: AbortSignal,
) {
  const [a, b] = await Promise.all(apps.map((app) => history.environment(app, signal)));
  if (!a || !b) throw new BadArgumentError("right", "both environments are needed");
  const pick = (env: typeof a) =>
    new Map({ spark: env.sparkProperties, hadoop: env.hadoopProperties, system: env.systemProperties }[section]);
  const [pa, pb] = [pick(a), pick(b)];
  // Keys that always differ between runs say nothing about the configuration.
  const noise =
    /^spark\.app\.(id|startTime|submitTime|attempt\.id)$|^spark\.driver\.(host|port)$|^spark\.ui\.proxyBase$/;
  const differences = [...new Set([...pa.keys(), ...pb.keys()])]
    .filter((key) => !noise.test(key) && pa.get(key) !== pb.get(key))
    .sort()
    .map((key) => [key, pa.get(key) ?? "(unset)", pb.get(key) ?? "(unset)"]);
  const runtime = (["javaVersion", "scalaVersion"] as const)
    .filter((key) => a.runtime[key] !== b.runtime[key])
    .map((key) => [key, a.runtime[key], b.runtime[key]]);
  const rows = [...runtime, ...differences];
  const text = rows.length
    ? `${rows.length} ${section} settings differ:\n${table(["key", label(apps[0]), label(apps[1])], rows)}`
    : `The ${section} settings are the same (apart from run-specific ids and hosts).`;
  return {
    text,
    structured: { kind: "environments", differences: rows.map(([key, left, right]) => ({ key, left, right })) },
  };
}
