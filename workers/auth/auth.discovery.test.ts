import { describe, expect, it } from "vitest";
import {
  ADMIN,
  authorizeUrl,
  Browser,
  CLIENT_REDIRECT,
  ISSUER,
  OTHER,
  PRESTO,
  pkcePair,
  registerClient,
  worker,
} from "./auth.testing";

const get = (path: string, init?: RequestInit) => worker.fetch(new Request(`${ISSUER}${path}`, init));

describe("authorization server metadata", () => {
  it("publishes RFC 8414 metadata with S256 only and the client credentials grant", async () => {
    const response = await get("/.well-known/oauth-authorization-server");
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({
      issuer: ISSUER,
      authorization_endpoint: `${ISSUER}/authorize`,
      token_endpoint: `${ISSUER}/oauth/token`,
      registration_endpoint: `${ISSUER}/oauth/register`,
      revocation_endpoint: `${ISSUER}/oauth/token`,
      protected_resources: [PRESTO, OTHER, ADMIN],
      scopes_supported: ["presto:read", "presto:write", "echo:read", "fleet:admin"],
      response_types_supported: ["code"],
      grant_types_supported: ["authorization_code", "refresh_token", "client_credentials"],
      token_endpoint_auth_methods_supported: expect.arrayContaining([
        "client_secret_basic",
        "client_secret_post",
        "none",
      ]),
      code_challenge_methods_supported: ["S256"],
      authorization_response_iss_parameter_supported: true,
      client_id_metadata_document_supported: true,
    });
  });

  it("serves the same document as OpenID-style discovery, with CORS for browser clients", async () => {
    const rfc8414 = await (await get("/.well-known/oauth-authorization-server")).json();
    const openid = await get("/.well-known/openid-configuration", { headers: { Origin: "http://localhost:6274" } });
    expect(openid.headers.get("Access-Control-Allow-Origin")).toBe("http://localhost:6274");
    expect(await openid.json()).toEqual(rfc8414);
    const preflight = await get("/.well-known/openid-configuration", {
      method: "OPTIONS",
      headers: { Origin: "http://localhost:6274", "Access-Control-Request-Headers": "mcp-protocol-version" },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get("Access-Control-Allow-Origin")).toBe("http://localhost:6274");
  });

  it("answers health checks", async () => {
    expect(await (await get("/health")).json()).toEqual({ status: "ok" });
  });
});

describe("dynamic client registration", () => {
  it("registers a public client with loopback and native-app redirect URIs", async () => {
    const client = await registerClient({
      client_name: "Cursor",
      redirect_uris: [CLIENT_REDIRECT, "cursor://anysphere.cursor-mcp/oauth/callback"],
    });
    expect(client.client_id).toBeTruthy();
    expect(client.client_secret).toBeUndefined();
    expect(client.redirect_uris).toEqual([CLIENT_REDIRECT, "cursor://anysphere.cursor-mcp/oauth/callback"]);

    // The native scheme is usable in an authorization request, and the page names its host.
    const { challenge } = await pkcePair();
    const page = await new Browser().fetch(
      authorizeUrl({ client, challenge, redirectUri: "cursor://anysphere.cursor-mcp/oauth/callback" }),
    );
    expect(page.status).toBe(200);
    expect(await page.text()).toContain("<strong>anysphere.cursor-mcp</strong>");
  });

  it("refuses redirect URIs that are plain http on a remote host", async () => {
    const response = await get("/oauth/register", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ redirect_uris: ["http://app.example.com/callback"], token_endpoint_auth_method: "none" }),
    });
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ error: "invalid_client_metadata" });
  });

  it("matches redirect URIs exactly, except a loopback port (RFC 8252)", async () => {
    const client = await registerClient();
    const { challenge } = await pkcePair();
    const otherPort = await new Browser().fetch(
      authorizeUrl({ client, challenge, redirectUri: "http://127.0.0.1:51234/callback" }),
    );
    expect(otherPort.status).toBe(200);

    for (const redirectUri of ["http://127.0.0.1:33418/callback/extra", "https://attacker.example/callback"]) {
      const refused = await new Browser().fetch(authorizeUrl({ client, challenge, redirectUri }));
      expect(refused.status).toBe(400);
      expect(refused.headers.get("Location")).toBeNull();
    }
  });
});
