import { env } from "cloudflare:test";
import { describe, expect, inject, it, vi } from "vitest";
import { connect, subjectOf, textOf, userIdOf } from "../../test/workers/mcp-client";
import { modernRpc, untilTask } from "../../test/workers/modern-rpc";
import { call, type Result } from "./spark.testing";

const upstream = inject("upstreamUrl");
const WRITER = "alice; groups=data-eng; scopes=spark:read spark:write";
const OTHER = "erik; groups=data-eng; scopes=spark:read spark:write";
const APPROVE = { action: "accept" as const, content: { approve: true } };
const SUBMISSION = {
  file: "hdfs:///jobs/rollup.jar",
  className: "com.example.Rollup",
  args: ["--day", "2026-12-01"],
  executorMemory: "8g",
  conf: { "spark.sql.shuffle.partitions": "400" },
};

async function livyStats() {
  const stats = (await (await fetch(`${upstream}/_local/stats`)).json()) as {
    livy: { submitted: { id: number; request: Record<string, unknown> }[]; deleted: number[] };
  };
  return stats.livy;
}

async function callAs(
  user: string,
  onElicit: ((message: string) => { action: "accept" | "decline"; content?: { approve: boolean } }) | undefined,
  name: string,
  args: Record<string, unknown>,
) {
  const { client } = await connect({ user, ...(onElicit ? { onElicit } : {}) });
  const result = (await client.callTool({ name, arguments: args })) as Result;
  await client.close();
  return result;
}

async function submitted(user = WRITER, submission: Record<string, unknown> = SUBMISSION): Promise<number> {
  const result = await callAs(user, () => APPROVE, "spark_submit_batch", submission);
  expect(result.isError, textOf(result)).toBeFalsy();
  return result.structuredContent?.id as number;
}

