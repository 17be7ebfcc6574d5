/**
 * The conformance fixture's tools: the names and result shapes the official MCP conformance suite
 * (`@modelcontextprotocol/conformance`) calls, declared with the kit's `defineTool` like any domain
 * tool, so the suite tests the kit's own path (gate, policy, validation, progress, logging, error
 * mapping, recording). Results are fixed test content; nothing here reaches an upstream.
 */
import { z } from "zod";
import { ToolError, toolsFor } from "../../shared/mcp";
import { askTools } from "./test.ask.tools";
import { taskTools } from "./test.tasks.tools";

const defineTool = toolsFor<Record<string, never>>();

const READ = { scopes: ["test:read"], services: true } as const;
const FIXED = { readOnlyHint: true, openWorldHint: false } as const;

/** A 1×1 transparent PNG. */
const PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==";
/** A 44-byte WAV header with no samples (PCM, mono, 8 kHz, 8-bit). */
const WAV = "UklGRiQAAABXQVZFZm10IBAAAAABAAEAQB8AAEAfAAABAAgAZGF0YQAAAAA=";

export const simpleText = defineTool({
  name: "test_simple_text",
  description: "Return one fixed text content item.",
  input: {},
  annotations: FIXED,
  access: READ,
  minutesSaved: 0,
  async run() {
    return "This is a simple text response for testing.";
  },
});

export const imageContent = defineTool({
  name: "test_image_content",
  description: "Return one image content item (a 1×1 PNG).",
  input: {},
  annotations: FIXED,
  access: READ,
  minutesSaved: 0,
  async run() {
    return { content: [{ type: "image", data: PNG, mimeType: "image/png" }] };
  },
});

export const audioContent = defineTool({
  name: "test_audio_content",
  description: "Return one audio content item (an empty WAV).",
  input: {},
  annotations: FIXED,
  access: READ,
  minutesSaved: 0,
  async run() {
    return { content: [{ type: "audio", data: WAV, mimeType: "audio/wav" }] };
  },
});

export const embeddedResource = defineTool({
  name: "test_embedded_resource",
  description: "Return one embedded text resource (test://embedded-resource).",
  input: {},
  annotations: FIXED,
  access: READ,
  minutesSaved: 0,
  async run() {
    return {
      content: [
        {
          type: "resource",
          resource: {
            uri: "test://embedded-resource",
            mimeType: "text/plain",
            text: "This is an embedded resource content.",
          },
        },
      ],
    };
  },
});

export const multipleContentTypes = defineTool({
  name: "test_multiple_content_types",
  description: "Return text, an image and an embedded resource (test://mixed-content-resource) in one result.",
  input: {},
  annotations: FIXED,
  access: READ,
  minutesSaved: 0,
  async run() {
    return {
      content: [
        { type: "text", text: "Multiple content types test:" },
        { type: "image", data: PNG, mimeType: "image/png" },
        {
          type: "resource",
          resource: {
            uri: "test://mixed-content-resource",
            mimeType: "application/json",
            text: JSON.stringify({ test: "data", value: 123 }),
          },
        },
      ],
    };
  },
});

export const errorHandling = defineTool({
  name: "test_error_handling",
  description: "Always fail: the kit maps the tool's error to an `isError` result with its message.",
  input: {},
  annotations: FIXED,
  access: READ,
  minutesSaved: 0,
  async run() {
    throw new ToolError("This tool intentionally returns an error for testing", "upstream_rejected");
  },
});

export const toolWithProgress = defineTool({
  name: "test_tool_with_progress",
  description: "Report progress three times (0, 50, 100 of 100), then finish.",
  input: {},
  annotations: FIXED,
  access: READ,
  minutesSaved: 0,
  async run(_args, ctx) {
    for (const done of [0, 50, 100]) await ctx.progress(done, 100, `${done}% done`);
    return "Progress test completed.";
  },
});

export const toolWithLogging = defineTool({
  name: "test_tool_with_logging",
  description: "Send three log messages during the call, then finish.",
  input: {},
  annotations: FIXED,
  access: READ,
  minutesSaved: 0,
  async run(_args, ctx) {
    for (const step of ["Tool execution started", "Tool processing data", "Tool execution completed"]) {
      await ctx.log("info", step);
    }
    return "Logging test completed.";
  },
});

/** server-stateless probes it to check that no log reaches a 2026-07-28 request without `logLevel`. */
export const loggingTool = defineTool({
  name: "test_logging_tool",
  description: "Log one message during the call (sent only when the request asked for logs).",
  input: {},
  annotations: FIXED,
  access: READ,
  minutesSaved: 0,
  async run(_args, ctx) {
    await ctx.log("info", "test_logging_tool ran");
    return "Logged.";
  },
});

/** For the kit's tests: says a resource changed (subscribed 2025 sessions hear notifications/resources/updated). */
export const touchResource = defineTool({
  name: "test_touch_resource",
  description: "Say that a resource changed.",
  input: { uri: z.string().describe("The resource's URI") },
  annotations: FIXED,
  access: READ,
  minutesSaved: 0,
  async run({ uri }, ctx) {
    await ctx.resourceUpdated(uri);
    return `updated ${uri}`;
  },
});

export const testTools = [
  simpleText,
  imageContent,
  audioContent,
  embeddedResource,
  multipleContentTypes,
  errorHandling,
  toolWithProgress,
  toolWithLogging,
  loggingTool,
  touchResource,
  ...askTools,
  ...taskTools,
];
