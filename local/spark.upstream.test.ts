/**
 * Self-check of the local Spark History Server and Livy over real HTTP: the answers the Spark
 * server relies on, as the real servers give them. Run: `npm exec -- node --test local/spark.upstream.test.ts`
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import type { RunningUpstream } from "./fleet.manifest.ts";
import { LOCAL_SPARK_TOKEN, startSparkUpstream } from "./spark.upstream.ts";

let upstream: RunningUpstream;
before(async () => {
  upstream = await startSparkUpstream({ startingMs: 100, runningMs: 100 });
});
after(() => upstream.close());

async function get(path: string, headers: Record<string, string> = {}) {
  const response = await fetch(`${upstream.url}${path}`, { headers });
  const text = await response.text();
  return {
    status: response.status,
    type: response.headers.get("content-type") ?? "",
    text,
    json: () => JSON.parse(text),
  };
}
const APP = "/api/v1/applications/application_1764570000000_0044";

test("lists applications by end time, with running ones as Spark shows them", async () => {
  const all = (await get("/api/v1/applications")).json();
  assert.equal(all.length, 5);
  assert.equal(all.at(-1).id, "application_1764570000000_0041");
  const running = all.at(-1).attempts[0];
  assert.deepEqual(
    [running.completed, running.endTime, running.endTimeEpoch, running.duration],
    [false, "1969-12-31T23:59:59.999GMT", -1, 0],
  );
  assert.match(all[0].attempts[0].startTime, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}GMT$/);
  assert.equal((await get("/api/v1/applications?status=running")).json().length, 1);
  assert.equal((await get("/api/v1/applications?limit=2")).json().length, 2);
  assert.equal(
    (await get("/api/v1/applications?minDate=2026-12-01T05:00:00.000GMT&maxDate=2026-12-01T05:30:00.000GMT")).json()
      .length,
    1,
  );
  assert.deepEqual(await get("/api/v1/applications?minDate=yesterday").then((r) => [r.status, r.text]), [
    400,
    "Couldn't parse date: yesterday",
  ]);
});

test("answers 404s in the History Server's own words, as text", async () => {
  const cases: [string, string][] = [
    ["/api/v1/applications/foobar", "unknown app: foobar"],
    ["/api/v1/applications/foobar/jobs", "no such app: foobar"],
    ["/api/v1/applications/application_1764570000000_0038/jobs", "no such app: application_1764570000000_0038"],
    ["/api/v1/applications/application_1764570000000_0038/7/jobs", "no such app: application_1764570000000_0038/7"],
    [`${APP}/stages/12345`, "unknown stage: 12345"],
    [`${APP}/stages/2/1`, "unknown attempt for stage 2.  Found attempts: [0]"],
    [`${APP}/jobs/9`, "unknown job: 9"],
    [`${APP}/sql/5`, "unknown query execution id: 5"],
    [
      "/api/v1/applications/application_1764570000000_0041/stages/2/0/taskSummary",
      "No tasks reported metrics for 2 / 0 yet.",
    ],
  ];
  for (const [path, message] of cases) {
    const answer = await get(path);
    assert.deepEqual([answer.status, answer.text], [404, message], path);
    assert.match(answer.type, /^text\/plain/);
  }
  const bad = await get(`${APP}/stages/2/0/taskSummary?quantiles=foo,0.1`);
  assert.deepEqual([bad.status, bad.text], [400, 'Bad value for parameter "quantiles".  Expected a double, got "foo"']);
});

test("computes task quantiles over successful tasks as Spark's status store does, defaults included", async () => {
  const summary = (await get(`${APP}/stages/2/0/taskSummary`)).json();
  assert.deepEqual(summary.quantiles, [0.05, 0.25, 0.5, 0.75, 0.95]);
  const tasks = (await get(`${APP}/stages/2/0/taskList?length=1000`)).json();
  const durations = tasks
    .filter((t: { status: string }) => t.status === "SUCCESS")
    .map((t: { duration: number }) => t.duration)
    .sort((a: number, b: number) => a - b);
  assert.equal(summary.duration[2], durations[Math.floor(0.5 * durations.length)]);
  const withMax = (await get(`${APP}/stages/2/0/taskSummary?quantiles=0.5,1.0`)).json();
  assert.equal(withMax.duration[1], durations.at(-1));
  assert.ok(withMax.duration[1] / withMax.duration[0] > 40, "the planted skew");
  const failed = (await get(`${APP}/stages/3/0/taskList?status=failed`)).json();
  assert.equal(failed.length, 4);
  assert.match(failed[0].errorMessage, /^java\.lang\.OutOfMemoryError: Java heap space/);
  const page = (await get(`${APP}/stages/2/0/taskList`)).json();
  assert.equal(page.length, 20, "taskList's default length");
  assert.deepEqual(
    page.map((t: { taskId: number }) => t.taskId),
    [...page.map((t: { taskId: number }) => t.taskId)].sort((a: number, b: number) => a - b),
  );
});

test("keeps stage totals and executor totals consistent with the tasks", async () => {
  const stage = (await get(`${APP}/stages/2/0`)).json();
  const tasks = (await get(`${APP}/stages/2/0/taskList?length=1000`)).json();
  const runTime = tasks.reduce(
    (sum: number, t: { taskMetrics?: { executorRunTime: number } }) => sum + (t.taskMetrics?.executorRunTime ?? 0),
    0,
  );
  assert.equal(stage.executorRunTime, runTime);
  assert.ok(stage.diskBytesSpilled > 100 * 1024 * 1024);
  const executors = (await get("/api/v1/applications/application_1764570000000_0047/allexecutors")).json();
  const removed = executors.filter((e: { isActive: boolean }) => !e.isActive);
  assert.equal(removed.length, 4);
  assert.ok(
    removed.every(
      (e: { removeReason?: string; memoryMetrics?: unknown }) => e.removeReason && e.memoryMetrics === undefined,
    ),
  );
  const active = (await get("/api/v1/applications/application_1764570000000_0047/executors")).json();
  assert.equal(active.length, executors.length - 4);
});

test("serves SQL executions with and without details and plans", async () => {
  const list = (await get("/api/v1/applications/app-20261201061500-0003/sql")).json();
  assert.equal(list.length, 2);
  assert.match(list[0].planDescription, /^== Physical Plan ==/);
  const bare = (
    await get("/api/v1/applications/app-20261201061500-0003/sql/0?details=false&planDescription=false")
  ).json();
  assert.deepEqual([bare.planDescription, bare.nodes, bare.edges], ["", [], []]);
});

test("Livy: CSRF header, strict bodies, 201 with Location, states, logs, delete then 404", async () => {
  const post = (body: unknown, headers: Record<string, string> = { "x-requested-by": "t" }) =>
    fetch(`${upstream.url}/batches`, {
      method: "POST",
      headers: { "content-type": "application/json", ...headers },
      body: JSON.stringify(body),
    });
  const noHeader = await post({ file: "a.jar" }, {});
  assert.deepEqual([noHeader.status, await noHeader.text()], [400, "Missing Required Header for CSRF protection."]);
  const unknown = await post({ file: "a.jar", bogus: 1 });
  assert.equal(unknown.status, 400);
  assert.match((await unknown.json()).msg, /^Unrecognized field "bogus"/);
  assert.deepEqual(await (await post({})).json(), { msg: "Rejected, Reason: requirement failed: File is required." });
  const created = await post({ file: "hdfs:///a.jar", proxyUser: "alice@example.com" });
  assert.equal(created.status, 201);
  const batch = await created.json();
  assert.equal(created.headers.get("location"), `/batches/${batch.id}`);
  assert.equal(batch.state, "starting");
  await new Promise((resolve) => setTimeout(resolve, 250));
  assert.deepEqual((await get(`/batches/${batch.id}/state`)).json(), { id: batch.id, state: "success" });
  const log = (await get(`/batches/${batch.id}/log?size=2`)).json();
  assert.equal(log.log.length, 2);
  assert.equal(log.from, log.total - 2);
  const deleted = await fetch(`${upstream.url}/batches/${batch.id}`, {
    method: "DELETE",
    headers: { "x-requested-by": "t" },
  });
  assert.deepEqual(await deleted.json(), { msg: "deleted" });
  assert.deepEqual((await get(`/batches/${batch.id}`)).json(), { msg: `Session '${batch.id}' not found.` });
});

test("refuses wrong credentials, accepts the local ones", async () => {
  assert.equal((await get("/api/v1/version", { authorization: "Bearer nope" })).status, 401);
  assert.deepEqual((await get("/api/v1/version", { authorization: `Bearer ${LOCAL_SPARK_TOKEN}` })).json(), {
    spark: "3.5.5",
  });
});
