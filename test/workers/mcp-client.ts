/** SDK clients talking to the Worker under test through its real fetch handler. */
import { exports } from "cloudflare:workers";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { ElicitRequestSchema, type ElicitResult } from "@modelcontextprotocol/sdk/types.js";
import { CfWorkerJsonSchemaValidator } from "@modelcontextprotocol/sdk/validation/cfworker-provider.js";

export const ALICE = "alice; groups=data-eng; scopes=echo:read echo:write";
export const ADMIN = "root; groups=admins; scopes=echo:read echo:write";
export const CAROL = "carol";
export const BOT = "service:etl-bot; scopes=echo:read";

const worker = exports as unknown as { default: Fetcher };

export const workerFetch = (input: string | URL | Request, init?: RequestInit) =>
  worker.default.fetch(new Request(input, init));

export interface ConnectOptions {
  user?: string;
  /** Answers approval requests; absent means the client does not support elicitation. */
  onElicit?: (message: string) => ElicitResult;
  sessionId?: string;
  protocolVersion?: string;
}

export async function connect(options: ConnectOptions = {}) {
  const transport = new StreamableHTTPClientTransport(new URL("http://localhost/mcp"), {
    fetch: workerFetch,
    requestInit: { headers: { "x-fleet-dev-user": options.user ?? ALICE } },
    ...(options.sessionId ? { sessionId: options.sessionId } : {}),
  });
  const client = new Client(
    { name: "kit-test", version: "1.0.0" },
    {
      capabilities: options.onElicit ? { elicitation: { form: {} } } : {},
      jsonSchemaValidator: new CfWorkerJsonSchemaValidator(),
    },
  );
  if (options.onElicit) {
    const answer = options.onElicit;
    client.setRequestHandler(ElicitRequestSchema, async (request) => answer(request.params.message));
  }
  await client.connect(transport);
  return { client, transport };
}

/** A raw JSON-RPC POST to /mcp, for what the SDK client does not let a test see. */
export function postRpc(body: unknown, headers: Record<string, string> = {}) {
  return workerFetch("http://localhost/mcp", {
    method: "POST",
    headers: {
      "content-type": "application/json",
      accept: "application/json, text/event-stream",
      "x-fleet-dev-user": ALICE,
      ...headers,
    },
    body: JSON.stringify(body),
  });
}

export function initializeMessage(protocolVersion = "2025-11-25") {
  return {
    jsonrpc: "2.0",
    id: 0,
    method: "initialize",
    params: { protocolVersion, capabilities: {}, clientInfo: { name: "raw", version: "1" } },
  };
}

export function textOf(result: unknown): string {
  const content = (result as { content?: unknown }).content as { type: string; text?: string }[] | undefined;
  return (content ?? []).map((part) => part.text ?? "").join("");
}
