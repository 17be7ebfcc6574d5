/**
 * Human approval on 2026-07-28 (approval.modern.ts): input_required with the exact action, a
 * signed requestState bound to caller, server, tool and arguments, a nonce used once. The same
 * approval in a 2025 session is pushed over the session (tools.test.ts, sdk-v1-client.test.ts).
 */
import { env, runDurableObjectAlarm } from "cloudflare:test";
import { Client, type ElicitResult, StreamableHTTPClientTransport } from "@modelcontextprotocol/client";
import { CfWorkerJsonSchemaValidator } from "@modelcontextprotocol/client/validators/cf-worker";
import { describe, expect, it } from "vitest";
import { bearer, callerObjectOf, postRpc, textOf, userIdOf, workerFetch } from "./mcp-client";

const MODERN = "2026-07-28";
const callers = env.CALLERS as DurableObjectNamespace;
const WRITER = (name: string) => `${name}; groups=data-eng; scopes=echo:read echo:write`;

async function modernClient(user: string, answer: () => ElicitResult) {
  const transport = new StreamableHTTPClientTransport(new URL("http://localhost/mcp"), {
    fetch: workerFetch,
    requestInit: { headers: { authorization: bearer(user) } },
  });
  const client = new Client(
    { name: "modern-approver", version: "1.0.0" },
    {
      capabilities: { elicitation: { form: {} } },
      jsonSchemaValidator: new CfWorkerJsonSchemaValidator(),
      versionNegotiation: { mode: { pin: MODERN } },
    },
  );
  const asked: string[] = [];
  client.setRequestHandler("elicitation/create", async (request) => {
    asked.push(request.params.message);
    return answer();
  });
  await client.connect(transport);
  return { client, asked };
}

type Answer = { result?: Record<string, unknown>; error?: { code: number; message: string } };
function callDelete(
  user: string,
  item: string,
  extra: Record<string, unknown> = {},
  capabilities: object = { elicitation: {} },
) {
  return callModern(user, "echo_delete_item", { item }, extra, capabilities);
}

function callModern(
  user: string,
  name: string,
  args: Record<string, unknown>,
  extra: Record<string, unknown> = {},
  capabilities: object = { elicitation: {} },
) {
  return postRpc(
    {
      jsonrpc: "2.0",
      id: crypto.randomUUID(),
      method: "tools/call",
      params: {
        name,
        arguments: args,
        ...extra,
        _meta: {
          "io.modelcontextprotocol/protocolVersion": MODERN,
          "io.modelcontextprotocol/clientCapabilities": capabilities,
          "io.modelcontextprotocol/clientInfo": { name: "raw", version: "1" },
        },
      },
    },
    {
      "mcp-protocol-version": MODERN,
      "mcp-method": "tools/call",
      "mcp-name": name,
      accept: "application/json, text/event-stream",
      authorization: bearer(user),
    },
  ).then(async (response) => {
    const text = await response.text();
    // An SSE answer: the last event is the response (2026-07-28 sends no logs unless asked to).
    const data = text.startsWith("{") ? text : ([...text.matchAll(/^data: (.*)$/gm)].at(-1)?.[1] ?? "{}");
    expect(text).not.toContain("notifications/message");
    return JSON.parse(data) as Answer;
  });
}
const accept = { approval: { action: "accept", content: { approve: true } } };

async function recorded(name: string) {
  await runDurableObjectAlarm(callers.get(callers.idFromName(callerObjectOf("echo", name))));
  const { results } = await env.DB.prepare(
    "SELECT outcome, error_class FROM invocations WHERE caller_id = ? AND tool_name = 'echo_delete_item'",
  )
    .bind(userIdOf(name))
    .all();
  return results;
}

