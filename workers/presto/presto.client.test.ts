import { afterEach, describe, expect, inject, it, vi } from "vitest";
import {
  BadArgumentError,
  ToolError,
  UpstreamRejectedError,
  UpstreamTimeoutError,
  UpstreamUnavailableError,
} from "../../shared/mcp/errors";
import type { PrestoQueryFailure, QueryProgress } from "./presto.client";
import { PrestoClient, readPrestoConfig } from "./presto.client";

/** The local coordinator fleet.config.ts starts for this project (test/support/upstream.global.ts). */
const prestoUrl = inject("upstreamUrl");
const QUERY_ID = /^\d{8}_\d{6}_\d{5}_[a-z0-9]{5}$/;

function clientWith(env: Record<string, unknown> = {}): PrestoClient {
  return new PrestoClient(readPrestoConfig({ PRESTO_URL: prestoUrl, ...env }));
}

interface Faults {
  statusCode?: number;
  delayMs?: number;
  count: number;
}

/** Makes the next `count` protocol requests to the local coordinator fail or stall. */
async function injectFaults(faults: Faults): Promise<void> {
  const response = await fetch(`${prestoUrl}/_local/faults`, { method: "POST", body: JSON.stringify(faults) });
  expect(response.status).toBe(200);
  await response.body?.cancel();
}

async function canceledCount(): Promise<number> {
  const response = await fetch(`${prestoUrl}/_local/stats`);
  return ((await response.json()) as { canceled: number }).canceled;
}

/** Runs `action` once, on the first progress report, i.e. after the POST and before any GET of nextUri. */
function onFirstProgress(action: () => Promise<void>): (progress: QueryProgress) => Promise<void> {
  let done = false;
  return async () => {
    if (done) return;
    done = true;
    await action();
  };
}

async function failureOf(promise: Promise<unknown>): Promise<ToolError> {
  const error = await promise.then(
    () => undefined,
    (reason: unknown) => reason,
  );
  expect(error).toBeInstanceOf(ToolError);
  return error as ToolError;
}

afterEach(async () => {
  const response = await fetch(`${prestoUrl}/_local/faults`, { method: "DELETE" });
  await response.body?.cancel();
  vi.restoreAllMocks();
});

describe("readPrestoConfig", () => {
  it("applies the defaults", () => {
    expect(readPrestoConfig({ PRESTO_URL: "https://presto.example.com:8443/" })).toEqual({
      url: "https://presto.example.com:8443",
      dialect: "trino",
      user: "mcp-fleet",
      password: undefined,
      catalog: undefined,
      schema: undefined,
      source: "mcp-fleet",
      requestTimeoutMs: 10_000,
      queryTimeoutMs: 120_000,
      readOnlyTransaction: true,
      passthroughCatalogs: [],
    });
  });

  it("reads every setting, numbers given as text or numbers", () => {
    const config = readPrestoConfig({
      PRESTO_URL: "http://coordinator:8080",
      PRESTO_DIALECT: "Presto",
      PRESTO_USER: "svc",
      PRESTO_PASSWORD: "s3cret",
      PRESTO_CATALOG: "hive",
      PRESTO_SCHEMA: "sales",
      PRESTO_SOURCE: "fleet-test",
      PRESTO_REQUEST_TIMEOUT_MS: "2500",
      PRESTO_QUERY_TIMEOUT_MS: 60_000,
      PRESTO_READ_ONLY_TRANSACTION: "false",
      PRESTO_PASSTHROUGH_CATALOGS: " pg, Warehouse ,,",
    });
    expect(config).toEqual({
      url: "http://coordinator:8080",
      dialect: "presto",
      user: "svc",
      password: "s3cret",
      catalog: "hive",
      schema: "sales",
      source: "fleet-test",
      requestTimeoutMs: 2500,
      queryTimeoutMs: 60_000,
      readOnlyTransaction: false,
      passthroughCatalogs: ["pg", "warehouse"],
    });
  });

  it("treats empty settings as unset", () => {
    const config = readPrestoConfig({ PRESTO_URL: "http://c:8080", PRESTO_USER: " ", PRESTO_CATALOG: "" });
    expect(config.user).toBe("mcp-fleet");
    expect(config.catalog).toBeUndefined();
  });

  it.each([
    [{}, "PRESTO_URL is not set"],
    [{ PRESTO_URL: "" }, "PRESTO_URL is not set"],
    [{ PRESTO_URL: "coordinator:8080" }, "PRESTO_URL must be an http(s) URL"],
    [{ PRESTO_URL: "ftp://coordinator" }, "PRESTO_URL must be an http(s) URL"],
    [{ PRESTO_URL: "not a url" }, "PRESTO_URL must be an http(s) URL"],
    [{ PRESTO_URL: "http://c", PRESTO_DIALECT: "mysql" }, 'PRESTO_DIALECT must be "trino" or "presto"'],
    [
      { PRESTO_URL: "http://c", PRESTO_REQUEST_TIMEOUT_MS: "soon" },
      "PRESTO_REQUEST_TIMEOUT_MS must be a positive number",
    ],
    [{ PRESTO_URL: "http://c", PRESTO_QUERY_TIMEOUT_MS: "0" }, "PRESTO_QUERY_TIMEOUT_MS must be a positive number"],
    [
      { PRESTO_URL: "http://c", PRESTO_READ_ONLY_TRANSACTION: "maybe" },
      'PRESTO_READ_ONLY_TRANSACTION must be "true" or "false"',
    ],
  ])("refuses %j", (env, message) => {
    expect(() => readPrestoConfig(env)).toThrow(message);
  });
});

