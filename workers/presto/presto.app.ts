import { defineServer } from "../../shared/mcp";
import { PrestoClient, readPrestoConfig } from "./presto.client";
import { prestoTools } from "./presto.tools";

const presto = defineServer({
  name: "presto",
  title: "Presto SQL",
  description: "Explore catalogs and tables and run read-only SQL on the company's Presto/Trino clusters.",
  version: "1.0.1",
  instructions:
    "Use presto_list_catalogs / presto_list_schemas / presto_list_tables / presto_describe_table to find data, " +
    "then presto_run_query with a single read-only statement. Results are capped; raise `limit` if needed.",
  owner: { team: "data-eng", supportChannel: "#data-eng-help", onCall: "data-eng-oncall" },
  // Proposed in the publish document; at runtime the registry's allowed groups/services govern.
  // A token needs presto:read to use the server at all; presto_kill_query also needs presto:write.
  access: { groups: ["data-eng", "ads", "finance"], services: true, scopes: ["presto:read"] },
  tools: prestoTools,
  example: { tool: "presto_list_catalogs", arguments: {} },
  upstreams: (env) => ({ presto: new PrestoClient(readPrestoConfig(env)) }),
});

// The Worker's entry (fetch) and the declaration the fleet's tooling reads (spec).
export default presto;
export const Session = presto.Session;
export const CallerState = presto.CallerState;
