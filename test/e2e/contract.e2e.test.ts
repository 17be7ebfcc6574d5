/**
 * The contract every server keeps, run once against the latest version of each server the registry
 * lists as approved (every page of its listing), over Streamable HTTP and legacy SSE: initialize,
 * tools/list equal to what the registry approved (the approved version's tools: names,
 * descriptions, annotations, input schemas; not the server's own publish document, which is
 * whatever is deployed), and so resources/list, resources/templates/list and prompts/list, 401 naming its resource metadata, the business-group gate, its example
 * call (every server declares one), a tool-level denial, bad arguments, and /health. Every server
 * of fleet.config.ts must be among them: a new server is covered the moment it is in the manifest.
 */
import { readFileSync } from "node:fs";
import {
  Client,
  InsufficientScopeError,
  SSEClientTransport,
  StreamableHTTPClientTransport,
} from "@modelcontextprotocol/client";
import { afterAll, describe, expect, inject, it } from "vitest";
import { z } from "zod";
import type { ServerSummary } from "../../local/server.specs.ts";
import {
  FLEET_META,
  PUBLISHER_META,
  promptManifestSchema,
  resourceManifestSchema,
  resourceTemplateManifestSchema,
  type ToolManifest,
  toolManifestSchema,
} from "../../shared/registry/registry.contract";
import { bearer, postInitialize, userToken } from "./identities";

const registry = inject("registryUrl");
const authUrl = inject("authUrl");
/** What each server declares (its defineServer): the manifest's servers and the registry's own. */
const declared = new Map<string, ServerSummary>([
  ...Object.values(inject("servers")).map((server) => [server.name, server.spec] as const),
  ["registry", inject("registrySpec")],
]);

type Governance = { allowedGroups: string[]; lifecycle: string; approvedVersion: string | null };
type Listing = {
  servers: { server: { name: string; remotes: { url: string }[] }; _meta: { [FLEET_META]: Governance } }[];
  metadata: { nextCursor?: string };
};

/** Every page of the registry's listing (small pages, so the cursors are really followed). */
async function listApproved() {
  const entries: Listing["servers"] = [];
  let cursor: string | undefined;
  do {
    const query = new URLSearchParams({ version: "latest", limit: "2", ...(cursor ? { cursor } : {}) });
    const page = (await (await fetch(`${registry}/v0.1/servers?${query}`)).json()) as Listing;
    entries.push(...page.servers);
    cursor = page.metadata.nextCursor;
  } while (cursor);
  // The contract is for servers in service: a draft or one in review may be published before it
  // is deployed (other tests publish such servers), so only approved servers are held to it.
  const approved = entries.filter(({ _meta }) => _meta[FLEET_META].lifecycle === "approved");
  return Promise.all(
    [...new Map(approved.map((entry) => [entry.server.name, entry])).values()].map(async ({ server, _meta }) => {
      const governance = _meta[FLEET_META];
      const version = governance.approvedVersion as string;
      const path = `/v0.1/servers/${encodeURIComponent(server.name)}/versions/${encodeURIComponent(version)}`;
      // The version the reviewers approved, as the registry stored it at publish.
      const stored = (await (await fetch(`${registry}${path}`)).json()) as {
        server: { _meta: Record<string, Record<string, unknown>> };
      };
      const publisher = stored.server._meta[PUBLISHER_META];
      return {
        name: server.name.slice(server.name.indexOf("/") + 1),
        url: server.remotes[0]?.url as string,
        approvedVersion: version,
        /** What the registry allows (it governs; the server's own proposal may differ). */
        allowedGroups: governance.allowedGroups,
        tools: z.array(toolManifestSchema).parse(publisher?.tools),
        resources: z.array(resourceManifestSchema).parse(publisher?.resources ?? []),
        resourceTemplates: z.array(resourceTemplateManifestSchema).parse(publisher?.resourceTemplates ?? []),
        prompts: z.array(promptManifestSchema).parse(publisher?.prompts ?? []),
      };
    }),
  );
}