describe("PrestoClient.query", () => {
  it("pages through a 10 000-row result", async () => {
    let pages = 0;
    const result = await clientWith().query("SELECT * FROM hive.sales.orders ORDER BY order_id", {
      maxRows: 20_000,
      onProgress: () => {
        pages++;
      },
    });
    expect(result.queryId).toMatch(QUERY_ID);
    expect(result.state).toBe("FINISHED");
    expect(result.truncated).toBe(false);
    expect(result.rows).toHaveLength(10_000);
    expect(result.rows.map((row) => row[0])).toEqual(Array.from({ length: 10_000 }, (_, index) => index + 1));
    expect(result.columns[0]).toEqual({ name: "order_id", type: "bigint" });
    expect(result.rows[0]).toHaveLength(result.columns.length);
    expect(pages).toBeGreaterThanOrEqual(10); // 10 000 rows arrive in pages of at most 1 000
    expect(result.stats.processedRows).toBe(10_000);
  });

  it("stops at maxRows, marks the result truncated and cancels the query upstream", async () => {
    const client = clientWith();
    const canceledBefore = await canceledCount();
    const result = await client.query("SELECT order_id FROM hive.sales.orders ORDER BY order_id", { maxRows: 25 });
    expect(result.truncated).toBe(true);
    expect(result.rows).toEqual(Array.from({ length: 25 }, (_, index) => [index + 1]));
    expect(await canceledCount()).toBeGreaterThan(canceledBefore);
    const info = await client.queryInfo(result.queryId);
    expect(info.state).toBe("FAILED");
    expect(info.error?.errorName).toBe("USER_CANCELED");
  });

  it("is not truncated when the result has exactly maxRows rows", async () => {
    const client = clientWith();
    const exact = await client.query("SELECT customer_id FROM hive.sales.customers", { maxRows: 2_000 });
    expect(exact.rows).toHaveLength(2_000);
    expect(exact.truncated).toBe(false);
    expect(exact.state).toBe("FINISHED");
    const oneShort = await client.query("SELECT customer_id FROM hive.sales.customers", { maxRows: 1_999 });
    expect(oneShort.rows).toHaveLength(1_999);
    expect(oneShort.truncated).toBe(true);
  });

  it.each(["trino", "presto"])("speaks the %s header dialect: user, catalog and schema", async (dialect) => {
    const client = clientWith({ PRESTO_DIALECT: dialect, PRESTO_CATALOG: "hive", PRESTO_SCHEMA: "sales" });
    const result = await client.query("SELECT count(*) FROM orders", { user: "alice", maxRows: 10 });
    expect(result.rows).toEqual([[10_000]]);
    const info = await client.queryInfo(result.queryId, { user: "alice" });
    expect(info.user).toBe("alice");
    const overridden = await client.query("SELECT count(*) FROM campaigns", { schema: "ads", maxRows: 10 });
    expect(overridden.rows).toEqual([[200]]);
    expect((await client.queryInfo(overridden.queryId)).user).toBe("mcp-fleet");
  });

  it("reports progress on every page, from QUEUED through RUNNING to FINISHED", async () => {
    const reports: QueryProgress[] = [];
    await clientWith().query("SELECT * FROM hive.ads.campaigns", {
      maxRows: 1_000,
      onProgress: (progress) => {
        reports.push(progress);
      },
    });
    const states = reports.map((report) => report.state).filter((state, index, all) => state !== all[index - 1]);
    expect(states).toEqual(["QUEUED", "RUNNING", "FINISHED"]);
    const percentages = reports.map((report) => report.progress ?? 0);
    expect(percentages).toEqual([...percentages].sort((a, b) => a - b));
    expect(reports.at(-1)).toMatchObject({ state: "FINISHED", progress: 100, processedRows: 200 });
    expect(reports.at(-1)?.completedSplits).toBe(reports.at(-1)?.totalSplits);
  });

  it("reports a syntax error with its line and column", async () => {
    const error = (await failureOf(
      clientWith().query("SELECT order_id\nFROM hive.sales.orders\nWHERE", { maxRows: 10 }),
    )) as PrestoQueryFailure;
    expect(error).toBeInstanceOf(UpstreamRejectedError);
    expect(error.retriable).toBe(false);
    expect(error.queryError).toMatchObject({
      errorName: "SYNTAX_ERROR",
      errorCode: 1,
      errorType: "USER_ERROR",
      lineNumber: 3,
    });
    expect(error.queryError.columnNumber).toBeGreaterThan(0);
    expect(error.message).toMatch(/^Query \S+ failed: line 3:\d+: .+ \(SYNTAX_ERROR at line 3, column \d+\)$/);
  });

  it("reports an unknown table", async () => {
    const error = (await failureOf(
      clientWith().query("SELECT * FROM hive.sales.nope", { maxRows: 10 }),
    )) as PrestoQueryFailure;
    expect(error).toBeInstanceOf(UpstreamRejectedError);
    expect(error.queryError).toEqual({
      queryId: expect.stringMatching(QUERY_ID),
      message: "line 1:15: Table 'hive.sales.nope' does not exist",
      errorName: "TABLE_NOT_FOUND",
      errorCode: 46,
      errorType: "USER_ERROR",
      lineNumber: 1,
      columnNumber: 15,
    });
    expect(error.message).toBe(
      `Query ${error.queryError.queryId} failed: line 1:15: Table 'hive.sales.nope' does not exist (TABLE_NOT_FOUND at line 1, column 15)`,
    );
  });

  it("treats cluster-side failures as retriable and a canceled query as canceled", async () => {
    const page = (error: Record<string, unknown>) =>
      Response.json({ id: "20241126_153012_00001_abcde", stats: { state: "FAILED" }, error });
    vi.spyOn(globalThis, "fetch")
      .mockResolvedValueOnce(
        page({
          message: "Query exceeded per-node memory limit",
          errorName: "EXCEEDED_LOCAL_MEMORY_LIMIT",
          errorCode: 131079,
          errorType: "INSUFFICIENT_RESOURCES",
        }),
      )
      .mockResolvedValueOnce(
        page({ message: "Query was canceled", errorName: "USER_CANCELED", errorCode: 3, errorType: "USER_ERROR" }),
      );
    const client = clientWith({ PRESTO_READ_ONLY_TRANSACTION: "false" });
    const busy = await failureOf(client.query("SELECT 1", { maxRows: 1 }));
    expect(busy).toBeInstanceOf(UpstreamUnavailableError);
    expect(busy.retriable).toBe(true);
    expect(busy.message).toContain("EXCEEDED_LOCAL_MEMORY_LIMIT");
    const canceled = await failureOf(client.query("SELECT 1", { maxRows: 1 }));
    expect(canceled).toBeInstanceOf(UpstreamRejectedError);
    expect(canceled.message).toBe("Query 20241126_153012_00001_abcde was canceled before it finished (USER_CANCELED)");
  });

  it("retries a GET of nextUri that answers 503 a few times", async () => {
    const result = await clientWith().query("SELECT count(*) FROM hive.sales.orders", {
      maxRows: 10,
      onProgress: onFirstProgress(() => injectFaults({ statusCode: 503, count: 2 })),
    });
    expect(result.rows).toEqual([[10_000]]);
  });

  it("gives up with UpstreamUnavailableError when the coordinator keeps answering 503", async () => {
    const error = await failureOf(
      clientWith().query("SELECT count(*) FROM hive.sales.orders", {
        maxRows: 10,
        onProgress: onFirstProgress(() => injectFaults({ statusCode: 503, count: 50 })),
      }),
    );
    expect(error).toBeInstanceOf(UpstreamUnavailableError);
    expect((error as UpstreamUnavailableError).status).toBe(503);
    expect(error.retriable).toBe(true);
    expect(error.message).toMatch(/HTTP 503 5 times in a row while returning the results of query \S+/);
  });

  it("does not resubmit a statement whose POST answers 503", async () => {
    await injectFaults({ statusCode: 503, count: 1 });
    const error = await failureOf(clientWith().query("SELECT 1", { maxRows: 1 }));
    expect(error).toBeInstanceOf(UpstreamUnavailableError);
    expect(error.message).toContain("HTTP 503");
  });

  it("times out a stalled request with UpstreamTimeoutError", async () => {
    await injectFaults({ delayMs: 2_000, count: 1 });
    const started = Date.now();
    const error = await failureOf(clientWith({ PRESTO_REQUEST_TIMEOUT_MS: 200 }).query("SELECT 1", { maxRows: 1 }));
    expect(error).toBeInstanceOf(UpstreamTimeoutError);
    expect(error.message).toContain("did not answer within 200 ms");
    expect(Date.now() - started).toBeLessThan(1_500);
  });

  it("cancels a query that outlives the query timeout and names it", async () => {
    const canceledBefore = await canceledCount();
    const started = Date.now();
    const error = await failureOf(
      clientWith({ PRESTO_QUERY_TIMEOUT_MS: 300 }).query("SELECT count(*) FROM hive.sales.orders", {
        maxRows: 10,
        onProgress: onFirstProgress(() => injectFaults({ delayMs: 3_000, count: 1 })),
      }),
    );
    expect(error).toBeInstanceOf(UpstreamTimeoutError);
    expect(error.message).toMatch(/^Query \d{8}_\d{6}_\d{5}_[a-z0-9]{5} did not finish within 300 ms and was canceled/);
    expect(Date.now() - started).toBeLessThan(2_500);
    expect(await canceledCount()).toBeGreaterThan(canceledBefore);
  });

  it("cancels the query when the caller aborts", async () => {
    const controller = new AbortController();
    const canceledBefore = await canceledCount();
    const error = await clientWith()
      .query("SELECT * FROM hive.sales.orders", {
        maxRows: 20_000,
        signal: controller.signal,
        onProgress: onFirstProgress(async () => controller.abort(new Error("caller went away"))),
      })
      .catch((reason: unknown) => reason);
    expect(error).toEqual(new Error("caller went away"));
    expect(await canceledCount()).toBeGreaterThan(canceledBefore);
  });
});

