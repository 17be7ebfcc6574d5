/**
 * `fleet analytics` and `fleet feedback` against a stand-in registry on loopback: the request
 * each sends with the stored token, the table printed, and how refusals map to exit codes. The
 * real API is tested in registry/analytics/analytics.api.test.ts.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { analytics, feedback } from "./analytics.command.ts";
import type { CliContext } from "./cli.context.ts";
import { type CliError, EXIT } from "./cli.errors.ts";
import { CredentialsStore } from "./credentials.store.ts";
import { SignIn } from "./oauth.session.ts";
import { RegistryClient } from "./registry.api.client.ts";

const figures = (invocations: number, hours: number) => ({
  invocations,
  activeUsers: 3,
  hoursSaved: { estimate: hours, effective: hours - 1 },
  successRate: 0.9,
  errorRate: 0.05,
  denials: 1,
  approvals: { requested: 4, granted: 3, declined: 1 },
  latencyMs: { p50: 100, p95: 1000 },
});
const SUMMARY = {
  month: "2026-10",
  previousMonth: "2026-09",
  ...figures(1200, 210),
  change: { invocations: 0.25, activeUsers: null, hoursSaved: -0.1 },
  byTeam: [{ name: "data-eng", ...figures(1200, 210) }],
  byGroup: [],
  byServer: [{ name: "presto", team: "data-eng", ...figures(1000, 200) }],
  byTool: [
    {
      name: "presto/presto_run_query",
      server: "presto",
      tool: "presto_run_query",
      team: "data-eng",
      ...figures(1000, 200),
    },
  ],
  topTools: [],
  detail: { allServers: false, teams: ["data-eng"] },
};

const seen: { method: string; url: string; authorization?: string; body?: unknown }[] = [];
let feedbackAnswer: { status: number; body: unknown } = { status: 201, body: {} };

async function read(request: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString("utf8");
  return text ? JSON.parse(text) : undefined;
}

const server = createServer(async (request, response) => {
  const json = (status: number, body: unknown) =>
    response.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));
  const url = request.url ?? "/";
  const here = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  if (url === "/.well-known/oauth-protected-resource") {
    return json(200, { resource: here, authorization_servers: [here], scopes_supported: ["registry:read"] });
  }
  if (url === "/.well-known/oauth-authorization-server") {
    return json(200, {
      issuer: here,
      authorization_endpoint: `${here}/authorize`,
      token_endpoint: `${here}/oauth/token`,
      response_types_supported: ["code"],
      code_challenge_methods_supported: ["S256"],
    });
  }
  seen.push({
    method: request.method ?? "",
    url,
    authorization: request.headers.authorization,
    body: await read(request),
  });
  if (url.startsWith("/v0.1/analytics/summary")) return json(200, SUMMARY);
  if (url === "/v0.1/feedback") return json(feedbackAnswer.status, feedbackAnswer.body);
  response.writeHead(404).end();
});

let home: string;
let origin: string;
const out: string[] = [];

function context(): CliContext {
  const store = new CredentialsStore(join(home, "credentials.json"));
  return {
    registryUrl: origin,
    registry: new RegistryClient(origin),
    signIn: new SignIn({ store, registryUrl: origin, log: () => {}, openBrowser: false, timeoutMs: 1_000 }),
    store,
    out: (text) => out.push(text),
    err: () => {},
    interactive: false,
    ask: () => Promise.resolve(""),
  };
}

before(async () => {
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  home = mkdtempSync(join(tmpdir(), "fleet-analytics-"));
  new CredentialsStore(join(home, "credentials.json")).update((file) => {
    file.tokens[origin] = {
      resource: origin,
      issuer: origin,
      registry: origin,
      access_token: "reader-token",
      token_type: "bearer",
      scope: "registry:read registry:write",
      expiresAt: Date.now() + 300_000,
      obtainedAt: Date.now(),
    };
  });
});

after(() => {
  server.close();
  rmSync(home, { recursive: true, force: true });
});

describe("fleet analytics", () => {
  it("asks for the month and server with the stored token and prints the tables", async () => {
    seen.length = 0;
    out.length = 0;
    await analytics(context(), { month: "2026-10", server: "presto" });
    assert.deepEqual(
      seen.map((s) => [s.method, s.url, s.authorization]),
      [["GET", "/v0.1/analytics/summary?month=2026-10&server=presto", "Bearer reader-token"]],
    );
    const text = out.join("\n");
    assert.match(
      text,
      /^Time saved in 2026-10 \(UTC\): 210\.0 h estimated, 209\.0 h with feedback; 1200 calls by 3 people\./,
    );
    assert.match(text, /calls \+25\.0%, people n\/a, hours -10\.0%/);
    assert.match(text, /^SERVER\s+CALLS\s+USERS\s+HOURS/m);
    assert.match(text, /^presto\s+1000\s+3\s+200\.0\s+199\.0\s+90\.0%\s+5\.0%\s+1\s+3\/4\s+≤100\s+≤1000$/m);
    assert.match(text, /^presto\/presto_run_query\s+1000/m);
  });

  it("names a bad month before asking anything", async () => {
    seen.length = 0;
    await assert.rejects(analytics(context(), { month: "2026-1" }), (error: CliError) => {
      assert.equal(error.exitCode, EXIT.usage);
      assert.match(error.message, /--month must be YYYY-MM/);
      return true;
    });
    assert.equal(seen.length, 0);
  });
});

describe("fleet feedback", () => {
  it("sends the rating and prints what was rated", async () => {
    seen.length = 0;
    out.length = 0;
    feedbackAnswer = { status: 201, body: { invocationId: "inv-1", server: "presto", tool: "presto_run_query" } };
    await feedback(context(), "inv-1", { helped: "yes", minutes: "12" });
    assert.deepEqual(seen[0]?.body, { invocationId: "inv-1", helped: true, minutes: 12 });
    assert.deepEqual(out, ["Recorded: presto/presto_run_query helped (12 min)."]);
  });

  it("refuses bad arguments by name, and maps 'already rated' to refused", async () => {
    await assert.rejects(feedback(context(), "inv-1", { helped: "maybe" }), /--helped must be yes or no/);
    await assert.rejects(
      feedback(context(), "inv-1", { helped: "yes", minutes: "481" }),
      /--minutes must be a number of minutes from 0 to 480 \(8 hours\)/,
    );
    await assert.rejects(
      feedback(context(), "inv-1", { helped: "no", minutes: "3" }),
      /--minutes goes with --helped yes/,
    );
    feedbackAnswer = {
      status: 409,
      body: { title: "Conflict", status: 409, detail: "invocation inv-1 is already rated" },
    };
    await assert.rejects(feedback(context(), "inv-1", { helped: "no" }), (error: CliError) => {
      assert.equal(error.exitCode, EXIT.refused);
      assert.match(error.message, /already rated/);
      return true;
    });
  });
});