const servers = await listApproved();
const seedUsers = JSON.parse(readFileSync(new URL("../../local/idp.users.json", import.meta.url), "utf8"))
  .users as Record<string, { groups: string[] }>;

const clients: Client[] = [];
afterAll(() => Promise.all(clients.map((client) => client.close())));

const TRANSPORTS = ["streamable-http", "legacy-sse"] as const;
type Transport = (typeof TRANSPORTS)[number];

async function connect(origin: string, transport: Transport, headers: Record<string, string>) {
  const client = new Client({ name: "contract", version: "1.0.0" });
  await client.connect(
    transport === "streamable-http"
      ? new StreamableHTTPClientTransport(new URL(`${origin}/mcp`), { requestInit: { headers } })
      : new SSEClientTransport(new URL(`${origin}/sse`), {
          requestInit: { headers },
          eventSourceInit: { fetch: (url, init) => fetch(url, { ...init, headers: { ...init?.headers, ...headers } }) },
        }),
  );
  clients.push(client);
  return client;
}

type Result = { isError?: boolean; content?: { text?: string }[] };
const textOf = (result: unknown) => ((result as Result).content ?? []).map((part) => part.text ?? "").join("");
const shares = (groups: readonly string[], user: string) =>
  groups.some((group) => seedUsers[user]?.groups.includes(group));

it("covers every server of fleet.config.ts and the registry's own, each approved", () => {
  expect(servers.map((server) => server.name).sort()).toEqual(expect.arrayContaining([...declared.keys()].sort()));
});

