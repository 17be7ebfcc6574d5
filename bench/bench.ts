/**
 * `npm run bench`: tools/call throughput and latency, sequential and at concurrency 10, for
 *   (a) a plain Worker JSON echo, (b) a bare SDK McpServer in a Durable Object with an echo
 *   tool, (c) the kit's full path with the same echo tool, (d) presto_run_query against the
 *   local coordinator (each query in a read-only transaction, as deployed), (d0) the same
 *   without the transaction (PRESTO_READ_ONLY_TRANSACTION=false) — all in one run, under
 *   `wrangler dev`, driven from this process.
 * Prints c/a, c/b and d/d0 and writes bench/results/latest.{json,md} (quoted by the README).
 * Then (target `airflow`, its own fleet: bench/airflow.bench.ts) airflow_diagnose_run against the
 * local Airflow, beside the same upstream requests made directly: bench/results/airflow.{json,md}.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import manifest from "../fleet.config.ts";
import { localUpstream, REGISTRY_APP, serverApp, serverConfig, serverFolder } from "../local/fleet.manifest.ts";
import {
  applyMigrations,
  authVars,
  LOCAL_SERVICES,
  LOCAL_SSO_CLIENT,
  type RunningWorker,
  WorkerHost,
} from "../local/fleet.ts";
import { startIdp } from "../local/idp.ts";
import { serviceToken, signIn } from "../local/oauth.client.ts";
import { seedRegistry } from "../local/registry.seed.ts";
import { readServerSpecs } from "../local/server.specs.ts";
import { benchAirflow } from "./airflow.bench.ts";
import { measureSearch, publishServers, type SearchFigures } from "./registry.bench.ts";

const HOST = "127.0.0.1";
/** Targets a, b and c: the kit's fixture server with its two baselines (never deployed, not in the manifest). */
const FIXTURE = { config: "test/fixtures/echo/wrangler.toml", app: "test/fixtures/echo/echo.app.ts" };
/** Targets d and d0: Presto as fleet.config.ts declares it, with its local upstream. */
const PRESTO = manifest.servers.find((server) => server.name === "presto");
const ECHO_PORT = 18901;
const PRESTO_PORT = 18902;
const AUTH_PORT = 18903;
const REGISTRY_PORT = 18904;
/** A second Presto Worker, configured without the read-only transaction (target d0). */
const PRESTO_NO_TRANSACTION_PORT = 18905;
const NO_TRANSACTION_SERVER = "presto-no-transaction";
/** Servers registered for the registry search benchmark, and searches timed. */
const REGISTRY_SERVERS = Number(process.env.BENCH_REGISTRY_SERVERS ?? 1000);
const REGISTRY_REQUESTS = Number(process.env.BENCH_REGISTRY_REQUESTS ?? 600);
const SEQUENTIAL_CALLS = Number(process.env.BENCH_SEQUENTIAL ?? 300);
const CONCURRENT_CALLS = Number(process.env.BENCH_CONCURRENT ?? 1000);
const CONCURRENCY = 10;
/**
 * Per-caller limits stay on (every call still passes the caller's object), set above what one
 * benchmark caller sends: 10 at once, thousands a minute.
 */
const BENCH_LIMITS = { CALLS_PER_MINUTE: "1000000", CALLS_IN_FLIGHT: "64" };
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 7);
const ALL_TARGETS = ["a", "b", "c", "c2026", "d", "d0", "registry"];
/** Comma-separated subset of a,b,c,d,d0,registry,airflow to run (default: all). */
const ONLY = new Set(process.env.BENCH_TARGETS?.split(",") ?? [...ALL_TARGETS, "airflow"]);

interface Target {
  key: "a" | "b" | "c" | "c2026" | "d" | "d0";
  label: string;
  /** Opens what one client needs (an MCP session) and returns its caller. */
  open(): Promise<Caller>;
}

/** One client: makes one call; closes what it opened (a session is ended, as a client would). */
interface Caller {
  call(): Promise<void>;
  close(): Promise<void>;
}

const nothingToClose = async () => {};

