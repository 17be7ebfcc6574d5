/**
 * What the official conformance suite (0.2.0-alpha.12) must find, per run: the scenarios that
 * pass (by name, so a regression fails the test) and the known failures, each with its reason. A
 * known failure is either a whole scenario (it must still fail: a fix moves it to `passing`) or
 * some checks of a scenario (`scenario:check-id`; its other checks must pass).
 * docs/testing.md ("The conformance run") explains the reasons.
 */
import type { ServerSummary } from "../../local/server.specs.ts";
import type { Revision } from "./conformance.run.ts";

export interface Expectation {
  passing: string[];
  knownFailures: Record<string, string>;
  /**
   * Checks (`scenario:check-id`) that must end SUCCESS, not merely not fail: the suite reports a
   * SHOULD it finds unmet as a WARNING, which does not fail a scenario.
   */
  succeeding?: string[];
}

const TASKS = [
  "lifecycle",
  "capability-negotiation",
  "wire-fields",
  "request-state-removal",
  "mrtr-input",
  "request-headers",
  "dispatch-and-envelope",
  "required-task-error",
  "mrtr-composition",
].map((name) => `tasks-${name}`);
const FOREIGN_NAME =
  "the fixture tool must be named json_schema_2020_12_tool, which the kit refuses (tools carry the server's prefix, test_); pending, not scored";
const NO_MCP_HEADER_PARAMS =
  "the kit has no x-mcp-header tool parameters (SEP-2243 custom headers); pending, not scored";
const FIXTURE_TOOL = (tool: string) =>
  `needs ${tool}, a fixture tool (the fixture server has it and passes this check)`;
const RESOURCE_SCENARIOS = [
  "resources-list",
  "resources-read-text",
  "resources-read-binary",
  "resources-templates-read",
];
const PROMPT_SCENARIOS = [
  "prompts-list",
  "prompts-get-simple",
  "prompts-get-with-args",
  "prompts-get-embedded-resource",
  "prompts-get-with-image",
];
const CONTENT_TOOLS = [
  "tools-call-simple-text",
  "tools-call-image",
  "tools-call-audio",
  "tools-call-embedded-resource",
  "tools-call-mixed-content",
  "tools-call-error",
  "tools-call-with-progress",
];
/**
 * The suite's names of fixture tools that lack the server's prefix (the tasks scenarios), and the
 * fixture's names for them (workers/test/test.tasks.tools.ts); the run's proxy maps them.
 */
export const SUITE_TOOL_NAMES: Record<string, string> = Object.fromEntries(
  ["greet", "slow_compute", "failing_job", "protocol_error_job", "confirm_delete", "multi_input"].map((name) => [
    name,
    `test_${name}`,
  ]),
);

/** The fixture server (workers/test), every scenario of each list. */
export const FIXTURE: Record<Revision, Expectation> = {
  "2025-11-25": {
    passing: [
      "server-initialize",
      "logging-set-level",
      "ping",
      "tools-list",
      ...CONTENT_TOOLS,
      "tools-call-with-logging",
      "tools-call-sampling",
      "tools-call-elicitation",
      "elicitation-sep1034-defaults",
      "elicitation-sep1330-enums",
      "server-sse-multiple-streams",
      "dns-rebinding-protection",
      "server-session-lifecycle",
      "server-sse-polling",
      "completion-complete",
      ...RESOURCE_SCENARIOS,
      "resources-subscribe",
      "resources-unsubscribe",
      ...PROMPT_SCENARIOS,
    ],
    knownFailures: {
      "json-schema-2020-12": FOREIGN_NAME,
    },
  },
  "2026-07-28": {
    passing: [
      "server-stateless",
      "tools-list",
      ...CONTENT_TOOLS,
      "server-sse-multiple-streams",
      "sep-2164-resource-not-found",
      "dns-rebinding-protection",
      "caching",
      ...[
        "basic-elicitation",
        "basic-sampling",
        "basic-list-roots",
        "request-state",
        "multiple-input-requests",
        "multi-round",
        "missing-input-response",
        "unsupported-methods",
        "ignore-extra-params",
        "validate-input",
        "result-type",
        "tampered-state",
        "capability-check",
      ].map((name) => `input-required-result-${name}`),
      "tasks-status-notifications",
      ...TASKS,
      "http-header-validation",
      "completion-complete",
      ...RESOURCE_SCENARIOS,
      ...PROMPT_SCENARIOS,
      "input-required-result-non-tool-request",
    ],
    knownFailures: {
      "json-schema-2020-12": FOREIGN_NAME,
      "http-custom-header-server-validation": NO_MCP_HEADER_PARAMS,
    },
  },
};

