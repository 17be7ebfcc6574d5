/**
 * The Presto server under `wrangler dev`, exactly as an agent reaches it: the SDK client over
 * Streamable HTTP and over legacy SSE, against the local Presto-compatible coordinator.
 */
import {
  Client,
  InsufficientScopeError,
  SSEClientTransport,
  StreamableHTTPClientTransport,
} from "@modelcontextprotocol/client";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { fleetServer, upstreamOf } from "./fleet";
import { bearer, userToken } from "./identities";

const server = fleetServer("presto").url;
const upstream = upstreamOf("presto");
const registry = inject("registryUrl");
let alice: Record<string, string>;
beforeAll(async () => {
  alice = bearer(await userToken("alice", server));
});

type Result = {
  isError?: boolean;
  content?: { type: string; text?: string }[];
  structuredContent?: Record<string, unknown>;
};
const textOf = (result: unknown) => ((result as Result).content ?? []).map((part) => part.text ?? "").join("");

const clients: Client[] = [];
afterAll(async () => {
  await Promise.all(clients.map((client) => client.close()));
});

async function connect(options: { headers?: Record<string, string>; sessionId?: string } = {}) {
  const transport = new StreamableHTTPClientTransport(new URL(`${server}/mcp`), {
    requestInit: { headers: options.headers ?? alice },
    ...(options.sessionId ? { sessionId: options.sessionId } : {}),
  });
  const client = new Client({ name: "e2e", version: "1.0.0" });
  await client.connect(transport);
  clients.push(client);
  return { client, transport };
}

/** Reads a streamed (SSE) body as text, chunk by chunk. */
function textReader(response: Response) {
  const reader = (response.body as ReadableStream<Uint8Array>).getReader();
  const decoder = new TextDecoder();
  const state = {
    done: false,
    async read(): Promise<string> {
      const { value, done } = await reader.read();
      state.done = done;
      return value ? decoder.decode(value, { stream: true }) : "";
    },
    cancel: () => reader.cancel(),
  };
  return state;
}

async function upstreamStats() {
  return (await (await fetch(`${upstream}/_local/stats`)).json()) as {
    statements: number;
    lastStatements: string[];
    writes: number;
  };
}

