/**
 * The conformance fixture's tools that ask the client (ctx.elicit, ctx.sample, ctx.listRoots):
 * the names, keys and schemas the official suite's elicitation, sampling and input_required
 * scenarios call. Declared like any domain tool; the kit carries the asks in each era (pushed in a
 * 2025 session, input_required rounds on 2026-07-28).
 */
import { z } from "zod";
import { toolsFor } from "../../shared/mcp";

const defineTool = toolsFor<Record<string, never>>();

const READ = { scopes: ["test:read"], services: true } as const;
const FIXED = { readOnlyHint: true, openWorldHint: false } as const;
const NAME_FORM = {
  type: "object" as const,
  properties: { name: { type: "string" as const } },
  required: ["name"],
};

export const sampling = defineTool({
  name: "test_sampling",
  description: "Ask the client's model to complete `prompt` (sampling/createMessage) and return its answer.",
  input: { prompt: z.string().describe("The prompt sent to the client's model") },
  annotations: FIXED,
  access: READ,
  minutesSaved: 0,
  asks: ["sampling"],
  async run({ prompt }, ctx) {
    const answer = await ctx.sample({
      messages: [{ role: "user", content: { type: "text", text: prompt } }],
      maxTokens: 100,
    });
    const text = answer.content.type === "text" ? answer.content.text : `(${answer.content.type})`;
    return `LLM response: ${text}`;
  },
});

export const elicitation = defineTool({
  name: "test_elicitation",
  description: "Ask the human for a username and an email (form elicitation) and return the answer.",
  input: { message: z.string().describe("The message shown to the human") },
  annotations: FIXED,
  access: READ,
  minutesSaved: 0,
  asks: ["elicitation"],
  async run({ message }, ctx) {
    const answer = await ctx.elicit({
      message,
      requestedSchema: {
        type: "object",
        properties: {
          username: { type: "string", description: "User's response" },
          email: { type: "string", description: "User's email address" },
        },
        required: ["username", "email"],
      },
    });
    return `User response: action=${answer.action}, content=${JSON.stringify(answer.content ?? {})}`;
  },
});

export const elicitationDefaults = defineTool({
  name: "test_elicitation_sep1034_defaults",
  description: "Ask for a form whose every primitive field has a default (SEP-1034).",
  input: {},
  annotations: FIXED,
  access: READ,
  minutesSaved: 0,
  asks: ["elicitation"],
  async run(_args, ctx) {
    const answer = await ctx.elicit({
      message: "Please review and update the form fields with defaults",
      requestedSchema: {
        type: "object",
        properties: {
          name: { type: "string", description: "User name", default: "John Doe" },
          age: { type: "integer", description: "User age", default: 30 },
          score: { type: "number", description: "User score", default: 95.5 },
          status: {
            type: "string",
            description: "User status",
            enum: ["active", "inactive", "pending"],
            default: "active",
          },
          verified: { type: "boolean", description: "Verification status", default: true },
        },
        required: [],
      },
    });
    return `Elicitation completed: action=${answer.action}, content=${JSON.stringify(answer.content ?? {})}`;
  },
});

export const elicitationEnums = defineTool({
  name: "test_elicitation_sep1330_enums",
  description: "Ask for a form with the five enum shapes of SEP-1330 (single and multi select, titled or not).",
  input: {},
  annotations: FIXED,
  access: READ,
  minutesSaved: 0,
  asks: ["elicitation"],
  async run(_args, ctx) {
    const answer = await ctx.elicit({
      message: "Please select options from the enum fields",
      requestedSchema: {
        type: "object",
        properties: {
          untitledSingle: {
            type: "string",
            description: "Untitled single-select",
            enum: ["option1", "option2", "option3"],
          },
          titledSingle: {
            type: "string",
            description: "Titled single-select",
            oneOf: [
              { const: "value1", title: "First Option" },
              { const: "value2", title: "Second Option" },
              { const: "value3", title: "Third Option" },
            ],
          },
          legacyEnum: {
            type: "string",
            description: "Legacy titled enum",
            enum: ["opt1", "opt2", "opt3"],
            enumNames: ["Option One", "Option Two", "Option Three"],
          },
          untitledMulti: {
            type: "array",
            description: "Untitled multi-select",
            items: { type: "string", enum: ["option1", "option2", "option3"] },
          },
          titledMulti: {
            type: "array",
            description: "Titled multi-select",
            items: {
              anyOf: [
                { const: "value1", title: "First Choice" },
                { const: "value2", title: "Second Choice" },
                { const: "value3", title: "Third Choice" },
              ],
            },
          },
        },
        required: [],
      },
    });
    return `Elicitation completed: action=${answer.action}, content=${JSON.stringify(answer.content ?? {})}`;
  },
});

