/**
 * The JSON shapes of the Spark History Server's REST API v1 (`/api/v1`) and Apache Livy's
 * `/batches`, as far as the Spark server reads them. Sources: apache/spark
 * `core/src/main/scala/org/apache/spark/status/api/v1/api.scala` and `sql/api.scala`,
 * `docs/monitoring.md`; apache/livy `SessionServlet.scala`, `BatchSessionServlet.scala`.
 * The local stand-in (local/spark.upstream.ts) is typed against the same declarations.
 * Timestamps are strings like "2026-12-01T06:15:00.120GMT"; fields Spark omits when empty are optional.
 */

export interface ApplicationAttempt {
  /** Only in YARN cluster mode. */
  attemptId?: string;
  startTime: string;
  endTime: string;
  lastUpdated: string;
  duration: number;
  sparkUser: string;
  completed: boolean;
  appSparkVersion: string;
  startTimeEpoch: number;
  endTimeEpoch: number;
  lastUpdatedEpoch: number;
}

export interface ApplicationInfo {
  id: string;
  name: string;
  coresGranted?: number;
  maxCores?: number;
  coresPerExecutor?: number;
  memoryPerExecutorMB?: number;
  /** Newest first. */
  attempts: ApplicationAttempt[];
}

export type JobStatus = "RUNNING" | "SUCCEEDED" | "FAILED" | "UNKNOWN";

export interface JobData {
  jobId: number;
  name: string;
  description?: string;
  submissionTime?: string;
  completionTime?: string;
  stageIds: number[];
  jobGroup?: string;
  jobTags: string[];
  status: JobStatus;
  numTasks: number;
  numActiveTasks: number;
  numCompletedTasks: number;
  numSkippedTasks: number;
  numFailedTasks: number;
  numKilledTasks: number;
  numCompletedIndices: number;
  numActiveStages: number;
  numCompletedStages: number;
  numSkippedStages: number;
  numFailedStages: number;
  killedTasksSummary: Record<string, number>;
}

export type StageStatus = "ACTIVE" | "COMPLETE" | "PENDING" | "FAILED" | "SKIPPED";

export interface StageData {
  status: StageStatus;
  stageId: number;
  attemptId: number;
  numTasks: number;
  numActiveTasks: number;
  numCompleteTasks: number;
  numFailedTasks: number;
  numKilledTasks: number;
  numCompletedIndices: number;
  submissionTime?: string;
  firstTaskLaunchedTime?: string;
  completionTime?: string;
  failureReason?: string;
  executorDeserializeTime: number;
  executorDeserializeCpuTime: number;
  executorRunTime: number;
  /** Nanoseconds. */
  executorCpuTime: number;
  resultSize: number;
  jvmGcTime: number;
  resultSerializationTime: number;
  memoryBytesSpilled: number;
  diskBytesSpilled: number;
  peakExecutionMemory: number;
  inputBytes: number;
  inputRecords: number;
  outputBytes: number;
  outputRecords: number;
  shuffleRemoteBlocksFetched: number;
  shuffleLocalBlocksFetched: number;
  shuffleFetchWaitTime: number;
  shuffleRemoteBytesRead: number;
  shuffleRemoteBytesReadToDisk: number;
  shuffleLocalBytesRead: number;
  shuffleReadBytes: number;
  shuffleReadRecords: number;
  shuffleWriteBytes: number;
  /** Nanoseconds. */
  shuffleWriteTime: number;
  shuffleWriteRecords: number;
  name: string;
  description?: string;
  details: string;
  schedulingPool: string;
  rddIds: number[];
  accumulatorUpdates: { id: number; name: string; value: string }[];
  killedTasksSummary: Record<string, number>;
  resourceProfileId: number;
  isShufflePushEnabled: boolean;
  shuffleMergersCount: number;
  /** With `withSummaries=true`. */
  taskMetricsDistributions?: TaskMetricDistributions;
}

export type TaskStatus = "RUNNING" | "SUCCESS" | "FAILED" | "KILLED";

export interface TaskData {
  taskId: number;
  index: number;
  attempt: number;
  partitionId: number;
  launchTime: string;
  resultFetchStart?: string;
  duration?: number;
  executorId: string;
  host: string;
  status: TaskStatus;
  taskLocality: string;
  speculative: boolean;
  accumulatorUpdates: unknown[];
  errorMessage?: string;
  taskMetrics?: {
    executorDeserializeTime: number;
    executorDeserializeCpuTime: number;
    executorRunTime: number;
    executorCpuTime: number;
    resultSize: number;
    jvmGcTime: number;
    resultSerializationTime: number;
    memoryBytesSpilled: number;
    diskBytesSpilled: number;
    peakExecutionMemory: number;
    inputMetrics: { bytesRead: number; recordsRead: number };
    outputMetrics: { bytesWritten: number; recordsWritten: number };
    shuffleReadMetrics: {
      remoteBlocksFetched: number;
      localBlocksFetched: number;
      fetchWaitTime: number;
      remoteBytesRead: number;
      remoteBytesReadToDisk: number;
      localBytesRead: number;
      recordsRead: number;
      remoteReqsDuration: number;
    };
    shuffleWriteMetrics: { bytesWritten: number; writeTime: number; recordsWritten: number };
  };
  executorLogs: Record<string, string>;
  schedulerDelay: number;
  gettingResultTime: number;
}

