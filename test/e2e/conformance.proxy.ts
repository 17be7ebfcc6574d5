/**
 * A local reverse proxy for the conformance suite: the suite's client has no OAuth, and the kit never
 * switches authentication off, so this proxy adds a valid bearer token to every request and forwards
 * everything else untouched (method, path, headers including Host and Origin, and streamed bodies both
 * ways, so SSE responses arrive as the server writes them).
 */
import { createServer, request as forward, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";

export interface BearerProxy {
  /** The proxy's origin (http://127.0.0.1:<port>). */
  url: string;
  close(): Promise<void>;
}

/** Starts a proxy on a free port in front of `target` (an origin), adding `Authorization: Bearer <token>`. */
export async function startBearerProxy(target: string, token: string): Promise<BearerProxy> {
  const upstream = new URL(target);
  let own = "";
  const server: Server = createServer((incoming: IncomingMessage, outgoing) => {
    // The proxy is transparent: a request naming the proxy's own host names the target's instead;
    // any other Host (the suite's DNS-rebinding probes) reaches the server as sent.
    const host = incoming.headers.host === own ? upstream.host : incoming.headers.host;
    const headers = { ...incoming.headers, host, authorization: `Bearer ${token}` };
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
    incoming.pipe(proxied);
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
