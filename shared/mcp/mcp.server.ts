import {
  type CallToolRequest,
  type Tool as McpTool,
  ProtocolError,
  ProtocolErrorCode,
  type RequestStateCodec,
  Server,
  type ServerContext,
} from "@modelcontextprotocol/server";
import { CfWorkerJsonSchemaValidator } from "@modelcontextprotocol/server/validators/cf-worker";
import { v7 as uuidv7 } from "uuid";
import { z } from "zod";
import type { Caller } from "../auth/caller";
import { checkToolAccess } from "../auth/policy";
import { primaryGroup } from "../db/invocations.store";
import type { ApprovalState } from "./approval.modern";
import { resourceCapabilities, serveResourcesAndPrompts } from "./resource.serve";
import type { ServerSpec } from "./server.definition";
import { refusedCallResult } from "./session.limits";
import { notificationWanted } from "./session.routing";
import { allowedWithStepUp } from "./step-up";
import {
  type CallerTasks,
  declaredCapabilities,
  declaresTasks,
  TASKS_EXTENSION,
  type TaskLauncher,
  tasksRequired,
} from "./tasks";
import type { Tool } from "./tool";
import { digestArguments, type InvocationRuntime, invokeTool } from "./tool.invoke";

/** The tool name unknown-tool calls are recorded under. */
export const UNKNOWN_TOOL = "(unknown tool)";

/** Reads the caller the session attached to this request (see Session). */
export function callerOf(ctx: { http?: { authInfo?: { extra?: Record<string, unknown> } } }): Caller {
  const caller = ctx.http?.authInfo?.extra?.caller as Caller | undefined;
  if (!caller) throw new ProtocolError(ProtocolErrorCode.InternalError, "No caller on this request");
  return caller;
}

/** How the caller's object serves 2026-07-28 requests (approval.modern.ts). */
export interface ModernServing {
  codec: RequestStateCodec<ApprovalState> | undefined;
  consumeNonce(nonce: string): Promise<boolean>;
  /** The caller's tasks (tasks.ts), for tools declared `task`. */
  tasks?: CallerTasks;
}

/**
 * An SDK `Server` for one session: tools/list shows the caller only what it may call,
 * tools/call goes through the kit's pipeline.
 */
export function buildMcpServer<Upstreams>(
  spec: ServerSpec<Upstreams>,
  runtime: InvocationRuntime<Upstreams>,
  modern?: ModernServing,
): Server {
  const codec = modern?.codec;
  // The tasks extension, where a tool runs as a task and the caller's object keeps them (2026-07-28 only).
  const tasks = modern?.tasks && spec.tools.some((tool) => tool.task) ? modern.tasks : undefined;
  const server = new Server(
    { name: spec.name, title: spec.title, version: spec.version },
    {
      capabilities: {
        tools: { listChanged: false },
        logging: {},
        ...resourceCapabilities(spec as ServerSpec<unknown>, modern !== undefined),
        ...(tasks ? { extensions: { [TASKS_EXTENSION]: {} } } : {}),
      },
      jsonSchemaValidator: new CfWorkerJsonSchemaValidator(),
      // A tampered, expired or another caller's requestState is refused (-32602) before any handler runs.
      ...(codec ? { requestState: { verify: (state: string, ctx: ServerContext) => codec.verify(state, ctx) } } : {}),
      ...(spec.instructions ? { instructions: spec.instructions } : {}),
    },
  );
  const byName = new Map(spec.tools.map((tool) => [tool.name, tool]));

  server.setRequestHandler("tools/list", async (_request, ctx) => {
    const caller = callerOf(ctx);
    // A tool is listed when the caller may call it now, or once it consents to the tool's scope
    // (the call is then answered with a step-up challenge at the Worker; see step-up.ts).
    const usable = (tool: Tool<unknown>) => checkToolAccess(tool, caller).allowed || allowedWithStepUp(tool, caller);
    return { tools: spec.tools.filter(usable).map(describeTool) };
  });

  const callTool = async (request: CallToolRequest, ctx: ServerContext) => {
    const tool = byName.get(request.params.name);
    if (!tool) {
      // Recorded too, as an error: a client calling tools that do not exist shows up. Under one
      // name, not the one asked for: a client choosing names would add rollup rows without bound.
      const caller = callerOf(ctx);
      const asked = request.params.name;
      const shown = asked.length > 64 ? `${asked.slice(0, 64)}…` : asked;
      runtime.record({
        id: uuidv7(),
        serverName: runtime.serverName,
        toolName: UNKNOWN_TOOL,
        sessionId: runtime.sessionId,
        callerKind: caller.kind,
        callerId: caller.id,
        callerGroup: primaryGroup(caller),
        startedAt: Date.now(),
        durationMs: 0,
        outcome: "error",
        errorClass: "unknown_tool",
        minutesSaved: 0,
        argsDigest: digestArguments(request.params.arguments ?? {}),
        approval: null,
      });
      throw new ProtocolError(ProtocolErrorCode.InvalidParams, `Unknown tool "${shown}" on the ${spec.name} server`);
    }
    const caller = callerOf(ctx);
    let task: TaskLauncher | undefined;
    if (tasks && tool.task) {
      if (declaresTasks(ctx)) task = tasks.launcher(ownerOf(caller), tool.name, declaredCapabilities(ctx));
      else if (tool.task === "required") {
        runtime.auditDenial(caller, `tools/call ${tool.name}`, "runs only as a task; the client did not declare tasks");
        throw tasksRequired(`the tool ${tool.name}`);
      }
    }
    return invokeTool(runtime, {
      tool,
      arguments: request.params.arguments,
      caller,
      ...(task ? { task } : {}),
      signal: ctx.mcpReq.signal,
      requestId: ctx.mcpReq.id,
      progressToken: request.params._meta?.progressToken,
      server,
      sendNotification: (notification) =>
        notificationWanted(logLevelOf(ctx, runtime, modern !== undefined), notification, !modern)
          ? ctx.mcpReq.notify(notification as never)
          : Promise.resolve(),
      ...(modern ? { modern: { codec, ctx, consumeNonce: modern.consumeNonce } } : {}),
    });
  };

  if (tasks) serveTasks(server, tasks);

  server.setRequestHandler("tools/call", async (request, ctx) => {
    // A call its session or caller's object admitted: its place in flight is held until the
    // handler ends, which may be after its stream closed or it was cancelled (session.ts,
    // caller.state.ts).
    const running = ctx.http?.authInfo?.extra?.callRunning;
    if (typeof running === "function") {
      const call = callTool(request, ctx);
      running(call);
      return call;
    }
    // A 2025 session's call the session did not admit itself (a batch, legacy SSE): the caller's limits, here.
    if (!runtime.admitCall || ctx.http?.authInfo?.extra?.admitted === true) return callTool(request, ctx);
    const admission = await runtime.admitCall(callerOf(ctx), request.params.name);
    if (!admission.admitted) return refusedCallResult(admission.message, admission.retryAfter);
    try {
      return await callTool(request, ctx);
    } finally {
      admission.release();
    }
  });
  serveResourcesAndPrompts(server, spec, runtime, callerOf, modern);
  return server;
}

