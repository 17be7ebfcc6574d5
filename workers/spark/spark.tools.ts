/**
 * The Spark server's read tools over the History Server: applications, jobs, stages (with task
 * quantiles and failed-task errors), executors, the resource timeline, the environment and SQL
 * executions. Every answer is compact text (capped, paginated) plus structured content.
 */
import { z } from "zod";
import { BadArgumentError } from "../../shared/mcp";
import {
  attemptDurationMs,
  quantileHeader,
  quantileRows,
  resourceTimeline,
  STAGE_HEADER,
  SUMMARY_QUANTILES,
  skewOf,
  stageKey,
  stageRow,
  stageWallMs,
  summarizeExecutors,
} from "./spark.analysis";
import { groupErrors } from "./spark.diagnose";
import { bytes, cap, duration, epoch, firstLine, pageNote, paginate, percent, table } from "./spark.format";
import type { ApplicationInfo, JobData, StageData } from "./spark.history.types";
import { appId, appOf, attemptId, defineTool, limit, offset, READ } from "./spark.inputs";
import { sql } from "./spark.sql.tools";

const sparkDate = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}:\d{2}\.\d{3}GMT)?$/, "must be 2026-12-01 or 2026-12-01T06:15:00.000GMT");

function appState(app: ApplicationInfo): string {
  const latest = app.attempts[0];
  if (!latest) return "unknown";
  return latest.completed ? "completed" : "running";
}

export const applications = defineTool({
  name: "spark_applications",
  title: "Spark applications",
  description:
    "List applications on the Spark History Server (newest first, filtered by state and dates), or show one " +
    "application with all its attempts. Start here to find an application id.",
  input: {
    appId: appId.optional().describe("Show this application and its attempts instead of listing"),
    status: z.enum(["completed", "running"]).optional().describe("Only completed or only running applications"),
    minDate: sparkDate.optional().describe("Started on or after (2026-12-01 or 2026-12-01T06:15:00.000GMT)"),
    maxDate: sparkDate.optional().describe("Started on or before"),
    minEndDate: sparkDate.optional().describe("Ended on or after"),
    maxEndDate: sparkDate.optional().describe("Ended on or before"),
    nameContains: z
      .string()
      .max(200)
      .optional()
      .describe("Only applications whose name contains this (case-insensitive)"),
    offset,
    limit: limit(20, 200),
  },
  annotations: { readOnlyHint: true, openWorldHint: true },
  access: READ,
  minutesSaved: 2,
  async run(args, ctx) {
    const { history } = ctx.upstream;
    if (args.appId) {
      const app = await history.application(args.appId, ctx.signal);
      const rows = app.attempts.map((attempt) => [
        attempt.attemptId ?? "-",
        attempt.completed ? "completed" : "running",
        attempt.startTime,
        attempt.completed ? attempt.endTime : "-",
        duration(attemptDurationMs(attempt)),
        attempt.sparkUser,
        attempt.appSparkVersion,
      ]);
      const text = `${app.name} (${app.id}), ${app.attempts.length} attempt(s), newest first\n${table(["attempt", "state", "start", "end", "duration", "user", "spark"], rows)}`;
      return { text, structured: { application: app } };
    }
    // The History Server caps the list at `limit`; the page after `offset` needs offset + limit of them.
    const listed = await history.applications(
      {
        ...(args.status ? { status: args.status } : {}),
        ...(args.minDate ? { minDate: args.minDate } : {}),
        ...(args.maxDate ? { maxDate: args.maxDate } : {}),
        ...(args.minEndDate ? { minEndDate: args.minEndDate } : {}),
        ...(args.maxEndDate ? { maxEndDate: args.maxEndDate } : {}),
        // A name filter is applied here, over the newest 5000 (the History Server cannot filter by name).
        limit: args.nameContains ? 5_000 : args.offset + args.limit + 1,
      },
      ctx.signal,
    );
    const needle = args.nameContains?.toLowerCase();
    const matching = needle ? listed.filter((app) => app.name.toLowerCase().includes(needle)) : listed;
    const page = paginate(matching, args.offset, args.limit);
    const rows = page.items.map((app) => {
      const latest = app.attempts[0];
      return [
        app.id,
        app.name,
        appState(app),
        app.attempts.length,
        latest?.startTime ?? "-",
        latest ? duration(attemptDurationMs(latest)) : "-",
        latest?.sparkUser ?? "-",
      ];
    });
    const text = `${table(["id", "name", "state", "attempts", "started", "duration", "user"], rows)}\n${pageNote(page, "applications")}`;
    return {
      text,
      structured: {
        applications: page.items.map((app) => ({
          id: app.id,
          name: app.name,
          state: appState(app),
          attempts: app.attempts.length,
        })),
        ...(page.nextOffset !== undefined ? { nextOffset: page.nextOffset } : {}),
      },
    };
  },
});