describe("PrestoClient.query runs each statement in a read-only transaction", () => {
  const BYPASS = "EXPLAIN --\rANALYZE INSERT INTO hive.sales.orders\nSELECT * FROM hive.sales.orders";
  const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

  async function upstreamStats(): Promise<{ writes: number; lastStatements: string[] }> {
    return (await fetch(`${prestoUrl}/_local/stats`)).json();
  }

  /** The transaction a query ran in, as the coordinator's query info records it. */
  async function transactionOf(queryId: string): Promise<string | undefined> {
    const info = (await (
      await fetch(`${prestoUrl}/v1/query/${queryId}`, { headers: { "x-trino-user": "admin" } })
    ).json()) as {
      session: { transactionId?: string };
    };
    return info.session.transactionId;
  }

  /** Whether the coordinator still knows the transaction: a statement sent in it does not fail as unknown. */
  async function isOpen(transactionId: string): Promise<boolean> {
    let body = (await (
      await fetch(`${prestoUrl}/v1/statement`, {
        method: "POST",
        body: "SELECT 1",
        headers: { "X-Trino-User": "probe", "X-Trino-Transaction-Id": transactionId },
      })
    ).json()) as { nextUri?: string; error?: { errorName: string } };
    while (body.nextUri) body = await (await fetch(body.nextUri)).json();
    return body.error?.errorName !== "UNKNOWN_TRANSACTION";
  }

  it("runs the statement with the id START TRANSACTION READ ONLY gave, then ends the transaction", async () => {
    const result = await clientWith().query("SELECT count(*) FROM hive.sales.orders", { maxRows: 10 });
    expect(result.rows).toEqual([[10_000]]);
    const transactionId = await transactionOf(result.queryId);
    expect(transactionId).toMatch(UUID);
    expect(await isOpen(transactionId as string)).toBe(false);
  });

  it("has the coordinator refuse a write that slipped past the guard: READ_ONLY_VIOLATION, nothing written", async () => {
    const before = await upstreamStats();
    const error = (await failureOf(clientWith().query(BYPASS, { maxRows: 10 }))) as PrestoQueryFailure;
    expect(error).toBeInstanceOf(UpstreamRejectedError);
    expect(error.queryError).toMatchObject({
      errorName: "READ_ONLY_VIOLATION",
      errorCode: 23,
      message: "Cannot execute write in a read-only transaction",
    });
    expect(await isOpen((await transactionOf(error.queryError.queryId)) as string)).toBe(false);
    expect((await upstreamStats()).writes).toBe(before.writes);
    const count = await clientWith().query("SELECT count(*) FROM hive.sales.orders", { maxRows: 1 });
    expect(count.rows).toEqual([[10_000]]);
  });

  it("rolls back a truncated, a failed and an aborted query", async () => {
    const truncated = await clientWith().query("SELECT order_id FROM hive.sales.orders", { maxRows: 5 });
    expect(truncated.truncated).toBe(true);
    expect(await isOpen((await transactionOf(truncated.queryId)) as string)).toBe(false);

    const failed = (await failureOf(
      clientWith().query("SELECT * FROM hive.sales.nope", { maxRows: 1 }),
    )) as PrestoQueryFailure;
    expect(await isOpen((await transactionOf(failed.queryError.queryId)) as string)).toBe(false);

    const controller = new AbortController();
    const sql = `SELECT *, '${crypto.randomUUID()}' AS probe FROM hive.sales.orders`;
    const aborted = await clientWith()
      .query(sql, {
        maxRows: 20_000,
        signal: controller.signal,
        onProgress: onFirstProgress(async () => controller.abort(new Error("gone"))),
      })
      .catch((reason: unknown) => reason);
    expect(aborted).toEqual(new Error("gone"));
    const found = await clientWith().query(
      `SELECT query_id FROM system.runtime.queries WHERE query = '${sql.replaceAll("'", "''")}'`,
      { maxRows: 1 },
    );
    const abortedId = String(found.rows[0]?.[0]);
    expect(await transactionOf(abortedId)).toMatch(UUID);
    expect(await isOpen((await transactionOf(abortedId)) as string)).toBe(false);
  });

  it.each(["trino", "presto"])("speaks the %s transaction headers", async (dialect) => {
    const result = await clientWith({ PRESTO_DIALECT: dialect }).query("SELECT 1", { maxRows: 1 });
    expect(await transactionOf(result.queryId)).toMatch(UUID);
  });

  it("sends NONE and no transaction statements when PRESTO_READ_ONLY_TRANSACTION is false", async () => {
    const result = await clientWith({ PRESTO_READ_ONLY_TRANSACTION: "false" }).query("SELECT 1", { maxRows: 1 });
    expect(await transactionOf(result.queryId)).toBeUndefined();
  });

  it("sends nothing more when the transaction cannot be started, and says so", async () => {
    await injectFaults({ statusCode: 503, count: 1 });
    const error = await failureOf(clientWith().query("SELECT 'never sent'", { maxRows: 1 }));
    expect(error).toBeInstanceOf(UpstreamUnavailableError);
    expect(error.message).toContain("could not start a read-only transaction, so the query was not sent");
    expect(error.message).toContain("HTTP 503");
    expect((await upstreamStats()).lastStatements).not.toContain("SELECT 'never sent'");
  });
});

