/**
 * The official MCP conformance suite (`@modelcontextprotocol/conformance` 0.2.0-alpha.12), run as
 * its CLI against the end-to-end fleet once per requirement list (`--requirements 2025-11-25` and
 * `--requirements 2026-07-28`), through a proxy that adds a real access token (the kit never
 * switches authentication off):
 * - against the fixture server `workers/test` (the suite's tools, declared with the kit's
 *   `defineServer`/`defineTool` like every domain server): every scenario of each list, each
 *   either passing or a known failure with its reason (conformance.expected.ts);
 * - against a domain server (echo): the scenarios that need no fixture.
 * Both lists run in a few seconds each, so `npm test` runs them whole.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { type Expectation, FIXTURE, FIXTURE_FREE, SUITE_TOOL_NAMES } from "./conformance.expected.ts";
import { type ConformanceRun, type Revision, runConformance } from "./conformance.run.ts";
import { fleetServer } from "./fleet.ts";
import { userToken } from "./identities.ts";

const REVISIONS: Revision[] = ["2025-11-25", "2026-07-28"];
const RUN_TIMEOUT_MS = 120_000;

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

function describeRun(
  target: { server: string; scope: string; toolNames?: Record<string, string> },
  expected: Record<Revision, Expectation>,
  exact: boolean,
) {
  describe.each(REVISIONS)(`conformance: ${target.server} --requirements %s`, (revision) => {
    const expectation = expected[revision];
    const known = splitKnown(expectation);
    let run: ConformanceRun;

    beforeAll(async () => {
      const origin = new URL(fleetServer(target.server).url).origin;
      run = await runConformance(origin, await userToken("alice", origin, target.scope), revision, target.toolNames);
      const passed = [...run.scenarios.values()].filter((scenario) => scenario.failed.length === 0).length;
      console.log(
        `conformance ${target.server} ${revision}: ${passed} scenarios passed, ${run.scenarios.size - passed} failed (of ${run.scenarios.size})`,
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

describeRun({ server: "test", scope: "test:read", toolNames: SUITE_TOOL_NAMES }, FIXTURE, true);
describeRun({ server: "echo", scope: "echo:read" }, FIXTURE_FREE, false);
