/**
 * The local Airflow's request bodies and responses in the Airflow 3 REST API v2 shapes: strict
 * bodies (`StrictBaseModel`, extra="forbid": unknown fields → 422 with FastAPI's `detail` list),
 * and the response models of core_api/datamodels (dags, dag_run, task_instances, hitl).
 */
import { z } from "zod";
import type { DagDef, HitlRecord, RunRecord, TaskInstanceRecord } from "./airflow.upstream.data";

/** FastAPI's 422: `{"detail": [{type, loc, msg, input}]}` (pydantic's error list). */
export function validationDetail(error: z.ZodError, body: unknown): Record<string, unknown>[] {
  return error.issues.flatMap((issue) => {
    if (issue.code === "unrecognized_keys") {
      return issue.keys.map((key) => ({
        type: "extra_forbidden",
        loc: ["body", ...issue.path.map(String), key],
        msg: "Extra inputs are not permitted",
        input: (body as Record<string, unknown>)?.[key],
      }));
    }
    const missing = issue.code === "invalid_type" && issue.input === undefined;
    return [
      {
        type: missing ? "missing" : issue.code,
        loc: ["body", ...issue.path.map(String)],
        msg: missing ? "Field required" : issue.message,
        input: missing ? body : issue.input,
      },
    ];
  });
}

const isoDate = z.iso.datetime({ offset: true });

/** TriggerDAGRunPostBody: `logical_date` is a required key (it may be null). */
export const TriggerBody = z
  .strictObject({
    dag_run_id: z.string().min(1).nullable().optional(),
    data_interval_start: isoDate.nullable().optional(),
    data_interval_end: isoDate.nullable().optional(),
    logical_date: isoDate.nullable(),
    run_after: isoDate.nullable().optional(),
    conf: z.record(z.string(), z.unknown()).nullable().optional(),
    note: z.string().nullable().optional(),
  })
  .refine((body) => (body.data_interval_start == null) === (body.data_interval_end == null), {
    message: "Value error, Either both data_interval_start and data_interval_end must be provided or both must be None",
  });

/** ClearTaskInstancesBody: a dry run unless told otherwise, and only failed ones by default. */
export const ClearTaskInstancesBody = z
  .strictObject({
    dry_run: z.boolean().default(true),
    start_date: isoDate.nullable().optional(),
    end_date: isoDate.nullable().optional(),
    only_failed: z.boolean().default(true),
    only_running: z.boolean().default(false),
    reset_dag_runs: z.boolean().default(true),
    task_ids: z
      .array(z.union([z.string(), z.tuple([z.string(), z.number().int()])]))
      .min(1)
      .nullable()
      .optional(),
    dag_run_id: z.string().nullable().optional(),
    include_upstream: z.boolean().default(false),
    include_downstream: z.boolean().default(false),
    include_future: z.boolean().default(false),
    include_past: z.boolean().default(false),
    run_on_latest_version: z.boolean().default(false),
  })
  .refine((body) => !(body.only_failed && body.only_running), {
    message: "Value error, only_failed and only_running both are set to True",
  })
  .refine((body) => !(body.dag_run_id && (body.start_date || body.end_date)), {
    message: "Value error, Either dag_run_id or start_date/end_date must be provided, not both",
  });

/** DAGRunClearBody. */
export const ClearRunBody = z.strictObject({
  dry_run: z.boolean().default(true),
  only_failed: z.boolean().default(false),
  run_on_latest_version: z.boolean().default(false),
});

/** DAGPatchBody. */
export const PatchDagBody = z.strictObject({ is_paused: z.boolean() });

/** UpdateHITLDetailPayload. */
export const HitlAnswerBody = z.strictObject({
  chosen_options: z.array(z.string()).min(1),
  params_input: z.record(z.string(), z.unknown()).default({}),
});

/** The simple auth manager's login body (JSON or form). */
export const LoginBody = z.strictObject({ username: z.string().min(1), password: z.string().min(1) });