function jobWall(job: JobData): number {
  const start = epoch(job.submissionTime);
  return start === undefined ? 0 : (epoch(job.completionTime) ?? Date.now()) - start;
}

export const jobs = defineTool({
  name: "spark_jobs",
  title: "Spark jobs",
  description: "List an application's jobs (failed first, then slowest, or by id), or show one job with its stages.",
  input: {
    appId,
    attemptId,
    jobId: z.number().int().min(0).optional().describe("Show this job and its stages"),
    status: z
      .array(z.enum(["running", "succeeded", "failed", "unknown"]))
      .max(4)
      .optional()
      .describe("Only jobs in these states"),
    sortBy: z
      .enum(["failed-first", "duration", "id"])
      .default("failed-first")
      .describe("Order: failed first then slowest (default), slowest, or by id"),
    offset,
    limit: limit(20, 500),
  },
  annotations: { readOnlyHint: true, openWorldHint: true },
  access: READ,
  minutesSaved: 3,
  async run(args, ctx) {
    const app = await appOf(ctx, args);
    const { history } = ctx.upstream;
    const header = ["job", "status", "stages", "tasks", "failed tasks", "submitted", "duration", "name"];
    const row = (job: JobData) => [
      job.jobId,
      job.status,
      job.stageIds.join(","),
      `${job.numCompletedTasks}/${job.numTasks}`,
      job.numFailedTasks,
      job.submissionTime ?? "-",
      duration(jobWall(job)),
      job.description ?? job.name,
    ];
    if (args.jobId !== undefined) {
      const job = await history.job(app, args.jobId, ctx.signal);
      const stages = (await history.stages(app, {}, ctx.signal)).filter((stage) =>
        job.stageIds.includes(stage.stageId),
      );
      const text = `${table(header, [row(job)])}\n\nStages:\n${table(STAGE_HEADER, stages.map(stageRow))}`;
      return {
        text,
        structured: {
          job,
          stages: stages.map((stage) => ({ stage: stageKey(stage), status: stage.status, name: stage.name })),
        },
      };
    }
    const all = await history.jobs(
      app,
      args.status?.map((s) => s.toUpperCase()),
      ctx.signal,
    );
    const sorted = [...all].sort((a, b) => {
      if (args.sortBy === "id") return a.jobId - b.jobId;
      if (args.sortBy === "failed-first" && (a.status === "FAILED") !== (b.status === "FAILED"))
        return a.status === "FAILED" ? -1 : 1;
      return jobWall(b) - jobWall(a);
    });
    const page = paginate(sorted, args.offset, args.limit);
    return {
      text: `${table(header, page.items.map(row))}\n${pageNote(page, "jobs")}`,
      structured: {
        jobs: page.items.map((job) => ({ jobId: job.jobId, status: job.status, wallMs: jobWall(job), name: job.name })),
        total: page.total,
      },
    };
  },
});

