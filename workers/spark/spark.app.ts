import { defineServer } from "../../shared/mcp";
import { compare, diagnoseApp } from "./spark.analysis.tools";
import { batchTools } from "./spark.batches.tools";
import { HistoryClient, LivyClient } from "./spark.client";
import { readSparkConfig } from "./spark.config";
import { readTools } from "./spark.tools";

const spark = defineServer({
  name: "spark",
  title: "Apache Spark",
  description: "Explore, compare and diagnose Spark applications; submit and kill Livy batches with approval.",
  version: "1.0.1",
  instructions:
    "Find an application with spark_applications, then spark_diagnose it for ranked likely causes with evidence. " +
    "Drill down with spark_jobs, spark_stages (task quantiles, failed-task errors), spark_executors, spark_timeline, " +
    "spark_sql and spark_environment; spark_compare sets two runs side by side. Lists are paginated (offset). " +
    "spark_submit_batch and spark_kill_batch need a human's approval; follow batches with spark_batches.",
  owner: { team: "data-eng", supportChannel: "#data-eng-help", onCall: "data-eng-oncall" },
  // Proposed in the publish document; at runtime the registry's allowed groups/services govern.
  access: { groups: ["data-eng"], services: true, scopes: ["spark:read"] },
  tools: [...readTools, compare, diagnoseApp, ...batchTools],
  example: { tool: "spark_applications", arguments: { limit: 5 } },
  upstreams: (env) => {
    const config = readSparkConfig(env);
    return { history: new HistoryClient(config), livy: new LivyClient(config) };
  },
});

// The Worker's entry (fetch) and the declaration the fleet's tooling reads (spec).
export default spark;
export const Session = spark.Session;
export const CallerState = spark.CallerState;
