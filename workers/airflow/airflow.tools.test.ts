/** The Airflow read tools against the local Airflow API, through the Worker's real MCP endpoint. */
import { describe, expect, inject, it } from "vitest";
import { connect, textOf } from "../../test/workers/mcp-client";

const upstream = inject("upstreamUrl");
const ALICE = "alice; groups=data-eng,ads; scopes=airflow:read";
const BOT = "service:etl-bot; scopes=airflow:read";
const BOB = "bob; groups=finance; scopes=airflow:read";

type Result = { isError?: boolean; structuredContent?: Record<string, unknown>; _meta?: Record<string, unknown> };

/** A result's structured content (empty when it has none). */
const sc = (result: Result): Record<string, unknown> => result.structuredContent ?? {};

async function call(name: string, args: Record<string, unknown>, user = ALICE) {
  const { client } = await connect({ user });
  return (await client.callTool({ name, arguments: args })) as Result;
}

async function latestRun(dagId: string, state: string): Promise<string> {
  const runs = await call("airflow_list_runs", { dag_id: dagId, states: [state], limit: 1 });
  return ((sc(runs).runs as { runId: string }[])[0] as { runId: string }).runId;
}

describe("airflow read tools", () => {
  it("lists at most 14 tools, each annotated, the writes behind approval", async () => {
    const { client } = await connect({ user: "alice; groups=data-eng,ads; scopes=airflow:read airflow:write" });
    const { tools } = await client.listTools();
    expect(tools.length).toBeLessThanOrEqual(14);
    for (const tool of tools) {
      expect(tool.annotations, tool.name).toBeDefined();
      const reads = tool.annotations?.readOnlyHint === true;
      expect(reads || typeof tool.annotations?.destructiveHint === "boolean", tool.name).toBe(true);
      expect(reads || tool._meta?.["fleet/needsApproval"] === true, `${tool.name} needs approval`).toBe(true);
    }
  });

  it("lists DAGs with filters and pages", async () => {
    const all = await call("airflow_list_dags", {});
    expect(textOf(all).split("\n")[0]).toBe("dag_id\tstate\tschedule\towners\ttags\tproblems");
    expect(sc(all).total).toBe(4);
    const paused = await call("airflow_list_dags", { paused: true });
    expect((sc(paused).dags as { dagId: string }[]).map((d) => d.dagId)).toEqual(["ml_features"]);
    const page = await call("airflow_list_dags", { limit: 1 });
    expect(textOf(page)).toContain("… 3 more (offset 1)");
    const tagged = await call("airflow_list_dags", { tags: ["ads"] });
    expect((sc(tagged).dags as { dagId: string }[]).map((d) => d.dagId)).toEqual(["ads_daily_report"]);
  });

  it("explores a DAG: metadata, tasks, recent runs, warnings, source", async () => {
    const result = await call("airflow_explore_dag", { dag_id: "ml_features", source_chars: 200 });
    const text = textOf(result);
    expect(text).toMatch(/^DAG ml_features \(PAUSED\)/);
    expect(text).toContain(
      "warning (non-existent pool): Dag 'ml_features' references non-existent pools: ['gpu_pool']",
    );
    expect(text).toContain("compute_features\tKubernetesPodOperator\t0\tpublish_features");
    expect(text).toContain("from airflow.sdk import dag, task");
    const orders = await call("airflow_explore_dag", { dag_id: "etl_orders", runs: 3, source_chars: 0 });
    expect((sc(orders).recentRuns as unknown[]).length).toBe(3);
    expect(textOf(orders)).not.toContain("Source (");
    const missing = await call("airflow_explore_dag", { dag_id: "no_such_dag" });
    expect(missing.isError).toBe(true);
    expect(textOf(missing)).toContain("Airflow refused the request (HTTP 404): Dag with id no_such_dag was not found");
  });

  it("diagnoses the latest failed run: failed task, first error, log tail, retries left, upstream_failed", async () => {
    const result = await call("airflow_diagnose_run", { dag_id: "etl_orders", log_lines: 5 });
    const text = textOf(result);
    expect(text).toMatch(/^Run scheduled__\S+ of etl_orders: failed/);
    expect(text).toContain("FAILED transform_orders: try 2, 0 retries left");
    expect(text).toContain("first error: ");
    expect(text).toMatch(/first error: \S+ ERROR Task failed with exception/);
    expect(text).toContain("KeyError: 'currency'");
    expect(text).toContain("load_orders ← transform_orders");
    expect(text).toContain("notify ← transform_orders");
    const failed = sc(result).failed as { taskId: string; logTail: string[]; retriesLeft: number }[];
    expect(failed[0]?.logTail).toHaveLength(5);
    expect(failed[0]?.logTail.at(-1)).toContain("Marking task as FAILED");
    // ml_features never fails here (the write tests make quick_check fail on purpose).
    const none = await call("airflow_diagnose_run", { dag_id: "ml_features" });
    expect(textOf(none)).toContain('Invalid argument "run_id": DAG ml_features has no failed run');
  });

  it("reports system health: components, the import error, the DAG warning, failed runs", async () => {
    const result = await call("airflow_system_health", {});
    const text = textOf(result);
    expect(text).toMatch(/^All components healthy\./);
    expect(text).toContain("scheduler: healthy (heartbeat");
    expect(text).toContain("Import errors: 1");
    expect(text).toContain("broken_dag.py");
    expect(text).toContain("ModuleNotFoundError: No module named 'airflow.providers.snowflake'");
    expect(text).toContain("ml_features (non-existent pool)");
    expect(sc(result).healthy).toBe(true);
  });

  it("lists runs and task instances with retries left", async () => {
    const runId = await latestRun("etl_orders", "failed");
    const tis = await call("airflow_list_task_instances", { dag_id: "etl_orders", run_id: runId, states: ["failed"] });
    expect(sc(tis).taskInstances).toEqual([
      { taskId: "transform_orders", mapIndex: -1, state: "failed", tryNumber: 2, retriesLeft: 0, duration: 8 },
    ]);
    const all = await call("airflow_list_runs", {});
    expect(textOf(all).split("\n")[0]).toBe("dag_id\trun_id\tstate\ttype\trun_after\tstarted\tduration");
  });

  it("reads a log's tail, filtered by level or text, capped in bytes, and continues from a token", async () => {
    const runId = await latestRun("etl_orders", "success");
    const base = { dag_id: "etl_orders", run_id: runId, task_id: "load_orders" };
    const tail = await call("airflow_task_logs", { ...base, tail_lines: 3 });
    const lines = sc(tail).lines as string[];
    expect(lines).toHaveLength(3);
    expect(lines.at(-1)).toContain("Loaded 48211 rows into warehouse.orders");
    expect(sc(tail).scanned).toBe(260); // every page read, the group markers dropped
    expect(textOf(tail)).toContain("257 more matching lines left out");
    expect(textOf(tail)).toContain("end of log");

    const warnings = await call("airflow_task_logs", { ...base, level: "warning" });
    expect((sc(warnings).lines as string[]).length).toBe(5);
    expect((sc(warnings).lines as string[]).every((line) => line.includes(" WARNING "))).toBe(true);
    const batch = await call("airflow_task_logs", { ...base, contains: "batch 77 " });
    expect(sc(batch).lines).toHaveLength(1);

    const capped = await call("airflow_task_logs", { ...base, max_bytes: 300 });
    const cappedLines = sc(capped).lines as string[];
    expect(new TextEncoder().encode(cappedLines.join("\n")).length).toBeLessThanOrEqual(300);
    expect(cappedLines.length).toBeGreaterThan(0);
  });

  it("follows continuation tokens a page at a time", async () => {
    const runId = await latestRun("etl_orders", "success");
    // A token from the API itself: the first page of the log.
    const jwt = (await (
      await fetch(`${upstream}/auth/token`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ username: "mcp-fleet", password: "local-airflow-password" }),
      })
    ).json()) as { access_token: string };
    const first = (await (
      await fetch(
        `${upstream}/api/v2/dags/etl_orders/dagRuns/${encodeURIComponent(runId)}/taskInstances/load_orders/logs/1`,
        { headers: { authorization: `Bearer ${jwt.access_token}` } },
      )
    ).json()) as { continuation_token: string };
    const base = { dag_id: "etl_orders", run_id: runId, task_id: "load_orders" };
    const next = await call("airflow_task_logs", {
      ...base,
      continuation_token: first.continuation_token,
      tail_lines: 100,
    });
    const lines = sc(next).lines as string[];
    expect(lines).toHaveLength(100);
    expect(lines[0]).toContain("Loaded batch 99 (200 rows)");
    const after = await call("airflow_task_logs", {
      ...base,
      continuation_token: sc(next).continuationToken as string,
      tail_lines: 100,
    });
    expect((sc(after).lines as string[])[0]).toContain("Loaded batch 199 (200 rows)");
    const forged = await call("airflow_task_logs", { ...base, continuation_token: "eyJ4IjoxfQ.forged" });
    expect(textOf(forged)).toContain("Bad Signature. Please use only the tokens provided by the API.");
  });

  it("lists the pending human-in-the-loop questions", async () => {
    const result = await call("airflow_list_hitl", { dag_id: "ads_daily_report" });
    const text = textOf(result);
    expect(text).toContain("Publish the ads spend report for");
    expect(text).toContain("options: Publish | Hold; default Hold; fields: reason");
    const bad = await call("airflow_list_hitl", { run_id: "x" });
    expect(textOf(bad)).toContain('Invalid argument "run_id": name the run\'s dag_id too');
  });

  it("lets services read; refuses users outside its groups and bad arguments", async () => {
    expect((await call("airflow_list_dags", {}, BOT)).isError).toBeFalsy();
    await expect(connect({ user: BOB })).rejects.toThrow(
      /Forbidden: user bob is in none of the groups allowed to use the airflow server \(data-eng, ads\)/,
    );
    const bad = await call("airflow_list_dags", { limit: 0, colour: 1 });
    expect(textOf(bad)).toMatch(/unexpected argument "colour"|"limit"/);
    const badId = await call("airflow_explore_dag", { dag_id: "../admin" });
    expect(textOf(badId)).toContain('"dag_id": a DAG id has letters, digits, _ . - only');
  });
});