export const stages = defineTool({
  name: "spark_stages",
  title: "Spark stages",
  description:
    "List an application's stage attempts (failed first, then slowest), or show one stage: its attempts, the task-metric " +
    "quantiles (p5-p95 and max) with skew ratios, and the errors of its failed tasks.",
  input: {
    appId,
    attemptId,
    stageId: z.number().int().min(0).optional().describe("Show this stage in detail"),
    stageAttemptId: z.number().int().min(0).optional().describe("The stage attempt to detail; default: its latest"),
    status: z
      .array(z.enum(["active", "complete", "pending", "failed", "skipped"]))
      .max(5)
      .optional()
      .describe("Only stages in these states (listing)"),
    sortBy: z
      .enum(["failed-first", "duration", "id", "spill", "shuffle-read"])
      .default("failed-first")
      .describe("Listing order"),
    quantiles: z
      .array(z.number().min(0).max(1))
      .min(1)
      .max(11)
      .optional()
      .describe("Quantiles for the task summary; default 0.05,0.25,0.5,0.75,0.95,1.0"),
    failedTasks: z.number().int().min(0).max(100).default(10).describe("Failed tasks whose errors to show (0: none)"),
    offset,
    limit: limit(20, 500),
  },
  annotations: { readOnlyHint: true, openWorldHint: true },
  access: READ,
  minutesSaved: 5,
  async run(args, ctx) {
    const app = await appOf(ctx, args);
    const { history } = ctx.upstream;
    if (args.stageId === undefined) {
      const all = await history.stages(
        app,
        { ...(args.status ? { status: args.status.map((s) => s.toUpperCase()) } : {}) },
        ctx.signal,
      );
      const order: Record<typeof args.sortBy, (a: StageData, b: StageData) => number> = {
        "failed-first": (a, b) =>
          Number(b.status === "FAILED") - Number(a.status === "FAILED") || stageWallMs(b) - stageWallMs(a),
        duration: (a, b) => stageWallMs(b) - stageWallMs(a),
        id: (a, b) => a.stageId - b.stageId || a.attemptId - b.attemptId,
        spill: (a, b) => b.memoryBytesSpilled + b.diskBytesSpilled - (a.memoryBytesSpilled + a.diskBytesSpilled),
        "shuffle-read": (a, b) => b.shuffleReadBytes - a.shuffleReadBytes,
      };
      const page = paginate([...all].sort(order[args.sortBy]), args.offset, args.limit);
      return {
        text: `${table(STAGE_HEADER, page.items.map(stageRow))}\n${pageNote(page, "stage attempts")}`,
        structured: {
          stages: page.items.map((stage) => ({
            stage: stageKey(stage),
            status: stage.status,
            wallMs: stageWallMs(stage),
            name: stage.name,
          })),
          total: page.total,
        },
      };
    }
    const attempts = await history.stageAttempts(app, args.stageId, ctx.signal);
    const chosen =
      args.stageAttemptId === undefined
        ? [...attempts].sort((a, b) => b.attemptId - a.attemptId)[0]
        : attempts.find((stage) => stage.attemptId === args.stageAttemptId);
    if (!chosen) {
      throw new BadArgumentError(
        "stageAttemptId",
        `stage ${args.stageId} has attempts ${attempts.map((s) => s.attemptId).join(", ")}`,
      );
    }
    const quantiles = args.quantiles ?? [...SUMMARY_QUANTILES];
    const lines = [`Stage ${args.stageId}: ${chosen.name}`, table(STAGE_HEADER, attempts.map(stageRow))];
    if (chosen.failureReason)
      lines.push(`Failure of attempt ${chosen.attemptId}: ${firstLine(chosen.failureReason, 600)}`);
    let summary: Awaited<ReturnType<typeof history.taskSummary>> | undefined;
    if (chosen.numCompleteTasks > 0) {
      summary = await history.taskSummary(app, chosen.stageId, chosen.attemptId, quantiles, ctx.signal);
      lines.push(
        `\nTask metrics of attempt ${chosen.attemptId} (${chosen.numCompleteTasks} successful tasks):`,
        table(quantileHeader(summary), quantileRows(summary)),
      );
      const hasSkewQuantiles = [0.5, 0.95, 1].every((q) => quantiles.includes(q));
      if (hasSkewQuantiles) {
        const skew = skewOf(summary);
        lines.push(
          `Skew: task time max/median ${skew.durationMax.toFixed(1)}×, p95/p50 ${skew.durationP95.toFixed(1)}×; shuffle read max/median ${skew.readMax.toFixed(1)}×, p95/p50 ${skew.readP95.toFixed(1)}×`,
        );
      }
    } else {
      lines.push(`\nNo successful tasks in attempt ${chosen.attemptId} yet: no task metrics.`);
    }
    let errors: ReturnType<typeof groupErrors> = [];
    if (args.failedTasks > 0 && chosen.numFailedTasks > 0) {
      const failed = await history.taskList(
        app,
        chosen.stageId,
        chosen.attemptId,
        { status: "failed", length: args.failedTasks },
        ctx.signal,
      );
      errors = groupErrors(failed);
      lines.push(`\nFailed tasks (${chosen.numFailedTasks}; ${failed.length} read):`);
      for (const task of failed) {
        lines.push(
          `- task ${task.index}.${task.attempt} (TID ${task.taskId}) on executor ${task.executorId} ${task.host}: ${(task.errorMessage ?? "").split("\n").slice(0, 4).join("\n    ")}`,
        );
      }
    }
    return {
      text: cap(lines.join("\n")),
      structured: {
        stage: stageKey(chosen),
        status: chosen.status,
        attempts: attempts.map((stage) => stage.attemptId),
        ...(summary ? { taskSummary: summary } : {}),
        errors,
      },
    };
  },
});

