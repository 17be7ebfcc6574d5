/**
 * Prompts a domain server offers: one declaration each (`definePrompt`), listed to the callers
 * that may use them, their arguments validated with zod (prompt arguments are strings in MCP),
 * completions per argument (completion/complete), and a `get` that may ask the client through the
 * same `ctx.elicit` / `ctx.sample` / `ctx.listRoots` as a tool (ask.ts): pushed over a 2025
 * session, `input_required` rounds on 2026-07-28. Served by resource.serve.ts.
 */
import type { GetPromptResult, Prompt as McpPrompt, PromptMessage } from "@modelcontextprotocol/server";
import { z } from "zod";
import type { Caller } from "../auth/caller";
import type { ToolAccess } from "../auth/policy";
import type { AskKind, ClientAsks } from "./ask";
import { type CompleteFn, DEFAULT_ACCESS } from "./resource";

/** What `get` gets besides its validated arguments; asks need `asks` declared, as for a tool. */
export interface PromptContext<Upstreams> extends ClientAsks {
  caller: Caller;
  env: Record<string, unknown>;
  upstream: Upstreams;
  signal: AbortSignal;
}

/** What `get` returns: one user text message, the messages, or a whole result (with a description). */
export type PromptOutput = string | PromptMessage[] | GetPromptResult;

export interface PromptSpec<Shape extends z.ZodRawShape, Upstreams> {
  /** snake_case, prefixed with the domain, as tools are (`echo_summarise_history`). */
  name: string;
  title?: string;
  description: string;
  /** Arguments: strings (optional ones with `.optional()`), each with a `.describe()`. */
  args?: Shape;
  /** Completions per argument: the values for what the user has typed so far. */
  complete?: { [Arg in keyof Shape & string]?: CompleteFn<Upstreams> };
  /** Who may get it, as for a tool; absent: every user the server admits, no services. */
  access?: ToolAccess;
  /** What `get` may ask the client (ctx.elicit, ctx.sample, ctx.listRoots). */
  asks?: AskKind[];
  get(args: z.output<z.ZodObject<Shape>>, ctx: PromptContext<Upstreams>): Promise<PromptOutput>;
}

/** A prompt as the kit holds it. */
export interface Prompt<Upstreams = unknown> {
  name: string;
  title: string | undefined;
  description: string;
  schema: z.ZodObject;
  arguments: { name: string; description: string; required: boolean }[];
  complete: Record<string, CompleteFn<Upstreams>>;
  access: ToolAccess;
  asks: readonly AskKind[];
  get(args: Record<string, unknown>, ctx: PromptContext<Upstreams>): Promise<PromptOutput>;
}

const PROMPT_NAME = /^[a-z][a-z0-9]*_[a-z0-9_]+$/;

/** Returns `definePrompt` typed for a server's upstream clients: `const definePrompt = promptsFor<EchoUpstreams>();` */
export function promptsFor<Upstreams>() {
  return function definePrompt<Shape extends z.ZodRawShape = Record<never, never>>(
    spec: PromptSpec<Shape, Upstreams>,
  ): Prompt<Upstreams> {
    if (!PROMPT_NAME.test(spec.name)) {
      throw new Error(
        `Prompt name "${spec.name}" must be snake_case and prefixed with its domain (e.g. echo_summarise)`,
      );
    }
    if (!spec.description) throw new Error(`Prompt ${spec.name}: needs a description`);
    const shape: z.ZodRawShape = spec.args ?? {};
    const args = Object.entries(shape).map(([name, schema]) => {
      const field = schema as z.ZodType;
      if (!field.description) throw new Error(`Prompt ${spec.name}: argument "${name}" needs a .describe()`);
      // Prompt arguments travel as strings (PromptArgument); a number would never validate.
      const probe = field.safeParse("x");
      if (!probe.success && !field.safeParse(undefined).success) {
        throw new Error(
          `Prompt ${spec.name}: argument "${name}" must accept strings (MCP prompt arguments are strings)`,
        );
      }
      return { name, description: field.description, required: !field.safeParse(undefined).success };
    });
    const complete = (spec.complete ?? {}) as Record<string, CompleteFn<Upstreams>>;
    for (const arg of Object.keys(complete)) {
      if (!(arg in shape))
        throw new Error(`Prompt ${spec.name}: complete names "${arg}", which is not one of its args`);
    }
    for (const kind of spec.asks ?? []) {
      if (!["elicitation", "sampling", "roots"].includes(kind)) {
        throw new Error(`Prompt ${spec.name}: asks "${kind}" must be one of "elicitation", "sampling", "roots"`);
      }
    }
    return {
      name: spec.name,
      title: spec.title,
      description: spec.description,
      schema: z.strictObject(shape),
      arguments: args,
      complete,
      access: spec.access ?? DEFAULT_ACCESS,
      asks: [...new Set(spec.asks ?? [])],
      get: spec.get as Prompt<Upstreams>["get"],
    };
  };
}

export function describePrompt(prompt: Prompt<unknown>): McpPrompt {
  return {
    name: prompt.name,
    ...(prompt.title ? { title: prompt.title } : {}),
    description: prompt.description,
    ...(prompt.arguments.length > 0 ? { arguments: prompt.arguments } : {}),
  };
}

export function toGetPromptResult(output: PromptOutput): GetPromptResult {
  if (typeof output === "string") return { messages: [{ role: "user", content: { type: "text", text: output } }] };
  if (Array.isArray(output)) return { messages: output };
  return output;
}
