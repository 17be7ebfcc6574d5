/** spark_sql: SQL executions, or one with its plan (capped), node metrics and the stages of its jobs. */
import { z } from "zod";
import { STAGE_HEADER, stageKey, stageRow } from "./spark.analysis";
import { cap, duration, firstLine, table } from "./spark.format";
import type { StageData } from "./spark.history.types";
import { appId, appOf, attemptId, defineTool, limit, offset, READ } from "./spark.inputs";

export const sql = defineTool({
  name: "spark_sql",
  title: "Spark SQL executions",
  description:
    "List an application's SQL executions (status, duration, jobs), or show one with its physical plan (capped), the plan " +
    "nodes' metrics and the stages of its jobs.",
  input: {
    appId,
    attemptId,
    executionId: z.number().int().min(0).optional().describe("Show this SQL execution in detail"),
    includePlan: z.boolean().default(true).describe("Show the physical plan (detail)"),
    planMaxChars: z
      .number()
      .int()
      .min(200)
      .max(50_000)
      .default(4_000)
      .describe("Cut the plan after this many characters"),
    includeStages: z.boolean().default(true).describe("Show the stages of the execution's jobs (detail)"),
    offset,
    limit: limit(20, 200),
  },
  annotations: { readOnlyHint: true, openWorldHint: true },
  access: READ,
  minutesSaved: 5,
  async run(args, ctx) {
    const app = await appOf(ctx, args);
    const { history } = ctx.upstream;
    if (args.executionId === undefined) {
      const list = await history.sqlExecutions(
        app,
        { offset: args.offset, length: args.limit + 1, details: false, planDescription: false },
        ctx.signal,
      );
      const items = list.slice(0, args.limit);
      const rows = items.map((e) => [
        e.id,
        e.status,
        e.submissionTime,
        duration(e.duration),
        [...e.successJobIds, ...e.failedJobIds, ...e.runningJobIds].join(","),
        firstLine(e.description, 160),
      ]);
      const more = list.length > args.limit ? `; more with offset=${args.offset + args.limit}` : "";
      return {
        text: `${table(["id", "status", "submitted", "duration", "jobs", "description"], rows)}\n${items.length ? `executions ${args.offset + 1}-${args.offset + items.length}${more}` : "No SQL executions."}`,
        structured: { executions: items.map((e) => ({ id: e.id, status: e.status, durationMs: e.duration })) },
      };
    }
    const execution = await history.sqlExecution(
      app,
      args.executionId,
      { details: true, planDescription: args.includePlan },
      ctx.signal,
    );
    const jobIds = [...execution.successJobIds, ...execution.failedJobIds, ...execution.runningJobIds];
    const lines = [
      `SQL ${execution.id} ${execution.status}, ${duration(execution.duration)}, jobs ${jobIds.join(",") || "none"}${execution.failedJobIds.length ? ` (failed: ${execution.failedJobIds.join(",")})` : ""}`,
      firstLine(execution.description, 500),
    ];
    if (args.includePlan && execution.planDescription) {
      const plan = execution.planDescription;
      lines.push(
        "",
        plan.length > args.planMaxChars
          ? `${plan.slice(0, args.planMaxChars)}\n… (plan cut at ${args.planMaxChars} characters)`
          : plan,
      );
    }
    const measured = execution.nodes.filter((node) => node.metrics.length > 0);
    if (measured.length) {
      lines.push("Node metrics:");
      for (const node of measured)
        lines.push(`- ${node.nodeId} ${node.nodeName}: ${node.metrics.map((m) => `${m.name} ${m.value}`).join("; ")}`);
    }
    let stageList: StageData[] = [];
    if (args.includeStages && jobIds.length) {
      const jobsOf = await history.jobs(app, undefined, ctx.signal);
      const stageIds = new Set(jobsOf.filter((job) => jobIds.includes(job.jobId)).flatMap((job) => job.stageIds));
      stageList = (await history.stages(app, {}, ctx.signal)).filter((stage) => stageIds.has(stage.stageId));
      lines.push("Stages:", table(STAGE_HEADER, stageList.map(stageRow)));
    }
    return {
      text: cap(lines.join("\n")),
      structured: {
        id: execution.id,
        status: execution.status,
        durationMs: execution.duration,
        jobIds,
        nodes: execution.nodes.map((node) => ({
          nodeId: node.nodeId,
          nodeName: node.nodeName,
          metrics: node.metrics.length,
        })),
        stages: stageList.map(stageKey),
      },
    };
  },
});
