/**
 * `fleet admin` against a stand-in registry + auth Worker on loopback: where the admin API is
 * found, which token goes there, what is sent, and how refusals map to exit codes. The real
 * admin API and a real sign-in are in workers/auth and test/e2e/admin.e2e.test.ts.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { admin } from "./admin.command.ts";
import type { CliContext } from "./cli.context.ts";
import { CliError, EXIT } from "./cli.errors.ts";
import { CredentialsStore } from "./credentials.store.ts";
import { SignIn } from "./oauth.session.ts";
import { RegistryClient } from "./registry.api.client.ts";

interface Seen {
  method: string;
  path: string;
  authorization: string | undefined;
  body: unknown;
}

const seen: Seen[] = [];
let answer: { status: number; body: unknown } = { status: 200, body: {} };

const server = createServer(async (request, response) => {
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const json = (status: number, body: unknown) =>
    response.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));
  const path = request.url ?? "/";
  if (path === "/.well-known/oauth-protected-resource") {
    return json(200, { resource: origin, authorization_servers: [origin] });
  }
  if (path === "/.well-known/oauth-protected-resource/admin") {
    return json(200, {
      resource: `${origin}/admin`,
      authorization_servers: [origin],
      scopes_supported: ["fleet:admin"],
    });
  }
  if (path === "/.well-known/oauth-authorization-server") {
    return json(200, {
      issuer: origin,
      authorization_endpoint: `${origin}/authorize`,
      token_endpoint: `${origin}/oauth/token`,
      response_types_supported: ["code"],
      code_challenge_methods_supported: ["S256"],
    });
  }
  if (path.startsWith("/admin/")) {
    seen.push({
      method: request.method ?? "",
      path,
      authorization: request.headers.authorization,
      body: await read(request),
    });
    return json(answer.status, answer.body);
  }
  response.writeHead(404).end();
});

async function read(request: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString("utf8");
  return text ? JSON.parse(text) : undefined;
}

let home: string;
let origin: string;
const out: string[] = [];
const errors: string[] = [];

function context(): CliContext {
  const store = new CredentialsStore(join(home, "credentials.json"));
  return {
    registryUrl: origin,
    registry: new RegistryClient(origin),
    signIn: new SignIn({ store, registryUrl: origin, log: () => {}, openBrowser: false, timeoutMs: 1_000 }),
    store,
    out: (text) => out.push(text),
    err: (text) => errors.push(text),
    interactive: false,
    ask: () => Promise.resolve(""),
  };
}

before(async () => {
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  home = mkdtempSync(join(tmpdir(), "fleet-admin-"));
  // A signed-in admin: a stored token for the admin API's resource.
  new CredentialsStore(join(home, "credentials.json")).update((file) => {
    file.tokens[`${origin}/admin`] = {
      resource: `${origin}/admin`,
      issuer: origin,
      registry: origin,
      access_token: "admin-token",
      token_type: "bearer",
      scope: "fleet:admin",
      expiresAt: Date.now() + 300_000,
      obtainedAt: Date.now(),
    };
  });
});

after(() => {
  server.close();
  rmSync(home, { recursive: true, force: true });
});

describe("fleet admin", () => {
  it("revokes at the auth Worker's admin API with the admin token, the subject and the reason", async () => {
    seen.length = 0;
    out.length = 0;
    answer = {
      status: 200,
      body: { action: "revoke", subject: "user:bob@example.com", grantsRevoked: 2, revoked: true },
    };
    await admin(context(), "revoke", "bob@example.com", { reason: "laptop stolen" });
    assert.deepEqual(seen, [
      {
        method: "POST",
        path: "/admin/revoke",
        authorization: "Bearer admin-token",
        body: { subject: "bob@example.com", reason: "laptop stolen" },
      },
    ]);
    assert.deepEqual(out, ["Revoked user:bob@example.com (2 grant(s) ended)."]);
  });

  it("passes on the admin API's warning: a restore that leaves the person refused", async () => {
    out.length = 0;
    errors.length = 0;
    const still = "https://idp.example#bob";
    answer = {
      status: 200,
      body: {
        action: "restore",
        subject: "user:bob@example.com",
        restored: true,
        lifted: ["user:bob@example.com"],
        stillRevokedBy: [still],
        warning: `still refused: revoked as ${still} too; restore that to lift it`,
      },
    };
    await admin(context(), "restore", "bob@example.com", { reason: "wrong person" });
    assert.deepEqual(out, ["Restored user:bob@example.com."]);
    assert.deepEqual(errors, [`Warning: still refused: revoked as ${still} too; restore that to lift it`]);
  });

  it("needs a reason and a subject before asking anyone", async () => {
    seen.length = 0;
    for (const [subject, reason] of [
      ["service:reporting-bot", undefined],
      ["service:reporting-bot", "  "],
      [undefined, "why"],
    ] as const) {
      await assert.rejects(admin(context(), "revoke", subject, { reason }), (error: unknown) => {
        assert.ok(error instanceof CliError);
        assert.equal(error.exitCode, EXIT.usage);
        return true;
      });
    }
    await assert.rejects(admin(context(), "delete", "x", { reason: "y" }), /unknown admin action/);
    assert.equal(seen.length, 0);
  });

  it("exits 3 when the admin API refuses (not an admin)", async () => {
    answer = { status: 403, body: { error: "forbidden", message: "only members of admins may administer the fleet" } };
    await assert.rejects(admin(context(), "restore", "service:reporting-bot", { reason: "x" }), (error: unknown) => {
      assert.ok(error instanceof CliError);
      assert.equal(error.exitCode, EXIT.refused);
      assert.match(error.message, /only members of admins/);
      return true;
    });
  });

  it("prints the admin log as a table", async () => {
    out.length = 0;
    answer = {
      status: 200,
      body: {
        entries: [
          {
            at: "2026-12-01T10:00:00.000Z",
            action: "revoke",
            subject: "service:reporting-bot",
            by: "user:admin@example.com",
            reason: "leaked",
          },
        ],
      },
    };
    await admin(context(), "log", undefined, { limit: 5 });
    assert.equal(seen.at(-1)?.path, "/admin/audit?limit=5");
    assert.match(
      out[0] ?? "",
      /^AT\s+ACTION\s+SUBJECT\s+BY\s+REASON\n2026-12-01 10:00 UTC\s+revoke\s+service:reporting-bot/,
    );
  });
});
