/**
 * The Airflow 3 REST API v2, as the Airflow MCP server uses it. Authentication: a JWT from
 * `POST /auth/token` (the simple auth manager's, or any auth manager's token endpoint taking
 * username and password), renewed before its `exp` and fetched again when Airflow answers 401;
 * or a fixed AIRFLOW_TOKEN. Every call goes through `upstreamFetch` (a timeout, 5xx retriable,
 * 4xx a clear error with Airflow's own `detail`).
 */
import { decodeJwt } from "jose";
import { ToolError, UpstreamRejectedError } from "../../shared/mcp";
import { upstreamFetch } from "../../shared/upstream/upstream.fetch";
import type {
  ClearBody,
  Collection,
  Dag,
  DagRun,
  DagSource,
  DagWarning,
  Health,
  HitlAnswer,
  HitlDetail,
  ImportError,
  LogPage,
  Task,
  TaskInstance,
  TriggerBody,
} from "./airflow.types";

export interface AirflowConfig {
  /** The API server's base URL, without /api/v2 (AIRFLOW_URL). */
  url: string;
  /** Credentials exchanged at /auth/token (AIRFLOW_USERNAME, secret AIRFLOW_PASSWORD)… */
  username?: string;
  password?: string;
  /** …or a fixed bearer token (secret AIRFLOW_TOKEN), never renewed. */
  token?: string;
  /** Every request's timeout (AIRFLOW_TIMEOUT_MS, default 10 000). */
  timeoutMs: number;
}

const UPSTREAM = "Airflow";
/** Renew a JWT this long before it expires (at most half its lifetime). */
const RENEW_BEFORE_MS = 60_000;

export function readAirflowConfig(env: Record<string, unknown>): AirflowConfig {
  const text = (name: string) => (typeof env[name] === "string" ? (env[name] as string).trim() : "");
  const url = text("AIRFLOW_URL");
  if (!URL.canParse(url) || !["http:", "https:"].includes(new URL(url).protocol)) {
    throw new ToolError(
      `The Airflow server is misconfigured: AIRFLOW_URL must be an http(s) URL, got "${url}"`,
      "internal",
    );
  }
  const timeoutMs = Number(env.AIRFLOW_TIMEOUT_MS ?? 10_000);
  if (!Number.isInteger(timeoutMs) || timeoutMs < 1) {
    throw new ToolError(
      "The Airflow server is misconfigured: AIRFLOW_TIMEOUT_MS must be a positive integer",
      "internal",
    );
  }
  const [username, password, token] = [text("AIRFLOW_USERNAME"), text("AIRFLOW_PASSWORD"), text("AIRFLOW_TOKEN")];
  if (!token && !(username && password)) {
    throw new ToolError(
      "The Airflow server is misconfigured: set AIRFLOW_USERNAME and the secret AIRFLOW_PASSWORD (or the secret AIRFLOW_TOKEN)",
      "internal",
    );
  }
  return {
    url: url.replace(/\/+$/, "").replace(/\/api\/v2$/, ""),
    timeoutMs,
    ...(token ? { token } : { username, password }),
  };
}

type Query = Record<string, string | number | boolean | readonly string[] | undefined>;

export class AirflowClient {
  readonly config: AirflowConfig;
  #jwt: Promise<{ token: string; renewAt: number }> | undefined;

  constructor(config: AirflowConfig) {
    this.config = config;
  }

  health(signal?: AbortSignal): Promise<Health> {
    return this.#get("/monitor/health", {}, signal);
  }

  listDags(query: Query, signal?: AbortSignal): Promise<Collection<"dags", Dag>> {
    return this.#get("/dags", query, signal);
  }

  dag(dagId: string, signal?: AbortSignal): Promise<Dag> {
    return this.#get(`/dags/${enc(dagId)}`, {}, signal);
  }

  tasks(dagId: string, signal?: AbortSignal): Promise<Collection<"tasks", Task>> {
    return this.#get(`/dags/${enc(dagId)}/tasks`, {}, signal);
  }

  source(dagId: string, signal?: AbortSignal): Promise<DagSource> {
    return this.#get(`/dagSources/${enc(dagId)}`, {}, signal);
  }

  /** Runs of one DAG, or of all (`~`). */
  listRuns(dagId: string, query: Query, signal?: AbortSignal): Promise<Collection<"dag_runs", DagRun>> {
    return this.#get(`/dags/${enc(dagId)}/dagRuns`, query, signal);
  }