/** Who a task belongs to: the caller's kind and id (tasks.ts). */
function ownerOf(caller: Caller): string {
  return `${caller.kind}:${caller.id}`;
}

const TaskParams = z.looseObject({ taskId: z.string().min(1).max(200).describe("The task's id") });

const COMPLETE = { resultType: "complete" } as const;

/**
 * tasks/get, tasks/update, tasks/cancel (the extension's methods), for clients that declare the
 * extension on the request; others are refused with -32021 naming it.
 */
function serveTasks(server: Server, tasks: CallerTasks): void {
  const owner = (ctx: ServerContext, method: string) => {
    if (!declaresTasks(ctx)) throw tasksRequired(method);
    return ownerOf(callerOf(ctx));
  };
  server.setRequestHandler("tasks/get", { params: TaskParams }, async ({ taskId }, ctx) =>
    tasks.get(owner(ctx, "tasks/get"), taskId),
  );
  // The SDK lifts `inputResponses` (answers to the task's inputRequests, by key) off the params, as on tools/call.
  server.setRequestHandler("tasks/update", { params: TaskParams }, async ({ taskId }, ctx) => {
    await tasks.update(owner(ctx, "tasks/update"), taskId, ctx.mcpReq.inputResponses ?? {});
    return COMPLETE;
  });
  server.setRequestHandler("tasks/cancel", { params: TaskParams }, async ({ taskId }, ctx) => {
    await tasks.cancel(owner(ctx, "tasks/cancel"), taskId);
    return COMPLETE;
  });
}

/**
 * The log level that applies: 2026-07-28, the request's own (io.modelcontextprotocol/logLevel; no
 * level, no logs); a 2025 session, the one its client set with logging/setLevel (none: every log).
 */
function logLevelOf(ctx: ServerContext, runtime: InvocationRuntime<unknown>, modern: boolean): string | undefined {
  if (!modern) return runtime.logLevel?.();
  const envelope = ctx.mcpReq.envelope as Record<string, unknown> | undefined;
  const level = envelope?.["io.modelcontextprotocol/logLevel"];
  return level === undefined ? undefined : String(level);
}

function describeTool(tool: Tool<unknown>): McpTool {
  return {
    name: tool.name,
    ...(tool.title ? { title: tool.title } : {}),
    description: tool.description,
    inputSchema: tool.inputJsonSchema as McpTool["inputSchema"],
    annotations: tool.annotations,
    _meta: {
      "fleet/minutesSaved": tool.minutesSaved,
      "fleet/needsApproval": tool.needsApproval,
    },
  };
}
