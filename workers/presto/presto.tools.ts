import { z } from "zod";
import { type ToolContext, toolsFor } from "../../shared/mcp";
import type { PrestoClient, QueryInfo, QueryOptions, QueryResult } from "./presto.client";
import { formatRows } from "./presto.format";
import {
  assertIdentifier,
  assertReadOnlySql,
  explainStatement,
  quoteIdentifier,
  type ReadStatement,
} from "./presto.statement";

export interface PrestoUpstreams {
  presto: PrestoClient;
}

const defineTool = toolsFor<PrestoUpstreams>();

/** The read tools; services (pipelines, bots) may call them. */
const READ = { scopes: ["presto:read"], services: true } as const;
const OUTPUT_CHARS = 60_000;
/** What presto_query_status shows instead of the SQL text of another user's query. */
export const REDACTED_QUERY = "(redacted: the SQL text of another user's query is not shown)";

/** Checks SQL with the read-only guard (presto.statement.ts), once per tool call. */
function guard(ctx: ToolContext<PrestoUpstreams>, sql: string, catalog?: string): ReadStatement {
  const { presto } = ctx.upstream;
  return assertReadOnlySql(sql, {
    passthroughCatalogs: presto.config.passthroughCatalogs,
    catalog: catalog ?? presto.config.catalog,
  });
}

/**
 * The one way a tool sends SQL: a statement the guard accepted, as the caller, inside the
 * client's read-only transaction. Even SQL a tool builds itself is guarded.
 */
async function runRead(
  ctx: ToolContext<PrestoUpstreams>,
  read: ReadStatement,
  options: Omit<QueryOptions, "user" | "signal">,
): Promise<QueryResult> {
  return ctx.upstream.presto.query(read.statement, { ...options, user: ctx.caller.principal, signal: ctx.signal });
}

/** Runs a metadata statement as the caller and renders it compactly. */
async function metadata(
  ctx: ToolContext<PrestoUpstreams>,
  sql: string,
  options: { maxRows: number; format?: "tsv" | "markdown" },
): Promise<string> {
  const result = await runRead(ctx, guard(ctx, sql), { maxRows: options.maxRows });
  return formatRows(result, { format: options.format ?? "tsv", maxRows: options.maxRows, maxChars: OUTPUT_CHARS });
}

const catalog = z.string().min(1).max(128).describe("Catalog name, e.g. hive (see presto_list_catalogs)");
const schema = z.string().min(1).max(128).describe("Schema name within the catalog, e.g. sales");
const format = z
  .enum(["tsv", "markdown"])
  .default("tsv")
  .describe("Result layout: tsv (compact, default) or a markdown table");

export const listCatalogs = defineTool({
  name: "presto_list_catalogs",
  title: "List catalogs",
  description: "List the catalogs (data sources) available on the Presto/Trino cluster.",
  input: {},
  annotations: { readOnlyHint: true, openWorldHint: true },
  access: READ,
  minutesSaved: 1,
  async run(_args, ctx) {
    return metadata(ctx, "SHOW CATALOGS", { maxRows: 1_000 });
  },
});

export const listSchemas = defineTool({
  name: "presto_list_schemas",
  title: "List schemas",
  description: "List the schemas of a catalog.",
  input: { catalog },
  annotations: { readOnlyHint: true, openWorldHint: true },
  access: READ,
  minutesSaved: 1,
  async run(args, ctx) {
    assertIdentifier("catalog", args.catalog);
    return metadata(ctx, `SHOW SCHEMAS FROM ${quoteIdentifier(args.catalog)}`, { maxRows: 5_000 });
  },
});

export const listTables = defineTool({
  name: "presto_list_tables",
  title: "List tables",
  description: "List the tables of a schema, optionally filtered by a LIKE pattern.",
  input: {
    catalog,
    schema,
    like: z.string().max(256).optional().describe("Optional SQL LIKE pattern on the table name, e.g. 'order%'"),
  },
  annotations: { readOnlyHint: true, openWorldHint: true },
  access: READ,
  minutesSaved: 2,
  async run(args, ctx) {
    assertIdentifier("catalog", args.catalog);
    assertIdentifier("schema", args.schema);
    const like = args.like === undefined ? "" : ` LIKE '${args.like.replaceAll("'", "''")}'`;
    const sql = `SHOW TABLES FROM ${quoteIdentifier(args.catalog)}.${quoteIdentifier(args.schema)}${like}`;
    return metadata(ctx, sql, { maxRows: 5_000 });
  },
});

export const describeTable = defineTool({
  name: "presto_describe_table",
  title: "Describe a table",
  description: "Show a table's columns with their types and comments.",
  input: { catalog, schema, table: z.string().min(1).max(128).describe("Table name, e.g. orders") },
  annotations: { readOnlyHint: true, openWorldHint: true },
  access: READ,
  minutesSaved: 3,
  async run(args, ctx) {
    assertIdentifier("catalog", args.catalog);
    assertIdentifier("schema", args.schema);
    assertIdentifier("table", args.table);
    const name = [args.catalog, args.schema, args.table].map(quoteIdentifier).join(".");
    return metadata(ctx, `DESCRIBE ${name}`, { maxRows: 2_000, format: "markdown" });
  },
});

