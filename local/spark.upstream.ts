/**
 * A local Spark History Server (REST API v1) and Apache Livy (batches) in one Node process, for
 * `npm start` and the tests: the History Server under /api/v1 (as on port 18080), Livy under
 * /batches (as on port 8998); fleet.config.ts gives its URL to the Spark server as both
 * SPARK_HISTORY_URL and LIVY_URL. Its data: local/spark.sample-data.ts.
 *
 * Faithful to what the real servers answer: the History Server's routes and defaults (stage
 * quantiles 0.05,0.25,0.5,0.75,0.95, taskList offset 0 length 20 sorted by ID, sql details and
 * plans on, offset 0 length 20), quantiles computed as Spark's status store computes them (over
 * successful tasks: the value at index min(q·n, n−1) of the sorted values), its plain-text 404s
 * ("unknown app: x", "no such app: x" for an attempt-less path of an app that has attempt ids,
 * "unknown stage: 3", "unknown attempt for stage 1.  Found attempts: [0]", "unknown job: 9",
 * "No tasks reported metrics for 2 / 0 yet.", "unknown query execution id: 5") and 400s
 * ("Bad value for parameter \"quantiles\".  Expected a double, got \"foo\"", "Couldn't parse
 * date: x"); Livy: see local/spark.livy.ts.
 *
 * Credentials: anonymous requests are served (as an unsecured History Server does); a request
 * that sends `Authorization` must send `Bearer spark-local-token` or Basic `spark:spark-local-password`
 * (else 401), and with `requireAuth` every request must. `GET /_local/stats` shows what reached it.
 *
 * Run directly: `node local/spark.upstream.ts [port]` (Node 22 from the npm scripts).
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type {
  ExecutionData,
  StageData,
  TaskData,
  TaskMetricDistributions,
} from "../workers/spark/spark.history.types.ts";
import type { LocalUpstream, RunningUpstream } from "./fleet.manifest.ts";
import { createLivy, json, type LivyOptions, text } from "./spark.livy.ts";
import { type AttemptData, applicationInfo, type SampleApplication, sampleApplications } from "./spark.sample-data.ts";

export const LOCAL_SPARK_TOKEN = "spark-local-token";
export const LOCAL_SPARK_BASIC = { user: "spark", password: "spark-local-password" };
const DEFAULT_QUANTILES = "0.05,0.25,0.5,0.75,0.95";
/** Second path segments that name an application's resources, not an attempt (Spark's OneApplicationResource). */
const RESOURCES = new Set([
  "jobs",
  "executors",
  "allexecutors",
  "stages",
  "storage",
  "environment",
  "sql",
  "logs",
  "streaming",
]);

export interface SparkUpstreamOptions extends LivyOptions {
  port?: number;
  host?: string;
  /** Refuse anonymous requests too (default: only wrong credentials are refused). */
  requireAuth?: boolean;
}

export interface SparkUpstreamStats {
  requests: number;
  /** The Authorization headers seen, latest last (up to 50). */
  authorizations: string[];
}

