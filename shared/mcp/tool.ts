import type { CallToolResult, PrimitiveSchemaDefinition, ToolAnnotations } from "@modelcontextprotocol/server";
import { z } from "zod";
import type { Caller } from "../auth/caller";
import type { ToolAccess } from "../auth/policy";
import { isReadScope } from "../auth/scopes";
import type { AskKind, ClientAsks } from "./ask";

export type LogLevel = "debug" | "info" | "notice" | "warning" | "error";

/**
 * What a handler gets besides its validated arguments. `elicit`, `sample`, `listRoots` ask the
 * client (ask.ts): the tool must declare them (`asks`), and on 2026-07-28 the handler is re-run
 * with the answers, so it asks before it changes anything.
 */
export interface ToolContext<Upstreams> extends ClientAsks {
  caller: Caller;
  env: Record<string, unknown>;
  /** Upstream API clients, built once per session by the server's `upstreams` factory. */
  upstream: Upstreams;
  /** Aborted when the client cancels the call or the session ends. */
  signal: AbortSignal;
  /** Reports progress to the client (a no-op unless the client asked for progress). */
  progress(progress: number, total?: number, message?: string): Promise<void>;
  /** Sends a log message to the client (when the call streams) and to the Worker's logs. */
  log(level: LogLevel, message: string): Promise<void>;
  /**
   * What the human filled in on the approval form besides approving (the `fields` of an
   * `ApprovalRequest`), validated against them; empty for a plain yes/no approval.
   */
  answers: Record<string, unknown>;
  /**
   * Says a resource changed (e.g. after the tool wrote it): a 2025 session (or 2024 SSE) whose
   * client subscribed to `uri` gets notifications/resources/updated on its standalone stream;
   * elsewhere nothing is sent (2026-07-28 has no resources/subscribe).
   */
  resourceUpdated(uri: string): Promise<void>;
  /** What the tool's `prepare` returned (a task tool's questions before the task); empty without one. */
  prepared: Record<string, unknown>;
}

/**
 * An approval that asks for more than yes or no: `fields` (primitive form fields, e.g. an enum
 * of choices) are shown with the approval and the human's answers reach the handler as
 * `ctx.answers`.
 */
export interface ApprovalRequest {
  message: string;
  fields: Record<string, PrimitiveSchemaDefinition>;
  /** Fields the human must fill in (besides approving). */
  required?: string[];
}

/**
 * What is put to the human: the exact action (or an `ApprovalRequest`), from the validated
 * arguments, and may look things up first (e.g. a dry run whose result the human sees). An
 * approval function that throws ends the call with that error; nothing is done.
 */
export type ApprovalFn<Args, Upstreams> = {
  // Method syntax: checked bivariantly like `run`, so a Tool<Upstreams> is a Tool<unknown>.
  approval(args: Args, ctx: ToolContext<Upstreams>): string | ApprovalRequest | Promise<string | ApprovalRequest>;
}["approval"];

/**
 * A tool's approval: the action put to the human, or that and the owner's risk declaration
 * (`{ risk: "high", action }`: decided on the registry's page only, docs/approvals.md).
 */
export type ApprovalSpec<Args, Upstreams> =
  | ApprovalFn<Args, Upstreams>
  | { risk: "high"; action: ApprovalFn<Args, Upstreams> };

/** A handler returns text, text with structured content, or a full MCP result. */
export type ToolOutput = string | { text: string; structured?: Record<string, unknown> } | CallToolResult;

/** Every tool says whether it only reads or may change/destroy things. */
export type FleetToolAnnotations = ToolAnnotations &
  ({ readOnlyHint: true } | { readOnlyHint?: false; destructiveHint: boolean });