export const runQuery = defineTool({
  name: "presto_run_query",
  title: "Run a read-only query",
  description:
    "Run one read-only SQL statement (SELECT, WITH … SELECT, SHOW, DESCRIBE, EXPLAIN, VALUES) and return up to `limit` rows. " +
    "Writes, DDL and multiple statements are refused. Name tables as catalog.schema.table or pass catalog/schema.",
  input: {
    sql: z.string().min(1).max(100_000).describe("A single read-only SQL statement"),
    limit: z.number().int().min(1).max(10_000).default(200).describe("Maximum rows to return (1-10000, default 200)"),
    format,
    catalog: catalog.optional().describe("Default catalog for unqualified table names (optional)"),
    schema: schema.optional().describe("Default schema for unqualified table names (optional)"),
  },
  annotations: { readOnlyHint: true, openWorldHint: true },
  access: READ,
  minutesSaved: 10,
  async run(args, ctx) {
    if (args.catalog) assertIdentifier("catalog", args.catalog);
    if (args.schema) assertIdentifier("schema", args.schema);
    const result = await runRead(ctx, guard(ctx, args.sql, args.catalog), {
      ...(args.catalog ? { catalog: args.catalog } : {}),
      ...(args.schema ? { schema: args.schema } : {}),
      maxRows: args.limit,
      onProgress: (p) =>
        ctx.progress(p.progress ?? 0, 100, `${p.state}${p.processedRows ? `: ${p.processedRows} rows processed` : ""}`),
    });
    const text = formatRows(result, { format: args.format, maxRows: args.limit, maxChars: OUTPUT_CHARS });
    return {
      text,
      structured: {
        queryId: result.queryId,
        columns: result.columns,
        rowCount: result.rows.length,
        truncated: result.truncated,
      },
    };
  },
});

export const explainQuery = defineTool({
  name: "presto_explain_query",
  title: "Explain a query",
  description: "Show the query plan of a read-only SQL statement without running it.",
  input: {
    sql: z.string().min(1).max(100_000).describe("The read-only SQL statement to explain (without EXPLAIN)"),
    type: z
      .enum(["logical", "distributed", "io", "validate"])
      .default("logical")
      .describe("Plan type: logical (default), distributed, io or validate"),
  },
  annotations: { readOnlyHint: true, openWorldHint: true },
  access: READ,
  minutesSaved: 5,
  async run(args, ctx) {
    const plan = explainStatement(guard(ctx, args.sql), args.type);
    const result = await runRead(ctx, plan, { maxRows: 10_000 });
    return result.rows.map((row) => String(row[0] ?? "")).join("\n") || "(empty plan)";
  },
});

export const queryStatus = defineTool({
  name: "presto_query_status",
  title: "Query status",
  description:
    "Look up a query on the coordinator by id: state, user, elapsed time, progress and error. " +
    "The SQL text (and error message) of another user's query is redacted.",
  input: { queryId: z.string().min(1).max(128).describe("Query id, e.g. 20241126_153012_00001_abcde") },
  annotations: { readOnlyHint: true, openWorldHint: true },
  access: READ,
  minutesSaved: 2,
  async run(args, ctx) {
    const info = visibleTo(
      ctx.caller.principal,
      await ctx.upstream.presto.queryInfo(args.queryId, { user: ctx.caller.principal, signal: ctx.signal }),
    );
    return { text: JSON.stringify(info, null, 2), structured: { ...info } };
  },
});

export const killQuery = defineTool({
  name: "presto_kill_query",
  title: "Kill a query",
  description:
    "Cancel a running query on the coordinator by id. Destructive: a human approves the exact query first; " +
    "data engineers only.",
  input: { queryId: z.string().min(1).max(128).describe("Id of the query to kill, e.g. 20241126_153012_00001_abcde") },
  annotations: { destructiveHint: true, idempotentHint: true, openWorldHint: true },
  access: { groups: ["data-eng"], scopes: ["presto:write"] },
  minutesSaved: 5,
  approval: ({ queryId }) => `Kill Presto query ${queryId}? Its results are lost and its user is told it was canceled.`,
  async run({ queryId }, ctx) {
    // As the caller, like every query: the coordinator's access control decides whether this
    // person may view and kill that query, and its log shows who did.
    const as = { user: ctx.caller.principal, signal: ctx.signal };
    const before = await ctx.upstream.presto.queryInfo(queryId, as);
    if (["FINISHED", "FAILED"].includes(before.state)) {
      return `Query ${queryId} is already ${before.state}; nothing to kill.`;
    }
    await ctx.upstream.presto.cancel(queryId, as);
    await ctx.log("warning", `${ctx.caller.principal} killed query ${queryId} of ${before.user}`);
    return `Killed query ${queryId} (${before.state} for ${before.elapsedTime}, user ${before.user}).`;
  },
});

/**
 * A query as the caller may see it: the SQL text of someone else's query (users and services
 * alike) is replaced by a note saying it was redacted, and so is its error message, which
 * quotes the SQL it failed on.
 */
function visibleTo(caller: string, info: QueryInfo): QueryInfo & { queryRedacted: boolean } {
  if (info.user === caller) return { ...info, queryRedacted: false };
  const error = info.error ? { ...info.error, message: REDACTED_QUERY } : undefined;
  return { ...info, query: REDACTED_QUERY, error, queryRedacted: true };
}

export const prestoTools = [
  listCatalogs,
  listSchemas,
  listTables,
  describeTable,
  runQuery,
  explainQuery,
  queryStatus,
  killQuery,
];
