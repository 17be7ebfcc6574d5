/**
 * The upstream APIs: the Spark History Server's REST API v1 and Apache Livy's batches. Every call
 * goes through `upstreamFetch` (a timeout, 5xx and network failures retriable, 4xx a clear error
 * carrying the server's own text, e.g. "unknown stage: 9"), with the configured credentials.
 */
import { ToolError } from "../../shared/mcp";
import { upstreamFetch } from "../../shared/upstream/upstream.fetch";
import { authorizationHeader, type SparkConfig, type UpstreamAuth } from "./spark.config";
import type {
  ApplicationInfo,
  EnvironmentInfo,
  ExecutionData,
  ExecutorSummary,
  JobData,
  LivyBatch,
  LivyBatchRequest,
  LivyState,
  StageData,
  TaskData,
  TaskMetricDistributions,
} from "./spark.history.types";
import { redactEnvironment } from "./spark.redaction";

export const HISTORY = "The Spark History Server";
export const LIVY = "Livy";

async function getJson<T>(
  url: string,
  upstream: string,
  auth: UpstreamAuth,
  timeoutMs: number,
  init: RequestInit = {},
  signal?: AbortSignal,
): Promise<T> {
  const authorization = authorizationHeader(auth);
  const response = await upstreamFetch(
    url,
    {
      ...init,
      headers: {
        accept: "application/json",
        ...(init.body ? { "content-type": "application/json" } : {}),
        ...(authorization ? { authorization } : {}),
        ...(init.headers as Record<string, string> | undefined),
      },
    },
    { upstream, timeoutMs, ...(signal ? { signal } : {}) },
  );
  return (await response.json()) as T;
}

export interface ApplicationFilter {
  status?: "completed" | "running";
  minDate?: string;
  maxDate?: string;
  minEndDate?: string;
  maxEndDate?: string;
  limit?: number;
}

/** An application attempt's API root: `/applications/{id}` or `/applications/{id}/{attemptId}`. */
export interface AppRef {
  appId: string;
  attemptId?: string;
  /** The application as the History Server lists it. */
  info: ApplicationInfo;
}

export class HistoryClient {
  readonly config: SparkConfig;

  constructor(config: SparkConfig) {
    this.config = config;
  }

  #get<T>(
    path: string,
    query: Record<string, string | number | boolean | undefined | string[]> = {},
    signal?: AbortSignal,
  ) {
    const params = new URLSearchParams();
    for (const [key, value] of Object.entries(query)) {
      if (value === undefined) continue;
      for (const item of Array.isArray(value) ? value : [value]) params.append(key, String(item));
    }
    const search = params.size ? `?${params}` : "";
    return getJson<T>(
      `${this.config.historyUrl}/api/v1${path}${search}`,
      HISTORY,
      this.config.historyAuth,
      this.config.requestTimeoutMs,
      {},
      signal,
    );
  }

  applications(filter: ApplicationFilter, signal?: AbortSignal): Promise<ApplicationInfo[]> {
    return this.#get("/applications", { ...filter }, signal);
  }

  application(appId: string, signal?: AbortSignal): Promise<ApplicationInfo> {
    return this.#get(`/applications/${encodeURIComponent(appId)}`, {}, signal);
  }

  /**
   * The attempt to read: the one named, else the latest. An application run in YARN cluster mode
   * has attempt ids, and the History Server answers its paths only with one.
   */
  async resolve(appId: string, attemptId: string | undefined, signal?: AbortSignal): Promise<AppRef> {
    const info = await this.application(appId, signal);
    if (attemptId !== undefined) {
      if (!info.attempts.some((attempt) => attempt.attemptId === attemptId)) {
        const known = info.attempts.map((attempt) => attempt.attemptId ?? "(none)").join(", ");
        throw new ToolError(
          `Application ${appId} has no attempt "${attemptId}" (its attempts: ${known})`,
          "bad_arguments",
        );
      }
      return { appId, attemptId, info };
    }
    const latest = info.attempts[0]?.attemptId;
    return { appId, ...(latest !== undefined ? { attemptId: latest } : {}), info };
  }

  #root(app: AppRef): string {
    const id = encodeURIComponent(app.appId);
    return app.attemptId === undefined
      ? `/applications/${id}`
      : `/applications/${id}/${encodeURIComponent(app.attemptId)}`;
  }

  jobs(app: AppRef, status?: string[], signal?: AbortSignal): Promise<JobData[]> {
    return this.#get(`${this.#root(app)}/jobs`, { status }, signal);
  }

  job(app: AppRef, jobId: number, signal?: AbortSignal): Promise<JobData> {
    return this.#get(`${this.#root(app)}/jobs/${jobId}`, {}, signal);
  }

  stages(app: AppRef, options: { status?: string[] } = {}, signal?: AbortSignal): Promise<StageData[]> {
    return this.#get(`${this.#root(app)}/stages`, { status: options.status }, signal);
  }

  /** Every attempt of one stage. */
  stageAttempts(app: AppRef, stageId: number, signal?: AbortSignal): Promise<StageData[]> {
    return this.#get(`${this.#root(app)}/stages/${stageId}`, {}, signal);
  }

  stage(app: AppRef, stageId: number, attemptId: number, signal?: AbortSignal): Promise<StageData> {
    return this.#get(`${this.#root(app)}/stages/${stageId}/${attemptId}`, {}, signal);
  }

  taskSummary(
    app: AppRef,
    stageId: number,
    attemptId: number,
    quantiles: readonly number[],
    signal?: AbortSignal,
  ): Promise<TaskMetricDistributions> {
    return this.#get(
      `${this.#root(app)}/stages/${stageId}/${attemptId}/taskSummary`,
      { quantiles: quantiles.join(",") },
      signal,
    );
  }

  taskList(
    app: AppRef,
    stageId: number,
    attemptId: number,
    options: { status?: string; offset?: number; length?: number; sortBy?: "ID" | "runtime" | "-runtime" },
    signal?: AbortSignal,
  ): Promise<TaskData[]> {
    return this.#get(`${this.#root(app)}/stages/${stageId}/${attemptId}/taskList`, { ...options }, signal);
  }

  executors(app: AppRef, all: boolean, signal?: AbortSignal): Promise<ExecutorSummary[]> {
    return this.#get(`${this.#root(app)}/${all ? "allexecutors" : "executors"}`, {}, signal);
  }

  /** The application's environment, its properties redacted (spark.redaction.ts) before any tool sees them. */
  async environment(app: AppRef, signal?: AbortSignal): Promise<EnvironmentInfo> {
    return redactEnvironment(await this.#get<EnvironmentInfo>(`${this.#root(app)}/environment`, {}, signal));
  }

  sqlExecutions(
    app: AppRef,
    options: { offset: number; length: number; details: boolean; planDescription: boolean },
    signal?: AbortSignal,
  ): Promise<ExecutionData[]> {
    return this.#get(`${this.#root(app)}/sql`, { ...options }, signal);
  }

  sqlExecution(
    app: AppRef,
    executionId: number,
    options: { details: boolean; planDescription: boolean },
    signal?: AbortSignal,
  ): Promise<ExecutionData> {
    return this.#get(`${this.#root(app)}/sql/${executionId}`, { ...options }, signal);
  }
}