describe("PrestoClient.queryInfo", () => {
  it("describes a finished query compactly", async () => {
    const client = clientWith();
    const sql = "SELECT count(*) FROM hive.ads.impressions";
    const result = await client.query(sql, { maxRows: 1 });
    const info = await client.queryInfo(result.queryId);
    expect(info).toEqual({
      queryId: result.queryId,
      state: "FINISHED",
      query: sql,
      user: "mcp-fleet",
      elapsedTime: expect.stringMatching(/^\d+(\.\d+)?(ns|us|ms|s|m|h|d)$/),
      progress: 100,
      error: undefined,
    });
  });

  it("includes the error of a failed query", async () => {
    const client = clientWith();
    const failure = (await failureOf(
      client.query("SELECT * FROM hive.sales.nope", { maxRows: 1 }),
    )) as PrestoQueryFailure;
    const info = await client.queryInfo(failure.queryError.queryId);
    expect(info.state).toBe("FAILED");
    expect(info.error).toMatchObject({
      errorName: "TABLE_NOT_FOUND",
      errorType: "USER_ERROR",
      lineNumber: 1,
      columnNumber: 15,
    });
  });

  it("says when the coordinator does not know the query", async () => {
    const error = await failureOf(clientWith().queryInfo("20200101_000000_00000_zzzzz"));
    expect(error).toBeInstanceOf(UpstreamRejectedError);
    expect(error.message).toContain("No query 20200101_000000_00000_zzzzz on the coordinator");
  });

  it.each([
    "",
    "abc",
    "20241126_153012_00001",
    "20241126_153012_00001_abcde/../../v1/statement",
    "20241126_153012_00001_ABCDE",
  ])("refuses the malformed id %j before calling", async (queryId) => {
    const error = await failureOf(clientWith({ PRESTO_URL: "http://127.0.0.1:9" }).queryInfo(queryId));
    expect(error).toBeInstanceOf(BadArgumentError);
    expect((error as BadArgumentError).argument).toBe("queryId");
  });
});

