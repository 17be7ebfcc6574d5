/**
 * What the registry, the kit, the CLI and the pipeline agree on: the official server.json subset
 * the fleet publishes, the fleet's governance metadata, and the request bodies of the write API.
 * One zod source for validation (registry), construction (kit) and types (everyone).
 */
import semver from "semver";
import { z } from "zod";
import { LIFECYCLES, REVIEW_KINDS, REVIEW_STATES } from "../db/fleet.schema";

/** The server.json schema version the fleet writes. */
export const SERVER_SCHEMA_URL = "https://static.modelcontextprotocol.io/schemas/2025-12-11/server.schema.json";
/** Registry-computed facts about a version, as the official registry names them. */
export const OFFICIAL_META = "io.modelcontextprotocol.registry/official";
/** Where a publisher's own metadata lives inside server.json. */
export const PUBLISHER_META = "io.modelcontextprotocol.registry/publisher-provided";
/** The fleet's governance block in a response's `_meta`. */
export const FLEET_META = "dev.mcp-fleet/governance";

const groupName = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, "a group name (letters, digits, . _ -)");
const serviceName = z.string().regex(/^[a-z][a-z0-9-]{0,63}$/, "a service identity name (lowercase, digits, -)");
const scopeName = z.string().regex(/^[a-z][a-z0-9_-]*(:[a-z0-9_-]+)?$/, "a scope such as presto:read");

/**
 * Where clients connect: https (plain http only on loopback, for local fleets), and only characters
 * that need no quoting, because the URL is pasted into shell commands and JSON by the snippets.
 */
