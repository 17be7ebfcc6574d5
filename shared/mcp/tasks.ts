/**
 * The tasks extension (io.modelcontextprotocol/tasks, SEP-2663) for 2026-07-28 clients: a tool
 * declared `task` (tool.ts), called by a client that declares the extension, answers at once with a
 * task; the handler runs on in the caller's object (caller.state.ts), and the client polls
 * `tasks/get` (the result or error inline once it ends), answers the handler's asks with
 * `tasks/update` and stops it with `tasks/cancel`. There is no `tasks/result` or `tasks/list` (the
 * extension removed them; the SDK answers -32601).
 *
 * Tasks live in the caller's object's storage: one object per caller per server, so no other
 * caller reaches them (and each task names its creator, checked on every read). A task is durable
 * before its handle is sent. Bounded: at most `tasksPerCaller` per caller (running or kept), each
 * kept `ttlMs` after it was created, pruned by the object's alarm. The running handler lives in
 * memory: a task whose object was evicted or restarted meanwhile ends `failed` (it may have done
 * part of its work; it is never re-run), and its invocation is recorded then, once.
 */
import {
  type CallToolResult,
  CLIENT_CAPABILITIES_META_KEY,
  type ClientCapabilities,
  type InputRequest,
  MissingRequiredClientCapabilityError,
  ProtocolError,
  ProtocolErrorCode,
  type ServerContext,
} from "@modelcontextprotocol/server";
import type { InvocationRecord } from "../db/invocations.store";
import { type Asker, missingCapabilityError } from "./ask";
import { ToolError } from "./errors";

export const TASKS_EXTENSION = "io.modelcontextprotocol/tasks";

export type TaskStatus = "working" | "input_required" | "completed" | "failed" | "cancelled";

/** Per caller per server, unless the deployment says otherwise (TASKS_PER_CALLER, TASK_TTL_MS). */
export const TASK_DEFAULTS = { tasksPerCaller: 32, ttlMs: 60 * 60_000, pollIntervalMs: 1_000 } as const;
/**
 * A task's result is kept whole up to this many bytes (serialized as UTF-8); a larger one is
 * replaced by an error. Below the storage's 2 MiB a value, with room for the task's other fields.
 */
export const MAX_TASK_RESULT_BYTES = 1_000_000;
/** A task's status message (its handler's latest progress) is cut to this length. */
const MAX_STATUS_MESSAGE = 500;
const TASK = "task:";
const TERMINAL: ReadonlySet<TaskStatus> = new Set(["completed", "failed", "cancelled"]);

export interface TaskLimits {
  tasksPerCaller: number;
  ttlMs: number;
  pollIntervalMs: number;
}

/** A JSON-RPC error, as a failed task carries it. */
export interface TaskError {
  code: number;
  message: string;
  data?: unknown;
}

interface TaskRecord {
  taskId: string;
  /** Who created it (`kind:id`); only they can see it. */
  owner: string;
  tool: string;
  status: TaskStatus;
  statusMessage?: string;
  createdAt: number;
  lastUpdatedAt: number;
  ttlMs: number;
  pollIntervalMs: number;
  /** The object instance running the handler; another instance finding it unfinished knows it was cut short. */
  runner: string;
  inputRequests?: Record<string, InputRequest>;
  result?: CallToolResult;
  error?: TaskError;
  /** The invocation as it is recorded if the task is cut short (its handler's own ending records it otherwise). */
  invocation: InvocationRecord;
}

/** How a task's handler ended: a tool result (an `isError` one included) or a protocol error. */
export type TaskEnding = { result: CallToolResult } | { error: ProtocolError };

/** What a task's handler gets from the task instead of the call: its signal, a way to ask, a status line. */
export interface TaskRun {
  signal: AbortSignal;
  asker: Asker;
  status(message: string): void;
}

/** Starts one call as a task (mcp.server.ts hands it to invokeTool). */
export interface TaskLauncher {
  /** Stores the task, then runs `work` in the background; resolves with the CreateTaskResult. */
  start(work: (run: TaskRun) => Promise<TaskEnding>, invocation: InvocationRecord): Promise<CreateTaskResult>;
}

interface Running {
  record: TaskRecord;
  controller: AbortController;
  /** The handler's asks waiting for tasks/update, by key. */
  waiting: Map<string, (answer: unknown) => void>;
  /** Whether the handler holds a place in flight: while it waits for the client it does not. */
  holdsPlace: boolean;
}

