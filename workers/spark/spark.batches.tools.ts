/**
 * Batches through Livy: follow them (state and log, optionally waiting with progress), submit
 * one and kill one. Submitting and killing need spark:write, the data-eng group and a human's
 * approval of the exact action; batches run as the caller (Livy's proxyUser) unless
 * LIVY_PROXY_USER=none, and then only their owner may kill them.
 */
import { z } from "zod";
import { AccessDeniedError, BadArgumentError } from "../../shared/mcp";
import type { SparkConfig } from "./spark.config";
import { cap, pageNote, table } from "./spark.format";
import { LIVY_FINAL_STATES, type LivyBatch, type LivyBatchRequest } from "./spark.history.types";
import { defineTool, limit, offset, READ, type SparkContext } from "./spark.inputs";

const WRITE = { groups: ["data-eng"], scopes: ["spark:read", "spark:write"] } as const;

const artifact = z
  .string()
  .min(1)
  .max(2_000)
  .regex(/^\S+$/, "must be a path or URI without spaces, e.g. hdfs:///jobs/app.jar or s3a://bucket/job.py");
const memory = z.string().regex(/^\d+[kmgt]?$/i, "must be a JVM memory size such as 4g or 512m");
/**
 * The only `conf` settings a batch may carry: tuning (SQL, memory, cores, executors, shuffle,
 * scheduling). Everything else is refused, since Spark settings can change who a batch runs as
 * (`spark.yarn.appMasterEnv.HADOOP_USER_NAME`, `*.extraJavaOptions`, keytabs), or load code and
 * files from anywhere (`spark.jars`, `spark.jars.packages`, `spark.files`, `*.extraClassPath`):
 * files go through `file`, `jars`, `pyFiles`, `files` and `archives`, which the allowed locations
 * check. An allow list, not a deny list: a setting Spark adds later is refused until listed here.
 */
const ALLOWED_CONF = [
  /^spark\.sql\.(shuffle\.partitions|adaptive\.[\w.]+|autoBroadcastJoinThreshold|broadcastTimeout|files\.maxPartitionBytes|files\.openCostInBytes|session\.timeZone|sources\.partitionOverwriteMode)$/,
  /^spark\.(driver|executor)\.(memory|memoryOverhead|cores)$/,
  /^spark\.(driver\.maxResultSize|executor\.instances|default\.parallelism|network\.timeout|task\.maxFailures|task\.cpus|speculation|speculation\.[\w.]+|locality\.wait|memory\.fraction|memory\.storageFraction|shuffle\.compress|shuffle\.spill\.compress|shuffle\.file\.buffer|reducer\.maxSizeInFlight|rdd\.compress|io\.compression\.codec|serializer|kryoserializer\.buffer\.max)$/,
  /^spark\.dynamicAllocation\.(enabled|minExecutors|maxExecutors|initialExecutors|executorIdleTimeout|schedulerBacklogTimeout|shuffleTracking\.enabled)$/,
];

const batchId = z.number().int().min(0).describe("Livy batch id (see spark_batches)");

export const batchInput = {
  file: artifact.describe("The application: a jar or Python file Livy can read, e.g. hdfs:///jobs/rollup.jar"),
  className: z
    .string()
    .regex(/^[A-Za-z_$][\w$.]*$/, "must be a Java class name")
    .optional()
    .describe("Main class (jar applications)"),
  args: z.array(z.string().max(2_000)).max(100).optional().describe("Command-line arguments of the application"),
  name: z.string().min(1).max(200).optional().describe("The batch's name (shown in Livy and YARN)"),
  jars: z.array(artifact).max(50).optional().describe("Extra jars"),
  pyFiles: z.array(artifact).max(50).optional().describe("Extra Python files"),
  files: z.array(artifact).max(50).optional().describe("Files placed in the executors' working directory"),
  archives: z.array(artifact).max(20).optional().describe("Archives extracted into the executors' working directory"),
  driverMemory: memory.optional().describe("Driver memory, e.g. 4g"),
  driverCores: z.number().int().min(1).max(64).optional().describe("Driver cores"),
  executorMemory: memory.optional().describe("Executor memory, e.g. 8g"),
  executorCores: z.number().int().min(1).max(64).optional().describe("Cores per executor"),
  numExecutors: z.number().int().min(1).max(2_000).optional().describe("Number of executors"),
  queue: z
    .string()
    .regex(/^[\w.-]{1,100}$/, "must be a YARN queue name")
    .optional()
    .describe("YARN queue"),
  conf: z
    .record(z.string().regex(/^spark\.[\w.-]{1,200}$/, "keys must be spark.* settings"), z.string().max(2_000))
    .optional()
    .describe('Spark settings, e.g. {"spark.sql.shuffle.partitions": "400"}'),
};

