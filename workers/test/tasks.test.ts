/**
 * The tasks extension (shared/mcp/tasks.ts) on the fixture's task tools: a task's lifecycle
 * (working → completed, a tool error completed with isError, a protocol error failed), its asks
 * answered by tasks/update, cancel, the gate on clients that do not declare the extension, another
 * caller finding nothing, the cap, eviction (the task stays, the cut-short handler fails and is
 * recorded once), and one invocation record per task.
 */
import { abortAllDurableObjects, env, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import type { ClientCapabilities } from "@modelcontextprotocol/server";
import { describe, expect, it } from "vitest";
import { callerObjectOf, userIdOf } from "../../test/workers/mcp-client";
import { modernRpc, untilTask } from "../../test/workers/modern-rpc";

const callers = env.CALLERS as DurableObjectNamespace;
const user = (name: string) => `${name}; scopes=test:read`;
const stubOf = (name: string) => callers.get(callers.idFromName(callerObjectOf("test", name)));
const rpc = (name: string, method: string, params: Record<string, unknown>, capabilities?: ClientCapabilities) =>
  modernRpc(user(name), method, params, capabilities);
const call = (name: string, tool: string, args: Record<string, unknown>, capabilities?: ClientCapabilities) =>
  rpc(name, "tools/call", { name: tool, arguments: args }, capabilities);
const get = (name: string, taskId: string) => rpc(name, "tasks/get", { taskId });
const until = (name: string, taskId: string, statuses: string[]) => untilTask(user(name), taskId, statuses);

async function recorded(name: string) {
  await runDurableObjectAlarm(stubOf(name));
  const { results } = await env.DB.prepare(
    "SELECT tool_name, outcome, error_class FROM invocations WHERE caller_id = ? ORDER BY started_at",
  )
    .bind(userIdOf(name))
    .all();
  return results;
}

describe("the tasks extension on 2026-07-28", () => {
  it("runs a task tool as a task: a handle at once, tasks/get until completed with the result inline, recorded once", async () => {
    const created = await call("tia", "test_slow_compute", { seconds: 0.3, label: "x" });
    expect(created.result).toMatchObject({ resultType: "task", status: "working", ttlMs: 3_600_000 });
    expect(created.result).not.toHaveProperty("result");
    const taskId = String(created.result?.taskId);
    // Durable before the handle was sent.
    expect((await get("tia", taskId)).result).toMatchObject({ resultType: "complete", taskId, status: "working" });
    const done = await until("tia", taskId, ["completed"]);
    expect(done.result?.result?.content[0]?.text).toBe("Computed x in 0.3 s");
    // A tool error is a completed task with isError; a protocol error a failed one, error inline.
    const failing = await call("tia", "test_failing_job", {});
    const failed = await until("tia", String(failing.result?.taskId), ["completed", "failed"]);
    expect(failed.result).toMatchObject({ status: "completed", result: { isError: true } });
    const broken = await call("tia", "test_protocol_error_job", {});
    const brokenTask = await until("tia", String(broken.result?.taskId), ["completed", "failed"]);
    expect(brokenTask.result).toMatchObject({ status: "failed", error: { code: -32603 } });
    expect(brokenTask.result).not.toHaveProperty("result");
    // A tool without `task` is an ordinary call.
    const greeted = await call("tia", "test_greet", { name: "Tia" });
    expect(greeted.result).toMatchObject({ resultType: "complete", content: [{ text: "Hello, Tia!" }] });
    // tasks/get again changes nothing, and nothing is recorded twice.
    await get("tia", taskId);
    expect(await recorded("tia")).toEqual([
      { tool_name: "test_slow_compute", outcome: "ok", error_class: null },
      { tool_name: "test_failing_job", outcome: "error", error_class: "upstream_rejected" },
      { tool_name: "test_protocol_error_job", outcome: "error", error_class: "internal" },
      { tool_name: "test_greet", outcome: "ok", error_class: null },
    ]);
  });

  it("gives a client without the extension the ordinary call, refuses it tasks/* and required-task tools (-32021)", async () => {
    const plain = await call("ulf", "test_slow_compute", { seconds: 0 }, { elicitation: {} });
    expect(plain.result).toMatchObject({ resultType: "complete", content: [{ text: "Computed a result in 0 s" }] });
    expect(plain.result).not.toHaveProperty("taskId");
    const required = await call("ulf", "test_failing_job", {}, {});
    expect(required.status).toBe(400);
    expect(required.error).toMatchObject({
      code: -32021,
      data: { requiredCapabilities: { extensions: { "io.modelcontextprotocol/tasks": {} } } },
    });
    for (const method of ["tasks/get", "tasks/cancel", "tasks/update"]) {
      const refused = await rpc("ulf", method, { taskId: "x", inputResponses: {} }, {});
      expect(refused.error?.code, method).toBe(-32021);
    }
    // The removed methods are unknown.
    expect((await rpc("ulf", "tasks/result", { taskId: "x" })).error?.code).toBe(-32601);
    expect((await rpc("ulf", "tasks/list", {})).error?.code).toBe(-32601);
  });

  it("parks a task on its handler's asks until tasks/update answers them, one key at a time", async () => {
    const created = await call("val", "test_multi_input", {});
    const taskId = String(created.result?.taskId);
    const waiting = await until("val", taskId, ["input_required"]);
    expect(Object.keys(waiting.result?.inputRequests ?? {}).sort()).toEqual(["first", "second"]);
    expect(waiting.result?.inputRequests?.first?.method).toBe("elicitation/create");
    const ack = await rpc("val", "tasks/update", {
      taskId,
      inputResponses: { first: { action: "accept", content: { name: "Ann" } }, unknown: { action: "accept" } },
    });
    expect(ack.result).toEqual({ resultType: "complete", _meta: expect.anything() });
    const half = await get("val", taskId);
    expect(half.result?.status).toBe("input_required");
    expect(Object.keys(half.result?.inputRequests ?? {})).toEqual(["second"]);
    await rpc("val", "tasks/update", {
      taskId,
      inputResponses: { second: { action: "accept", content: { name: "Bo" } } },
    });
    const done = await until("val", taskId, ["completed"]);
    expect(done.result?.result?.content[0]?.text).toBe("first=Ann, second=Bo");
    // A client that declared tasks but not elicitation: the ask fails the task with -32021.
    const noForms = { extensions: { "io.modelcontextprotocol/tasks": {} } } as ClientCapabilities;
    const refused = await call("val", "test_confirm_delete", { filename: "a.txt" }, noForms);
    const failed = await untilTask(user("val"), String(refused.result?.taskId), ["failed", "completed"]);
    expect(failed.result).toMatchObject({ status: "failed", error: { code: -32021 } });
    expect(await recorded("val")).toEqual([
      { tool_name: "test_multi_input", outcome: "ok", error_class: null },
      { tool_name: "test_confirm_delete", outcome: "error", error_class: "denied" },
    ]);
  });

  it("asks a tool's prepare questions on the call (input_required), then answers the approved round with the task", async () => {
    const asked = await call("amy", "test_tool_with_task", {});
    expect(asked.result).toMatchObject({ resultType: "input_required" });
    expect(asked.result).not.toHaveProperty("taskId");
    expect(Object.keys(asked.result?.inputRequests ?? {})).toEqual(["user_name"]);
    const created = await rpc("amy", "tools/call", {
      name: "test_tool_with_task",
      arguments: {},
      inputResponses: { user_name: { action: "accept", content: { name: "Alice" } } },
      requestState: asked.result?.requestState,
    });
    expect(created.result).toMatchObject({ resultType: "task", status: "working" });
    expect(created.result).not.toHaveProperty("requestState");
    const done = await until("amy", String(created.result?.taskId), ["completed"]);
    expect(done.result?.result?.content[0]?.text).toBe("Hello, Alice, from a task!");
    // The round that asked is no invocation; the task is one.
    expect(await recorded("amy")).toEqual([{ tool_name: "test_tool_with_task", outcome: "ok", error_class: null }]);
  });

  it("a running task holds a place in flight of the caller's limits until its handler ends", async () => {
    // CALLS_IN_FLIGHT is 6 and TASKS_PER_CALLER 5 in the workerd tests.
    const tasks: string[] = [];
    for (let i = 0; i < 5; i++) {
      const created = await call("pia", "test_slow_compute", { seconds: 60 });
      expect(created.result?.resultType).toBe("task");
      tasks.push(String(created.result?.taskId));
    }
    // One ordinary call (no tasks extension: it waits) takes the sixth place; a second is refused.
    const ordinary = call("pia", "test_slow_compute", { seconds: 1 }, {});
    await new Promise((resolve) => setTimeout(resolve, 300));
    const refused = await call("pia", "test_slow_compute", { seconds: 0 }, {});
    expect(refused.status).toBe(429);
    expect(refused.error?.message).toContain("too many calls in flight: at most 6");
    for (const taskId of tasks) await rpc("pia", "tasks/cancel", { taskId });
    expect((await ordinary).result?.content).toBeDefined();
    // Cancelled handlers end (their sleep is aborted), and their places are free again.
    for (const taskId of tasks) await until("pia", taskId, ["cancelled"]);
    await new Promise((resolve) => setTimeout(resolve, 100));
    const again = await call("pia", "test_slow_compute", { seconds: 0 }, {});
    expect(again.status).toBe(200);
  });

  it("a task waiting for the client's answer holds no place in flight (a client that never answers locks nothing)", async () => {
    const tasks: string[] = [];
    for (let i = 0; i < 5; i++) {
      const created = await call("quin", "test_confirm_delete", { filename: `f${i}.txt` });
      tasks.push(String(created.result?.taskId));
    }
    for (const taskId of tasks) await until("quin", taskId, ["input_required"]);
    // Five tasks wait; two ordinary calls at once still fit in the caller's six places.
    const slow = call("quin", "test_slow_compute", { seconds: 1 }, {});
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect((await call("quin", "test_slow_compute", { seconds: 0 }, {})).status).toBe(200);
    expect((await slow).status).toBe(200);
    for (const taskId of tasks) await rpc("quin", "tasks/cancel", { taskId });
  });

  it("cancels a running task (the handler stops), idempotently, and records it once as cancelled", async () => {
    const created = await call("wes", "test_slow_compute", { seconds: 60 });
    const taskId = String(created.result?.taskId);
    const ack = await rpc("wes", "tasks/cancel", { taskId });
    expect(ack.result?.resultType).toBe("complete");
    expect(ack.result).not.toHaveProperty("status");
    expect((await get("wes", taskId)).result?.status).toBe("cancelled");
    expect((await rpc("wes", "tasks/cancel", { taskId })).result?.resultType).toBe("complete");
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect((await get("wes", taskId)).result?.status).toBe("cancelled");
    expect(await recorded("wes")).toEqual([
      { tool_name: "test_slow_compute", outcome: "error", error_class: "cancelled" },
    ]);
  });

  it("shows a task to its creator only: another caller (and an unknown id) gets -32602", async () => {
    const created = await call("xia", "test_slow_compute", { seconds: 0 });
    const taskId = String(created.result?.taskId);
    expect((await get("yan", taskId)).error?.code).toBe(-32602);
    expect((await rpc("yan", "tasks/cancel", { taskId })).error?.code).toBe(-32602);
    expect((await get("xia", "no-such-task")).error?.code).toBe(-32602);
    expect((await get("xia", taskId)).result?.taskId).toBe(taskId);
  });

  it("keeps at most TASKS_PER_CALLER tasks per caller; the alarm drops them after their TTL", async () => {
    const limit = Number(env.TASKS_PER_CALLER);
    expect(limit).toBeGreaterThan(0);
    for (let i = 0; i < limit; i++) {
      const created = await call("zed", "test_slow_compute", { seconds: 0 });
      expect(created.result?.resultType).toBe("task");
      await until("zed", String(created.result?.taskId), ["completed"]);
    }
    const refused = await call("zed", "test_slow_compute", { seconds: 0 });
    expect(refused.result).toMatchObject({ isError: true });
    expect(JSON.stringify(refused.result?.content)).toContain(`at most ${limit} per caller`);
    // Past their TTL (storage rewound), the alarm drops them and a new task fits again.
    await runInDurableObject(stubOf("zed"), async (_instance, state) => {
      const kept = await state.storage.list<{ createdAt: number }>({ prefix: "task:" });
      for (const [key, record] of kept) await state.storage.put(key, { ...record, createdAt: 0 });
    });
    await runDurableObjectAlarm(stubOf("zed"));
    await runInDurableObject(stubOf("zed"), async (_instance, state) => {
      expect((await state.storage.list({ prefix: "task:" })).size).toBe(0);
    });
    expect((await call("zed", "test_slow_compute", { seconds: 0 })).result?.resultType).toBe("task");
  });

  it("keeps a task across an eviction: the cut-short handler ends failed, recorded once", async () => {
    const done = await call("eve", "test_slow_compute", { seconds: 0 });
    const doneId = String(done.result?.taskId);
    await until("eve", doneId, ["completed"]);
    const running = await call("eve", "test_slow_compute", { seconds: 60 });
    const runningId = String(running.result?.taskId);
    // The object restarts (its memory, the running handler included, is gone; its storage stays),
    // after the finished task's record left the outbox's group-commit window (session.storage.ts).
    await new Promise((resolve) => setTimeout(resolve, 200));
    await abortAllDurableObjects();
    // The finished task is still there, result and all.
    expect((await get("eve", doneId)).result).toMatchObject({ status: "completed", result: { content: [{}] } });
    const cut = await get("eve", runningId);
    expect(cut.result).toMatchObject({ status: "failed", error: { code: -32603 } });
    expect(cut.result?.error?.message).toContain("restarted");
    await get("eve", runningId);
    expect(await recorded("eve")).toEqual([
      { tool_name: "test_slow_compute", outcome: "ok", error_class: null },
      { tool_name: "test_slow_compute", outcome: "error", error_class: "internal" },
    ]);
  });
});