describe("Livy batches", () => {
  it("submits only what the human approved, exactly once, as the caller", async () => {
    const before = (await livyStats()).submitted.length;
    const declined = await callAs(WRITER, () => ({ action: "decline" }), "spark_submit_batch", SUBMISSION);
    expect(declined._meta?.["fleet/errorClass"]).toBe("not_approved");
    expect((await livyStats()).submitted.length).toBe(before);

    const asked: string[] = [];
    const result = await callAs(
      WRITER,
      (message) => {
        asked.push(message);
        return APPROVE;
      },
      "spark_submit_batch",
      SUBMISSION,
    );
    expect(result.isError, textOf(result)).toBeFalsy();
    expect(asked).toEqual([
      `Submit this Spark batch to Livy, to run as you (proxyUser: your principal)?\n${JSON.stringify(
        {
          file: SUBMISSION.file,
          className: SUBMISSION.className,
          args: SUBMISSION.args,
          executorMemory: "8g",
          conf: SUBMISSION.conf,
        },
        null,
        2,
      )}`,
    ]);
    const after = await livyStats();
    expect(after.submitted.length).toBe(before + 1);
    expect(after.submitted.at(-1)?.request).toEqual({ ...SUBMISSION, proxyUser: subjectOf("alice") });
    expect(textOf(result)).toMatch(/^Submitted batch \d+ \(starting\)/);

    // Both answers are in the audit trail, with the exact text the human saw.
    await vi.waitFor(
      async () => {
        const { results } = await env.DB.prepare(
          "SELECT decision, reason, caller_id FROM audit_events WHERE server_name = 'spark' AND action = 'approval spark_submit_batch'",
        ).all<{ decision: string; reason: string; caller_id: string }>();
        expect(results).toEqual(
          expect.arrayContaining([
            { decision: "declined", reason: asked[0], caller_id: userIdOf("alice") },
            { decision: "approved", reason: asked[0], caller_id: userIdOf("alice") },
          ]),
        );
      },
      { timeout: 5_000, interval: 200 },
    );
  });

  it("follows a batch until it ends, with progress, and shows its log", async () => {
    const id = await submitted();
    const { client } = await connect({ user: "service:etl-bot; scopes=spark:read" });
    const owner = (await connect({ user: WRITER })).client;
    const progress: string[] = [];
    const result = (await owner.callTool(
      { name: "spark_batches", arguments: { batchId: id, waitSeconds: 20 } },
      {
        onprogress: (p) => void progress.push(p.message ?? ""),
      },
    )) as Result;
    expect(result.structuredContent).toMatchObject({ id, state: "success", ended: true });
    expect(progress.length).toBeGreaterThan(0);
    expect(progress[0]).toMatch(new RegExp(`^batch ${id} is (starting|running)$`));
    expect(textOf(result)).toContain("(state: FINISHED)");
    await owner.close();
    // Another caller sees its state, not its log.
    const bots = (await client.callTool({ name: "spark_batches", arguments: { batchId: id } })) as Result;
    expect(textOf(bots)).toContain("(Its log is shown only to whoever submitted it.)");
    expect(textOf(bots)).not.toContain("INFO Client");
    const list = (await client.callTool({ name: "spark_batches", arguments: {} })) as Result;
    expect(textOf(list)).toMatch(
      new RegExp(`\\n${id}\\tsuccess\\t-\\t${subjectOf("alice").replaceAll(".", "\\.")}\\tapplication_`),
    );
    await client.close();
  });

  it("follows a batch as a task for a 2026-07-28 client that declares tasks; a look without waiting is answered at once", async () => {
    const id = await submitted();
    const reader = "alice; groups=data-eng; scopes=spark:read";
    const created = await modernRpc(reader, "tools/call", {
      name: "spark_batches",
      arguments: { batchId: id, waitSeconds: 20 },
    });
    expect(created.result).toMatchObject({ resultType: "task", status: "working" });
    const done = await untilTask(reader, String(created.result?.taskId), ["completed", "failed"], 400);
    expect(done.result?.status).toBe("completed");
    expect(done.result?.result?.structuredContent).toMatchObject({ id, state: "success", ended: true });
    const look = await modernRpc(reader, "tools/call", { name: "spark_batches", arguments: { batchId: id } });
    expect(look.result).toMatchObject({ resultType: "complete", structuredContent: { id, state: "success" } });
  });

  it("kills the caller's own running batch, refuses another's, and leaves an ended one alone", async () => {
    const id = await submitted();
    const other = await callAs(OTHER, () => APPROVE, "spark_kill_batch", { batchId: id });
    expect(other._meta?.["fleet/errorClass"]).toBe("denied");
    expect(textOf(other)).toBe(
      `Access denied: batch ${id} runs as ${subjectOf("alice")}; only whoever submitted it may kill it`,
    );
    const killed = await callAs(WRITER, () => APPROVE, "spark_kill_batch", { batchId: id });
    expect(textOf(killed)).toMatch(new RegExp(`^Killed batch ${id} \\(was (starting|running); Livy: deleted\\)\\.$`));
    expect((await livyStats()).deleted).toContain(id);
    const gone = await call("alice; groups=data-eng; scopes=spark:read", "spark_batches", { batchId: id });
    expect(textOf(gone)).toBe(`Livy refused the request (HTTP 404): {\n  "msg": "Session '${id}' not found."\n}`);

    const ended = await submitted();
    await call("alice; groups=data-eng; scopes=spark:read", "spark_batches", {
      batchId: ended,
      waitSeconds: 20,
      logLines: 0,
    });
    const late = await callAs(WRITER, () => APPROVE, "spark_kill_batch", { batchId: ended });
    expect(textOf(late)).toBe(`Batch ${ended} already ended (success); nothing to kill.`);
    expect((await livyStats()).deleted).not.toContain(ended);
  });

  it("refuses, before the human is asked and before Livy, every setting but tuning: identity, code and files from anywhere", async () => {
    const before = (await livyStats()).submitted.length;
    const asked: string[] = [];
    for (const key of [
      "spark.kerberos.keytab",
      "spark.yarn.appMasterEnv.HADOOP_USER_NAME",
      "spark.executorEnv.HADOOP_USER_NAME",
      "spark.driver.extraJavaOptions",
      "spark.driver.extraClassPath",
      "spark.jars",
      "spark.jars.packages",
      "spark.jars.repositories",
      "spark.yarn.dist.jars",
      "spark.submit.pyFiles",
      "spark.files",
      "spark.archives",
      "spark.sql.catalog.evil",
    ]) {
      const result = await callAs(
        WRITER,
        (message) => {
          asked.push(message);
          return APPROVE;
        },
        "spark_submit_batch",
        { file: "hdfs:///jobs/x.jar", conf: { [key]: "https://evil.example/x" } },
      );
      expect(textOf(result)).toContain(`Invalid argument "conf": ${key} may not be set through this server`);
    }
    expect(asked).toEqual([]);
    expect((await livyStats()).submitted.length).toBe(before);
    const bad = await callAs(WRITER, () => APPROVE, "spark_submit_batch", {
      file: "hdfs:///x.jar",
      executorMemory: "lots",
    });
    expect(textOf(bad)).toContain('"executorMemory": must be a JVM memory size such as 4g or 512m');
  });

  it("never lets a service, or a token without spark:write, submit or kill", async () => {
    const before = (await livyStats()).submitted.length;
    const bot = await call("service:etl-bot; scopes=spark:read spark:write", "spark_submit_batch", SUBMISSION);
    expect(bot._meta?.["fleet/errorClass"]).toBe("denied");
    const { client } = await connect({ user: "alice; groups=data-eng; scopes=spark:read", onElicit: () => APPROVE });
    await expect(client.callTool({ name: "spark_kill_batch", arguments: { batchId: 0 } })).rejects.toThrow(
      /Insufficient scope: required "[^"]*spark:write/, // the SDK v2 client's words
    );
    await client.close();
    expect((await livyStats()).submitted.length).toBe(before);
  });
});