export const executors = defineTool({
  name: "spark_executors",
  title: "Spark executors",
  description:
    "An application's executors (all, or only active ones) with tasks, time, GC, I/O and removal reasons, and their " +
    "summary: totals, GC share, memory, lost executors.",
  input: {
    appId,
    attemptId,
    includeInactive: z.boolean().default(true).describe("Include removed executors (default true)"),
    sortBy: z.enum(["id", "failed-tasks", "duration", "gc", "shuffle-read"]).default("id").describe("Row order"),
    offset,
    limit: limit(50, 1_000),
  },
  annotations: { readOnlyHint: true, openWorldHint: true },
  access: READ,
  minutesSaved: 3,
  async run(args, ctx) {
    const app = await appOf(ctx, args);
    const all = await ctx.upstream.history.executors(app, args.includeInactive, ctx.signal);
    const summary = summarizeExecutors(all);
    const gc = (e: (typeof all)[number]) => (e.totalDuration > 0 ? e.totalGCTime / e.totalDuration : 0);
    const order = {
      id: (a: (typeof all)[number], b: (typeof all)[number]) =>
        a.id === "driver" ? -1 : b.id === "driver" ? 1 : Number(a.id) - Number(b.id),
      "failed-tasks": (a: (typeof all)[number], b: (typeof all)[number]) => b.failedTasks - a.failedTasks,
      duration: (a: (typeof all)[number], b: (typeof all)[number]) => b.totalDuration - a.totalDuration,
      gc: (a: (typeof all)[number], b: (typeof all)[number]) => gc(b) - gc(a),
      "shuffle-read": (a: (typeof all)[number], b: (typeof all)[number]) => b.totalShuffleRead - a.totalShuffleRead,
    }[args.sortBy];
    const page = paginate([...all].sort(order), args.offset, args.limit);
    const rows = page.items.map((e) => [
      e.id,
      e.hostPort,
      e.isActive ? "active" : "removed",
      e.totalCores,
      `${e.completedTasks}/${e.totalTasks}`,
      e.failedTasks,
      duration(e.totalDuration),
      percent(gc(e)),
      bytes(e.totalInputBytes),
      bytes(e.totalShuffleRead),
      bytes(e.totalShuffleWrite),
      `${bytes(e.memoryUsed)}/${bytes(e.maxMemory)}`,
      e.removeReason ? firstLine(e.removeReason, 160) : "",
    ]);
    const text = [
      `Summary: ${summary.executors} executors (${summary.active} active, ${summary.removed} removed), ${summary.cores} cores; tasks ${summary.tasks.completed} done, ${summary.tasks.failed} failed; task time ${duration(summary.taskTimeMs)}, GC ${percent(summary.gcShare)}; input ${bytes(summary.inputBytes)}, shuffle read ${bytes(summary.shuffleReadBytes)}, write ${bytes(summary.shuffleWriteBytes)}`,
      table(
        [
          "id",
          "host:port",
          "state",
          "cores",
          "tasks",
          "failed",
          "task time",
          "gc",
          "input",
          "shuffle read",
          "shuffle write",
          "memory",
          "removed because",
        ],
        rows,
      ),
      pageNote(page, "executors"),
    ].join("\n");
    return {
      text: cap(text),
      structured: { summary: { ...summary }, executors: page.items.map((e) => e.id), total: page.total },
    };
  },
});

