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
  JobStatus,
  StageData,
  StageStatus,
  TaskData,
} from "../workers/spark/spark.history.types.ts";

const MB = 1024 * 1024;
const GB = 1024 * MB;

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

interface StagePlan {
  stageId: number;
  attemptId?: number;
  name: string;
  status: StageStatus;
  numTasks: number;
  /** Offset from the application's start. */
  startMs: number;
  /** Median task duration. */
  taskMs: number;
  inputBytes?: number;
  shuffleReadBytes?: number;
  shuffleWriteBytes?: number;
  /** Skewed tasks: the first `tasks` take `factor` times the median time and read `factor` times the bytes. */
  skew?: { tasks: number; factor: number };
  /** Bytes spilled per skewed task (or per task without skew): memory, then disk. */
  spillBytes?: number;
  /** Share of run time in GC. */
  gcShare?: number;
  /** Share of run time waiting on shuffle fetches. */
  fetchWaitShare?: number;
  /** Failed task attempts: the task index, how many attempts failed, and the error. */
  failures?: { index: number; attempts: number; error: string }[];
  failureReason?: string;
  /** Tasks still running (ACTIVE stages). */
  running?: number;
}

interface ExecutorPlan {
  id: string;
  host: string;
  cores: number;
  addMs: number;
  removeMs?: number;
  removeReason?: string;
}

interface AppPlan {
  seed: number;
  start: number;
  /** Undefined while running. */
  end?: number;
  attemptId?: string;
  user: string;
  sparkVersion: string;
  executors: ExecutorPlan[];
  stages: StagePlan[];
  jobs: { jobId: number; name: string; stageIds: number[]; status: JobStatus; description?: string; group?: string }[];
  sql: { id: number; description: string; jobIds: number[]; plan: PlanNode[] }[];
  conf: Record<string, string>;
}