const MCP_HEADERS = { "content-type": "application/json", accept: "application/json, text/event-stream" };
/** Access tokens per resource origin (the reporting-bot service identity, client credentials). */
const tokens = new Map<string, string>();

async function rpc(url: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  const response = await fetch(url, {
    method: "POST",
    headers: { ...MCP_HEADERS, ...headers },
    body: JSON.stringify(body),
  });
  if (!response.ok) throw new Error(`${url}: HTTP ${response.status} ${await response.text()}`);
  return response;
}

/** An MCP session over raw HTTP (what every MCP client does), then a caller of one tool. */
async function mcpCaller(url: string, tool: string, args: Record<string, unknown>): Promise<Caller> {
  const token = tokens.get(new URL(url).origin);
  const auth: Record<string, string> = token ? { authorization: `Bearer ${token}` } : {};
  const init = await rpc(
    url,
    {
      jsonrpc: "2.0",
      id: 0,
      method: "initialize",
      params: { protocolVersion: "2025-11-25", capabilities: {}, clientInfo: { name: "bench", version: "1" } },
    },
    auth,
  );
  await init.text();
  const headers = {
    ...auth,
    "mcp-session-id": init.headers.get("mcp-session-id") as string,
    "mcp-protocol-version": "2025-11-25",
  };
  await (await rpc(url, { jsonrpc: "2.0", method: "notifications/initialized" }, headers)).text();
  let id = 1;
  return {
    async call() {
      const response = await rpc(
        url,
        { jsonrpc: "2.0", id: id++, method: "tools/call", params: { name: tool, arguments: args } },
        headers,
      );
      const body = (await response.json()) as { result?: { isError?: boolean; content?: { text: string }[] } };
      if (!body.result || body.result.isError) throw new Error(`${tool} failed: ${JSON.stringify(body)}`);
    },
    // Ended, so that rounds of sessions stay under the caller's cap on open sessions.
    async close() {
      const response = await fetch(url, { method: "DELETE", headers });
      await response.text();
      if (!response.ok) throw new Error(`${url}: DELETE answered HTTP ${response.status}`);
    },
  };
}

/**
 * A 2026-07-28 caller (no session): every call carries its own _meta envelope and headers, and
 * reaches the caller's Durable Object (limits, outbox) as its one hop.
 */
async function modernCaller(url: string, tool: string, args: Record<string, unknown>): Promise<Caller> {
  const token = tokens.get(new URL(url).origin);
  const headers: Record<string, string> = {
    ...(token ? { authorization: `Bearer ${token}` } : {}),
    "mcp-protocol-version": "2026-07-28",
    "mcp-method": "tools/call",
    "mcp-name": tool,
  };
  const _meta = {
    "io.modelcontextprotocol/protocolVersion": "2026-07-28",
    "io.modelcontextprotocol/clientCapabilities": {},
    "io.modelcontextprotocol/clientInfo": { name: "bench", version: "1" },
  };
  let id = 1;
  return {
    async call() {
      const response = await rpc(
        url,
        { jsonrpc: "2.0", id: id++, method: "tools/call", params: { name: tool, arguments: args, _meta } },
        headers,
      );
      const body = (await response.json()) as { result?: { isError?: boolean } };
      if (!body.result || body.result.isError) throw new Error(`${tool} failed: ${JSON.stringify(body)}`);
    },
    close: nothingToClose,
  };
}

