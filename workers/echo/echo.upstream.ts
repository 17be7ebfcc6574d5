/**
 * The echo service, locally (Node): what `npm start` and the tests run behind the echo server
 * (fleet.config.ts starts it). In memory: POST /echo {caller, text} → {text, count};
 * GET /messages?caller=&limit= → {messages} (newest first); DELETE /messages?caller= →
 * {forgotten}; GET /health. On its own: `node workers/echo/echo.upstream.ts [port]`.
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { LocalUpstream, RunningUpstream } from "../../local/fleet.manifest.ts";

const MAX_BODY = 64 * 1024;
const KEPT_PER_CALLER = 100;

export async function startEchoUpstream(options: { port?: number; host?: string } = {}): Promise<RunningUpstream> {
  const messages = new Map<string, { text: string; at: string }[]>();
  const server = createServer((request, response) => {
    handle(request, response, messages).catch((error) => answer(response, 500, { error: String(error) }));
  });
  const host = options.host ?? "127.0.0.1";
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, host, () => resolve());
  });
  return {
    url: `http://${host}:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

async function handle(
  request: IncomingMessage,
  response: ServerResponse,
  messages: Map<string, { text: string; at: string }[]>,
): Promise<void> {
  const url = new URL(request.url ?? "/", "http://echo.local");
  const caller = url.searchParams.get("caller") ?? "";
  if (request.method === "GET" && url.pathname === "/health") return answer(response, 200, { status: "ok" });
  if (request.method === "POST" && url.pathname === "/echo") {
    const body = (await readJson(request)) as { caller?: unknown; text?: unknown } | undefined;
    if (typeof body?.caller !== "string" || typeof body.text !== "string") {
      return answer(response, 400, { error: "send {caller, text} as JSON strings" });
    }
    const kept = [{ text: body.text, at: new Date().toISOString() }, ...(messages.get(body.caller) ?? [])];
    messages.set(body.caller, kept.slice(0, KEPT_PER_CALLER));
    return answer(response, 200, { text: body.text, count: kept.length });
  }
  if (url.pathname === "/messages" && caller) {
    if (request.method === "GET") {
      const limit = Math.max(1, Math.min(KEPT_PER_CALLER, Number(url.searchParams.get("limit") ?? 10) || 10));
      return answer(response, 200, { messages: (messages.get(caller) ?? []).slice(0, limit) });
    }
    if (request.method === "DELETE") {
      const forgotten = messages.get(caller)?.length ?? 0;
      messages.delete(caller);
      return answer(response, 200, { forgotten });
    }
  }
  answer(response, 404, { error: `no ${request.method} ${url.pathname} (or no caller)` });
}

async function readJson(request: IncomingMessage): Promise<unknown> {
  let body = "";
  for await (const chunk of request) {
    body += chunk;
    if (body.length > MAX_BODY) return undefined;
  }
  try {
    return JSON.parse(body);
  } catch {
    return undefined;
  }
}

function answer(response: ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));
}

/** How fleet.config.ts starts it: as ECHO_URL, on 8091 under `npm start`. */
const echoUpstream: LocalUpstream = {
  env: "ECHO_URL",
  port: 8091,
  label: "local echo service",
  start: startEchoUpstream,
};
export default echoUpstream;

if (process.argv[1] === import.meta.filename) {
  const { url } = await startEchoUpstream({ port: Number(process.argv[2] ?? echoUpstream.port) });
  console.log(`echo service on ${url}`);
}
