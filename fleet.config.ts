/**
 * The fleet: one entry per domain server. Everything else is derived from this and from each
 * server's own `defineServer` declaration: `npm start` and its banner, the end-to-end fleet, the
 * workerd test projects, the auth Worker's resources and scopes, the contract test, the bench.
 * Adding a server: its folder `workers/<name>/` (copy `workers/presto`) and one line here.
 */
import { defineFleet } from "./local/fleet.manifest.ts";

export default defineFleet({
  domain: "mcp.example.com",
  registry: { port: 8787 },
  auth: { port: 8789 },
  idp: { port: 8790 },
  servers: [
    {
      name: "presto",
      port: 8788,
      upstream: {
        env: "PRESTO_URL",
        port: 8090,
        label: "local Trino-compatible coordinator",
        start: async (options) => (await import("./local/presto.upstream.ts")).startPrestoUpstream(options),
        testOptions: { pageSize: 500 },
      },
      // The corpus test sends hundreds of queries as one person within a minute, in a 2025 session
      // (which counts against the per-caller rate limit since the limits hold in every era).
      testVars: { PRESTO_REQUEST_TIMEOUT_MS: "2000", CALLS_PER_MINUTE: "100000" },
    },
    { name: "echo", port: 8791, upstream: () => import("./workers/echo/echo.upstream.ts") },
    {
      name: "spark",
      port: 8795,
      upstream: () => import("./local/spark.upstream.ts"),
      testVars: { SPARK_REQUEST_TIMEOUT_MS: "3000" },
    },
    { name: "airflow", port: 8796, upstream: () => import("./workers/airflow/airflow.upstream.ts") },
    // The conformance fixture (test/e2e/conformance.e2e.test.ts): the official suite's tools on the kit's path.
    { name: "test", port: 8797, testOnly: true },
  ],
});