  run(dagId: string, runId: string, signal?: AbortSignal): Promise<DagRun> {
    return this.#get(`/dags/${enc(dagId)}/dagRuns/${enc(runId)}`, {}, signal);
  }

  taskInstances(
    dagId: string,
    runId: string,
    query: Query,
    signal?: AbortSignal,
  ): Promise<Collection<"task_instances", TaskInstance>> {
    return this.#get(`/dags/${enc(dagId)}/dagRuns/${enc(runId)}/taskInstances`, query, signal);
  }

  taskInstance(dagId: string, runId: string, taskId: string, signal?: AbortSignal): Promise<TaskInstance> {
    return this.#get(`/dags/${enc(dagId)}/dagRuns/${enc(runId)}/taskInstances/${enc(taskId)}`, {}, signal);
  }

  /** One page of a try's log (JSON); pass `token` (the previous page's continuation_token) for the next. */
  logPage(
    ti: { dagId: string; runId: string; taskId: string; tryNumber: number; mapIndex: number },
    token: string | undefined,
    signal?: AbortSignal,
  ): Promise<LogPage> {
    const path = `/dags/${enc(ti.dagId)}/dagRuns/${enc(ti.runId)}/taskInstances/${enc(ti.taskId)}/logs/${ti.tryNumber}`;
    return this.#get(path, { full_content: false, map_index: ti.mapIndex, token }, signal);
  }

  importErrors(limit: number, signal?: AbortSignal): Promise<Collection<"import_errors", ImportError>> {
    return this.#get("/importErrors", { limit }, signal);
  }

  /** DAG warnings, of one DAG or all. */
  dagWarnings(limit: number, dagId?: string, signal?: AbortSignal): Promise<Collection<"dag_warnings", DagWarning>> {
    return this.#get("/dagWarnings", { limit, dag_id: dagId }, signal);
  }

  hitlDetails(
    dagId: string,
    runId: string,
    query: Query,
    signal?: AbortSignal,
  ): Promise<Collection<"hitl_details", HitlDetail>> {
    return this.#get(`/dags/${enc(dagId)}/dagRuns/${enc(runId)}/hitlDetails`, query, signal);
  }

  hitlDetail(
    dagId: string,
    runId: string,
    taskId: string,
    mapIndex: number,
    signal?: AbortSignal,
  ): Promise<HitlDetail> {
    return this.#get(`${hitlPath(dagId, runId, taskId, mapIndex)}`, {}, signal);
  }

  answerHitl(
    dagId: string,
    runId: string,
    taskId: string,
    mapIndex: number,
    answer: { chosen_options: string[]; params_input: Record<string, unknown> },
    signal?: AbortSignal,
  ): Promise<HitlAnswer> {
    return this.#send("PATCH", hitlPath(dagId, runId, taskId, mapIndex), answer, signal);
  }

  trigger(dagId: string, body: TriggerBody, signal?: AbortSignal): Promise<DagRun> {
    return this.#send("POST", `/dags/${enc(dagId)}/dagRuns`, body, signal);
  }

  /** Clears task instances; with `dry_run` only says which would be cleared. */
  clearTaskInstances(
    dagId: string,
    body: ClearBody,
    signal?: AbortSignal,
  ): Promise<Collection<"task_instances", TaskInstance>> {
    return this.#send("POST", `/dags/${enc(dagId)}/clearTaskInstances`, body, signal);
  }

  setPaused(dagId: string, isPaused: boolean, signal?: AbortSignal): Promise<Dag> {
    return this.#send("PATCH", `/dags/${enc(dagId)}?update_mask=is_paused`, { is_paused: isPaused }, signal);
  }

  async deleteRun(dagId: string, runId: string, signal?: AbortSignal): Promise<void> {
    await this.#request("DELETE", `/dags/${enc(dagId)}/dagRuns/${enc(runId)}`, undefined, signal);
  }

