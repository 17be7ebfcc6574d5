/**
 * `registry_feedback`: one tool, on the registry's MCP server, for rating a call of any server in
 * the fleet. One tool for the whole fleet costs an agent's context one short description once,
 * where a feedback tool per server would repeat it in every server's tools/list; the invocation
 * id in each result's `_meta` (`fleet/invocationId`) says which call is meant.
 */
import { z } from "zod";
import { BadArgumentError, ToolError, toolsFor } from "../../shared/mcp";
import type { RegistryUpstreams } from "../registry.tools";
import { recordFeedback } from "./analytics.feedback";
import { MAX_FEEDBACK_MINUTES } from "./analytics.feedback.rules";

const defineTool = toolsFor<RegistryUpstreams>();

export const feedbackTool = defineTool({
  name: "registry_feedback",
  description:
    "Rate one of your own MCP Fleet tool calls once: did it help, and optionally how many minutes it saved. " +
    "invocationId is `fleet/invocationId` from that call's result _meta.",
  input: {
    invocationId: z.string().trim().min(1).max(64).describe("The call's fleet/invocationId (from its result _meta)"),
    helped: z.boolean().describe("Whether the call helped"),
    minutes: z
      .number()
      .min(0)
      .max(MAX_FEEDBACK_MINUTES)
      .optional()
      .describe(`Minutes it really saved (only if it helped; at most ${MAX_FEEDBACK_MINUTES})`),
  },
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  // The kit asks a write scope of every tool that changes something: a token consented only for
  // reading gets the step-up challenge for registry:write on its first rating.
  access: { scopes: ["registry:write"], services: true },
  minutesSaved: 0,
  async run({ invocationId, helped, minutes }, ctx) {
    const answer = await recordFeedback(ctx.upstream.db, ctx.caller, { invocationId, helped, minutes });
    if (answer.ok) return `Thanks: your rating of ${answer.server}/${answer.tool} (${invocationId}) is recorded.`;
    if (answer.status === 400) throw new BadArgumentError("minutes", answer.reason);
    if (answer.status === 404) throw new BadArgumentError("invocationId", answer.reason);
    throw new ToolError(answer.reason, answer.status === 403 ? "denied" : "bad_arguments");
  },
});
