export * from "./errors";
export type { Prompt, PromptContext, PromptOutput } from "./prompt";
export { promptsFor } from "./prompt";
export type { Resource, ResourceContext, ResourceOutput } from "./resource";
export { resourcesFor } from "./resource";
export { defineServer } from "./server";
export type { ExampleCall, KitEnv, ServerSpec } from "./server.definition";
export { type ApprovalRequest, type Tool, type ToolContext, toolsFor } from "./tool";
