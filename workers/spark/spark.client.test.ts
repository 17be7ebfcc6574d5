import { describe, expect, inject, it } from "vitest";
import { PUBLISH_DOCUMENT_PATH } from "../../shared/registry/publish.document";
import { PUBLISHER_META, serverJsonSchema } from "../../shared/registry/registry.contract";
import { workerFetch } from "../../test/workers/mcp-client";
import { HistoryClient, LivyClient } from "./spark.client";
import { readSparkConfig } from "./spark.config";

const upstream = inject("upstreamUrl");

async function authorizations(): Promise<string[]> {
  return ((await (await fetch(`${upstream}/_local/stats`)).json()) as { authorizations: string[] }).authorizations;
}

describe("spark configuration", () => {
  it("reads URLs, credentials and limits, refusing what is missing or odd", () => {
    expect(readSparkConfig({ SPARK_HISTORY_URL: `${upstream}/`, LIVY_URL: upstream })).toEqual({
      historyUrl: upstream,
      historyAuth: { kind: "none" },
      livyUrl: upstream,
      livyAuth: { kind: "none" },
      requestTimeoutMs: 10_000,
      livyProxyUser: "caller",
      livyAllowedFilePrefixes: [],
    });
    const config = readSparkConfig({
      SPARK_HISTORY_URL: upstream,
      SPARK_HISTORY_TOKEN: "t",
      LIVY_USER: "u",
      LIVY_PASSWORD: "p",
      LIVY_PROXY_USER: "none",
      LIVY_ALLOWED_FILE_PREFIXES: "hdfs:///jobs/, s3a://jobs/",
    });
    expect(config).toMatchObject({
      historyAuth: { kind: "bearer", token: "t" },
      livyAuth: { kind: "basic", user: "u", password: "p" },
      livyProxyUser: "none",
      livyAllowedFilePrefixes: ["hdfs:///jobs/", "s3a://jobs/"],
    });
    expect(config.livyUrl).toBeUndefined();
    expect(() => readSparkConfig({})).toThrow(/SPARK_HISTORY_URL is not set/);
    expect(() => readSparkConfig({ SPARK_HISTORY_URL: "ftp://x" })).toThrow(
      /SPARK_HISTORY_URL must be an http\(s\) URL/,
    );
    expect(() => readSparkConfig({ SPARK_HISTORY_URL: upstream, LIVY_USER: "u" })).toThrow(
      /LIVY_USER and LIVY_PASSWORD go together/,
    );
    expect(() =>
      readSparkConfig({ SPARK_HISTORY_URL: upstream, SPARK_HISTORY_TOKEN: "t", SPARK_HISTORY_USER: "u" }),
    ).toThrow(/not both/);
    expect(() => readSparkConfig({ SPARK_HISTORY_URL: upstream, LIVY_PROXY_USER: "bob" })).toThrow(/LIVY_PROXY_USER/);
    expect(() => readSparkConfig({ SPARK_HISTORY_URL: upstream, SPARK_REQUEST_TIMEOUT_MS: "0" })).toThrow(
      /SPARK_REQUEST_TIMEOUT_MS/,
    );
  });
});

describe("spark clients", () => {
  it("send the configured credentials; wrong ones meet the upstream's 401 as a clear error", async () => {
    const good = new HistoryClient(
      readSparkConfig({ SPARK_HISTORY_URL: upstream, SPARK_HISTORY_TOKEN: "spark-local-token" }),
    );
    expect((await good.applications({ limit: 1 })).length).toBe(1);
    expect((await authorizations()).at(-1)).toBe("Bearer spark-local-token");
    const livy = new LivyClient(
      readSparkConfig({
        SPARK_HISTORY_URL: upstream,
        LIVY_URL: upstream,
        LIVY_USER: "spark",
        LIVY_PASSWORD: "spark-local-password",
      }),
    );
    expect((await livy.list(0, 1)).from).toBe(0);
    expect((await authorizations()).at(-1)).toBe(`Basic ${btoa("spark:spark-local-password")}`);
    const bad = new HistoryClient(readSparkConfig({ SPARK_HISTORY_URL: upstream, SPARK_HISTORY_TOKEN: "wrong" }));
    await expect(bad.applications({})).rejects.toThrow(
      "The Spark History Server refused the request (HTTP 401): Unauthorized",
    );
  });

  it("say when Livy is not configured", () => {
    const noLivy = new LivyClient(readSparkConfig({ SPARK_HISTORY_URL: upstream }));
    expect(() => noLivy.list(0, 1)).toThrow(
      "Batches are not available: this Spark server has no Livy configured (LIVY_URL)",
    );
  });
});

describe("spark's publish document", () => {
  it("proposes data-eng and services, owned by data-eng, the writes needing approval", async () => {
    const response = await workerFetch(`http://localhost${PUBLISH_DOCUMENT_PATH}`);
    const document = serverJsonSchema.parse(await response.json());
    expect(document.name).toBe("com.example.mcp-fleet/spark");
    const publisher = document._meta[PUBLISHER_META];
    expect(publisher).toMatchObject({ team: "data-eng", allowedGroups: ["data-eng"], allowedServices: true });
    const approval = publisher.tools.filter((tool) => tool.needsApproval).map((tool) => tool.name);
    expect(approval).toEqual(["spark_submit_batch", "spark_kill_batch"]);
    for (const name of approval) {
      expect(publisher.tools.find((tool) => tool.name === name)?.access).toEqual({
        groups: ["data-eng"],
        scopes: ["spark:read", "spark:write"],
      });
    }
  });
});
