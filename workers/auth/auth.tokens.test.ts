import { describe, expect, it } from "vitest";
import {
  authorize,
  Browser,
  exchangeCode,
  PRESTO,
  pkcePair,
  presto,
  registerClient,
  signedInClient,
  tokenRequest,
  USERS,
} from "./auth.testing";

/** A client holding a fresh authorization code for alice. */
async function withCode() {
  const client = await registerClient();
  const { verifier, challenge } = await pkcePair();
  const redirect = await authorize(new Browser(), { client, challenge }, USERS.alice);
  return { client, verifier, code: redirect.searchParams.get("code") as string };
}

describe("authorization code exchange", () => {
  it("refuses a PKCE verifier that does not match the challenge", async () => {
    const { client, code } = await withCode();
    const response = await exchangeCode({ client, code, verifier: (await pkcePair()).verifier });
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ error: "invalid_grant" });
  });

  it("refuses a redirect URI other than the one authorized", async () => {
    const { client, code, verifier } = await withCode();
    const response = await exchangeCode({ client, code, verifier, redirectUri: "http://127.0.0.1:33418/other" });
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ error: "invalid_grant" });
  });

  it("refuses a code used twice", async () => {
    const { client, code, verifier } = await withCode();
    expect((await exchangeCode({ client, code, verifier })).status).toBe(200);
    const replay = await exchangeCode({ client, code, verifier });
    expect(replay.status).toBe(400);
    expect(await replay.json()).toMatchObject({ error: "invalid_grant" });
  });

  it("refuses a code for another resource than the one authorized", async () => {
    const { client, code, verifier } = await withCode();
    const response = await exchangeCode({ client, code, verifier, resource: "http://127.0.0.1:8791/mcp" });
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ error: "invalid_target" });
  });
});

describe("refresh and revocation", () => {
  it("rotates refresh tokens", async () => {
    const { client, tokens } = await signedInClient(USERS.alice);
    const refresh = (refreshToken: string) =>
      tokenRequest({ grant_type: "refresh_token", client_id: client.client_id, refresh_token: refreshToken });
    const first = await refresh(tokens.refresh_token);
    expect(first.status).toBe(200);
    const rotated = (await first.json()) as { access_token: string; refresh_token: string };
    expect(rotated.refresh_token).not.toBe(tokens.refresh_token);
    expect(await presto.validateToken(PRESTO, rotated.access_token)).not.toBeNull();
    // Once the new refresh token is used, the old one is gone.
    expect((await refresh(rotated.refresh_token)).status).toBe(200);
    expect((await refresh(tokens.refresh_token)).status).toBe(400);
  });
});