export async function startSparkUpstream(options: SparkUpstreamOptions = {}): Promise<RunningUpstream> {
  const apps = sampleApplications();
  const livy = createLivy(options);
  const stats: SparkUpstreamStats = { requests: 0, authorizations: [] };
  const server = createServer((request, response) => {
    serve(request, response).catch((error) => text(response, 500, String(error)));
  });
  const basic = `Basic ${Buffer.from(`${LOCAL_SPARK_BASIC.user}:${LOCAL_SPARK_BASIC.password}`).toString("base64")}`;

  async function serve(request: IncomingMessage, response: ServerResponse) {
    const url = new URL(request.url ?? "/", "http://spark.local");
    if (url.pathname === "/_local/stats") return json(response, 200, { ...stats, livy: livy.stats });
    stats.requests++;
    const authorization = request.headers.authorization;
    if (authorization !== undefined) stats.authorizations = [...stats.authorizations, authorization].slice(-50);
    if (
      (authorization !== undefined || options.requireAuth) &&
      authorization !== `Bearer ${LOCAL_SPARK_TOKEN}` &&
      authorization !== basic
    ) {
      response.setHeader("www-authenticate", 'Basic realm="spark"');
      return text(response, 401, "Unauthorized");
    }
    const owner = authorization === basic ? LOCAL_SPARK_BASIC.user : null;
    if (url.pathname === "/batches" || url.pathname.startsWith("/batches/")) {
      return livy.handle(request, response, url, owner);
    }
    if (request.method !== "GET") return text(response, 405, "HTTP method not allowed");
    const segments = url.pathname.split("/").filter(Boolean).map(decodeURIComponent);
    if (segments[0] !== "api" || segments[1] !== "v1") return text(response, 404, `no such resource: ${url.pathname}`);
    const answer = route(apps, segments.slice(2), url.searchParams);
    if (answer.status === 200) return json(response, 200, answer.body);
    return text(response, answer.status, String(answer.body));
  }

  const host = options.host ?? "127.0.0.1";
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, host, () => resolve());
  });
  return {
    url: `http://${host}:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

type Answer = { status: number; body: unknown };
const ok = (body: unknown): Answer => ({ status: 200, body });
const notFound = (message: string): Answer => ({ status: 404, body: message });
const badRequest = (message: string): Answer => ({ status: 400, body: message });

function route(apps: SampleApplication[], path: string[], query: URLSearchParams): Answer {
  if (path.length === 1 && path[0] === "version") return ok({ spark: "3.5.5" });
  if (path[0] !== "applications") return notFound(`no such resource: /api/v1/${path.join("/")}`);
  if (path.length === 1) return listApplications(apps, query);
  const app = apps.find((candidate) => candidate.id === path[1]);
  if (path.length === 2) return app ? ok(applicationInfo(app)) : notFound(`unknown app: ${path[1]}`);
  let rest = path.slice(2);
  let attemptId: string | undefined;
  if (!RESOURCES.has(rest[0] as string)) {
    attemptId = rest[0];
    rest = rest.slice(1);
  }
  const appKey = attemptId ? `${path[1]}/${attemptId}` : (path[1] as string);
  const attempt = app?.attempts.find((candidate) => candidate.info.attemptId === attemptId);
  if (!attempt) return notFound(`no such app: ${appKey}`);
  if (rest.length === 0) return notFound(`no such resource: /api/v1/${path.join("/")}`);
  return attemptResource(attempt, rest, query);
}

function listApplications(apps: SampleApplication[], query: URLSearchParams): Answer {
  const dates: Record<string, number> = {};
  for (const name of ["minDate", "maxDate", "minEndDate", "maxEndDate"]) {
    const value = query.get(name);
    if (value === null) continue;
    const parsed = parseSparkDate(value);
    if (parsed === undefined) return badRequest(`Couldn't parse date: ${value}`);
    dates[name] = parsed;
  }
  const statuses = query.getAll("status").map((status) => status.toLowerCase());
  for (const status of statuses) {
    if (status !== "completed" && status !== "running") {
      return notFound(`Illegal argument for status: ${status}; use one of completed, running`);
    }
  }
  const matches = apps.filter((app) =>
    app.attempts.some(({ info }) => {
      if (statuses.length && !statuses.includes(info.completed ? "completed" : "running")) return false;
      if (dates.minDate !== undefined && info.startTimeEpoch < dates.minDate) return false;
      if (dates.maxDate !== undefined && info.startTimeEpoch > dates.maxDate) return false;
      if (dates.minEndDate !== undefined && info.endTimeEpoch < dates.minEndDate) return false;
      if (dates.maxEndDate !== undefined && info.endTimeEpoch > dates.maxEndDate) return false;
      return true;
    }),
  );
  // The listing's order: by end time, latest first (running applications, end -1, last).
  const sorted = matches.sort((a, b) => latestEnd(b) - latestEnd(a));
  const limit = query.has("limit") ? Number(query.get("limit")) : Number.MAX_SAFE_INTEGER;
  return ok(sorted.slice(0, Number.isFinite(limit) ? limit : undefined).map(applicationInfo));
}

const latestEnd = (app: SampleApplication) => app.attempts[0]?.info.endTimeEpoch ?? -1;

/** "2026-12-01" or "2026-12-01T06:15:00.000GMT", as Spark's SimpleDateParam accepts. */
function parseSparkDate(value: string): number | undefined {
  if (/^\d{4}-\d{2}-\d{2}$/.test(value)) return Date.parse(`${value}T00:00:00Z`);
  const match = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3})GMT$/.exec(value);
  return match ? Date.parse(`${match[1]}Z`) : undefined;
}