/** Whether this request (2026-07-28, per-request capabilities) declares the tasks extension. */
export function declaresTasks(ctx: ServerContext): boolean {
  const envelope = ctx.mcpReq.envelope as Record<string, unknown> | undefined;
  const capabilities = envelope?.[CLIENT_CAPABILITIES_META_KEY] as ClientCapabilities | undefined;
  const extensions = capabilities?.extensions as Record<string, unknown> | undefined;
  return extensions?.[TASKS_EXTENSION] !== undefined;
}

/** The client capabilities this request declares (what a task's handler may ask). */
export function declaredCapabilities(ctx: ServerContext): ClientCapabilities | undefined {
  const envelope = ctx.mcpReq.envelope as Record<string, unknown> | undefined;
  return envelope?.[CLIENT_CAPABILITIES_META_KEY] as ClientCapabilities | undefined;
}

/** -32021 naming the extension: for tasks/* from a client that did not declare it, and "required" tools. */
export function tasksRequired(what: string): MissingRequiredClientCapabilityError {
  return new MissingRequiredClientCapabilityError(
    { requiredCapabilities: { extensions: { [TASKS_EXTENSION]: {} } } },
    `Missing required client capability: ${what} needs the tasks extension (${TASKS_EXTENSION}), which the client did not declare`,
  );
}

/** The deployment's overrides (TASKS_PER_CALLER, TASK_TTL_MS) of the defaults. */
export function taskLimitsFor(env: Record<string, unknown>): TaskLimits {
  const positive = (value: unknown) => {
    const n = Number(value);
    return value !== undefined && value !== "" && Number.isSafeInteger(n) && n > 0 ? n : undefined;
  };
  return {
    tasksPerCaller: positive(env.TASKS_PER_CALLER) ?? TASK_DEFAULTS.tasksPerCaller,
    ttlMs: positive(env.TASK_TTL_MS) ?? TASK_DEFAULTS.ttlMs,
    pollIntervalMs: TASK_DEFAULTS.pollIntervalMs,
  };
}

export interface CallerTasksOptions {
  storage: DurableObjectStorage;
  limits: TaskLimits;
  /** The alarm must fire by then (the next expiry). */
  wakeBy(at: number): void;
  /** A task cut short by an eviction: its invocation, for the record (once). */
  record(invocation: InvocationRecord): void;
  /** A running handler holds a place in flight of the caller's limits from its start to its end. */
  inFlight?: { started(): void; ended(): void };
}

/** One caller's tasks, in its object (caller.state.ts). */
export class CallerTasks {
  readonly #options: CallerTasksOptions;
  /** This instance: a task it did not start and that is unfinished was cut short. */
  readonly #instance = crypto.randomUUID();
  readonly #running = new Map<string, Running>();

  constructor(options: CallerTasksOptions) {
    this.#options = options;
  }

  get limits(): TaskLimits {
    return this.#options.limits;
  }

  /** A launcher for one call of `tool` by `owner`; its handler may ask what `capabilities` declare. */
  launcher(owner: string, tool: string, capabilities: ClientCapabilities | undefined): TaskLauncher {
    return { start: (work, invocation) => this.#start(owner, tool, capabilities, work, invocation) };
  }

  async #start(
    owner: string,
    tool: string,
    capabilities: ClientCapabilities | undefined,
    work: (run: TaskRun) => Promise<TaskEnding>,
    invocation: InvocationRecord,
  ): Promise<CreateTaskResult> {
    const { tasksPerCaller, ttlMs, pollIntervalMs } = this.#options.limits;
    await this.prune();
    const kept = await this.#options.storage.list({ prefix: TASK, limit: tasksPerCaller + 1 });
    if (kept.size >= tasksPerCaller) {
      // A tool error (recorded as denied): nothing ran.
      throw new ToolError(
        `Too many tasks: at most ${tasksPerCaller} per caller on this server, each kept ${Math.round(ttlMs / 60_000)} min after it started; wait for the oldest to expire`,
        "denied",
        true,
      );
    }
    const now = Date.now();
    const record: TaskRecord = {
      taskId: crypto.randomUUID(),
      owner,
      tool,
      status: "working",
      createdAt: now,
      lastUpdatedAt: now,
      ttlMs,
      pollIntervalMs,
      runner: this.#instance,
      invocation,
    };
    // Durable before the client learns of it: a tasks/get right after the answer finds it.
    await this.#options.storage.put(`${TASK}${record.taskId}`, record);
    this.#options.wakeBy(now + ttlMs);
    const running: Running = { record, controller: new AbortController(), waiting: new Map(), holdsPlace: false };
    this.#running.set(record.taskId, running);
    this.#holdPlace(running, true);
    const run: TaskRun = {
      signal: running.controller.signal,
      asker: this.#asker(running, capabilities),
      status: (message) => {
        running.record.statusMessage = message.slice(0, MAX_STATUS_MESSAGE);
      },
    };
    void work(run)
      .catch((error: unknown): TaskEnding => {
        console.error(`task ${record.taskId} (${tool}) failed outside its handler`, error);
        return { error: new ProtocolError(ProtocolErrorCode.InternalError, "The task failed inside the server") };
      })
      .then((ending) => this.#end(running, ending));
    return createTaskResult(record);
  }

  /** The handler's asks: each parks the task in input_required until tasks/update answers its key. */
  #asker(running: Running, capabilities: ClientCapabilities | undefined): Asker {
    return {
      capabilities: () => capabilities,
      missingCapability: missingCapabilityError,
      ask: (key, request) =>
        new Promise((resolve, reject) => {
          if (running.controller.signal.aborted) {
            reject(running.controller.signal.reason);
            return;
          }
          running.waiting.set(key, resolve);
          // Waiting on the client, which may never answer, holds no place in flight.
          this.#holdPlace(running, false);
          running.record.inputRequests = { ...running.record.inputRequests, [key]: request };
          this.#transition(running, "input_required");
          running.controller.signal.addEventListener("abort", () => reject(running.controller.signal.reason), {
            once: true,
          });
        }),
    };
  }