type BatchArgs = { [K in keyof typeof batchInput]?: z.output<(typeof batchInput)[K]> } & { file: string };

/** The request body Livy gets, without proxyUser (the server sets it): exactly what the human approves. */
export function batchBody(args: BatchArgs): LivyBatchRequest {
  const body: LivyBatchRequest = { file: args.file };
  for (const key of Object.keys(batchInput) as (keyof typeof batchInput)[]) {
    if (key !== "file" && args[key] !== undefined) Object.assign(body, { [key]: args[key] });
  }
  return body;
}

function checkSubmission(body: LivyBatchRequest, config: SparkConfig): void {
  for (const key of Object.keys(body.conf ?? {})) {
    if (!ALLOWED_CONF.some((allowed) => allowed.test(key))) {
      throw new BadArgumentError(
        "conf",
        `${key} may not be set through this server: only tuning settings are (SQL, memory, cores, executors, shuffle, scheduling; docs/spark.md); give files as file, jars, pyFiles, files or archives`,
      );
    }
  }
  const prefixes = config.livyAllowedFilePrefixes;
  if (prefixes.length === 0) return;
  const files = [
    ["file", [body.file]],
    ["jars", body.jars ?? []],
    ["pyFiles", body.pyFiles ?? []],
    ["files", body.files ?? []],
    ["archives", body.archives ?? []],
  ] as const;
  for (const [argument, paths] of files) {
    const outside = paths.find((path) => !prefixes.some((prefix) => path.startsWith(prefix)));
    if (outside)
      throw new BadArgumentError(argument, `${outside} is outside the allowed locations (${prefixes.join(", ")})`);
  }
}

function batchLine(batch: LivyBatch): (string | number)[] {
  return [batch.id, batch.state, batch.name ?? "-", batch.proxyUser ?? batch.owner ?? "-", batch.appId ?? "-"];
}

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener("abort", () => {
      clearTimeout(timer);
      resolve();
    });
  });

async function waitForEnd(ctx: SparkContext, id: number, seconds: number): Promise<string> {
  const deadline = Date.now() + seconds * 1_000;
  let state = (await ctx.upstream.livy.state(id, ctx.signal)).state;
  let polls = 0;
  while (!LIVY_FINAL_STATES.includes(state) && Date.now() < deadline && !ctx.signal.aborted) {
    await ctx.progress(++polls, undefined, `batch ${id} is ${state}`);
    await sleep(Math.min(1_000, Math.max(0, deadline - Date.now())), ctx.signal);
    state = (await ctx.upstream.livy.state(id, ctx.signal)).state;
  }
  return state;
}

export const batches = defineTool({
  name: "spark_batches",
  title: "Livy batches",
  description:
    "List Livy batches, or follow one: its state, YARN application id and the tail of its log (your own batches' logs " +
    "only); with waitSeconds it " +
    "waits (reporting progress) until the batch ends or the time is up.",
  input: {
    batchId: batchId.optional().describe("Follow this batch instead of listing"),
    logLines: z
      .number()
      .int()
      .min(0)
      .max(1_000)
      .default(40)
      .describe("Log lines to show (the last ones unless logFrom)"),
    logFrom: z.number().int().min(0).optional().describe("First log line to show (for paging through the log)"),
    waitSeconds: z
      .number()
      .int()
      .min(0)
      .max(50)
      .default(0)
      .describe("Wait up to this long for the batch to end (0: do not wait)"),
    offset,
    limit: limit(20, 100),
  },
  annotations: { readOnlyHint: true, openWorldHint: true },
  access: READ,
  minutesSaved: 2,
  // Following a batch with waitSeconds is a task for clients that support tasks; a look is answered at once.
  task: { when: (args) => args.batchId !== undefined && args.waitSeconds > 0 },
  async run(args, ctx) {
    const { livy } = ctx.upstream;
    if (args.batchId === undefined) {
      const listed = await livy.list(args.offset, args.limit, ctx.signal);
      const page = {
        items: listed.sessions,
        total: listed.total,
        offset: listed.from,
        ...(listed.from + listed.sessions.length < listed.total
          ? { nextOffset: listed.from + listed.sessions.length }
          : {}),
      };
      return {
        text: `${table(["id", "state", "name", "runs as", "application"], listed.sessions.map(batchLine))}\n${pageNote(page, "batches")}`,
        structured: {
          batches: listed.sessions.map((b) => ({ id: b.id, state: b.state, appId: b.appId })),
          total: listed.total,
        },
      };
    }
    if (args.waitSeconds > 0) await waitForEnd(ctx, args.batchId, args.waitSeconds);
    const batch = await livy.get(args.batchId, ctx.signal);
    // As Livy shows a batch's log only to who may view it: when batches run as their submitter,
    // another person's log (it may print their data or paths) is not shown.
    const mayReadLog = livy.config.livyProxyUser !== "caller" || batch.proxyUser === ctx.caller.principal;
    const log =
      args.logLines > 0 && mayReadLog
        ? await livy.log(args.batchId, args.logFrom, args.logLines, ctx.signal)
        : undefined;
    const lines = [
      `Batch ${batch.id} ${batch.state}${LIVY_FINAL_STATES.includes(batch.state) ? " (ended)" : ""}; application ${batch.appId ?? "not yet assigned"}; runs as ${batch.proxyUser ?? batch.owner ?? "Livy's user"}`,
      ...Object.entries(batch.appInfo)
        .filter(([, value]) => value)
        .map(([key, value]) => `${key}: ${value}`),
    ];
    if (log) lines.push(`Log lines ${log.from + 1}-${log.from + log.log.length} of ${log.total}:`, ...log.log);
    if (!mayReadLog) lines.push("(Its log is shown only to whoever submitted it.)");
    return {
      text: cap(lines.join("\n")),
      structured: {
        id: batch.id,
        state: batch.state,
        appId: batch.appId,
        ended: LIVY_FINAL_STATES.includes(batch.state),
        ...(log ? { logTotal: log.total } : {}),
      },
    };
  },
});

