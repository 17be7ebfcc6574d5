/**
 * The local Airflow speaks the Airflow 3 REST API v2 as the real one does, where the server
 * relies on it: /auth/token, JWT expiry, strict bodies, the trigger's required logical_date,
 * clear defaults, paged logs with signed continuation tokens.
 */
import { describe, expect, inject, it } from "vitest";

const upstream = inject("upstreamUrl");
const CREDENTIALS = { username: "mcp-fleet", password: "local-airflow-password" };

async function token(): Promise<string> {
  const response = await fetch(`${upstream}/auth/token`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(CREDENTIALS),
  });
  expect(response.status).toBe(201);
  return ((await response.json()) as { access_token: string }).access_token;
}

async function api(path: string, init: RequestInit & { jwt?: string } = {}) {
  const response = await fetch(`${upstream}/api/v2${path}`, {
    ...init,
    headers: { "content-type": "application/json", authorization: `Bearer ${init.jwt ?? (await token())}` },
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

describe("the local Airflow API", () => {
  it("issues JWTs at POST /auth/token with 201 (JSON or form), refusing bad credentials", async () => {
    const jwt = await token();
    expect(jwt.split(".")).toHaveLength(3);
    const form = await fetch(`${upstream}/auth/token`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams(CREDENTIALS),
    });
    expect(form.status).toBe(201);
    const wrong = await fetch(`${upstream}/auth/token`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ ...CREDENTIALS, password: "nope" }),
    });
    expect(wrong.status).toBe(401);
    expect(await wrong.json()).toEqual({ detail: "Invalid credentials" });
  });

  it("answers 401 without a token, and after the token's exp", async () => {
    const anonymous = await fetch(`${upstream}/api/v2/dags`);
    expect(anonymous.status).toBe(401);
    // exp is in whole seconds (iat + 3, iat rounded down): valid for at least 2 s however loaded the machine.
    await fetch(`${upstream}/_local/token-ttl`, { method: "POST", body: JSON.stringify({ seconds: 3 }) });
    let shortLived: string;
    try {
      shortLived = await token();
    } finally {
      await fetch(`${upstream}/_local/token-ttl`, { method: "POST", body: JSON.stringify({ seconds: 1800 }) });
    }
    expect((await api("/dags", { jwt: shortLived })).status).toBe(200);
    const { exp } = JSON.parse(atob((shortLived.split(".")[1] ?? "").replace(/-/g, "+").replace(/_/g, "/"))) as {
      exp: number;
    };
    // Expired from the first millisecond of second `exp` on.
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, exp * 1000 - Date.now()) + 50));
    const expired = await api("/dags", { jwt: shortLived });
    expect(expired).toEqual({ status: 401, body: { detail: "Invalid JWT token" } });
  });

  it("refuses unknown body fields with 422 and FastAPI's detail, and a trigger without logical_date", async () => {
    const extra = await api("/dags/quick_check/dagRuns", {
      method: "POST",
      body: JSON.stringify({ logical_date: null, colour: "red" }),
    });
    expect(extra.status).toBe(422);
    expect(extra.body.detail).toEqual([
      { type: "extra_forbidden", loc: ["body", "colour"], msg: "Extra inputs are not permitted", input: "red" },
    ]);
    const missing = await api("/dags/quick_check/dagRuns", { method: "POST", body: JSON.stringify({ conf: {} }) });
    expect(missing.status).toBe(422);
    expect(missing.body.detail).toMatchObject([
      { type: "missing", loc: ["body", "logical_date"], msg: "Field required" },
    ]);
    const pause = await api("/dags/quick_check", { method: "PATCH", body: JSON.stringify({ is_paused: true, x: 1 }) });
    expect(pause.status).toBe(422);
  });

  it("clears as a dry run of only failed task instances unless told otherwise", async () => {
    const dry = await api("/dags/etl_orders/clearTaskInstances", {
      method: "POST",
      body: JSON.stringify({ dag_run_id: "manual__spare_clear" }),
    });
    expect(dry.status).toBe(200);
    const states = (dry.body.task_instances as { task_id: string; state: string }[]).map((ti) => [
      ti.task_id,
      ti.state,
    ]);
    expect(states).toEqual([
      ["transform_orders", "failed"],
      ["load_orders", "upstream_failed"],
      ["notify", "upstream_failed"],
    ]);
    // Still failed: a dry run changes nothing.
    const run = await api("/dags/etl_orders/dagRuns/manual__spare_clear");
    expect(run.body.state).toBe("failed");
    const both = await api("/dags/etl_orders/clearTaskInstances", {
      method: "POST",
      body: JSON.stringify({ dag_run_id: "manual__spare_clear", only_running: true }),
    });
    expect(both.status).toBe(422);
  });

  it("pages logs with signed continuation tokens and refuses a forged one", async () => {
    const jwt = await token();
    const runs = await api("/dags/etl_orders/dagRuns?state=success&order_by=-run_after&limit=1", { jwt });
    const runId = (runs.body.dag_runs as { dag_run_id: string }[])[0]?.dag_run_id as string;
    const path = `/dags/etl_orders/dagRuns/${encodeURIComponent(runId)}/taskInstances/load_orders/logs/1`;
    const first = await api(path, { jwt });
    expect((first.body.content as unknown[]).length).toBe(100);
    expect((first.body.content as { event: string }[])[0]?.event).toBe("::group::Log message source details");
    let next = first.body.continuation_token as string | null;
    let entries = 100;
    while (next) {
      const page = await api(`${path}?token=${encodeURIComponent(next)}`, { jwt });
      entries += (page.body.content as unknown[]).length;
      next = page.body.continuation_token as string | null;
    }
    expect(entries).toBe(262); // two group markers + 260 lines
    const forged = await api(`${path}?token=${encodeURIComponent(`${btoa('{"log_pos":5}')}.x`)}`, { jwt });
    expect(forged).toEqual({
      status: 400,
      body: { detail: "Bad Signature. Please use only the tokens provided by the API." },
    });
  });

  it("has the sample problems: an import error, a DAG warning, a pending human-in-the-loop task", async () => {
    const jwt = await token();
    const imports = await api("/importErrors", { jwt });
    expect(imports.body).toMatchObject({ total_entries: 1, import_errors: [{ filename: "broken_dag.py" }] });
    const warnings = await api("/dagWarnings", { jwt });
    expect(warnings.body).toMatchObject({
      dag_warnings: [{ dag_id: "ml_features", warning_type: "non-existent pool" }],
    });
    const hitl = await api("/dags/~/dagRuns/~/hitlDetails?response_received=false", { jwt });
    expect((hitl.body.hitl_details as { options: string[] }[])[0]?.options).toEqual(["Publish", "Hold"]);
  });
});