  /** A running handler holds a place in flight of the caller's limits, except while it waits for the client. */
  #holdPlace(running: Running, hold: boolean): void {
    if (running.holdsPlace === hold) return;
    running.holdsPlace = hold;
    if (hold) this.#options.inFlight?.started();
    else this.#options.inFlight?.ended();
  }

  #transition(running: Running, status: TaskStatus): void {
    const { record } = running;
    if (TERMINAL.has(record.status)) return;
    record.status = status;
    record.lastUpdatedAt = Date.now();
    void this.#options.storage.put(`${TASK}${record.taskId}`, record);
  }

  async #end(running: Running, ending: TaskEnding): Promise<void> {
    this.#running.delete(running.record.taskId);
    this.#holdPlace(running, false);
    const { record } = running;
    delete record.inputRequests;
    if (record.status === "cancelled") {
      record.lastUpdatedAt = Date.now();
    } else if ("error" in ending) {
      record.error = { code: ending.error.code, message: ending.error.message, data: ending.error.data };
      record.status = "failed";
    } else {
      const size = new TextEncoder().encode(JSON.stringify(ending.result)).length;
      record.result =
        size <= MAX_TASK_RESULT_BYTES
          ? ending.result
          : {
              isError: true,
              content: [
                {
                  type: "text",
                  text: `The result (${size} bytes) is larger than a task keeps (${MAX_TASK_RESULT_BYTES} bytes); call again asking for less`,
                },
              ],
              _meta: ending.result._meta,
            };
      record.status = "completed";
    }
    record.lastUpdatedAt = Date.now();
    delete record.statusMessage;
    try {
      await this.#options.storage.put(`${TASK}${record.taskId}`, record);
    } catch (error) {
      // Never left "working": the ending is kept without what could not be stored.
      console.error(`task ${record.taskId}: its ending could not be stored whole`, error);
      delete record.result;
      record.status = "failed";
      record.error = { code: ProtocolErrorCode.InternalError, message: "The task's result could not be kept" };
      await this.#options.storage.put(`${TASK}${record.taskId}`, record);
    }
  }

  /** tasks/get: the task as the extension shows it (result or error inline once it ended). */
  async get(owner: string, taskId: string): Promise<Record<string, unknown>> {
    return detailedTask(await this.#find(owner, taskId));
  }

  /** tasks/update: answers to the handler's asks, by key; keys it is not waiting for are ignored. */
  async update(owner: string, taskId: string, answers: Record<string, unknown>): Promise<void> {
    await this.#find(owner, taskId);
    const running = this.#running.get(taskId);
    if (!running) return;
    for (const [key, answer] of Object.entries(answers)) {
      const resolve = running.waiting.get(key);
      if (!resolve || !isAnswer(running.record.inputRequests?.[key], answer)) continue;
      running.waiting.delete(key);
      const { [key]: _answered, ...rest } = running.record.inputRequests ?? {};
      running.record.inputRequests = Object.keys(rest).length > 0 ? rest : undefined;
      resolve(answer);
    }
    if (running.waiting.size === 0 && running.record.status === "input_required") {
      this.#holdPlace(running, true);
      delete running.record.inputRequests;
      this.#transition(running, "working");
    } else {
      running.record.lastUpdatedAt = Date.now();
      void this.#options.storage.put(`${TASK}${taskId}`, running.record);
    }
  }

  /** tasks/cancel: the handler is told to stop (cooperative); cancelling an ended task changes nothing. */
  async cancel(owner: string, taskId: string): Promise<void> {
    const record = await this.#find(owner, taskId);
    if (TERMINAL.has(record.status)) return;
    const running = this.#running.get(taskId);
    if (!running) return;
    this.#transition(running, "cancelled");
    delete running.record.inputRequests;
    running.controller.abort(new Error("The task was cancelled"));
  }

  /**
   * Drops tasks past their TTL (a running one only once it ends), ends those an eviction cut short;
   * returns when the next one expires.
   */
  async prune(now = Date.now()): Promise<number | undefined> {
    const all = await this.#options.storage.list<TaskRecord>({ prefix: TASK });
    const expired: string[] = [];
    let next: number | undefined;
    for (const [key, stored] of all) {
      const record = this.#interrupted(stored) ?? stored;
      const expiresAt = record.createdAt + record.ttlMs;
      if (expiresAt <= now && !this.#running.has(record.taskId)) expired.push(key);
      else next = Math.min(next ?? Number.POSITIVE_INFINITY, Math.max(expiresAt, now + 1_000));
    }
    for (let i = 0; i < expired.length; i += 128) await this.#options.storage.delete(expired.slice(i, i + 128));
    return next;
  }

  async #find(owner: string, taskId: string): Promise<TaskRecord> {
    const running = this.#running.get(taskId);
    const stored = running?.record ?? (await this.#options.storage.get<TaskRecord>(`${TASK}${taskId}`));
    // Another caller's task (unreachable: each caller has its own object) is as unknown as none.
    const expired = !running && stored !== undefined && stored.createdAt + stored.ttlMs <= Date.now();
    if (!stored || stored.owner !== owner || expired) {
      throw new ProtocolError(ProtocolErrorCode.InvalidParams, `Unknown task "${taskId.slice(0, 64)}"`);
    }
    return this.#interrupted(stored) ?? stored;
  }

  /** An unfinished task this instance is not running was cut short: it fails now, and is recorded, once. */
  #interrupted(record: TaskRecord): TaskRecord | undefined {
    if (TERMINAL.has(record.status) || this.#running.has(record.taskId)) return undefined;
    if (record.runner === this.#instance) return undefined;
    const now = Date.now();
    const ended: TaskRecord = {
      ...record,
      status: "failed",
      lastUpdatedAt: now,
      error: {
        code: ProtocolErrorCode.InternalError,
        message:
          "The server restarted while this task ran, so it ended unfinished; it may have done part of its work (check before calling again)",
      },
    };
    delete ended.inputRequests;
    delete ended.statusMessage;
    void this.#options.storage.put(`${TASK}${record.taskId}`, ended);
    this.#options.record({
      ...record.invocation,
      durationMs: record.lastUpdatedAt - record.invocation.startedAt,
    });
    return ended;
  }
}

