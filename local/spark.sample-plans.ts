/**
 * The plans of the local History Server's sample applications (local/spark.sample-data.ts builds
 * them task by task): what each stage does, how its tasks behave, what fails, which executors
 * come and go. The planted causes are listed in local/spark.sample-data.ts.
 */
import type { JobStatus, StageStatus } from "../workers/spark/spark.history.types.ts";

const MB = 1024 * 1024;
const GB = 1024 * MB;

export interface StagePlan {
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

export interface ExecutorPlan {
  id: string;
  host: string;
  cores: number;
  addMs: number;
  removeMs?: number;
  removeReason?: string;
}

export interface AppPlan {
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

export interface PlanNode {
  name: string;
  metrics?: Record<string, string>;
  codegen?: number;
}

export const workers = (count: number, cores: number, from = 1): ExecutorPlan[] => [
  { id: "driver", host: "10.0.1.10", cores: 0, addMs: 0 },
  ...Array.from({ length: count }, (_, i) => ({
    id: String(from + i),
    host: `10.0.${2 + (i % 3)}.${20 + i}`,
    cores,
    addMs: 4_000 + i * 300,
  })),
];

export const OOM =
  "java.lang.OutOfMemoryError: Java heap space\n\tat java.base/java.util.Arrays.copyOf(Arrays.java:3537)\n\tat org.apache.spark.util.collection.unsafe.sort.UnsafeExternalSorter.growPointerArrayIfNecessary(UnsafeExternalSorter.java:396)\n\tat org.apache.spark.sql.execution.joins.SortMergeJoinExec.$anonfun$doExecute$1(SortMergeJoinExec.scala:120)";
export const FETCH_FAILED =
  "FetchFailed(BlockManagerId(5, 10.0.4.24, 7337, None), shuffleId=2, mapIndex=31, mapId=188, reduceId=12, message=\norg.apache.spark.shuffle.FetchFailedException: Failed to connect to /10.0.4.24:7337\n\tat org.apache.spark.errors.SparkCoreErrors$.fetchFailedError(SparkCoreErrors.scala:437)";
export const LOST =
  "ExecutorLostFailure (executor {executor} exited caused by one of the running tasks) Reason: Container killed by YARN for exceeding physical memory limits. 9.6 GB of 9 GB physical memory used. Consider boosting spark.executor.memoryOverhead.";

export const DAY = Date.UTC(2026, 11, 1);

/** The healthy, running and multi-attempt applications (the problem ones: local/spark.sample-problems.ts). */
export const PLANS: { id: string; name: string; attempts: AppPlan[] }[] = [
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
];
