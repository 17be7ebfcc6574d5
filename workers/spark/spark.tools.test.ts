import { describe, expect, it } from "vitest";
import { connect, textOf } from "../../test/workers/mcp-client";
import { ALICE, BOT, call, FAILED_APP, HEALTHY, LOST, MULTI } from "./spark.testing";

describe("spark tools", () => {
  it("lists at most 12 tools, each annotated, the writes needing approval", async () => {
    const { client } = await connect({ user: "alice; groups=data-eng; scopes=spark:read spark:write" });
    const { tools } = await client.listTools();
    expect(tools.length).toBeLessThanOrEqual(12);
    expect(tools.map((tool) => tool.name).sort()).toEqual([
      "spark_applications",
      "spark_batches",
      "spark_compare",
      "spark_diagnose",
      "spark_environment",
      "spark_executors",
      "spark_jobs",
      "spark_kill_batch",
      "spark_sql",
      "spark_stages",
      "spark_submit_batch",
      "spark_timeline",
    ]);
    for (const tool of tools) {
      const writes = tool.name === "spark_submit_batch" || tool.name === "spark_kill_batch";
      expect(tool.annotations?.readOnlyHint === true, tool.name).toBe(!writes);
      expect(tool._meta?.["fleet/needsApproval"], tool.name).toBe(writes);
    }
    await client.close();
  });

  it("lists applications newest first, paginated, and shows one with its attempts", async () => {
    const page = await call(BOT, "spark_applications", { limit: 2 });
    expect(page.isError).toBeFalsy();
    expect(textOf(page)).toContain("applications 1-2 of");
    expect(page.structuredContent?.nextOffset).toBe(2);
    const running = await call(BOT, "spark_applications", { status: "running" });
    expect((running.structuredContent?.applications as { state: string }[] | undefined)?.map((a) => a.state)).toEqual([
      "running",
    ]);
    const one = await call(ALICE, "spark_applications", { appId: MULTI });
    const lines = textOf(one).split("\n");
    expect(lines[0]).toBe(`ads-attribution (${MULTI}), 2 attempt(s), newest first`);
    expect(lines[2]).toMatch(/^2\tcompleted\t/);
    expect(lines[3]).toMatch(/^1\tcompleted\t/);
    const missing = await call(ALICE, "spark_applications", { appId: "application_0_0" });
    expect(missing.isError).toBe(true);
    expect(textOf(missing)).toContain("unknown app: application_0_0");
  });

  it("reads the latest attempt unless told, and any named one", async () => {
    const latest = await call(ALICE, "spark_jobs", { appId: MULTI });
    expect(textOf(latest)).toMatch(/\nj?0\tSUCCEEDED/);
    const first = await call(ALICE, "spark_jobs", { appId: MULTI, attemptId: "1" });
    expect(textOf(first)).toMatch(/\n0\tFAILED/);
    const wrong = await call(ALICE, "spark_jobs", { appId: MULTI, attemptId: "9" });
    expect(textOf(wrong)).toBe(`Application ${MULTI} has no attempt "9" (its attempts: 2, 1)`);
  });

  it("lists stages failed first, and details one with quantiles, skew ratios and failed-task errors", async () => {
    const list = await call(ALICE, "spark_stages", { appId: FAILED_APP });
    expect(textOf(list).split("\n")[1]).toMatch(/^3\.0\tFAILED/);
    const skewed = await call(ALICE, "spark_stages", { appId: FAILED_APP, stageId: 2 });
    const text = textOf(skewed);
    expect(text).toContain("metric\tp5\tp25\tp50\tp75\tp95\tmax");
    expect(text).toMatch(/Skew: task time max\/median (5\d|6\d)\.\d×/);
    const failed = await call(ALICE, "spark_stages", { appId: FAILED_APP, stageId: 3, failedTasks: 5 });
    expect(textOf(failed)).toContain(
      "Failure of attempt 0: Job aborted due to stage failure: Task 17 in stage 3.0 failed 4 times",
    );
    expect(textOf(failed)).toContain("java.lang.OutOfMemoryError: Java heap space");
    expect((failed.structuredContent?.errors as { count: number }[] | undefined)?.[0]?.count).toBe(4);
    const unknown = await call(ALICE, "spark_stages", { appId: FAILED_APP, stageId: 99 });
    expect(textOf(unknown)).toContain("unknown stage: 99");
  });

  it("summarises executors with removal reasons, and the resource timeline", async () => {
    const result = await call(ALICE, "spark_executors", { appId: LOST, sortBy: "failed-tasks" });
    const summary = result.structuredContent?.summary as {
      removed: number;
      gcShare: number;
      removals: { reason: string }[];
    };
    expect(summary.removed).toBe(4);
    expect(summary.gcShare).toBeGreaterThan(0.15);
    expect(textOf(result)).toContain("Container killed by YARN for exceeding physical memory limits");
    const timeline = await call(ALICE, "spark_timeline", { appId: LOST, limit: 200 });
    expect(timeline.structuredContent?.peakExecutors).toBe(7);
    expect(textOf(timeline)).toContain("executor removed\t");
    expect(textOf(timeline)).toContain("Executor heartbeat timed out after 125043 ms");
  });

  it("redacts secret-looking Spark and system properties, and never filters on a secret", async () => {
    const spark = textOf(await call(ALICE, "spark_environment", { appId: FAILED_APP, limit: 2_000 }));
    expect(spark).toContain("spark.hadoop.fs.s3a.secret.key\t*********(redacted)");
    expect(spark).toContain(
      "spark.datasource.orders.url\tjdbc:postgresql://db.example.internal:5432/orders?user=etl&password=*********(redacted)",
    );
    expect(spark).toContain("spark.history.store.url\thttps://etl:*********(redacted)@store.example.internal/spark");
    expect(spark).toContain("spark.master\tyarn"); // the rest as it is
    const system = await call(ALICE, "spark_environment", { appId: FAILED_APP, section: "system" });
    const systemText = textOf(system);
    expect(systemText).toContain("javax.net.ssl.trustStorePassword\t*********(redacted)");
    expect(systemText).toContain("app.jar --api-token *********(redacted)");
    expect(systemText).toContain("user.timezone\tUTC");
    const everything = JSON.stringify([spark, system.structuredContent]);
    for (const secret of ["local-s3-secret", "hunter2", "local-url-pass", "changeit", "local-cli-token"]) {
      expect(everything).not.toContain(secret);
    }
    // A filter is matched against the redacted values: it cannot probe a secret's characters.
    expect(textOf(await call(ALICE, "spark_environment", { appId: FAILED_APP, filter: "hunter2" }))).not.toContain(
      "spark.datasource",
    );
    // Comparing two environments shows no secret either.
    const compared = await call(ALICE, "spark_compare", {
      kind: "environments",
      left: { appId: FAILED_APP },
      right: { appId: HEALTHY },
    });
    expect(JSON.stringify(compared)).not.toMatch(/hunter2|local-s3-secret|local-url-pass/);
  });

  it("lets no planted secret of any sample application reach a tool result", async () => {
    // The secrets local/spark.sample-data.ts plants in every application's environment.
    const planted = [
      "local-s3-secret",
      "hunter2",
      "local-url-pass",
      "changeit",
      "local-cli-token",
      "local-single-quoted-pw",
      "local-json-pw",
      "local-bearer",
      "local-leading-flag-pw",
      "local-spaced-pw",
    ];
    // A caller of its own per application: the server allows 40 calls a minute per caller.
    const auditor = (n: number) => `auditor-${n}; groups=data-eng; scopes=spark:read`;
    const listed = await call(auditor(99), "spark_applications", { limit: 100 });
    const apps = ((listed.structuredContent?.applications ?? []) as { id: string }[]).map((app) => app.id);
    expect(apps.length).toBeGreaterThanOrEqual(5);
    const results: unknown[] = [];
    for (const [n, appId] of apps.entries()) {
      for (const section of ["spark", "hadoop", "system", "metrics"]) {
        results.push(await call(auditor(n), "spark_environment", { appId, section, limit: 2_000 }));
      }
      results.push(await call(auditor(n), "spark_diagnose", { appId, maxCauses: 50 }));
    }
    results.push(await call(auditor(99), "spark_environment", { appId: MULTI, attemptId: "1", section: "system" }));
    for (const section of ["spark", "hadoop", "system"]) {
      results.push(
        await call(auditor(99), "spark_compare", {
          kind: "environments",
          section,
          left: { appId: apps[0] },
          right: { appId: apps[1] },
        }),
      );
    }
    const everything = JSON.stringify(results);
    expect(everything).toContain('spark.driver.extraJavaOptions\\t-Dx=1 -Ddb.password=\\"*********(redacted)\\"');
    for (const secret of planted) expect(everything, secret).not.toContain(secret);
  });

  it("shows the environment filtered, and SQL executions with plans and node metrics", async () => {
    const env = await call(ALICE, "spark_environment", { appId: FAILED_APP, filter: "skewJoin" });
    expect(textOf(env)).toContain("spark.sql.adaptive.skewJoin.enabled\tfalse");
    const list = await call(ALICE, "spark_sql", { appId: HEALTHY });
    expect(textOf(list)).toMatch(/\n0\tCOMPLETED\t/);
    const one = await call(ALICE, "spark_sql", { appId: FAILED_APP, executionId: 0, planMaxChars: 200 });
    const text = textOf(one);
    expect(text).toMatch(/^SQL 0 FAILED/);
    expect(text).toContain("(plan cut at 200 characters)");
    expect(text).toContain("SortMergeJoin: number of output rows 1,904,332,871; spill size 6.9 GiB");
    expect(text).toContain("Stages:");
    expect(textOf(await call(ALICE, "spark_sql", { appId: HEALTHY, executionId: 7 }))).toContain(
      "unknown query execution id: 7",
    );
  });

  it("compares two applications, two stages, two SQL executions and two environments", async () => {
    const left = { appId: MULTI, attemptId: "1" };
    const right = { appId: MULTI, attemptId: "2" };
    const apps = await call(ALICE, "spark_compare", { kind: "applications", left, right });
    expect(textOf(apps)).toMatch(/failed jobs\t1\t0\t/);
    expect(textOf(apps)).toContain("spark.executor.memory\t8g\t12g");
    const stagesCompared = await call(ALICE, "spark_compare", {
      kind: "stages",
      left: { ...left, stageId: 1 },
      right: { ...right, stageId: 1 },
    });
    expect(textOf(stagesCompared)).toContain("task time p50");
    const sqlCompared = await call(ALICE, "spark_compare", { kind: "sql", left, right });
    expect(textOf(sqlCompared)).toContain("Plan operators that differ:");
    expect(textOf(sqlCompared)).toMatch(/SortMergeJoin\t1\t0/);
    const envs = await call(ALICE, "spark_compare", { kind: "environments", left, right });
    expect(textOf(envs)).toContain("spark.executor.instances\t4\t6");
    expect(textOf(envs)).not.toContain("spark.app.startTime");
    const noStage = await call(ALICE, "spark_compare", { kind: "stages", left, right });
    expect(textOf(noStage)).toContain('Invalid argument "left.stageId": is required to compare stages');
  });

  it("refuses bad arguments naming them, without calling the History Server", async () => {
    const result = await call(ALICE, "spark_jobs", { appId: "../../etc/passwd" });
    expect(result.isError).toBe(true);
    expect(textOf(result)).toContain('"appId": must be a Spark application id');
    expect(textOf(await call(ALICE, "spark_applications", { minDate: "yesterday" }))).toContain(
      '"minDate": must be 2026-12-01',
    );
  });
});