describe("approval on 2026-07-28", () => {
  it("asks with the exact action; yes runs the handler once, no and cancel do not", async () => {
    const yes = await modernClient(WRITER("ada"), () => ({ action: "accept", content: { approve: true } }));
    expect(textOf(await yes.client.callTool({ name: "echo_delete_item", arguments: { item: "m1" } }))).toBe(
      "deleted m1",
    );
    expect(yes.asked).toEqual(['Delete item "m1" permanently?']);
    expect(await recorded("ada")).toEqual([{ outcome: "ok", error_class: null }]);
    for (const [name, answer] of [
      ["bea", { action: "decline" }],
      ["cyd", { action: "cancel" }],
      ["dee", { action: "accept", content: { approve: false } }],
    ] as const) {
      const no = await modernClient(WRITER(name), () => answer as ElicitResult);
      const result = await no.client.callTool({ name: "echo_delete_item", arguments: { item: "m2" } });
      expect(result.isError).toBe(true);
      expect(textOf(result)).toContain('nothing was done: Delete item "m2" permanently?');
      expect(await recorded(name)).toEqual([{ outcome: "error", error_class: "not_approved" }]);
    }
  });

  it("refuses a replayed state, changed arguments and another caller's state; nothing runs", async () => {
    const first = await callDelete(WRITER("eve"), "m3");
    expect(first.result?.resultType).toBe("input_required");
    const requestState = first.result?.requestState as string;
    expect(requestState).toMatch(/^v1\./);
    const inputRequests = (first.result?.inputRequests ?? {}) as Record<string, { params: { message: string } }>;
    const asked = inputRequests.approval;
    expect(asked?.params.message).toBe('Delete item "m3" permanently?');

    const changed = await callDelete(WRITER("eve"), "m3-other", { requestState, inputResponses: accept });
    expect(textOf(changed.result)).toContain("the arguments changed since the approval was asked for");
    const stranger = await callDelete(WRITER("fox"), "m3", { requestState, inputResponses: accept });

    expect(stranger.error?.code).toBe(-32602);
    const tampered = await callDelete(WRITER("eve"), "m3", {
      requestState: `${requestState}x`,
      inputResponses: accept,
    });
    expect(tampered.error?.code).toBe(-32602);

    const approved = await callDelete(WRITER("eve"), "m3", { requestState, inputResponses: accept });
    expect(textOf(approved.result)).toBe("deleted m3");
    const replay = await callDelete(WRITER("eve"), "m3", { requestState, inputResponses: accept });
    expect(textOf(replay.result)).toContain("this approval was already used");
    expect((await recorded("eve")).filter((row) => row.outcome === "ok")).toHaveLength(1);
  });

  it("refuses, with a clear message, a client that cannot elicit", async () => {
    const answer = await callDelete(WRITER("gus"), "m4", {}, {});
    expect(answer.result?.isError).toBe(true);
    expect(textOf(answer.result)).toContain("this client cannot ask for it (no elicitation support)");
  });
});

describe("an approval's own form fields on 2026-07-28", () => {
  it("holds the answers to the form asked (the SDK passes input responses unchecked): off-form answers run nothing", async () => {
    const user = WRITER("pia");
    const args = { options: ["red", "blue"] };
    const ask = async () => (await callModern(user, "echo_pick", args)).result as { requestState: string };
    const answer = (content: Record<string, unknown>) => ({
      approval: { action: "accept", content: { approve: true, ...content } },
    });

    for (const colour of [{ evil: 1 }, "green", undefined]) {
      const { requestState } = await ask();
      const refused = await callModern(user, "echo_pick", args, {
        requestState,
        inputResponses: answer(colour === undefined ? {} : { colour }),
      });
      expect(textOf(refused.result as never)).toContain("the approval's answers do not match its form");
      expect(textOf(refused.result as never)).not.toContain("picked");
    }

    const { requestState } = await ask();
    const picked = await callModern(user, "echo_pick", args, {
      requestState,
      inputResponses: answer({ colour: "red" }),
    });
    expect(textOf(picked.result as never)).toBe('picked {"colour":"red"}');
  });
});