describe("Presto server over Streamable HTTP", () => {
  it("is listed by the registry with the URL where clients reach it", async () => {
    const listing = (await (await fetch(`${registry}/v0.1/servers`)).json()) as {
      servers: { server: { name: string; remotes: { type: string; url: string }[] } }[];
    };
    const presto = listing.servers.find((entry) => entry.server.name.endsWith("/presto"));
    expect(presto?.server.remotes).toEqual([{ type: "streamable-http", url: `${server}/mcp` }]);
  });

  it("initializes and lists the Presto tools, kill too: a presto:read token's call of it meets a scope challenge", async () => {
    const { client } = await connect();
    expect(client.getServerVersion()?.name).toBe("presto");
    const { tools } = await client.listTools();
    // Alice is a data engineer: the kill tool is listed, to be used once she consents to presto:write.
    expect(tools.map((tool) => tool.name).sort()).toEqual([
      "presto_describe_table",
      "presto_explain_query",
      "presto_kill_query",
      "presto_list_catalogs",
      "presto_list_schemas",
      "presto_list_tables",
      "presto_query_status",
      "presto_run_query",
    ]);
    for (const tool of tools) {
      expect(tool.annotations?.readOnlyHint, tool.name).toBe(tool.name === "presto_kill_query" ? undefined : true);
    }
    // Listed because consenting to presto:write would let alice call it (step-up.e2e.test.ts).
    const challenge = await client
      .callTool({ name: "presto_kill_query", arguments: { queryId: "20200101_000000_00000_zzzzz" } })
      .then(
        () => undefined,
        (error: unknown) => error,
      );
    expect(challenge).toBeInstanceOf(InsufficientScopeError); // the SDK v2 client's reading of the 403
    expect((challenge as InsufficientScopeError).requiredScope).toContain("presto:write");
    expect((challenge as InsufficientScopeError).errorDescription).toContain(
      "presto_kill_query needs the scope presto:write",
    );
  });

  it("runs a query that pages through many upstream pages, with progress", async () => {
    const { client } = await connect();
    const before = await upstreamStats();
    const progress: number[] = [];
    const result = (await client.callTool(
      {
        name: "presto_run_query",
        arguments: { sql: "SELECT order_id, status, total FROM hive.sales.orders ORDER BY order_id", limit: 6000 },
      },
      { onprogress: (p) => void progress.push(p.progress) },
    )) as Result;
    expect(result.isError).toBeFalsy();
    expect(result.structuredContent).toMatchObject({ rowCount: 6000, truncated: true });
    const text = textOf(result);
    expect(text.split("\n")[0]).toBe("order_id\tstatus\ttotal");
    expect(text).toContain("truncated");
    expect(progress.length).toBeGreaterThan(0);
    // In a read-only transaction, rolled back because the result was cut short.
    const after = await upstreamStats();
    expect(after.statements - before.statements).toBe(3);
    expect(after.lastStatements.slice(-3)).toEqual([
      "START TRANSACTION READ ONLY",
      "SELECT order_id, status, total FROM hive.sales.orders ORDER BY order_id",
      "ROLLBACK",
    ]);
  });

  it("refuses a write statement without sending it upstream", async () => {
    const { client } = await connect();
    const before = await upstreamStats();
    for (const sql of [
      "DELETE FROM hive.sales.orders",
      "SELECT 1; DROP TABLE hive.sales.orders",
      "WITH x AS (SELECT 1) INSERT INTO t SELECT * FROM x",
      "EXPLAIN --\rANALYZE INSERT INTO hive.sales.orders\nSELECT * FROM hive.sales.orders",
      "SELECT * FROM TABLE(hive.system.query(query => 'DELETE FROM orders'))",
    ]) {
      const result = (await client.callTool({ name: "presto_run_query", arguments: { sql } })) as Result;
      expect(result.isError).toBe(true);
      expect(textOf(result)).toContain('Invalid argument "sql"');
    }
    const after = await upstreamStats();
    expect(after.statements).toBe(before.statements);
    expect(after.writes).toBe(before.writes);
    expect(after.lastStatements.some((sql) => /DELETE|DROP|INSERT/i.test(sql))).toBe(false);
  });

  it("answers bad arguments with which argument and why", async () => {
    const { client } = await connect();
    const result = (await client.callTool({
      name: "presto_run_query",
      arguments: { sql: "SELECT 1", limit: 0 },
    })) as Result;
    expect(result.isError).toBe(true);
    expect(textOf(result)).toMatch(/"limit": .*>=1/);
  });

  it("reports query errors with their message and position", async () => {
    const { client } = await connect();
    const result = (await client.callTool({
      name: "presto_run_query",
      arguments: { sql: "SELECT * FROM hive.sales.nope" },
    })) as Result;
    expect(result.isError).toBe(true);
    expect(textOf(result)).toMatch(/does not exist/);
    expect(textOf(result)).toMatch(/line 1/);
  });

  it("keeps the session across a restart of the Worker and its Durable Objects", async () => {
    const { client, transport } = await connect();
    const sessionId = transport.sessionId;
    expect(textOf(await client.callTool({ name: "presto_list_catalogs", arguments: {} }))).toContain("hive");
    const restart = await fetch(`${inject("controlUrl")}/restart/presto`, { method: "POST" });
    expect(restart.status).toBe(204);
    const after = await client.callTool({ name: "presto_list_schemas", arguments: { catalog: "hive" } });
    expect(textOf(after)).toContain("sales");
    expect(transport.sessionId).toBe(sessionId);
  });

  it("resumes a dropped stream with Last-Event-ID", async () => {
    const { transport } = await connect();
    const headers = {
      "content-type": "application/json",
      accept: "application/json, text/event-stream",
      "mcp-session-id": transport.sessionId as string,
      "mcp-protocol-version": "2025-11-25",
      ...alice,
    };
    // Slow the coordinator down so the call is still running when the stream drops.
    await fetch(`${upstream}/_local/faults`, { method: "POST", body: JSON.stringify({ delayMs: 250, count: 8 }) });
    const response = await fetch(`${server}/mcp`, {
      method: "POST",
      headers,
      body: JSON.stringify({
        jsonrpc: "2.0",
        id: 501,
        method: "tools/call",
        params: {
          name: "presto_run_query",
          arguments: { sql: "SELECT count(*) AS n FROM hive.sales.orders" },
          _meta: { progressToken: 1 },
        },
      }),
    });
    const reader = textReader(response);
    let seen = "";
    while (!/^id: /m.test(seen)) seen += await reader.read();
    await reader.cancel();
    const lastEventId = [...seen.matchAll(/^id: (.+)$/gm)].map((m) => m[1]).at(-1) as string;

    // The server notices the drop asynchronously; until then it answers 409 and the client retries.
    let resumed = await fetch(`${server}/mcp`, { headers: { ...headers, "last-event-id": lastEventId } });
    for (let attempt = 0; resumed.status === 409 && attempt < 50; attempt++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      resumed = await fetch(`${server}/mcp`, { headers: { ...headers, "last-event-id": lastEventId } });
    }
    expect(resumed.status).toBe(200);
    const rest = textReader(resumed);
    let replay = "";
    while (!replay.includes('"id":501') && !rest.done) replay += await rest.read();
    await rest.cancel();
    await fetch(`${upstream}/_local/faults`, { method: "DELETE" });
    expect(replay).toContain('"id":501');
    expect(replay).toContain("10000");
  });
});

describe("Presto server over legacy HTTP+SSE (2024-11-05)", () => {
  it("initializes, lists tools and runs a query", async () => {
    const transport = new SSEClientTransport(new URL(`${server}/sse`), {
      requestInit: { headers: alice },
      eventSourceInit: {
        fetch: (url, init) => fetch(url, { ...init, headers: { ...init?.headers, ...alice } }),
      },
    });
    const client = new Client({ name: "legacy", version: "1.0.0" });
    await client.connect(transport);
    clients.push(client);
    expect((await client.listTools()).tools.length).toBe(8); // presto_kill_query is listed: step-up
    const result = await client.callTool({
      name: "presto_run_query",
      arguments: {
        sql: "SELECT tier, count(*) AS customers FROM hive.sales.customers GROUP BY tier ORDER BY tier",
        format: "markdown",
      },
    });
    expect(textOf(result)).toMatch(/^\| tier \| customers \|/);
  });
});
