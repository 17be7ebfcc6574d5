/**
 * Part of `npm run bench` (alone: `BENCH_TARGETS=airflow npm run bench`, or `npm run bench:airflow`): the latency of airflow_diagnose_run against the local Airflow
 * API server (workers/airflow/airflow.upstream.ts), through the whole deployed path (wrangler dev,
 * OAuth token, registry gate, session Durable Object, kit pipeline), for each sample DAG's latest
 * failed run; baselines measured in the same run: the same Airflow requests made directly from this
 * process (what the diagnosis costs upstream), and airflow_list_dags (one upstream request through
 * the same path). Prints the ratios and writes bench/results/airflow.{json,md}. Built like
 * bench/spark.bench.ts; its fleet runs on AIRFLOW_BENCH_PORT_BASE (default 18980).
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import manifest from "../fleet.config.ts";
import { defineFleet } from "../local/fleet.manifest.ts";
import { startFleet } from "../local/fleet.ts";
import { signIn } from "../local/oauth.client.ts";
import { LOCAL_AIRFLOW_USER } from "../workers/airflow/airflow.upstream.ts";

const PORT_BASE = Number(process.env.AIRFLOW_BENCH_PORT_BASE ?? 18980);
const CALLS = Number(process.env.AIRFLOW_BENCH_CALLS ?? 30);
/** Sample DAGs with a failed run in the local upstream's data. */
const DAGS = ["etl_orders"];
/** What airflow_diagnose_run reads by default: the logs of at most 5 failed tasks (airflow.diagnosis.ts). */
const MAX_LOGS = 5;
const MAX_PAGES = 40;

interface Figures {
  median: number;
  p95: number;
}

function figures(samples: number[]): Figures {
  const sorted = [...samples].sort((a, b) => a - b);
  const pick = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] as number;
  return { median: Math.round(pick(0.5) * 10) / 10, p95: Math.round(pick(0.95) * 10) / 10 };
}

async function time(work: () => Promise<unknown>): Promise<number[]> {
  await work(); // warm-up, not counted
  const samples: number[] = [];
  for (let i = 0; i < CALLS; i++) {
    const start = performance.now();
    await work();
    samples.push(performance.now() - start);
  }
  return samples;
}

/** A direct Airflow API client: a token from /auth/token (once, as the Worker caches it), then GETs. */
async function directAirflow(base: string) {
  const response = await fetch(`${base}/auth/token`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(LOCAL_AIRFLOW_USER),
  });
  const { access_token: token } = (await response.json()) as { access_token: string };
  return async (path: string, query: Record<string, string | number | undefined> = {}) => {
    const params = new URLSearchParams(
      Object.entries(query).flatMap(([key, value]) => (value === undefined ? [] : [[key, String(value)]])),
    );
    const answer = await fetch(`${base}/api/v2${path}${params.size ? `?${params}` : ""}`, {
      headers: { authorization: `Bearer ${token}`, accept: "application/json" },
    });
    if (!answer.ok) throw new Error(`${path}: ${answer.status}`);
    return answer.json() as Promise<Record<string, unknown>>;
  };
}

/** The Airflow requests airflow_diagnose_run makes for a DAG's latest failed run, made directly. */
async function directDiagnosisRequests(get: Awaited<ReturnType<typeof directAirflow>>, dagId: string): Promise<void> {
  const dag = encodeURIComponent(dagId);
  const { dag_runs: runs } = (await get(`/dags/${dag}/dagRuns`, {
    state: "failed",
    limit: 1,
    order_by: "-run_after",
  })) as { dag_runs: { dag_run_id: string }[] };
  const runId = encodeURIComponent(runs[0]?.dag_run_id ?? "");
  const [{ task_instances: tis }] = (await Promise.all([
    get(`/dags/${dag}/dagRuns/${runId}/taskInstances`, { limit: 1000 }),
    get(`/dags/${dag}/tasks`),
  ])) as unknown as [{ task_instances: { task_id: string; state: string; try_number: number; map_index: number }[] }];
  const failed = tis.filter((ti) => ti.state === "failed" && ti.try_number >= 1).slice(0, MAX_LOGS);
  await Promise.all(
    failed.map(async (ti) => {
      let token: string | undefined;
      for (let pages = 0; pages < MAX_PAGES; pages++) {
        const page = (await get(
          `/dags/${dag}/dagRuns/${runId}/taskInstances/${encodeURIComponent(ti.task_id)}/logs/${ti.try_number}`,
          { full_content: "false", map_index: ti.map_index, token },
        )) as { content: unknown[]; continuation_token: string | null };
        if (page.content.length === 0 || !page.continuation_token) break;
        token = page.continuation_token;
      }
    }),
  );
}

