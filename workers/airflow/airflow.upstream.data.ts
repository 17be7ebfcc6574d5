/**
 * The local Airflow's state (Node, in memory): the sample DAGs, their runs and task instances,
 * logs, import errors, DAG warnings and human-in-the-loop details, and how triggered or cleared
 * runs progress with time. Serialized in the Airflow 3 REST API v2 shapes (apache/airflow
 * airflow-core/src/airflow/api_fastapi/core_api/datamodels/*.py). The HTTP side is
 * airflow.upstream.ts.
 */

export type TiState =
  | "success"
  | "failed"
  | "upstream_failed"
  | "running"
  | "queued"
  | "scheduled"
  | "skipped"
  | "deferred"
  | "up_for_retry"
  | null;
export type RunState = "queued" | "running" | "success" | "failed";

export interface LogEntry {
  timestamp: string;
  event: string;
  level: string;
  logger?: string;
}

export interface TaskDef {
  task_id: string;
  operator: string;
  downstream: string[];
  retries: number;
}

export interface DagDef {
  dag_id: string;
  description: string;
  owners: string[];
  tags: string[];
  schedule: string;
  is_paused: boolean;
  fileloc: string;
  source: string;
  tasks: TaskDef[];
}

export interface TaskInstanceRecord {
  id: string;
  task_id: string;
  state: TiState;
  try_number: number;
  max_tries: number;
  start_date: string | null;
  end_date: string | null;
  hostname: string;
  logs: Map<number, LogEntry[]>;
}

export interface HitlRecord {
  task_id: string;
  options: string[];
  subject: string;
  body: string | null;
  defaults: string[] | null;
  multiple: boolean;
  params: Record<string, unknown>;
  /** Who may answer (Airflow 3.1 `assigned_users`); empty: anyone with the permission. */
  assigned_users?: { id: string; name: string }[];
  created_at: string;
  /** After the answer: the next states of the task and its downstream, by chosen option. */
  onAnswer: (chosen: string[]) => Record<string, TiState>;
  response?: {
    responded_by: { id: string; name: string };
    responded_at: string;
    chosen_options: string[];
    params_input: Record<string, unknown>;
  };
}

/** A run moving through its tasks: each of `order` runs `stepMs` after the previous. */
interface Simulation {
  startedAt: number;
  stepMs: number;
  order: string[];
  failTask?: string;
}

export interface RunRecord {
  dag_id: string;
  dag_run_id: string;
  run_type: "manual" | "scheduled";
  logical_date: string | null;
  run_after: string;
  queued_at: string;
  start_date: string | null;
  end_date: string | null;
  state: RunState;
  conf: Record<string, unknown>;
  note: string | null;
  triggered_by: string;
  triggering_user_name: string | null;
  tis: Map<string, TaskInstanceRecord>;
  hitl: Map<string, HitlRecord>;
  sim?: Simulation;
}

const iso = (ms: number) => new Date(ms).toISOString();
/** Run ids carry the logical date as Airflow writes it: `scheduled__2026-12-01T02:00:00+00:00`. */
const runIdDate = (isoDate: string) => `${isoDate.slice(0, 19)}+00:00`;
const task = (task_id: string, operator: string, downstream: string[] = [], retries = 0): TaskDef => ({
  task_id,
  operator,
  downstream,
  retries,
});

function dagSource(dag: Omit<DagDef, "source">): string {
  const lines = [
    "from airflow.sdk import dag, task",
    "",
    `@dag(schedule=${JSON.stringify(dag.schedule)}, tags=${JSON.stringify(dag.tags)})`,
    `def ${dag.dag_id}():`,
    `    """${dag.description}"""`,
    ...dag.tasks.map((t) => `    ${t.task_id} = ${t.operator}(task_id="${t.task_id}", retries=${t.retries})`),
    ...dag.tasks.flatMap((t) => t.downstream.map((d) => `    ${t.task_id} >> ${d}`)),
    "",
    `${dag.dag_id}()`,
  ];
  return lines.join("\n");
}

function defineDag(dag: Omit<DagDef, "source" | "fileloc">): DagDef {
  const fileloc = `/opt/airflow/dags/${dag.dag_id}.py`;
  return { ...dag, fileloc, source: dagSource({ ...dag, fileloc }) };
}

export const IMPORT_ERROR_STACK = [
  "Traceback (most recent call last):",
  '  File "/opt/airflow/dags/broken_dag.py", line 7, in <module>',
  "    from airflow.providers.snowflake.operators.snowflake import SnowflakeOperator",
  "ModuleNotFoundError: No module named 'airflow.providers.snowflake'",
].join("\n");