describe.each(servers)("contract: $name", (server) => {
  const spec = declared.get(server.name);
  const origin = new URL(server.url).origin;
  const members = Object.keys(seedUsers).filter(
    (user) => server.allowedGroups.length === 0 || shares(server.allowedGroups, user),
  );
  const mayUse = (tool: ToolManifest, user: string) => !tool.access.groups?.length || shares(tool.access.groups, user);
  // The member who may use the most tools (a tool restricted to a group they lack is hidden).
  const member = [...members].sort(
    (a, b) => server.tools.filter((t) => mayUse(t, b)).length - server.tools.filter((t) => mayUse(t, a)).length,
  )[0] as string;
  const baseline = spec?.scopes ?? [];
  const everyScope = [...new Set([...baseline, ...server.tools.flatMap((tool) => tool.access.scopes ?? [])])];
  const token = (user: string, scopes: string[]) => userToken(user, origin, scopes.join(" ")).then(bearer);
  // A tool-level denial: a member of the server's groups without a tool's group, or else a token
  // with only the server's own scopes calling a tool that needs more.
  const groupDenial = server.tools
    .flatMap((tool) => members.filter((user) => !mayUse(tool, user)).map((user) => ({ tool, user })))
    .at(0);
  const scopeDenial = server.tools.find((tool) => (tool.access.scopes ?? []).some((s) => !baseline.includes(s)));

  it("declares itself (fleet.config.ts, or the registry's own MCP server) with an example call", () => {
    expect(spec, `${server.name} is approved in the registry but not declared in fleet.config.ts`).toBeDefined();
    expect(spec?.version).toBe(server.approvedVersion);
    expect(server.tools.find((tool) => tool.name === spec?.example.tool)?.annotations.readOnlyHint).toBe(true);
    expect(members.length, "no local account is in its groups").toBeGreaterThan(0);
  });

  it("answers /health", async () => {
    const response = await fetch(`${origin}/health`);
    expect(response.status).toBe(200);
    const health = (await response.json()) as { status: string; server?: string; version?: string };
    expect(health.status).toBe("ok");
    if (health.server !== undefined) expect(health).toMatchObject({ server: server.name, version: spec?.version });
  });

  it("answers requests without identity with 401 naming its protected resource metadata", async () => {
    for (const response of [await postInitialize(server.url, {}), await fetch(`${origin}/sse`)]) {
      expect(response.status).toBe(401);
      await response.body?.cancel();
      const challenge = response.headers.get("www-authenticate") ?? "";
      const metadataUrl = /^Bearer .*resource_metadata="([^"]+)"/.exec(challenge)?.[1];
      expect(metadataUrl, challenge).toBeDefined();
      const metadata = (await (await fetch(metadataUrl as string)).json()) as {
        resource: string;
        authorization_servers: string[];
      };
      expect(new URL(metadata.resource).origin).toBe(origin);
      expect(metadata.authorization_servers).toContain(authUrl);
    }
  });

  it("refuses a user outside its business groups", async () => {
    const response = await initializeAs("carol", everyScope);
    expect(response.status).toBe(server.allowedGroups.length > 0 ? 403 : 200);
    await response.body?.cancel();
  });

  it("refuses a token without its baseline scope with 403 insufficient_scope", async () => {
    const response = await initializeAs(member, []);
    expect(response.status).toBe(baseline.length > 0 ? 403 : 200);
    await response.body?.cancel();
    if (baseline.length > 0) expect(response.headers.get("www-authenticate")).toContain('error="insufficient_scope"');
  });

  async function initializeAs(user: string, scopes: string[]) {
    return postInitialize(server.url, await token(user, scopes));
  }

  describe.each(TRANSPORTS)("over %s", (transport) => {
    it("initializes and lists exactly the approved tools the member may use, each fully described", async () => {
      const client = await connect(origin, transport, await token(member, everyScope));
      expect(client.getServerVersion()).toMatchObject({ name: server.name, version: server.approvedVersion });
      const { tools } = await client.listTools();
      const expected = server.tools.filter((tool) => mayUse(tool, member)).map((tool) => tool.name);
      expect(tools.map((tool) => tool.name).sort()).toEqual(expected.sort());
      for (const tool of tools) {
        const approved = server.tools.find((candidate) => candidate.name === tool.name) as ToolManifest;
        expect(tool.description, tool.name).toBe(approved.description);
        expect(tool.annotations, tool.name).toEqual(approved.annotations);
        expect(tool.inputSchema, tool.name).toEqual(approved.inputSchema);
        expect(tool._meta?.["fleet/needsApproval"], tool.name).toBe(approved.needsApproval);
        expect(tool.name.startsWith(`${server.name.replace(/-/g, "_")}_`)).toBe(true);
        expect(tool.description?.length).toBeGreaterThan(10);
        expect(tool.annotations?.readOnlyHint === true || typeof tool.annotations?.destructiveHint === "boolean").toBe(
          true,
        );
        for (const [field, schema] of Object.entries(tool.inputSchema.properties ?? {})) {
          expect((schema as { description?: string }).description, `${tool.name}.${field}`).toBeTruthy();
        }
      }
    });

    it("lists exactly the approved resources, resource templates and prompts the member may use", async () => {
      const client = await connect(origin, transport, await token(member, everyScope));
      const may = (item: { access: ToolManifest["access"] }) =>
        mayUse(item as ToolManifest, member) && (item.access.scopes ?? []).every((s) => everyScope.includes(s));
      const capabilities = client.getServerCapabilities() ?? {};
      const offersResources = server.resources.length + server.resourceTemplates.length > 0;
      expect(Boolean(capabilities.resources), "resources capability").toBe(offersResources);
      expect(Boolean(capabilities.prompts), "prompts capability").toBe(server.prompts.length > 0);
      if (offersResources) {
        const { resources } = await client.listResources();
        const shown = (item: { name: string; title?: string; description?: string; mimeType?: string }) => ({
          name: item.name,
          title: item.title,
          description: item.description,
          mimeType: item.mimeType,
        });
        const byUri = <T extends { uri: string }>(items: T[]) => [...items].sort((a, b) => a.uri.localeCompare(b.uri));
        expect(byUri(resources).map((r) => ({ uri: r.uri, ...shown(r) }))).toEqual(
          byUri(server.resources.filter(may)).map((r) => ({ uri: r.uri, ...shown(r) })),
        );
        const { resourceTemplates } = await client.listResourceTemplates();
        const byTemplate = <T extends { uriTemplate: string }>(items: T[]) =>
          [...items].sort((a, b) => a.uriTemplate.localeCompare(b.uriTemplate));
        expect(byTemplate(resourceTemplates).map((r) => ({ uriTemplate: r.uriTemplate, ...shown(r) }))).toEqual(
          byTemplate(server.resourceTemplates.filter(may)).map((r) => ({ uriTemplate: r.uriTemplate, ...shown(r) })),
        );
      }
      if (server.prompts.length > 0) {
        const { prompts } = await client.listPrompts();
        const approved = server.prompts.filter(may);
        expect(prompts.map((p) => p.name).sort()).toEqual(approved.map((p) => p.name).sort());
        for (const prompt of prompts) {
          const declared = approved.find((candidate) => candidate.name === prompt.name);
          expect({ title: prompt.title, description: prompt.description }, prompt.name).toEqual({
            title: declared?.title,
            description: declared?.description,
          });
          const properties = (declared?.argumentsSchema.properties ?? {}) as Record<string, { description?: string }>;
          expect(
            (prompt.arguments ?? []).map((arg) => [arg.name, arg.description]),
            prompt.name,
          ).toEqual(Object.entries(properties).map(([name, schema]) => [name, schema.description]));
        }
      }
    });

    it("makes its example call (a read-only tool)", async () => {
      const example = spec?.example as ServerSummary["example"];
      const client = await connect(origin, transport, await token(member, baseline));
      const result = await client.callTool({ name: example.tool, arguments: example.arguments });
      expect(result.isError, textOf(result)).toBeFalsy();
      expect(textOf(result).length).toBeGreaterThan(0);
    });

    it("denies a tool to a member lacking its group or scope", async () => {
      if (groupDenial) {
        const { tool, user } = groupDenial;
        const client = await connect(origin, transport, await token(user, everyScope));
        expect((await client.listTools()).tools.map((listed) => listed.name)).not.toContain(tool.name);
        const result = await client.callTool({ name: tool.name, arguments: {} });
        expect(result.isError).toBe(true);
        expect(textOf(result)).toContain(`${tool.name} requires membership in one of`);
      } else if (scopeDenial) {
        const missing = (scopeDenial.access.scopes ?? []).filter((scope) => !baseline.includes(scope));
        const client = await connect(origin, transport, await token(member, baseline));
        const call = client.callTool({ name: scopeDenial.name, arguments: {} });
        if (transport === "streamable-http") {
          // The MCP scope challenge at the Worker: 403 insufficient_scope, before any validation
          // (which the SDK v2 client reads into an InsufficientScopeError naming the scopes).
          const challenge = await call.then(
            () => undefined,
            (error: unknown) => error,
          );
          expect(challenge).toBeInstanceOf(InsufficientScopeError);
          for (const scope of missing) expect((challenge as InsufficientScopeError).requiredScope).toContain(scope);
        } else {
          // Legacy SSE has no HTTP answer per call: the refusal comes as a tool error.
          const result = await call;
          expect(result.isError).toBe(true);
          for (const scope of missing) expect(textOf(result)).toContain(scope);
        }
      } else {
        // Nothing to deny: no tool asks more than the server itself (e.g. the registry's read tools).
        for (const tool of server.tools) {
          expect(tool.access.groups ?? []).toEqual([]);
          expect((tool.access.scopes ?? []).every((scope) => baseline.includes(scope))).toBe(true);
        }
      }
    });

    it("names an unexpected argument and a missing one", async () => {
      const example = spec?.example as ServerSummary["example"];
      const client = await connect(origin, transport, await token(member, baseline));
      const extra = await client.callTool({
        name: example.tool,
        arguments: { ...example.arguments, not_an_argument: 1 },
      });
      expect(extra.isError).toBe(true);
      expect(textOf(extra)).toContain('unexpected argument "not_an_argument"');
      const required = server.tools.find(
        (tool) =>
          mayUse(tool, member) && tool.annotations.readOnlyHint && (tool.inputSchema?.required as unknown[])?.length,
      );
      if (!required) return; // no read-only tool has a required argument
      const missing = await client.callTool({ name: required.name, arguments: {} });
      expect(missing.isError).toBe(true);
      expect(textOf(missing)).toContain(`Invalid arguments for ${required.name}`);
    });
  });
});
