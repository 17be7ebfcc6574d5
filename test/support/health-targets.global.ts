/**
 * HTTP servers the registry's health probe is tested against, one origin per behaviour:
 * - healthy:     GET /health → 200
 * - authOnly:    GET /health → 404, POST /mcp → 401 (an MCP server that wants a token: alive)
 * - failing:     every request → 500
 * - slow:        answers nothing for SLOW_MS (beyond the probe's timeout)
 * - unreachable: a port nobody listens on
 * Every answer comes after ANSWER_DELAY_MS, so measured latencies are known to be at least that.
 * `stats` (on the healthy origin) reports the most requests in flight at once across all of them;
 * `POST /stats/reset` zeroes it.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { TestProject } from "vitest/node";

export const ANSWER_DELAY_MS = 15;
export const SLOW_MS = 4_000;

export interface HealthTargets {
  healthy: string;
  authOnly: string;
  failing: string;
  slow: string;
  unreachable: string;
}

declare module "vitest" {
  export interface ProvidedContext {
    healthTargets: HealthTargets;
  }
}

type Handler = (request: IncomingMessage, response: ServerResponse) => void;

export default async function setup(project: TestProject) {
  let inFlight = 0;
  let maxInFlight = 0;

  /** Counts the request in flight until its answer is sent (or its client goes away). */
  const tracked =
    (handler: Handler): Handler =>
    (request, response) => {
      inFlight += 1;
      maxInFlight = Math.max(maxInFlight, inFlight);
      response.on("close", () => {
        inFlight -= 1;
      });
      handler(request, response);
    };
  const answer = (response: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
    const timer = setTimeout(() => {
      response.writeHead(status, { "content-type": "application/json", ...headers }).end(JSON.stringify(body));
    }, ANSWER_DELAY_MS);
    response.on("close", () => clearTimeout(timer));
  };

  const healthy = await listen((request, response) => {
    if (request.url === "/stats") return void response.writeHead(200).end(JSON.stringify({ maxInFlight }));
    if (request.url === "/stats/reset" && request.method === "POST") {
      maxInFlight = inFlight;
      return void response.writeHead(204).end();
    }
    tracked((req, res) => {
      if (req.url === "/health") return answer(res, 200, { status: "ok" });
      answer(res, 404, { error: "not found" });
    })(request, response);
  });
  const authOnly = await listen(
    tracked((request, response) => {
      if (request.url === "/mcp" && request.method === "POST") {
        return answer(
          response,
          401,
          { error: "invalid_token" },
          { "www-authenticate": 'Bearer resource_metadata="http://127.0.0.1/.well-known/oauth-protected-resource"' },
        );
      }
      answer(response, 404, { error: "not found" });
    }),
  );
  const failing = await listen(tracked((_request, response) => answer(response, 500, { error: "boom" })));
  const slow = await listen(
    tracked((_request, response) => {
      const timer = setTimeout(() => response.writeHead(200).end("{}"), SLOW_MS);
      response.on("close", () => clearTimeout(timer));
    }),
  );
  // A port that was free a moment ago and that nothing listens on now.
  const closed = await listen(() => {});
  const unreachablePort = (closed.address() as AddressInfo).port;
  await stop(closed);

  const origin = (server: Server) => `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  project.provide("healthTargets", {
    healthy: origin(healthy),
    authOnly: origin(authOnly),
    failing: origin(failing),
    slow: origin(slow),
    unreachable: `http://127.0.0.1:${unreachablePort}`,
  });
  return async () => {
    await Promise.all([healthy, authOnly, failing, slow].map(stop));
  };
}

async function listen(handler: Handler): Promise<Server> {
  const server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return server;
}

async function stop(server: Server): Promise<void> {
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeAllConnections();
  await closed;
}