/** The whole local Airflow: DAGs, runs, import errors, warnings; `now` is injectable for tests. */
export class AirflowState {
  readonly dags = new Map<string, DagDef>();
  readonly runs = new Map<string, Map<string, RunRecord>>();
  readonly importErrors: Record<string, unknown>[];
  readonly dagWarnings: Record<string, unknown>[];
  readonly stepMs: number;
  #ids = 0;

  constructor(options: { stepMs?: number; now?: number } = {}) {
    this.stepMs = options.stepMs ?? 400;
    const now = options.now ?? Date.now();
    for (const dag of sampleDags()) {
      this.dags.set(dag.dag_id, dag);
      this.runs.set(dag.dag_id, new Map());
    }
    seedRuns(this, now);
    this.importErrors = [
      {
        import_error_id: 1,
        timestamp: iso(now - 3_600_000),
        filename: "broken_dag.py",
        bundle_name: "dags-folder",
        stack_trace: IMPORT_ERROR_STACK,
      },
    ];
    this.dagWarnings = [
      {
        dag_id: "ml_features",
        warning_type: "non-existent pool",
        message: "Dag 'ml_features' references non-existent pools: ['gpu_pool']",
        timestamp: iso(now - 7_200_000),
      },
    ];
  }

  nextId(): string {
    this.#ids += 1;
    return `0199${this.#ids.toString(16).padStart(4, "0")}-7c1e-7000-8000-${this.#ids.toString(16).padStart(12, "0")}`;
  }

  /** Adds a run in `state` with its task instances in `states` (absent: no status yet). */
  addRun(
    dagId: string,
    run: Pick<RunRecord, "dag_run_id" | "run_type" | "logical_date" | "state"> & Partial<RunRecord>,
    states: Record<string, TiState>,
    startedAt: number,
  ): RunRecord {
    const dag = this.dags.get(dagId);
    if (!dag) throw new Error(`no DAG ${dagId}`);
    const record: RunRecord = {
      dag_id: dagId,
      run_after: run.logical_date ?? iso(startedAt),
      queued_at: iso(startedAt - 1_000),
      start_date: run.state === "queued" ? null : iso(startedAt),
      end_date: run.state === "success" || run.state === "failed" ? iso(startedAt + 60_000) : null,
      conf: {},
      note: null,
      triggered_by: run.run_type === "manual" ? "rest_api" : "timetable",
      triggering_user_name: run.run_type === "manual" ? "mcp-fleet" : null,
      tis: new Map(),
      hitl: new Map(),
      ...run,
    };
    dag.tasks.forEach((t, index) => {
      const state = states[t.task_id] ?? null;
      const tried = state !== null && state !== "upstream_failed" && state !== "scheduled" && state !== "queued";
      const ti: TaskInstanceRecord = {
        id: this.nextId(),
        task_id: t.task_id,
        state,
        // A failed task used up its retries: one try more than it may retry.
        try_number: tried ? (state === "failed" ? t.retries + 1 : 1) : 0,
        max_tries: t.retries,
        start_date: tried ? iso(startedAt + index * 10_000) : null,
        end_date: tried && state !== "running" && state !== "deferred" ? iso(startedAt + index * 10_000 + 8_000) : null,
        hostname: tried ? "airflow-worker-0" : "",
        logs: new Map(),
      };
      for (let attempt = 1; tried && attempt <= ti.try_number; attempt += 1) {
        const at = startedAt + index * 10_000 + (attempt - 1) * 300_000;
        ti.logs.set(
          attempt,
          state === "failed"
            ? failureLog(dagId, t.task_id, at, attempt, ti.try_number)
            : successLog(dagId, t.task_id, at, state),
        );
      }
      record.tis.set(t.task_id, ti);
    });
    this.runs.get(dagId)?.set(record.dag_run_id, record);
    return record;
  }

  /** Starts `order` (task ids) of `run` moving now: each queued, running, then done. */
  simulate(run: RunRecord, order: string[], failTask?: string): void {
    if (this.dags.get(run.dag_id)?.is_paused) return; // a paused DAG's runs stay queued
    run.sim = { startedAt: Date.now(), stepMs: this.stepMs, order, ...(failTask ? { failTask } : {}) };
  }

  /** Brings every simulated run up to date with the clock. */
  advance(now = Date.now()): void {
    for (const runs of this.runs.values()) {
      for (const run of runs.values()) if (run.sim) this.#advanceRun(run, run.sim, now);
    }
  }

