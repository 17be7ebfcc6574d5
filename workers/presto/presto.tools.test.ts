import { describe, expect, inject, it } from "vitest";
import { connect, subjectOf, textOf } from "../../test/workers/mcp-client";

const ALICE = "alice; groups=data-eng,ads";
/** Alice with a token that may also change things on the cluster (presto_kill_query). */
const ALICE_WRITE = "alice; groups=data-eng,ads; scopes=presto:read presto:write";
const upstream = inject("upstreamUrl");

type Result = { isError?: boolean; structuredContent?: Record<string, unknown>; _meta?: Record<string, unknown> };

async function stats() {
  return (await (await fetch(`${upstream}/_local/stats`)).json()) as {
    statements: number;
    lastStatements: string[];
    lastQueryRequests: { method: string; queryId: string; user: string }[];
  };
}

async function call(name: string, args: Record<string, unknown>, user = ALICE) {
  const { client } = await connect({ user });
  return (await client.callTool({ name, arguments: args })) as Result;
}

describe("presto tools", () => {
  it("walks catalogs → schemas → tables → columns", async () => {
    expect(textOf(await call("presto_list_catalogs", {}))).toContain("hive");
    expect(textOf(await call("presto_list_schemas", { catalog: "hive" }))).toMatch(/sales[\s\S]*|ads/);
    const tables = textOf(await call("presto_list_tables", { catalog: "hive", schema: "sales" }));
    for (const table of ["customers", "orders", "order_items"]) expect(tables).toContain(table);
    const filtered = textOf(await call("presto_list_tables", { catalog: "hive", schema: "sales", like: "order%" }));
    expect(filtered).not.toContain("customers");
    const columns = textOf(await call("presto_describe_table", { catalog: "hive", schema: "sales", table: "orders" }));
    expect(columns).toMatch(/\| order_id \| bigint \|/);
  });

  it("refuses identifiers that are not identifiers", async () => {
    const result = await call("presto_describe_table", { catalog: "hive", schema: "sales", table: 'orders"; DROP' });
    expect(result.isError).toBe(true);
    expect(textOf(result)).toContain('Invalid argument "table"');
  });

  it("runs a read query with the row count and a truncation marker", async () => {
    const result = await call("presto_run_query", {
      sql: "-- top customers\nSELECT customer_id, name FROM hive.sales.customers ORDER BY customer_id",
      limit: 1200,
    });
    expect(result.isError).toBeFalsy();
    expect(result.structuredContent).toMatchObject({ rowCount: 1200, truncated: true });
    const lines = textOf(result).split("\n");
    expect(lines[0]).toBe("customer_id\tname");
    expect(lines.at(-1)).toMatch(/truncated: showing 1200 of at least 1201 rows/);
  });

  it("returns all rows of a small result with its count, as markdown when asked", async () => {
    const result = await call("presto_run_query", {
      sql: "select tier, count(*) as n from sales.customers group by tier order by tier",
      catalog: "hive",
      format: "markdown",
    });
    const text = textOf(result);
    expect(text.startsWith("| tier | n |")).toBe(true);
    expect(text).toMatch(/\(\d+ rows?\)$/);
  });

  it.each([
    ["DELETE FROM hive.sales.orders", "DELETE FROM statements are not allowed"],
    ["select 1; drop table hive.sales.orders", "only one statement is allowed"],
    ["/* harmless */ INSERT INTO hive.sales.orders VALUES (1)", "INSERT INTO statements are not allowed"],
    [
      "EXPLAIN --\rANALYZE INSERT INTO hive.sales.orders\nSELECT * FROM hive.sales.orders",
      "EXPLAIN ANALYZE is not allowed",
    ],
    ["WITH t AS (SELECT 1) DELETE FROM hive.sales.orders", "not valid Trino SQL"],
    ["EXPLAIN ANALYZE SELECT 1", "EXPLAIN ANALYZE"],
    // The review's denial of service (27 s for n=12, over 60 s for n=20): refused at once.
    [
      `SELECT ${"(SELECT ".repeat(20)}1${")".repeat(20)}`,
      "the query was not checked: it nests subqueries more than 8 deep (line 1, column 72); simplify it or split it up",
    ],
    [
      `SELECT ${"(SELECT ".repeat(8)}1${")".repeat(8)}`,
      "the query was not checked: it is too complex to check (parsing it needs too much work); simplify it or split it up",
    ],
  ])("refuses %s without reaching the coordinator", async (sql, reason) => {
    const before = await stats();
    const result = await call("presto_run_query", { sql });
    expect(result.isError).toBe(true);
    expect(textOf(result)).toContain('Invalid argument "sql"');
    expect(textOf(result)).toContain(reason);
    expect((await stats()).statements).toBe(before.statements);
  });

  it("explains a query and reports query status by id", async () => {
    const plan = textOf(await call("presto_explain_query", { sql: "SELECT count(*) FROM hive.sales.orders" }));
    expect(plan.length).toBeGreaterThan(10);
    const run = await call("presto_run_query", { sql: "SELECT count(*) AS n FROM hive.sales.orders" });
    const queryId = run.structuredContent?.queryId as string;
    const status = await call("presto_query_status", { queryId });
    expect(status.structuredContent).toMatchObject({
      queryId,
      state: "FINISHED",
      // The identity of record (the test token's subject), never the login name.
      user: subjectOf("alice"),
      query: "SELECT count(*) AS n FROM hive.sales.orders",
      queryRedacted: false,
    });
    const missing = await call("presto_query_status", { queryId: "20200101_000000_00000_zzzzz" });
    expect(missing.isError).toBe(true);
  });

  it("refuses what the guard refuses in presto_explain_query", async () => {
    for (const [sql, reason] of [
      ["EXPLAIN SELECT 1", "without EXPLAIN"],
      ["EXPLAIN --\rANALYZE SELECT 1", "EXPLAIN ANALYZE is not allowed"],
      ["SELECT 1; DROP TABLE hive.sales.orders", "only one statement"],
      ["SELECT * FROM TABLE(hive.system.query(query => 'DROP TABLE x'))", "PRESTO_PASSTHROUGH_CATALOGS"],
    ]) {
      const before = await stats();
      const result = await call("presto_explain_query", { sql });
      expect(result.isError).toBe(true);
      expect(textOf(result)).toContain(reason);
      expect((await stats()).statements).toBe(before.statements);
    }
  });

  it("shows another user's query with its SQL text and error message redacted, services included", async () => {
    const secret = "SELECT name FROM hive.sales.customers WHERE name = 'only alice may see this'";
    const mine = await call("presto_run_query", { sql: secret });
    const queryId = mine.structuredContent?.queryId as string;
    const failed = await call("presto_run_query", { sql: "SELECT secret_column FROM hive.sales.customers" });
    const failedId = /Query (\S+) failed/.exec(textOf(failed))?.[1] as string;

    for (const other of ["bob; groups=finance", "service:reporting-bot"]) {
      const status = await call("presto_query_status", { queryId }, other);
      expect(status.structuredContent).toMatchObject({
        queryId,
        user: subjectOf("alice"),
        state: "FINISHED",
        queryRedacted: true,
      });
      expect(status.structuredContent?.query).toBe("(redacted: the SQL text of another user's query is not shown)");
      expect(textOf(status)).not.toContain("only alice may see this");
      expect(textOf(status)).toContain("redacted");
      const failure = await call("presto_query_status", { queryId: failedId }, other);
      expect(failure.structuredContent).toMatchObject({ state: "FAILED", queryRedacted: true });
      expect(textOf(failure)).toContain("COLUMN_NOT_FOUND");
      expect(textOf(failure)).not.toContain("secret_column");
    }
    const own = await call("presto_query_status", { queryId: failedId });
    expect(textOf(own)).toContain("secret_column");
    // Each looked the query up as themselves: the coordinator's access control judges the caller.
    const lookups = (await stats()).lastQueryRequests.filter((request) => request.queryId === failedId);
    expect(lookups.map((request) => request.user)).toEqual([subjectOf("bob"), "reporting-bot", subjectOf("alice")]);
  });

  it("maps a failing coordinator to a retriable error", async () => {
    await fetch(`${upstream}/_local/faults`, { method: "POST", body: JSON.stringify({ statusCode: 503, count: 1 }) });
    const result = await call("presto_list_catalogs", {});
    await fetch(`${upstream}/_local/faults`, { method: "DELETE" });
    expect(result.isError).toBe(true);
    expect(result._meta).toMatchObject({ "fleet/retriable": true });
  });

  it("reports progress while a query runs", async () => {
    const { client } = await connect({ user: ALICE });
    const progress: string[] = [];
    await client.callTool(
      { name: "presto_run_query", arguments: { sql: "SELECT * FROM hive.sales.order_items", limit: 10 } },
      { onprogress: (p) => void progress.push(String(p.message)) },
    );
    expect(progress.some((message) => message.startsWith("QUEUED") || message.startsWith("RUNNING"))).toBe(true);
  });

  it("sends the caller as the acting Presto user", async () => {
    await call("presto_run_query", { sql: "SELECT 1" }, "bob; groups=finance");
    const info = await call("presto_run_query", { sql: "SELECT user, query FROM system.runtime.queries" }, ALICE);
    expect(textOf(info)).toMatch(/\bbob\b/);
  });

  it("kills a query only after a data engineer approves that exact query", async () => {
    const started = await fetch(`${upstream}/v1/statement`, {
      method: "POST",
      headers: { "x-trino-user": "someone-else" },
      body: "SELECT count(*) FROM hive.sales.order_items",
    });
    const { id } = (await started.json()) as { id: string };
    const asked: string[] = [];
    const { client } = await connect({
      user: ALICE_WRITE,
      onElicit: (message) => {
        asked.push(message);
        return { action: "accept", content: { approve: true } };
      },
    });
    const logged: unknown[] = [];
    client.setNotificationHandler("notifications/message", (notification) => {
      logged.push(notification.params.data);
    });
    const result = await client.callTool({ name: "presto_kill_query", arguments: { queryId: id } });
    expect(asked).toEqual([`Kill Presto query ${id}? Its results are lost and its user is told it was canceled.`]);
    expect(textOf(result)).toContain(`Killed query ${id}`);
    // Looked up and killed as the caller's identity of record, never as the service user, and
    // logged with it (not with the display name "alice").
    expect((await stats()).lastQueryRequests.filter((request) => request.queryId === id)).toEqual([
      { method: "GET", queryId: id, user: subjectOf("alice") },
      { method: "DELETE", queryId: id, user: subjectOf("alice") },
    ]);
    expect(logged).toEqual([`${subjectOf("alice")} killed query ${id} of someone-else`]);
    const info = (await (
      await fetch(`${upstream}/v1/query/${id}`, { headers: { "x-trino-user": "admin" } })
    ).json()) as {
      state: string;
      errorCode?: { name: string };
    };
    expect(info.state).toBe("FAILED");

    const declined = await connect({ user: ALICE_WRITE, onElicit: () => ({ action: "decline" }) });
    const kept = (await declined.client.callTool({ name: "presto_kill_query", arguments: { queryId: id } })) as Result;
    expect(kept._meta?.["fleet/errorClass"]).toBe("not_approved");
  });

  it("kills queries only with the write scope presto:write", async () => {
    const readOnly = await connect({ user: ALICE, onElicit: () => ({ action: "accept", content: { approve: true } }) });
    // Listed (a data engineer may kill once she consents to presto:write); the call is met with
    // a scope challenge (HTTP 403 insufficient_scope), so nothing reaches the coordinator.
    expect((await readOnly.client.listTools()).tools.map((t) => t.name)).toContain("presto_kill_query");
    const before = await stats();
    await expect(
      readOnly.client.callTool({ name: "presto_kill_query", arguments: { queryId: "20200101_000000_00000_zzzzz" } }),
    ).rejects.toThrow(/Insufficient scope: required "[^"]*presto:write/); // the SDK v2 client's words
    expect((await stats()).statements).toBe(before.statements);
    const writer = await connect({ user: ALICE_WRITE });
    expect((await writer.client.listTools()).tools.map((t) => t.name)).toContain("presto_kill_query");
  });

  it("needs presto:read to use the server at all", async () => {
    await expect(connect({ user: "alice; groups=data-eng; scopes=presto:write" })).rejects.toThrow(/403|scope/);
  });

  it("shows and allows killing queries to data engineers only, never to services", async () => {
    const bob = await connect({ user: "bob; groups=finance; scopes=presto:read presto:write" });
    expect((await bob.client.listTools()).tools.map((t) => t.name)).not.toContain("presto_kill_query");
    const denied = await bob.client.callTool({
      name: "presto_kill_query",
      arguments: { queryId: "20200101_000000_00000_zzzzz" },
    });
    expect(textOf(denied)).toContain("requires membership in one of: data-eng");
    const bot = await connect({ user: "service:reporting-bot" });
    const refused = await bot.client.callTool({
      name: "presto_kill_query",
      arguments: { queryId: "20200101_000000_00000_zzzzz" },
    });
    expect(textOf(refused)).toContain("cannot be called by services");
  });

  it("gates the server to its business groups and lets services read", async () => {
    const { client } = await connect({ user: "service:reporting-bot" });
    expect((await client.listTools()).tools).toHaveLength(7);
    await expect(connect({ user: "carol" })).rejects.toThrow(/403|none of the groups/);
  });
});
