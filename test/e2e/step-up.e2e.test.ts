/**
 * Destructive means a write scope: a token consented only for reading never kills a query, even
 * if its client answers its own approval request. The call is met with a scope challenge (MCP
 * step-up: 403 insufficient_scope naming every scope needed); a token consented for
 * presto:write then runs it, after the human approves the exact query.
 */
import { Client, StreamableHTTPClientTransport } from "@modelcontextprotocol/client";
import { describe, expect, it } from "vitest";
import { fleetServer } from "./fleet";
import { bearer, postInitialize, userToken } from "./identities";

const server = fleetServer("presto").url;
const QUERY = "20241126_000000_00000_zzzzz";

describe("step-up to a write scope", () => {
  it("challenges a read-only token's kill with insufficient_scope, and kills once presto:write is consented", async () => {
    const readOnly = bearer(await userToken("alice", server, "presto:read"));
    const init = await postInitialize(`${server}/mcp`, readOnly);
    expect(init.status).toBe(200);
    const session = init.headers.get("mcp-session-id") as string;
    await init.body?.cancel();
    const kill = await fetch(`${server}/mcp`, {
      method: "POST",
      headers: {
        ...readOnly,
        "content-type": "application/json",
        accept: "application/json, text/event-stream",
        "mcp-session-id": session,
        "mcp-protocol-version": "2025-11-25",
      },
      body: JSON.stringify({
        jsonrpc: "2.0",
        id: 2,
        method: "tools/call",
        params: { name: "presto_kill_query", arguments: { queryId: QUERY } },
      }),
    });
    expect(kill.status).toBe(403);
    const challenge = kill.headers.get("www-authenticate") ?? "";
    expect(challenge).toContain('error="insufficient_scope"');
    expect(challenge).toContain('scope="presto:read presto:write"');
    expect(challenge).toContain(`resource_metadata="${server}/.well-known/oauth-protected-resource`);

    // Consent to presto:write (the consent page says it allows actions that change things).
    const writer = bearer(await userToken("alice", server, "presto:read presto:write"));
    const asked: string[] = [];
    const client = new Client({ name: "e2e", version: "1" }, { capabilities: { elicitation: { form: {} } } });
    client.setRequestHandler("elicitation/create", async (request) => {
      asked.push(request.params.message);
      return { action: "accept", content: { approve: true } };
    });
    await client.connect(
      new StreamableHTTPClientTransport(new URL(`${server}/mcp`), { requestInit: { headers: writer } }),
    );
    const result = await client.callTool({ name: "presto_kill_query", arguments: { queryId: QUERY } });
    expect(asked).toEqual([`Kill Presto query ${QUERY}? Its results are lost and its user is told it was canceled.`]);
    // Approved and run: the coordinator has no such query.
    expect(JSON.stringify(result.content)).toContain(`No query ${QUERY} on the coordinator`);
    await client.close();
  });
});