describe("PrestoClient.cancel", () => {
  it("cancels by query id", async () => {
    const client = clientWith();
    const result = await client.query("SELECT 1", { maxRows: 1 });
    await expect(client.cancel(result.queryId)).resolves.toBeUndefined();
  });

  it("looks up and cancels as the given user, in the configured dialect", async () => {
    for (const [dialect, user] of [
      ["trino", "alice@example.com"],
      ["presto", "service-bot"],
    ] as const) {
      const client = clientWith({ PRESTO_DIALECT: dialect });
      const { queryId } = await client.query("SELECT 1", { maxRows: 1 });
      await client.queryInfo(queryId, { user });
      await client.cancel(queryId, { user });
      const stats = (await (await fetch(`${prestoUrl}/_local/stats`)).json()) as {
        lastQueryRequests: { method: string; queryId: string; user: string }[];
      };
      expect(stats.lastQueryRequests.filter((request) => request.queryId === queryId)).toEqual([
        { method: "GET", queryId, user },
        { method: "DELETE", queryId, user },
      ]);
    }
  });

  it("refuses a URL that is not on the coordinator", async () => {
    const error = await failureOf(clientWith().cancel("https://elsewhere.example.com/v1/statement/x/y/1"));
    expect(error).toBeInstanceOf(BadArgumentError);
  });
});
