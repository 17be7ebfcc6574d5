/**
 * The MCP Inspector's v2 CLI (`@modelcontextprotocol/inspector` 2.12.0, `mcp-inspector --cli`) as
 * a child process against Echo over Streamable HTTP, in each protocol era it can pick
 * (`--protocol-era legacy | auto | modern`): `initialize` (the version it negotiated), `tools/list`
 * and a read-only `tools/call`. It cannot sign in headlessly (its OAuth opens a browser and waits
 * on a loopback callback), so it is handed alice's token, obtained through the real OAuth flow,
 * with `--header "Authorization: Bearer …"`. Its home (catalog, secrets, OAuth state) is a
 * temporary directory, so nothing of the person running the tests is read or written.
 */
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";
import { fleetServer } from "./fleet";
import { userToken } from "./identities";

const VERSION = "2.12.0";
const MODERN = "2026-07-28";
const echo = fleetServer("echo").url;
const launcher = createRequire(import.meta.url).resolve(
  "@modelcontextprotocol/inspector/clients/launcher/build/index.js",
);
const home = mkdtempSync(join(tmpdir(), "mcp-inspector-e2e-"));
afterAll(() => rmSync(home, { recursive: true, force: true }));

type Era = "legacy" | "auto" | "modern";
const ERAS: [Era, string][] = [
  ["legacy", "2025-11-25"],
  ["auto", MODERN],
  ["modern", MODERN],
];

/** Runs `mcp-inspector --cli` once and returns the `result` of its JSON output; a failure shows its output. */
async function inspect(era: Era, token: string, method: string, ...extra: string[]): Promise<unknown> {
  const args = [
    launcher,
    "--cli",
    "--server-url",
    `${echo}/mcp`,
    "--transport",
    "http",
    "--protocol-era",
    era,
    "--format",
    "json",
    "--quiet",
    "--stored-auth-only", // never start its interactive OAuth (a browser and a loopback callback)
    "--method",
    method,
    ...extra,
    "--header",
    `Authorization: Bearer ${token}`,
  ];
  const env = {
    ...process.env,
    HOME: home,
    USERPROFILE: home,
    MCP_STORAGE_DIR: join(home, "storage"),
    MCP_CATALOG_PATH: join(home, "mcp.json"),
    MCP_CLIENT_CONFIG_PATH: join(home, "client.json"),
    MCP_INSPECTOR_OAUTH_STATE_PATH: join(home, "oauth.json"),
    BROWSER: "true",
    DISPLAY: "",
    NO_COLOR: "1",
  };
  const run = await promisify(execFile)(process.execPath, args, { env, timeout: 20_000 }).catch((error: unknown) => {
    // Not error.message: it repeats the command line, token included.
    const { code, signal, stdout, stderr } = error as {
      code?: unknown;
      signal?: unknown;
      stdout?: string;
      stderr?: string;
    };
    throw new Error(
      `mcp-inspector --cli --protocol-era ${era} --method ${method} failed (exit ${String(code)}${signal ? `, ${String(signal)}` : ""}):\n` +
        `stdout: ${stdout ?? ""}\nstderr: ${stderr ?? ""}`,
    );
  });
  let output: { result?: unknown };
  try {
    output = JSON.parse(run.stdout) as { result?: unknown };
  } catch {
    throw new Error(`mcp-inspector --method ${method} printed no JSON on stdout: ${run.stdout}\nstderr: ${run.stderr}`);
  }
  if (output.result === undefined) throw new Error(`no "result" in the Inspector's output: ${run.stdout}`);
  return output.result;
}

describe(`MCP Inspector CLI ${VERSION} against Echo (bearer token, Streamable HTTP)`, () => {
  it("is the pinned version", async () => {
    const pkg = createRequire(import.meta.url)("@modelcontextprotocol/inspector/package.json") as { version: string };
    expect(pkg.version).toBe(VERSION);
  });

  for (const [era, version] of ERAS) {
    it(`--protocol-era ${era}: negotiates ${version}, lists Echo's tools and calls echo_say`, async () => {
      const token = await userToken("alice", echo, "echo:read");
      const [init, list, call] = (await Promise.all([
        inspect(era, token, "initialize"),
        inspect(era, token, "tools/list"),
        inspect(era, token, "tools/call", "--tool-name", "echo_say", "--tool-args-json", `{"text":"inspector ${era}"}`),
      ])) as [
        { protocolVersion?: string; serverInfo?: { name?: string } },
        { tools?: { name: string; annotations?: { readOnlyHint?: boolean } }[] },
        { isError?: boolean; content?: { type: string; text?: string }[]; structuredContent?: { text?: string } },
      ];
      expect(init.serverInfo?.name, "the server it reached").toBe("echo");
      expect(init.protocolVersion, "the version the Inspector negotiated").toBe(version);
      const names = (list.tools ?? []).map((tool) => tool.name);
      expect(names, "tools/list should show Echo's read tools").toEqual(
        expect.arrayContaining(["echo_say", "echo_whoami", "echo_history"]),
      );
      expect(list.tools?.find((tool) => tool.name === "echo_say")?.annotations?.readOnlyHint).toBe(true);
      expect(call.isError, `echo_say answered an error: ${JSON.stringify(call)}`).toBeFalsy();
      expect(call.content?.[0]?.text).toBe(`inspector ${era}`);
      expect(call.structuredContent?.text).toBe(`inspector ${era}`);
    }, 60_000);
  }

  it("with a token the server refuses it exits 3 (auth_required) instead of signing in", async () => {
    await expect(inspect("auto", "not-a-token", "tools/list")).rejects.toThrow(
      /\(exit 3\)[\s\S]*"code":"auth_required"[\s\S]*HTTP 401/,
    );
  }, 30_000);
});