  #advanceRun(run: RunRecord, sim: Simulation, now: number): void {
    const elapsed = now - sim.startedAt;
    if (elapsed < sim.stepMs) return;
    if (run.state === "queued") {
      run.state = "running";
      run.start_date = iso(sim.startedAt + sim.stepMs);
    }
    let failed = false;
    sim.order.forEach((taskId, index) => {
      const ti = run.tis.get(taskId);
      if (!ti) return;
      const begins = sim.startedAt + (index + 1) * sim.stepMs;
      const ends = begins + sim.stepMs;
      if (failed) {
        ti.state = "upstream_failed";
        return;
      }
      if (now < begins) {
        ti.state = index === 0 || now >= begins - sim.stepMs ? "scheduled" : null;
        return;
      }
      if (ti.start_date === null || ti.state === null || ti.state === "scheduled") {
        ti.try_number += 1;
        ti.start_date = iso(begins);
        ti.end_date = null;
        ti.hostname = "airflow-worker-0";
      }
      if (now < ends) {
        ti.state = "running";
        return;
      }
      const fails = sim.failTask === taskId;
      ti.state = fails ? "failed" : "success";
      ti.end_date = iso(ends);
      if (!ti.logs.has(ti.try_number)) {
        ti.logs.set(
          ti.try_number,
          fails
            ? failureLog(run.dag_id, taskId, begins, ti.try_number, ti.try_number)
            : successLog(run.dag_id, taskId, begins, "success"),
        );
      }
      failed = fails;
    });
    const finished = now >= sim.startedAt + (sim.order.length + 1) * sim.stepMs;
    if (!failed && !finished) return;
    const anyFailed = [...run.tis.values()].some((ti) => ti.state === "failed" || ti.state === "upstream_failed");
    run.state = anyFailed ? "failed" : "success";
    run.end_date = iso(now);
    delete run.sim;
  }
}

function sampleDags(): DagDef[] {
  return [
    defineDag({
      dag_id: "etl_orders",
      description: "Load the day's orders from the shop database into the warehouse.",
      owners: ["data-eng"],
      tags: ["data-eng", "orders"],
      schedule: "0 2 * * *",
      is_paused: false,
      tasks: [
        task("extract_orders", "SQLExecuteQueryOperator", ["transform_orders"]),
        task("transform_orders", "PythonOperator", ["load_orders"], 1),
        task("load_orders", "SQLExecuteQueryOperator", ["notify"]),
        task("notify", "EmptyOperator"),
      ],
    }),
    defineDag({
      dag_id: "ads_daily_report",
      description: "Build the daily ads spend report; a human approves it before it is published.",
      owners: ["ads"],
      tags: ["ads", "reporting"],
      schedule: "0 6 * * *",
      is_paused: false,
      tasks: [
        task("fetch_spend", "HttpOperator", ["build_report"], 2),
        task("build_report", "PythonOperator", ["approve_report"]),
        task("approve_report", "ApprovalOperator", ["publish"]),
        task("publish", "PythonOperator"),
      ],
    }),
    defineDag({
      dag_id: "ml_features",
      description: "Recompute the ML feature store nightly (paused: waiting for the GPU pool).",
      owners: ["data-eng"],
      tags: ["ml"],
      schedule: "@daily",
      is_paused: true,
      tasks: [
        task("compute_features", "KubernetesPodOperator", ["publish_features"]),
        task("publish_features", "PythonOperator"),
      ],
    }),
    defineDag({
      dag_id: "quick_check",
      description: "A two-task smoke test that finishes in seconds: trigger it to try the tools.",
      owners: ["platform"],
      tags: ["smoke"],
      schedule: "None",
      is_paused: false,
      tasks: [task("ping", "BashOperator", ["verify"]), task("verify", "PythonOperator")],
    }),
  ];
}

