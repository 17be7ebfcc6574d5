import { describe, expect, it } from "vitest";
import { echoServer } from "../../test/fixtures/echo/echo.app";
import { publishDocument, toolManifest } from "./publish.document";
import { PUBLISHER_META, serverJsonSchema, type ToolManifest } from "./registry.contract";
import { toolsDigest } from "./tool.digest";

const READ: ToolManifest = {
  name: "demo_read",
  description: "Read things",
  annotations: { readOnlyHint: true },
  access: { groups: ["b", "a"], scopes: ["demo:read", "demo:admin"], services: ["y-bot", "x-bot"] },
  needsApproval: false,
  minutesSaved: 5,
  inputSchema: { type: "object", properties: { id: { type: "string", description: "Which" } }, required: ["id"] },
};
const KILL: ToolManifest = {
  name: "demo_kill",
  description: "Kill things",
  annotations: { destructiveHint: true },
  access: { groups: ["data-eng"] },
  needsApproval: true,
  minutesSaved: 2,
  inputSchema: { type: "object", properties: {} },
};

describe("toolsDigest", () => {
  it("is a SHA-256 hex string that ignores tool order, key order and the order of groups, scopes and services", async () => {
    const digest = await toolsDigest([READ, KILL]);
    expect(digest).toMatch(/^[0-9a-f]{64}$/);
    const reordered: ToolManifest = {
      inputSchema: { required: ["id"], properties: { id: { description: "Which", type: "string" } }, type: "object" },
      minutesSaved: 5,
      needsApproval: false,
      access: { services: ["x-bot", "y-bot"], scopes: ["demo:admin", "demo:read"], groups: ["a", "b"] },
      annotations: { readOnlyHint: true },
      description: "Read things",
      name: "demo_read",
    };
    expect(await toolsDigest([KILL, reordered])).toBe(digest);
  });

  it("leaves out minutesSaved: owners may correct their estimate without a new review", async () => {
    expect(await toolsDigest([{ ...READ, minutesSaved: 50 }, KILL])).toBe(await toolsDigest([READ, KILL]));
  });

  it.each([
    ["a new tool", [READ, KILL, { ...KILL, name: "demo_other" }]],
    ["a tool less", [READ]],
    ["a renamed tool", [{ ...READ, name: "demo_fetch" }, KILL]],
    ["a changed description", [{ ...READ, description: "Read and write things" }, KILL]],
    ["changed annotations", [{ ...READ, annotations: { readOnlyHint: false, destructiveHint: true } }, KILL]],
    ["a widened group list", [READ, { ...KILL, access: { groups: ["data-eng", "ads"] } }]],
    ["no group restriction", [READ, { ...KILL, access: {} }]],
    ["a service allowed", [READ, { ...KILL, access: { groups: ["data-eng"], services: true } }]],
    ["a scope dropped", [{ ...READ, access: { ...READ.access, scopes: ["demo:read"] } }, KILL]],
    ["approval dropped", [READ, { ...KILL, needsApproval: false }]],
    ["a new input field", [READ, { ...KILL, inputSchema: { type: "object", properties: { force: {} } } }]],
    ["no input schema", [READ, { ...KILL, inputSchema: undefined }]],
  ])("changes with %s", async (_label, tools) => {
    expect(await toolsDigest(tools as ToolManifest[])).not.toBe(await toolsDigest([READ, KILL]));
  });

  it("is the same for the running server's declarations and for its publish document after JSON", async () => {
    const running = await toolsDigest(echoServer.spec.tools.map(toolManifest));
    const document = publishDocument(echoServer.spec, {
      origin: "https://echo.example.com",
      environment: "production",
      namespace: "com.example.mcp-fleet",
    });
    const published = serverJsonSchema.parse(JSON.parse(JSON.stringify(document)));
    expect(await toolsDigest(published._meta[PUBLISHER_META].tools)).toBe(running);
    expect(published._meta[PUBLISHER_META].tools.every((tool) => tool.inputSchema?.type === "object")).toBe(true);
  });
});