export const submitBatch = defineTool({
  name: "spark_submit_batch",
  title: "Submit a Spark batch",
  description:
    "Submit a Spark application to the cluster as a Livy batch, run as you. A human approves the exact submission " +
    "first; data engineers only. Follow it with spark_batches.",
  input: batchInput,
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: true },
  access: WRITE,
  minutesSaved: 10,
  // Checked before the human is asked (nothing refused is ever put to them), and again before Livy.
  approval: (args, ctx) => {
    checkSubmission(batchBody(args), ctx.upstream.livy.config);
    return submitAction(args);
  },
  async run(args, ctx) {
    const { livy } = ctx.upstream;
    const body = batchBody(args);
    checkSubmission(body, livy.config);
    const request = livy.config.livyProxyUser === "caller" ? { ...body, proxyUser: ctx.caller.principal } : body;
    const batch = await livy.submit(request, ctx.signal);
    await ctx.log("notice", `${ctx.caller.principal} submitted Livy batch ${batch.id} (${body.file})`);
    return {
      text: `Submitted batch ${batch.id} (${batch.state}); follow it with spark_batches {"batchId": ${batch.id}}.`,
      structured: { id: batch.id, state: batch.state, appId: batch.appId, proxyUser: batch.proxyUser },
    };
  },
});

const submitAction = (args: BatchArgs) =>
  `Submit this Spark batch to Livy, to run as you (proxyUser: your principal)?\n${JSON.stringify(batchBody(args), null, 2)}`;

export const killBatch = defineTool({
  name: "spark_kill_batch",
  title: "Kill a Spark batch",
  description:
    "Kill a Livy batch (its Spark application stops and Livy forgets it). A human approves first; data engineers " +
    "only, and only the batch's owner when batches run as their submitter.",
  input: { batchId: batchId.describe("Id of the batch to kill") },
  annotations: { destructiveHint: true, idempotentHint: true, openWorldHint: true },
  access: WRITE,
  minutesSaved: 3,
  approval: ({ batchId: id }) =>
    `Kill Livy batch ${id}? Its Spark application is stopped, its output may be incomplete, and Livy forgets the batch.`,
  async run({ batchId: id }, ctx) {
    const { livy } = ctx.upstream;
    const batch = await livy.get(id, ctx.signal);
    if (livy.config.livyProxyUser === "caller" && batch.proxyUser !== ctx.caller.principal) {
      throw new AccessDeniedError(
        `Access denied: batch ${id} runs as ${batch.proxyUser ?? "Livy's own user"}; only whoever submitted it may kill it`,
        "owner",
      );
    }
    if (LIVY_FINAL_STATES.includes(batch.state)) return `Batch ${id} already ended (${batch.state}); nothing to kill.`;
    const answer = await livy.kill(id, ctx.signal);
    await ctx.log(
      "warning",
      `${ctx.caller.principal} killed Livy batch ${id} (${batch.state}, ${batch.appId ?? "no application yet"})`,
    );
    return {
      text: `Killed batch ${id} (was ${batch.state}; Livy: ${answer.msg}).`,
      structured: { id, was: batch.state, killed: true },
    };
  },
});

export const batchTools = [batches, submitBatch, killBatch];
