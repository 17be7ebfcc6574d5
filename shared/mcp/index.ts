export * from "./errors";
export { defineServer } from "./server";
export type { ExampleCall, KitEnv, ServerSpec } from "./server.definition";
export { type ApprovalRequest, type Tool, type ToolContext, toolsFor } from "./tool";
