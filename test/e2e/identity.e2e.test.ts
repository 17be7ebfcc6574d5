/**
 * Identity end to end: the SDK client's own OAuth support against the auth Worker and the local
 * OpenID Provider (login and consent driven by the test), users with different groups, a
 * service identity, and an attack matrix in which nothing is executed.
 *
 * Deliberately on SDK v1 (`@modelcontextprotocol/sdk`, a devDependency for this): clients still on
 * v1 sign in and work against the v2 fleet. SDK v2's own OAuth is test/e2e/sdk-v2.e2e.test.ts.
 */

import type { OAuthClientProvider } from "@modelcontextprotocol/sdk/client/auth.js";
import { UnauthorizedError } from "@modelcontextprotocol/sdk/client/auth.js";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import type {
  OAuthClientInformationMixed,
  OAuthClientMetadata,
  OAuthTokens,
} from "@modelcontextprotocol/sdk/shared/auth.js";
import { describe, expect, inject, it } from "vitest";
import { LOCAL_IDP_ADMIN_TOKEN, LOCAL_SERVICES } from "../../local/fleet.ts";
import { changeIdpUser, newIdpUser } from "../../local/idp.admin.ts";
import {
  approveInBrowser,
  authorizeUrl,
  exchangeCode,
  pkce,
  refreshTokens,
  registerClient,
  serviceToken,
  signInSession,
  type Tokens,
} from "../../local/oauth.client.ts";
import { fleetServer, upstreamOf } from "./fleet";
import { bearer, botToken, postInitialize, userToken } from "./identities";

const server = fleetServer("presto").url;
const authUrl = inject("authUrl");
const upstream = upstreamOf("presto");
const registry = inject("registryUrl");
const idpAdmin = { issuer: inject("idpUrl"), adminToken: LOCAL_IDP_ADMIN_TOKEN };
const REDIRECT = "http://127.0.0.1:33418/callback";

type Result = { isError?: boolean; content?: { text?: string }[] };
const textOf = (result: unknown) => ((result as Result).content ?? []).map((part) => part.text ?? "").join("");

/** What an MCP client keeps between runs; here in memory, with the browser step left to the test. */
class MemoryOAuthProvider implements OAuthClientProvider {
  authorizationUrl: URL | undefined;
  #client: OAuthClientInformationMixed | undefined;
  #tokens: OAuthTokens | undefined;
  #verifier = "";
  readonly redirectUrl = REDIRECT;
  readonly clientMetadata: OAuthClientMetadata = {
    client_name: "SDK e2e client",
    redirect_uris: [REDIRECT],
    grant_types: ["authorization_code", "refresh_token"],
    response_types: ["code"],
    token_endpoint_auth_method: "none",
  };
  clientInformation() {
    return this.#client;
  }
  saveClientInformation(info: OAuthClientInformationMixed) {
    this.#client = info;
  }
  tokens() {
    return this.#tokens;
  }
  saveTokens(tokens: OAuthTokens) {
    this.#tokens = tokens;
  }
  redirectToAuthorization(url: URL) {
    this.authorizationUrl = url;
  }
  saveCodeVerifier(verifier: string) {
    this.#verifier = verifier;
  }
  codeVerifier() {
    return this.#verifier;
  }
}

/** Connects as `username` the way Claude Code or Cursor would: 401 → discovery → DCR → PKCE → browser → token. */
async function connectWithSdkOAuth(username: string) {
  const provider = new MemoryOAuthProvider();
  const url = new URL(`${server}/mcp`);
  const first = new StreamableHTTPClientTransport(url, { authProvider: provider });
  await expect(new Client({ name: "sdk", version: "1" }).connect(first)).rejects.toBeInstanceOf(UnauthorizedError);
  const authorization = provider.authorizationUrl as URL;
  expect(authorization.origin).toBe(authUrl);
  expect(authorization.searchParams.get("code_challenge_method")).toBe("S256");
  expect(authorization.searchParams.get("resource")?.startsWith(server)).toBe(true);
  const back = await approveInBrowser(authorization.toString(), { username }, { redirectUri: REDIRECT });
  await first.finishAuth(back.searchParams.get("code") as string);
  const client = new Client({ name: "sdk", version: "1" });
  await client.connect(new StreamableHTTPClientTransport(url, { authProvider: provider }));
  return { client, provider };
}

