/**
 * The `fleet` CLI as a person runs it: the real command as a child process (its own config
 * directory per user), against the running fleet. The browser step of each sign-in is the
 * scripted consent and IdP sign-in of local/oauth.client.ts, fed the URL the CLI prints.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, inject, it } from "vitest";
import { approveInBrowser } from "../../local/oauth.client.ts";
import { fleetServer } from "./fleet";

const registry = inject("registryUrl");
const presto = fleetServer("presto").url;
const CLI = fileURLToPath(new URL("../../registry/cli/fleet.ts", import.meta.url));

const homes: string[] = [];
afterAll(() => {
  for (const home of homes) rmSync(home, { recursive: true, force: true });
});

/** A fresh ${XDG_CONFIG_HOME} for one person. */
function configHome(): string {
  const home = mkdtempSync(join(tmpdir(), "fleet-cli-"));
  homes.push(home);
  return home;
}

const credentialsFile = (home: string) => join(home, "mcp-fleet", "credentials.json");

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
  /** How many browser sign-ins the command asked for. */
  signIns: number;
}

/**
 * Runs `fleet …`. Every sign-in URL it prints is approved in the scripted browser as `user`;
 * without a user, a sign-in request fails the run (the command should not have needed one).
 */
function fleet(args: string[], options: { home: string; user?: string; env?: Record<string, string> }): Promise<Run> {
  const child = spawn(process.execPath, [CLI, ...args], {
    env: { ...process.env, FLEET_REGISTRY_URL: registry, XDG_CONFIG_HOME: options.home, CI: "true", ...options.env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  let signIns = 0;
  const browsing: Promise<void>[] = [];
  child.stdout?.on("data", (chunk: Buffer) => {
    stdout += chunk.toString();
  });
  child.stderr?.on("data", (chunk: Buffer) => {
    stderr += chunk.toString();
    const urls = [...stderr.matchAll(/^\s+(http\S+\/authorize\?\S+)$/gm)].map((match) => match[1] as string);
    while (signIns < urls.length) {
      const url = urls[signIns++] as string;
      browsing.push(options.user ? browse(url, options.user) : stop(child, `unexpected sign-in request: ${url}`));
    }
  });
  return new Promise<Run>((resolve, reject) => {
    child.on("error", reject);
    child.on("close", async (code) => {
      try {
        await Promise.all(browsing);
        resolve({ code, stdout, stderr, signIns });
      } catch (error) {
        reject(new Error(`${(error as Error).message}\n--- stderr:\n${stderr}`));
      }
    });
  });
}

/** The person in the browser: consent, company sign-in, and back to the CLI's loopback callback. */
async function browse(url: string, user: string): Promise<void> {
  const redirectUri = new URL(url).searchParams.get("redirect_uri") ?? "";
  expect(redirectUri).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/callback$/);
  const back = await approveInBrowser(url, { username: user }, { redirectUri });
  expect(back.searchParams.get("code"), back.href).toBeTruthy();
  const landed = await fetch(back);
  expect(landed.status).toBe(200);
}

async function stop(child: ChildProcess, reason: string): Promise<void> {
  child.kill("SIGTERM");
  throw new Error(reason);
}

const expectExit = (run: Run, code: number) =>
  expect(run.code, `stderr:\n${run.stderr}\nstdout:\n${run.stdout}`).toBe(code);

describe("fleet servers / show / config (no sign-in needed)", () => {
  const home = configHome();

  it("lists the approved Presto server with its status and version", async () => {
    const run = await fleet(["servers"], { home });
    expectExit(run, 0);
    const [header, ...rows] = run.stdout.trim().split("\n");
    expect(header?.split(/\s{2,}/)).toEqual(["NAME", "TITLE", "LIFECYCLE", "TEAM", "STATUS", "VERSION"]);
    const row = rows.find((line) => line.startsWith("presto "));
    expect(row, run.stdout).toBeDefined();
    expect(row).toMatch(/\bapproved\b/);
    expect(row).toMatch(/\b(up( \d+ ms)?|down|unknown)\b/);
    expect(row).toMatch(/\d+\.\d+\.\d+$/);
  });

  it("filters, and prints the official shapes with --json", async () => {
    const json = await fleet(["servers", "--search", "presto", "--lifecycle", "approved", "--json"], { home });
    expectExit(json, 0);
    const servers = JSON.parse(json.stdout) as { server: { name: string; remotes: { url: string }[] } }[];
    expect(servers.map((entry) => entry.server.name)).toContain("com.example.mcp-fleet/presto");
    expect(servers[0]?.server.remotes[0]?.url).toBe(`${presto}/mcp`);

    const none = await fleet(["servers", "--search", "no-such-server-anywhere"], { home });
    expectExit(none, 0);
    expect(none.stdout).toBe("");
    expect(none.stderr).toContain("No servers");

    const bad = await fleet(["servers", "--lifecycle", "sideways"], { home });
    expectExit(bad, 2);
    expect(bad.stderr).toContain("lifecycle");
  });

  it("shows a server: governance, reviews, versions and tools; asks to sign in for access answers", async () => {
    const run = await fleet(["show", "presto"], { home });
    expectExit(run, 0);
    for (const text of ["Lifecycle", "approved", "On call", "Reviews", "security", "Versions", "presto_run_query"]) {
      expect(run.stdout).toContain(text);
    }
    expect(run.stdout).toMatch(/presto_kill_query\s.*human approval/);
    expect(run.stdout).toContain(`${presto}/mcp`);
    expect(run.stdout).toContain("Sign in with `fleet login`");
  });

  it("prints the configuration for each client", async () => {
    const url = `${presto}/mcp`;
    const claude = await fleet(["config", "claude", "presto"], { home });
    expectExit(claude, 0);
    expect(claude.stdout.trim()).toBe(`claude mcp add --transport http presto ${url}`);

    const parse = async (client: string) => {
      const run = await fleet(["config", client], { home }); // every approved server
      expectExit(run, 0);
      return JSON.parse(run.stdout) as Record<string, Record<string, unknown>>;
    };
    expect((await parse("cursor")).mcpServers?.presto).toEqual({ url });
    expect((await parse("vscode")).servers?.presto).toEqual({ type: "http", url });
    expect((await parse("mcp-remote")).mcpServers?.presto).toEqual({ command: "npx", args: ["mcp-remote", url] });

    const unknown = await fleet(["config", "emacs"], { home });
    expectExit(unknown, 2);
    expect(unknown.stderr).toContain('unknown client "emacs"');
  });

  it("refuses an unknown server or tool (exit 3), before any sign-in", async () => {
    const server = await fleet(["call", "no-such-server", "some_tool"], { home });
    expectExit(server, 3);
    expect(server.stderr).toContain('no server "no-such-server"');

    const tool = await fleet(["call", "presto", "presto_drop_everything"], { home });
    expectExit(tool, 3);
    expect(tool.stderr).toContain('has no tool "presto_drop_everything"');
    expect(tool.stderr).toContain("presto_run_query");
  });

  it("says which registry it cannot reach", async () => {
    const port = await closedPort();
    const unreachable = `http://127.0.0.1:${port}`;
    const run = await fleet(["servers", "--registry", unreachable], { home });
    expectExit(run, 1);
    expect(run.stderr).toContain(`cannot reach the registry at ${unreachable}`);
  });

  it("explains usage errors (exit 2)", async () => {
    const run = await fleet(["call", "presto"], { home });
    expectExit(run, 2);
    expect(run.stderr).toContain("fleet call <server> <tool>");
    expectExit(await fleet(["frobnicate"], { home }), 2);
  });
});

describe("signed in", () => {
  const alice = configHome();

  it("fleet login signs alice in through the browser and stores the tokens in a 0600 file", async () => {
    const run = await fleet(["login"], { home: alice, user: "alice" });
    expectExit(run, 0);
    expect(run.signIns).toBe(1);
    expect(run.stderr).toContain("as alice (data-eng, ads)");
    const file = credentialsFile(alice);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const stored = JSON.parse(readFileSync(file, "utf8")) as { tokens: Record<string, Record<string, string>> };
    expect(Object.keys(stored.tokens)).toEqual([registry]);
    expect(stored.tokens[registry]).toMatchObject({ resource: registry, token_type: expect.any(String) });
    expect(stored.tokens[registry]?.access_token).toBeTruthy();
    expect(stored.tokens[registry]?.refresh_token).toBeTruthy();
  });

  it("fleet show tells alice she may use Presto and its tools", async () => {
    const run = await fleet(["show", "presto"], { home: alice });
    expectExit(run, 0);
    expect(run.stdout).toMatch(/presto_run_query\s.*\bmay use\b/);
    expect(run.stdout).toContain("You (alice; data-eng, ads) may use this server");
  });

  it("fleet call signs in for Presto's own resource, calls the tool and prints progress and rows", async () => {
    const run = await fleet(
      ["call", "presto", "presto_run_query", "sql=SELECT order_id, status FROM hive.sales.orders", "limit=5"],
      { home: alice, user: "alice" },
    );
    expectExit(run, 0);
    expect(run.signIns).toBe(1); // the registry token is reused; Presto is a separate audience
    expect(run.stderr).toContain(`the presto server (${presto}/mcp)`);
    expect(run.stderr).toContain("(MCP 2026-07-28)"); // negotiated: Presto answers server/discover
    expect(run.stderr).toMatch(/\[\d+%\]/); // progress notifications, on the call's own stream
    const lines = run.stdout.trim().split("\n");
    expect(lines[0]).toBe("order_id\tstatus");
    expect(lines.slice(1, 6)).toHaveLength(5);
    const stored = JSON.parse(readFileSync(credentialsFile(alice), "utf8")) as { tokens: Record<string, unknown> };
    expect(Object.keys(stored.tokens).sort()).toEqual([registry, presto].sort());
  });

  it("reuses the tokens, and refreshes them once expired, without a browser", async () => {
    const again = await fleet(["call", "presto", "presto_list_schemas", "catalog=hive"], { home: alice });
    expectExit(again, 0);
    expect(again.stdout).toContain("sales");

    const file = credentialsFile(alice);
    const stored = JSON.parse(readFileSync(file, "utf8")) as {
      tokens: Record<string, { access_token: string; expiresAt: number }>;
    };
    const before = Object.fromEntries(Object.entries(stored.tokens).map(([k, v]) => [k, v.access_token]));
    for (const tokens of Object.values(stored.tokens)) tokens.expiresAt = Date.now() - 1_000;
    writeFileSync(file, JSON.stringify(stored));
    const refreshed = await fleet(["call", "presto", "presto_list_catalogs"], { home: alice });
    expectExit(refreshed, 0);
    expect(refreshed.stdout).toContain("hive");
    const after = JSON.parse(readFileSync(file, "utf8")) as { tokens: Record<string, { access_token: string }> };
    for (const resource of [registry, presto]) {
      expect(after.tokens[resource]?.access_token).not.toBe(before[resource]);
    }
  });

  it("types key=value by the tool's schema and refuses unknown arguments (exit 2)", async () => {
    const run = await fleet(["call", "presto", "presto_run_query", "sql=SELECT 1", "limt=5"], { home: alice });
    expectExit(run, 2);
    expect(run.stderr).toContain('presto_run_query has no argument "limt"');
    const json = await fleet(
      ["call", "presto", "presto_run_query", "--json-args", '{"sql": "SELECT 1 AS one"}', "--json"],
      { home: alice },
    );
    expectExit(json, 0);
    expect((JSON.parse(json.stdout) as { content: { text: string }[] }).content[0]?.text).toContain("one");
  });

  it("a tool error exits 1 with the server's message", async () => {
    const run = await fleet(["call", "presto", "presto_run_query", "sql=DELETE FROM hive.sales.orders"], {
      home: alice,
    });
    expectExit(run, 1);
    expect(run.stderr).toContain("not allowed");
  });

  // The CLI negotiates the era: Presto is dual-era, so `auto` speaks 2026-07-28 (see the call
  // above), but a tool that needs approval is called over 2025 in `auto` mode, where every
  // approval (the registry page's too) can wait; pinned to 2026-07-28 the approval comes back as
  // input_required and the call is retried with the answer. The first run signs in once more:
  // killing needs presto:write, which alice's read-only sign-in did not consent to.
  for (const [protocol, era, signIns] of [
    ["auto", "2025-11-25", 1],
    ["legacy", "2025-11-25", 0],
    ["2026-07-28", "2026-07-28", 0],
  ] as const) {
    it(`an approval cannot be given without a terminal unless --yes (--protocol ${protocol}: MCP ${era})`, async () => {
      const queryId = "20241126_000000_00000_nosuch";
      const base = ["call", "presto", "presto_kill_query", `queryId=${queryId}`, "--protocol", protocol];
      const run = await fleet(base, { home: alice, user: "alice" });
      expect(run.signIns).toBe(signIns);
      expectExit(run, 1);
      expect(run.stderr).toContain(`(MCP ${era})`);
      expect(run.stderr).toContain(`Kill Presto query ${queryId}?`);
      expect(run.stderr).toContain("Pass --yes to approve");
      expect(run.stderr).toContain("Not approved");

      const approved = await fleet([...base, "--yes"], { home: alice });
      expect(approved.stderr).toContain(`(MCP ${era})`);
      expect(approved.stderr).toContain("Approved (--yes).");
      expect(approved.stderr).not.toContain("Not approved");
      // The handler ran: the upstream's own answer about the unknown query, not the kit's refusal.
      expect(`${approved.stdout}${approved.stderr}`).toMatch(new RegExp(queryId));
    });
  }

  it("--protocol takes only auto, legacy or 2026-07-28 (exit 2)", async () => {
    const run = await fleet(["call", "presto", "presto_list_catalogs", "--protocol", "2024-11-05"], { home: alice });
    expectExit(run, 2);
    expect(run.stderr).toContain("--protocol must be one of auto, legacy, 2026-07-28");
  });

  it("a stored token the server refuses (401) is forgotten and signed in again", async () => {
    const file = credentialsFile(alice);
    const stored = JSON.parse(readFileSync(file, "utf8")) as { tokens: Record<string, { access_token: string }> };
    const tokens = stored.tokens[presto];
    if (!tokens) throw new Error("alice has no Presto token stored");
    tokens.access_token = "not-a-token";
    writeFileSync(file, JSON.stringify(stored));
    const run = await fleet(["call", "presto", "presto_list_catalogs"], { home: alice, user: "alice" });
    expectExit(run, 0);
    expect(run.stderr).toContain("The presto server did not accept the stored token; signing in again.");
    expect(run.signIns).toBe(1);
    expect(run.stdout).toContain("hive");
  });

  it("fleet logout removes the tokens", async () => {
    const run = await fleet(["logout"], { home: alice });
    expectExit(run, 0);
    expect(run.stderr).toContain("Signed out");
    const file = credentialsFile(alice);
    expect((JSON.parse(readFileSync(file, "utf8")) as { tokens: object }).tokens).toEqual({});
    expect(statSync(file).mode & 0o777).toBe(0o600);
  });
});

describe("refused by the registry's access check (exit 3, with the reason)", () => {
  it("carol, in no allowed group, may not use Presto", async () => {
    const run = await fleet(["call", "presto", "presto_run_query", "sql=SELECT 1"], {
      home: configHome(),
      user: "carol",
    });
    expectExit(run, 3);
    expect(run.signIns).toBe(1); // the registry only: nothing is asked of Presto
    expect(run.stderr).toContain("refused by the registry: user carol is in none of the groups");
  });

  it("bob (finance) may not kill queries, a data-eng tool", async () => {
    const run = await fleet(["call", "presto", "presto_kill_query", "queryId=q1"], { home: configHome(), user: "bob" });
    expectExit(run, 3);
    expect(run.stderr).toContain("presto_kill_query requires membership in one of: data-eng");
  });
});

function closedPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}