export const timeline = defineTool({
  name: "spark_timeline",
  title: "Spark resource timeline",
  description:
    "An application's resource timeline: executors added and removed (with reasons) and stages submitted and completed, " +
    "in time order with the executors and cores alive; peak executors and cores, and utilisation of the offered core time.",
  input: { appId, attemptId, offset, limit: limit(60, 1_000) },
  annotations: { readOnlyHint: true, openWorldHint: true },
  access: READ,
  minutesSaved: 5,
  async run(args, ctx) {
    const app = await appOf(ctx, args);
    const { history } = ctx.upstream;
    const attempt = app.info.attempts.find((a) => a.attemptId === app.attemptId) ?? app.info.attempts[0];
    if (!attempt) throw new BadArgumentError("appId", `${app.appId} has no attempts`);
    const [all, stageList] = await Promise.all([
      history.executors(app, true, ctx.signal),
      history.stages(app, {}, ctx.signal),
    ]);
    const result = resourceTimeline(attempt, all, stageList);
    const page = paginate(result.events, args.offset, args.limit);
    const start = attempt.startTimeEpoch;
    const rows = page.items.map((event) => [
      `+${duration(event.at - start)}`,
      event.kind,
      event.executors,
      event.cores,
      event.what,
    ]);
    const text = [
      `Peak ${result.peakExecutors} executors / ${result.peakCores} cores; tasks used ${percent(result.utilisation)} of the ${duration(result.coreMs)} core time offered`,
      table(["at", "event", "executors", "cores", "what"], rows),
      pageNote(page, "events"),
    ].join("\n");
    return {
      text: cap(text),
      structured: {
        peakExecutors: result.peakExecutors,
        peakCores: result.peakCores,
        utilisation: result.utilisation,
        events: page.items.length,
        total: page.total,
      },
    };
  },
});

const SECTIONS = ["spark", "hadoop", "system", "metrics", "classpath"] as const;

export const environment = defineTool({
  name: "spark_environment",
  title: "Spark environment",
  description:
    "An application's runtime (Java, Scala) and its Spark, Hadoop, system or metrics properties, or classpath, filtered by a substring.",
  input: {
    appId,
    attemptId,
    section: z
      .enum(SECTIONS)
      .default("spark")
      .describe("Which properties: spark (default), hadoop, system, metrics or classpath"),
    filter: z
      .string()
      .max(200)
      .optional()
      .describe("Only entries whose key or value contains this (case-insensitive), e.g. memory"),
    offset,
    limit: limit(100, 2_000),
  },
  annotations: { readOnlyHint: true, openWorldHint: true },
  access: READ,
  minutesSaved: 2,
  async run(args, ctx) {
    const app = await appOf(ctx, args);
    const env = await ctx.upstream.history.environment(app, ctx.signal);
    const entries = {
      spark: env.sparkProperties,
      hadoop: env.hadoopProperties,
      system: env.systemProperties,
      metrics: env.metricsProperties,
      classpath: env.classpathEntries,
    }[args.section];
    const needle = args.filter?.toLowerCase();
    const matching = needle
      ? entries.filter(([key, value]) => `${key}\t${value}`.toLowerCase().includes(needle))
      : entries;
    const page = paginate(matching, args.offset, args.limit);
    const text = [
      `Java ${env.runtime.javaVersion}, Scala ${env.runtime.scalaVersion.replace(/^version /, "")}`,
      table(["key", "value"], page.items),
      pageNote(page, `${args.section} entries`),
    ].join("\n");
    return {
      text: cap(text),
      structured: { runtime: env.runtime, entries: Object.fromEntries(page.items), total: page.total },
    };
  },
});

export const readTools = [applications, jobs, stages, executors, timeline, environment, sql];