function seedRuns(state: AirflowState, now: number): void {
  const day = 86_400_000;
  const midnight = Math.floor(now / day) * day;
  for (let back = 3; back >= 1; back -= 1) {
    const logical = iso(midnight - back * day + 2 * 3_600_000);
    const failed = back === 1;
    const run = state.addRun(
      "etl_orders",
      {
        dag_run_id: `scheduled__${runIdDate(logical)}`,
        run_type: "scheduled",
        logical_date: logical,
        state: failed ? "failed" : "success",
      },
      failed
        ? {
            extract_orders: "success",
            transform_orders: "failed",
            load_orders: "upstream_failed",
            notify: "upstream_failed",
          }
        : { extract_orders: "success", transform_orders: "success", load_orders: "success", notify: "success" },
      Date.parse(logical) + 60_000,
    );
    if (!failed) {
      // A long load log: enough lines that reading it takes several continuation pages.
      const load = run.tis.get("load_orders") as TaskInstanceRecord;
      load.logs.set(1, longLog(Date.parse(logical) + 90_000, 260));
    }
  }
  // Spare failed runs of the same DAG for clearing and deleting (tests and demos).
  for (const id of [
    "manual__spare_clear",
    "manual__spare_clear_run",
    "manual__spare_delete",
    "manual__spare_decline",
  ]) {
    state.addRun(
      "etl_orders",
      { dag_run_id: id, run_type: "manual", logical_date: null, state: "failed" },
      {
        extract_orders: "success",
        transform_orders: "failed",
        load_orders: "upstream_failed",
        notify: "upstream_failed",
      },
      midnight - 10 * day, // older than the scheduled runs: the latest failed run is a scheduled one
    );
  }
  const reportDay = iso(midnight - day + 6 * 3_600_000);
  for (const [suffix, offset, assigned] of [
    ["", 0, []],
    ["_second", 1, []],
    // Assigned to one person: only they may answer it.
    ["_assigned", 2, [{ id: "dana@example.com", name: "dana@example.com" }]],
  ] as const) {
    const run = state.addRun(
      "ads_daily_report",
      {
        dag_run_id: `scheduled__${runIdDate(reportDay)}${suffix}`,
        run_type: "scheduled",
        logical_date: iso(Date.parse(reportDay) + offset * 60_000),
        state: "running",
      },
      { fetch_spend: "success", build_report: "success", approve_report: "deferred" },
      Date.parse(reportDay) + 60_000,
    );
    run.hitl.set("approve_report", {
      task_id: "approve_report",
      options: ["Publish", "Hold"],
      subject: `Publish the ads spend report for ${reportDay.slice(0, 10)}?`,
      body: "Spend is 18% above the 7-day average (search campaigns). Publishing sends it to the ads leads.",
      defaults: ["Hold"],
      multiple: false,
      params: { reason: { value: "", description: "Why (shown in the run's notes)", schema: { type: "string" } } },
      assigned_users: [...assigned],
      created_at: iso(Date.parse(reportDay) + 90_000),
      onAnswer: (chosen) =>
        chosen.includes("Publish")
          ? { approve_report: "success", publish: "success" }
          : { approve_report: "success", publish: "skipped" },
    });
  }
  state.addRun(
    "quick_check",
    { dag_run_id: "manual__first", run_type: "manual", logical_date: null, state: "success" },
    { ping: "success", verify: "success" },
    now - 3_600_000,
  );
}

function entry(at: number, level: string, event: string, logger = "airflow.task"): LogEntry {
  return { timestamp: iso(at), level, event, logger };
}

function successLog(dagId: string, taskId: string, start: number, state: TiState): LogEntry[] {
  return [
    entry(start, "info", `Executing ${taskId} of ${dagId}`, "airflow.task.operators"),
    entry(start + 1_000, "info", "Task finished, processing results"),
    entry(start + 2_000, "info", `Task instance in ${state} state`, "task.stdout"),
  ];
}

function failureLog(dagId: string, taskId: string, start: number, tryNumber: number, lastTry: number): LogEntry[] {
  return [
    entry(start, "info", `Executing ${taskId} of ${dagId}, try ${tryNumber}`, "airflow.task.operators"),
    entry(start + 1_000, "info", "Reading 48211 orders from staging.orders_raw"),
    entry(start + 2_000, "warning", "Column 'discount' has 312 nulls; filling with 0"),
    entry(start + 3_000, "error", "Task failed with exception"),
    entry(start + 3_001, "error", "Traceback (most recent call last):"),
    entry(start + 3_002, "error", '  File "/opt/airflow/dags/etl_orders.py", line 41, in transform'),
    entry(start + 3_003, "error", "KeyError: 'currency'"),
    entry(start + 4_000, "info", `Marking task as ${tryNumber < lastTry ? "UP_FOR_RETRY" : "FAILED"}`),
  ];
}

function longLog(start: number, lines: number): LogEntry[] {
  return Array.from({ length: lines }, (_, i) =>
    i === lines - 1
      ? entry(start + i * 100, "info", "Loaded 48211 rows into warehouse.orders")
      : entry(start + i * 100, i % 50 === 49 ? "warning" : "info", `Loaded batch ${i + 1} (200 rows)`),
  );
}
