/**
 * What the local Spark History Server (local/spark.upstream.ts) knows: five applications, built
 * task by task from a deterministic generator so that every aggregate (stage totals, executor
 * totals, quantiles) is consistent with the tasks, as Spark's own status store computes them.
 *
 * Planted, for the diagnosis to find (workers/spark/spark.diagnose.test.ts):
 * - `app-20261201061500-0003` daily-orders-etl: completed and healthy (nothing to report);
 * - `application_1764570000000_0041` clickstream-sessionize: running (an active and a pending stage);
 * - `application_1764570000000_0038` ads-attribution: two attempts, the first failed (driver lost);
 * - `application_1764570000000_0044` revenue-rollup: failed: stage 3 failed (OutOfMemoryError,
 *   task 17 four times), stage 2 skewed (4 of 200 tasks ~60x the median, with their shuffle
 *   read) and spilling several GB to disk;
 * - `application_1764570000000_0047` user-features-daily: succeeded slowly: executors 3 and 5
 *   killed by YARN for memory, 6 lost to a heartbeat timeout, 7 released by dynamic allocation;
 *   ~25% of task time in GC; stage 4 waiting ~40% of its run time on shuffle fetches, its first
 *   attempt failed on a FetchFailedException.
 */
import type {
  ApplicationAttempt,
  ApplicationInfo,
  EnvironmentInfo,
  ExecutionData,
  ExecutorSummary,
  JobData,
  StageData,
  StageStatus,
  TaskData,
} from "../workers/spark/spark.history.types.ts";
import { type AppPlan, type ExecutorPlan, PLANS, type PlanNode, type StagePlan } from "./spark.sample-plans.ts";
import { PROBLEM_PLANS } from "./spark.sample-problems.ts";

const MB = 1024 * 1024;

/** One attempt of one application, with everything its REST API serves. */
export interface AttemptData {
  info: ApplicationAttempt;
  jobs: JobData[];
  stages: { data: StageData; tasks: TaskData[] }[];
  executors: ExecutorSummary[];
  environment: EnvironmentInfo;
  sql: ExecutionData[];
}

export interface SampleApplication {
  id: string;
  name: string;
  /** Newest first, as the History Server lists them. */
  attempts: AttemptData[];
  coresPerExecutor?: number;
  memoryPerExecutorMB?: number;
}

/** Spark's REST timestamp: "2026-12-01T06:15:00.120GMT". */
export function sparkTime(epochMs: number): string {
  return new Date(epochMs).toISOString().replace("Z", "GMT");
}

