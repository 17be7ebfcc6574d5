/**
 * Fills a local D1 database file (the SQLite file miniflare keeps for the registry's D1) with a
 * realistic history, through the production statements (the invocation batch with its rollups,
 * the rating with its rollup): 844 people in business groups of Zipf-like sizes, servers with
 * tools of skewed popularity, heavy and light users, weekday seasonality and adoption growth,
 * upstream errors, denials, approvals (granted, declined, timed out) and feedback on ~3 % of
 * calls. Deterministic (seeded). Bundled by bench/analytics/analytics.bench.ts with esbuild,
 * run on Node 22 (node:sqlite).
 */
import { DatabaseSync } from "node:sqlite";
import { FEEDBACK_INSERT, FEEDBACK_ROLLUP } from "../../registry/analytics/analytics.feedback";
import {
  INVOCATION_STATEMENTS,
  type InvocationRecord,
  invocationsJson,
  rollupsOfTable,
} from "../../shared/db/invocations.store";

export interface GenerateOptions {
  file: string;
  invocations: number;
  /** Last day of the history (UTC, exclusive) and how many months it spans. */
  end: number;
  months: number;
  seed?: number;
  /**
   * Load raw rows with a plain INSERT and roll them all up at the end with the same definitions
   * (rollupsOfTable), instead of the production batch per 4 000 rows: the same tables, several
   * times faster (10 M rows in minutes on a shared 2-core machine).
   */
  bulk?: boolean;
}

const USERS = 844;
const GROUPS = [
  "data-eng",
  "ads",
  "finance",
  "growth",
  "ml-platform",
  "search",
  "trust-safety",
  "infra",
  "sales-eng",
  "product-analytics",
  "mobile",
  "legal",
];

interface ToolSpec {
  server: string;
  tool: string;
  minutes: number;
  medianMs: number;
  errorRate: number;
  approval?: boolean;
}

const TOOLS: ToolSpec[] = [
  { server: "presto", tool: "presto_run_query", minutes: 10, medianMs: 1200, errorRate: 0.06 },
  { server: "presto", tool: "presto_describe_table", minutes: 3, medianMs: 250, errorRate: 0.02 },
  { server: "presto", tool: "presto_list_tables", minutes: 2, medianMs: 180, errorRate: 0.01 },
  { server: "presto", tool: "presto_query_status", minutes: 1, medianMs: 90, errorRate: 0.01 },
  { server: "presto", tool: "presto_kill_query", minutes: 2, medianMs: 300, errorRate: 0.03, approval: true },
  { server: "spark", tool: "spark_job_status", minutes: 4, medianMs: 200, errorRate: 0.03 },
  { server: "spark", tool: "spark_job_logs", minutes: 8, medianMs: 900, errorRate: 0.05 },
  { server: "spark", tool: "spark_diagnose_failure", minutes: 20, medianMs: 3500, errorRate: 0.08 },
  { server: "spark", tool: "spark_submit_job", minutes: 5, medianMs: 1500, errorRate: 0.07, approval: true },
  { server: "airflow", tool: "airflow_dag_status", minutes: 3, medianMs: 150, errorRate: 0.02 },
  { server: "airflow", tool: "airflow_task_logs", minutes: 6, medianMs: 700, errorRate: 0.04 },
  { server: "airflow", tool: "airflow_trigger_dag", minutes: 4, medianMs: 400, errorRate: 0.05, approval: true },
  { server: "airflow", tool: "airflow_clear_task", minutes: 5, medianMs: 350, errorRate: 0.04, approval: true },
  { server: "registry", tool: "registry_search_servers", minutes: 3, medianMs: 40, errorRate: 0.005 },
  { server: "registry", tool: "registry_get_server", minutes: 5, medianMs: 35, errorRate: 0.005 },
  { server: "registry", tool: "registry_check_access", minutes: 1, medianMs: 30, errorRate: 0.005 },
  { server: "echo", tool: "echo_say", minutes: 0.5, medianMs: 10, errorRate: 0.001 },
];
const TEAMS: Record<string, string> = {
  presto: "data-eng",
  spark: "data-eng",
  airflow: "infra",
  registry: "platform",
  echo: "platform",
};

