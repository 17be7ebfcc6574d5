/**
 * The tool inventory's digest: what a server's tools are, reduced to one SHA-256 hex string.
 * The registry computes it at publish from the document's publisher tools and stores it with the
 * version; approving a version records it on the server; the kit's gate computes it from the
 * running server's own `defineTool` declarations and refuses to serve when the two differ. One
 * function on both sides, so they cannot drift apart.
 *
 * Canonical form: each tool's name, description, annotations, access (groups, scopes and service
 * names sorted), needsApproval and input JSON Schema; tools sorted by name; object keys sorted at
 * every depth; keys whose value is undefined dropped (as JSON would). `minutesSaved` is left out
 * on purpose: it is the owner's estimate of time saved, which owners may correct in the registry
 * without a new review, and it changes nothing about what the tool does or who may call it.
 */
import type { ToolManifest } from "./registry.contract";

/** SHA-256 (hex) of the canonical form of `tools` (see the module comment). */
export async function toolsDigest(tools: readonly ToolManifest[]): Promise<string> {
  const inventory = [...tools].map(canonicalTool).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const bytes = new TextEncoder().encode(canonicalJson(inventory));
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
    description: tool.description,
    annotations: tool.annotations,
    access: {
      groups: groups && sorted(groups),
      scopes: scopes && sorted(scopes),
      services: Array.isArray(services) ? sorted(services) : services,
    },
    needsApproval: tool.needsApproval,
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