/** Every metric is an array aligned with `quantiles`. */
export interface TaskMetricDistributions {
  quantiles: number[];
  duration: number[];
  executorDeserializeTime: number[];
  executorDeserializeCpuTime: number[];
  executorRunTime: number[];
  executorCpuTime: number[];
  resultSize: number[];
  jvmGcTime: number[];
  resultSerializationTime: number[];
  gettingResultTime: number[];
  schedulerDelay: number[];
  peakExecutionMemory: number[];
  memoryBytesSpilled: number[];
  diskBytesSpilled: number[];
  inputMetrics: { bytesRead: number[]; recordsRead: number[] };
  outputMetrics: { bytesWritten: number[]; recordsWritten: number[] };
  shuffleReadMetrics: {
    readBytes: number[];
    readRecords: number[];
    remoteBlocksFetched: number[];
    localBlocksFetched: number[];
    fetchWaitTime: number[];
    remoteBytesRead: number[];
    remoteBytesReadToDisk: number[];
    totalBlocksFetched: number[];
    remoteReqsDuration: number[];
  };
  shuffleWriteMetrics: { writeBytes: number[]; writeRecords: number[]; writeTime: number[] };
}

export interface ExecutorSummary {
  id: string;
  hostPort: string;
  isActive: boolean;
  rddBlocks: number;
  memoryUsed: number;
  diskUsed: number;
  totalCores: number;
  maxTasks: number;
  activeTasks: number;
  failedTasks: number;
  completedTasks: number;
  totalTasks: number;
  totalDuration: number;
  totalGCTime: number;
  totalInputBytes: number;
  totalShuffleRead: number;
  totalShuffleWrite: number;
  isBlacklisted: boolean;
  maxMemory: number;
  addTime: string;
  removeTime?: string;
  removeReason?: string;
  executorLogs: Record<string, string>;
  /** Absent for some executors (kubeflow's peer crashed on that). */
  memoryMetrics?: {
    usedOnHeapStorageMemory: number;
    usedOffHeapStorageMemory: number;
    totalOnHeapStorageMemory: number;
    totalOffHeapStorageMemory: number;
  };
  blacklistedInStages: number[];
  peakMemoryMetrics?: Record<string, number>;
  attributes: Record<string, string>;
  resources: Record<string, unknown>;
  resourceProfileId: number;
  isExcluded: boolean;
  excludedInStages: number[];
}

export interface EnvironmentInfo {
  runtime: { javaVersion: string; javaHome: string; scalaVersion: string };
  sparkProperties: [string, string][];
  hadoopProperties: [string, string][];
  systemProperties: [string, string][];
  metricsProperties: [string, string][];
  classpathEntries: [string, string][];
  resourceProfiles: unknown[];
}

export interface SqlNode {
  nodeId: number;
  nodeName: string;
  wholeStageCodegenId?: number;
  metrics: { name: string; value: string }[];
}

export interface ExecutionData {
  id: number;
  status: "RUNNING" | "COMPLETED" | "FAILED";
  description: string;
  planDescription: string;
  submissionTime: string;
  duration: number;
  runningJobIds: number[];
  successJobIds: number[];
  failedJobIds: number[];
  nodes: SqlNode[];
  edges: { fromId: number; toId: number }[];
}

/** Livy's batch states (org.apache.livy.sessions.SessionState). */
export type LivyState =
  | "not_started"
  | "starting"
  | "recovering"
  | "idle"
  | "running"
  | "busy"
  | "shutting_down"
  | "error"
  | "dead"
  | "killed"
  | "success";

export const LIVY_FINAL_STATES: readonly LivyState[] = ["error", "dead", "killed", "success"];

/** POST /batches (Livy's CreateBatchRequest). */
export interface LivyBatchRequest {
  file: string;
  proxyUser?: string;
  className?: string;
  args?: string[];
  jars?: string[];
  pyFiles?: string[];
  files?: string[];
  driverMemory?: string;
  driverCores?: number;
  executorMemory?: string;
  executorCores?: number;
  numExecutors?: number;
  archives?: string[];
  queue?: string;
  name?: string;
  conf?: Record<string, string>;
}

/** Livy's BatchSessionView. */
export interface LivyBatch {
  id: number;
  name: string | null;
  owner: string | null;
  proxyUser: string | null;
  state: LivyState;
  appId: string | null;
  appInfo: Record<string, string | null>;
  /** The last 10 log lines. */
  log: string[];
}
