/**
 * A local reverse proxy for the conformance suite: the suite's client has no OAuth, and the kit never
 * switches authentication off, so this proxy adds a valid bearer token to every request and forwards
 * everything else untouched (method, path, headers including Host and Origin, and streamed bodies both
 * ways, so SSE responses arrive as the server writes them).
 *
 * One exception, for the fixture only (`toolNames`): the suite calls some fixture tools by names
 * without the server's prefix (the tasks scenarios: greet, slow_compute, ...), which the kit refuses
 * (a tool carries its server's prefix). A tools/call naming one of them is passed on under the
 * fixture's name (body `params.name` and the `Mcp-Name` header alike); nothing else is changed.
 */
import { createServer, request as forward, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";

export interface BearerProxy {
  /** The proxy's origin (http://127.0.0.1:<port>). */
  url: string;
  close(): Promise<void>;
}

/** Starts a proxy on a free port in front of `target` (an origin), adding `Authorization: Bearer <token>`. */
export async function startBearerProxy(
  target: string,
  token: string,
  toolNames: Record<string, string> = {},
): Promise<BearerProxy> {
  const upstream = new URL(target);
  let own = "";
  const server: Server = createServer(async (incoming: IncomingMessage, outgoing) => {
    // The proxy is transparent: a request naming the proxy's own host names the target's instead;
    // any other Host (the suite's DNS-rebinding probes) reaches the server as sent.
    const host = incoming.headers.host === own ? upstream.host : incoming.headers.host;
    const headers: Record<string, string | string[] | undefined> = {
      ...incoming.headers,
      host,
      authorization: `Bearer ${token}`,
    };
    const renamed =
      incoming.headers["mcp-method"] === "tools/call" ? await renamedCall(incoming, toolNames) : undefined;
    if (renamed) {
      headers["content-length"] = String(renamed.body.length);
      // The header is renamed only where it named the same tool as the body (a mismatch stays one).
      if (renamed.name && headers["mcp-name"] === renamed.from) headers["mcp-name"] = renamed.name;
    }
    const proxied = forward(
      {
        protocol: upstream.protocol,
        hostname: upstream.hostname,
        port: upstream.port,
        method: incoming.method,
        path: incoming.url,
        headers,
      },
      (answer) => {
        outgoing.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(outgoing);
      },
    );
    proxied.on("error", (error) => {
      if (!outgoing.headersSent) outgoing.writeHead(502, { "content-type": "text/plain" });
      outgoing.end(`proxy: ${error.message}`);
    });
    // The client closing its side (e.g. a cancelled stream) closes the upstream request too.
    outgoing.on("close", () => proxied.destroy());
    if (renamed) proxied.end(renamed.body);
    else incoming.pipe(proxied);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  own = `127.0.0.1:${port}`;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/**
 * A tools/call, read whole: the body to send (renamed where it names a tool in `toolNames`), and
 * the rename (`from` → `name`), if any. Undefined (the body not read) when there is nothing to map.
 */
async function renamedCall(
  incoming: IncomingMessage,
  toolNames: Record<string, string>,
): Promise<{ body: Buffer; from?: string; name?: string } | undefined> {
  if (Object.keys(toolNames).length === 0) return undefined;
  const chunks: Buffer[] = [];
  for await (const chunk of incoming) chunks.push(chunk as Buffer);
  const body = Buffer.concat(chunks);
  try {
    const message = JSON.parse(body.toString("utf8")) as { params?: { name?: unknown } };
    const from = message.params?.name;
    const name = typeof from === "string" && Object.hasOwn(toolNames, from) ? toolNames[from] : undefined;
    if (!name || !message.params) return { body };
    message.params.name = name;
    return { body: Buffer.from(JSON.stringify(message)), from: from as string, name };
  } catch {
    return { body };
  }
}
