/**
 * The manifest agrees with the folders and with the servers' own declarations, and every domain
 * Worker's wrangler.toml has what the kit needs (so copying Presto's cannot go silently wrong).
 * Cheap: no Worker runs; wrangler.toml files are read by wrangler's own config reader.
 */
import assert from "node:assert/strict";
import { existsSync, readdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { before, describe, it } from "node:test";
import { unstable_readConfig } from "wrangler";
import manifest from "../fleet.config.ts";
import {
  defineFleet,
  fleetScopes,
  portAt,
  productionAuthVars,
  REGISTRY_APP,
  REGISTRY_SCOPES,
  serverApp,
  serverConfig,
  serverFolder,
  withServers,
} from "./fleet.manifest.ts";
import { readServerSpecs, type ServerSummary } from "./server.specs.ts";

const ROOT = resolve(import.meta.dirname, "..");
const domainFolders = readdirSync(join(ROOT, "workers"), { withFileTypes: true })
  .filter((entry) => entry.isDirectory() && entry.name !== "auth")
  .map((entry) => `workers/${entry.name}`);

interface WranglerConfig {
  name: string;
  main?: string;
  compatibility_flags: string[];
  durable_objects: { bindings: { name: string; class_name: string }[] };
  migrations: { new_sqlite_classes?: string[] }[];
  d1_databases: { binding: string; database_name: string; migrations_dir?: string }[];
  services?: { binding: string; service: string; entrypoint?: string; props?: Record<string, unknown> }[];
  vars: Record<string, unknown>;
}
const readConfig = (path: string) =>
  unstable_readConfig({ config: join(ROOT, path) }, { hideWarnings: true }) as unknown as WranglerConfig;

let specs: ServerSummary[];
before(async () => {
  specs = await readServerSpecs([...manifest.servers.map(serverApp), REGISTRY_APP]);
});
const specOf = (name: string) => specs.find((spec) => spec.name === name) as ServerSummary;

describe("fleet.config.ts", () => {
  it("has one entry per workers/* folder, and each entry's folder has its wrangler.toml and app", () => {
    assert.deepEqual(manifest.servers.map(serverFolder).sort(), domainFolders.sort());
    for (const server of manifest.servers) {
      assert.ok(existsSync(join(ROOT, serverConfig(server))), `${serverConfig(server)} is missing`);
      assert.ok(existsSync(join(ROOT, serverApp(server))), `${serverApp(server)} is missing`);
    }
  });

  it("names each server as its own defineServer does", () => {
    assert.deepEqual(
      specs.map((spec) => spec.name),
      [...manifest.servers.map((server) => server.name), "registry"],
    );
  });

  it("reads each server's resources and prompts from its declaration (the conformance expectations follow them)", () => {
    assert.deepEqual(specOf("echo").resources, ["echo://history"]);
    assert.deepEqual(specOf("echo").prompts, []);
    assert.deepEqual(specOf("presto").resources, []);
    assert.ok(specOf("test").resources.includes("test://template/{id}/data"), "templates by their URI template");
    assert.ok(specOf("test").prompts.includes("test_simple_prompt"), specOf("test").prompts.join(", "));
  });

  it("starts only the servers FLEET_SERVERS names, and refuses a name it does not have", () => {
    assert.deepEqual(
      withServers(manifest, " presto,echo ", "FLEET_SERVERS").servers.map((server) => server.name),
      ["presto", "echo"],
    );
    assert.equal(withServers(manifest, undefined, "FLEET_SERVERS"), manifest);
    assert.throws(
      () => withServers(manifest, "presto,prestoo", "FLEET_SERVERS"),
      /^Error: FLEET_SERVERS: no server named prestoo \(fleet.config.ts has presto, /,
    );
    assert.throws(() => withServers(manifest, " , ", "FLEET_SERVERS"), /FLEET_SERVERS: names no server/);
  });

  it("refuses two servers on one port, or a name taken by the fleet's own Workers", () => {
    const base = { domain: "x.example", registry: { port: 8787 }, auth: { port: 8789 }, idp: { port: 8790 } };
    assert.throws(() => defineFleet({ ...base, servers: [{ name: "auth", port: 8795 }] }), /declared twice/);
    assert.throws(() => defineFleet({ ...base, servers: [{ name: "a", port: 8789 }] }), /both use port 8789/);
    assert.throws(() => defineFleet({ ...base, servers: [{ name: "a", port: 9789 }] }), /inspector/);
    assert.equal(portAt(manifest, manifest.auth.port, 28787), 28789);
  });

  it("derives the auth Worker's production RESOURCES and SCOPES from the servers' declarations", () => {
    const vars = productionAuthVars(manifest, specs);
    const resources = new Map(vars.RESOURCES.split(",").map((entry) => entry.split("=") as [string, string]));
    const fixtures = new Set(manifest.servers.filter((s) => s.testOnly).map((s) => s.name));
    const deployed = manifest.servers.filter((s) => !fixtures.has(s.name)).map((s) => s.name);
    assert.deepEqual([...resources.keys()].sort(), [...deployed, "registry"].sort());
    for (const url of resources.values()) assert.match(url, /^https:\/\/[a-z0-9.-]+$/);
    const scopes = vars.SCOPES.split(" ");
    for (const spec of specs.filter((s) => !fixtures.has(s.name))) {
      for (const scope of [...spec.scopes, ...spec.tools.flatMap((tool) => tool.scopes)]) {
        assert.ok(scopes.includes(scope), `${spec.name} asks for ${scope}, which SCOPES would not grant`);
      }
    }
    for (const scope of REGISTRY_SCOPES) assert.ok(scopes.includes(scope));
    assert.ok(!scopes.includes("fleet:admin"), "fleet:admin is implied; the auth Worker refuses it in SCOPES");
    assert.deepEqual(scopes, fleetScopes(specs.filter((s) => !fixtures.has(s.name))));
  });

  it("leaves a test-only server (the conformance fixture) out of the production RESOURCES and SCOPES", () => {
    assert.ok(
      manifest.servers.some((s) => s.name === "test" && s.testOnly),
      "workers/test is marked testOnly",
    );
    const vars = productionAuthVars(manifest, specs);
    assert.ok(!vars.RESOURCES.split(",").some((entry) => entry.startsWith("test=")), vars.RESOURCES);
    assert.ok(!vars.SCOPES.split(" ").includes("test:read"), vars.SCOPES);
  });

  it("leaves RESOURCES and SCOPES out of workers/auth/wrangler.toml (derived at deploy: npm run deploy:auth)", () => {
    const { vars } = readConfig("workers/auth/wrangler.toml");
    assert.equal(vars.RESOURCES, undefined);
    assert.equal(vars.SCOPES, undefined);
  });
});

describe("every workers/* wrangler.toml has what the kit needs", () => {
  for (const server of manifest.servers) {
    it(`${serverConfig(server)}`, () => {
      const config = readConfig(serverConfig(server));
      const spec = specOf(server.name);
      assert.equal(config.name, `mcp-fleet-${server.name}`);
      assert.equal(config.main, join(ROOT, serverApp(server)));
      assert.ok(config.compatibility_flags.includes("nodejs_compat"), "compatibility_flags: nodejs_compat");

      // SESSIONS: the 2025 sessions; CALLERS: per-caller state and 2026-07-28 requests.
      for (const [name, what] of [
        ["SESSIONS", "the kit's session class"],
        ["CALLERS", "the kit's per-caller class"],
      ] as const) {
        const object = config.durable_objects.bindings.find((binding) => binding.name === name);
        assert.ok(object, `a ${name} Durable Object binding (${what})`);
        assert.ok(spec.exports.includes(object.class_name), `${serverApp(server)} exports ${object.class_name}`);
        assert.ok(
          config.migrations.some((migration) => migration.new_sqlite_classes?.includes(object.class_name)),
          `a migration with new_sqlite_classes = ["${object.class_name}"] (its state is in SQLite)`,
        );
      }

      const db = config.d1_databases.find((binding) => binding.binding === "DB");
      assert.ok(db, "a DB D1 binding");
      assert.equal(db.database_name, "fleet");
      assert.equal(resolve(ROOT, serverFolder(server), db.migrations_dir ?? ""), join(ROOT, "migrations"));

      const service = (binding: string) => config.services?.find((candidate) => candidate.binding === binding);
      // (wrangler's TOML objects have no prototype: compare plain copies)
      assert.deepEqual(
        { ...service("AUTH"), props: { ...service("AUTH")?.props } },
        {
          binding: "AUTH",
          service: "mcp-fleet-auth",
          entrypoint: "TokenValidator",
          props: { server: server.name },
        },
      );
      assert.equal(service("REGISTRY")?.service, "mcp-fleet-registry");
    });
  }
});

describe("the registry Worker's wrangler.toml", () => {
  it("fetches only the public Internet (global_fetch_strictly_public): its health probes are no way in", () => {
    const config = readConfig("wrangler.toml");
    assert.equal(config.name, "mcp-fleet-registry");
    assert.ok(
      config.compatibility_flags.includes("global_fetch_strictly_public"),
      "compatibility_flags: global_fetch_strictly_public",
    );
  });
});
