/**
 * The conformance fixture: a fleet server whose tools, resources and prompts are the ones the official MCP conformance
 * suite calls (test/e2e/conformance.e2e.test.ts runs the suite against it). Built like every domain
 * server, so the suite tests the kit's own path; it is no product and is never deployed.
 */
import { defineServer } from "../../shared/mcp";
import { testPrompts, testResources } from "./test.resources";
import { testTools } from "./test.tools";

const fixture = defineServer({
  name: "test",
  title: "Conformance fixture",
  description: "The tools the official MCP conformance suite calls, served by the fleet's kit (test builds only).",
  version: "1.0.0",
  owner: { team: "platform", supportChannel: "#mcp-fleet-help", onCall: "mcp-fleet-oncall" },
  access: { groups: [], services: true, scopes: ["test:read"] },
  tools: testTools,
  resources: testResources,
  prompts: testPrompts,
  example: { tool: "test_simple_text", arguments: {} },
  upstreams: () => ({}),
});

export default fixture;
export const Session = fixture.Session;
export const CallerState = fixture.CallerState;
