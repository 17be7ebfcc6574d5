/**
 * The 2024-11-05 HTTP+SSE transport for older clients, on web streams: `GET /sse` opens the
 * event stream and announces `/messages?sessionId=…`; the client POSTs JSON-RPC there and every
 * answer travels back over the stream. (The SDK's SSEServerTransport needs Node's http.)
 */
import { type AuthInfo, type JSONRPCMessage, parseJSONRPCMessage, type Transport } from "@modelcontextprotocol/server";
import { MAX_BATCH_SIZE } from "./session.routing";

const KEEP_ALIVE_MS = 15_000;

export class LegacySseTransport implements Transport {
  readonly sessionId: string;
  onclose?: () => void;
  onerror?: (error: Error) => void;
  onmessage?: (message: JSONRPCMessage, extra?: { authInfo?: AuthInfo }) => void;
  readonly #endpoint: string;
  readonly #encoder = new TextEncoder();
  #controller: ReadableStreamDefaultController<Uint8Array> | undefined;
  #keepAlive: ReturnType<typeof setInterval> | undefined;
  #closed = false;

  constructor(sessionId: string, messagesPath: string) {
    this.sessionId = sessionId;
    this.#endpoint = `${messagesPath}?sessionId=${encodeURIComponent(sessionId)}`;
  }

  /** The long-lived `text/event-stream` response for `GET /sse`. */
  open(): Response {
    const stream = new ReadableStream<Uint8Array>({
      start: (controller) => {
        this.#controller = controller;
        this.#write(`event: endpoint\ndata: ${this.#endpoint}\n\n`);
        this.#keepAlive = setInterval(() => this.#write(": keep-alive\n\n"), KEEP_ALIVE_MS);
      },
      cancel: () => this.close(),
    });
    return new Response(stream, {
      headers: { "content-type": "text/event-stream", "cache-control": "no-cache", connection: "keep-alive" },
    });
  }

  async start(): Promise<void> {}

  /** A POST to the messages endpoint; answers go out on the stream. */
  receive(body: unknown, authInfo: AuthInfo): Response {
    if (this.#closed) return new Response("Session closed", { status: 404 });
    const batch = Array.isArray(body) ? body : [body];
    if (batch.length > MAX_BATCH_SIZE) {
      // The same cap as the SDK's Streamable HTTP transport: one POST cannot start thousands of calls.
      return new Response(
        `Invalid Request: a batch must not exceed ${MAX_BATCH_SIZE} messages (it has ${batch.length})`,
        {
          status: 400,
        },
      );
    }
    if (batch.length === 0) return new Response("Invalid Request: an empty batch", { status: 400 });
    const messages: JSONRPCMessage[] = [];
    for (const item of batch) {
      try {
        messages.push(parseJSONRPCMessage(item));
      } catch {
        return new Response("Invalid JSON-RPC message", { status: 400 });
      }
    }
    for (const message of messages) this.onmessage?.(message, { authInfo });
    return new Response("Accepted", { status: 202 });
  }

  async send(message: JSONRPCMessage): Promise<void> {
    if (!this.#write(`event: message\ndata: ${JSON.stringify(message)}\n\n`)) {
      throw new Error("The SSE stream of this session is closed");
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#keepAlive !== undefined) clearInterval(this.#keepAlive);
    try {
      this.#controller?.close();
    } catch {
      // already closed by the client going away
    }
    this.onclose?.();
  }

  #write(chunk: string): boolean {
    if (this.#closed || !this.#controller) return false;
    try {
      this.#controller.enqueue(this.#encoder.encode(chunk));
      return true;
    } catch (error) {
      this.onerror?.(error as Error);
      return false;
    }
  }
}