  #get<T>(path: string, query: Query, signal?: AbortSignal): Promise<T> {
    const params = new URLSearchParams();
    for (const [key, value] of Object.entries(query)) {
      if (value === undefined) continue;
      for (const item of Array.isArray(value) ? value : [value]) params.append(key, String(item));
    }
    const search = params.size ? `?${params}` : "";
    return this.#request("GET", `${path}${search}`, undefined, signal).then(
      (response) => response.json() as Promise<T>,
    );
  }

  #send<T>(method: string, path: string, body: unknown, signal?: AbortSignal): Promise<T> {
    return this.#request(method, path, body, signal).then((response) => response.json() as Promise<T>);
  }

  async #request(method: string, path: string, body: unknown, signal?: AbortSignal): Promise<Response> {
    const attempt = async () =>
      upstreamFetch(
        `${this.config.url}/api/v2${path}`,
        {
          method,
          headers: {
            authorization: `Bearer ${await this.#token(signal)}`,
            accept: "application/json",
            ...(body === undefined ? {} : { "content-type": "application/json" }),
          },
          ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        },
        { upstream: UPSTREAM, timeoutMs: this.config.timeoutMs, ...(signal ? { signal } : {}) },
      );
    try {
      return await attempt();
    } catch (error) {
      // A JWT Airflow no longer accepts (expired early, secret rotated): fetch a new one, once.
      if (error instanceof UpstreamRejectedError && error.status === 401 && !this.config.token) {
        this.#jwt = undefined;
        try {
          return await attempt();
        } catch (retryError) {
          throw withDetail(retryError);
        }
      }
      throw withDetail(error);
    }
  }

  /** The current JWT, fetched or renewed when it is about to expire; one fetch at a time. */
  async #token(signal?: AbortSignal): Promise<string> {
    if (this.config.token) return this.config.token;
    const pending = this.#jwt;
    if (pending) {
      const current = await pending.catch(() => undefined);
      if (current && Date.now() < current.renewAt) return current.token;
      if (this.#jwt !== pending) return this.#token(signal); // another call is renewing it
    }
    const next = this.#fetchToken(signal);
    this.#jwt = next;
    try {
      return (await next).token;
    } catch (error) {
      if (this.#jwt === next) this.#jwt = undefined;
      throw error;
    }
  }

  async #fetchToken(signal?: AbortSignal): Promise<{ token: string; renewAt: number }> {
    let response: Response;
    try {
      response = await upstreamFetch(
        `${this.config.url}/auth/token`,
        {
          method: "POST",
          headers: { "content-type": "application/json", accept: "application/json" },
          body: JSON.stringify({ username: this.config.username, password: this.config.password }),
        },
        { upstream: UPSTREAM, timeoutMs: this.config.timeoutMs, ...(signal ? { signal } : {}) },
      );
    } catch (error) {
      if (error instanceof UpstreamRejectedError && (error.status === 401 || error.status === 403)) {
        throw new ToolError(
          "The Airflow server is misconfigured: Airflow refused its credentials at /auth/token (check AIRFLOW_USERNAME / AIRFLOW_PASSWORD)",
          "internal",
        );
      }
      throw withDetail(error);
    }
    const { access_token: token } = (await response.json()) as { access_token?: unknown };
    if (typeof token !== "string" || !token)
      throw new UpstreamRejectedError("Airflow's /auth/token answered no access_token");
    return { token, renewAt: renewalTime(token) };
  }
}

/** When to renew a JWT: before its `exp` by a minute, or by half its lifetime if shorter. */
export function renewalTime(token: string, now = Date.now()): number {
  let claims: { exp?: number; iat?: number };
  try {
    claims = decodeJwt(token);
  } catch {
    return now + 5 * 60_000; // not a JWT we can read: renew every 5 minutes (and on 401)
  }
  if (typeof claims.exp !== "number") return now + 5 * 60_000;
  const expires = claims.exp * 1000;
  const lifetime = expires - (typeof claims.iat === "number" ? claims.iat * 1000 : now);
  return expires - Math.min(RENEW_BEFORE_MS, Math.max(0, lifetime / 2));
}

/** Airflow's errors carry `{"detail": …}`: show that, not the raw JSON. */
function withDetail(error: unknown): unknown {
  if (!(error instanceof UpstreamRejectedError)) return error;
  const match = /^(.*?): (\{.*)$/s.exec(error.message);
  if (!match) return error;
  try {
    const { detail } = JSON.parse(match[2] as string) as { detail?: unknown };
    if (detail === undefined) return error;
    const text =
      typeof detail === "string"
        ? detail
        : Array.isArray(detail)
          ? detail.map((d: { loc?: unknown[]; msg?: string }) => `${(d.loc ?? []).join(".")}: ${d.msg}`).join("; ")
          : JSON.stringify(detail);
    return new UpstreamRejectedError(`${match[1]}: ${text}`, error.status);
  } catch {
    return error;
  }
}

const enc = encodeURIComponent;
const hitlPath = (dagId: string, runId: string, taskId: string, mapIndex: number) =>
  `/dags/${enc(dagId)}/dagRuns/${enc(runId)}/taskInstances/${enc(taskId)}/${mapIndex}/hitlDetails`;
