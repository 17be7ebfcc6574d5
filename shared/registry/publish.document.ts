/**
 * The publish document: the official server.json a domain server describes itself with, plus
 * the fleet's publisher metadata (owner, environment, proposed access, its tools, resources,
 * resource templates and prompts as `defineTool`, `defineResource` and `definePrompt` declare
 * them). Each Worker serves it at PUBLISH_DOCUMENT_PATH; the pipeline fetches it from
 * the deployed Worker and POSTs it to the registry's /v0.1/publish.
 */
import { z } from "zod";
import type { ToolAccess } from "../auth/policy";
import type { Prompt } from "../mcp/prompt";
import type { Resource } from "../mcp/resource";
import type { ServerSpec } from "../mcp/server.definition";
import type { Tool } from "../mcp/tool";
import {
  type PromptManifest,
  PUBLISHER_META,
  type PublisherMeta,
  type ResourceManifest,
  type ResourceTemplateManifest,
  SERVER_SCHEMA_URL,
  type ServerJson,
  serverJsonSchema,
  type ToolManifest,
} from "./registry.contract";
import type { Inventory } from "./tool.digest";

/** Where every domain Worker serves its publish document (public, no token). */
export const PUBLISH_DOCUMENT_PATH = "/.well-known/mcp-fleet/server.json";
/** The namespace of published server names when REGISTRY_NAMESPACE is not set. */
export const DEFAULT_NAMESPACE = "com.example.mcp-fleet";
/** The environment a deployment runs in when FLEET_ENV is not set. */
export const DEFAULT_ENVIRONMENT = "production";

export interface PublishContext {
  /** The Worker's public origin; the document's remote is `${origin}/mcp`. */
  origin: string;
  /** The environment this deployment runs in (FLEET_ENV). */
  environment: string;
  /** Reverse-DNS namespace of the fleet's server names (REGISTRY_NAMESPACE). */
  namespace: string;
}

/** A server.json the kit built that the registry would refuse: a mistake in the spec or the Worker's vars. */
export class PublishDocumentError extends Error {
  readonly issues: { location: string; message: string }[];

  constructor(serverName: string, issues: { location: string; message: string }[]) {
    super(
      `The ${serverName} server's publish document is not a valid server.json: ` +
        issues.map((issue) => `${issue.location}: ${issue.message}`).join("; "),
    );
    this.name = "PublishDocumentError";
    this.issues = issues;
  }
}

/** Builds the server.json for `spec` as deployed at `context`, validated against `serverJsonSchema`. */
export function publishDocument(spec: ServerSpec<unknown>, context: PublishContext): ServerJson {
  const publisher: PublisherMeta = {
    team: spec.owner.team,
    supportChannel: spec.owner.supportChannel,
    onCall: spec.owner.onCall,
    environments: [context.environment],
    allowedGroups: [...(spec.access.groups ?? [])],
    allowedServices: serviceRule(spec.access.services),
    ...(spec.instructions ? { instructions: spec.instructions } : {}),
    ...(spec.access.scopes ? { scopes: [...spec.access.scopes] } : {}),
    tools: spec.tools.map(toolManifest),
    ...offeredBeyondTools(spec),
  };
  const document: ServerJson = {
    $schema: SERVER_SCHEMA_URL,
    name: `${context.namespace}/${spec.name}`,
    title: spec.title,
    description: spec.description,
    version: spec.version,
    remotes: [{ type: "streamable-http", url: `${context.origin.replace(/\/+$/, "")}/mcp` }],
    _meta: { [PUBLISHER_META]: publisher },
  };
  const checked = serverJsonSchema.safeParse(document);
  if (!checked.success) {
    throw new PublishDocumentError(
      spec.name,
      checked.error.issues.map((issue) => ({ location: issue.path.join(".") || "(document)", message: issue.message })),
    );
  }
  return checked.data;
}