describe("signing in with the SDK client's OAuth support", () => {
  it("lets alice (data-eng) in, with the tools of a data engineer", async () => {
    const { client, provider } = await connectWithSdkOAuth("alice");
    expect(provider.tokens()?.refresh_token).toBeTruthy();
    expect(provider.tokens()?.expires_in).toBeLessThanOrEqual(600);
    const names = (await client.listTools()).tools.map((tool) => tool.name);
    expect(names).toContain("presto_kill_query");
    const result = await client.callTool({
      name: "presto_run_query",
      arguments: { sql: "SELECT count(*) AS n FROM hive.sales.customers" },
    });
    expect(textOf(result)).toContain("2000");
    await client.close();
  });

  it("lets bob (finance) read but not kill queries", async () => {
    const { client } = await connectWithSdkOAuth("bob");
    const names = (await client.listTools()).tools.map((tool) => tool.name);
    expect(names).toContain("presto_run_query");
    expect(names).not.toContain("presto_kill_query");
    const denied = await client.callTool({
      name: "presto_kill_query",
      arguments: { queryId: "20200101_000000_00000_zzzzz" },
    });
    expect(textOf(denied)).toContain("requires membership in one of: data-eng");
    await client.close();
  });

  it("refuses carol, who is in no allowed group, at the door", async () => {
    const token = await userToken("carol", server);
    const response = await initialize(bearer(token));
    expect(response.status).toBe(403);
    expect(await response.text()).toContain("none of the groups allowed to use the presto server");
  });
});

/** An SDK client on Presto with this access token (a fresh session). */
async function connectWithToken(token: string): Promise<Client> {
  const client = new Client({ name: "e2e", version: "1" });
  await client.connect(
    new StreamableHTTPClientTransport(new URL(`${server}/mcp`), { requestInit: { headers: bearer(token) } }),
  );
  return client;
}

const toolNames = async (client: Client) => (await client.listTools()).tools.map((tool) => tool.name);

describe("identity that follows the IdP", () => {
  it("sends the identity of record (the verified email) to Trino as the user, not the login name", async () => {
    const client = await connectWithToken(await userToken("alice", server));
    const run = await client.callTool({ name: "presto_run_query", arguments: { sql: "SELECT 1 AS one" } });
    const { queryId } = (run as unknown as { structuredContent: { queryId: string } }).structuredContent;
    const status = await client.callTool({ name: "presto_query_status", arguments: { queryId } });
    expect(JSON.parse(textOf(status))).toMatchObject({ user: "alice@example.com" });
    await client.close();
  });

  it("takes a tool away at the next refresh once the IdP removes the user from its group", async () => {
    const user = await newIdpUser(idpAdmin, "dana", ["data-eng"]);
    const { client: oauth, tokens } = await signInSession(authUrl, user, server);
    const before = await connectWithToken(tokens.access_token);
    expect(await toolNames(before)).toContain("presto_kill_query");
    await before.close();

    await changeIdpUser(idpAdmin, user.username, { groups: ["ads"] });
    const response = await refreshTokens(authUrl, oauth, tokens.refresh_token as string);
    expect(response.status).toBe(200);
    const next = (await response.json()) as Tokens;
    const after = await connectWithToken(next.access_token);
    const names = await toolNames(after);
    expect(names).toContain("presto_run_query");
    expect(names).not.toContain("presto_kill_query");
    await after.close();
  });

  it("refuses a disabled user's refresh with invalid_grant", async () => {
    const user = await newIdpUser(idpAdmin, "erin", ["finance"]);
    const { client: oauth, tokens } = await signInSession(authUrl, user, server);
    await changeIdpUser(idpAdmin, user.username, { disabled: true });
    const response = await refreshTokens(authUrl, oauth, tokens.refresh_token as string);
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ error: "invalid_grant" });
    // Its grant is gone with its tokens: this token was never used at Presto, so no cache holds it.
    expect((await initialize(bearer(tokens.access_token))).status).toBe(401);
  });
});

describe("service identities (client credentials)", () => {
  it("calls a service-allowed tool and is refused a human-only one", async () => {
    const client = new Client({ name: "bot", version: "1" });
    await client.connect(
      new StreamableHTTPClientTransport(new URL(`${server}/mcp`), {
        requestInit: { headers: bearer(await botToken(server)) },
      }),
    );
    const names = (await client.listTools()).tools.map((tool) => tool.name);
    expect(names).not.toContain("presto_kill_query");
    expect(textOf(await client.callTool({ name: "presto_list_catalogs", arguments: {} }))).toContain("hive");
    const refused = await client.callTool({
      name: "presto_kill_query",
      arguments: { queryId: "20200101_000000_00000_zzzzz" },
    });
    expect(textOf(refused)).toContain("cannot be called by services");
    await client.close();
  });

  it("refuses a wrong secret, a foreign resource and scopes beyond its registration", async () => {
    const wrong = await serviceToken(authUrl, { name: "reporting-bot", secret: "guess" }, server);
    expect(wrong.status).toBe(401);
    const foreign = await serviceToken(
      authUrl,
      { name: "reporting-bot", secret: LOCAL_SERVICES["reporting-bot"].secret },
      "https://elsewhere.example.com",
    );
    expect(((await foreign.json()) as { error: string }).error).toBe("invalid_target");
    const greedy = await serviceToken(
      authUrl,
      { name: "reporting-bot", secret: LOCAL_SERVICES["reporting-bot"].secret },
      server,
      "presto:admin",
    );
    expect(((await greedy.json()) as { error: string }).error).toBe("invalid_scope");
  });
});

function initialize(headers: Record<string, string>) {
  return postInitialize(`${server}/mcp`, headers);
}

async function statementsSoFar(): Promise<number> {
  return ((await (await fetch(`${upstream}/_local/stats`)).json()) as { statements: number }).statements;
}

