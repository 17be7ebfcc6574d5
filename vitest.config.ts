import { existsSync, readdirSync } from "node:fs";
import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-plugin";
import { configDefaults, defineConfig } from "vitest/config";
import manifest from "./fleet.config.ts";
import { type LocalUpstream, localUpstream, serverFolder, upstreamVars } from "./local/fleet.manifest.ts";
import { authProject } from "./vitest.auth.config.ts";

const migrations = await readD1Migrations("migrations");

/** The kit's settings as every domain Worker's tests see them. */
const KIT_BINDINGS = {
  PUBLIC_URL: "http://localhost",
  AUTH_ISSUER: "http://localhost:8789",
  TEST_MIGRATIONS: migrations,
  // The registry stub approves the Worker under test for this environment; a short cache lets
  // tests see registry changes without waiting 30 s.
  FLEET_ENV: "test",
  REGISTRY_CACHE_MS: "50",
  // An unanswered approval ends as "not approved" this soon (the default is 5 minutes).
  APPROVAL_TIMEOUT_MS: "1500",
  // Where high-risk approvals are given (the registry page; its links are only put to clients here).
  REGISTRY_URL: "http://registry.localhost",
  // Per-caller limits (every era), low enough for a test to reach (each test's callers differ).
  CALLS_PER_MINUTE: "40",
  CALLS_IN_FLIGHT: "6",
  // Tasks kept per caller (the tasks extension), few enough for a test to reach the cap.
  TASKS_PER_CALLER: "5",
  APPROVAL_STATE_KEY: "test-only-approval-state-key-0123456789abcdef",
};

/**
 * `npm test` runs these projects side by side with the Node and end-to-end suites (scripts/test.ts):
 * on two busy cores a flow that takes 1 s alone can take several, so the limit is vitest's 5 s × 6.
 * Only a hung test waits that long; none sleeps for it.
 */
export const WORKERD_TEST_TIMEOUT_MS = 30_000;

/**
 * Each workerd project's test files share one runtime and its storage (vitest's `isolate: false`):
 * a fresh runtime per file costs more than the tests themselves (the kit: 83 s alone with one per
 * file, 30 s shared). So each file keeps to callers of its own (`bearer()` gives a user a subject
 * tagged with the file's name: test/workers/mcp-client.ts, `fileTag`) and starts from an empty
 * database (test/workers/apply-migrations.ts). A file that needs a runtime where nothing ran yet
 * (the registry gate before its first read) is listed here and runs in a project of its own.
 */
const FRESH_RUNTIME = ["test/workers/registry.outage.test.ts"];

interface WorkerdProject {
  name: string;
  configPath: string;
  include: string[];
  exclude?: string[];
  globalSetup?: string[];
  /** A server's local upstream (fleet.config.ts) started for this project, bound as `env` (and `alsoEnv`), with its `vars`. */
  upstream?: { of: string } & Pick<LocalUpstream, "env" | "alsoEnv" | "vars">;
  /** More bindings. */
  vars?: Record<string, string>;
  /** A fresh runtime for each file (default: one runtime for all the project's files). */
  isolate?: boolean;
}

/** A project whose tests run inside workerd against one Worker, with real D1 and Durable Objects. */
function workerdProject(project: WorkerdProject) {
  const { upstream } = project;
  return {
    plugins: [
      cloudflareTest(({ inject }) => ({
        wrangler: { configPath: project.configPath },
        miniflare: {
          bindings: {
            ...KIT_BINDINGS,
            ...project.vars,
            ...(upstream ? upstreamVars(upstream, inject("upstreamUrl")) : {}),
          },
          // As the Workers' wrangler.toml bind it: the TokenValidator entrypoint, for one server.
          serviceBindings: {
            AUTH: { name: "auth-stub", entrypoint: "TokenValidator", props: { server: project.name } },
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
      name: project.name,
      include: project.include,
      exclude: [...configDefaults.exclude, ...(project.exclude ?? [])],
      // Upstreams start only for the projects that bind one.
      globalSetup: [...(upstream ? ["test/support/upstream.global.ts"] : []), ...(project.globalSetup ?? [])],
      ...(upstream ? { provide: { upstreamOf: upstream.of } } : {}),
      setupFiles: ["test/workers/apply-migrations.ts", "test/workers/registry-stub.setup.ts"],
      testTimeout: WORKERD_TEST_TIMEOUT_MS,
      isolate: project.isolate ?? false,
    },
  };
}

/** One project per domain server: every `workers/*` folder with a wrangler.toml (the auth Worker has its own). */
const serverProjects = await Promise.all(
  readdirSync("workers", { withFileTypes: true })
    .filter(
      (entry) => entry.isDirectory() && entry.name !== "auth" && existsSync(`workers/${entry.name}/wrangler.toml`),
    )
    .map(async ({ name }) => {
      const server = manifest.servers.find((candidate) => serverFolder(candidate) === `workers/${name}`);
      const upstream = server && (await localUpstream(server));
      return workerdProject({
        name,
        configPath: `workers/${name}/wrangler.toml`,
        include: [`workers/${name}/**/*.test.ts`],
        ...(upstream
          ? { upstream: { of: name, env: upstream.env, alsoEnv: upstream.alsoEnv, vars: upstream.vars } }
          : {}),
        ...(server?.testVars ? { vars: server.testVars } : {}),
      });
    }),
);

export default defineConfig({
  test: {
    projects: [
      // The kit against its fixture server; the fixture's HTTP upstream (error mapping, timeouts)
      // is the local Presto coordinator, for its fault injection.
      workerdProject({
        name: "kit",
        configPath: "test/fixtures/echo/wrangler.toml",
        include: ["shared/**/*.test.ts", "test/workers/**/*.test.ts"],
        exclude: FRESH_RUNTIME,
        upstream: { of: "presto", env: "ECHO_UPSTREAM_URL" },
      }),
      workerdProject({
        name: "kit-fresh",
        configPath: "test/fixtures/echo/wrangler.toml",
        include: FRESH_RUNTIME,
        isolate: true,
      }),
      ...serverProjects,
      // The CLI (registry/cli) runs on Node: its tests are node:test files, run by `npm test` before vitest.
      // The health probe's targets (healthy, MCP-only, failing, slow, unreachable) run on Node.
      workerdProject({
        name: "registry",
        configPath: "wrangler.toml",
        include: ["registry/**/*.test.ts"],
        exclude: ["registry/cli/**"],
        globalSetup: ["test/support/health-targets.global.ts"],
      }),
      authProject,
      {
        // The whole fleet as `wrangler dev` runs it (local/fleet.ts), driven by real MCP clients over HTTP.
        test: {
          name: "e2e",
          include: ["test/e2e/**/*.test.ts"],
          globalSetup: ["test/support/fleet.global.ts"],
          testTimeout: 60_000,
          hookTimeout: 120_000,
          fileParallelism: false,
          isolate: false,
        },
      },
    ],
  },
});