function attemptResource(attempt: AttemptData, rest: string[], query: URLSearchParams): Answer {
  const [resource, id, ...more] = rest;
  switch (resource) {
    case "jobs": {
      if (id === undefined) {
        const statuses = query.getAll("status").map((s) => s.toUpperCase());
        return ok(attempt.jobs.filter((job) => !statuses.length || statuses.includes(job.status)).reverse());
      }
      const job = attempt.jobs.find((candidate) => String(candidate.jobId) === id);
      return job && more.length === 0 ? ok(job) : notFound(`unknown job: ${id}`);
    }
    case "stages":
      return stageResource(attempt, id, more, query);
    case "executors":
      if (id !== undefined) {
        if (more[0] !== "threads") return notFound(`no such resource: executors/${id}`);
        if (id !== "driver" && !/^\d+$/.test(id)) {
          return badRequest("Invalid executorId: neither 'driver' nor number.");
        }
        return { status: 503, body: "Thread dumps not available through the history server." };
      }
      return ok(attempt.executors.filter((executor) => executor.isActive));
    case "allexecutors":
      return id === undefined ? ok(attempt.executors) : notFound(`no such resource: allexecutors/${id}`);
    case "environment":
      return ok(attempt.environment);
    case "sql": {
      const details = query.get("details") !== "false";
      const plan = query.get("planDescription") !== "false";
      if (id === undefined) {
        const offset = Number(query.get("offset") ?? 0);
        const length = Number(query.get("length") ?? 20);
        return ok(attempt.sql.slice(offset, offset + length).map((execution) => sqlView(execution, details, plan)));
      }
      const execution = attempt.sql.find((candidate) => String(candidate.id) === id);
      return execution ? ok(sqlView(execution, details, plan)) : notFound(`unknown query execution id: ${id}`);
    }
    default:
      return notFound(`no such resource: ${rest.join("/")}`);
  }
}

function sqlView(execution: ExecutionData, details: boolean, plan: boolean): ExecutionData {
  return {
    ...execution,
    planDescription: plan ? execution.planDescription : "",
    nodes: details ? execution.nodes : [],
    edges: details ? execution.edges : [],
  };
}

function stageResource(attempt: AttemptData, id: string | undefined, more: string[], query: URLSearchParams): Answer {
  const quantiles = parseQuantiles(query.get("quantiles") ?? DEFAULT_QUANTILES);
  if (typeof quantiles === "string") return badRequest(quantiles);
  const withSummaries = query.get("withSummaries") === "true";
  const details = query.get("details") === "true";
  const view = ({ data, tasks }: AttemptData["stages"][number]): StageData => ({
    ...data,
    ...(details ? { tasks: Object.fromEntries(tasks.map((task) => [String(task.taskId), task])) } : {}),
    ...(withSummaries ? { taskMetricsDistributions: distributions(tasks, quantiles) } : {}),
  });
  if (id === undefined) {
    const statuses = query.getAll("status").map((s) => s.toUpperCase());
    // Newest first, as Spark lists them (by stage id, then attempt, descending).
    const listed = attempt.stages
      .filter(({ data }) => !statuses.length || statuses.includes(data.status))
      .sort((a, b) => b.data.stageId - a.data.stageId || b.data.attemptId - a.data.attemptId);
    return ok(listed.map(view));
  }
  if (!/^\d+$/.test(id)) return notFound(`no such resource: stages/${id}`);
  const attempts = attempt.stages.filter(({ data }) => String(data.stageId) === id);
  if (more.length === 0) return attempts.length ? ok(attempts.map(view)) : notFound(`unknown stage: ${id}`);
  const [attemptId, sub] = more;
  const stage = attempts.find(({ data }) => String(data.attemptId) === attemptId);
  if (!stage) {
    return notFound(
      attempts.length
        ? `unknown attempt for stage ${id}.  Found attempts: [${attempts.map(({ data }) => data.attemptId).join(",")}]`
        : `unknown stage: ${id}`,
    );
  }
  if (sub === undefined) return ok(view(stage));
  if (sub === "taskSummary") {
    const summary = distributions(stage.tasks, quantiles);
    return summary ? ok(summary) : notFound(`No tasks reported metrics for ${id} / ${attemptId} yet.`);
  }
  if (sub === "taskList") return ok(taskList(stage.tasks, query));
  return notFound(`no such resource: stages/${id}/${attemptId}/${sub}`);
}

function parseQuantiles(value: string): number[] | string {
  const quantiles: number[] = [];
  for (const part of value.split(",")) {
    const parsed = Number(part);
    if (part.trim() === "" || Number.isNaN(parsed)) {
      return `Bad value for parameter "quantiles".  Expected a double, got "${part}"`;
    }
    quantiles.push(parsed);
  }
  return quantiles;
}