const echoBase = `http://${HOST}:${ECHO_PORT}`;
const PRESTO_QUERY = {
  sql: "SELECT customer_id, name, tier FROM hive.sales.customers ORDER BY customer_id",
  limit: 20,
};
const allTargets: Target[] = [
  {
    key: "a",
    label: "plain Worker JSON echo",
    async open() {
      let id = 1;
      return {
        async call() {
          const response = await rpc(`${echoBase}/plain`, {
            jsonrpc: "2.0",
            id: id++,
            method: "tools/call",
            params: { text: "hi" },
          });
          await response.json();
        },
        close: nothingToClose,
      };
    },
  },
  {
    key: "b",
    label: "bare SDK McpServer in a DO",
    open: () => mcpCaller(`${echoBase}/bare/mcp`, "echo_say", { text: "hi" }),
  },
  {
    key: "c",
    label: "kit full path (echo tool)",
    open: () => mcpCaller(`${echoBase}/mcp`, "echo_say", { text: "hi" }),
  },
  {
    key: "c2026",
    label: "kit full path (echo tool) over 2026-07-28, rate limiting on",
    open: () => modernCaller(`${echoBase}/mcp`, "echo_say", { text: "hi" }),
  },
  {
    key: "d",
    label: "presto_run_query (local coordinator, read-only transaction)",
    open: () => mcpCaller(`http://${HOST}:${PRESTO_PORT}/mcp`, "presto_run_query", PRESTO_QUERY),
  },
  {
    key: "d0",
    label: "presto_run_query (local coordinator, no transaction)",
    open: () => mcpCaller(`http://${HOST}:${PRESTO_NO_TRANSACTION_PORT}/mcp`, "presto_run_query", PRESTO_QUERY),
  },
];

const targets = allTargets.filter((target) => ONLY.has(target.key));

interface Measure {
  callsPerSecond: number;
  p50: number;
  p95: number;
  p99: number;
}

/** `total` calls shared among `callers`, which are closed afterwards (not timed). */
async function measure(callers: Caller[], total: number): Promise<Measure> {
  const latencies: number[] = [];
  let next = 0;
  const started = performance.now();
  await Promise.all(
    callers.map(async (caller) => {
      while (next < total) {
        next++;
        const t0 = performance.now();
        await caller.call();
        latencies.push(performance.now() - t0);
      }
    }),
  );
  const elapsed = (performance.now() - started) / 1000;
  await Promise.all(callers.map((caller) => caller.close()));
  latencies.sort((x, y) => x - y);
  const at = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? 0;
  return { callsPerSecond: total / elapsed, p50: at(0.5), p95: at(0.95), p99: at(0.99) };
}

function median(values: Measure[]): Measure {
  const sorted = [...values].sort((x, y) => x.callsPerSecond - y.callsPerSecond);
  return sorted[Math.floor(sorted.length / 2)] as Measure;
}

