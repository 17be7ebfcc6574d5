/**
 * registry_feedback on the registry's MCP server, with an SDK client: a call's result names its
 * invocation; its caller rates it once; nobody else can.
 */
import { env, runDurableObjectAlarm } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import { INVOCATION_ID_META } from "../../shared/mcp/tool.invoke";
import { publishDocument } from "../../shared/registry/publish.document";
import { connect, textOf } from "../../test/workers/mcp-client";
import { registryServer } from "../registry.mcp";
import { publishVersion, setLifecycle } from "../registry.store";

const FRAN = "fran; groups=data-eng; scopes=registry:read registry:write";
const GUS = "gus; groups=data-eng; scopes=registry:read registry:write";

beforeAll(async () => {
  const doc = publishDocument(registryServer.spec, {
    origin: "http://localhost",
    environment: "test",
    namespace: "com.example.mcp-fleet",
  });
  await publishVersion(env.DB, "registry", doc, "service:pipeline");
  expect(await setLifecycle(env.DB, "registry", { from: "draft", to: "approved" }, "user:rita")).toBe(true);
});

describe("registry_feedback", () => {
  it("rates the caller's own call once, refuses others, and says what is wrong", async () => {
    const fran = await connect({ user: FRAN });
    const searched = await fran.client.callTool({ name: "registry_search_servers", arguments: {} });
    const invocationId = (searched._meta as Record<string, string>)[INVOCATION_ID_META] as string;
    await runDurableObjectAlarm(env.SESSIONS.get(env.SESSIONS.idFromString(fran.transport.sessionId as string)));

    const gus = await connect({ user: GUS });
    const stolen = await gus.client.callTool({ name: "registry_feedback", arguments: { invocationId, helped: false } });
    expect(stolen.isError).toBe(true);
    expect(textOf(stolen)).toContain("only the caller of an invocation may rate it");

    // More than a working day, or minutes on "did not help": refused by name, nothing recorded.
    const tooMany = await fran.client.callTool({
      name: "registry_feedback",
      arguments: { invocationId, helped: true, minutes: 481 },
    });
    expect(tooMany.isError).toBe(true);
    expect(textOf(tooMany)).toContain("minutes");
    expect(textOf(tooMany)).toContain("480");
    const noHelp = await fran.client.callTool({
      name: "registry_feedback",
      arguments: { invocationId, helped: false, minutes: 3 },
    });
    expect(noHelp.isError).toBe(true);
    expect(textOf(noHelp)).toContain('Invalid argument "minutes"');

    const rated = await fran.client.callTool({
      name: "registry_feedback",
      arguments: { invocationId, helped: true, minutes: 4 },
    });
    expect(rated.isError).toBeFalsy();
    expect(textOf(rated)).toContain("registry/registry_search_servers");
    const again = await fran.client.callTool({ name: "registry_feedback", arguments: { invocationId, helped: false } });
    expect(textOf(again)).toContain("already rated");
    const unknown = await fran.client.callTool({
      name: "registry_feedback",
      arguments: { invocationId: "nope", helped: true },
    });
    expect(textOf(unknown)).toContain('Invalid argument "invocationId"');

    const row = await env.DB.prepare(
      "SELECT * FROM feedback_daily WHERE tool_name = 'registry_search_servers'",
    ).first();
    expect(row).toMatchObject({ ratings: 1, helped: 1, helped_with_minutes: 1, minutes_given: 4 });
    await fran.client.close();
    await gus.client.close();
  });
});
