/**
 * The inventory digest: everything an agent is shown about a server, reduced to one SHA-256 hex
 * string. The registry computes it at publish from the document (server.json and its publisher
 * metadata) and stores it with the version; approving a version records it on the server; the
 * kit's gate computes it from the running server's own declaration (`defineServer`, `defineTool`)
 * and refuses to serve when the two differ. One function on both sides, so they cannot drift.
 *
 * Covered: the server's title, description, instructions (shown at initialize) and the scopes it
 * declares; each tool's name, title, description, annotations, access (groups, scopes and
 * service names sorted), needsApproval, approvalRisk and input JSON Schema. Canonical form: tools sorted by
 * name; object keys sorted at every depth; keys whose value is undefined dropped (as JSON would).
 * `minutesSaved` is left out on purpose: it is the owner's estimate of time saved, which owners
 * may correct without a new review, and it changes nothing an agent reads or may call. The
 * server's allowed groups and services are the registry's own (not the code's), so not here.
 */
import type { PUBLISHER_META as ContractPublisherMeta, ServerJson, ToolManifest } from "./registry.contract";

// Type-only imports: Node loads this module as it is (local/registry.seed.ts), and the contract
// module has extensionless imports it cannot. Its constant is repeated, held equal by the compiler.
const PUBLISHER_META: typeof ContractPublisherMeta = "io.modelcontextprotocol.registry/publisher-provided";

/** What the digest covers: the server's own words and declared scopes, and its tools. */
export interface Inventory {
  server: { title: string; description: string; instructions?: string; scopes?: readonly string[] };
  tools: readonly ToolManifest[];
}

/** The inventory a publish document declares (what reviewers read). */
export function publishedInventory(document: ServerJson): Inventory {
  const { instructions, scopes, tools } = document._meta[PUBLISHER_META];
  return { server: { title: document.title, description: document.description, instructions, scopes }, tools };
}

/** SHA-256 (hex) of the canonical form of `inventory` (see the module comment). */
export async function inventoryDigest(inventory: Inventory): Promise<string> {
  const { title, description, instructions, scopes } = inventory.server;
  const tools = [...inventory.tools]
    .map(canonicalTool)
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const canonical = { server: { title, description, instructions, scopes: scopes && sorted(scopes) }, tools };
  const bytes = new TextEncoder().encode(canonicalJson(canonical));
  const hash = await crypto.subtle.digest("SHA-256", bytes);
  return [...new Uint8Array(hash)].map((byte) => byte.toString(16).padStart(2, "0")).join("");
}

/** The first characters of a digest, for messages people read. */
export function shortDigest(digest: string): string {
  return `${digest.slice(0, 12)}…`;
}

function canonicalTool(tool: ToolManifest) {
  const { groups, scopes, services } = tool.access;
  return {
    name: tool.name,
    title: tool.title,
    description: tool.description,
    annotations: tool.annotations,
    access: {
      groups: groups && sorted(groups),
      scopes: scopes && sorted(scopes),
      services: Array.isArray(services) ? sorted(services) : services,
    },
    needsApproval: tool.needsApproval,
    // Where the human approves (absent: through the client): a high-risk approval made an ordinary
    // one is a change reviewers must see.
    approvalRisk: tool.approvalRisk,
    // Documents published before input schemas were part of the manifest have none.
    inputSchema: tool.inputSchema ?? null,
  };
}

function sorted(values: readonly string[]): string[] {
  return [...values].sort();
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
