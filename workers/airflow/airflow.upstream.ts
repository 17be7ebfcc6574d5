/**
 * A local Airflow 3 API server (Node), protocol-faithful for what the Airflow MCP server uses:
 * `POST /auth/token` (simple auth manager: JSON or form credentials → 201 `{access_token}`, a
 * JWT whose `exp` is honoured: 401 after it), and under `/api/v2` (Bearer JWT): DAGs, tasks,
 * sources, runs (trigger with `logical_date` a required key, delete, clear), task instances,
 * logs (JSON, paged with signed continuation tokens), clearTaskInstances (dry run and
 * `only_failed` by default), import errors, DAG warnings, human-in-the-loop details; strict
 * bodies (unknown fields → 422 with `detail`). `/_local/*` controls it for tests.
 * Shapes: airflow.upstream.shapes.ts; the sample DAGs and their runs: airflow.upstream.data.ts.
 * On its own: `node workers/airflow/airflow.upstream.ts [port]`.
 */
import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { jwtVerify, SignJWT } from "jose";
import type { z } from "zod";
import type { LocalUpstream, RunningUpstream } from "../../local/fleet.manifest.ts";
import { AirflowState, type RunRecord, type TaskInstanceRecord, type TiState } from "./airflow.upstream.data.ts";
import {
  ClearRunBody,
  ClearTaskInstancesBody,
  dagResponse,
  dagRunResponse,
  HitlAnswerBody,
  hitlResponse,
  LoginBody,
  PatchDagBody,
  TriggerBody,
  taskInstanceResponse,
  validationDetail,
} from "./airflow.upstream.shapes.ts";

/** The local Airflow's API user (dev-only credentials; fleet.config.ts passes them to the Worker). */
export const LOCAL_AIRFLOW_USER = { username: "mcp-fleet", password: "local-airflow-password" };
const MAX_BODY = 256 * 1024;

export interface AirflowUpstreamOptions {
  port?: number;
  host?: string;
  /** Lifetime of the JWTs /auth/token issues (Airflow's [api_auth] jwt_expiration_time; default 1800 s). */
  tokenTtlSeconds?: number;
  /** Log entries per page when `full_content` is false (default 100). */
  logPageEntries?: number;
  /** How long each simulated task of a triggered or cleared run takes (default 400 ms). */
  stepMs?: number;
}

class HttpError extends Error {
  readonly status: number;
  readonly detail: unknown;
  constructor(status: number, detail: unknown) {
    super(typeof detail === "string" ? detail : "validation error");
    this.status = status;
    this.detail = detail;
  }
}

