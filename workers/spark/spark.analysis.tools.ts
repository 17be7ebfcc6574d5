/** The Spark server's analyses: compare two of a kind, and diagnose an application. */
import { z } from "zod";
import { BadArgumentError } from "../../shared/mcp";
import { compareApplications, compareEnvironments, compareSql, compareStages, type Side } from "./spark.compare";
import { diagnose, diagnosisText } from "./spark.diagnose";
import { cap } from "./spark.format";
import { appId, attemptId, defineTool, READ } from "./spark.inputs";

const side = (which: string) =>
  z
    .strictObject({
      appId,
      attemptId,
      stageId: z.number().int().min(0).optional().describe("The stage (kind=stages)"),
      stageAttemptId: z
        .number()
        .int()
        .min(0)
        .optional()
        .describe("The stage attempt; default its latest (kind=stages)"),
      executionId: z.number().int().min(0).optional().describe("The SQL execution; default the longest (kind=sql)"),
    })
    .describe(`The ${which} side: an application (and attempt), plus a stage or SQL execution for those kinds`);

export const compare = defineTool({
  name: "spark_compare",
  title: "Compare Spark runs",
  description:
    "Compare two applications (duration, jobs, executors, GC, I/O, shuffle, spill, requested resources), two stages " +
    "(figures and task quantiles), two SQL executions (figures and plan operators) or two environments (the settings that differ).",
  input: {
    kind: z.enum(["applications", "stages", "sql", "environments"]).describe("What to compare"),
    left: side("left (baseline)"),
    right: side("right"),
    section: z
      .enum(["spark", "hadoop", "system"])
      .default("spark")
      .describe("Which properties to compare (kind=environments)"),
  },
  annotations: { readOnlyHint: true, openWorldHint: true },
  access: READ,
  minutesSaved: 15,
  async run(args, ctx) {
    const { history } = ctx.upstream;
    await ctx.progress(0, 2, "reading both applications");
    const [left, right] = await Promise.all(
      [args.left, args.right].map((s) => history.resolve(s.appId, s.attemptId, ctx.signal)),
    );
    if (!left || !right) throw new BadArgumentError("left", "both sides are needed");
    await ctx.progress(1, 2, `comparing ${args.kind}`);
    const sides: [Side, Side] = [args.left, args.right];
    const result =
      args.kind === "applications"
        ? await compareApplications(history, left, right, ctx.signal)
        : args.kind === "stages"
          ? await compareStages(history, [left, right], sides, ctx.signal)
          : args.kind === "sql"
            ? await compareSql(history, [left, right], sides, ctx.signal)
            : await compareEnvironments(history, [left, right], args.section, ctx.signal);
    await ctx.progress(2, 2, "done");
    return { text: cap(result.text), structured: result.structured };
  },
});

export const diagnoseApp = defineTool({
  name: "spark_diagnose",
  title: "Diagnose a Spark application",
  description:
    "Find why an application failed or was slow: ranked likely causes, each with its evidence (failed stages and their " +
    "task errors, task skew from quantiles, spill, GC share, lost executors with reasons, shuffle fetch wait), then the " +
    "bottlenecks (slowest stages and jobs, executor utilisation). Reports progress.",
  input: {
    appId,
    attemptId,
    maxStages: z
      .number()
      .int()
      .min(1)
      .max(200)
      .default(30)
      .describe("Stages whose task quantiles are read, longest first"),
    maxCauses: z.number().int().min(1).max(50).default(8).describe("Most causes to show"),
  },
  annotations: { readOnlyHint: true, openWorldHint: true },
  access: READ,
  minutesSaved: 30,
  async run(args, ctx) {
    const { history } = ctx.upstream;
    const app = await history.resolve(args.appId, args.attemptId, ctx.signal);
    const diagnosis = await diagnose(history, app, {
      maxStages: args.maxStages,
      signal: ctx.signal,
      progress: (done, total, message) => ctx.progress(done, total, message),
    });
    return {
      text: cap(diagnosisText(diagnosis, args.maxCauses)),
      structured: { ...diagnosis, causes: diagnosis.causes.slice(0, args.maxCauses) },
    };
  },
});
