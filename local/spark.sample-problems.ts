/**
 * The two sample applications with planted problems (see local/spark.sample-data.ts): revenue-rollup
 * (a failed stage, skew, spill) and user-features-daily (lost executors, GC, shuffle fetch wait).
 */
import { type AppPlan, DAY, FETCH_FAILED, LOST, OOM, workers } from "./spark.sample-plans.ts";

const MB = 1024 * 1024;
const GB = 1024 * MB;

export const PROBLEM_PLANS: { id: string; name: string; attempts: AppPlan[] }[] = [
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