/** server-stateless: called without the sampling capability, it must be refused with -32021. */
export const missingCapability = defineTool({
  name: "test_missing_capability",
  description: "Ask the client's model for a completion; a client without sampling is refused (-32021).",
  input: {},
  annotations: FIXED,
  access: READ,
  minutesSaved: 0,
  asks: ["sampling"],
  async run(_args, ctx) {
    const answer = await ctx.sample({
      messages: [{ role: "user", content: { type: "text", text: "Say hello" } }],
      maxTokens: 20,
    });
    return `Sampled: ${answer.content.type === "text" ? answer.content.text : answer.content.type}`;
  },
});

/** server-stateless: its answer stream must carry no server-to-client request (only input_required). */
export const streamingElicitation = defineTool({
  name: "test_streaming_elicitation",
  description: "Report progress, then ask the human to confirm (form elicitation).",
  input: {},
  annotations: FIXED,
  access: READ,
  minutesSaved: 0,
  asks: ["elicitation"],
  async run(_args, ctx) {
    await ctx.progress(0, 1, "asking");
    const answer = await ctx.elicit(
      {
        message: "Please confirm",
        requestedSchema: { type: "object", properties: { ok: { type: "boolean" } }, required: ["ok"] },
      },
      { key: "confirm" },
    );
    return `Confirmed: ${answer.action}`;
  },
});

export const inputRequiredElicitation = defineTool({
  name: "test_input_required_result_elicitation",
  description: "Ask the human's name (key user_name), then greet them.",
  input: {},
  annotations: FIXED,
  access: READ,
  minutesSaved: 0,
  asks: ["elicitation"],
  async run(_args, ctx) {
    const answer = await ctx.elicit(
      { message: "What is your name?", requestedSchema: NAME_FORM },
      { key: "user_name" },
    );
    return answer.action === "accept" ? `Hello, ${answer.content?.name}!` : `No name given (${answer.action})`;
  },
});

export const inputRequiredSampling = defineTool({
  name: "test_input_required_result_sampling",
  description: "Ask the client's model a question (key capital_question) and return its answer.",
  input: {},
  annotations: FIXED,
  access: READ,
  minutesSaved: 0,
  asks: ["sampling"],
  async run(_args, ctx) {
    const answer = await ctx.sample(
      {
        messages: [{ role: "user", content: { type: "text", text: "What is the capital of France?" } }],
        maxTokens: 100,
      },
      { key: "capital_question" },
    );
    return answer.content.type === "text" ? answer.content.text : `(${answer.content.type})`;
  },
});

export const inputRequiredRoots = defineTool({
  name: "test_input_required_result_list_roots",
  description: "Ask the client's roots (key client_roots) and list them.",
  input: {},
  annotations: FIXED,
  access: READ,
  minutesSaved: 0,
  asks: ["roots"],
  async run(_args, ctx) {
    const roots = await ctx.listRoots({ key: "client_roots" });
    return `Roots: ${roots.map((root) => root.uri).join(", ") || "(none)"}`;
  },
});

export const inputRequiredState = defineTool({
  name: "test_input_required_result_request_state",
  description: "Ask for a confirmation (key confirm); the answer arrives with the signed request state.",
  input: {},
  annotations: FIXED,
  access: READ,
  minutesSaved: 0,
  asks: ["elicitation"],
  async run(_args, ctx) {
    const answer = await ctx.elicit(
      {
        message: "Please confirm",
        requestedSchema: { type: "object", properties: { ok: { type: "boolean" } }, required: ["ok"] },
      },
      { key: "confirm" },
    );
    return `state-ok: ${answer.action}`;
  },
});

