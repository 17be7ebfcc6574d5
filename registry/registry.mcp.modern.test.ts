/**
 * The registry's own MCP server speaks both eras on its /mcp, as every domain server does: it is
 * the kit's server (defineServer), so a 2026-07-28 request goes to the caller's object
 * (the registry Worker's CALLERS binding) and a 2025 one to a session. SDK v2 clients, pinned to
 * 2026-07-28 and in `auto` mode, list and call its tools; a legacy-mode client gets 2025.
 */
import { env } from "cloudflare:test";
import { Client, StreamableHTTPClientTransport } from "@modelcontextprotocol/client";
import { CfWorkerJsonSchemaValidator } from "@modelcontextprotocol/client/validators/cf-worker";
import { beforeAll, describe, expect, it } from "vitest";
import { publishDocument } from "../shared/registry/publish.document";
import { bearer, textOf, workerFetch } from "../test/workers/mcp-client";
import { registryServer } from "./registry.mcp";
import { publishVersion, setLifecycle } from "./registry.store";
import { testServerJson } from "./registry.testing";

const NS = "com.example.mcp-fleet";
const ALICE = "alice; groups=data-eng; scopes=registry:read";
const MODERN = "2026-07-28";

beforeAll(async () => {
  const registryDoc = publishDocument(registryServer.spec, {
    origin: "http://localhost",
    environment: "test",
    namespace: NS,
  });
  await publishVersion(env.DB, "registry", registryDoc, "service:pipeline");
  await setLifecycle(env.DB, "registry", { from: "draft", to: "approved" }, "user:rita");
  await publishVersion(
    env.DB,
    "almanac",
    testServerJson("almanac", { description: "Holidays and calendars", allowedGroups: ["data-eng"] }),
    "service:pipeline",
  );
  await setLifecycle(env.DB, "almanac", { from: "draft", to: "approved" }, "user:rita");
});

async function connect(mode: "legacy" | "auto" | { pin: string }) {
  const transport = new StreamableHTTPClientTransport(new URL("http://localhost/mcp"), {
    fetch: workerFetch,
    requestInit: { headers: { authorization: bearer(ALICE) } },
  });
  const client = new Client(
    { name: "registry-modern-test", version: "1.0.0" },
    { capabilities: {}, jsonSchemaValidator: new CfWorkerJsonSchemaValidator(), versionNegotiation: { mode } },
  );
  await client.connect(transport);
  return client;
}

describe("the registry's MCP server in both eras", () => {
  for (const [label, mode, era] of [
    ["pinned to 2026-07-28", { pin: MODERN }, MODERN],
    ["in auto mode", "auto", MODERN],
    ["in legacy mode", "legacy", "2025-11-25"],
  ] as const) {
    it(`an SDK v2 client ${label} speaks ${era}, lists the tools and searches`, async () => {
      const client = await connect(mode);
      try {
        expect(client.getNegotiatedProtocolVersion()).toBe(era);
        const { tools } = await client.listTools();
        expect(tools.map((tool) => tool.name).sort()).toEqual([
          "registry_check_access",
          "registry_feedback",
          "registry_get_server",
          "registry_search_servers",
        ]);
        const found = textOf(
          await client.callTool({ name: "registry_search_servers", arguments: { query: "holidays" } }),
        );
        expect(found).toMatch(/^1 server matching "holidays":/);
        expect(found).toContain("almanac");
        const access = await client.callTool({ name: "registry_check_access", arguments: { server: "almanac" } });
        // The caller is the token's user in either era (the caller's object, or the session).
        expect(access.structuredContent).toMatchObject({
          allowed: true,
          server: "almanac",
          caller: { kind: "user", name: "alice", groups: ["data-eng"] },
        });
      } finally {
        await client.close();
      }
    });
  }

  it("answers server/discover with both eras' versions and its own name", async () => {
    const client = await connect({ pin: MODERN });
    try {
      const discovered = client.getDiscoverResult();
      expect(discovered?.supportedVersions).toContain(MODERN);
      expect(discovered?.supportedVersions).toContain("2025-11-25");
      expect(client.getServerVersion()?.name).toBe("registry");
    } finally {
      await client.close();
    }
  });
});