export interface ToolSpec<Shape extends z.ZodRawShape, Upstreams> {
  /** snake_case, prefixed with the domain (`presto_run_query`). */
  name: string;
  title?: string;
  description: string;
  /** Input fields; each must carry a `.describe()`. Unknown arguments are refused. */
  input: Shape;
  annotations: FleetToolAnnotations;
  access: ToolAccess;
  /** The owner's estimate of minutes a human saves per successful call. */
  minutesSaved: number;
  /**
   * Dangerous tools: the exact action put to the human for approval (MCP elicitation) before
   * the handler runs. No approval, no action; services can never call such a tool.
   * `{ risk: "high", action }`: the human decides on the registry's page, signed in as
   * themselves (URL-mode elicitation; docs/approvals.md), never by whatever the client answers.
   */
  approval?: ApprovalSpec<z.output<z.ZodObject<Shape>>, Upstreams>;
  /**
   * What the handler may ask the client (`ctx.elicit`, `ctx.sample`, `ctx.listRoots`); an
   * undeclared ask fails. Not with `approval` (an approval already asks).
   */
  asks?: AskKind[];
  /**
   * A long-running tool (tasks.ts): called by a 2026-07-28 client that declares the tasks
   * extension (io.modelcontextprotocol/tasks), the call answers at once with a task the client
   * polls (tasks/get) and may cancel; the handler runs on in the caller's object, and its asks go
   * on the task (input_required, answered by tasks/update). "optional": other clients (and every
   * 2025 session) get the ordinary call, which waits. "required": a 2026-07-28 client without the
   * extension is refused (-32021). Policy, validation and approval come first, on the call itself.
   * `{ when }`: optional, for the calls where `when(args)` holds (e.g. those that wait); the others
   * are answered at once.
   */
  task?: TaskSupport | { when(args: z.output<z.ZodObject<Shape>>): boolean };
  /**
   * A task tool's questions before the task starts: it runs on the call itself, so its asks reach
   * the client with the call (input_required rounds on 2026-07-28, re-run with the answers; pushed
   * in a 2025 session), and what it returns reaches `run` as `ctx.prepared`. It must not change
   * anything. Without it, a task's asks go on the task (tasks/update answers them).
   */
  prepare?(args: z.output<z.ZodObject<Shape>>, ctx: ToolContext<Upstreams>): Promise<Record<string, unknown>>;
  run(args: z.output<z.ZodObject<Shape>>, ctx: ToolContext<Upstreams>): Promise<ToolOutput>;
}

/** Whether a tool runs as a task for a client that supports it (ToolSpec.task). */
export type TaskSupport = "optional" | "required";

/** A tool as the kit holds it: the spec plus the derived strict schema. */
export interface Tool<Upstreams = unknown> {
  name: string;
  title: string | undefined;
  description: string;
  schema: z.ZodObject;
  inputJsonSchema: Record<string, unknown>;
  annotations: FleetToolAnnotations;
  access: ToolAccess;
  minutesSaved: number;
  needsApproval: boolean;
  approval: ApprovalFn<Record<string, unknown>, Upstreams> | undefined;
  /** "high": approved on the registry page only (see ToolSpec.approval). */
  approvalRisk: "normal" | "high" | undefined;
  /** What the handler may ask the client (ToolSpec.asks); empty for most tools. */
  asks: readonly AskKind[];
  /** Runs as a task for clients that declare the tasks extension (ToolSpec.task); undefined: never. */
  task: TaskSupport | undefined;
  /** For `task: { when }`: whether this call (its validated arguments) runs as a task. */
  taskWhen: ((args: Record<string, unknown>) => boolean) | undefined;
  /** ToolSpec.prepare (task tools only); method syntax, so a Tool<Upstreams> is a Tool<unknown>. */
  prepare?(args: Record<string, unknown>, ctx: ToolContext<Upstreams>): Promise<Record<string, unknown>>;
  run(args: Record<string, unknown>, ctx: ToolContext<Upstreams>): Promise<ToolOutput>;
}

const TOOL_NAME = /^[a-z][a-z0-9]*_[a-z0-9_]+$/;

/**
 * Returns `defineTool` typed for a server's upstream clients:
 * `const defineTool = toolsFor<PrestoUpstreams>();`
 */