/**
 * A domain server (every server of fleet.config.ts but its `testOnly` fixture) on the scenarios
 * that need no fixture, expected from what its `defineServer` declares: these must pass (the
 * known failures aside); the fixture scenarios of the same run are not asserted here. A server
 * that declares no resources (or no prompts) does not advertise the capability, and answers
 * resources/* (prompts/*) with -32601 as the spec says, so the scenarios and checks that list them
 * are known failures there, each naming the server.
 */
export function fixtureFree(
  server: Pick<ServerSummary, "name" | "resources" | "prompts">,
  revision: Revision,
): Expectation {
  const hasResources = server.resources.length > 0;
  const hasPrompts = server.prompts.length > 0;
  const noResources = `${server.name} declares no resources (defineServer: resources), so it has no resources capability and resources/* is -32601 there`;
  const noPrompts = `${server.name} declares no prompts (defineServer: prompts), so it has no prompts capability and prompts/* is -32601 there`;
  const declared = [...(hasResources ? ["resources-list"] : []), ...(hasPrompts ? ["prompts-list"] : [])];
  const undeclared = {
    ...(hasResources ? {} : { "resources-list": noResources }),
    ...(hasPrompts ? {} : { "prompts-list": noPrompts }),
  };
  if (revision === "2025-11-25") {
    return {
      passing: [
        "server-initialize",
        "logging-set-level",
        "ping",
        "tools-list",
        "server-sse-multiple-streams",
        "dns-rebinding-protection",
        "server-session-lifecycle",
        "server-sse-polling",
        ...declared,
      ],
      knownFailures: undeclared,
    };
  }
  return {
    passing: [
      "server-stateless",
      "tools-list",
      "server-sse-multiple-streams",
      // Without resources this is -32601 rather than -32602 (the suite: a WARNING, not a failure).
      "sep-2164-resource-not-found",
      "dns-rebinding-protection",
      "caching",
      "input-required-result-unsupported-methods",
      "http-header-validation",
      ...declared,
    ],
    knownFailures: {
      "server-stateless:sep-2575-server-no-log-without-loglevel": FIXTURE_TOOL("test_logging_tool"),
      "server-stateless:sep-2575-server-rejects-undeclared-capability": FIXTURE_TOOL("test_missing_capability"),
      "server-stateless:sep-2575-missing-capability-http-400": FIXTURE_TOOL("test_missing_capability"),
      "server-stateless:sep-2575-http-server-no-independent-requests-on-stream":
        FIXTURE_TOOL("test_streaming_elicitation"),
      ...(hasPrompts ? {} : { "caching:sep-2549-prompts-list-caching-hints": noPrompts }),
      ...(hasResources
        ? {}
        : {
            "caching:sep-2549-resources-list-caching-hints": noResources,
            "caching:sep-2549-resources-templates-list-caching-hints": noResources,
          }),
      ...undeclared,
    },
  };
}

/**
 * The auth Worker against every authorization-server scenario of the suite (`conformance
 * authorization`): its metadata (RFC 8414, with Client ID Metadata Documents advertised), and the
 * authorization-code grant with PKCE for a registered public client, alice's consent and sign-in
 * at the local IdP scripted.
 */
export const AUTHORIZATION: Expectation = {
  passing: ["authorization-server-metadata-endpoint", "authorization-code-grant"],
  knownFailures: {},
  succeeding: [
    "authorization-server-metadata-endpoint:authorization-server-metadata",
    "authorization-server-metadata-endpoint:authorization-server-metadata-cimd",
    "authorization-code-grant:authorization-code-grant",
  ],
};