/** A small deterministic generator (mulberry32), so every run serves the same data. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

function buildStage(
  plan: StagePlan,
  app: AppPlan,
  next: () => number,
  taskIds: { next: number },
): StageData & { tasks: TaskData[] } {
  const workers = app.executors.filter((executor) => executor.id !== "driver");
  const slots = workers.reduce((sum, executor) => sum + executor.cores, 0);
  const stageStart = app.start + plan.startMs;
  const tasks: TaskData[] = [];
  const skewed = plan.skew?.tasks ?? 0;
  const factorOf = (index: number) => (index < skewed ? (plan.skew?.factor ?? 1) : 1);
  const pending = plan.status === "PENDING" || plan.status === "SKIPPED";
  const attempts: { index: number; attempt: number; failed?: string }[] = [];
  if (!pending) {
    for (let index = 0; index < plan.numTasks; index++) {
      const failure = plan.failures?.find((f) => f.index === index);
      const failedAttempts = failure?.attempts ?? 0;
      for (let attempt = 0; attempt < failedAttempts; attempt++)
        attempts.push({ index, attempt, failed: failure?.error });
      // A task failed as often as the stage allows (4) does not succeed.
      if (failedAttempts < 4) attempts.push({ index, attempt: failedAttempts });
    }
  }
  const runningFrom = attempts.length - (plan.running ?? 0);
  let end = stageStart;
  attempts.forEach(({ index, attempt, failed }, position) => {
    const executor = workers[position % workers.length] as ExecutorPlan;
    const factor = factorOf(index);
    const jitter = 0.8 + next() * 0.4;
    const duration = Math.round(plan.taskMs * factor * jitter);
    const launch = stageStart + Math.floor(position / Math.max(1, slots)) * plan.taskMs + Math.round(next() * 40);
    const running = position >= runningFrom;
    const perTask = (total: number | undefined) => Math.round(((total ?? 0) / plan.numTasks) * factor * jitter);
    const spill = plan.spillBytes && (skewed === 0 || index < skewed) ? Math.round(plan.spillBytes * jitter) : 0;
    const run = Math.max(1, duration - 30);
    const shuffleRead = perTask(plan.shuffleReadBytes);
    const status = running ? "RUNNING" : failed ? "FAILED" : "SUCCESS";
    const id = taskIds.next++;
    tasks.push({
      taskId: id,
      index,
      attempt,
      partitionId: index,
      launchTime: sparkTime(launch),
      ...(running ? {} : { duration }),
      executorId: executor.id,
      host: executor.host,
      status,
      taskLocality: plan.inputBytes ? "NODE_LOCAL" : "PROCESS_LOCAL",
      speculative: false,
      accumulatorUpdates: [],
      ...(failed ? { errorMessage: failed.replace("{tid}", String(id)).replace("{executor}", executor.id) } : {}),
      ...(running
        ? {}
        : {
            taskMetrics: {
              executorDeserializeTime: 12,
              executorDeserializeCpuTime: 9_000_000,
              executorRunTime: run,
              executorCpuTime: Math.round(run * 0.7 * 1_000_000),
              resultSize: 2_400,
              jvmGcTime: Math.round(run * (plan.gcShare ?? 0.02)),
              resultSerializationTime: 1,
              memoryBytesSpilled: spill,
              diskBytesSpilled: Math.round(spill * 0.45),
              peakExecutionMemory: Math.round(64 * MB * factor),
              inputMetrics: {
                bytesRead: perTask(plan.inputBytes),
                recordsRead: Math.round(perTask(plan.inputBytes) / 120),
              },
              outputMetrics: { bytesWritten: 0, recordsWritten: 0 },
              shuffleReadMetrics: {
                remoteBlocksFetched: shuffleRead ? 180 : 0,
                localBlocksFetched: shuffleRead ? 20 : 0,
                fetchWaitTime: Math.round(run * (plan.fetchWaitShare ?? 0)),
                remoteBytesRead: Math.round(shuffleRead * 0.9),
                remoteBytesReadToDisk: 0,
                localBytesRead: shuffleRead - Math.round(shuffleRead * 0.9),
                recordsRead: Math.round(shuffleRead / 96),
                remoteReqsDuration: Math.round(run * (plan.fetchWaitShare ?? 0) * 0.8),
              },
              shuffleWriteMetrics: {
                bytesWritten: perTask(plan.shuffleWriteBytes),
                writeTime: Math.round(perTask(plan.shuffleWriteBytes) / 200),
                recordsWritten: Math.round(perTask(plan.shuffleWriteBytes) / 96),
              },
            },
          }),
      executorLogs: executorLogs(executor),
      schedulerDelay: Math.round(5 + next() * 20),
      gettingResultTime: 0,
    });
    if (!running) end = Math.max(end, launch + duration);
  });
  const done = tasks.filter((task) => task.taskMetrics);
  const sum = (pick: (metrics: NonNullable<TaskData["taskMetrics"]>) => number) =>
    done.reduce((total, task) => total + pick(task.taskMetrics as NonNullable<TaskData["taskMetrics"]>), 0);
  const succeeded = tasks.filter((task) => task.status === "SUCCESS");
  const failedCount = tasks.filter((task) => task.status === "FAILED").length;
  return {
    status: plan.status,
    stageId: plan.stageId,
    attemptId: plan.attemptId ?? 0,
    numTasks: plan.numTasks,
    numActiveTasks: tasks.filter((task) => task.status === "RUNNING").length,
    numCompleteTasks: succeeded.length,
    numFailedTasks: failedCount,
    numKilledTasks: 0,
    numCompletedIndices: new Set(succeeded.map((task) => task.index)).size,
    ...(pending && plan.status === "PENDING" ? {} : { submissionTime: sparkTime(stageStart) }),
    ...(tasks[0] ? { firstTaskLaunchedTime: tasks[0].launchTime } : {}),
    ...(plan.status === "COMPLETE" || plan.status === "FAILED" ? { completionTime: sparkTime(end) } : {}),
    ...(plan.failureReason ? { failureReason: plan.failureReason } : {}),
    executorDeserializeTime: sum((m) => m.executorDeserializeTime),
    executorDeserializeCpuTime: sum((m) => m.executorDeserializeCpuTime),
    executorRunTime: sum((m) => m.executorRunTime),
    executorCpuTime: sum((m) => m.executorCpuTime),
    resultSize: sum((m) => m.resultSize),
    jvmGcTime: sum((m) => m.jvmGcTime),
    resultSerializationTime: sum((m) => m.resultSerializationTime),
    memoryBytesSpilled: sum((m) => m.memoryBytesSpilled),
    diskBytesSpilled: sum((m) => m.diskBytesSpilled),
    peakExecutionMemory: sum((m) => m.peakExecutionMemory),
    inputBytes: sum((m) => m.inputMetrics.bytesRead),
    inputRecords: sum((m) => m.inputMetrics.recordsRead),
    outputBytes: 0,
    outputRecords: 0,
    shuffleRemoteBlocksFetched: sum((m) => m.shuffleReadMetrics.remoteBlocksFetched),
    shuffleLocalBlocksFetched: sum((m) => m.shuffleReadMetrics.localBlocksFetched),
    shuffleFetchWaitTime: sum((m) => m.shuffleReadMetrics.fetchWaitTime),
    shuffleRemoteBytesRead: sum((m) => m.shuffleReadMetrics.remoteBytesRead),
    shuffleRemoteBytesReadToDisk: 0,
    shuffleLocalBytesRead: sum((m) => m.shuffleReadMetrics.localBytesRead),
    shuffleReadBytes: sum((m) => m.shuffleReadMetrics.remoteBytesRead + m.shuffleReadMetrics.localBytesRead),
    shuffleReadRecords: sum((m) => m.shuffleReadMetrics.recordsRead),
    shuffleWriteBytes: sum((m) => m.shuffleWriteMetrics.bytesWritten),
    shuffleWriteTime: sum((m) => m.shuffleWriteMetrics.writeTime),
    shuffleWriteRecords: sum((m) => m.shuffleWriteMetrics.recordsWritten),
    name: plan.name,
    details: `org.apache.spark.sql.Dataset.${plan.name.split(" ")[0]}(Dataset.scala:3416)\ncom.example.jobs.Main$.run(Main.scala:${40 + plan.stageId})`,
    schedulingPool: "default",
    rddIds: [plan.stageId * 3, plan.stageId * 3 + 1],
    accumulatorUpdates: [],
    killedTasksSummary: {},
    resourceProfileId: 0,
    isShufflePushEnabled: false,
    shuffleMergersCount: 0,
    tasks,
  };
}

function executorLogs(executor: ExecutorPlan): Record<string, string> {
  const base = `http://${executor.host}:8042/node/containerlogs/container_1764570000000_0001_01_00000${executor.id}/spark`;
  return { stdout: `${base}/stdout?start=-4096`, stderr: `${base}/stderr?start=-4096` };
}

function buildApp(plan: AppPlan): AttemptData {
  const next = random(plan.seed);
  const taskIds = { next: 0 };
  const built = plan.stages.map((stage) => buildStage(stage, plan, next, taskIds));
  const stages = built.map(({ tasks, ...data }) => ({ data, tasks }));
  const allTasks = built.flatMap((stage) => stage.tasks);
  const executors = plan.executors.map((executor): ExecutorSummary => {
    const mine = allTasks.filter((task) => task.executorId === executor.id);
    const done = mine.filter((task) => task.taskMetrics);
    const total = (pick: (task: TaskData) => number) => done.reduce((sum, task) => sum + pick(task), 0);
    const metrics = (task: TaskData) => task.taskMetrics as NonNullable<TaskData["taskMetrics"]>;
    return {
      id: executor.id,
      hostPort: `${executor.host}:${executor.id === "driver" ? 35_761 : 41_200 + Number(executor.id)}`,
      isActive: executor.removeMs === undefined,
      rddBlocks: 0,
      memoryUsed: executor.id === "driver" ? 0 : 212 * MB,
      diskUsed: 0,
      totalCores: executor.cores,
      maxTasks: executor.cores,
      activeTasks: mine.filter((task) => task.status === "RUNNING").length,
      failedTasks: mine.filter((task) => task.status === "FAILED").length,
      completedTasks: mine.filter((task) => task.status === "SUCCESS").length,
      totalTasks: mine.length,
      totalDuration: total((task) => task.duration ?? 0),
      totalGCTime: total((task) => metrics(task).jvmGcTime),
      totalInputBytes: total((task) => metrics(task).inputMetrics.bytesRead),
      totalShuffleRead: total(
        (task) => metrics(task).shuffleReadMetrics.remoteBytesRead + metrics(task).shuffleReadMetrics.localBytesRead,
      ),
      totalShuffleWrite: total((task) => metrics(task).shuffleWriteMetrics.bytesWritten),
      isBlacklisted: false,
      maxMemory: executor.id === "driver" ? 2_101_975_449 : 5_061_693_849,
      addTime: sparkTime(plan.start + executor.addMs),
      ...(executor.removeMs !== undefined ? { removeTime: sparkTime(plan.start + executor.removeMs) } : {}),
      ...(executor.removeReason ? { removeReason: executor.removeReason } : {}),
      executorLogs: executor.id === "driver" ? {} : executorLogs(executor),
      // Absent for removed executors, as for some real ones.
      ...(executor.removeMs === undefined
        ? {
            memoryMetrics: {
              usedOnHeapStorageMemory: 0,
              usedOffHeapStorageMemory: 0,
              totalOnHeapStorageMemory: 2_530_846_924,
              totalOffHeapStorageMemory: 0,
            },
          }
        : {}),
      blacklistedInStages: [],
      attributes: {},
      resources: {},
      resourceProfileId: 0,
      isExcluded: false,
      excludedInStages: [],
    };
  });
  const jobs = plan.jobs.map((job): JobData => {
    const mine = stages.filter(({ data }) => job.stageIds.includes(data.stageId));
    const times = mine.map(({ data }) => data);
    const submitted = times.map((s) => s.submissionTime).filter(Boolean) as string[];
    const completed = times.map((s) => s.completionTime).filter(Boolean) as string[];
    const count = (status: StageStatus) => new Set(times.filter((s) => s.status === status).map((s) => s.stageId)).size;
    return {
      jobId: job.jobId,
      name: job.name,
      ...(job.description ? { description: job.description } : {}),
      ...(submitted.length ? { submissionTime: submitted.sort()[0] } : {}),
      ...(job.status !== "RUNNING" && completed.length ? { completionTime: completed.sort().at(-1) } : {}),
      stageIds: job.stageIds,
      ...(job.group ? { jobGroup: job.group } : {}),
      jobTags: [],
      status: job.status,
      numTasks: times.reduce((sum, s) => sum + s.numTasks, 0),
      numActiveTasks: times.reduce((sum, s) => sum + s.numActiveTasks, 0),
      numCompletedTasks: times.reduce((sum, s) => sum + s.numCompleteTasks, 0),
      numSkippedTasks: times.filter((s) => s.status === "SKIPPED").reduce((sum, s) => sum + s.numTasks, 0),
      numFailedTasks: times.reduce((sum, s) => sum + s.numFailedTasks, 0),
      numKilledTasks: 0,
      numCompletedIndices: times.reduce((sum, s) => sum + s.numCompletedIndices, 0),
      numActiveStages: count("ACTIVE"),
      numCompletedStages: count("COMPLETE"),
      numSkippedStages: count("SKIPPED"),
      numFailedStages: count("FAILED"),
      killedTasksSummary: {},
    };
  });
  const end = plan.end;
  const info: ApplicationAttempt = {
    ...(plan.attemptId ? { attemptId: plan.attemptId } : {}),
    startTime: sparkTime(plan.start),
    endTime: end === undefined ? "1969-12-31T23:59:59.999GMT" : sparkTime(end),
    lastUpdated: sparkTime(end ?? plan.start + 600_000),
    duration: end === undefined ? 0 : end - plan.start,
    sparkUser: plan.user,
    completed: end !== undefined,
    appSparkVersion: plan.sparkVersion,
    startTimeEpoch: plan.start,
    endTimeEpoch: end ?? -1,
    lastUpdatedEpoch: end ?? plan.start + 600_000,
  };
  const sql = plan.sql.map((query): ExecutionData => {
    const ran = jobs.filter((job) => query.jobIds.includes(job.jobId));
    const first =
      ran
        .map((job) => job.submissionTime)
        .filter(Boolean)
        .sort()[0] ?? info.startTime;
    const last = ran
      .map((job) => job.completionTime)
      .filter(Boolean)
      .sort()
      .at(-1);
    const failed = ran.filter((job) => job.status === "FAILED").map((job) => job.jobId);
    const running = ran.filter((job) => job.status === "RUNNING").map((job) => job.jobId);
    const submitted = Date.parse(first.replace("GMT", "Z"));
    return {
      id: query.id,
      status: failed.length ? "FAILED" : running.length ? "RUNNING" : "COMPLETED",
      description: query.description,
      planDescription: planText(query.plan),
      submissionTime: first,
      duration: (last ? Date.parse(last.replace("GMT", "Z")) : submitted + 60_000) - submitted,
      runningJobIds: running,
      successJobIds: ran.filter((job) => job.status === "SUCCEEDED").map((job) => job.jobId),
      failedJobIds: failed,
      nodes: query.plan.map((node, nodeId) => ({
        nodeId,
        nodeName: node.name,
        ...(node.codegen ? { wholeStageCodegenId: node.codegen } : {}),
        metrics: Object.entries(node.metrics ?? {}).map(([name, value]) => ({ name, value })),
      })),
      edges: query.plan.slice(1).map((_node, index) => ({ fromId: index + 1, toId: index })),
    };
  });
  return { info, jobs, stages, executors, environment: environment(plan), sql };
}

function planText(nodes: PlanNode[]): string {
  const tree = nodes
    .map((node, depth) => `${depth === 0 ? "" : `${"   ".repeat(depth - 1)}+- `}${node.name}`)
    .join("\n");
  return `== Physical Plan ==\nAdaptiveSparkPlan isFinalPlan=true\n+- == Final Plan ==\n${tree}\n`;
}

function environment(plan: AppPlan): EnvironmentInfo {
  return {
    runtime: {
      javaVersion: "17.0.13 (Eclipse Adoptium)",
      javaHome: "/opt/java/openjdk",
      scalaVersion: "version 2.13.14",
    },
    sparkProperties: Object.entries({
      "spark.app.startTime": String(plan.start),
      "spark.master": "yarn",
      "spark.submit.deployMode": plan.attemptId ? "cluster" : "client",
      "spark.sql.adaptive.enabled": "true",
      "spark.serializer": "org.apache.spark.serializer.KryoSerializer",
      "spark.eventLog.enabled": "true",
      // Secrets the application's own redaction missed (a narrowed spark.redaction.regex): the
      // server must not show them (workers/spark/spark.redaction.ts).
      "spark.hadoop.fs.s3a.secret.key": "local-s3-secret-4f9a",
      "spark.datasource.orders.url":
        "jdbc:postgresql://db.example.internal:5432/orders?user=etl&password=local-db-hunter2",
      "spark.history.store.url": "https://etl:local-url-pass@store.example.internal/spark",
      // Quoted, JSON and header forms (workers/spark/spark.tools.test.ts checks none reaches a result).
      "spark.driver.extraJavaOptions": '-Dx=1 -Ddb.password="local-quoted hunter2" -XX:+UseG1GC',
      "spark.executor.extraJavaOptions": "-Ddb.password='local-single-quoted-pw'",
      "spark.executorEnv.DB_CONFIG": `{"user":"etl","password":"local-json-pw-${plan.start}"}`,
      ...plan.conf,
    }).sort(([a], [b]) => a.localeCompare(b)),
    hadoopProperties: [
      ["fs.defaultFS", "hdfs://nameservice1"],
      ["yarn.resourcemanager.address", "rm.example.internal:8032"],
      ["hadoop.http.static.headers", "Authorization: Bearer local-bearer.token-42"],
    ],
    systemProperties: [
      ["java.vm.name", "OpenJDK 64-Bit Server VM"],
      ["user.timezone", "UTC"],
      ["javax.net.ssl.trustStorePassword", "local-truststore-changeit"],
      [
        "sun.java.command",
        "org.apache.spark.deploy.SparkSubmit --class com.example.jobs.Main app.jar --api-token local-cli-token-77",
      ],
      ["sun.java.launcher.args", "--password local-leading-flag-pw --day 2026-12-01"],
      ["app.db.settings", 'password = "local-spaced-pw"'],
    ],
    metricsProperties: [["*.sink.servlet.class", "org.apache.spark.metrics.sink.MetricsServlet"]],
    classpathEntries: [
      ["/opt/spark/jars/spark-core_2.13-3.5.5.jar", "System Classpath"],
      ["/opt/spark/jars/spark-sql_2.13-3.5.5.jar", "System Classpath"],
      ["hdfs://nameservice1/jobs/app.jar", "Added By User"],
    ],
    resourceProfiles: [
      {
        id: 0,
        executorResources: {
          cores: {
            resourceName: "cores",
            amount: Number(plan.conf["spark.executor.cores"] ?? 4),
            discoveryScript: "",
            vendor: "",
          },
          memory: { resourceName: "memory", amount: 8192, discoveryScript: "", vendor: "" },
        },
        taskResources: { cpus: { resourceName: "cpus", amount: 1.0 } },
      },
    ],
  };
}

export function sampleApplications(): SampleApplication[] {
  return [...PLANS, ...PROBLEM_PLANS].map((plan) => ({
    id: plan.id,
    name: plan.name,
    coresPerExecutor: 4,
    memoryPerExecutorMB: 8192,
    attempts: plan.attempts.map(buildApp),
  }));
}

/** The list entry of an application (`GET /applications`), as Spark serialises ApplicationInfo. */
export function applicationInfo(app: SampleApplication): ApplicationInfo {
  return {
    id: app.id,
    name: app.name,
    ...(app.coresPerExecutor ? { coresPerExecutor: app.coresPerExecutor } : {}),
    ...(app.memoryPerExecutorMB ? { memoryPerExecutorMB: app.memoryPerExecutorMB } : {}),
    attempts: app.attempts.map((attempt) => attempt.info),
  };
}