function taskList(tasks: TaskData[], query: URLSearchParams): TaskData[] {
  const offset = Number(query.get("offset") ?? 0);
  const length = Number(query.get("length") ?? 20);
  const statuses = query.getAll("status").map((s) => s.toUpperCase());
  const sortBy = query.get("sortBy") ?? "ID";
  const runtime = (task: TaskData) => task.taskMetrics?.executorRunTime ?? -1;
  const sorted = tasks
    .filter((task) => !statuses.length || statuses.includes(task.status))
    .sort((a, b) => {
      if (sortBy === "runtime" || sortBy === "INCREASING_RUNTIME") return runtime(a) - runtime(b);
      if (sortBy === "-runtime" || sortBy === "DECREASING_RUNTIME") return runtime(b) - runtime(a);
      return a.taskId - b.taskId;
    });
  return sorted.slice(offset, offset + length);
}

/** Spark's AppStatusStore.taskSummary: successful tasks only; value at index min(q·n, n−1) of each sorted metric. */
function distributions(tasks: TaskData[], quantiles: number[]): TaskMetricDistributions | undefined {
  const done = tasks.filter((task) => task.status === "SUCCESS" && task.taskMetrics);
  if (done.length === 0) return undefined;
  const at = (pick: (task: TaskData) => number) => {
    const sorted = done.map(pick).sort((a, b) => a - b);
    return quantiles.map((q) => sorted[Math.min(Math.floor(q * sorted.length), sorted.length - 1)] as number);
  };
  type Metrics = NonNullable<TaskData["taskMetrics"]>;
  const m = (pick: (metrics: Metrics) => number) => at((task) => pick(task.taskMetrics as Metrics));
  return {
    quantiles,
    duration: at((task) => task.duration ?? 0),
    executorDeserializeTime: m((x) => x.executorDeserializeTime),
    executorDeserializeCpuTime: m((x) => x.executorDeserializeCpuTime),
    executorRunTime: m((x) => x.executorRunTime),
    executorCpuTime: m((x) => x.executorCpuTime),
    resultSize: m((x) => x.resultSize),
    jvmGcTime: m((x) => x.jvmGcTime),
    resultSerializationTime: m((x) => x.resultSerializationTime),
    gettingResultTime: at((task) => task.gettingResultTime),
    schedulerDelay: at((task) => task.schedulerDelay),
    peakExecutionMemory: m((x) => x.peakExecutionMemory),
    memoryBytesSpilled: m((x) => x.memoryBytesSpilled),
    diskBytesSpilled: m((x) => x.diskBytesSpilled),
    inputMetrics: { bytesRead: m((x) => x.inputMetrics.bytesRead), recordsRead: m((x) => x.inputMetrics.recordsRead) },
    outputMetrics: {
      bytesWritten: m((x) => x.outputMetrics.bytesWritten),
      recordsWritten: m((x) => x.outputMetrics.recordsWritten),
    },
    shuffleReadMetrics: {
      readBytes: m((x) => x.shuffleReadMetrics.remoteBytesRead + x.shuffleReadMetrics.localBytesRead),
      readRecords: m((x) => x.shuffleReadMetrics.recordsRead),
      remoteBlocksFetched: m((x) => x.shuffleReadMetrics.remoteBlocksFetched),
      localBlocksFetched: m((x) => x.shuffleReadMetrics.localBlocksFetched),
      fetchWaitTime: m((x) => x.shuffleReadMetrics.fetchWaitTime),
      remoteBytesRead: m((x) => x.shuffleReadMetrics.remoteBytesRead),
      remoteBytesReadToDisk: m((x) => x.shuffleReadMetrics.remoteBytesReadToDisk),
      totalBlocksFetched: m((x) => x.shuffleReadMetrics.remoteBlocksFetched + x.shuffleReadMetrics.localBlocksFetched),
      remoteReqsDuration: m((x) => x.shuffleReadMetrics.remoteReqsDuration),
    },
    shuffleWriteMetrics: {
      writeBytes: m((x) => x.shuffleWriteMetrics.bytesWritten),
      writeRecords: m((x) => x.shuffleWriteMetrics.recordsWritten),
      writeTime: m((x) => x.shuffleWriteMetrics.writeTime),
    },
  };
}

/** How fleet.config.ts starts it: SPARK_HISTORY_URL and LIVY_URL, on 8095 under `npm start`. */
const sparkUpstream: LocalUpstream = {
  env: "SPARK_HISTORY_URL",
  alsoEnv: ["LIVY_URL"],
  port: 8095,
  label: "local Spark History Server and Livy",
  start: startSparkUpstream,
  testOptions: { startingMs: 300, runningMs: 700 },
};
export default sparkUpstream;

if (process.argv[1] === import.meta.filename) {
  const { url } = await startSparkUpstream({ port: Number(process.argv[2] ?? sparkUpstream.port) });
  console.log(`Spark History Server on ${url}/api/v1, Livy on ${url}/batches`);
}
