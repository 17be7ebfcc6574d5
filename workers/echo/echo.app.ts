import { defineServer } from "../../shared/mcp";
import { EchoClient, readEchoConfig } from "./echo.client";
import { echoResources } from "./echo.resources";
import { echoTools } from "./echo.tools";

const echo = defineServer({
  name: "echo",
  title: "Echo",
  description: "Check your way into the fleet: echo text through a service and see who the fleet takes you for.",
  version: "1.1.2",
  instructions:
    "Use echo_say to check that calls reach an upstream, echo_whoami to see your identity, groups and scopes " +
    "as the fleet sees them, echo_history for what you echoed.",
  owner: { team: "platform", supportChannel: "#mcp-fleet-help", onCall: "mcp-fleet-oncall" },
  // Proposed in the publish document: every signed-in user and every service.
  access: { groups: [], services: true, scopes: ["echo:read"] },
  tools: echoTools,
  resources: echoResources,
  example: { tool: "echo_say", arguments: { text: "hello, fleet" } },
  upstreams: (env) => ({ echo: new EchoClient(readEchoConfig(env)) }),
});

// The Worker's entry (fetch) and the declaration the fleet's tooling reads (spec).
export default echo;
export const Session = echo.Session;
export const CallerState = echo.CallerState;