/** An answer fits its ask: an object; an elicitation's has an action the spec knows. */
function isAnswer(request: InputRequest | undefined, answer: unknown): boolean {
  if (!request || answer === null || typeof answer !== "object" || Array.isArray(answer)) return false;
  if (request.method !== "elicitation/create") return true;
  return ["accept", "decline", "cancel"].includes(String((answer as { action?: unknown }).action));
}

function taskFields(record: TaskRecord): Record<string, unknown> {
  return {
    taskId: record.taskId,
    status: record.status,
    ...(record.statusMessage ? { statusMessage: record.statusMessage } : {}),
    createdAt: new Date(record.createdAt).toISOString(),
    lastUpdatedAt: new Date(record.lastUpdatedAt).toISOString(),
    ttlMs: record.ttlMs,
    pollIntervalMs: record.pollIntervalMs,
  };
}

/** The answer to a tools/call that became a task: flat (Result & Task, no nested `task`). */
export type CreateTaskResult = CallToolResult & { resultType: "task"; taskId: string };

/**
 * The task handle. Its empty `content` is what the SDK adds to every content-less tool result (the
 * 2026-07-28 CallToolResult schema requires it); a client that ignores `resultType` sees no result.
 */
function createTaskResult(record: TaskRecord): CreateTaskResult {
  return { resultType: "task", content: [], taskId: record.taskId, ...taskFields(record) };
}

/** tasks/get's answer: the task, its pending asks while input_required, its result or error once ended. */
function detailedTask(record: TaskRecord): Record<string, unknown> {
  return {
    resultType: "complete",
    ...taskFields(record),
    ...(record.status === "input_required" && record.inputRequests ? { inputRequests: record.inputRequests } : {}),
    ...(record.status === "completed" && record.result ? { result: record.result } : {}),
    ...(record.status === "failed" && record.error ? { error: record.error } : {}),
  };
}
