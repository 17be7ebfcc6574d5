import { createExecutionContext, env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { defineServer } from "../../shared/mcp";
import { PUBLISH_DOCUMENT_PATH, PublishDocumentError } from "../../shared/registry/publish.document";
import { PUBLISHER_META, SERVER_SCHEMA_URL, serverJsonSchema } from "../../shared/registry/registry.contract";
import { echoServer } from "../fixtures/echo/echo.app";
import { workerFetch } from "./mcp-client";

describe("the publish document (server.json)", () => {
  it("is served without a token and is a server.json the registry accepts", async () => {
    const response = await workerFetch(`http://localhost${PUBLISH_DOCUMENT_PATH}`);
    expect(response.status).toBe(200);
    const document = serverJsonSchema.parse(await response.json());
    expect(document).toMatchObject({
      $schema: SERVER_SCHEMA_URL,
      name: "com.example.mcp-fleet/echo",
      title: "Echo",
      version: "0.0.1",
      remotes: [{ type: "streamable-http", url: "http://localhost/mcp" }],
    });
    expect(document._meta[PUBLISHER_META]).toMatchObject({
      team: "platform",
      supportChannel: "#mcp-fleet-help",
      onCall: "mcp-fleet-oncall",
      environments: ["test"],
      allowedGroups: ["data-eng", "admins"],
      allowedServices: true,
    });
  });

  it("lists the tools exactly as defineTool declares them", async () => {
    const document = serverJsonSchema.parse(
      await (await workerFetch(`http://localhost${PUBLISH_DOCUMENT_PATH}`)).json(),
    );
    const tools = document._meta[PUBLISHER_META].tools;
    expect(tools.map((tool) => tool.name)).toEqual(echoServer.spec.tools.map((tool) => tool.name));
    expect(tools.find((tool) => tool.name === "echo_delete_item")).toEqual({
      name: "echo_delete_item",
      description: "Delete an item (a dangerous action: a human must approve it).",
      annotations: { destructiveHint: true },
      access: { scopes: ["echo:write"] },
      needsApproval: true,
      minutesSaved: 2,
      inputSchema: {
        $schema: "https://json-schema.org/draft/2020-12/schema",
        type: "object",
        properties: { item: { type: "string", minLength: 1, maxLength: 100, description: "The item to delete" } },
        required: ["item"],
        additionalProperties: false,
      },
    });
    expect(tools.find((tool) => tool.name === "echo_say")?.access).toEqual({ scopes: ["echo:read"], services: true });
    expect(tools.find((tool) => tool.name === "echo_admin_report")?.access).toEqual({ groups: ["admins"] });
  });

  it("says what is wrong when the deployment's vars make it invalid", async () => {
    const request = new Request(`http://localhost${PUBLISH_DOCUMENT_PATH}`);
    const response = await echoServer.fetch(request, { ...env, FLEET_ENV: "Staging EU" }, createExecutionContext());
    expect(response.status).toBe(500);
    expect(response.headers.get("content-type")).toContain("application/problem+json");
    const problem = (await response.json()) as { detail: string; errors: { location: string }[] };
    expect(problem.detail).toMatch(/^The echo server's publish document is not a valid server.json/);
    expect(problem.errors.map((error) => error.location)).toEqual([
      "_meta.io.modelcontextprotocol.registry/publisher-provided.environments.0",
    ]);
  });

  it("refuses, when the server is defined, a spec the registry would refuse", () => {
    const define = (changes: Record<string, unknown>) => () =>
      defineServer({ ...echoServer.spec, ...changes } as typeof echoServer.spec);
    expect(define({ description: "x".repeat(101) })).toThrow(PublishDocumentError);
    expect(define({ description: "x".repeat(101) })).toThrow(/description: Too big/);
    expect(define({ owner: { team: "Data Eng!", supportChannel: "#x", onCall: "y" } })).toThrow(
      /_meta\.io\.modelcontextprotocol\.registry\/publisher-provided\.team/,
    );
    expect(define({ version: "1.0" })).toThrow(/version: a semantic version/);
  });

  it("refuses an example call the contract test could not make", () => {
    const define = (example: unknown) => () => defineServer({ ...echoServer.spec, example } as typeof echoServer.spec);
    expect(define({ tool: "echo_nothing", arguments: {} })).toThrow(
      /names echo_nothing, which is not one of its tools/,
    );
    expect(define({ tool: "echo_delete_item", arguments: { item: "x" } })).toThrow(/must be read-only/);
    expect(define({ tool: "echo_say", arguments: { words: "hi" } })).toThrow(
      /The example call: Invalid arguments for echo_say: .*unexpected argument "words"/,
    );
  });
});
