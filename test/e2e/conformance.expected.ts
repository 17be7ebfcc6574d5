/**
 * What the official conformance suite (0.2.0-alpha.12) must find, per requirement list: the
 * scenarios that pass (by name, so a regression fails the test) and the known failures, each with
 * its reason. A known failure is either a whole scenario (it must still fail: a fix moves it to
 * `passing`) or some checks of a scenario (`scenario:check-id`; its other checks must pass).
 * docs/testing.md ("The conformance run") explains the reasons.
 */
import type { Revision } from "./conformance.run.ts";

export interface Expectation {
  passing: string[];
  knownFailures: Record<string, string>;
}

const NO_RESOURCES = "the kit has no resources (defineServer declares tools only): resources/* is -32601";
const NO_PROMPTS = "the kit has no prompts (defineServer declares tools only): prompts/* is -32601";
const NO_COMPLETION = "the kit has no prompts, so no completion/complete (-32601)";
const NO_HANDLER_ELICITATION =
  "a handler cannot ask the client anything (ToolContext has no elicit/sample/roots); the kit elicits only for its own approvals";
const NO_HANDLER_INPUT_REQUIRED =
  "a handler cannot return input_required (ToolContext has no elicit/sample/roots); the kit uses input_required only for approvals";
const NO_TASKS = "the tasks extension (io.modelcontextprotocol/tasks) is not implemented; not scored";
const FOREIGN_NAME =
  "the fixture tool must be named json_schema_2020_12_tool, which the kit refuses (tools carry the server's prefix, test_); pending, not scored";
const NO_MCP_HEADER_PARAMS =
  "the kit has no x-mcp-header tool parameters (SEP-2243 custom headers); pending, not scored";
const DISCOVER_VERSIONS =
  "-32022 lists both eras' versions (as issue 10 asks) while server/discover lists only 2026-07-28, and the suite wants the first within the second";
const NO_CAPABILITY_TOOL =
  "needs test_missing_capability, a tool that requires a client capability the request did not declare (-32021); a kit handler cannot require one";
const NO_STREAMING_ELICITATION =
  "needs test_streaming_elicitation (a handler that elicits); see the elicitation reason";
const JSON_CHANNEL_DROPS_LOGS =
  "a 2025 session answers a tools/call as JSON unless it carries a progressToken or the tool needs approval (shared/mcp/session.routing.ts channelNeeds), so ctx.log messages of a plain call are dropped";

const resources = (names: string[]) => Object.fromEntries(names.map((name) => [name, NO_RESOURCES]));
const prompts = (names: string[]) => Object.fromEntries(names.map((name) => [name, NO_PROMPTS]));
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
const CACHING_CHECKS = {
  "caching:sep-2549-prompts-list-caching-hints": NO_PROMPTS,
  "caching:sep-2549-resources-list-caching-hints": NO_RESOURCES,
  "caching:sep-2549-resources-templates-list-caching-hints": NO_RESOURCES,
};
const STATELESS_CHECKS = {
  "server-stateless:sep-2575-server-unsupported-version-error": DISCOVER_VERSIONS,
  "server-stateless:sep-2575-server-rejects-undeclared-capability": NO_CAPABILITY_TOOL,
  "server-stateless:sep-2575-missing-capability-http-400": NO_CAPABILITY_TOOL,
  "server-stateless:sep-2575-http-server-no-independent-requests-on-stream": NO_STREAMING_ELICITATION,
};

/** The fixture server (workers/test), every scenario of each list. */
export const FIXTURE: Record<Revision, Expectation> = {
  "2025-11-25": {
    passing: [
      "server-initialize",
      "logging-set-level",
      "ping",
      "tools-list",
      ...CONTENT_TOOLS,
      "server-sse-multiple-streams",
      "dns-rebinding-protection",
      "server-session-lifecycle",
      "server-sse-polling",
    ],
    knownFailures: {
      "completion-complete": NO_COMPLETION,
      "tools-call-with-logging": JSON_CHANNEL_DROPS_LOGS,
      "tools-call-sampling": NO_HANDLER_ELICITATION,
      "tools-call-elicitation": NO_HANDLER_ELICITATION,
      "elicitation-sep1034-defaults": NO_HANDLER_ELICITATION,
      "elicitation-sep1330-enums": NO_HANDLER_ELICITATION,
      ...resources([
        "resources-list",
        "resources-read-text",
        "resources-read-binary",
        "resources-templates-read",
        "resources-subscribe",
        "resources-unsubscribe",
      ]),
      ...prompts(PROMPT_SCENARIOS),
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
      "input-required-result-missing-input-response",
      "input-required-result-unsupported-methods",
      "input-required-result-ignore-extra-params",
      "input-required-result-validate-input",
      "tasks-status-notifications",
      "http-header-validation",
    ],
    knownFailures: {
      ...STATELESS_CHECKS,
      ...CACHING_CHECKS,
      "completion-complete": NO_COMPLETION,
      ...resources(["resources-list", "resources-read-text", "resources-read-binary", "resources-templates-read"]),
      ...prompts(PROMPT_SCENARIOS),
      ...Object.fromEntries(
        [
          "basic-elicitation",
          "basic-sampling",
          "basic-list-roots",
          "request-state",
          "multiple-input-requests",
          "multi-round",
          "non-tool-request",
          "result-type",
          "tampered-state",
          "capability-check",
        ].map((name) => [`input-required-result-${name}`, NO_HANDLER_INPUT_REQUIRED]),
      ),
      ...Object.fromEntries(
        [
          "lifecycle",
          "capability-negotiation",
          "wire-fields",
          "request-state-removal",
          "mrtr-input",
          "request-headers",
          "dispatch-and-envelope",
          "required-task-error",
          "mrtr-composition",
        ].map((name) => [`tasks-${name}`, NO_TASKS]),
      ),
      "json-schema-2020-12": FOREIGN_NAME,
      "http-custom-header-server-validation": NO_MCP_HEADER_PARAMS,
    },
  },
};

/**
 * A domain server (echo) on the scenarios that need no fixture: these must pass (the known checks
 * aside); the fixture scenarios of the same run are not asserted here.
 */
export const FIXTURE_FREE: Record<Revision, Expectation> = {
  "2025-11-25": {
    passing: [
      "server-initialize",
      "logging-set-level",
      "ping",
      "tools-list",
      "server-sse-multiple-streams",
      "dns-rebinding-protection",
      "server-session-lifecycle",
      "server-sse-polling",
    ],
    knownFailures: { ...resources(["resources-list"]), ...prompts(["prompts-list"]) },
  },
  "2026-07-28": {
    passing: [
      "server-stateless",
      "tools-list",
      "server-sse-multiple-streams",
      "sep-2164-resource-not-found",
      "dns-rebinding-protection",
      "caching",
      "input-required-result-unsupported-methods",
      "http-header-validation",
    ],
    knownFailures: {
      ...STATELESS_CHECKS,
      "server-stateless:sep-2575-server-no-log-without-loglevel":
        "needs test_logging_tool, a fixture tool (the fixture server has it and passes this check)",
      ...CACHING_CHECKS,
      ...resources(["resources-list"]),
      ...prompts(["prompts-list"]),
    },
  },
};
