/**
 * The conformance fixture's tools for the tasks extension (io.modelcontextprotocol/tasks): what the
 * suite's tasks-* scenarios call, declared like any domain tool with `task` (shared/mcp/tasks.ts).
 * The suite names them without the server's prefix (greet, slow_compute, ...); the kit requires
 * it, so the conformance run's proxy maps the suite's names to these (test/e2e/conformance.proxy.ts).
 */
import { ProtocolError, ProtocolErrorCode } from "@modelcontextprotocol/server";
import { z } from "zod";
import { ToolError, toolsFor } from "../../shared/mcp";

const defineTool = toolsFor<Record<string, never>>();

const READ = { scopes: ["test:read"], services: true } as const;
const FIXED = { readOnlyHint: true, openWorldHint: false } as const;
const CONFIRM_FORM = {
  type: "object" as const,
  properties: { confirm: { type: "boolean" as const, description: "Go ahead" } },
  required: ["confirm"],
};

/** Resolves after `ms`, or rejects when `signal` aborts (a task cancelled). */
function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const timer = setTimeout(resolve, ms);
    signal.addEventListener("abort", () => {
      clearTimeout(timer);
      reject(signal.reason);
    });
  });
}

/** A tool that never runs as a task. */
export const greet = defineTool({
  name: "test_greet",
  description: "Greet `name` (an ordinary call, never a task).",
  input: { name: z.string().max(200).describe("Who to greet") },
  annotations: FIXED,
  access: READ,
  minutesSaved: 0,
  async run({ name }) {
    return `Hello, ${name}!`;
  },
});

export const slowCompute = defineTool({
  name: "test_slow_compute",
  description: "Wait `seconds` seconds, then answer (a task for clients that support tasks).",
  input: {
    seconds: z.number().min(0).max(120).describe("How long to work"),
    label: z.string().max(200).optional().describe("A label echoed in the answer"),
  },
  annotations: FIXED,
  access: READ,
  minutesSaved: 0,
  task: "optional",
  async run({ seconds, label }, ctx) {
    await ctx.progress(0, seconds, "computing");
    await sleep(seconds * 1000, ctx.signal);
    return `Computed ${label ?? "a result"} in ${seconds} s`;
  },
});

export const failingJob = defineTool({
  name: "test_failing_job",
  description: "Work a second, then fail with a tool error (runs only as a task).",
  input: {},
  annotations: FIXED,
  access: READ,
  minutesSaved: 0,
  task: "required",
  async run(_args, ctx) {
    await sleep(1000, ctx.signal);
    throw new ToolError("The job failed, as this fixture always does", "upstream_rejected");
  },
});

export const protocolErrorJob = defineTool({
  name: "test_protocol_error_job",
  description: "Fail with a protocol error (not a tool error) after a moment (a task for clients that support tasks).",
  input: {},
  annotations: FIXED,
  access: READ,
  minutesSaved: 0,
  task: "optional",
  async run(_args, ctx) {
    await sleep(200, ctx.signal);
    throw new ProtocolError(ProtocolErrorCode.InternalError, "The job broke inside the server, as this fixture does");
  },
});

export const confirmDelete = defineTool({
  name: "test_confirm_delete",
  description: "Ask the human to confirm deleting `filename` (the task waits for the answer), then report it.",
  input: { filename: z.string().max(200).describe("The file to (pretend to) delete") },
  annotations: FIXED,
  access: READ,
  minutesSaved: 0,
  task: "optional",
  asks: ["elicitation"],
  async run({ filename }, ctx) {
    const answer = await ctx.elicit(
      { message: `Delete ${filename}?`, requestedSchema: CONFIRM_FORM },
      { key: "confirm" },
    );
    const confirmed = answer.action === "accept" && answer.content?.confirm === true;
    return confirmed ? `Deleted ${filename} (pretend)` : `Kept ${filename} (${answer.action})`;
  },
});

export const multiInput = defineTool({
  name: "test_multi_input",
  description: "Ask the human two questions at once (two pending asks), then report both answers.",
  input: {},
  annotations: FIXED,
  access: READ,
  minutesSaved: 0,
  task: "optional",
  asks: ["elicitation"],
  async run(_args, ctx) {
    const form = {
      type: "object" as const,
      properties: { name: { type: "string" as const }, confirm: { type: "boolean" as const } },
      required: ["name"],
    };
    const [first, second] = await Promise.all([
      ctx.elicit({ message: "First name?", requestedSchema: form }, { key: "first" }),
      ctx.elicit({ message: "Second name?", requestedSchema: form }, { key: "second" }),
    ]);
    return `first=${String(first.content?.name)}, second=${String(second.content?.name)}`;
  },
});

/** tasks-mrtr-composition: asks on the call first (input_required rounds), then becomes a task. */
export const toolWithTask = defineTool({
  name: "test_tool_with_task",
  description: "Ask the human's name on the call, then greet them from a task (runs only as a task).",
  input: {},
  annotations: FIXED,
  access: READ,
  minutesSaved: 0,
  task: "required",
  asks: ["elicitation"],
  async prepare(_args, ctx) {
    const answer = await ctx.elicit(
      {
        message: "What is your name?",
        requestedSchema: { type: "object", properties: { name: { type: "string" } }, required: ["name"] },
      },
      { key: "user_name" },
    );
    return { name: answer.action === "accept" ? String(answer.content?.name ?? "") : "" };
  },
  async run(_args, ctx) {
    await sleep(200, ctx.signal);
    const name = String(ctx.prepared.name ?? "");
    return name ? `Hello, ${name}, from a task!` : "Hello, whoever you are, from a task!";
  },
});

export const taskTools = [greet, slowCompute, failingJob, protocolErrorJob, confirmDelete, multiInput, toolWithTask];