/** A tool as published: exactly what its `defineTool` declaration says (its input as tools/list shows it). */
export function toolManifest(tool: Tool<unknown>): ToolManifest {
  return {
    name: tool.name,
    ...(tool.title ? { title: tool.title } : {}),
    description: tool.description,
    annotations: { ...tool.annotations },
    access: accessManifest(tool.access),
    needsApproval: tool.needsApproval,
    ...(tool.approvalRisk === "high" ? { approvalRisk: "high" as const } : {}),
    minutesSaved: tool.minutesSaved,
    inputSchema: tool.inputJsonSchema,
    ...(tool.task ? { task: tool.taskWhen ? ("conditional" as const) : tool.task } : {}),
    ...(tool.asks.length > 0 ? { asks: [...tool.asks] } : {}),
  };
}

/** A fixed resource as published: its `defineResource` declaration (what resources/list shows, and who may read it). */
export function resourceManifest(resource: Resource<unknown>): ResourceManifest {
  return {
    uri: resource.uri as string,
    ...resourceCommon(resource),
  };
}

/** A resource template as published, with its variables as JSON Schema. */
export function resourceTemplateManifest(resource: Resource<unknown>): ResourceTemplateManifest {
  return {
    uriTemplate: resource.uriTemplate as string,
    ...resourceCommon(resource),
    argumentsSchema: jsonSchemaOf(resource.schema, `Resource ${resource.name}`),
  };
}

/** A prompt as published: its `definePrompt` declaration (what prompts/list shows, who may get it, what it may ask). */
export function promptManifest(prompt: Prompt<unknown>): PromptManifest {
  return {
    name: prompt.name,
    ...(prompt.title ? { title: prompt.title } : {}),
    description: prompt.description,
    access: accessManifest(prompt.access),
    argumentsSchema: jsonSchemaOf(prompt.schema, `Prompt ${prompt.name}`),
    ...(prompt.asks.length > 0 ? { asks: [...prompt.asks] } : {}),
  };
}

/** The resources, resource templates and prompts a spec offers, each list only when it has any. */
function offeredBeyondTools(
  spec: Pick<ServerSpec<unknown>, "resources" | "prompts">,
): Pick<PublisherMeta, "resources" | "resourceTemplates" | "prompts"> {
  const resources = (spec.resources ?? []).filter((resource) => resource.uri !== undefined);
  const templates = (spec.resources ?? []).filter((resource) => resource.uriTemplate !== undefined);
  const prompts = spec.prompts ?? [];
  return {
    ...(resources.length > 0 ? { resources: resources.map(resourceManifest) } : {}),
    ...(templates.length > 0 ? { resourceTemplates: templates.map(resourceTemplateManifest) } : {}),
    ...(prompts.length > 0 ? { prompts: prompts.map(promptManifest) } : {}),
  };
}

function resourceCommon(resource: Resource<unknown>) {
  return {
    name: resource.name,
    ...(resource.title ? { title: resource.title } : {}),
    description: resource.description,
    ...(resource.mimeType ? { mimeType: resource.mimeType } : {}),
    access: accessManifest(resource.access),
  };
}

function accessManifest({ groups, scopes, services }: ToolAccess): ToolManifest["access"] {
  return {
    ...(groups ? { groups: [...groups] } : {}),
    ...(scopes ? { scopes: [...scopes] } : {}),
    ...(services !== undefined ? { services: serviceRule(services) } : {}),
  };
}

function jsonSchemaOf(schema: z.ZodObject, what: string): Record<string, unknown> {
  try {
    return z.toJSONSchema(schema, { io: "input" }) as Record<string, unknown>;
  } catch (error) {
    throw new Error(`${what}: its arguments cannot be published as JSON Schema (${(error as Error).message})`);
  }
}

function serviceRule(rule: boolean | readonly string[] | undefined): boolean | string[] {
  return typeof rule === "object" ? [...rule] : (rule ?? false);
}

/** The inventory of a running server, from its own declaration (what agents are shown; tool.digest.ts). */
export function runningInventory(
  spec: Pick<
    ServerSpec<unknown>,
    "title" | "description" | "instructions" | "access" | "tools" | "resources" | "prompts"
  >,
): Inventory {
  const { title, description, instructions } = spec;
  const scopes = spec.access.scopes && [...spec.access.scopes];
  return {
    server: { title, description, instructions, scopes },
    tools: spec.tools.map(toolManifest),
    ...offeredBeyondTools(spec),
  };
}