interface PlanNode {
  name: string;
  metrics?: Record<string, string>;
  codegen?: number;
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
      ...plan.conf,
    }).sort(([a], [b]) => a.localeCompare(b)),
    hadoopProperties: [
      ["fs.defaultFS", "hdfs://nameservice1"],
      ["yarn.resourcemanager.address", "rm.example.internal:8032"],
    ],
    systemProperties: [
      ["java.vm.name", "OpenJDK 64-Bit Server VM"],
      ["user.timezone", "UTC"],
      ["sun.java.command", "org.apache.spark.deploy.SparkSubmit --class com.example.jobs.Main app.jar"],
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

const workers = (count: number, cores: number, from = 1): ExecutorPlan[] => [
  { id: "driver", host: "10.0.1.10", cores: 0, addMs: 0 },
  ...Array.from({ length: count }, (_, i) => ({
    id: String(from + i),
    host: `10.0.${2 + (i % 3)}.${20 + i}`,
    cores,
    addMs: 4_000 + i * 300,
  })),
];

const OOM =
  "java.lang.OutOfMemoryError: Java heap space\n\tat java.base/java.util.Arrays.copyOf(Arrays.java:3537)\n\tat org.apache.spark.util.collection.unsafe.sort.UnsafeExternalSorter.growPointerArrayIfNecessary(UnsafeExternalSorter.java:396)\n\tat org.apache.spark.sql.execution.joins.SortMergeJoinExec.$anonfun$doExecute$1(SortMergeJoinExec.scala:120)";
const FETCH_FAILED =
  "FetchFailed(BlockManagerId(5, 10.0.4.24, 7337, None), shuffleId=2, mapIndex=31, mapId=188, reduceId=12, message=\norg.apache.spark.shuffle.FetchFailedException: Failed to connect to /10.0.4.24:7337\n\tat org.apache.spark.errors.SparkCoreErrors$.fetchFailedError(SparkCoreErrors.scala:437)";
const LOST =
  "ExecutorLostFailure (executor {executor} exited caused by one of the running tasks) Reason: Container killed by YARN for exceeding physical memory limits. 9.6 GB of 9 GB physical memory used. Consider boosting spark.executor.memoryOverhead.";

const DAY = Date.UTC(2026, 11, 1);

const PLANS: { id: string; name: string; attempts: AppPlan[] }[] = [
  {
    id: "app-20261201061500-0003",
    name: "daily-orders-etl",
    attempts: [
      {
        seed: 3,
        start: DAY + 6.25 * 3_600_000,
        end: DAY + 6.25 * 3_600_000 + 412_000,
        user: "etl",
        sparkVersion: "3.5.5",
        executors: workers(4, 4),
        stages: [
          {
            stageId: 0,
            name: "parquet at OrdersJob.scala:31",
            status: "COMPLETE",
            numTasks: 64,
            startMs: 6_000,
            taskMs: 2_100,
            inputBytes: 6 * GB,
            shuffleWriteBytes: 1.2 * GB,
          },
          {
            stageId: 1,
            name: "parquet at OrdersJob.scala:35",
            status: "COMPLETE",
            numTasks: 32,
            startMs: 6_500,
            taskMs: 1_800,
            inputBytes: 2 * GB,
            shuffleWriteBytes: 0.4 * GB,
          },
          {
            stageId: 2,
            name: "save at OrdersJob.scala:52",
            status: "COMPLETE",
            numTasks: 200,
            startMs: 60_000,
            taskMs: 1_400,
            shuffleReadBytes: 1.6 * GB,
          },
          { stageId: 3, name: "count at OrdersJob.scala:58", status: "SKIPPED", numTasks: 200, startMs: 0, taskMs: 0 },
          {
            stageId: 4,
            name: "count at OrdersJob.scala:58",
            status: "COMPLETE",
            numTasks: 1,
            startMs: 300_000,
            taskMs: 300,
          },
        ],
        jobs: [
          {
            jobId: 0,
            name: "save at OrdersJob.scala:52",
            stageIds: [0, 1, 2],
            status: "SUCCEEDED",
            description: "write daily orders",
          },
          { jobId: 1, name: "count at OrdersJob.scala:58", stageIds: [3, 4], status: "SUCCEEDED" },
        ],
        sql: [
          {
            id: 0,
            description: "INSERT OVERWRITE warehouse.orders_daily SELECT ...",
            jobIds: [0],
            plan: [
              {
                name: "Execute InsertIntoHadoopFsRelationCommand",
                metrics: { "number of written files": "24", "written output": "1.1 GiB" },
              },
              { name: "SortMergeJoin", codegen: 2, metrics: { "number of output rows": "48,210,114" } },
              {
                name: "Exchange",
                metrics: {
                  "shuffle records written": "48,210,114",
                  "data size total (min, med, max )": "1.6 GiB (7.6 MiB, 8.2 MiB, 9.0 MiB)",
                },
              },
              {
                name: "Scan parquet warehouse.orders",
                metrics: { "number of output rows": "48,210,114", "size of files read": "6.0 GiB" },
              },
            ],
          },
          {
            id: 1,
            description: "SELECT count(*) FROM warehouse.orders_daily",
            jobIds: [1],
            plan: [
              { name: "HashAggregate", codegen: 1, metrics: { "number of output rows": "1" } },
              { name: "Scan parquet warehouse.orders_daily" },
            ],
          },
        ],
        conf: {
          "spark.app.name": "daily-orders-etl",
          "spark.executor.instances": "4",
          "spark.executor.memory": "8g",
          "spark.executor.cores": "4",
          "spark.sql.shuffle.partitions": "200",
        },
      },
    ],
  },
  {
    id: "application_1764570000000_0041",
    name: "clickstream-sessionize",
    attempts: [
      {
        seed: 41,
        start: Date.now() - 9 * 60_000,
        user: "streaming",
        sparkVersion: "3.5.5",
        executors: workers(3, 4),
        stages: [
          {
            stageId: 0,
            name: "json at Sessionize.scala:22",
            status: "COMPLETE",
            numTasks: 48,
            startMs: 5_000,
            taskMs: 2_500,
            inputBytes: 3 * GB,
            shuffleWriteBytes: 0.9 * GB,
          },
          {
            stageId: 1,
            name: "groupBy at Sessionize.scala:40",
            status: "ACTIVE",
            numTasks: 200,
            startMs: 60_000,
            taskMs: 3_000,
            shuffleReadBytes: 0.9 * GB,
            running: 12,
          },
          { stageId: 2, name: "save at Sessionize.scala:61", status: "PENDING", numTasks: 200, startMs: 0, taskMs: 0 },
        ],
        jobs: [{ jobId: 0, name: "save at Sessionize.scala:61", stageIds: [0, 1, 2], status: "RUNNING" }],
        sql: [
          {
            id: 0,
            description: "sessionize clicks",
            jobIds: [0],
            plan: [
              { name: "Execute InsertIntoHadoopFsRelationCommand" },
              { name: "Window" },
              { name: "Exchange" },
              { name: "Scan json" },
            ],
          },
        ],
        conf: {
          "spark.app.name": "clickstream-sessionize",
          "spark.executor.instances": "3",
          "spark.executor.memory": "8g",
          "spark.executor.cores": "4",
        },
      },
    ],
  },
  {
    id: "application_1764570000000_0038",
    name: "ads-attribution",
    attempts: [
      {
        seed: 382,
        attemptId: "2",
        start: DAY + 2 * 3_600_000 + 1_260_000,
        end: DAY + 2 * 3_600_000 + 1_260_000 + 905_000,
        user: "ads",
        sparkVersion: "3.5.5",
        executors: workers(6, 4),
        stages: [
          {
            stageId: 0,
            name: "parquet at Attribution.scala:18",
            status: "COMPLETE",
            numTasks: 96,
            startMs: 8_000,
            taskMs: 3_200,
            inputBytes: 14 * GB,
            shuffleWriteBytes: 3 * GB,
          },
          {
            stageId: 1,
            name: "join at Attribution.scala:44",
            status: "COMPLETE",
            numTasks: 400,
            startMs: 120_000,
            taskMs: 2_600,
            shuffleReadBytes: 3 * GB,
            shuffleWriteBytes: 1 * GB,
          },
          {
            stageId: 2,
            name: "save at Attribution.scala:70",
            status: "COMPLETE",
            numTasks: 200,
            startMs: 520_000,
            taskMs: 1_900,
            shuffleReadBytes: 1 * GB,
          },
        ],
        jobs: [{ jobId: 0, name: "save at Attribution.scala:70", stageIds: [0, 1, 2], status: "SUCCEEDED" }],
        sql: [
          {
            id: 0,
            description: "attribute conversions",
            jobIds: [0],
            plan: [
              { name: "Execute InsertIntoHadoopFsRelationCommand" },
              { name: "BroadcastHashJoin", codegen: 1 },
              { name: "Exchange" },
              { name: "Scan parquet ads.impressions" },
            ],
          },
        ],
        conf: {
          "spark.app.name": "ads-attribution",
          "spark.executor.instances": "6",
          "spark.executor.memory": "12g",
          "spark.executor.cores": "4",
          "spark.sql.shuffle.partitions": "400",
          "spark.driver.memory": "8g",
        },
      },
      {
        seed: 381,
        attemptId: "1",
        start: DAY + 2 * 3_600_000,
        end: DAY + 2 * 3_600_000 + 1_180_000,
        user: "ads",
        sparkVersion: "3.5.5",
        executors: workers(4, 4),
        stages: [
          {
            stageId: 0,
            name: "parquet at Attribution.scala:18",
            status: "COMPLETE",
            numTasks: 96,
            startMs: 8_000,
            taskMs: 3_300,
            inputBytes: 14 * GB,
            shuffleWriteBytes: 3 * GB,
          },
          {
            stageId: 1,
            name: "join at Attribution.scala:44",
            status: "FAILED",
            numTasks: 200,
            startMs: 160_000,
            taskMs: 5_200,
            shuffleReadBytes: 3 * GB,
            failures: [{ index: 7, attempts: 4, error: OOM }],
            failureReason: `Job aborted due to stage failure: Task 7 in stage 1.0 failed 4 times, most recent failure: Lost task 7.3 in stage 1.0: ${OOM.split("\n")[0]}`,
          },
        ],
        jobs: [{ jobId: 0, name: "save at Attribution.scala:70", stageIds: [0, 1], status: "FAILED" }],
        sql: [
          {
            id: 0,
            description: "attribute conversions",
            jobIds: [0],
            plan: [
              { name: "Execute InsertIntoHadoopFsRelationCommand" },
              { name: "SortMergeJoin", codegen: 1 },
              { name: "Exchange" },
              { name: "Scan parquet ads.impressions" },
            ],
          },
        ],
        conf: {
          "spark.app.name": "ads-attribution",
          "spark.executor.instances": "4",
          "spark.executor.memory": "8g",
          "spark.executor.cores": "4",
          "spark.sql.shuffle.partitions": "200",
          "spark.driver.memory": "4g",
        },
      },
    ],
  },
  {
    id: "application_1764570000000_0044",
    name: "revenue-rollup",
    attempts: [
      {
        seed: 44,
        start: DAY + 4 * 3_600_000,
        end: DAY + 4 * 3_600_000 + 1_512_000,
        user: "finance-etl",
        sparkVersion: "3.5.5",
        executors: workers(5, 4),
        stages: [
          {
            stageId: 0,
            name: "parquet at Rollup.scala:25",
            status: "COMPLETE",
            numTasks: 120,
            startMs: 7_000,
            taskMs: 2_800,
            inputBytes: 20 * GB,
            shuffleWriteBytes: 6 * GB,
          },
          {
            stageId: 1,
            name: "parquet at Rollup.scala:29",
            status: "COMPLETE",
            numTasks: 40,
            startMs: 7_500,
            taskMs: 1_500,
            inputBytes: 2 * GB,
            shuffleWriteBytes: 0.5 * GB,
          },
          {
            stageId: 2,
            name: "join at Rollup.scala:48",
            status: "COMPLETE",
            numTasks: 200,
            startMs: 110_000,
            taskMs: 3_000,
            shuffleReadBytes: 6.5 * GB,
            shuffleWriteBytes: 2 * GB,
            skew: { tasks: 4, factor: 60 },
            spillBytes: 2.5 * GB,
            gcShare: 0.06,
          },
          {
            stageId: 3,
            name: "save at Rollup.scala:77",
            status: "FAILED",
            numTasks: 200,
            startMs: 420_000,
            taskMs: 2_400,
            shuffleReadBytes: 2 * GB,
            failures: [{ index: 17, attempts: 4, error: OOM }],
            failureReason: `Job aborted due to stage failure: Task 17 in stage 3.0 failed 4 times, most recent failure: Lost task 17.3 in stage 3.0 (TID 612) (10.0.3.21 executor 3): ${OOM.split("\n")[0]}`,
          },
        ],
        jobs: [
          {
            jobId: 0,
            name: "save at Rollup.scala:77",
            stageIds: [0, 1, 2, 3],
            status: "FAILED",
            description: "monthly revenue rollup",
          },
        ],
        sql: [
          {
            id: 0,
            description: "INSERT OVERWRITE finance.revenue_monthly SELECT ...",
            jobIds: [0],
            plan: [
              { name: "Execute InsertIntoHadoopFsRelationCommand" },
              { name: "HashAggregate", codegen: 3, metrics: { "number of output rows": "0" } },
              {
                name: "SortMergeJoin",
                codegen: 2,
                metrics: { "number of output rows": "1,904,332,871", "spill size": "6.9 GiB" },
              },
              {
                name: "Sort",
                codegen: 2,
                metrics: {
                  "spill size total (min, med, max )": "6.9 GiB (0.0 B, 0.0 B, 2.6 GiB)",
                  "sort time": "41.2 m",
                },
              },
              {
                name: "Exchange",
                metrics: {
                  "shuffle records written": "310,221,004",
                  "data size total (min, med, max )": "6.5 GiB (1.2 MiB, 1.3 MiB, 1.8 GiB)",
                },
              },
              {
                name: "Scan parquet finance.orders",
                metrics: { "number of output rows": "310,221,004", "size of files read": "20.0 GiB" },
              },
            ],
          },
        ],
        conf: {
          "spark.app.name": "revenue-rollup",
          "spark.executor.instances": "5",
          "spark.executor.memory": "8g",
          "spark.executor.cores": "4",
          "spark.sql.shuffle.partitions": "200",
          "spark.sql.adaptive.skewJoin.enabled": "false",
        },
      },
    ],
  },
  {
    id: "application_1764570000000_0047",
    name: "user-features-daily",
    attempts: [
      {
        seed: 47,
        start: DAY + 5 * 3_600_000,
        end: DAY + 5 * 3_600_000 + 2_710_000,
        user: "ml-features",
        sparkVersion: "3.5.5",
        executors: [
          ...workers(6, 4),
          {
            id: "7",
            host: "10.0.4.31",
            cores: 4,
            addMs: 600_000,
            removeMs: 1_500_000,
            removeReason: "Executor killed by driver.",
          },
        ].map((executor) =>
          executor.id === "3"
            ? {
                ...executor,
                removeMs: 910_000,
                removeReason:
                  "Container killed by YARN for exceeding physical memory limits. 9.6 GB of 9 GB physical memory used. Consider boosting spark.executor.memoryOverhead.",
              }
            : executor.id === "5"
              ? {
                  ...executor,
                  removeMs: 1_320_000,
                  removeReason:
                    "Container from a bad node: container_1764570000000_0047_01_000006 on host: 10.0.3.24. Exit status: 137. Diagnostics: [2026-12-01 05:22:00.114]Container killed on request. Exit code is 137. Killed by external signal",
                }
              : executor.id === "6"
                ? { ...executor, removeMs: 1_790_000, removeReason: "Executor heartbeat timed out after 125043 ms" }
                : executor,
        ),
        stages: [
          {
            stageId: 0,
            name: "parquet at Features.scala:30",
            status: "COMPLETE",
            numTasks: 160,
            startMs: 9_000,
            taskMs: 4_200,
            inputBytes: 30 * GB,
            shuffleWriteBytes: 9 * GB,
            gcShare: 0.24,
          },
          {
            stageId: 1,
            name: "groupBy at Features.scala:57",
            status: "COMPLETE",
            numTasks: 400,
            startMs: 300_000,
            taskMs: 5_500,
            shuffleReadBytes: 9 * GB,
            shuffleWriteBytes: 4 * GB,
            gcShare: 0.27,
          },
          {
            stageId: 3,
            name: "join at Features.scala:88",
            status: "COMPLETE",
            numTasks: 400,
            startMs: 1_200_000,
            taskMs: 3_000,
            shuffleReadBytes: 4 * GB,
            shuffleWriteBytes: 2 * GB,
            gcShare: 0.22,
            failures: [
              { index: 3, attempts: 1, error: LOST },
              { index: 9, attempts: 1, error: LOST },
            ],
          },
          {
            stageId: 4,
            attemptId: 0,
            name: "save at Features.scala:120",
            status: "FAILED",
            numTasks: 200,
            startMs: 1_700_000,
            taskMs: 4_000,
            shuffleReadBytes: 2 * GB,
            fetchWaitShare: 0.4,
            gcShare: 0.2,
            failures: [{ index: 12, attempts: 1, error: FETCH_FAILED }],
            failureReason: `${FETCH_FAILED.split("\n")[0]}`,
          },
          {
            stageId: 4,
            attemptId: 1,
            name: "save at Features.scala:120",
            status: "COMPLETE",
            numTasks: 200,
            startMs: 2_050_000,
            taskMs: 4_100,
            shuffleReadBytes: 2 * GB,
            fetchWaitShare: 0.42,
            gcShare: 0.21,
          },
        ],
        jobs: [
          { jobId: 0, name: "groupBy at Features.scala:57", stageIds: [0, 1], status: "SUCCEEDED" },
          { jobId: 1, name: "save at Features.scala:120", stageIds: [3, 4], status: "SUCCEEDED", group: "features" },
        ],
        sql: [
          {
            id: 0,
            description: "INSERT OVERWRITE ml.user_features SELECT ...",
            jobIds: [0, 1],
            plan: [
              { name: "Execute InsertIntoHadoopFsRelationCommand" },
              { name: "SortMergeJoin", codegen: 4 },
              { name: "HashAggregate", codegen: 3 },
              { name: "Exchange", metrics: { "fetch wait time": "3.1 h" } },
              { name: "Scan parquet ml.events", metrics: { "size of files read": "30.0 GiB" } },
            ],
          },
        ],
        conf: {
          "spark.app.name": "user-features-daily",
          "spark.executor.instances": "6",
          "spark.executor.memory": "8g",
          "spark.executor.cores": "4",
          "spark.dynamicAllocation.enabled": "true",
          "spark.sql.shuffle.partitions": "400",
          "spark.executor.memoryOverhead": "1g",
        },
      },
    ],
  },
];

/** The sample applications, built once per upstream (running ones relative to its start). */
export function sampleApplications(): SampleApplication[] {
  return PLANS.map((plan) => ({
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
