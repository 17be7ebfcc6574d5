/**
 * resources/*, prompts/* and completion/complete on the kit's SDK server (mcp.server.ts), the same
 * in every era: what a caller may not use is hidden from the lists and refused when named (and
 * audited), as tools are; arguments and template variables are validated with zod (-32602 naming
 * the argument); an unknown URI is -32602 with `data.uri` (SEP-2164, the SDK's
 * ResourceNotFoundError). 2025 sessions may subscribe to a resource (kept in the session's
 * storage, bounded); 2026-07-28 has no resources/subscribe. A prompt that asks the client does so
 * through ClientAsks: pushed over a 2025 session, input_required rounds on 2026-07-28.
 * The SDK fills the 2026-07-28 cache hints (ttlMs 0, cacheScope private: the lists depend on who asks).
 */
import {
  type CompleteResult,
  type GetPromptResult,
  type InputRequiredResult,
  ProtocolError,
  ProtocolErrorCode,
  type ReadResourceResult,
  ResourceNotFoundError,
  type Server,
  type ServerContext,
} from "@modelcontextprotocol/server";
import type { Caller } from "../auth/caller";
import { checkToolAccess, type Decision, type ToolAccess } from "../auth/policy";
import { type ClientAsks, clientAsks, noAsks } from "./ask";
import { ModernAskRound } from "./ask.modern";
import { sessionAsker } from "./ask.session";
import { ToolError } from "./errors";
import type { ModernServing } from "./mcp.server";
import { describePrompt, type Prompt, type PromptContext, toGetPromptResult } from "./prompt";
import {
  describeResource,
  describeResourceTemplate,
  findResource,
  type Resource,
  type ResourceContext,
  type ResourceOutput,
} from "./resource";
import type { ServerSpec } from "./server.definition";
import { MAX_SUBSCRIPTION_URI_CHARS } from "./session.subscriptions";
import { describeInvalidArguments } from "./tool";
import { approvalTimeoutMs, digestArguments, type InvocationRuntime } from "./tool.invoke";

/** At most this many values in one completion (the spec's cap). */
const MAX_COMPLETIONS = 100;

/** The capabilities a server's declarations call for (none when it declares neither). */
export function resourceCapabilities(spec: ServerSpec<unknown>, modern: boolean) {
  const resources = spec.resources ?? [];
  const prompts = spec.prompts ?? [];
  const completes = [...resources, ...prompts].some((declared) => Object.keys(declared.complete).length > 0);
  return {
    // 2026-07-28 has no resources/subscribe (subscriptions/listen, not offered yet).
    ...(resources.length > 0
      ? { resources: modern ? { listChanged: false } : { subscribe: true, listChanged: false } }
      : {}),
    ...(prompts.length > 0 ? { prompts: { listChanged: false } } : {}),
    ...(completes ? { completions: {} } : {}),
  };
}

