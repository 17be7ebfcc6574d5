/**
 * Revoking access in the running fleet: `fleet admin revoke` as a child process, signed in as the
 * local admin through the real consent page and IdP, against the auth Worker's admin API; then
 * the revoked user and service as Presto and the token endpoint see them.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, inject, it } from "vitest";
import { LOCAL_IDP_ADMIN_TOKEN, LOCAL_SERVICES } from "../../local/fleet.ts";
import { newIdpUser } from "../../local/idp.admin.ts";
import { approveInBrowser, refreshTokens, serviceToken, signInSession } from "../../local/oauth.client.ts";
import { fleetServer } from "./fleet";
import { bearer, postInitialize } from "./identities";

const registry = inject("registryUrl");
const presto = fleetServer("presto").url;
const authUrl = inject("authUrl");
const idpAdmin = { issuer: inject("idpUrl"), adminToken: LOCAL_IDP_ADMIN_TOKEN };
const CLI = fileURLToPath(new URL("../../registry/cli/fleet.ts", import.meta.url));
const BOT = { name: "reporting-bot", secret: LOCAL_SERVICES["reporting-bot"].secret };

const homes: string[] = [];
afterAll(() => {
  for (const home of homes) rmSync(home, { recursive: true, force: true });
});

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `fleet …` with its own config directory; every sign-in it asks for is approved as `user`. */
function fleet(args: string[], user: string, home = configHome()): Promise<Run> {
  const child = spawn(process.execPath, [CLI, ...args], {
    env: { ...process.env, FLEET_REGISTRY_URL: registry, XDG_CONFIG_HOME: home, CI: "true" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  let signIns = 0;
  const browsing: Promise<unknown>[] = [];
  child.stdout?.on("data", (chunk: Buffer) => {
    stdout += chunk.toString();
  });
  child.stderr?.on("data", (chunk: Buffer) => {
    stderr += chunk.toString();
    const urls = [...stderr.matchAll(/^\s+(http\S+\/authorize\?\S+)$/gm)].map((match) => match[1] as string);
    while (signIns < urls.length) {
      const url = urls[signIns++] as string;
      const redirectUri = new URL(url).searchParams.get("redirect_uri") ?? "";
      browsing.push(approveInBrowser(url, { username: user }, { redirectUri }).then((back) => fetch(back)));
    }
  });
  return new Promise((resolve, reject) => {
    child.on("error", reject);
    child.on("close", async (code) => {
      await Promise.allSettled(browsing);
      resolve({ code, stdout, stderr });
    });
  });
}

function configHome(): string {
  const home = mkdtempSync(join(tmpdir(), "fleet-admin-"));
  homes.push(home);
  return home;
}

const expectExit = (run: Run, code: number) =>
  expect(run.code, `stderr:\n${run.stderr}\nstdout:\n${run.stdout}`).toBe(code);

describe("fleet admin revoke", () => {
  const adminHome = configHome();

  it("ends a user's access now: Presto refuses their token, refresh and sign-in fail, until restored", async () => {
    const user = await newIdpUser(idpAdmin, "kim", ["finance"]);
    const session = await signInSession(authUrl, user, presto);

    const revoked = await fleet(["admin", "revoke", user.email, "--reason", "laptop stolen"], "admin", adminHome);
    expectExit(revoked, 0);
    expect(revoked.stdout).toContain(`Revoked user:${user.email} (1 grant(s) ended).`);

    // Never used at Presto before, so no validation cache holds it.
    expect((await postInitialize(`${presto}/mcp`, bearer(session.tokens.access_token))).status).toBe(401);
    const refresh = await refreshTokens(authUrl, session.client, session.tokens.refresh_token as string);
    expect(await refresh.json()).toMatchObject({ error: "invalid_grant" });
    await expect(signInSession(authUrl, user, presto)).rejects.toThrow(/no code/);

    const restored = await fleet(["admin", "restore", user.email, "--reason", "laptop found"], "admin", adminHome);
    expectExit(restored, 0);
    expect(restored.stdout).toContain(`Restored user:${user.email}.`);
    const again = await signInSession(authUrl, user, presto);
    expect((await postInitialize(`${presto}/mcp`, bearer(again.tokens.access_token))).status).toBe(200);
  });

  it("stops a service from getting or using tokens until restored, and logs who did what and why", async () => {
    const before = (await (await serviceToken(authUrl, BOT, presto)).json()) as { access_token: string };
    try {
      const revoked = await fleet(
        ["admin", "revoke", "service:reporting-bot", "--reason", "secret leaked"],
        "admin",
        adminHome,
      );
      expectExit(revoked, 0);
      expect((await postInitialize(`${presto}/mcp`, bearer(before.access_token))).status).toBe(401);
      const refused = await serviceToken(authUrl, BOT, presto);
      expect(await refused.json()).toMatchObject({ error: "unauthorized_client" });
    } finally {
      const restored = await fleet(
        ["admin", "restore", "service:reporting-bot", "--reason", "rotated"],
        "admin",
        adminHome,
      );
      expectExit(restored, 0);
    }
    expect((await serviceToken(authUrl, BOT, presto)).status).toBe(200);

    const log = await fleet(["admin", "log", "--json", "--limit", "5"], "admin", adminHome);
    expectExit(log, 0);
    const entries = JSON.parse(log.stdout) as { action: string; subject: string; by: string; reason: string }[];
    expect(entries.slice(0, 2)).toEqual([
      expect.objectContaining({
        action: "restore",
        subject: "service:reporting-bot",
        by: "user:admin@example.com",
        reason: "rotated",
      }),
      expect.objectContaining({ action: "revoke", subject: "service:reporting-bot", reason: "secret leaked" }),
    ]);
  });

  it("refuses someone who is not an admin (exit 3), and changes nothing", async () => {
    const run = await fleet(["admin", "revoke", "service:reporting-bot", "--reason", "because"], "alice");
    expectExit(run, 3);
    expect(run.stderr).toContain("only members of admins may administer the fleet");
    expect((await serviceToken(authUrl, BOT, presto)).status).toBe(200);
  });
});
