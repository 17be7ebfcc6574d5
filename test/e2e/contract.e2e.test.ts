/**
 * The contract every domain server keeps, run against each server the registry lists:
 * initialize, tools/list matching its manifest, 401 without identity, the business-group gate,
 * a tool call, a denied call and bad arguments.
 */
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { afterAll, describe, expect, inject, it } from "vitest";

interface Manifest {
  name: string;
  allowedGroups: string[];
  tools: { name: string; access: { scopes?: string[] }; annotations: Record<string, unknown> }[];
}

const listing = (await (await fetch(`${inject("registryUrl")}/v0.1/servers`)).json()) as {
  servers: { server: { name: string; remotes: { url: string }[] } }[];
};
const servers = await Promise.all(
  listing.servers.map(async ({ server }) => {
    const url = server.remotes[0]?.url as string;
    const manifest = (await (await fetch(new URL("/.well-known/mcp-fleet/manifest.json", url))).json()) as Manifest;
    return { url, manifest };
  }),
);

const clients: Client[] = [];
afterAll(() => Promise.all(clients.map((client) => client.close())));

async function connect(url: string, user: string) {
  const client = new Client({ name: "contract", version: "1.0.0" });
  await client.connect(
    new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers: { "x-fleet-dev-user": user } } }),
  );
  clients.push(client);
  return client;
}

const initialize = (url: string, headers: Record<string, string>) =>
  fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", accept: "application/json, text/event-stream", ...headers },
    body: JSON.stringify({
      jsonrpc: "2.0",
      id: 1,
      method: "initialize",
      params: { protocolVersion: "2025-11-25", capabilities: {}, clientInfo: { name: "contract", version: "1" } },
    }),
  });

it("the registry lists at least one server", () => {
  expect(servers.length).toBeGreaterThan(0);
});

describe.each(servers)("contract: $manifest.name", ({ url, manifest }) => {
  const scopes = [...new Set(manifest.tools.flatMap((tool) => tool.access.scopes ?? []))];
  const member = `contract-user; groups=${manifest.allowedGroups.join(",")}; scopes=${scopes.join(" ")}`;
  const simpleTool = manifest.tools.find(
    (tool) => tool.annotations.readOnlyHint && (tool.access.scopes ?? []).length > 0,
  );

  it("initializes and lists exactly its declared tools, each fully described", async () => {
    const client = await connect(url, member);
    expect(client.getServerVersion()?.name).toBe(manifest.name);
    const { tools } = await client.listTools();
    expect(tools.map((tool) => tool.name).sort()).toEqual(manifest.tools.map((tool) => tool.name).sort());
    for (const tool of tools) {
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
    const response = await initialize(url, { "x-fleet-dev-user": "outsider" });
    expect(response.status).toBe(manifest.allowedGroups.length > 0 ? 403 : 200);
  });

  it("calls a read-only tool", async () => {
    const client = await connect(url, member);
    const { tools } = await client.listTools();
    const tool = tools.find((t) => t.name === simpleTool?.name && !(t.inputSchema.required ?? []).length);
    if (!tool) return; // every tool of this server needs arguments; its own tests cover calls
    const result = await client.callTool({ name: tool.name, arguments: {} });
    expect(result.isError).toBeFalsy();
  });

  it("denies a call missing the tool's scope, saying so", async () => {
    if (!simpleTool) return;
    const client = await connect(url, `contract-user; groups=${manifest.allowedGroups.join(",")}; scopes=none:none`);
    const result = await client.callTool({ name: simpleTool.name, arguments: {} });
    expect(result.isError).toBe(true);
    expect(JSON.stringify(result.content)).toContain("requires the scope");
  });

  it("names an unexpected argument", async () => {
    if (!simpleTool) return;
    const client = await connect(url, member);
    const result = await client.callTool({ name: simpleTool.name, arguments: { not_an_argument: 1 } });
    expect(result.isError).toBe(true);
    expect(JSON.stringify(result.content)).toContain('unexpected argument \\"not_an_argument\\"');
  });
});
