/**
 * Raw 2026-07-28 requests to the Worker under test (per-request `_meta`, the standard headers), for
 * what the SDK client does not speak: the tasks extension (tools/call answered with a task,
 * tasks/get, tasks/update, tasks/cancel).
 */
import type { ClientCapabilities } from "@modelcontextprotocol/server";
import { bearer, postRpc } from "./mcp-client";

const MODERN = "2026-07-28";
/** A client declaring the tasks extension (and form elicitation, for a task's asks). */
export const TASKS_CLIENT = {
  extensions: { "io.modelcontextprotocol/tasks": {} },
  elicitation: {},
} as ClientCapabilities;

export interface ModernAnswer {
  status: number;
  result?: Record<string, unknown> & {
    taskId?: string;
    status?: string;
    inputRequests?: Record<string, { method: string }>;
    result?: { content: { text: string }[]; isError?: boolean; structuredContent?: Record<string, unknown> };
    error?: { code: number; message: string };
  };
  error?: { code: number; message: string; data?: Record<string, unknown> };
}

/** One request as `user` (a test identity spec, e.g. "alice; scopes=test:read"). */
export async function modernRpc(
  user: string,
  method: string,
  params: Record<string, unknown>,
  capabilities: ClientCapabilities = TASKS_CLIENT,
): Promise<ModernAnswer> {
  // Mcp-Name: the tool's or prompt's name, the resource's URI, or the task's id.
  const mcpName = params.name ?? params.uri ?? params.taskId;
  const response = await postRpc(
    {
      jsonrpc: "2.0",
      id: crypto.randomUUID(),
      method,
      params: {
        ...params,
        _meta: {
          "io.modelcontextprotocol/protocolVersion": MODERN,
          "io.modelcontextprotocol/clientCapabilities": capabilities,
          "io.modelcontextprotocol/clientInfo": { name: "raw", version: "1" },
        },
      },
    },
    {
      "mcp-protocol-version": MODERN,
      "mcp-method": method,
      ...(typeof mcpName === "string" ? { "mcp-name": mcpName } : {}),
      authorization: bearer(user),
    },
  );
  const text = await response.text();
  const data = text.startsWith("{") ? text : ([...text.matchAll(/^data: (.*)$/gm)].at(-1)?.[1] ?? "{}");
  return { status: response.status, ...(JSON.parse(data) as Omit<ModernAnswer, "status">) };
}

/** Polls tasks/get until the task has one of `statuses` (about 10 s at most). */
export async function untilTask(user: string, taskId: string, statuses: string[], tries = 200): Promise<ModernAnswer> {
  for (let i = 0; i < tries; i++) {
    const task = await modernRpc(user, "tasks/get", { taskId });
    if (statuses.includes(String(task.result?.status))) return task;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`task ${taskId} never reached ${statuses.join("/")}`);
}
