/**
 * The conformance fixture's resources and prompts: the URIs, names and contents the official MCP
 * conformance suite reads (resources-*, prompts-*, completion-complete, caching,
 * input-required-result-non-tool-request), declared with the kit's `defineResource` /
 * `definePrompt`, plus a few the kit's own tests use (hidden by group or scope, a validated
 * template variable, a failing read). Fixed test content; nothing reaches an upstream.
 */
import { z } from "zod";
import { promptsFor, resourcesFor, ToolError } from "../../shared/mcp";

const defineResource = resourcesFor<Record<string, never>>();
const definePrompt = promptsFor<Record<string, never>>();

/** A 1×1 transparent PNG. */
const PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==";

export const testResources = [
  defineResource({
    uri: "test://static-text",
    name: "static-text",
    title: "Static text",
    description: "A fixed text resource.",
    mimeType: "text/plain",
    async read() {
      return "This is the content of the static text resource.";
    },
  }),
  defineResource({
    uri: "test://static-binary",
    name: "static-binary",
    description: "A fixed binary resource (a 1×1 PNG).",
    mimeType: "image/png",
    async read() {
      return { blob: PNG };
    },
  }),
  defineResource({
    uri: "test://watched-resource",
    name: "watched-resource",
    description: "A resource clients may subscribe to (2025 sessions).",
    mimeType: "text/plain",
    async read() {
      return "Watched resource content.";
    },
  }),
  defineResource({
    uriTemplate: "test://template/{id}/data",
    name: "template-data",
    description: "Data for one id (a resource template).",
    mimeType: "application/json",
    args: {
      id: z
        .string()
        .regex(/^[0-9]+$/, "must be digits")
        .describe("The record's id (digits)"),
    },
    complete: {
      id: (prefix) => ["123", "124", "200"].filter((id) => id.startsWith(prefix)),
    },
    async read({ id }) {
      return JSON.stringify({ id, templateTest: true, data: `Data for ID: ${id}` });
    },
  }),
  // For the kit's tests: hidden from callers outside the group, refused when named.
  defineResource({
    uri: "test://finance-only",
    name: "finance-only",
    description: "Readable by the finance group only.",
    mimeType: "text/plain",
    access: { groups: ["finance"] },
    async read() {
      return "finance figures";
    },
  }),
  defineResource({
    uri: "test://broken",
    name: "broken",
    description: "A resource whose read fails (the kit answers an internal error with a reference).",
    access: { services: true },
    async read(): Promise<string> {
      throw new Error("disk on fire");
    },
  }),
  defineResource({
    uri: "test://caller",
    name: "caller",
    description: "Who is reading (users and services).",
    mimeType: "text/plain",
    access: { services: true },
    async read(_args, ctx) {
      return `${ctx.caller.kind}:${ctx.caller.name}`;
    },
  }),
];

export const testPrompts = [
  definePrompt({
    name: "test_simple_prompt",
    description: "A prompt without arguments.",
    access: { services: true },
    async get() {
      return "This is a simple prompt for testing.";
    },
  }),
  definePrompt({
    name: "test_prompt_with_arguments",
    description: "A prompt with two required arguments.",
    args: {
      arg1: z.string().describe("First test argument"),
      arg2: z.string().describe("Second test argument"),
    },
    complete: {
      arg1: (prefix) => ["test", "testValue1", "other"].filter((value) => value.startsWith(prefix)),
    },
    async get({ arg1, arg2 }) {
      return `Prompt with arguments: arg1='${arg1}', arg2='${arg2}'`;
    },
  }),
  definePrompt({
    name: "test_prompt_with_embedded_resource",
    description: "A prompt embedding the resource it is given.",
    args: { resourceUri: z.string().min(1).describe("URI of the resource to embed") },
    async get({ resourceUri }) {
      return [
        {
          role: "user",
          content: {
            type: "resource",
            resource: { uri: resourceUri, mimeType: "text/plain", text: "Embedded resource content for testing." },
          },
        },
        { role: "user", content: { type: "text", text: "Please process the embedded resource above." } },
      ];
    },
  }),
  definePrompt({
    name: "test_prompt_with_image",
    description: "A prompt with an image (a 1×1 PNG).",
    async get() {
      return [
        { role: "user", content: { type: "image", data: PNG, mimeType: "image/png" } },
        { role: "user", content: { type: "text", text: "Please analyze the image above." } },
      ];
    },
  }),
  definePrompt({
    name: "test_input_required_result_prompt",
    description: "A prompt that asks the human for context first (elicitation).",
    asks: ["elicitation"],
    async get(_args, ctx) {
      const answer = await ctx.elicit(
        {
          message: "What context should the prompt use?",
          requestedSchema: { type: "object", properties: { context: { type: "string" } }, required: ["context"] },
        },
        { key: "user_context" },
      );
      if (answer.action !== "accept") throw new ToolError(`No context given (${answer.action})`, "bad_arguments");
      return `Use this context: ${String(answer.content?.context)}`;
    },
  }),
  // For the kit's tests: needs a scope the fixture's callers usually lack.
  definePrompt({
    name: "test_write_prompt",
    description: "A prompt for callers holding test:write.",
    access: { scopes: ["test:write"] },
    async get() {
      return "writer's prompt";
    },
  }),
];
