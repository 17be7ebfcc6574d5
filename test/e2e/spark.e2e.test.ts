/**
 * The Spark server under `wrangler dev`, as an agent reaches it: the SDK client over Streamable
 * HTTP with tokens from the real OAuth flows, against the local History Server and Livy.
 * Approval accepted → the batch is submitted once, as the human; declined → nothing; a service
 * identity → refused.
 */
import { Client, StreamableHTTPClientTransport } from "@modelcontextprotocol/client";
import { afterAll, describe, expect, inject, it } from "vitest";
import { FLEET_META, PUBLISHER_META } from "../../shared/registry/registry.contract";
import { fleetServer, upstreamOf } from "./fleet";
import { bearer, botToken, userToken } from "./identities";

const server = fleetServer("spark").url;
const upstream = upstreamOf("spark");
const SUBMISSION = { file: "hdfs:///jobs/rollup.jar", className: "com.example.Rollup", args: ["--day", "2026-12-01"] };

type Result = {
  isError?: boolean;
  content?: { type: string; text?: string }[];
  structuredContent?: Record<string, unknown>;
  _meta?: Record<string, unknown>;
};
const textOf = (result: unknown) => ((result as Result).content ?? []).map((part) => part.text ?? "").join("");

const clients: Client[] = [];
afterAll(() => Promise.all(clients.map((client) => client.close())));

async function connect(headers: Record<string, string>, answer?: (message: string) => "accept" | "decline") {
  const client = new Client(
    { name: "e2e", version: "1" },
    { capabilities: answer ? { elicitation: { form: {} } } : {} },
  );
  if (answer) {
    client.setRequestHandler("elicitation/create", async (request) => {
      const action = answer(request.params.message);
      return action === "accept" ? { action, content: { approve: true } } : { action };
    });
  }
  await client.connect(new StreamableHTTPClientTransport(new URL(`${server}/mcp`), { requestInit: { headers } }));
  clients.push(client);
  return client;
}

async function submissions(): Promise<{ id: number; request: Record<string, unknown> }[]> {
  const stats = (await (await fetch(`${upstream}/_local/stats`)).json()) as {
    livy: { submitted: { id: number; request: Record<string, unknown> }[] };
  };
  return stats.livy.submitted;
}

describe("Spark server end to end", () => {
  it("is published and approved by the local seeding, for data-eng, with its 12 tools", async () => {
    const listing = (await (await fetch(`${inject("registryUrl")}/v0.1/servers?version=latest`)).json()) as {
      servers: {
        server: { name: string; _meta: Record<string, { tools: { name: string }[] }> };
        _meta: Record<string, { lifecycle: string; allowedGroups: string[] }>;
      }[];
    };
    const spark = listing.servers.find((entry) => entry.server.name.endsWith("/spark"));
    expect(spark?._meta[FLEET_META]).toMatchObject({ lifecycle: "approved", allowedGroups: ["data-eng"] });
    expect(spark?.server._meta[PUBLISHER_META]?.tools.map((tool) => tool.name)).toHaveLength(12);
  });

  it("lists its 12 tools and diagnoses the failed application with progress", async () => {
    const client = await connect(bearer(await userToken("alice", server, "spark:read")));
    const { tools } = await client.listTools();
    expect(tools.length).toBe(12);
    const progress: number[] = [];
    const result = (await client.callTool(
      { name: "spark_diagnose", arguments: { appId: "application_1764570000000_0044" } },
      { onprogress: (p) => void progress.push(p.progress) },
    )) as Result;
    expect(result.isError, textOf(result)).toBeFalsy();
    const causes = (result.structuredContent?.causes ?? []) as { rule: string }[];
    expect(causes[0]?.rule).toBe("failed_stages");
    expect(causes.map((cause) => cause.rule)).toEqual(expect.arrayContaining(["task_skew", "spill"]));
    expect(progress.length).toBeGreaterThan(2);
  });

  it("submits a batch once when the human approves, as that human; nothing when they decline", async () => {
    const writer = bearer(await userToken("alice", server, "spark:read spark:write"));
    const before = (await submissions()).length;

    const declining = await connect(writer, () => "decline");
    const declined = (await declining.callTool({ name: "spark_submit_batch", arguments: SUBMISSION })) as Result;
    expect(declined.isError).toBe(true);
    expect(textOf(declined)).toMatch(/^Not approved \(decline\); nothing was done: Submit this Spark batch/);
    expect((await submissions()).length).toBe(before);

    const asked: string[] = [];
    const approving = await connect(writer, (message) => {
      asked.push(message);
      return "accept";
    });
    const result = (await approving.callTool({ name: "spark_submit_batch", arguments: SUBMISSION })) as Result;
    expect(result.isError, textOf(result)).toBeFalsy();
    expect(asked).toHaveLength(1);
    expect(asked[0]).toContain(JSON.stringify(SUBMISSION, null, 2));
    const after = await submissions();
    expect(after.length).toBe(before + 1);
    expect(after.at(-1)?.request).toEqual({ ...SUBMISSION, proxyUser: "alice@example.com" });

    const id = result.structuredContent?.id as number;
    const followed = (await approving.callTool({
      name: "spark_batches",
      arguments: { batchId: id, waitSeconds: 30 },
    })) as Result;
    expect(followed.structuredContent).toMatchObject({ id, state: "success", ended: true });
  });

  it("refuses a service identity the writes, while it may read", async () => {
    const bot = await connect(bearer(await botToken(server, "spark:read")));
    const names = (await bot.listTools()).tools.map((tool) => tool.name);
    expect(names).not.toContain("spark_submit_batch");
    expect(names).toContain("spark_diagnose");
    const before = (await submissions()).length;
    const refused = (await bot.callTool({ name: "spark_submit_batch", arguments: SUBMISSION })) as Result;
    expect(refused.isError).toBe(true);
    expect(textOf(refused)).toContain("Access denied: spark_submit_batch cannot be called by services");
    expect((await submissions()).length).toBe(before);
    const read = (await bot.callTool({ name: "spark_applications", arguments: { limit: 3 } })) as Result;
    expect(read.isError).toBeFalsy();
  });
});
