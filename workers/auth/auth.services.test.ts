import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { AuthEnv } from "./auth.config";
import { sha256Hex } from "./auth.crypto";
import { OTHER, PRESTO, presto, registerClient, tokenRequest, validator } from "./auth.testing";

/** The secrets whose SHA-256 the test configuration (vitest.auth.config.ts) registers. */
const REPORTING_BOT = { id: "reporting-bot", secret: "reporting-bot-test-secret" };
const ETL_BOT = { id: "etl-bot", secret: "etl-bot-test-secret" };

const basic = (client: { id: string; secret: string }) => ({
  Authorization: `Basic ${btoa(`${client.id}:${client.secret}`)}`,
});

function clientCredentials(form: Record<string, string>, headers: HeadersInit = basic(REPORTING_BOT)) {
  return tokenRequest(new URLSearchParams({ grant_type: "client_credentials", resource: PRESTO, ...form }), headers);
}

describe("client credentials for service identities", () => {
  it("issues an opaque five-minute token for one resource (client_secret_basic)", async () => {
    const response = await clientCredentials({});
    expect(response.status).toBe(200);
    expect(response.headers.get("Cache-Control")).toBe("no-store");
    const body = (await response.json()) as { access_token: string };
    expect(body).toEqual({
      access_token: expect.any(String),
      token_type: "Bearer",
      expires_in: 300,
      scope: "presto:read",
    });
    expect(body.access_token).toMatch(/^svc_[\w-]{43}$/);

    expect(await presto.validateToken(PRESTO, body.access_token)).toEqual({
      props: { kind: "service", name: "reporting-bot" },
      audience: PRESTO,
      expiresAt: expect.any(Number),
      scope: ["presto:read"],
      userId: "service:reporting-bot",
      clientId: "reporting-bot",
    });
    expect(await validator("other").validateToken(OTHER, body.access_token)).toBeNull();
  });

  it("stores the token only by its hash", async () => {
    const { access_token } = (await (await clientCredentials({})).json()) as { access_token: string };
    const kv = (env as unknown as AuthEnv).OAUTH_KV;
    const record = await kv.get(`svc-token:${await sha256Hex(access_token)}`, "json");
    expect(record).toMatchObject({ service: "reporting-bot", audience: PRESTO, scope: ["presto:read"] });
    const { keys } = await kv.list({ prefix: "svc-token:" });
    expect(keys.some((key) => key.name.includes(access_token))).toBe(false);
  });

  it("accepts client_secret_post and narrows to the scope asked for", async () => {
    const response = await clientCredentials(
      { client_id: ETL_BOT.id, client_secret: ETL_BOT.secret, scope: "presto:write" },
      {},
    );
    expect(response.status).toBe(200);
    const { access_token, scope } = (await response.json()) as { access_token: string; scope: string };
    expect(scope).toBe("presto:write");
    expect((await presto.validateToken(PRESTO, access_token))?.scope).toEqual(["presto:write"]);
  });

  it("answers a wrong secret or an unknown service with 401 invalid_client", async () => {
    for (const client of [
      { ...REPORTING_BOT, secret: "wrong" },
      { id: "nobody", secret: REPORTING_BOT.secret },
    ]) {
      const response = await clientCredentials({}, basic(client));
      expect(response.status).toBe(401);
      expect(response.headers.get("WWW-Authenticate")).toMatch(/^Basic /);
      expect(await response.json()).toMatchObject({ error: "invalid_client" });
    }
    const withoutSecret = await clientCredentials({ client_id: REPORTING_BOT.id }, {});
    expect(withoutSecret.status).toBe(401);
  });

  it("refuses a scope beyond the service's registration", async () => {
    const response = await clientCredentials({ scope: "presto:read presto:write" });
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ error: "invalid_scope" });
  });

  it("needs exactly one resource it serves", async () => {
    const noResource = new URLSearchParams({ grant_type: "client_credentials" });
    const twoResources = new URLSearchParams({ grant_type: "client_credentials", resource: PRESTO });
    twoResources.append("resource", OTHER);
    const unknown = new URLSearchParams({
      grant_type: "client_credentials",
      resource: "https://elsewhere.example/mcp",
    });
    for (const form of [noResource, twoResources, unknown]) {
      const response = await tokenRequest(form, basic(REPORTING_BOT));
      expect(response.status).toBe(400);
      expect(await response.json()).toMatchObject({ error: "invalid_target" });
    }
  });

  it("refuses two authentication methods at once", async () => {
    const response = await clientCredentials({ client_id: REPORTING_BOT.id, client_secret: REPORTING_BOT.secret });
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ error: "invalid_request" });
  });

  it("leaves every other grant to the library", async () => {
    const { client_id } = await registerClient();
    const response = await tokenRequest({ grant_type: "password", client_id, username: "alice", password: "x" });
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ error: "unsupported_grant_type" });
  });

  it("does not validate a service token it never issued", async () => {
    expect(await presto.validateToken(PRESTO, "svc_not-a-real-token")).toBeNull();
  });
});
