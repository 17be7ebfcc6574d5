/** The Airflow client's configuration and its JWT: renewed before expiry, fetched again on 401. */
import { afterEach, describe, expect, inject, it, vi } from "vitest";
import { AirflowClient, readAirflowConfig, renewalTime } from "./airflow.client";

const upstream = inject("upstreamUrl");
const CREDENTIALS = { AIRFLOW_USERNAME: "mcp-fleet", AIRFLOW_PASSWORD: "local-airflow-password" };

/** The URLs this test's client fetches (upstreamFetch uses the global fetch). */
function recordFetches(): string[] {
  const urls: string[] = [];
  const original = globalThis.fetch;
  vi.spyOn(globalThis, "fetch").mockImplementation((input, init) => {
    urls.push(`${init?.method ?? "GET"} ${new URL(String(input instanceof Request ? input.url : input)).pathname}`);
    return original(input, init);
  });
  return urls;
}

afterEach(() => {
  vi.restoreAllMocks();
});

const setTtl = (seconds: number) =>
  fetch(`${upstream}/_local/token-ttl`, { method: "POST", body: JSON.stringify({ seconds }) });

describe("airflow client", () => {
  it("reads its configuration, refusing a missing URL or credentials", () => {
    expect(readAirflowConfig({ AIRFLOW_URL: `${upstream}/api/v2/`, ...CREDENTIALS })).toEqual({
      url: upstream,
      timeoutMs: 10_000,
      username: "mcp-fleet",
      password: "local-airflow-password",
    });
    expect(readAirflowConfig({ AIRFLOW_URL: upstream, AIRFLOW_TOKEN: "t" })).toMatchObject({ token: "t" });
    expect(() => readAirflowConfig({ ...CREDENTIALS })).toThrow(/AIRFLOW_URL must be an http\(s\) URL/);
    expect(() => readAirflowConfig({ AIRFLOW_URL: upstream, AIRFLOW_USERNAME: "x" })).toThrow(
      /set AIRFLOW_USERNAME and the secret AIRFLOW_PASSWORD \(or the secret AIRFLOW_TOKEN\)/,
    );
    expect(() => readAirflowConfig({ AIRFLOW_URL: upstream, ...CREDENTIALS, AIRFLOW_TIMEOUT_MS: "0" })).toThrow(
      /AIRFLOW_TIMEOUT_MS/,
    );
  });

  it("renews a minute before exp, or at half a short lifetime", () => {
    const jwt = (claims: object) => `e30.${btoa(JSON.stringify(claims)).replace(/=+$/, "")}.sig`;
    expect(renewalTime(jwt({ iat: 1_000, exp: 2_800 }))).toBe(2_740_000);
    expect(renewalTime(jwt({ iat: 1_000, exp: 1_010 }))).toBe(1_005_000);
    expect(renewalTime("opaque", 0)).toBe(300_000);
  });

  it("fetches one JWT for many calls, and a new one before the old expires", async () => {
    const client = new AirflowClient(readAirflowConfig({ AIRFLOW_URL: upstream, ...CREDENTIALS }));
    await setTtl(2);
    const urls = recordFetches();
    try {
      await Promise.all([client.dag("etl_orders"), client.dag("quick_check"), client.health()]);
    } finally {
      await setTtl(1800);
    }
    expect(urls.filter((url) => url === "POST /auth/token")).toHaveLength(1);
    await new Promise((resolve) => setTimeout(resolve, 1_200)); // past half its 2 s lifetime, before exp
    await client.dag("etl_orders");
    expect(urls.filter((url) => url === "POST /auth/token")).toHaveLength(2);
    expect(urls.filter((url) => url.startsWith("GET /api/v2/dags/"))).toHaveLength(3); // no 401, no retry
  });

  it("fetches a new JWT when Airflow answers 401 (e.g. its signing key rotated), once", async () => {
    const client = new AirflowClient(readAirflowConfig({ AIRFLOW_URL: upstream, ...CREDENTIALS }));
    await client.dag("etl_orders");
    await fetch(`${upstream}/_local/rotate-jwt-secret`, { method: "POST" });
    const urls = recordFetches();
    expect((await client.dag("etl_orders")).dag_id).toBe("etl_orders");
    expect(urls).toEqual(["GET /api/v2/dags/etl_orders", "POST /auth/token", "GET /api/v2/dags/etl_orders"]);
  });

  it("says when Airflow refuses its credentials", async () => {
    const client = new AirflowClient(
      readAirflowConfig({ AIRFLOW_URL: upstream, AIRFLOW_USERNAME: "mcp-fleet", AIRFLOW_PASSWORD: "wrong" }),
    );
    await expect(client.dag("etl_orders")).rejects.toThrow(
      /Airflow refused its credentials at \/auth\/token \(check AIRFLOW_USERNAME \/ AIRFLOW_PASSWORD\)/,
    );
  });

  it("passes a fixed AIRFLOW_TOKEN as is, never calling /auth/token", async () => {
    const client = new AirflowClient(readAirflowConfig({ AIRFLOW_URL: upstream, AIRFLOW_TOKEN: "not-a-jwt" }));
    const urls = recordFetches();
    await expect(client.dag("etl_orders")).rejects.toThrow(/HTTP 401\): Invalid JWT token/);
    expect(urls).toEqual(["GET /api/v2/dags/etl_orders"]);
  });
});
