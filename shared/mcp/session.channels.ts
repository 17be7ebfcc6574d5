/**
 * A Streamable HTTP session's channels: an SDK `Server` plus a transport each, built on first
 * use. `json` answers in one JSON body (the fast path); `stream` answers over SSE with the
 * resumable event log. After an eviction a channel is rebuilt by replaying the stored
 * `initialize` through its fresh transport.
 */
import {
  type EventStore,
  LATEST_PROTOCOL_VERSION,
  type Server,
  SUPPORTED_PROTOCOL_VERSIONS,
  WebStandardStreamableHTTPServerTransport,
} from "@modelcontextprotocol/server";
import type { ChannelKind } from "./session.routing";
import { authInfoFor } from "./session.routing";
import type { SessionRecord } from "./session.storage";

export interface Channel {
  server: Server;
  transport: WebStandardStreamableHTTPServerTransport;
}

export interface ChannelFactory {
  buildServer(sessionId: string): Server;
  eventStore(): EventStore;
  maxBodyBytes: number;
}

export class Channels {
  readonly #open = new Map<ChannelKind, Promise<Channel>>();
  readonly #factory: ChannelFactory;

  constructor(factory: ChannelFactory) {
    this.#factory = factory;
  }

  /** The channel of this kind; on first use after a restart, `replay` re-initializes it. */
  get(kind: ChannelKind, record: SessionRecord, options: { replay: boolean } = { replay: true }): Promise<Channel> {
    let channel = this.#open.get(kind);
    if (!channel) {
      channel = this.#build(kind, record, options.replay);
      this.#open.set(kind, channel);
      channel.catch(() => this.#open.delete(kind));
    }
    return channel;
  }

  /** The channel of this kind if it is open (nothing is built). */
  ifOpen(kind: ChannelKind): Promise<Channel> | undefined {
    return this.#open.get(kind);
  }

  /** The channels open now (notifications go to each of them). */
  async opened(): Promise<Channel[]> {
    const settled = await Promise.allSettled([...this.#open.values()]);
    return settled.flatMap((result) => (result.status === "fulfilled" ? [result.value] : []));
  }

  async closeAll(): Promise<void> {
    const channels = await this.opened();
    this.#open.clear();
    for (const channel of channels) await channel.server.close();
  }

  async #build(kind: ChannelKind, record: SessionRecord, replay: boolean): Promise<Channel> {
    const server = this.#factory.buildServer(record.sessionId);
    const transport = new WebStandardStreamableHTTPServerTransport({
      sessionIdGenerator: () => record.sessionId,
      enableJsonResponse: kind === "json",
      ...(kind === "stream" ? { eventStore: this.#factory.eventStore(), retryInterval: 1_000 } : {}),
      maxRequestBodySize: this.#factory.maxBodyBytes,
    });
    await server.connect(transport);
    if (replay) await replayInitialize(transport, record);
    return { server, transport };
  }
}

async function replayInitialize(transport: WebStandardStreamableHTTPServerTransport, record: SessionRecord) {
  const headers = { accept: "application/json, text/event-stream", "content-type": "application/json" };
  const url = "https://session.internal/mcp";
  const authInfo = authInfoFor(record.owner);
  const answer = await transport.handleRequest(new Request(url, { method: "POST", headers }), {
    parsedBody: record.initialize,
    authInfo,
  });
  await answer.body?.cancel();
  const followUp = {
    ...headers,
    "mcp-session-id": record.sessionId,
    "mcp-protocol-version": negotiatedVersion(record),
  };
  await transport.handleRequest(new Request(url, { method: "POST", headers: followUp }), {
    parsedBody: { jsonrpc: "2.0", method: "notifications/initialized" },
    authInfo,
  });
}

/** The version the SDK answered at initialize: the client's, when supported, else the latest. */
function negotiatedVersion(record: SessionRecord): string {
  const requested = (record.initialize as { params?: { protocolVersion?: string } } | null)?.params?.protocolVersion;
  return requested && SUPPORTED_PROTOCOL_VERSIONS.includes(requested) ? requested : LATEST_PROTOCOL_VERSION;
}
