import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-plugin";
import { configDefaults, defineConfig } from "vitest/config";
import { authProject } from "./vitest.auth.config";

const migrations = await readD1Migrations("migrations");

/** A project whose tests run inside workerd against one Worker, with real D1 and Durable Objects. */
function workerdProject(
  name: string,
  configPath: string,
  include: string[],
  exclude: string[] = [],
  globalSetup: string[] = [],
) {
  return {
    plugins: [
      cloudflareTest(({ inject }) => ({
        wrangler: { configPath },
        miniflare: {
          bindings: {
            PRESTO_URL: inject("prestoUrl"),
            ECHO_UPSTREAM_URL: inject("prestoUrl"),
            PRESTO_REQUEST_TIMEOUT_MS: "2000",
            PUBLIC_URL: "http://localhost",
            AUTH_ISSUER: "http://localhost:8789",
            TEST_MIGRATIONS: migrations,
            // The registry stub approves echo and presto for this environment; a short cache
            // lets tests see registry changes without waiting 30 s.
            FLEET_ENV: "test",
            REGISTRY_CACHE_MS: "50",
            // An unanswered approval ends as "not approved" this soon (the default is 5 minutes).
            APPROVAL_TIMEOUT_MS: "1500",
          },
          // As the Workers' wrangler.toml bind it: the TokenValidator entrypoint, for one server.
          serviceBindings: {
            AUTH: { name: "auth-stub", entrypoint: "TokenValidator", props: { server: name } },
            REGISTRY: "registry-stub",
          },
          workers: [
            {
              name: "auth-stub",
              modules: true,
              scriptPath: "test/workers/auth-stub.js",
              compatibilityDate: "2026-11-01",
            },
            {
              name: "registry-stub",
              modules: true,
              scriptPath: "test/workers/registry-stub.js",
              compatibilityDate: "2026-11-01",
            },
          ],
        },
      })),
    ],
    test: {
      name,
      include,
      exclude: [...configDefaults.exclude, ...exclude],
      globalSetup: ["test/support/upstreams.global.ts", ...globalSetup],
      setupFiles: ["test/workers/apply-migrations.ts", "test/workers/registry-stub.setup.ts"],
    },
  };
}

export default defineConfig({
  test: {
    projects: [
      workerdProject("kit", "test/fixtures/echo/wrangler.toml", ["shared/**/*.test.ts", "test/workers/**/*.test.ts"]),
      workerdProject("presto", "workers/presto/wrangler.toml", ["workers/presto/**/*.test.ts"]),
      // The CLI (registry/cli) runs on Node: its tests are node:test files, run by `npm test` before vitest.
      // The health probe's targets (healthy, MCP-only, failing, slow, unreachable) run on Node.
      workerdProject(
        "registry",
        "wrangler.toml",
        ["registry/**/*.test.ts"],
        ["registry/cli/**"],
        ["test/support/health-targets.global.ts"],
      ),
      authProject,
      {
        // The whole fleet under `wrangler dev`, driven by real MCP clients over HTTP.
        test: {
          name: "e2e",
          include: ["test/e2e/**/*.test.ts"],
          globalSetup: ["test/support/fleet.global.ts"],
          testTimeout: 60_000,
          hookTimeout: 120_000,
          fileParallelism: false,
        },
      },
    ],
  },
});