export class LivyClient {
  readonly config: SparkConfig;

  constructor(config: SparkConfig) {
    this.config = config;
  }

  #url(path: string): string {
    if (!this.config.livyUrl) {
      throw new ToolError("Batches are not available: this Spark server has no Livy configured (LIVY_URL)", "internal");
    }
    return `${this.config.livyUrl}${path}`;
  }

  #call<T>(path: string, init: RequestInit = {}, signal?: AbortSignal): Promise<T> {
    // Livy's CSRF protection refuses POST and DELETE without X-Requested-By.
    const headers: Record<string, string> =
      init.method && init.method !== "GET" ? { "x-requested-by": "mcp-fleet" } : {};
    return getJson<T>(
      this.#url(path),
      LIVY,
      this.config.livyAuth,
      this.config.requestTimeoutMs,
      { ...init, headers },
      signal,
    );
  }

  list(
    from: number,
    size: number,
    signal?: AbortSignal,
  ): Promise<{ from: number; total: number; sessions: LivyBatch[] }> {
    return this.#call(`/batches?from=${from}&size=${size}`, {}, signal);
  }

  get(id: number, signal?: AbortSignal): Promise<LivyBatch> {
    return this.#call(`/batches/${id}`, {}, signal);
  }

  state(id: number, signal?: AbortSignal): Promise<{ id: number; state: LivyState }> {
    return this.#call(`/batches/${id}/state`, {}, signal);
  }

  log(
    id: number,
    from: number | undefined,
    size: number,
    signal?: AbortSignal,
  ): Promise<{ id: number; from: number; total: number; log: string[] }> {
    const query = new URLSearchParams({ size: String(size), ...(from !== undefined ? { from: String(from) } : {}) });
    return this.#call(`/batches/${id}/log?${query}`, {}, signal);
  }

  submit(request: LivyBatchRequest, signal?: AbortSignal): Promise<LivyBatch> {
    return this.#call("/batches", { method: "POST", body: JSON.stringify(request) }, signal);
  }

  kill(id: number, signal?: AbortSignal): Promise<{ msg: string }> {
    return this.#call(`/batches/${id}`, { method: "DELETE" }, signal);
  }
}

/** Runs `work` over `items` with at most `limit` at a time, in order of the items. */
export async function mapLimited<T, R>(
  items: readonly T[],
  limit: number,
  work: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await work(items[index] as T, index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}
