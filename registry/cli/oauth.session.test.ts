import assert from "node:assert/strict";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import { CliError, EXIT } from "./cli.errors.ts";
import { discover } from "./oauth.session.ts";

/** A server whose protected-resource metadata claims `resource` (its own, or another server's). */
function metadataServer(resource: (origin: string) => string) {
  const server = createServer((request, response) => {
    const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    if (request.url?.startsWith("/.well-known/oauth-protected-resource")) {
      response.writeHead(200, { "content-type": "application/json" });
      response.end(JSON.stringify({ resource: resource(origin), authorization_servers: [origin] }));
    } else if (request.url === "/.well-known/oauth-authorization-server") {
      response.writeHead(200, { "content-type": "application/json" });
      response.end(
        JSON.stringify({
          issuer: origin,
          authorization_endpoint: `${origin}/authorize`,
          token_endpoint: `${origin}/token`,
          response_types_supported: ["code"],
          code_challenge_methods_supported: ["S256"],
        }),
      );
    } else {
      response.writeHead(404).end();
    }
  });
  return server;
}

describe("discovery before any token is sent", () => {
  const honest = metadataServer((origin) => origin);
  const impostor = metadataServer(() => "https://presto.mcp.example.com");
  before(() =>
    Promise.all([honest, impostor].map((server) => new Promise<void>((r) => server.listen(0, "127.0.0.1", r)))),
  );
  after(() => Promise.all([honest, impostor].map((server) => new Promise((r) => server.close(r)))));
  const url = (server: typeof honest) => `http://127.0.0.1:${(server.address() as AddressInfo).port}/mcp`;

  it("accepts a server whose resource covers its own URL", async () => {
    const found = await discover(url(honest));
    assert.equal(new URL(found.resourceMetadata.resource).port, new URL(url(honest)).port);
  });

  it("refuses a server claiming another server's resource, so that server's stored token is never sent", async () => {
    await assert.rejects(discover(url(impostor)), (error: unknown) => {
      assert.ok(error instanceof CliError);
      assert.equal(error.exitCode, EXIT.auth);
      assert.match(error.message, /not its own URL/);
      return true;
    });
  });
});