describe("attack matrix: refused with the right status, nothing executed", () => {
  it.each([
    ["no token", {}],
    ["a malformed token", { authorization: "Bearer %%%" }],
    [
      "a JWT with alg none",
      { authorization: `Bearer ${btoa('{"alg":"none"}')}.${btoa('{"sub":"alice","groups":["data-eng"]}')}.` },
    ],
    [
      "a token from another issuer",
      { authorization: "Bearer eyJhbGciOiJIUzI1NiJ9.eyJpc3MiOiJodHRwczovL2V2aWwifQ.c2ln" },
    ],
  ])("%s → 401 with resource metadata", async (_label, headers) => {
    const before = await statementsSoFar();
    const response = await initialize(headers as Record<string, string>);
    expect(response.status).toBe(401);
    expect(response.headers.get("www-authenticate")).toContain(
      `resource_metadata="${server}/.well-known/oauth-protected-resource"`,
    );
    expect(await statementsSoFar()).toBe(before);
  });

  it("a tampered token (its groups live server-side; any change invalidates it) → 401", async () => {
    const token = await userToken("bob", server);
    // Change one character for a different one (replacing it with itself would not tamper).
    const at = token.length - 2;
    const tampered = `${token.slice(0, at)}${token[at] === "A" ? "B" : "A"}${token.slice(at + 1)}`;
    expect((await initialize(bearer(tampered))).status).toBe(401);
  });

  it("a token for another server (audience) → 401", async () => {
    const forRegistry = await userToken("alice", registry);
    expect((await initialize(bearer(forRegistry))).status).toBe(401);
  });

  it("a revoked token → 401", async () => {
    const client = await registerClient(authUrl, REDIRECT);
    const { verifier, challenge } = pkce();
    const back = await approveInBrowser(
      authorizeUrl(authUrl, client, { resource: server, scope: "presto:read", challenge }),
      { username: "alice" },
      { redirectUri: REDIRECT },
    );
    const tokens = (await (
      await exchangeCode(authUrl, client, back.searchParams.get("code") as string, verifier)
    ).json()) as { access_token: string };
    const metadata = (await (await fetch(`${authUrl}/.well-known/oauth-authorization-server`)).json()) as {
      revocation_endpoint: string;
    };
    const revoked = await fetch(metadata.revocation_endpoint, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ token: tokens.access_token, client_id: client.clientId }),
    });
    expect(revoked.status).toBe(200);
    expect((await initialize(bearer(tokens.access_token))).status).toBe(401);
  });

  it("PKCE verifier mismatch, redirect-URI mismatch and code replay are refused at the token endpoint", async () => {
    const client = await registerClient(authUrl, REDIRECT);
    const { verifier, challenge } = pkce();
    const url = authorizeUrl(authUrl, client, { resource: server, scope: "presto:read", challenge });
    const code = (await approveInBrowser(url, { username: "alice" }, { redirectUri: REDIRECT })).searchParams.get(
      "code",
    ) as string;
    const wrongVerifier = await exchangeCode(authUrl, client, code, pkce().verifier);
    expect(((await wrongVerifier.json()) as { error: string }).error).toBe("invalid_grant");

    const code2 = (
      await approveInBrowser(
        authorizeUrl(authUrl, client, { resource: server, scope: "presto:read", challenge }),
        { username: "alice" },
        { redirectUri: REDIRECT },
      )
    ).searchParams.get("code") as string;
    const wrongRedirect = await exchangeCode(
      authUrl,
      { ...client, redirectUri: "http://127.0.0.1:9/elsewhere" },
      code2,
      verifier,
    );
    expect(wrongRedirect.ok).toBe(false);

    const code3 = (
      await approveInBrowser(
        authorizeUrl(authUrl, client, { resource: server, scope: "presto:read", challenge }),
        { username: "alice" },
        { redirectUri: REDIRECT },
      )
    ).searchParams.get("code") as string;
    expect((await exchangeCode(authUrl, client, code3, verifier)).ok).toBe(true);
    const replay = await exchangeCode(authUrl, client, code3, verifier);
    expect(((await replay.json()) as { error: string }).error).toBe("invalid_grant");
  });

  it("an unregistered redirect URI never reaches the consent page", async () => {
    const client = await registerClient(authUrl, REDIRECT);
    const { challenge } = pkce();
    const url = authorizeUrl(
      authUrl,
      { ...client, redirectUri: "http://evil.example/cb" },
      { resource: server, scope: "presto:read", challenge },
    );
    const response = await fetch(url, { redirect: "manual" });
    expect(response.status).toBeGreaterThanOrEqual(400);
    expect(response.headers.get("location")).toBeNull();
  });

  it("a user missing the server's scope → 403 insufficient_scope; outside its groups → 403", async () => {
    const noScope = await userToken("alice", server, "");
    const response = await initialize(bearer(noScope));
    expect(response.status).toBe(403);
    expect(response.headers.get("www-authenticate")).toContain('error="insufficient_scope"');
  });
});
