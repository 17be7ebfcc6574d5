/**
 * The inventory digest: everything an agent is shown about a server, and everything it may be
 * asked to use, reduced to one SHA-256 hex string. The registry computes it at publish from the
 * document (server.json and its publisher metadata) and stores it with the version; approving a
 * version records it on the server; the kit's gate computes it from the running server's own
 * declaration (`defineServer`, `defineTool`, `defineResource`, `definePrompt`) and refuses to
 * serve when the two differ. One function on both sides, so they cannot drift.
 *
 * Covered: the server's title, description, instructions (shown at initialize) and the scopes it
 * declares; each tool's name, title, description, annotations, access (groups, scopes and
 * service names sorted), needsApproval, approvalRisk, input JSON Schema, task mode and asks; each
 * resource's uri, name, title, description, mimeType and access; each resource template's
 * uriTemplate, the same, and its variables' JSON Schema; each prompt's name, title, description,
 * access, arguments' JSON Schema and asks. Canonical form: tools and prompts sorted by name,
 * resources by uri, templates by uriTemplate; asks sorted; object keys sorted at every depth;
 * keys whose value is undefined dropped (as JSON would). The lists of resources, templates and
 * prompts, a tool's task mode and its asks are left out when empty, so a server that offers
 * only tools, none of them tasks or asking, has the digest it had before they were covered.
 * Not covered: what handlers do (a tool's `run`, a resource's `read`, a prompt's `get` and the
 * messages it returns, completions): that is code, reviewed with the version.
 * `minutesSaved` is left out on purpose: it is the owner's estimate of time saved, which owners
 * may correct without a new review, and it changes nothing an agent reads or may call. The
 * server's allowed groups and services are the registry's own (not the code's), so not here.
 */
import type {
  PUBLISHER_META as ContractPublisherMeta,
  PromptManifest,
  ResourceManifest,
  ResourceTemplateManifest,
  ServerJson,
  ToolManifest,
} from "./registry.contract";

// Type-only imports: Node loads this module as it is (local/registry.seed.ts), and the contract
// module has extensionless imports it cannot. Its constant is repeated, held equal by the compiler.
const PUBLISHER_META: typeof ContractPublisherMeta = "io.modelcontextprotocol.registry/publisher-provided";

/** What the digest covers: the server's own words and declared scopes, its tools, resources and prompts. */
export interface Inventory {
  server: { title: string; description: string; instructions?: string; scopes?: readonly string[] };
  tools: readonly ToolManifest[];
  resources?: readonly ResourceManifest[];
  resourceTemplates?: readonly ResourceTemplateManifest[];
  prompts?: readonly PromptManifest[];
}

/** The inventory a publish document declares (what reviewers read). */
export function publishedInventory(document: ServerJson): Inventory {
  const { instructions, scopes, tools, resources, resourceTemplates, prompts } = document._meta[PUBLISHER_META];
  return {
    server: { title: document.title, description: document.description, instructions, scopes },
    tools,
    resources,
    resourceTemplates,
    prompts,
  };
}

/** SHA-256 (hex) of the canonical form of `inventory` (see the module comment). */
export async function inventoryDigest(inventory: Inventory): Promise<string> {
  const { title, description, instructions, scopes } = inventory.server;
  const canonical = {
    server: { title, description, instructions, scopes: scopes && sorted(scopes) },
    tools: sortedBy(inventory.tools.map(canonicalTool), "name"),
    resources: nonEmpty(sortedBy((inventory.resources ?? []).map(canonicalResource), "uri")),
    resourceTemplates: nonEmpty(sortedBy((inventory.resourceTemplates ?? []).map(canonicalTemplate), "uriTemplate")),
    prompts: nonEmpty(sortedBy((inventory.prompts ?? []).map(canonicalPrompt), "name")),
  };
  const bytes = new TextEncoder().encode(canonicalJson(canonical));
  const hash = await crypto.subtle.digest("SHA-256", bytes);
  return [...new Uint8Array(hash)].map((byte) => byte.toString(16).padStart(2, "0")).join("");
}

/** The first characters of a digest, for messages people read. */
export function shortDigest(digest: string): string {
  return `${digest.slice(0, 12)}…`;
}

function canonicalTool(tool: ToolManifest) {
  return {
    name: tool.name,
    title: tool.title,
    description: tool.description,
    annotations: tool.annotations,
    access: canonicalAccess(tool.access),
    // Absent (never a task, asks nothing) leaves the form tools had before these were covered.
    task: tool.task,
    asks: tool.asks && nonEmpty(sorted(tool.asks)),
    needsApproval: tool.needsApproval,
    // Where the human approves (absent: through the client): a high-risk approval made an ordinary
    // one is a change reviewers must see.
    approvalRisk: tool.approvalRisk,
    // Documents published before input schemas were part of the manifest have none.
    inputSchema: tool.inputSchema ?? null,
  };
}

function canonicalResource(resource: ResourceManifest) {
  const { uri, name, title, description, mimeType } = resource;
  return { uri, name, title, description, mimeType, access: canonicalAccess(resource.access) };
}

function canonicalTemplate(template: ResourceTemplateManifest) {
  const { uriTemplate, name, title, description, mimeType, argumentsSchema } = template;
  return { uriTemplate, name, title, description, mimeType, access: canonicalAccess(template.access), argumentsSchema };
}

function canonicalPrompt(prompt: PromptManifest) {
  const { name, title, description, argumentsSchema } = prompt;
  const asks = prompt.asks && nonEmpty(sorted(prompt.asks));
  return { name, title, description, access: canonicalAccess(prompt.access), argumentsSchema, asks };
}

function canonicalAccess({ groups, scopes, services }: ToolManifest["access"]) {
  return {
    groups: groups && sorted(groups),
    scopes: scopes && sorted(scopes),
    services: Array.isArray(services) ? sorted(services) : services,
  };
}

function sorted<T extends string>(values: readonly T[]): T[] {
  return [...values].sort();
}

function sortedBy<T, K extends keyof T>(items: T[], key: K): T[] {
  return items.sort((a, b) => (a[key] < b[key] ? -1 : a[key] > b[key] ? 1 : 0));
}

function nonEmpty<T>(items: T[]): T[] | undefined {
  return items.length > 0 ? items : undefined;
}

/** JSON with object keys sorted at every depth; array order is kept (it can carry meaning). */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map((item) => canonicalJson(item ?? null)).join(",")}]`;
  if (value !== null && typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, item]) => item !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([key, item]) => `${JSON.stringify(key)}:${canonicalJson(item)}`).join(",")}}`;
  }
  return JSON.stringify(value ?? null);
}
