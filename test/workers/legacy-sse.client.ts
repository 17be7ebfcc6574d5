/** A legacy HTTP+SSE (2024-11-05) client, raw: the stream's events and POSTs to /messages. */
import { expect } from "vitest";
import { ALICE, bearer, workerFetch } from "./mcp-client";

export async function postTo(url: string, body: unknown, user = ALICE) {
  return workerFetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: bearer(user) },
    body: JSON.stringify(body),
  });
}

export async function fetchSse(url: string, user = ALICE) {
  const response = await workerFetch(url, { headers: { accept: "text/event-stream", authorization: bearer(user) } });
  expect(response.headers.get("content-type")).toContain("text/event-stream");
  const reader = (response.body as ReadableStream<Uint8Array>).pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  return {
    async next(event: string): Promise<string> {
      for (;;) {
        const end = buffer.indexOf("\n\n");
        if (end >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const name = /^event: (.*)$/m.exec(block)?.[1];
          const data = /^data: (.*)$/m.exec(block)?.[1];
          if (name === event && data !== undefined) return data;
          continue;
        }
        const { value, done } = await reader.read();
        if (done) throw new Error("stream ended");
        buffer += value;
      }
    },
    close: () => reader.cancel(),
  };
}

/** Opens a legacy session and initializes it; `post` sends to its messages endpoint. */
export async function openLegacySession(user = ALICE, capabilities: Record<string, unknown> = {}) {
  const opened = await fetchSse("http://localhost/sse", user);
  const endpoint = await opened.next("endpoint");
  const sessionId = new URL(`http://localhost${endpoint}`).searchParams.get("sessionId") as string;
  const post = (body: unknown) => postTo(`http://localhost${endpoint}`, body, user);
  await post({
    jsonrpc: "2.0",
    id: 0,
    method: "initialize",
    params: { protocolVersion: "2024-11-05", capabilities, clientInfo: { name: "raw-sse", version: "1" } },
  });
  await opened.next("message");
  await post({ jsonrpc: "2.0", method: "notifications/initialized" });
  return { ...opened, post, sessionId };
}
