/**
 * The kit runs on SDK v2; clients still on SDK v1 (`@modelcontextprotocol/sdk`, protocol
 * 2025-11-25 and older) keep working against it: sessions, tools, progress and approval by
 * pushed elicitation. SDK v1 is a devDependency for this proof only.
 */
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { ElicitRequestSchema } from "@modelcontextprotocol/sdk/types.js";
import { CfWorkerJsonSchemaValidator } from "@modelcontextprotocol/sdk/validation/cfworker-provider.js";
import { describe, expect, it } from "vitest";
import { ALICE, bearer, textOf, workerFetch } from "./mcp-client";

async function connectV1(onElicit?: (message: string) => boolean) {
  const transport = new StreamableHTTPClientTransport(new URL("http://localhost/mcp"), {
    fetch: workerFetch,
    requestInit: { headers: { authorization: bearer(ALICE) } },
  });
  const client = new Client(
    { name: "sdk-v1-client", version: "1.32.2" },
    {
      capabilities: onElicit ? { elicitation: { form: {} } } : {},
      jsonSchemaValidator: new CfWorkerJsonSchemaValidator(),
    },
  );
  if (onElicit) {
    client.setRequestHandler(ElicitRequestSchema, async (request) => ({
      action: "accept",
      content: { approve: onElicit(request.params.message) },
    }));
  }
  await client.connect(transport);
  return { client, transport };
}

describe("an SDK v1 client against the kit on SDK v2", () => {
  it("initializes at 2025-11-25, lists and calls tools, with progress", async () => {
    const { client, transport } = await connectV1();
    expect(client.getServerVersion()?.name).toBe("echo");
    expect(transport.protocolVersion).toBe("2025-11-25");
    expect((await client.listTools()).tools.map((tool) => tool.name)).toContain("echo_say");
    expect(textOf(await client.callTool({ name: "echo_say", arguments: { text: "from v1" } }))).toBe("from v1");
    const progress: number[] = [];
    const counted = await client.callTool({ name: "echo_count", arguments: { to: 3, delayMs: 1 } }, undefined, {
      onprogress: (p) => void progress.push(p.progress),
    });
    expect([textOf(counted), progress]).toEqual(["counted to 3", [1, 2, 3]]);
    await client.close();
  });

  it("gets the approval pushed over its session: yes runs the action, no does not", async () => {
    const asked: string[] = [];
    const yes = await connectV1((message) => {
      asked.push(message);
      return true;
    });
    expect(textOf(await yes.client.callTool({ name: "echo_delete_item", arguments: { item: "v1-a" } }))).toBe(
      "deleted v1-a",
    );
    expect(asked).toEqual(['Delete item "v1-a" permanently?']);
    const no = await connectV1(() => false);
    const refused = await no.client.callTool({ name: "echo_delete_item", arguments: { item: "v1-b" } });
    expect(refused.isError).toBe(true);
    expect(textOf(refused)).toContain('nothing was done: Delete item "v1-b" permanently?');
    await yes.client.close();
    await no.client.close();
  });
});