/** Measures airflow_diagnose_run and its baselines; writes bench/results/airflow.{json,md}. */
export async function benchAirflow(): Promise<void> {
  const airflow = manifest.servers.find((server) => server.name === "airflow");
  if (!airflow) throw new Error("fleet.config.ts declares no airflow server");
  const state = mkdtempSync(join(tmpdir(), "mcp-fleet-airflow-bench-"));
  const fleet = await startFleet({
    manifest: defineFleet({ ...manifest, servers: [airflow] }),
    portBase: PORT_BASE,
    forTests: true,
    persistTo: join(state, "state"),
    logDir: join(state, "logs"),
  });
  try {
    const server = fleet.servers[0];
    if (!server?.upstream) throw new Error("the airflow server has no local upstream");
    const direct = await directAirflow(server.upstream.url);
    const token = (await signIn(fleet.authUrl, "alice", server.url, "airflow:read")).access_token;
    const client = new Client({ name: "airflow-bench", version: "1" });
    await client.connect(
      new StreamableHTTPClientTransport(new URL(`${server.url}/mcp`), {
        requestInit: { headers: { authorization: `Bearer ${token}` } },
      }),
    );
    const call = async (name: string, args: Record<string, unknown>) => {
      const result = await client.callTool({ name, arguments: args });
      if (result.isError) throw new Error(`${name}: ${JSON.stringify(result.content)}`);
    };
    const results: Record<string, { diagnose: Figures; direct: Figures; ratio: number }> = {};
    for (const dagId of DAGS) {
      const diagnose = figures(await time(() => call("airflow_diagnose_run", { dag_id: dagId })));
      const upstream = figures(await time(() => directDiagnosisRequests(direct, dagId)));
      results[dagId] = { diagnose, direct: upstream, ratio: Math.round((diagnose.median / upstream.median) * 10) / 10 };
      console.log(
        `${dagId}: airflow_diagnose_run median ${diagnose.median} ms (p95 ${diagnose.p95}); the same upstream requests direct ${upstream.median} ms (×${results[dagId].ratio})`,
      );
    }
    const list = figures(await time(() => call("airflow_list_dags", {})));
    console.log(`airflow_list_dags (one upstream request): median ${list.median} ms (p95 ${list.p95})`);
    await client.close();
    const measuredAt = new Date().toISOString();
    writeFileSync(
      resolve(import.meta.dirname, "results/airflow.json"),
      `${JSON.stringify({ measuredAt, calls: CALLS, results, listDags: list }, null, 2)}\n`,
    );
    const rows = Object.entries(results).map(
      ([dagId, r]) => `| ${dagId} | ${r.diagnose.median} | ${r.diagnose.p95} | ${r.direct.median} | ×${r.ratio} |`,
    );
    writeFileSync(
      resolve(import.meta.dirname, "results/airflow.md"),
      [
        `airflow_diagnose_run (the DAG's latest failed run) against the local Airflow API server, ${CALLS} sequential calls per DAG after a warm-up (${measuredAt}).`,
        "",
        "| DAG | diagnose median ms | diagnose p95 ms | same upstream requests, direct, median ms | ratio |",
        "|---|---|---|---|---|",
        ...rows,
        "",
        `airflow_list_dags (one upstream request, same path): median ${list.median} ms, p95 ${list.p95} ms.`,
        "",
      ].join("\n"),
    );
  } finally {
    await fleet.stop();
    rmSync(state, { recursive: true, force: true });
  }
}

// Run directly (npm run bench:airflow) as well as from bench/bench.ts.
if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) await benchAirflow();