export function toolsFor<Upstreams>() {
  return function defineTool<Shape extends z.ZodRawShape>(spec: ToolSpec<Shape, Upstreams>): Tool<Upstreams> {
    assertWellFormed(spec);
    const schema = z.strictObject(spec.input);
    return {
      name: spec.name,
      title: spec.title,
      description: spec.description,
      schema,
      inputJsonSchema: z.toJSONSchema(schema, { io: "input" }) as Record<string, unknown>,
      annotations: spec.annotations,
      access: spec.access,
      minutesSaved: spec.minutesSaved,
      needsApproval: spec.approval !== undefined,
      approval: (typeof spec.approval === "object"
        ? spec.approval.action
        : spec.approval) as Tool<Upstreams>["approval"],
      approvalRisk: spec.approval === undefined ? undefined : typeof spec.approval === "object" ? "high" : "normal",
      asks: [...new Set(spec.asks ?? [])],
      task: spec.task === undefined ? undefined : typeof spec.task === "object" ? "optional" : spec.task,
      taskWhen:
        typeof spec.task === "object" ? (spec.task.when.bind(spec.task) as Tool<Upstreams>["taskWhen"]) : undefined,
      ...(spec.prepare ? { prepare: spec.prepare as NonNullable<Tool<Upstreams>["prepare"]> } : {}),
      run: spec.run as Tool<Upstreams>["run"],
    };
  };
}

function assertWellFormed(spec: {
  name: string;
  input: z.ZodRawShape;
  annotations: FleetToolAnnotations;
  minutesSaved: number;
  approval?: unknown;
  asks?: AskKind[];
  task?: TaskSupport | { when(args: never): boolean };
  prepare?: unknown;
  access: ToolAccess;
}): void {
  if (!TOOL_NAME.test(spec.name)) {
    throw new Error(`Tool name "${spec.name}" must be snake_case and prefixed with its domain (e.g. presto_run_query)`);
  }
  for (const [field, schema] of Object.entries(spec.input)) {
    if (!(schema as z.ZodType).description)
      throw new Error(`Tool ${spec.name}: input field "${field}" needs a .describe()`);
  }
  if (!(spec.minutesSaved >= 0)) throw new Error(`Tool ${spec.name}: minutesSaved must be a number >= 0`);
  for (const kind of spec.asks ?? []) {
    if (!["elicitation", "sampling", "roots"].includes(kind)) {
      throw new Error(`Tool ${spec.name}: asks "${kind}" must be one of "elicitation", "sampling", "roots"`);
    }
  }
  const task = spec.task;
  if (task !== undefined && task !== "optional" && task !== "required" && typeof task?.when !== "function") {
    throw new Error(`Tool ${spec.name}: task must be "optional", "required" or { when(args) }`);
  }
  if (spec.prepare && task === undefined) {
    throw new Error(`Tool ${spec.name}: prepare is for task tools (its questions come before the task); declare task`);
  }
  if (spec.approval && (spec.asks ?? []).length > 0) {
    throw new Error(
      `Tool ${spec.name}: a tool that needs approval cannot also ask the client (asks); put the question in the approval's fields`,
    );
  }
  if (spec.approval && spec.access.services) {
    throw new Error(`Tool ${spec.name}: a tool that needs human approval cannot allow services`);
  }
  const changesThings = spec.approval !== undefined || spec.annotations.readOnlyHint !== true;
  if (changesThings && !(spec.access.scopes ?? []).some((scope) => !isReadScope(scope))) {
    throw new Error(
      `Tool ${spec.name}: a tool that is not read-only or needs approval must require a write scope ` +
        `(e.g. ${spec.name.split("_")[0]}:write), so a client consented only for reading can never call it`,
    );
  }
}

/** Formats zod issues as "argument: why" lines an agent can act on. */
export function describeInvalidArguments(toolName: string, error: z.ZodError): string {
  const lines = error.issues.map((issue) => {
    if (issue.code === "unrecognized_keys") {
      return `unexpected argument${issue.keys.length > 1 ? "s" : ""} ${issue.keys.map((k) => `"${k}"`).join(", ")}`;
    }
    const path = issue.path.length ? issue.path.join(".") : "(arguments)";
    return `"${path}": ${issue.message}`;
  });
  return `Invalid arguments for ${toolName}: ${lines.join("; ")}`;
}

export function toCallToolResult(output: ToolOutput): CallToolResult {
  if (typeof output === "string") return { content: [{ type: "text", text: output }] };
  if ("content" in output) return output;
  return {
    content: [{ type: "text", text: output.text }],
    ...(output.structured ? { structuredContent: output.structured } : {}),
  };
}
