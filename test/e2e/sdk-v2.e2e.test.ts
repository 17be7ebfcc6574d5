/**
 * The SDK v2 client (`@modelcontextprotocol/client`) against the running fleet, signing in with
 * its own OAuth support (401 → discovery → registration → PKCE → the scripted browser → RFC 9207
 * `iss` checked → token), once pinned to 2026-07-28 and once in `auto` mode, on Presto and Echo:
 * both speak 2026-07-28 on the same /mcp, so both modes end up modern; a legacy-mode client on the
 * same token gets a 2025 session. An approval (presto_kill_query) comes back as `input_required`
 * and the SDK answers it through the client's elicitation handler.
 */
import {
  Client,
  type ElicitResult,
  type OAuthClientInformationMixed,
  type OAuthClientMetadata,
  type OAuthClientProvider,
  type OAuthTokens,
  StreamableHTTPClientTransport,
  UnauthorizedError,
  type VersionNegotiationMode,
} from "@modelcontextprotocol/client";
import { describe, expect, inject, it } from "vitest";
import { approveInBrowser } from "../../local/oauth.client.ts";
import { fleetServer } from "./fleet";
import { bearer, userToken } from "./identities";

const authUrl = inject("authUrl");
const MODERN = "2026-07-28";
const REDIRECT = "http://127.0.0.1:33419/callback";

type Result = { isError?: boolean; content?: { text?: string }[] };
const textOf = (result: unknown) => ((result as Result).content ?? []).map((part) => part.text ?? "").join("");

