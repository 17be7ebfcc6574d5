import { defineServer } from "../../shared/mcp";
import { AirflowClient, readAirflowConfig } from "./airflow.client";
import { readTools } from "./airflow.tools";
import { writeTools } from "./airflow.write.tools";

const airflow = defineServer({
  name: "airflow",
  title: "Apache Airflow",
  description: "Explore, diagnose and (with your approval) trigger, retry and pause Airflow 3 DAGs.",
  version: "1.0.1",
  instructions:
    "Start with airflow_system_health or airflow_list_dags; airflow_explore_dag shows one DAG; airflow_diagnose_run explains a " +
    "failed run (log tails included); airflow_task_logs reads more of a log. Writes (trigger, clear, pause, delete, answering " +
    "human-in-the-loop tasks) are put to the human for approval first, with their consequence.",
  owner: { team: "data-eng", supportChannel: "#data-eng-help", onCall: "data-eng-oncall" },
  // Proposed in the publish document; at runtime the registry's allowed groups/services govern.
  // A token needs airflow:read to use the server at all; the write tools also need airflow:write.
  access: { groups: ["data-eng", "ads"], services: true, scopes: ["airflow:read"] },
  tools: [...readTools, ...writeTools],
  example: { tool: "airflow_list_dags", arguments: { limit: 5 } },
  upstreams: (env) => ({ airflow: new AirflowClient(readAirflowConfig(env)) }),
});

// The Worker's entry (fetch) and the declaration the fleet's tooling reads (spec).
export default airflow;
export const Session = airflow.Session;
export const CallerState = airflow.CallerState;
