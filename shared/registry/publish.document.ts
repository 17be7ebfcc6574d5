/**
 * The publish document: the official server.json a domain server describes itself with, plus
 * the fleet's publisher metadata (owner, environment, proposed access, its tools as `defineTool`
 * declares them). Each Worker serves it at PUBLISH_DOCUMENT_PATH; the pipeline fetches it from
 * the deployed Worker and POSTs it to the registry's /v0.1/publish.
 */
import type { ServerSpec } from "../mcp/server.definition";
import type { Tool } from "../mcp/tool";
import {
  PUBLISHER_META,
  type PublisherMeta,
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
  const { groups, scopes, services } = tool.access;
  return {
    name: tool.name,
    ...(tool.title ? { title: tool.title } : {}),
    description: tool.description,
    annotations: { ...tool.annotations },
    access: {
      ...(groups ? { groups: [...groups] } : {}),
      ...(scopes ? { scopes: [...scopes] } : {}),
      ...(services !== undefined ? { services: serviceRule(services) } : {}),
    },
    needsApproval: tool.needsApproval,
    ...(tool.approvalRisk === "high" ? { approvalRisk: "high" as const } : {}),
    minutesSaved: tool.minutesSaved,
    inputSchema: tool.inputJsonSchema,
  };
}

function serviceRule(rule: boolean | readonly string[] | undefined): boolean | string[] {
  return typeof rule === "object" ? [...rule] : (rule ?? false);
}

/** The inventory of a running server, from its own declaration (what agents are shown; tool.digest.ts). */
export function runningInventory(
  spec: Pick<ServerSpec<unknown>, "title" | "description" | "instructions" | "access" | "tools">,
): Inventory {
  const { title, description, instructions } = spec;
  const scopes = spec.access.scopes && [...spec.access.scopes];
  return { server: { title, description, instructions, scopes }, tools: spec.tools.map(toolManifest) };
}