/** mulberry32: a small seeded generator, so two runs make the same history. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Cumulative weights of a Zipf distribution over n items (exponent s). */
function zipf(n: number, s: number): Float64Array {
  const cumulative = new Float64Array(n);
  let sum = 0;
  for (let i = 0; i < n; i++) {
    sum += 1 / (i + 1) ** s;
    cumulative[i] = sum;
  }
  for (let i = 0; i < n; i++) cumulative[i] = (cumulative[i] as number) / sum;
  return cumulative;
}

function pick(cumulative: Float64Array, u: number): number {
  let lo = 0;
  let hi = cumulative.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if ((cumulative[mid] as number) < u) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

export function generate(options: GenerateOptions): { invocations: number; feedback: number; seconds: number } {
  const started = Date.now();
  const rand = random(options.seed ?? 42);
  const normal = () => Math.sqrt(-2 * Math.log(rand() || 1e-12)) * Math.cos(2 * Math.PI * rand());
  const db = new DatabaseSync(options.file);
  db.exec("PRAGMA journal_mode = WAL; PRAGMA synchronous = OFF; PRAGMA cache_size = -1000000;");
  insertServers(db, options.end);

  const groupOf = zipf(GROUPS.length, 0.8);
  const users = Array.from({ length: USERS }, (_, i) => ({
    id: `user:person${String(i).padStart(3, "0")}@example.com`,
    group: GROUPS[pick(groupOf, rand())] as string,
  }));
  const userWeights = zipf(USERS, 0.9);
  const toolWeights = zipf(TOOLS.length, 1.1);

  // Days of the history, weighted by weekday (weekends ~15 %) and adoption growth (x3 over the span).
  const dayMs = 86_400_000;
  const startDay = Date.UTC(
    new Date(options.end).getUTCFullYear(),
    new Date(options.end).getUTCMonth() - options.months,
    1,
  );
  const days: number[] = [];
  for (let at = startDay; at < options.end; at += dayMs) days.push(at);
  const dayWeights = new Float64Array(days.length);
  let total = 0;
  days.forEach((at, i) => {
    const weekday = new Date(at).getUTCDay();
    total += (weekday === 0 || weekday === 6 ? 0.15 : 1) * (1 + (2 * i) / days.length);
    dayWeights[i] = total;
  });
  for (let i = 0; i < days.length; i++) dayWeights[i] = (dayWeights[i] as number) / total;

  const statements = INVOCATION_STATEMENTS.map((sql) => db.prepare(sql));
  const feedbackRollup = db.prepare(FEEDBACK_ROLLUP);
  const feedbackInsert = db.prepare(FEEDBACK_INSERT);
  const BATCH = 4_000;
  let feedback = 0;
  let seq = 0;
  const rawInsert = db.prepare(
    `INSERT INTO invocations (id, server_name, tool_name, session_id, caller_kind, caller_id, started_at, duration_ms,
      outcome, error_class, minutes_saved, args_digest, caller_group, approval) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  const write = (batch: InvocationRecord[]) => {
    db.exec("BEGIN");
    if (options.bulk) {
      for (const r of batch) {
        rawInsert.run(
          r.id,
          r.serverName,
          r.toolName,
          r.sessionId,
          r.callerKind,
          r.callerId,
          r.startedAt,
          r.durationMs,
          r.outcome,
          r.errorClass,
          r.minutesSaved,
          r.argsDigest,
          r.callerGroup,
          r.approval,
        );
      }
    } else {
      const json = invocationsJson(batch);
      for (const statement of statements) statement.run(json);
    }
    for (const record of batch) {
      if (record.outcome !== "ok" || rand() >= 0.03) continue;
      const helped = rand() < 0.8;
      const minutes =
        helped && rand() < 0.5 ? Math.round(record.minutesSaved * Math.exp(0.5 * normal()) * 10) / 10 : null;
      const day = new Date(record.startedAt).toISOString().slice(0, 10);
      feedbackRollup.run(record.id, day, record.serverName, record.toolName, helped ? 1 : 0, minutes);
      feedbackInsert.run(
        record.id,
        record.serverName,
        record.toolName,
        record.callerId,
        day,
        helped ? 1 : 0,
        minutes,
        record.startedAt + 60_000,
      );
      feedback += 1;
    }
    db.exec("COMMIT");
  };
  // Calls arrive in time order, as the sessions' outboxes deliver them: day after day.
  let pending: InvocationRecord[] = [];
  let assigned = 0;
  days.forEach((day, d) => {
    const upTo =
      d === days.length - 1 ? options.invocations : Math.round(options.invocations * (dayWeights[d] as number));
    const today: InvocationRecord[] = [];
    for (; assigned < upTo; assigned++) today.push(invocation(day));
    today.sort((a, b) => a.startedAt - b.startedAt);
    for (const record of today) {
      pending.push(record);
      if (pending.length === BATCH) {
        write(pending);
        pending = [];
      }
    }
  });
  if (pending.length > 0) write(pending);
  if (options.bulk) for (const statement of rollupsOfTable()) db.exec(statement);

  function invocation(day: number): InvocationRecord {
    // Working hours, 08:00–20:00 UTC mostly.
    const startedAt = day + Math.floor((8 + rand() * 11) * 3_600_000 + rand() * 3_600_000);
    const user = users[pick(userWeights, rand())] as (typeof users)[number];
    const spec = TOOLS[pick(toolWeights, rand())] as ToolSpec;
    const durationMs = Math.max(1, Math.round(spec.medianMs * Math.exp(0.8 * normal())));
    let outcome: "ok" | "error" = "ok";
    let errorClass: string | null = null;
    let approval: InvocationRecord["approval"] = null;
    if (rand() < 0.01) {
      outcome = "error";
      errorClass = "denied";
    } else if (spec.approval) {
      const a = rand();
      approval = a < 0.85 ? "approved" : a < 0.95 ? "declined" : "timed_out";
      if (approval !== "approved") {
        outcome = "error";
        errorClass = "not_approved";
      }
    }
    if (outcome === "ok" && rand() < spec.errorRate) {
      outcome = "error";
      errorClass = rand() < 0.6 ? "upstream_rejected" : "upstream_unavailable";
    }
    seq += 1;
    return {
      id: `00000000-0000-7000-8000-${seq.toString(16).padStart(12, "0")}`,
      serverName: spec.server,
      toolName: spec.tool,
      sessionId: `session-${Math.floor(seq / 40)}`,
      callerKind: "user",
      callerId: user.id,
      startedAt,
      durationMs,
      outcome,
      errorClass,
      minutesSaved: outcome === "ok" ? spec.minutes : 0,
      argsDigest: "0".repeat(64),
      callerGroup: user.group,
      approval,
    };
  }
  db.exec("PRAGMA wal_checkpoint(TRUNCATE)");
  db.close();
  return { invocations: options.invocations, feedback, seconds: (Date.now() - started) / 1000 };
}

function insertServers(db: DatabaseSync, now: number): void {
  const insert = db.prepare(
    `INSERT OR IGNORE INTO servers (name, team, support_channel, on_call, lifecycle, lifecycle_changed_at, environments,
      allowed_groups, allowed_services, latest_version, created_at, updated_at)
      VALUES (?, ?, '#help', 'oncall', 'approved', ?, '["production"]', '[]', 'true', '1.0.0', ?, ?)`,
  );
  for (const [name, team] of Object.entries(TEAMS)) insert.run(name, team, now, now, now);
}

/** The heaviest user of the generated history (for the "recent calls" query). */
export const HEAVY_USER = "user:person000@example.com";
