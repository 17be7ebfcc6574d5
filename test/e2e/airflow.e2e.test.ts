/**
 * The Airflow server under `wrangler dev`, as an agent reaches it: the SDK client over Streamable
 * HTTP with tokens from the real OAuth flow, against the local Airflow 3 API. Writes happen only
 * when the human approves, exactly once; a declined or cancelled approval, or a service, changes
 * nothing.
 */
import { Client, type ElicitResult, StreamableHTTPClientTransport } from "@modelcontextprotocol/client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LOCAL_AIRFLOW_USER } from "../../workers/airflow/airflow.upstream.ts";
import { fleetServer, upstreamOf } from "./fleet";
import { bearer, botToken, userToken } from "./identities";

const server = fleetServer("airflow").url;
const upstream = upstreamOf("airflow");
let writer: Record<string, string>;
beforeAll(async () => {
  writer = bearer(await userToken("alice", server, "airflow:read airflow:write"));
});

type Result = { isError?: boolean; content?: { type: string; text?: string }[]; _meta?: Record<string, unknown> };
const textOf = (result: unknown) => ((result as Result).content ?? []).map((part) => part.text ?? "").join("");

const clients: Client[] = [];
afterAll(async () => {
  await Promise.all(clients.map((client) => client.close()));
});

async function connect(headers: Record<string, string>, answer?: (message: string) => ElicitResult) {
  const client = new Client(
    { name: "e2e", version: "1.0.0" },
    { capabilities: answer ? { elicitation: { form: {} } } : {} },
  );
  const asked: string[] = [];
  if (answer) {
    client.setRequestHandler("elicitation/create", async (request) => {
      asked.push(request.params.message);
      return answer(request.params.message);
    });
  }
  await client.connect(new StreamableHTTPClientTransport(new URL(`${server}/mcp`), { requestInit: { headers } }));
  clients.push(client);
  return { client, asked };
}

/** The local Airflow's own view, through its API with the local API user. */
async function airflowApi(path: string): Promise<Record<string, unknown>> {
  const login = await fetch(`${upstream}/auth/token`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(LOCAL_AIRFLOW_USER),
  });
  const { access_token } = (await login.json()) as { access_token: string };
  return (await (
    await fetch(`${upstream}/api/v2${path}`, { headers: { authorization: `Bearer ${access_token}` } })
  ).json()) as Record<string, unknown>;
}

const runsOf = async (dagId: string) =>
  ((await airflowApi(`/dags/${dagId}/dagRuns?limit=1000`)).dag_runs as { dag_run_id: string }[]).map(
    (r) => r.dag_run_id,
  );

describe("Airflow server end to end", () => {
  it("lists its 14 tools to a writer, and answers a read as a real user", async () => {
    const { client } = await connect(writer);
    const { tools } = await client.listTools();
    expect(tools.map((tool) => tool.name).sort()).toEqual([
      "airflow_answer_hitl",
      "airflow_clear",
      "airflow_delete_run",
      "airflow_diagnose_run",
      "airflow_explore_dag",
      "airflow_list_dags",
      "airflow_list_hitl",
      "airflow_list_runs",
      "airflow_list_task_instances",
      "airflow_set_paused",
      "airflow_system_health",
      "airflow_task_logs",
      "airflow_trigger_and_wait",
      "airflow_trigger_dag",
    ]);
    const diagnosis = await client.callTool({ name: "airflow_diagnose_run", arguments: { dag_id: "etl_orders" } });
    expect(textOf(diagnosis)).toContain("FAILED transform_orders: try 2, 0 retries left");
  });

  it("approval accepted: the trigger runs exactly once", async () => {
    const before = await runsOf("quick_check");
    const { client, asked } = await connect(writer, () => ({ action: "accept", content: { approve: true } }));
    const result = await client.callTool({
      name: "airflow_trigger_dag",
      arguments: { dag_id: "quick_check", run_id: "manual__e2e_approved", conf: { from: "e2e" } },
    });
    expect(asked).toEqual(['Trigger a new run of DAG quick_check with conf {"from":"e2e"}? Its tasks run for real.']);
    expect(textOf(result)).toBe("Triggered quick_check: run manual__e2e_approved is queued.");
    expect((await runsOf("quick_check")).filter((id) => !before.includes(id))).toEqual(["manual__e2e_approved"]);
  });

  it.each([
    ["declined", { action: "decline" } as ElicitResult],
    ["cancelled", { action: "cancel" } as ElicitResult],
  ])("approval %s: nothing is cleared", async (_label, answer) => {
    const { client, asked } = await connect(writer, () => answer);
    const result = (await client.callTool({
      name: "airflow_clear",
      arguments: { dag_id: "etl_orders", run_id: "manual__spare_decline" },
    })) as Result;
    expect(asked[0]).toMatch(
      /^Clear 3 task instances of run manual__spare_decline of DAG etl_orders\? .*transform_orders \(failed, try 2\), load_orders \(upstream_failed, try 0\)/,
    );
    expect(result._meta?.["fleet/errorClass"]).toBe("not_approved");
    expect(textOf(result)).toContain("nothing was done");
    expect((await airflowApi("/dags/etl_orders/dagRuns/manual__spare_decline")).state).toBe("failed");
  });

  it("answers a human-in-the-loop task with the human's choice from the form", async () => {
    const pending = (await airflowApi("/dags/ads_daily_report/dagRuns/~/hitlDetails?response_received=false"))
      .hitl_details as { task_instance: { dag_run_id: string } }[];
    const runId = pending[0]?.task_instance.dag_run_id as string;
    const client = new Client({ name: "e2e", version: "1.0.0" }, { capabilities: { elicitation: { form: {} } } });
    let options: unknown;
    client.setRequestHandler("elicitation/create", async (request) => {
      const schema = (request.params as { requestedSchema?: { properties: { choice: { enum: string[] } } } })
        .requestedSchema;
      options = schema?.properties.choice.enum;
      return { action: "accept", content: { choice: "Hold", approve: true } };
    });
    await client.connect(
      new StreamableHTTPClientTransport(new URL(`${server}/mcp`), { requestInit: { headers: writer } }),
    );
    clients.push(client);
    const result = await client.callTool({
      name: "airflow_answer_hitl",
      arguments: { dag_id: "ads_daily_report", run_id: runId, task_id: "approve_report" },
    });
    expect(options).toEqual(["Publish", "Hold"]);
    expect(textOf(result)).toContain(`Answered approve_report of ${runId}: Hold.`);
    const path = `/dags/ads_daily_report/dagRuns/${encodeURIComponent(runId)}/taskInstances/approve_report/-1/hitlDetails`;
    expect(await airflowApi(path)).toMatchObject({ response_received: true, chosen_options: ["Hold"] });
  });

  it("a service identity (read scopes only) is refused a write, and nothing is triggered", async () => {
    const before = await runsOf("quick_check");
    const bot = bearer(await botToken(server, "airflow:read"));
    const { client } = await connect(bot, () => ({ action: "accept", content: { approve: true } }));
    const listed = (await client.listTools()).tools.map((tool) => tool.name);
    expect(listed).toContain("airflow_list_dags");
    expect(listed).not.toContain("airflow_trigger_dag");
    const result = (await client.callTool({
      name: "airflow_trigger_dag",
      arguments: { dag_id: "quick_check" },
    })) as Result;
    expect(result.isError).toBe(true);
    expect(result._meta?.["fleet/errorClass"]).toBe("denied");
    expect(await runsOf("quick_check")).toEqual(before);
  });
});
