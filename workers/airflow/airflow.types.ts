/**
 * The Airflow 3 REST API v2 shapes the server reads (the fields it uses; Airflow sends more).
 * Source: apache/airflow airflow-core/src/airflow/api_fastapi/core_api/datamodels/*.py.
 */

export type Collection<Key extends string, Item> = { [K in Key]: Item[] } & { total_entries: number };

export interface Health {
  metadatabase: { status: string };
  scheduler: { status: string | null; latest_scheduler_heartbeat?: string | null };
  triggerer?: { status: string | null; latest_triggerer_heartbeat?: string | null };
  dag_processor?: { status: string | null; latest_dag_processor_heartbeat?: string | null } | null;
}

export interface Dag {
  dag_id: string;
  dag_display_name?: string;
  is_paused: boolean;
  is_stale?: boolean;
  /** Older 3.0 builds: is_active instead of is_stale. */
  is_active?: boolean;
  description: string | null;
  timetable_summary: string | null;
  tags: { name: string }[];
  owners: string[];
  fileloc: string;
  last_parsed_time: string | null;
  has_import_errors: boolean;
  next_dagrun_run_after?: string | null;
  max_active_runs?: number | null;
}

export interface Task {
  task_id: string;
  operator_name: string | null;
  downstream_task_ids: string[];
  retries: number | null;
  trigger_rule?: string | null;
}

export interface DagSource {
  content: string | null;
  dag_id: string;
  version_number?: number | null;
}

export type RunState = "queued" | "running" | "success" | "failed";

export interface DagRun {
  dag_run_id: string;
  dag_id: string;
  logical_date: string | null;
  queued_at: string | null;
  start_date: string | null;
  end_date: string | null;
  run_after: string;
  run_type: string;
  state: RunState;
  triggered_by?: string | null;
  triggering_user_name?: string | null;
  conf: Record<string, unknown> | null;
  note: string | null;
}

export interface TaskInstance {
  id: string;
  task_id: string;
  dag_id: string;
  dag_run_id: string;
  map_index: number;
  start_date: string | null;
  end_date: string | null;
  duration: number | null;
  state: string | null;
  try_number: number;
  max_tries: number;
  operator: string | null;
  hostname: string | null;
}

/** A log page: structured entries (`{timestamp, event, level, …}`) or raw lines. */
export interface LogPage {
  content: (Record<string, unknown> | string)[];
  continuation_token: string | null;
}

export interface ImportError {
  import_error_id: number;
  timestamp: string;
  filename: string;
  bundle_name?: string | null;
  stack_trace: string;
}

export interface DagWarning {
  dag_id: string;
  warning_type: string;
  message: string;
  timestamp: string;
}

export interface HitlDetail {
  task_instance: TaskInstance;
  options: string[];
  subject: string;
  body: string | null;
  defaults: string[] | null;
  multiple: boolean;
  params: Record<string, unknown>;
  assigned_users?: { id: string; name: string }[];
  created_at: string;
  responded_by_user?: { id: string; name: string } | null;
  responded_at: string | null;
  chosen_options: string[] | null;
  params_input: Record<string, unknown>;
  response_received: boolean;
}

export interface HitlAnswer {
  responded_by: { id: string; name: string };
  responded_at: string;
  chosen_options: string[];
  params_input: Record<string, unknown>;
}

export interface TriggerBody {
  dag_run_id?: string;
  /** A required key in Airflow 3 (null: no logical date). */
  logical_date: string | null;
  conf: Record<string, unknown>;
  note?: string;
}

export interface ClearBody {
  dry_run: boolean;
  dag_run_id: string;
  task_ids?: string[];
  only_failed: boolean;
  include_downstream: boolean;
  include_upstream: boolean;
  reset_dag_runs: boolean;
}