export function dagResponse(dag: DagDef): Record<string, unknown> {
  return {
    dag_id: dag.dag_id,
    dag_display_name: dag.dag_id,
    is_paused: dag.is_paused,
    is_stale: false,
    last_parsed_time: new Date(Date.now() - 60_000).toISOString(),
    last_parse_duration: 0.42,
    last_expired: null,
    bundle_name: "dags-folder",
    bundle_version: null,
    relative_fileloc: `${dag.dag_id}.py`,
    fileloc: dag.fileloc,
    description: dag.description,
    timetable_summary: dag.schedule,
    timetable_description: dag.schedule === "None" ? "Never, external triggers only" : `Cron ${dag.schedule}`,
    tags: dag.tags.map((name) => ({ name, dag_id: dag.dag_id })),
    max_active_tasks: 16,
    max_active_runs: 16,
    max_consecutive_failed_dag_runs: 0,
    has_task_concurrency_limits: false,
    has_import_errors: false,
    next_dagrun_logical_date: null,
    next_dagrun_data_interval_start: null,
    next_dagrun_data_interval_end: null,
    next_dagrun_run_after: null,
    owners: dag.owners,
    file_token: Buffer.from(dag.fileloc).toString("base64url"),
  };
}

export function dagRunResponse(run: RunRecord): Record<string, unknown> {
  const duration =
    run.start_date && run.end_date ? (Date.parse(run.end_date) - Date.parse(run.start_date)) / 1000 : null;
  return {
    dag_run_id: run.dag_run_id,
    dag_id: run.dag_id,
    logical_date: run.logical_date,
    queued_at: run.queued_at,
    start_date: run.start_date,
    end_date: run.end_date,
    duration,
    data_interval_start: run.logical_date,
    data_interval_end: run.logical_date,
    run_after: run.run_after,
    last_scheduling_decision: run.end_date ?? run.start_date,
    run_type: run.run_type,
    state: run.state,
    triggered_by: run.triggered_by,
    triggering_user_name: run.triggering_user_name,
    conf: run.conf,
    note: run.note,
    dag_versions: [],
    bundle_version: null,
    dag_display_name: run.dag_id,
  };
}

export function taskInstanceResponse(run: RunRecord, ti: TaskInstanceRecord, dag: DagDef): Record<string, unknown> {
  const operator = dag.tasks.find((t) => t.task_id === ti.task_id)?.operator ?? null;
  const duration = ti.start_date && ti.end_date ? (Date.parse(ti.end_date) - Date.parse(ti.start_date)) / 1000 : null;
  return {
    id: ti.id,
    task_id: ti.task_id,
    dag_id: run.dag_id,
    dag_run_id: run.dag_run_id,
    map_index: -1,
    logical_date: run.logical_date,
    run_after: run.run_after,
    start_date: ti.start_date,
    end_date: ti.end_date,
    duration,
    state: ti.state,
    try_number: ti.try_number,
    max_tries: ti.max_tries,
    task_display_name: ti.task_id,
    dag_display_name: run.dag_id,
    hostname: ti.hostname,
    unixname: "airflow",
    pool: "default_pool",
    pool_slots: 1,
    queue: "default",
    priority_weight: 1,
    operator,
    operator_name: operator,
    queued_when: ti.start_date,
    scheduled_when: ti.start_date,
    pid: ti.start_date ? 4242 : null,
    executor: null,
    executor_config: "{}",
    note: null,
    rendered_map_index: null,
    rendered_fields: {},
    trigger: null,
    triggerer_job: null,
    dag_version: null,
  };
}

export function hitlResponse(run: RunRecord, hitl: HitlRecord, dag: DagDef): Record<string, unknown> {
  const ti = run.tis.get(hitl.task_id) as TaskInstanceRecord;
  return {
    task_instance: taskInstanceResponse(run, ti, dag),
    options: hitl.options,
    subject: hitl.subject,
    body: hitl.body,
    defaults: hitl.defaults,
    multiple: hitl.multiple,
    params: hitl.params,
    assigned_users: hitl.assigned_users ?? [],
    created_at: hitl.created_at,
    responded_by_user: hitl.response?.responded_by ?? null,
    responded_at: hitl.response?.responded_at ?? null,
    chosen_options: hitl.response?.chosen_options ?? null,
    params_input: hitl.response?.params_input ?? {},
    response_received: hitl.response !== undefined,
  };
}
