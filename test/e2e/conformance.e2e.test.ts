/**
 * The official MCP conformance suite (`@modelcontextprotocol/conformance` 0.2.0-alpha.12), run as
 * its CLI against the end-to-end fleet:
 * - `server`, once per requirement list (`--requirements 2025-11-25` and
 *   `--requirements 2026-07-28`), through a proxy that adds a real access token (the kit never
 *   switches authentication off):
 *   - against the fixture server `workers/test` (the suite's tools, declared with the kit's
 *     `defineServer`/`defineTool` like every domain server): every scenario of each list, each
 *     either passing or a known failure with its reason (conformance.expected.ts);
 *   - against every domain server of fleet.config.ts (all but its `testOnly` entries): the
 *     scenarios that need no fixture, expected from what the server declares.
 * - `authorization` against the auth Worker: the suite's authorization-server scenarios (its
 *   metadata, and the authorization-code grant with alice's login scripted). The suite's
 *   requirement lists name no authorization-server scenarios (its README: the specification
 *   leaves the authorization server out of scope), so this runs them all, once: both are tagged
 *   for every revision from 2025-03-26 to 2026-07-28 and check the same under either. (Its
 *   `auth/*` scenarios test an MCP client: the suite plays the server and authorization server.)
 * Every run starts at once, in the file's first hook (they are child processes that mostly wait
 * on the fleet), so their waits overlap and the file takes far less than their sum (docs/testing.md
 * has the figures); each describe awaits its own run and reports it.
 */
import { beforeAll, describe, expect, inject, it } from "vitest";
import manifest from "../../fleet.config.ts";
import { approveInBrowser, registerClient } from "../../local/oauth.client.ts";
import { AUTHORIZATION, type Expectation, FIXTURE, fixtureFree, SUITE_TOOL_NAMES } from "./conformance.expected.ts";
import {
  CLI_TIMEOUT_MS,
  type ConformanceRun,
  type Revision,
  runAuthorization,
  runConformance,
} from "./conformance.run.ts";
import { userToken } from "./identities.ts";

const REVISIONS: Revision[] = ["2025-11-25", "2026-07-28"];
/** A run's describe waits this long for it (the runner stops a run sooner, at CLI_TIMEOUT_MS). */
const RUN_TIMEOUT_MS = CLI_TIMEOUT_MS + 10_000;
const servers = Object.values(inject("servers"));
const authUrl = inject("authUrl");

/** The runs the describes below declare, by label, started together by the file's first hook. */
const declared = new Map<string, () => Promise<ConformanceRun>>();
const started = new Map<string, Promise<ConformanceRun>>();

beforeAll(() => {
  for (const [label, start] of declared) {
    const run = start();
    // Awaited by its describe's hook; until then, a failure must not count as unhandled.
    run.catch(() => {});
    started.set(label, run);
  }
});

/** Whole-scenario known failures, and check-level ones (`scenario:check-id`) per scenario. */
function splitKnown(expectation: Expectation) {
  const scenarios = new Map<string, string>();
  const checks = new Map<string, Map<string, string>>();
  for (const [key, reason] of Object.entries(expectation.knownFailures)) {
    const [scenario, check] = key.split(":") as [string, string | undefined];
    if (check === undefined) scenarios.set(scenario, reason);
    else checks.set(scenario, new Map([...(checks.get(scenario) ?? []), [check, reason]]));
  }
  return { scenarios, checks };
}

/**
 * One run's describe: the run (declared for the file's first hook to start), then its
 * assertions. `exact`: the run must have run exactly the scenarios the expectation names.
 */
