/**
 * The contract every domain server keeps, run against each server the registry lists as approved:
 * initialize, tools/list matching exactly what the registry approved (the approved version's
 * tools: names, descriptions, annotations, input schemas; not the server's own publish document,
 * which is whatever is deployed), 401 without identity, the business-group gate (groups as the
 * registry allows them), a tool call, a denied call and bad arguments.
 */
import { readFileSync } from "node:fs";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { afterAll, describe, expect, inject, it } from "vitest";
import { z } from "zod";
import {
  FLEET_META,
  PUBLISHER_META,
  type ToolManifest,
  toolManifestSchema,
} from "../../shared/registry/registry.contract";
import { bearer, postInitialize, userToken } from "./identities";

const registry = inject("registryUrl");

interface Manifest {
  /** The short name (the part after the namespace). */
  name: string;
  /** The version the registry approved. */
  approvedVersion: string;
  /** What the registry allows (it governs; the server's own proposal may differ). */
  allowedGroups: string[];
  /** The approved version's tools, as the registry holds them. */
  tools: ToolManifest[];
}

type Governance = { allowedGroups: string[]; lifecycle: string; approvedVersion: string | null };
const listing = (await (await fetch(`${registry}/v0.1/servers?version=latest&limit=100`)).json()) as {
  servers: { server: { name: string; remotes: { url: string }[] }; _meta: { [FLEET_META]: Governance } }[];
};
// The contract is for servers in service: a draft or one in review may be published before it
// is deployed (other tests publish such servers), so only approved servers are held to it.
const inService = listing.servers.filter(({ _meta }) => _meta[FLEET_META].lifecycle === "approved");
const servers = await Promise.all(
  inService.map(async ({ server, _meta }) => {
    const url = server.remotes[0]?.url as string;
    const governance = _meta[FLEET_META];
    const approvedVersion = governance.approvedVersion as string;
    // The version the reviewers approved, as the registry stored it at publish.
    const approved = (await (
      await fetch(
        `${registry}/v0.1/servers/${encodeURIComponent(server.name)}/versions/${encodeURIComponent(approvedVersion)}`,
      )
    ).json()) as { server: { _meta: Record<string, { tools: unknown }> } };
    const manifest: Manifest = {
      name: server.name.slice(server.name.indexOf("/") + 1),
      approvedVersion,
      allowedGroups: governance.allowedGroups,
      tools: z.array(toolManifestSchema).parse(approved.server._meta[PUBLISHER_META]?.tools),
    };
    return { url, manifest };
  }),
);

const seedUsers = JSON.parse(readFileSync(new URL("../../local/idp.users.json", import.meta.url), "utf8"))
  .users as Record<string, { groups: string[] }>;

const clients: Client[] = [];
afterAll(() => Promise.all(clients.map((client) => client.close())));

async function connect(url: string, headers: Record<string, string>) {
  const client = new Client({ name: "contract", version: "1.0.0" });
  await client.connect(new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers } }));
  clients.push(client);
  return client;
}

const initialize = postInitialize;

it("the registry lists at least one server", () => {
  expect(servers.length).toBeGreaterThan(0);
});

describe.each(servers)("contract: $manifest.name", ({ url, manifest }) => {
  const scopes = [...new Set(manifest.tools.flatMap((tool) => tool.access.scopes ?? []))].join(" ");
  const origin = new URL(url).origin;
  const memberName = Object.entries(seedUsers).find(
    ([, user]) => manifest.allowedGroups.length === 0 || user.groups.some((g) => manifest.allowedGroups.includes(g)),
  )?.[0] as string;
  const member = async () => bearer(await userToken(memberName, origin, scopes));
  const simpleTool = manifest.tools.find((tool) => tool.annotations.readOnlyHint);

  it("initializes and lists exactly the tools the registry approved, each fully described", async () => {
    const client = await connect(url, await member());
    expect(client.getServerVersion()).toMatchObject({ name: manifest.name, version: manifest.approvedVersion });
    const { tools } = await client.listTools();
    expect(tools.map((tool) => tool.name).sort()).toEqual(manifest.tools.map((tool) => tool.name).sort());
    for (const tool of tools) {
      const approved = manifest.tools.find((candidate) => candidate.name === tool.name) as ToolManifest;
      expect(tool.description, tool.name).toBe(approved.description);
      expect(tool.annotations, tool.name).toEqual(approved.annotations);
      expect(tool.inputSchema, tool.name).toEqual(approved.inputSchema);
      expect(tool._meta?.["fleet/needsApproval"], tool.name).toBe(approved.needsApproval);
      expect(tool.name.startsWith(`${manifest.name}_`)).toBe(true);
      expect(tool.description?.length).toBeGreaterThan(10);
      expect(tool.annotations?.readOnlyHint === true || typeof tool.annotations?.destructiveHint === "boolean").toBe(
        true,
      );
      for (const [field, schema] of Object.entries(tool.inputSchema.properties ?? {})) {
        expect((schema as { description?: string }).description, `${tool.name}.${field}`).toBeTruthy();
      }
    }
  });

  it("answers a request without identity with 401", async () => {
    const response = await initialize(url, {});
    expect(response.status).toBe(401);
    expect(response.headers.get("www-authenticate")).toMatch(/^Bearer /);
  });

  it("refuses a user outside its business groups", async () => {
    const outsider = bearer(await userToken("carol", origin, scopes));
    const response = await initialize(url, outsider);
    expect(response.status).toBe(manifest.allowedGroups.length > 0 ? 403 : 200);
  });

  it("refuses a token without its baseline scope with 403 insufficient_scope", async () => {
    const response = await initialize(url, bearer(await userToken(memberName, origin, "")));
    expect(response.status).toBe(403);
    expect(response.headers.get("www-authenticate")).toContain('error="insufficient_scope"');
  });

  it("calls a read-only tool", async () => {
    const client = await connect(url, await member());
    const { tools } = await client.listTools();
    const tool = tools.find((t) => t.name === simpleTool?.name && !(t.inputSchema.required ?? []).length);
    if (!tool) return; // every tool of this server needs arguments; its own tests cover calls
    const result = await client.callTool({ name: tool.name, arguments: {} });
    expect(result.isError).toBeFalsy();
  });

  it("names an unexpected argument", async () => {
    if (!simpleTool) return;
    const client = await connect(url, await member());
    const result = await client.callTool({ name: simpleTool.name, arguments: { not_an_argument: 1 } });
    expect(result.isError).toBe(true);
    expect(JSON.stringify(result.content)).toContain('unexpected argument \\"not_an_argument\\"');
  });
});
