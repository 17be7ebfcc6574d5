/**
 * Identity that follows the IdP: every refresh reads the user again at the real local IdP, whose
 * directory the tests change (local/idp.admin.ts). Lifetimes are checked with a moved clock.
 */
import { afterEach, describe, expect, it, vi } from "vitest";
import { changeIdpUser, newIdpUser } from "../../local/idp.admin";
import { IDP_ADMIN, PRESTO, presto, refresh, signedInClient, type Tokens } from "./auth.testing";

const DAY = 24 * 60 * 60 * 1000;

afterEach(() => {
  vi.useRealTimers();
  vi.restoreAllMocks();
});

async function refreshed(response: Response): Promise<Tokens> {
  expect(response.status, await response.clone().text()).toBe(200);
  return response.json();
}

describe("every refresh reads the user again at the IdP", () => {
  it("drops a group the user was removed from: the next access token no longer has it", async () => {
    const user = await newIdpUser(IDP_ADMIN, "dana", ["data-eng", "ads"]);
    const { client, tokens } = await signedInClient(user);
    expect((await presto.validateToken(PRESTO, tokens.access_token))?.props).toMatchObject({
      groups: ["data-eng", "ads"],
    });

    await changeIdpUser(IDP_ADMIN, user.username, { groups: ["ads"] });
    const next = await refreshed(await refresh(client, tokens.refresh_token));
    expect((await presto.validateToken(PRESTO, next.access_token))?.props).toMatchObject({ groups: ["ads"] });
    // The bound: the token issued before the change lives one access-token lifetime at most.
    expect(tokens.expires_in).toBeLessThanOrEqual(300);
    expect(next.expires_in).toBeLessThanOrEqual(300);

    await changeIdpUser(IDP_ADMIN, user.username, { groups: ["ads", "finance"] });
    const again = await refreshed(await refresh(client, next.refresh_token));
    expect((await presto.validateToken(PRESTO, again.access_token))?.props).toMatchObject({
      groups: ["ads", "finance"],
    });
  });

  it("refuses the refresh of a disabled user with invalid_grant and revokes the grant with its tokens", async () => {
    const user = await newIdpUser(IDP_ADMIN, "erin", ["finance"]);
    const { client, tokens } = await signedInClient(user);
    await changeIdpUser(IDP_ADMIN, user.username, { disabled: true });

    const response = await refresh(client, tokens.refresh_token);
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ error: "invalid_grant" });
    expect(await presto.validateToken(PRESTO, tokens.access_token)).toBeNull();
    // Re-enabled at the IdP, the grant stays gone: the user signs in again.
    await changeIdpUser(IDP_ADMIN, user.username, { disabled: false });
    expect((await refresh(client, tokens.refresh_token)).status).toBe(400);
  });

  it("follows a changed email at the same subject: the new email becomes the identity of record", async () => {
    const user = await newIdpUser(IDP_ADMIN, "finn", ["ads"]);
    const { client, tokens } = await signedInClient(user);
    const email = `someone-else-${user.username}@example.com`;
    await changeIdpUser(IDP_ADMIN, user.username, { email });
    const next = await refreshed(await refresh(client, tokens.refresh_token));
    expect((await presto.validateToken(PRESTO, next.access_token))?.props).toMatchObject({
      sub: user.username,
      principal: email,
      email,
    });
  });

  it("fails closed while the IdP is unreachable: 503, no token from stale groups, the grant kept", async () => {
    const user = await newIdpUser(IDP_ADMIN, "gail", ["data-eng"]);
    const { client, tokens } = await signedInClient(user);
    const realFetch = globalThis.fetch;
    vi.spyOn(globalThis, "fetch").mockImplementation((input, init) => {
      const url = new Request(input, init).url;
      if (url.startsWith(IDP_ADMIN.issuer)) return Promise.reject(new TypeError("Network connection lost."));
      return realFetch(input, init);
    });

    const response = await refresh(client, tokens.refresh_token);
    expect(response.status).toBe(503);
    expect(response.headers.get("Retry-After")).toBe("30");
    expect(await response.json()).toMatchObject({
      error: "temporarily_unavailable",
      error_description: expect.stringContaining("cannot be reached"),
    });

    vi.restoreAllMocks();
    const later = await refreshed(await refresh(client, tokens.refresh_token));
    expect((await presto.validateToken(PRESTO, later.access_token))?.props).toMatchObject({ groups: ["data-eng"] });
  });

  it("issues no refresh token when the IdP gave none: the user cannot be read again, so signs in again", async () => {
    const user = await newIdpUser(IDP_ADMIN, "jo", ["ads"]);
    const realFetch = globalThis.fetch;
    vi.spyOn(globalThis, "fetch").mockImplementation(async (input, init) => {
      const response = await realFetch(input, init);
      if (new Request(input, init).url !== `${IDP_ADMIN.issuer}/token`) return response;
      const { refresh_token: _dropped, ...rest } = (await response.json()) as Record<string, unknown>;
      return Response.json(rest, { status: response.status });
    });
    const { tokens } = await signedInClient(user);
    expect(tokens.refresh_token).toBeUndefined();
    expect(await presto.validateToken(PRESTO, tokens.access_token)).not.toBeNull();
  });

  it("never puts the IdP's refresh token in an access token", async () => {
    const user = await newIdpUser(IDP_ADMIN, "hana", ["ads"]);
    const { client, tokens } = await signedInClient(user);
    const next = await refreshed(await refresh(client, tokens.refresh_token));
    for (const token of [tokens.access_token, next.access_token]) {
      const props = (await presto.validateToken(PRESTO, token))?.props as Record<string, unknown>;
      expect(Object.keys(props).sort()).toEqual(
        ["email", "groups", "iss", "kind", "name", "principal", "sub", "username"].sort(),
      );
    }
  });
});

describe("refresh lifetimes", () => {
  /** A signed-in client, and a clock the Worker sees that the test moves on. */
  async function withClock() {
    const user = await newIdpUser(IDP_ADMIN, "ivan", ["ads"]);
    const session = await signedInClient(user);
    const start = Date.now();
    vi.useFakeTimers({ toFake: ["Date"] });
    const at = (offset: number) => vi.setSystemTime(start + offset);
    return { ...session, at };
  }

  it("ends a grant that was not used for the idle lifetime (7 days)", async () => {
    const { client, tokens, at } = await withClock();
    at(7 * DAY + 60_000);
    const response = await refresh(client, tokens.refresh_token);
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ error: "invalid_grant" });
  });

  it("keeps a grant in use for at most the absolute lifetime (30 days), however often it is refreshed", async () => {
    const { client, tokens, at } = await withClock();
    let refreshToken = tokens.refresh_token;
    for (const day of [6, 12, 18, 24, 29.5]) {
      at(day * DAY);
      refreshToken = (await refreshed(await refresh(client, refreshToken))).refresh_token;
    }
    // Last refreshed half a day ago, well within the idle lifetime: refused all the same.
    at(30 * DAY + 60_000);
    const response = await refresh(client, refreshToken);
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ error: "invalid_grant" });
  });

  it("shortens the last access tokens so none outlives the absolute lifetime", async () => {
    const { client, tokens, at } = await withClock();
    let refreshToken = tokens.refresh_token;
    for (const day of [6, 12, 18, 24]) {
      at(day * DAY);
      refreshToken = (await refreshed(await refresh(client, refreshToken))).refresh_token;
    }
    at(30 * DAY - 120_000);
    const last = await refreshed(await refresh(client, refreshToken));
    expect(last.expires_in).toBeLessThanOrEqual(120);
  });
});