/** What an MCP client keeps between runs; in memory, with the browser step left to the test. */
class MemoryOAuthProvider implements OAuthClientProvider {
  authorizationUrl: URL | undefined;
  #client: OAuthClientInformationMixed | undefined;
  #tokens: OAuthTokens | undefined;
  #verifier = "";
  readonly redirectUrl = REDIRECT;
  readonly clientMetadata: OAuthClientMetadata = {
    client_name: "SDK v2 e2e client",
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

/** `answer`, when given, is the person answering the server's elicitation (its message in hand). */
type Answer = (message: string) => ElicitResult;

function newClient(mode: VersionNegotiationMode, answer?: Answer): Client {
  const client = new Client(
    { name: "sdk-v2-e2e", version: "1" },
    { capabilities: answer ? { elicitation: { form: {} } } : {}, versionNegotiation: { mode } },
  );
  if (answer) client.setRequestHandler("elicitation/create", async (request) => answer(request.params.message));
  return client;
}

/** Signs `username` in through the SDK's OAuth support and connects in `mode`. */
async function connectWithSdkOAuth(serverUrl: string, username: string, mode: VersionNegotiationMode) {
  const provider = new MemoryOAuthProvider();
  const url = new URL(`${serverUrl}/mcp`);
  const first = new StreamableHTTPClientTransport(url, { authProvider: provider });
  await expect(newClient(mode).connect(first)).rejects.toBeInstanceOf(UnauthorizedError);
  const authorization = provider.authorizationUrl as URL;
  expect(authorization.origin).toBe(authUrl);
  expect(authorization.searchParams.get("code_challenge_method")).toBe("S256");
  expect(authorization.searchParams.get("resource")?.startsWith(serverUrl)).toBe(true);
  const back = await approveInBrowser(authorization.toString(), { username }, { redirectUri: REDIRECT });
  expect(back.searchParams.get("iss")).toBe(authUrl); // RFC 9207: the SDK checks it before redeeming the code
  await first.finishAuth(back.searchParams);
  const client = newClient(mode);
  await client.connect(new StreamableHTTPClientTransport(url, { authProvider: provider }));
  return { client, provider };
}

async function connectWithToken(serverUrl: string, token: string, mode: VersionNegotiationMode, answer?: Answer) {
  const client = newClient(mode, answer);
  await client.connect(
    new StreamableHTTPClientTransport(new URL(`${serverUrl}/mcp`), { requestInit: { headers: bearer(token) } }),
  );
  return client;
}

const MODES: [string, VersionNegotiationMode][] = [
  [`pinned to ${MODERN}`, { pin: MODERN }],
  ["in auto mode", "auto"],
];

describe("SDK v2 client through OAuth", () => {
  for (const [label, mode] of MODES) {
    it(`${label}: alice lists and calls Presto's tools over ${MODERN}`, async () => {
      const presto = fleetServer("presto").url;
      const { client, provider } = await connectWithSdkOAuth(presto, "alice", mode);
      try {
        expect(provider.tokens()?.refresh_token).toBeTruthy();
        expect(client.getNegotiatedProtocolVersion()).toBe(MODERN);
        const names = (await client.listTools()).tools.map((tool) => tool.name);
        expect(names).toEqual(expect.arrayContaining(["presto_run_query", "presto_kill_query"]));
        const result = await client.callTool({
          name: "presto_run_query",
          arguments: { sql: "SELECT count(*) AS n FROM hive.sales.customers" },
        });
        expect(result.isError).toBeFalsy();
        expect(textOf(result)).toContain("2000");
      } finally {
        await client.close();
      }
    });

    it(`${label}: alice lists and calls Echo's tools over ${MODERN}, as herself`, async () => {
      const echo = fleetServer("echo").url;
      const { client } = await connectWithSdkOAuth(echo, "alice", mode);
      try {
        expect(client.getNegotiatedProtocolVersion()).toBe(MODERN);
        const names = (await client.listTools()).tools.map((tool) => tool.name);
        expect(names).toEqual(expect.arrayContaining(["echo_say", "echo_whoami"]));
        expect(textOf(await client.callTool({ name: "echo_say", arguments: { text: "modern hello" } }))).toContain(
          "modern hello",
        );
        expect(textOf(await client.callTool({ name: "echo_whoami", arguments: {} }))).toMatch(/^You are .*alice/);
      } finally {
        await client.close();
      }
    });
  }

  it("in legacy mode the same server gives a 2025 session", async () => {
    const presto = fleetServer("presto").url;
    const client = await connectWithToken(presto, await userToken("alice", presto), "legacy");
    try {
      expect(client.getNegotiatedProtocolVersion()).toBe("2025-11-25");
      expect(textOf(await client.callTool({ name: "presto_list_catalogs", arguments: {} }))).toContain("hive");
    } finally {
      await client.close();
    }
  });
});

describe(`an approval over ${MODERN}: input_required, answered by the client's elicitation handler`, () => {
  const queryId = "20241126_000000_00000_nosuch";
  const kill = { name: "presto_kill_query", arguments: { queryId } };

  for (const [label, mode] of MODES) {
    it(`${label}: accepted → the tool runs; declined → it does not`, async () => {
      const presto = fleetServer("presto").url;
      const token = await userToken("alice", presto, "presto:read presto:write");
      const asked: string[] = [];
      let decision: ElicitResult = { action: "accept", content: { approve: true } };
      const client = await connectWithToken(presto, token, mode, (message) => {
        asked.push(message);
        return decision;
      });
      try {
        expect(client.getNegotiatedProtocolVersion()).toBe(MODERN);
        const accepted = await client.callTool(kill);
        expect(asked).toHaveLength(1);
        expect(asked[0]).toMatch(new RegExp(`^Kill Presto query ${queryId}\\?`));
        expect(textOf(accepted)).not.toContain("Not approved");
        expect(textOf(accepted)).toContain(queryId); // the handler ran: the upstream's answer about this query

        decision = { action: "decline" };
        const declined = await client.callTool(kill);
        expect(asked).toHaveLength(2);
        expect(declined.isError).toBe(true);
        expect(textOf(declined)).toContain("Not approved");
      } finally {
        await client.close();
      }
    });
  }
});