export function isSafeRemoteUrl(value: string): boolean {
  if (!/^[A-Za-z0-9._~:/?#@!*+,=%[\]-]+$/.test(value)) return false;
  try {
    const url = new URL(value);
    if (url.protocol === "https:") return true;
    return url.protocol === "http:" && ["localhost", "127.0.0.1", "[::1]"].includes(url.hostname);
  } catch {
    return false;
  }
}

const remoteUrl = z
  .string()
  .max(2000)
  .refine(isSafeRemoteUrl, "an https URL (http only on loopback) without spaces, quotes or shell characters");

export const serviceRuleSchema = z.union([z.boolean(), z.array(serviceName).max(100)]);

/** Who may use a tool, resource or prompt (groups, scopes, services), as its declaration says. */
export const itemAccessSchema = z
  .object({
    groups: z.array(groupName).max(100).optional(),
    scopes: z.array(scopeName).max(50).optional(),
    services: serviceRuleSchema.optional(),
  })
  .strict();

/** What a tool's or prompt's handler may ask the client (ctx.elicit, ctx.sample, ctx.listRoots). */
const asksSchema = z
  .array(z.enum(["elicitation", "sampling", "roots"]))
  .min(1)
  .max(3);

/** A tool as its server declares it (`defineTool`), published with every version. */
export const toolManifestSchema = z
  .object({
    name: z.string().regex(/^[a-z][a-z0-9_]{0,63}$/, "a snake_case tool name"),
    /** The tool's display title (tools/list `title`), when it declares one. */
    title: z.string().min(1).max(200).optional(),
    description: z.string().min(1).max(2000),
    annotations: z.record(z.string(), z.unknown()),
    access: itemAccessSchema,
    needsApproval: z.boolean(),
    /** "high": the human approves on the registry page, never through the client (docs/approvals.md). */
    approvalRisk: z.literal("high").optional(),
    minutesSaved: z.number().min(0).max(10_000),
    /** The tool's input as JSON Schema (what tools/list shows); absent in documents published before it was added. */
    inputSchema: z.record(z.string(), z.unknown()).optional(),
    /**
     * Runs as a task for clients that declare the tasks extension (`defineTool({ task })`):
     * "optional", "required", or "conditional" (`task: { when(args) }`: some calls). Absent: never.
     */
    task: z.enum(["optional", "required", "conditional"]).optional(),
    /** What its handler may ask the client (`defineTool({ asks })`); absent: nothing. */
    asks: asksSchema.optional(),
  })
  .strict();
export type ToolManifest = z.infer<typeof toolManifestSchema>;

const resourceName = z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, "a resource name (letters, digits, _ - .)");
const resourceCommon = {
  name: resourceName,
  title: z.string().min(1).max(200).optional(),
  description: z.string().min(1).max(2000),
  mimeType: z.string().min(1).max(200).optional(),
  access: itemAccessSchema,
};

/** A fixed resource as its server declares it (`defineResource({ uri })`), published with every version. */
export const resourceManifestSchema = z.object({ uri: z.string().min(1).max(2000), ...resourceCommon }).strict();
export type ResourceManifest = z.infer<typeof resourceManifestSchema>;

/** A resource template (`defineResource({ uriTemplate, args })`), published with every version. */
export const resourceTemplateManifestSchema = z
  .object({
    uriTemplate: z.string().min(1).max(2000),
    ...resourceCommon,
    /** The template's variables as a JSON Schema object (their names, schemas and descriptions). */
    argumentsSchema: z.record(z.string(), z.unknown()),
  })
  .strict();
export type ResourceTemplateManifest = z.infer<typeof resourceTemplateManifestSchema>;

/** A prompt as its server declares it (`definePrompt`), published with every version. */
export const promptManifestSchema = z
  .object({
    name: z.string().regex(/^[a-z][a-z0-9_]{0,63}$/, "a snake_case prompt name"),
    title: z.string().min(1).max(200).optional(),
    description: z.string().min(1).max(2000),
    access: itemAccessSchema,
    /** Its arguments as a JSON Schema object (names, descriptions, which are required). */
    argumentsSchema: z.record(z.string(), z.unknown()),
    /** What its `get` may ask the client; absent: nothing. */
    asks: asksSchema.optional(),
  })
  .strict();
export type PromptManifest = z.infer<typeof promptManifestSchema>;

/** What a server's publisher states about it beyond server.json (lives under PUBLISHER_META). */
export const publisherMetaSchema = z
  .object({
    team: groupName.describe("the owning team: a business group"),
    supportChannel: z.string().min(1).max(200),
    onCall: z.string().min(1).max(200),
    environments: z
      .array(z.string().regex(/^[a-z][a-z0-9-]{0,31}$/))
      .min(1)
      .max(20),
    /** Proposed on first publish; afterwards the registry's value governs (see PUT .../access). */
    allowedGroups: z.array(groupName).max(100).optional(),
    allowedServices: serviceRuleSchema.optional(),
    /** What the server tells the model at initialize (its `instructions`); reviewed like its tools. */
    instructions: z.string().min(1).max(8000).optional(),
    /** Scopes the server declares a token needs to use it at all (its code enforces them). */
    scopes: z.array(scopeName).max(50).optional(),
    tools: z.array(toolManifestSchema).max(200),
    /** Its resources, resource templates and prompts (absent: none); reviewed and digested like its tools. */
    resources: z.array(resourceManifestSchema).max(200).optional(),
    resourceTemplates: z.array(resourceTemplateManifestSchema).max(200).optional(),
    prompts: z.array(promptManifestSchema).max(200).optional(),
  })
  .strict();
export type PublisherMeta = z.infer<typeof publisherMetaSchema>;

/** The server.json subset the fleet accepts (remote servers only: every fleet server is a Worker). */
export const serverJsonSchema = z
  .object({
    $schema: z.string().url().optional(),
    name: z
      .string()
      .regex(/^[a-zA-Z0-9.-]+\/[a-z][a-z0-9-]{0,62}$/, "reverse-DNS namespace / lowercase server name")
      .max(200),
    title: z.string().min(1).max(100),
    description: z.string().min(1).max(100),
    version: z
      .string()
      .max(255)
      .refine((value) => semver.valid(value) === value && !value.includes("+"), "a semantic version such as 1.2.0"),
    websiteUrl: z.string().url().optional(),
    repository: z
      .object({
        url: z.string().url(),
        source: z.string().min(1),
        subfolder: z.string().optional(),
        id: z.string().optional(),
      })
      .optional(),
    remotes: z
      .array(
        z
          .object({
            type: z.enum(["streamable-http", "sse"]),
            url: remoteUrl,
          })
          .strict(),
      )
      .min(1)
      .max(5),
    _meta: z.object({ [PUBLISHER_META]: publisherMetaSchema }).strict(),
  })
  .strict();
export type ServerJson = z.infer<typeof serverJsonSchema>;

/** The remote a client should use: Streamable HTTP when published, else the first (legacy SSE). */
export function preferredRemote(document: Partial<ServerJson>): ServerJson["remotes"][number] | undefined {
  const remotes = document.remotes ?? [];
  return remotes.find((remote) => remote.type === "streamable-http") ?? remotes[0];
}

export const lifecycleSchema = z.enum(LIFECYCLES);
export const reviewKindSchema = z.enum(REVIEW_KINDS);
export const reviewStateSchema = z.enum(REVIEW_STATES);

/** PUT /v0.1/servers/{name}/lifecycle */
export const lifecycleChangeSchema = z
  .object({
    lifecycle: lifecycleSchema,
    note: z.string().max(2000).optional(),
    /**
     * Approving: the version that was reviewed; defaults to the latest as read. The approval lands
     * only if that version is still the latest when it is written (409 otherwise).
     */
    version: z.string().max(255).optional(),
  })
  .strict();

/** POST /v0.1/servers/{name}/reviews */
export const reviewInputSchema = z
  .object({
    kind: reviewKindSchema,
    state: reviewStateSchema,
    notes: z.string().max(4000).default(""),
    /** The version reviewed; defaults to the latest. */
    version: z.string().optional(),
  })
  .strict();

/** PUT /v0.1/servers/{name}/access */
export const accessChangeSchema = z
  .object({
    allowedGroups: z.array(groupName).max(100),
    allowedServices: serviceRuleSchema,
    /** Where the server is approved to run; only reviewers and admins may change it. */
    environments: z
      .array(z.string().regex(/^[a-z][a-z0-9-]{0,31}$/))
      .min(1)
      .max(20)
      .optional(),
  })
  .strict();

/** POST /v0.1/access: may this (hypothetical) caller use server X (and tool T)? */
export const accessQuerySchema = z
  .object({
    server: z.string().min(1).max(200),
    tool: z.string().max(64).optional(),
    /** Defaults to the registry's own environment. */
    environment: z.string().max(32).optional(),
    user: z
      .object({
        name: z.string().max(200).optional(),
        groups: z.array(groupName).max(200),
        /** Omitted: scopes are not evaluated (the answer lists the scopes needed). */
        scopes: z.array(scopeName).max(100).optional(),
      })
      .strict()
      .optional(),
    service: serviceName.optional(),
  })
  .strict()
  .refine((q) => (q.user ? 1 : 0) + (q.service ? 1 : 0) <= 1, {
    message: "give either user or service, not both",
    path: ["service"],
  });
export type AccessQuery = z.infer<typeof accessQuerySchema>;

/** The registry Worker's RPC surface, as a domain Worker's `REGISTRY` Service Binding sees it. */
export interface RegistryBinding {
  /** The governance a domain server enforces; null when no such server is registered. */
  serverPolicy(name: string): Promise<import("./access").ServerPolicy | null>;
}