export function serveResourcesAndPrompts<Upstreams>(
  server: Server,
  spec: ServerSpec<Upstreams>,
  runtime: InvocationRuntime<Upstreams>,
  callerOf: (ctx: ServerContext) => Caller,
  modern: ModernServing | undefined,
): void {
  const resources = spec.resources ?? [];
  const prompts = spec.prompts ?? [];
  const allowed = (declared: { name: string; access: ToolAccess }, caller: Caller) => access(declared, caller).allowed;

  /** The resource a request names, checked: unknown → -32602 (data.uri); not the caller's → refused and audited. */
  const resolve = (uri: string, ctx: ServerContext, action: string) => {
    const found = findResource(resources, uri);
    if (!found) throw new ResourceNotFoundError(uri);
    const caller = callerOf(ctx);
    const decision = access(found.resource, caller);
    if (!decision.allowed) {
      runtime.auditDenial(caller, `${action} ${shorten(uri)}`, decision.reason);
      throw new ProtocolError(
        ProtocolErrorCode.InvalidParams,
        `Access denied: ${decision.reason} (missing ${decision.missing})`,
        { uri },
      );
    }
    return { ...found, caller };
  };

  if (resources.length > 0) {
    server.setRequestHandler("resources/list", async (_request, ctx) => {
      const caller = callerOf(ctx);
      return {
        resources: resources.filter((r) => r.uri !== undefined && allowed(r, caller)).map(describeResource),
      };
    });
    server.setRequestHandler("resources/templates/list", async (_request, ctx) => {
      const caller = callerOf(ctx);
      return {
        resourceTemplates: resources
          .filter((r) => r.template !== undefined && allowed(r, caller))
          .map(describeResourceTemplate),
      };
    });
    server.setRequestHandler("resources/read", async (request, ctx): Promise<ReadResourceResult> => {
      const { uri } = request.params;
      const { resource, variables, caller } = resolve(uri, ctx, "resources/read");
      const parsed = resource.schema.safeParse(variables);
      if (!parsed.success) {
        throw new ProtocolError(
          ProtocolErrorCode.InvalidParams,
          describeInvalidArguments(`resource ${shorten(uri)}`, parsed.error),
          { uri },
        );
      }
      const output = await mapped(`resource ${resource.name}`, () =>
        resource.read(parsed.data as Record<string, unknown>, contextFor(runtime, caller, ctx)),
      );
      return { contents: toContents(uri, resource, output) };
    });
    if (!modern) {
      server.setRequestHandler("resources/subscribe", async (request, ctx) => {
        const { uri } = request.params;
        // Before anything else: a session keeps what it subscribes to, so a URI's length is bounded.
        if (uri.length > MAX_SUBSCRIPTION_URI_CHARS) {
          throw new ProtocolError(
            ProtocolErrorCode.InvalidParams,
            `Invalid uri: at most ${MAX_SUBSCRIPTION_URI_CHARS} characters for a subscription (got ${uri.length})`,
            { uri: shorten(uri) },
          );
        }
        resolve(uri, ctx, "resources/subscribe");
        if (!runtime.subscriptions) {
          throw new ProtocolError(ProtocolErrorCode.InvalidRequest, "Subscriptions need a session on this server");
        }
        if (!runtime.subscriptions.add(uri)) {
          throw new ProtocolError(
            ProtocolErrorCode.InvalidParams,
            `Too many subscriptions: at most ${runtime.subscriptions.max} per session; unsubscribe from one first`,
            { uri },
          );
        }
        return {};
      });
      server.setRequestHandler("resources/unsubscribe", async (request) => {
        // Unsubscribing from what one is not subscribed to is harmless: nothing to refuse.
        runtime.subscriptions?.remove(request.params.uri);
        return {};
      });
    }
  }

  const byName = new Map(prompts.map((prompt) => [prompt.name, prompt]));
  /** The prompt a request names, checked as a resource is (unknown → -32602; not the caller's → refused, audited). */
  const resolvePrompt = (name: string, ctx: ServerContext, action: string) => {
    const prompt = byName.get(name);
    if (!prompt) {
      throw new ProtocolError(
        ProtocolErrorCode.InvalidParams,
        `Unknown prompt "${shorten(name)}" on the ${spec.name} server`,
      );
    }
    const caller = callerOf(ctx);
    const decision = access(prompt, caller);
    if (!decision.allowed) {
      runtime.auditDenial(caller, `${action} ${prompt.name}`, decision.reason);
      throw new ProtocolError(
        ProtocolErrorCode.InvalidParams,
        `Access denied: ${decision.reason} (missing ${decision.missing})`,
      );
    }
    return { prompt, caller };
  };

  if (prompts.length > 0) {
    server.setRequestHandler("prompts/list", async (_request, ctx) => {
      const caller = callerOf(ctx);
      return { prompts: prompts.filter((prompt) => allowed(prompt, caller)).map(describePrompt) };
    });
    server.setRequestHandler("prompts/get", async (request, ctx): Promise<GetPromptResult | InputRequiredResult> => {
      const { prompt, caller } = resolvePrompt(request.params.name, ctx, "prompts/get");
      const given = request.params.arguments ?? {};
      const parsed = prompt.schema.safeParse(given);
      if (!parsed.success) {
        throw new ProtocolError(
          ProtocolErrorCode.InvalidParams,
          describeInvalidArguments(`prompt ${prompt.name}`, parsed.error),
        );
      }
      const args = parsed.data as Record<string, unknown>;
      return getPrompt(runtime, spec.name, prompt, args, digestArguments(given), caller, server, ctx, modern);
    });
  }

  const completing = [...resources, ...prompts].some((declared) => Object.keys(declared.complete).length > 0);
  if (completing) {
    server.setRequestHandler("completion/complete", async (request, ctx): Promise<CompleteResult> => {
      const { ref, argument } = request.params;
      let complete: Resource<Upstreams>["complete"];
      let caller: Caller;
      if (ref.type === "ref/prompt") {
        const resolved = resolvePrompt(ref.name, ctx, "completion/complete");
        ({ caller } = resolved);
        complete = resolved.prompt.complete;
      } else {
        // A template's completions: the ref names the template itself (its uriTemplate).
        const resource = resources.find((candidate) => candidate.uriTemplate === ref.uri);
        if (!resource) throw new ResourceNotFoundError(ref.uri);
        caller = callerOf(ctx);
        const decision = access(resource, caller);
        if (!decision.allowed) {
          runtime.auditDenial(caller, `completion/complete ${shorten(ref.uri)}`, decision.reason);
          throw new ProtocolError(
            ProtocolErrorCode.InvalidParams,
            `Access denied: ${decision.reason} (missing ${decision.missing})`,
            { uri: ref.uri },
          );
        }
        complete = resource.complete;
      }
      const fn = complete[argument.name];
      if (!fn) return { completion: { values: [], total: 0, hasMore: false } };
      const context = { ...contextFor(runtime, caller, ctx), arguments: request.params.context?.arguments ?? {} };
      const values = await mapped(`completion of ${argument.name}`, async () => fn(argument.value, context));
      const strings = [...new Set(values.filter((value): value is string => typeof value === "string"))];
      return {
        completion: {
          values: strings.slice(0, MAX_COMPLETIONS),
          total: strings.length,
          hasMore: strings.length > MAX_COMPLETIONS,
        },
      };
    });
  }
}