async function main() {
  const root = resolve(import.meta.dirname, "..");
  const state = mkdtempSync(join(tmpdir(), "mcp-fleet-bench-"));
  const persistTo = join(state, "state");
  const logDir = join(state, "logs");
  if (!PRESTO) throw new Error("fleet.config.ts declares no presto server");
  const prestoUpstream = await localUpstream(PRESTO);
  if (!prestoUpstream) throw new Error("fleet.config.ts declares no local upstream for presto");
  const specs = readServerSpecs([FIXTURE.app, serverApp(PRESTO), REGISTRY_APP]);
  const upstream = await prestoUpstream.start({ port: 0, host: HOST });
  const upstreamVar = { [prestoUpstream.env]: upstream.url };
  const authUrl = `http://${HOST}:${AUTH_PORT}`;
  const idp = await startIdp({
    port: 0,
    host: HOST,
    clients: [{ ...LOCAL_SSO_CLIENT, redirectUris: [`${authUrl}/sso/callback`] }],
  });
  const processes: RunningWorker[] = [];
  let workerHost: WorkerHost | undefined;
  const noTransactionConfig = join(serverFolder(PRESTO), `.bench-${NO_TRANSACTION_SERVER}.wrangler.toml`);
  try {
    await applyMigrations(persistTo, logDir);
    workerHost = await WorkerHost.start(persistTo, logDir);
    const prestoBase = `http://${HOST}:${PRESTO_PORT}`;
    const prestoNoTransactionBase = `http://${HOST}:${PRESTO_NO_TRANSACTION_PORT}`;
    const registryUrl = `http://${HOST}:${REGISTRY_PORT}`;
    processes.push(
      await workerHost.startWorker(
        {
          name: "auth",
          config: "workers/auth/wrangler.toml",
          port: AUTH_PORT,
          vars: authVars({
            authUrl,
            resources: {
              echo: echoBase,
              presto: prestoBase,
              [NO_TRANSACTION_SERVER]: prestoNoTransactionBase,
              registry: registryUrl,
            },
            specs: await specs,
            idpIssuer: idp.issuer,
          }),
        },
        HOST,
      ),
    );
    // One at a time, so a Worker that fails to start never leaves another one running.
    processes.push(
      await workerHost.startWorker(
        {
          name: "registry",
          config: "wrangler.toml",
          port: REGISTRY_PORT,
          vars: { PUBLIC_URL: registryUrl, AUTH_ISSUER: authUrl, FLEET_ENV: "local" },
        },
        HOST,
      ),
    );
    processes.push(
      await workerHost.startWorker(
        {
          name: "echo",
          config: FIXTURE.config,
          port: ECHO_PORT,
          vars: { PUBLIC_URL: echoBase, AUTH_ISSUER: authUrl, FLEET_ENV: "local" },
        },
        HOST,
      ),
    );
    processes.push(
      await workerHost.startWorker(
        {
          name: "presto",
          config: serverConfig(PRESTO),
          port: PRESTO_PORT,
          vars: { PUBLIC_URL: prestoBase, AUTH_ISSUER: authUrl, ...upstreamVar, FLEET_ENV: "local", ...BENCH_LIMITS },
        },
        HOST,
      ),
    );

    if (ONLY.has("d0")) {
      // Same code, same registry entry (the gate goes by server name), its own Durable Objects
      // and its own OAuth resource: a copy of Presto's wrangler.toml whose AUTH binding names
      // another server, so its tokens are for its own origin (the kit serves no other).
      const persistNoTransaction = join(state, "state-no-transaction");
      await applyMigrations(persistNoTransaction, logDir);
      writeFileSync(
        noTransactionConfig,
        readFileSync(serverConfig(PRESTO), "utf8")
          .replace(/^name = .*$/m, `name = "mcp-fleet-${NO_TRANSACTION_SERVER}"`)
          .replace(/props = \{ server = "presto" \}/, `props = { server = "${NO_TRANSACTION_SERVER}" }`),
      );
      processes.push(
        await workerHost.startWorker(
          {
            name: NO_TRANSACTION_SERVER,
            config: noTransactionConfig,
            port: PRESTO_NO_TRANSACTION_PORT,
            vars: {
              PUBLIC_URL: prestoNoTransactionBase,
              AUTH_ISSUER: authUrl,
              ...upstreamVar,
              FLEET_ENV: "local",
              PRESTO_READ_ONLY_TRANSACTION: "false",
              ...BENCH_LIMITS,
            },
          },
          HOST,
          persistNoTransaction,
        ),
      );
    }

    // The domain servers open sessions only once the registry approves them, as in production.
    const pipeline = { name: "pipeline", secret: LOCAL_SERVICES.pipeline.secret };
    await seedRegistry({ registryUrl, authUrl, servers: [echoBase, prestoBase], pipeline });

    const bot = { name: "reporting-bot", secret: LOCAL_SERVICES["reporting-bot"].secret };
    const resources = [echoBase, prestoBase, ...(ONLY.has("d0") ? [prestoNoTransactionBase] : [])];
    // Access tokens live 5 minutes and a full run takes longer: fresh ones for every round.
    const refreshTokens = async () => {
      for (const resource of resources) tokens.set(resource, await clientCredentials(authUrl, bot, resource));
    };
    await refreshTokens();

    const results: Record<string, { sequential: Measure; concurrent: Measure }> = {};
    const samples = new Map<string, { sequential: Measure[]; concurrent: Measure[] }>();
    for (const target of targets) samples.set(target.key, { sequential: [], concurrent: [] });
    // Warm every target, then interleave short rounds so drift affects all targets alike;
    // ratios are taken within each round, then the median across rounds is reported.
    for (const target of targets) await measure([await target.open()], 100);
    const roundRatios: Record<string, number[]> = {};
    for (let round = 1; round <= ROUNDS; round++) {
      await refreshTokens();
      const thisRound: Record<string, { sequential: Measure; concurrent: Measure }> = {};
      for (const target of targets) {
        const scale = target.key.startsWith("d") ? 0.25 : 1;
        const sequential = await measure([await target.open()], Math.round(SEQUENTIAL_CALLS * scale));
        const callers = await Promise.all(Array.from({ length: CONCURRENCY }, () => target.open()));
        const concurrent = await measure(callers, Math.round(CONCURRENT_CALLS * scale));
        thisRound[target.key] = { sequential, concurrent };
        samples.get(target.key)?.sequential.push(sequential);
        samples.get(target.key)?.concurrent.push(concurrent);
      }
      for (const mode of ["sequential", "concurrent"] as const) {
        for (const [x, y] of [
          ["c", "a"],
          ["c", "b"],
          ["c2026", "a"],
          ["c2026", "b"],
          ["d", "d0"],
        ] as const) {
          const num = thisRound[x]?.[mode].callsPerSecond;
          const den = thisRound[y]?.[mode].callsPerSecond;
          const key = `${mode} ${x}/${y}`;
          if (num && den) roundRatios[key] = [...(roundRatios[key] ?? []), num / den];
        }
      }
      process.stdout.write(`round ${round}/${ROUNDS} done\n`);
    }
    for (const target of targets) {
      const perTarget = samples.get(target.key) as { sequential: Measure[]; concurrent: Measure[] };
      results[target.key] = { sequential: median(perTarget.sequential), concurrent: median(perTarget.concurrent) };
    }
    const medianOf = (values: number[] = []) =>
      [...values].sort((x, y) => x - y)[Math.floor(values.length / 2)] ?? Number.NaN;
    const ratiosOf = (mode: "sequential" | "concurrent") => ({
      "c/a": medianOf(roundRatios[`${mode} c/a`]),
      "c/b": medianOf(roundRatios[`${mode} c/b`]),
      "c2026/a": medianOf(roundRatios[`${mode} c2026/a`]),
      "c2026/b": medianOf(roundRatios[`${mode} c2026/b`]),
      "d/d0": medianOf(roundRatios[`${mode} d/d0`]),
    });
    const ratios = { sequential: ratiosOf("sequential"), concurrent: ratiosOf("concurrent") };
    const transactionCost = (mode: "sequential" | "concurrent") => {
      const [withTransaction, without] = [results.d?.[mode], results.d0?.[mode]];
      return withTransaction && without ? withTransaction.p50 - without.p50 : Number.NaN;
    };

    let search: SearchFigures | undefined;
    if (ONLY.has("registry")) {
      const token = await serviceToken(authUrl, pipeline, registryUrl, "registry:write");
      if (!token.ok) throw new Error(`pipeline token: ${token.status} ${await token.text()}`);
      process.stdout.write(`publishing ${REGISTRY_SERVERS} servers to the registry...\n`);
      await publishServers(
        registryUrl,
        ((await token.json()) as { access_token: string }).access_token,
        REGISTRY_SERVERS,
      );
      // Drafts are listed only to a registry:read token: a reviewer signs in as `npm start`'s seed does.
      const reader = await signIn(authUrl, "dave", registryUrl, "registry:read");
      search = await measureSearch(registryUrl, REGISTRY_REQUESTS, reader.access_token);
    }

    const searchLine = search
      ? `Registry search over ${search.servers} registered servers (${search.requests} GET /v0.1/servers requests: searches, filters, pages of 30–100): ` +
        `p50 ${search.p50.toFixed(1)} ms, p95 ${search.p95.toFixed(1)} ms; baseline GET /health in the same loop p50 ${search.baselineP50.toFixed(1)} ms, ` +
        `p95 ${search.baselineP95.toFixed(1)} ms (target: p50 < 20 ms).`
      : "";
    const table = [
      "| target | seq calls/s | seq p50 ms | seq p95 ms | c=10 calls/s | c=10 p50 ms | c=10 p95 ms |",
      "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
      ...targets.map((target) => {
        const r = results[target.key] as { sequential: Measure; concurrent: Measure };
        const f = (n: number) => n.toFixed(1);
        return `| (${target.key}) ${target.label} | ${f(r.sequential.callsPerSecond)} | ${f(r.sequential.p50)} | ${f(r.sequential.p95)} | ${f(r.concurrent.callsPerSecond)} | ${f(r.concurrent.p50)} | ${f(r.concurrent.p95)} |`;
      }),
      "",
      `Ratios (throughput): sequential c/a = ${ratios.sequential["c/a"].toFixed(2)}, c/b = ${ratios.sequential["c/b"].toFixed(2)}; ` +
        `concurrency 10 c/a = ${ratios.concurrent["c/a"].toFixed(2)}, c/b = ${ratios.concurrent["c/b"].toFixed(2)}. ` +
        `Over 2026-07-28 (c2026): sequential c2026/a = ${ratios.sequential["c2026/a"].toFixed(2)}, c2026/b = ${ratios.sequential["c2026/b"].toFixed(2)}; ` +
        `concurrency 10 c2026/a = ${ratios.concurrent["c2026/a"].toFixed(2)}, c2026/b = ${ratios.concurrent["c2026/b"].toFixed(2)} ` +
        "(targets in both eras: c/a >= 0.6, c/b >= 0.87).",
      ...(results.d && results.d0
        ? [
            "",
            `Read-only transaction (START TRANSACTION READ ONLY … COMMIT around each query, d vs d0): throughput d/d0 = ${ratios.sequential["d/d0"].toFixed(2)} sequential, ` +
              `${ratios.concurrent["d/d0"].toFixed(2)} at concurrency 10; p50 +${transactionCost("sequential").toFixed(1)} ms sequential, +${transactionCost("concurrent").toFixed(1)} ms at concurrency 10.`,
          ]
        : []),
      ...(searchLine ? ["", searchLine] : []),
    ].join("\n");
    console.log(`\n${table}\n`);
    const meta = {
      date: new Date().toISOString(),
      rounds: ROUNDS,
      sequentialCalls: SEQUENTIAL_CALLS,
      concurrentCalls: CONCURRENT_CALLS,
    };
    writeFileSync(
      join(root, "bench/results/latest.json"),
      `${JSON.stringify({ ...meta, results, ratios, registrySearch: search }, null, 2)}\n`,
    );
    const report = `Measured ${meta.date.slice(0, 10)} (medians of ${ROUNDS} interleaved rounds, ratios taken within each round; ${SEQUENTIAL_CALLS} sequential and ${CONCURRENT_CALLS} concurrent calls per round, a quarter of that for d and d0).\n\n${table}\n`;
    writeFileSync(join(root, "bench/results/latest.md"), report);
    if (ALL_TARGETS.every((target) => ONLY.has(target))) quoteInReadme(join(root, "README.md"), report);
  } finally {
    await Promise.allSettled(processes.map((worker) => worker.stop()));
    await workerHost?.close();
    await Promise.all([upstream.close(), idp.close()]);
    if (!process.env.BENCH_KEEP_STATE) rmSync(state, { recursive: true, force: true });
    else console.log(`state kept in ${state}`);
    rmSync(noTransactionConfig, { force: true });
  }
}

async function clientCredentials(authUrl: string, service: { name: string; secret: string }, resource: string) {
  const response = await fetch(`${authUrl}/oauth/token`, {
    method: "POST",
    headers: { authorization: `Basic ${Buffer.from(`${service.name}:${service.secret}`).toString("base64")}` },
    body: new URLSearchParams({ grant_type: "client_credentials", resource }),
  });
  if (!response.ok) throw new Error(`client credentials for ${resource}: ${response.status} ${await response.text()}`);
  return ((await response.json()) as { access_token: string }).access_token;
}

/** Keeps the README's figures those of the latest full run. */
function quoteInReadme(readme: string, report: string) {
  const text = readFileSync(readme, "utf8");
  const updated = text.replace(
    /<!-- bench:start -->[\s\S]*<!-- bench:end -->/,
    `<!-- bench:start -->\n${report}<!-- bench:end -->`,
  );
  writeFileSync(readme, updated);
}

if (ALL_TARGETS.some((target) => ONLY.has(target))) await main();
if (ONLY.has("airflow")) await benchAirflow();