export const inputRequiredTampered = defineTool({
  name: "test_input_required_result_tampered_state",
  description: "Ask for a confirmation; a retry with altered request state is refused.",
  input: {},
  annotations: FIXED,
  access: READ,
  minutesSaved: 0,
  asks: ["elicitation"],
  async run(_args, ctx) {
    const answer = await ctx.elicit(
      {
        message: "Please confirm",
        requestedSchema: { type: "object", properties: { ok: { type: "boolean" } }, required: ["ok"] },
      },
      { key: "confirm" },
    );
    return `Confirmed: ${answer.action}`;
  },
});

export const inputRequiredMultiple = defineTool({
  name: "test_input_required_result_multiple_inputs",
  description: "Ask three things in one round: a name, a model's greeting and the client's roots.",
  input: {},
  annotations: FIXED,
  access: READ,
  minutesSaved: 0,
  asks: ["elicitation", "sampling", "roots"],
  async run(_args, ctx) {
    const [name, greeting, roots] = await Promise.all([
      ctx.elicit({ message: "What is your name?", requestedSchema: NAME_FORM }, { key: "user_name" }),
      ctx.sample(
        { messages: [{ role: "user", content: { type: "text", text: "Generate a greeting" } }], maxTokens: 50 },
        { key: "greeting" },
      ),
      ctx.listRoots({ key: "client_roots" }),
    ]);
    const said = greeting.content.type === "text" ? greeting.content.text : greeting.content.type;
    return `${said} ${name.content?.name ?? "(no name)"}; ${roots.length} root(s)`;
  },
});

export const inputRequiredMultiRound = defineTool({
  name: "test_input_required_result_multi_round",
  description: "Ask a name (step1), then a favourite colour (step2): two rounds.",
  input: {},
  annotations: FIXED,
  access: READ,
  minutesSaved: 0,
  asks: ["elicitation"],
  async run(_args, ctx) {
    const name = await ctx.elicit(
      { message: "Step 1: What is your name?", requestedSchema: NAME_FORM },
      { key: "step1" },
    );
    const color = await ctx.elicit(
      {
        message: "Step 2: What is your favorite color?",
        requestedSchema: { type: "object", properties: { color: { type: "string" } }, required: ["color"] },
      },
      { key: "step2" },
    );
    return `${name.content?.name} likes ${color.content?.color}`;
  },
});

/** input-required-result-capability-check: asks only what the request's capabilities cover. */
export const inputRequiredCapabilities = defineTool({
  name: "test_input_required_result_capabilities",
  description: "Ask the client only what it declared: a model completion (sampling) and/or a name (elicitation).",
  input: {},
  annotations: FIXED,
  access: READ,
  minutesSaved: 0,
  asks: ["elicitation", "sampling"],
  async run(_args, ctx) {
    const asked: Promise<unknown>[] = [];
    if (ctx.canAsk("sampling")) {
      const question = { role: "user" as const, content: { type: "text" as const, text: "Say hello" } };
      asked.push(ctx.sample({ messages: [question], maxTokens: 20 }, { key: "sampled" }));
    }
    if (ctx.canAsk("elicitation")) {
      asked.push(ctx.elicit({ message: "What is your name?", requestedSchema: NAME_FORM }, { key: "named" }));
    }
    await Promise.all(asked);
    return `Answered ${asked.length} question(s)`;
  },
});

/** URL-mode elicitation: the human opens a link (out of band); the answer says whether they did. */
export const urlElicitation = defineTool({
  name: "test_url_elicitation",
  description: "Ask the human to open a link (URL-mode elicitation) and report what they answered.",
  input: { url: z.string().url().describe("The link the human is asked to open") },
  annotations: FIXED,
  access: READ,
  minutesSaved: 0,
  asks: ["elicitation"],
  async run({ url }, ctx) {
    const answer = await ctx.elicit({ mode: "url", message: "Please sign in to continue", url }, { key: "sign_in" });
    return `Link answered: ${answer.action}`;
  },
});

export const askTools = [
  sampling,
  elicitation,
  elicitationDefaults,
  elicitationEnums,
  missingCapability,
  streamingElicitation,
  inputRequiredElicitation,
  inputRequiredSampling,
  inputRequiredRoots,
  inputRequiredState,
  inputRequiredTampered,
  inputRequiredMultiple,
  inputRequiredMultiRound,
  inputRequiredCapabilities,
  urlElicitation,
];