function describeRun(label: string, start: () => Promise<ConformanceRun>, expectation: Expectation, exact: boolean) {
  declared.set(label, start);
  describe(`conformance: ${label}`, () => {
    const known = splitKnown(expectation);
    let run: ConformanceRun;

    beforeAll(async () => {
      run = await (started.get(label) as Promise<ConformanceRun>);
      const passed = [...run.scenarios.values()].filter((scenario) => scenario.failed.length === 0).length;
      console.log(
        `conformance ${label}: ${passed} scenarios passed, ${run.scenarios.size - passed} failed (of ${run.scenarios.size}) in ${(run.durationMs / 1000).toFixed(1)} s; asserted: ${expectation.passing.length} passing, ${Object.keys(expectation.knownFailures).length} known failures`,
      );
    }, RUN_TIMEOUT_MS);

    if (exact) {
      it("ran exactly the scenarios the expectations name (a new or vanished scenario is noticed)", () => {
        const named = new Set([...expectation.passing, ...known.scenarios.keys(), ...known.checks.keys()]);
        expect([...run.scenarios.keys()].sort(), run.summary).toEqual([...named].sort());
      });
    }

    it.each(expectation.passing)("passes %s", (name) => {
      const scenario = run.scenarios.get(name);
      expect(scenario, `${name} did not run\n${run.summary}`).toBeDefined();
      const excused = known.checks.get(name) ?? new Map();
      const failed = scenario?.failed.filter((check) => !excused.has(check.id)) ?? [];
      expect(failed.map((check) => `${check.id}: ${check.errorMessage}`)).toEqual([]);
    });

    it.each(expectation.succeeding ?? [])("%s succeeds (not even a warning)", (key) => {
      const [scenario, id] = key.split(":") as [string, string];
      const check = run.scenarios.get(scenario)?.checks.find((result) => result.id === id);
      expect(check, `${key} did not run\n${run.summary}`).toBeDefined();
      expect(`${check?.status} ${check?.errorMessage ?? ""}`.trim()).toBe("SUCCESS");
    });

    it.each([...known.scenarios])("known failure %s (%s)", (name) => {
      const scenario = run.scenarios.get(name);
      expect(scenario, `${name} did not run`).toBeDefined();
      // Still failing: once it passes, move it to `passing` in conformance.expected.ts.
      expect(scenario?.failed.length, `${name} passes now: list it as passing`).toBeGreaterThan(0);
    });

    const knownChecks = [...known.checks].flatMap(([scenario, checks]) =>
      [...checks].map(([check, reason]) => [scenario, check, reason] as const),
    );
    it.each(knownChecks)("known failure %s: %s (%s)", (scenario, check) => {
      const failed = run.scenarios.get(scenario)?.failed.map((result) => result.id) ?? [];
      expect(failed, `${scenario}:${check} passes now: drop it from the known failures`).toContain(check);
    });
  });
}

/** `server --requirements <revision>` against one server, with alice's token for `scope`. */
function serverRun(name: string, scope: string, revision: Revision, toolNames?: Record<string, string>) {
  const server = servers.find((candidate) => candidate.name === name);
  if (!server) throw new Error(`fleet.config.ts has no server "${name}"`);
  const origin = new URL(server.url).origin;
  return async () => runConformance(origin, await userToken("alice", origin, scope), revision, toolNames);
}

for (const revision of REVISIONS) {
  describeRun(
    `test --requirements ${revision}`,
    serverRun("test", "test:read", revision, SUITE_TOOL_NAMES),
    FIXTURE[revision],
    true,
  );
}

const domainServers = servers.filter((server) => !server.testOnly);
it("runs against every domain server of fleet.config.ts", () => {
  const inManifest = manifest.servers.filter((server) => !server.testOnly).map((server) => server.name);
  expect(domainServers.map((server) => server.name).sort()).toEqual(inManifest.sort());
});
for (const server of domainServers) {
  for (const revision of REVISIONS) {
    describeRun(
      `${server.name} --requirements ${revision}`,
      // Each server's baseline scopes (what a token needs to use it at all).
      serverRun(server.name, server.spec.scopes.join(" "), revision),
      fixtureFree(server.spec, revision),
      false,
    );
  }
}

describeRun(
  "auth (authorization server)",
  async () => {
    // The token is for a domain server, as a client's would be (RFC 8707 resource).
    const resource = new URL((domainServers[0] as (typeof servers)[number]).url).origin;
    return runAuthorization({
      issuer: authUrl,
      resource,
      register: async (redirectUri) => (await registerClient(authUrl, redirectUri)).clientId,
      login: (url, redirectUri) => approveInBrowser(url, { username: "alice" }, { redirectUri }),
    });
  },
  AUTHORIZATION,
  true,
);
