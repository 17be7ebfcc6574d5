/**
 * `node bench/spark.bench.ts` (Node 22: `npm exec -- node bench/spark.bench.ts`): the latency of
 * spark_diagnose against the local History Server, through the whole deployed path (wrangler dev,
 * OAuth token, registry gate, session Durable Object, kit pipeline), for each sample application;
 * baselines measured in the same run: the same History Server requests made directly from this
 * process (what the diagnosis costs upstream), and spark_applications (one upstream request
 * through the same path). Prints the ratios and writes bench/results/spark.{json,md}.
 * A separate script from `npm run bench`; its fleet runs on SPARK_BENCH_PORT_BASE (default 18960).
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import manifest from "../fleet.config.ts";
import { defineFleet } from "../local/fleet.manifest.ts";
import { startFleet } from "../local/fleet.ts";
import { signIn } from "../local/oauth.client.ts";

const PORT_BASE = Number(process.env.SPARK_BENCH_PORT_BASE ?? 18960);
const CALLS = Number(process.env.SPARK_BENCH_CALLS ?? 30);
const APPS = [
  "app-20261201061500-0003",
  "application_1764570000000_0038",
  "application_1764570000000_0041",
  "application_1764570000000_0044",
  "application_1764570000000_0047",
];

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

/** The History Server requests spark_diagnose makes for one application, made directly. */
async function directDiagnosisRequests(base: string, appId: string): Promise<void> {
  const get = async (path: string) => {
    const response = await fetch(`${base}/api/v1${path}`);
    if (!response.ok && response.status !== 404) throw new Error(`${path}: ${response.status}`);
    return response.ok ? response.json() : undefined;
  };
  const app = (await get(`/applications/${appId}`)) as { attempts: { attemptId?: string }[] };
  const attempt = app.attempts[0]?.attemptId;
  const root = `/applications/${appId}${attempt ? `/${attempt}` : ""}`;
  const [stages] = (await Promise.all([
    get(`${root}/stages`),
    get(`${root}/jobs`),
    get(`${root}/allexecutors`),
    get(`${root}/environment`),
  ])) as unknown as [
    { stageId: number; attemptId: number; numCompleteTasks: number; numFailedTasks: number; executorRunTime: number }[],
  ];
  const measured = stages
    .filter((s) => s.numCompleteTasks >= 10)
    .sort((a, b) => b.executorRunTime - a.executorRunTime)
    .slice(0, 30);
  await Promise.all(
    measured.map((s) =>
      get(`${root}/stages/${s.stageId}/${s.attemptId}/taskSummary?quantiles=0.05,0.25,0.5,0.75,0.95,1`),
    ),
  );
  const failed = stages.filter((s) => s.numFailedTasks > 0).slice(0, 8);
  await Promise.all(
    failed.map((s) => get(`${root}/stages/${s.stageId}/${s.attemptId}/taskList?status=failed&length=50`)),
  );
}

async function main() {
  const spark = manifest.servers.find((server) => server.name === "spark");
  if (!spark) throw new Error("fleet.config.ts declares no spark server");
  const state = mkdtempSync(join(tmpdir(), "mcp-fleet-spark-bench-"));
  const fleet = await startFleet({
    manifest: defineFleet({ ...manifest, servers: [spark] }),
    portBase: PORT_BASE,
    forTests: true,
    persistTo: join(state, "state"),
    logDir: join(state, "logs"),
  });
  try {
    const server = fleet.servers[0];
    if (!server?.upstream) throw new Error("the spark server has no local upstream");
    const upstream = server.upstream.url;
    const token = (await signIn(fleet.authUrl, "alice", server.url, "spark:read")).access_token;
    const client = new Client({ name: "spark-bench", version: "1" });
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
    for (const appId of APPS) {
      const diagnose = figures(await time(() => call("spark_diagnose", { appId })));
      const direct = figures(await time(() => directDiagnosisRequests(upstream, appId)));
      results[appId] = { diagnose, direct, ratio: Math.round((diagnose.median / direct.median) * 10) / 10 };
      console.log(
        `${appId}: spark_diagnose median ${diagnose.median} ms (p95 ${diagnose.p95}); the same upstream requests direct ${direct.median} ms (×${results[appId].ratio})`,
      );
    }
    const list = figures(await time(() => call("spark_applications", { limit: 5 })));
    console.log(`spark_applications (one upstream request): median ${list.median} ms (p95 ${list.p95})`);
    await client.close();
    const measuredAt = new Date().toISOString();
    writeFileSync(
      resolve(import.meta.dirname, "results/spark.json"),
      `${JSON.stringify({ measuredAt, calls: CALLS, results, applications: list }, null, 2)}\n`,
    );
    const rows = Object.entries(results).map(
      ([appId, r]) => `| ${appId} | ${r.diagnose.median} | ${r.diagnose.p95} | ${r.direct.median} | ×${r.ratio} |`,
    );
    writeFileSync(
      resolve(import.meta.dirname, "results/spark.md"),
      [
        `spark_diagnose against the local History Server, ${CALLS} sequential calls per application after a warm-up (${measuredAt}).`,
        "",
        "| application | diagnose median ms | diagnose p95 ms | same upstream requests, direct, median ms | ratio |",
        "|---|---|---|---|---|",
        ...rows,
        "",
        `spark_applications (one upstream request, same path): median ${list.median} ms, p95 ${list.p95} ms.`,
        "",
      ].join("\n"),
    );
  } finally {
    await fleet.stop();
    rmSync(state, { recursive: true, force: true });
  }
}

await main();