/** A resource or prompt's access: the tool policy (groups, scopes, services); nothing here needs approval. */
function access(declared: { name: string; access: ToolAccess }, caller: Caller): Decision {
  return checkToolAccess({ name: declared.name, access: declared.access, needsApproval: false }, caller);
}

async function getPrompt<Upstreams>(
  runtime: InvocationRuntime<Upstreams>,
  serverName: string,
  prompt: Prompt<Upstreams>,
  args: Record<string, unknown>,
  argsDigest: string,
  caller: Caller,
  server: Server,
  ctx: ServerContext,
  modern: ModernServing | undefined,
): Promise<GetPromptResult | InputRequiredResult> {
  const label = `prompt ${prompt.name}`;
  const base = contextFor(runtime, caller, ctx);
  if (prompt.asks.length === 0) {
    const context: PromptContext<Upstreams> = { ...base, ...noAsks(prompt.name, "Prompt") };
    return toGetPromptResult(await mapped(label, () => prompt.get(args, context)));
  }
  if (!modern) {
    const asker = sessionAsker({
      server,
      requestId: ctx.mcpReq.id,
      signal: ctx.mcpReq.signal,
      timeoutMs: approvalTimeoutMs(runtime.env),
    });
    const asks: ClientAsks = clientAsks(prompt.name, prompt.asks, asker, "Prompt");
    return toGetPromptResult(await mapped(label, () => prompt.get(args, { ...base, ...asks })));
  }
  if (!modern.codec) {
    console.error(`${serverName}: APPROVAL_STATE_KEY (at least 32 bytes) must be set to ask clients on 2026-07-28`);
    throw new ProtocolError(
      ProtocolErrorCode.InternalError,
      "This server cannot ask the client anything on protocol 2026-07-28 yet",
    );
  }
  const round = await ModernAskRound.open({
    round: { codec: modern.codec, ctx, consumeNonce: modern.consumeNonce },
    caller,
    server: serverName,
    // Not a tool's name (tools have no ":"): a tool call's state never answers a prompt, nor the reverse.
    tool: `prompt:${prompt.name}`,
    argsDigest,
  });
  if (!(round instanceof ModernAskRound)) {
    runtime.auditDenial(caller, `prompts/get ${prompt.name}`, `request state refused: ${round.refused}`);
    throw new ProtocolError(
      ProtocolErrorCode.InvalidParams,
      `Refused: ${round.refused}; ask again without requestState`,
    );
  }
  const asks = clientAsks(prompt.name, prompt.asks, round, "Prompt");
  const settled = await mapped(label, () => round.settle(() => prompt.get(args, { ...base, ...asks })));
  return "ask" in settled ? settled.ask : toGetPromptResult(settled.output);
}

function contextFor<Upstreams>(
  runtime: InvocationRuntime<Upstreams>,
  caller: Caller,
  ctx: ServerContext,
): ResourceContext<Upstreams> {
  return {
    caller,
    env: runtime.env,
    get upstream() {
      return runtime.upstreams();
    },
    signal: ctx.mcpReq.signal,
  };
}

/**
 * A handler's failure as a JSON-RPC error (resources and prompts have no error results): a
 * ToolError's message (bad arguments, denials: -32602), anything else an internal error with a
 * reference the owners can look up.
 */
async function mapped<T>(label: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    if (error instanceof ProtocolError) throw error;
    if (error instanceof ToolError) {
      const invalid = error.errorClass === "bad_arguments" || error.errorClass === "denied";
      const text = error.retriable ? `${error.message} (retriable)` : error.message;
      throw new ProtocolError(invalid ? ProtocolErrorCode.InvalidParams : ProtocolErrorCode.InternalError, text);
    }
    const ref = crypto.randomUUID().slice(0, 8);
    console.error(`${label} failed (ref ${ref})`, error);
    throw new ProtocolError(
      ProtocolErrorCode.InternalError,
      `Internal error in ${label} (ref ${ref}); the server's owners can look it up`,
    );
  }
}

function toContents(uri: string, resource: Resource<unknown>, output: ResourceOutput): ReadResourceResult["contents"] {
  const parts = typeof output === "string" ? [{ text: output }] : Array.isArray(output) ? output : [output];
  if (parts.length === 0) {
    // SEP-2164: never an empty contents array; a resource with nothing in it says so in text.
    throw new ProtocolError(ProtocolErrorCode.InternalError, `resource ${resource.name} returned no contents`);
  }
  return parts.map((part) => {
    const mimeType = part.mimeType ?? resource.mimeType;
    const common = { uri: part.uri ?? uri, ...(mimeType ? { mimeType } : {}) };
    return "blob" in part ? { ...common, blob: part.blob } : { ...common, text: part.text };
  });
}

function shorten(value: string): string {
  return value.length > 200 ? `${value.slice(0, 200)}…` : value;
}