export async function startAirflowUpstream(options: AirflowUpstreamOptions = {}): Promise<RunningUpstream> {
  const state = new AirflowState({ ...(options.stepMs ? { stepMs: options.stepMs } : {}) });
  const control = {
    tokenTtlSeconds: options.tokenTtlSeconds ?? 1800,
    logPageEntries: options.logPageEntries ?? 100,
    jwtSecret: randomBytes(32),
    stats: { tokensIssued: 0, unauthorized: 0, requests: [] as string[] },
  };
  const logSecret = randomBytes(32);
  const server = createServer((request, response) => {
    handle(request, response, state, control, logSecret).catch((error) => {
      if (error instanceof HttpError) return answer(response, error.status, { detail: error.detail });
      answer(response, 500, { detail: String(error) });
    });
  });
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

type Control = {
  tokenTtlSeconds: number;
  logPageEntries: number;
  jwtSecret: Uint8Array;
  stats: { tokensIssued: number; unauthorized: number; requests: string[] };
};

async function handle(
  request: IncomingMessage,
  response: ServerResponse,
  state: AirflowState,
  control: Control,
  logSecret: Buffer,
): Promise<void> {
  const url = new URL(request.url ?? "/", "http://airflow.local");
  const method = request.method ?? "GET";
  if (url.pathname.startsWith("/_local/")) return localControl(method, url, request, response, control);
  if (url.pathname === "/auth/token" && method === "POST") {
    const body = parse(LoginBody, await readBody(request));
    const { username, password } = LOCAL_AIRFLOW_USER;
    if (body.username !== username || !safeEqual(body.password, password)) {
      throw new HttpError(401, "Invalid credentials");
    }
    const token = await new SignJWT({ role: "ADMIN" })
      .setProtectedHeader({ alg: "HS512" })
      .setSubject(body.username)
      .setIssuedAt()
      .setExpirationTime(`${control.tokenTtlSeconds}s`)
      .sign(control.jwtSecret);
    control.stats.tokensIssued += 1;
    return answer(response, 201, { access_token: token });
  }
  if (!url.pathname.startsWith("/api/v2/")) throw new HttpError(404, "Not Found");
  const path = url.pathname
    .slice("/api/v2/".length)
    .split("/")
    .map((segment) => decodeURIComponent(segment));
  if (path[0] === "monitor" && path[1] === "health") return answer(response, 200, health());
  const user = await authenticate(request, control);
  control.stats.requests.push(`${method} ${url.pathname}${url.search}`);
  state.advance();
  const result = await route(method, path, url.searchParams, request, state, logSecret, control, user);
  if (result === undefined) {
    response.writeHead(204).end();
    return;
  }
  answer(response, 200, result);
}

async function authenticate(request: IncomingMessage, control: Control): Promise<string> {
  const header = request.headers.authorization ?? "";
  if (!header.startsWith("Bearer ")) {
    control.stats.unauthorized += 1;
    throw new HttpError(401, "Not authenticated");
  }
  try {
    const { payload } = await jwtVerify(header.slice("Bearer ".length), control.jwtSecret);
    return String(payload.sub);
  } catch {
    control.stats.unauthorized += 1;
    throw new HttpError(401, "Invalid JWT token");
  }
}

async function route(
  method: string,
  path: string[],
  query: URLSearchParams,
  request: IncomingMessage,
  state: AirflowState,
  logSecret: Buffer,
  control: Control,
  user: string,
): Promise<unknown> {
  const [root, dagId, sub, runId, tiSeg, taskId, ...rest] = path;
  if (root === "version" && path.length === 1) return { version: "3.1.3", git_version: null };
  if (root === "importErrors" && path.length === 1) return page(state.importErrors, query, "import_errors");
  if (root === "dagWarnings" && path.length === 1) {
    const dag = query.get("dag_id");
    return page(
      state.dagWarnings.filter((w) => !dag || w.dag_id === dag),
      query,
      "dag_warnings",
    );
  }
  if (root === "dagSources" && dagId && path.length === 2) {
    const dag = dagOf(state, dagId);
    return { content: dag.source, dag_id: dag.dag_id, version_number: 1, dag_display_name: dag.dag_id };
  }
  if (root !== "dags") throw new HttpError(404, "Not Found");
  if (dagId === undefined) return listDags(state, query);
  if (sub === undefined) {
    const dag = dagOf(state, dagId);
    if (method === "PATCH") {
      dag.is_paused = parse(PatchDagBody, await readBody(request)).is_paused;
      return dagResponse(dag);
    }
    return dagResponse(dag);
  }
  if (sub === "details" && path.length === 3) {
    const dag = dagOf(state, dagId);
    return { ...dagResponse(dag), catchup: false, start_date: "2026-01-01T00:00:00Z", timezone: "UTC", params: {} };
  }
  if (sub === "tasks" && path.length === 3) {
    const dag = dagOf(state, dagId);
    const tasks = dag.tasks.map((t) => ({
      task_id: t.task_id,
      task_display_name: t.task_id,
      operator_name: t.operator,
      downstream_task_ids: t.downstream,
      retries: t.retries,
      trigger_rule: "all_success",
      owner: dag.owners[0],
      is_mapped: false,
    }));
    return { tasks, total_entries: tasks.length };
  }
  if (sub === "clearTaskInstances" && path.length === 3 && method === "POST") {
    return clearTaskInstances(state, dagId, parse(ClearTaskInstancesBody, await readBody(request)));
  }
  if (sub !== "dagRuns") throw new HttpError(404, "Not Found");
  if (runId === undefined) {
    if (method === "POST") return trigger(state, dagId, parse(TriggerBody, await readBody(request)));
    return listRuns(state, dagId, query);
  }
  if (tiSeg === "hitlDetails" && path.length === 5) return listHitl(state, dagId, runId, query);
  const run = runOf(state, dagId, runId);
  if (tiSeg === undefined) {
    if (method === "DELETE") {
      state.runs.get(dagId)?.delete(runId);
      return undefined;
    }
    return dagRunResponse(run);
  }
  if (tiSeg === "clear" && path.length === 5 && method === "POST") {
    return clearRun(state, run, parse(ClearRunBody, await readBody(request)));
  }
  if (tiSeg !== "taskInstances") throw new HttpError(404, "Not Found");
  const dag = dagOf(state, dagId);
  if (taskId === undefined) {
    const states = query.getAll("state");
    const tis = [...run.tis.values()].filter((ti) => states.length === 0 || states.includes(String(ti.state)));
    return page(
      tis.map((ti) => taskInstanceResponse(run, ti, dag)),
      query,
      "task_instances",
    );
  }
  const ti = run.tis.get(taskId);
  if (!ti)
    throw new HttpError(
      404,
      `The Task Instance with dag_id: \`${dagId}\`, run_id: \`${runId}\`, task_id: \`${taskId}\` and map_index: \`-1\` was not found`,
    );
  if (rest.length === 0) return taskInstanceResponse(run, ti, dag);
  if (rest[0] === "logs" && rest.length === 2) return readLog(ti, Number(rest[1]), query, logSecret, control);
  if (rest[0] === "-1" && rest[1] === "hitlDetails" && rest.length === 2) {
    const hitl = run.hitl.get(taskId);
    if (!hitl) throw new HttpError(404, `Human-in-the-loop detail does not exist for Task Instance with id ${ti.id}`);
    if (method === "PATCH") {
      const body = parse(HitlAnswerBody, await readBody(request));
      if (hitl.response) {
        throw new HttpError(
          409,
          `Human-in-the-loop detail has already been updated for Task Instance with id ${ti.id} and is not allowed to write again.`,
        );
      }
      const unknown = body.chosen_options.filter((option) => !hitl.options.includes(option));
      if (unknown.length)
        throw new HttpError(
          400,
          `chosen_options ${JSON.stringify(unknown)} are not in options ${JSON.stringify(hitl.options)}`,
        );
      if (!hitl.multiple && body.chosen_options.length > 1) {
        throw new HttpError(400, "Only one option can be chosen when multiple is False");
      }
      hitl.response = {
        responded_by: { id: user, name: user },
        responded_at: new Date().toISOString(),
        chosen_options: body.chosen_options,
        params_input: body.params_input,
      };
      settle(run, hitl.onAnswer(body.chosen_options));
      return hitl.response;
    }
    return hitlResponse(run, hitl, dag);
  }
  throw new HttpError(404, "Not Found");
}

function health() {
  const beat = new Date(Date.now() - 3_000).toISOString();
  return {
    metadatabase: { status: "healthy" },
    scheduler: { status: "healthy", latest_scheduler_heartbeat: beat },
    triggerer: { status: "healthy", latest_triggerer_heartbeat: beat },
    dag_processor: { status: "healthy", latest_dag_processor_heartbeat: beat },
  };
}

function listDags(state: AirflowState, query: URLSearchParams) {
  const pattern = query.get("dag_id_pattern")?.toLowerCase();
  const tags = query.getAll("tags");
  const paused = query.get("paused");
  const dags = [...state.dags.values()].filter(
    (dag) =>
      (!pattern || dag.dag_id.toLowerCase().includes(pattern.replaceAll("%", ""))) &&
      (tags.length === 0 || tags.some((tag) => dag.tags.includes(tag))) &&
      (paused === null || String(dag.is_paused) === paused),
  );
  return page(dags.map(dagResponse), query, "dags");
}

function listRuns(state: AirflowState, dagId: string, query: URLSearchParams) {
  const states = query.getAll("state");
  const ids = dagId === "~" ? [...state.runs.keys()] : [dagOf(state, dagId).dag_id];
  const runs = ids
    .flatMap((id) => [...(state.runs.get(id)?.values() ?? [])])
    .filter((run) => states.length === 0 || states.includes(run.state));
  const order = query.get("order_by") ?? "id";
  const key = order.replace(/^-/, "");
  if (["run_after", "logical_date", "start_date", "end_date"].includes(key)) {
    const value = (run: RunRecord) => String((run as unknown as Record<string, unknown>)[key] ?? "");
    runs.sort((a, b) => value(a).localeCompare(value(b)) * (order.startsWith("-") ? -1 : 1));
  }
  return page(runs.map(dagRunResponse), query, "dag_runs");
}

function listHitl(state: AirflowState, dagId: string, runId: string, query: URLSearchParams) {
  const received = query.get("response_received");
  const items = [...state.runs.entries()]
    .filter(([id]) => dagId === "~" || id === dagId)
    .flatMap(([, runs]) => [...runs.values()])
    .filter((run) => runId === "~" || run.dag_run_id === runId)
    .flatMap((run) => [...run.hitl.values()].map((hitl) => hitlResponse(run, hitl, dagOf(state, run.dag_id))))
    .filter((item) => received === null || String(item.response_received) === received);
  return page(items, query, "hitl_details");
}

function trigger(state: AirflowState, dagId: string, body: z.output<typeof TriggerBody>) {
  const dag = dagOf(state, dagId);
  const now = Date.now();
  const runId = body.dag_run_id ?? `manual__${new Date(now).toISOString().replace("Z", "+00:00")}`;
  if (state.runs.get(dagId)?.has(runId)) {
    throw new HttpError(409, `The DagRun with dag_id: \`${dagId}\` and run_id: \`${runId}\` already exists`);
  }
  const run = state.addRun(
    dagId,
    {
      dag_run_id: runId,
      run_type: "manual",
      logical_date: body.logical_date ?? null,
      state: "queued",
      conf: body.conf ?? {},
      note: body.note ?? null,
      ...(body.run_after ? { run_after: body.run_after } : {}),
    },
    {},
    now,
  );
  const failTask = typeof run.conf.fail_task === "string" ? run.conf.fail_task : undefined;
  state.simulate(
    run,
    dag.tasks.map((t) => t.task_id),
    failTask,
  );
  return dagRunResponse(run);
}

const CLEARABLE_FAILED: TiState[] = ["failed", "upstream_failed"];

function clearTaskInstances(state: AirflowState, dagId: string, body: z.output<typeof ClearTaskInstancesBody>) {
  const dag = dagOf(state, dagId);
  let runs = [...(state.runs.get(dagId)?.values() ?? [])];
  if (body.dag_run_id) runs = [runOf(state, dagId, body.dag_run_id)];
  if (body.start_date) runs = runs.filter((run) => (run.logical_date ?? run.run_after) >= (body.start_date as string));
  if (body.end_date) runs = runs.filter((run) => (run.logical_date ?? run.run_after) <= (body.end_date as string));
  let taskIds: Set<string> | undefined;
  if (body.task_ids) {
    taskIds = new Set(body.task_ids.map((id) => (typeof id === "string" ? id : id[0])));
    const unknown = [...taskIds].filter((id) => !dag.tasks.some((t) => t.task_id === id));
    if (unknown.length) throw new HttpError(400, `Task ids ${JSON.stringify(unknown)} not found in DAG ${dagId}`);
    const grow = (direction: "down" | "up") => {
      let changed = true;
      while (changed) {
        changed = false;
        for (const t of dag.tasks) {
          const linked =
            direction === "down"
              ? [...(taskIds as Set<string>)].some((id) =>
                  dag.tasks.find((x) => x.task_id === id)?.downstream.includes(t.task_id),
                )
              : t.downstream.some((d) => (taskIds as Set<string>).has(d));
          if (linked && !(taskIds as Set<string>).has(t.task_id)) {
            (taskIds as Set<string>).add(t.task_id);
            changed = true;
          }
        }
      }
    };
    if (body.include_downstream) grow("down");
    if (body.include_upstream) grow("up");
  }
  const cleared: { run: RunRecord; ti: TaskInstanceRecord }[] = [];
  for (const run of runs) {
    for (const ti of run.tis.values()) {
      if (taskIds && !taskIds.has(ti.task_id)) continue;
      if (body.only_failed && !CLEARABLE_FAILED.includes(ti.state)) continue;
      if (body.only_running && ti.state !== "running") continue;
      cleared.push({ run, ti });
    }
  }
  const items = cleared.map(({ run, ti }) => taskInstanceResponse(run, ti, dag));
  if (!body.dry_run) {
    const byRun = new Map<RunRecord, string[]>();
    for (const { run, ti } of cleared) byRun.set(run, [...(byRun.get(run) ?? []), ti.task_id]);
    for (const [run, ids] of byRun) restart(state, run, ids, body.reset_dag_runs);
  }
  return { task_instances: items, total_entries: items.length };
}

function clearRun(state: AirflowState, run: RunRecord, body: z.output<typeof ClearRunBody>) {
  const dag = dagOf(state, run.dag_id);
  const tis = [...run.tis.values()].filter((ti) => !body.only_failed || CLEARABLE_FAILED.includes(ti.state));
  if (body.dry_run) {
    const items = tis.map((ti) => taskInstanceResponse(run, ti, dag));
    return { task_instances: items, total_entries: items.length };
  }
  restart(
    state,
    run,
    tis.map((ti) => ti.task_id),
    true,
  );
  return dagRunResponse(run);
}

/** A clear: the task instances lose their state (keeping their tries) and run again, in DAG order. */
function restart(state: AirflowState, run: RunRecord, taskIds: string[], resetRun: boolean): void {
  const dag = dagOf(state, run.dag_id);
  const order = dag.tasks.map((t) => t.task_id).filter((id) => taskIds.includes(id));
  for (const id of order) {
    const ti = run.tis.get(id) as TaskInstanceRecord;
    ti.state = null;
    ti.end_date = null;
    ti.max_tries = ti.try_number + (dag.tasks.find((t) => t.task_id === id)?.retries ?? 0);
  }
  if (resetRun) {
    run.state = "queued";
    run.end_date = null;
  }
  state.simulate(run, order);
}

/** Task states after a human answered (the scheduler would move them as quickly). */
function settle(run: RunRecord, states: Record<string, TiState>): void {
  const now = new Date().toISOString();
  for (const [taskId, next] of Object.entries(states)) {
    const ti = run.tis.get(taskId);
    if (!ti) continue;
    ti.state = next;
    if (next === "success" && ti.try_number === 0) {
      ti.try_number = 1;
      ti.start_date = now;
    }
    ti.end_date = now;
  }
  run.state = [...run.tis.values()].some((ti) => ti.state === "failed") ? "failed" : "success";
  run.end_date = now;
}

function readLog(ti: TaskInstanceRecord, tryNumber: number, query: URLSearchParams, secret: Buffer, control: Control) {
  const entries = ti.logs.get(tryNumber);
  if (!Number.isInteger(tryNumber) || tryNumber < 1 || !entries) throw new HttpError(404, "TaskInstance not found");
  const source = {
    event: "::group::Log message source details",
    sources: [`/opt/airflow/logs/${ti.task_id}/attempt=${tryNumber}.log`],
  };
  const all = [source, { event: "::endgroup::" }, ...entries];
  if (query.get("full_content") === "true") return { content: all, continuation_token: null };
  let position = 0;
  const token = query.get("token");
  if (token) position = verifyToken(token, secret);
  const end = Math.min(all.length, position + control.logPageEntries);
  const finished = end >= all.length && ti.end_date !== null;
  return {
    content: all.slice(position, end),
    continuation_token: finished ? null : signToken(end, secret),
  };
}

function signToken(position: number, secret: Buffer): string {
  const payload = Buffer.from(JSON.stringify({ end_of_log: false, log_pos: position })).toString("base64url");
  return `${payload}.${createHmac("sha256", secret).update(payload).digest("base64url")}`;
}

function verifyToken(token: string, secret: Buffer): number {
  const [payload = "", signature = ""] = token.split(".");
  const expected = createHmac("sha256", secret).update(payload).digest("base64url");
  if (!safeEqual(signature, expected)) {
    throw new HttpError(400, "Bad Signature. Please use only the tokens provided by the API.");
  }
  return Number((JSON.parse(Buffer.from(payload, "base64url").toString()) as { log_pos: number }).log_pos);
}

function page(items: unknown[], query: URLSearchParams, key: string) {
  const limit = Math.min(Number(query.get("limit") ?? 50) || 50, 1000);
  const offset = Number(query.get("offset") ?? 0) || 0;
  return { [key]: items.slice(offset, offset + limit), total_entries: items.length };
}

function dagOf(state: AirflowState, dagId: string) {
  const dag = state.dags.get(dagId);
  if (!dag) throw new HttpError(404, `Dag with id ${dagId} was not found`);
  return dag;
}

function runOf(state: AirflowState, dagId: string, runId: string): RunRecord {
  dagOf(state, dagId);
  const run = state.runs.get(dagId)?.get(runId);
  if (!run) throw new HttpError(404, `The DagRun with dag_id: \`${dagId}\` and run_id: \`${runId}\` was not found`);
  return run;
}

function parse<T extends z.ZodType>(schema: T, body: unknown): z.output<T> {
  const parsed = schema.safeParse(body);
  if (!parsed.success) throw new HttpError(422, validationDetail(parsed.error, body));
  return parsed.data;
}

async function readBody(request: IncomingMessage): Promise<unknown> {
  let body = "";
  for await (const chunk of request) {
    body += chunk;
    if (body.length > MAX_BODY) throw new HttpError(413, "Request body too large");
  }
  if ((request.headers["content-type"] ?? "").startsWith("application/x-www-form-urlencoded")) {
    return Object.fromEntries(new URLSearchParams(body));
  }
  try {
    return JSON.parse(body);
  } catch {
    throw new HttpError(422, [{ type: "json_invalid", loc: ["body"], msg: "JSON decode error", input: {} }]);
  }
}

async function localControl(
  method: string,
  url: URL,
  request: IncomingMessage,
  response: ServerResponse,
  control: Control,
): Promise<void> {
  if (method === "GET" && url.pathname === "/_local/stats") return answer(response, 200, control.stats);
  if (method === "POST" && url.pathname === "/_local/token-ttl") {
    control.tokenTtlSeconds = Number(((await readBody(request)) as { seconds: number }).seconds);
    return answer(response, 200, { tokenTtlSeconds: control.tokenTtlSeconds });
  }
  if (method === "POST" && url.pathname === "/_local/rotate-jwt-secret") {
    control.jwtSecret = randomBytes(32);
    return answer(response, 200, { rotated: true });
  }
  answer(response, 404, { detail: "Not Found" });
}

function safeEqual(a: string, b: string): boolean {
  const [x, y] = [Buffer.from(a), Buffer.from(b)];
  return x.length === y.length && timingSafeEqual(x, y);
}

function answer(response: ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));
}

/** How fleet.config.ts starts it: as AIRFLOW_URL, on 8096 under `npm start`, with its API user. */
const airflowUpstream: LocalUpstream = {
  env: "AIRFLOW_URL",
  port: 8096,
  label: "local Airflow 3 API",
  start: startAirflowUpstream,
  testOptions: { stepMs: 250, logPageEntries: 100 },
  vars: { AIRFLOW_USERNAME: LOCAL_AIRFLOW_USER.username, AIRFLOW_PASSWORD: LOCAL_AIRFLOW_USER.password },
};
export default airflowUpstream;

if (process.argv[1] === import.meta.filename) {
  const { url } = await startAirflowUpstream({ port: Number(process.argv[2] ?? airflowUpstream.port) });
  console.log(`local Airflow 3 API on ${url} (user ${LOCAL_AIRFLOW_USER.username})`);
}
