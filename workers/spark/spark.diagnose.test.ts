import { describe, expect, it } from "vitest";
import { textOf } from "../../test/workers/mcp-client";
import { classifyRemoval, type Diagnosis } from "./spark.diagnose";
import { ALICE, BOT, call, FAILED_APP, HEALTHY, LOST, MULTI } from "./spark.testing";

async function diagnosis(appId: string, extra: Record<string, unknown> = {}) {
  const progress: { progress: number; message?: string }[] = [];
  const result = await call(ALICE, "spark_diagnose", { appId, maxCauses: 20, ...extra }, (p) => progress.push(p));
  expect(result.isError, textOf(result)).toBeFalsy();
  return { text: textOf(result), diagnosis: result.structuredContent as unknown as Diagnosis, progress };
}

const rules = (d: Diagnosis) => d.causes.map((cause) => cause.rule);

describe("spark_diagnose finds each planted cause", () => {
  it("revenue-rollup: the failed stage with its OOM errors first, then the skew and the spill", async () => {
    const { text, diagnosis: d, progress } = await diagnosis(FAILED_APP);
    expect(d.state).toBe("failed");
    expect(d.causes[0]).toMatchObject({ rule: "failed_stages", score: 95 });
    expect(d.causes[0]?.title).toBe("Stage 3.0 (save at Rollup.scala:77) failed");
    expect(d.causes[0]?.evidence.join("\n")).toContain("4× java.lang.OutOfMemoryError: Java heap space (task 17)");
    expect(d.causes[0]?.advice).toMatch(/spark\.executor\.memory/);

    const skew = d.causes.find((cause) => cause.rule === "task_skew");
    expect(skew?.title).toBe("Task skew in stage 2.0 (join at Rollup.scala:48)");
    // 4 of 200 tasks run ~60x the median: the maximum shows it, p95 does not.
    expect(skew?.evidence[0]).toMatch(/max\/median (5\d|6\d)\.\d×, p95\/p50 1\.\d×/);
    expect(skew?.evidence[1]).toMatch(/^shuffle read: .*max\/median (5\d|6\d)\.\d×/);
    expect(skew?.advice).toContain("spark.sql.adaptive.skewJoin.enabled is false here");

    const spill = d.causes.find((cause) => cause.rule === "spill");
    expect(spill?.title).toMatch(/^Stage 2\.0 \(join at Rollup\.scala:48\) spilled 1\d\.\d GiB$/);
    expect(rules(d)).not.toContain("lost_executors");
    expect(rules(d)).not.toContain("gc");

    // Progress: one step per stage summary and failed-task list, in order, ending at the total.
    expect(progress.length).toBeGreaterThan(3);
    expect(progress.map((p) => p.progress)).toEqual([...progress.map((p) => p.progress)].sort((a, b) => a - b));
    expect(progress.some((p) => p.message === "task summary of stage 2.0")).toBe(true);
    expect(text.split("\n")[1]).toBe("Likely causes, most likely first:");
    expect(text).toContain("Slowest stages: ");
  });

  it("user-features-daily: lost executors with their reasons, GC pressure, shuffle fetch wait, a recovered stage", async () => {
    const { diagnosis: d } = await diagnosis(LOST);
    expect(d.state).toBe("succeeded");
    const lost = d.causes.find((cause) => cause.rule === "lost_executors");
    expect(lost?.title).toBe("3 executors were lost (2 for memory)");
    expect(lost?.evidence.join("\n")).toContain("executor 3 on 10.0.4.22");
    expect(lost?.evidence.join("\n")).toContain("Executor heartbeat timed out after 125043 ms");
    expect(lost?.evidence.at(-1)).toBe("1 more released normally (dynamic allocation or decommissioning)");
    expect(lost?.advice).toContain("spark.executor.memoryOverhead (now 1g)");

    const gc = d.causes.find((cause) => cause.rule === "gc");
    expect(gc?.title).toMatch(/^2\d% of task time went to garbage collection$/);

    const wait = d.causes.find((cause) => cause.rule === "shuffle_fetch_wait");
    expect(wait?.title).toMatch(
      /^Stage 4\.\d \(save at Features\.scala:120\) waited 4\d% of its run time on shuffle fetches$/,
    );

    const retried = d.causes.find((cause) => cause.rule === "failed_stages");
    expect(retried).toMatchObject({
      score: 60,
      title: "Stage 4.0 (save at Features.scala:120) failed, then succeeded on a retry",
    });
    expect(retried?.evidence.join("\n")).toContain("FetchFailed(BlockManagerId(5, 10.0.4.24, 7337, None)");
    const tasks = d.causes.find((cause) => cause.rule === "failed_tasks");
    expect(tasks?.evidence[0]).toMatch(
      /^2× ExecutorLostFailure \(executor \d exited caused by one of the running tasks\)/,
    );
    // Ranked: every cause at least as likely as the next.
    expect(d.causes.map((c) => c.score)).toEqual([...d.causes.map((c) => c.score)].sort((a, b) => b - a));
  });

  it("ads-attribution: the failed first attempt on request, the healthy latest by default", async () => {
    const first = await diagnosis(MULTI, { attemptId: "1" });
    expect(first.diagnosis.attemptId).toBe("1");
    expect(first.diagnosis.causes[0]?.title).toBe("Stage 1.0 (join at Attribution.scala:44) failed");
    const latest = await diagnosis(MULTI);
    expect(latest.diagnosis.attemptId).toBe("2");
    expect(rules(latest.diagnosis)).not.toContain("failed_stages");
  });

  it("daily-orders-etl: healthy, nothing to report; a service may ask", async () => {
    const result = await call(BOT, "spark_diagnose", { appId: HEALTHY });
    const d = result.structuredContent as unknown as Diagnosis;
    expect(d.causes).toEqual([]);
    expect(textOf(result)).toContain("No likely cause found");
  });

  it("a running application: diagnosed so far, stages without finished tasks skipped", async () => {
    const { diagnosis: d } = await diagnosis("application_1764570000000_0041");
    expect(d.state).toBe("running");
    expect(d.checked.stages).toBe(3);
  });

  it("an unknown application: the History Server's own words", async () => {
    const result = await call(ALICE, "spark_diagnose", { appId: "application_1_1" });
    expect(result.isError).toBe(true);
    expect(textOf(result)).toBe(
      "The Spark History Server refused the request (HTTP 404): unknown app: application_1_1",
    );
  });
});

describe("executor removal reasons", () => {
  it("tells memory kills, heartbeat losses and normal releases apart", () => {
    expect(classifyRemoval("Container killed by YARN for exceeding physical memory limits. 9.6 GB of 9 GB")).toBe(
      "memory",
    );
    expect(
      classifyRemoval("Container from a bad node: … Exit status: 137. Diagnostics: Killed by external signal"),
    ).toBe("memory");
    expect(classifyRemoval("Executor heartbeat timed out after 125043 ms")).toBe("heartbeat");
    expect(classifyRemoval("Executor killed by driver.")).toBe("released");
    expect(classifyRemoval("Executor decommission.")).toBe("released");
    expect(classifyRemoval("Unable to create executor due to ./launch.sh missing")).toBe("other");
  });
});
