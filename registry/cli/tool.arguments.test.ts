import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { CliError, EXIT } from "./cli.errors.ts";
import { buildArguments, type JsonSchema } from "./tool.arguments.ts";

/** Roughly what the SDK lists for presto_run_query (zod → JSON Schema). */
const runQuery: JsonSchema = {
  type: "object",
  properties: {
    sql: { type: "string", description: "A single read-only SQL statement" },
    limit: { type: "integer", default: 200 },
    format: { type: "string", enum: ["tsv", "markdown", "json"] },
    ratio: { type: "number" },
    dryRun: { type: "boolean" },
    tags: { type: "array" },
    options: { type: "object" },
    maybe: { anyOf: [{ type: "integer" }, { type: "null" }] },
    label: { anyOf: [{ type: "string" }, { type: "number" }] },
  },
  required: ["sql"],
  additionalProperties: false,
};

function usageFailure(run: () => unknown, message: RegExp) {
  assert.throws(run, (error: unknown) => {
    assert.ok(error instanceof CliError);
    assert.equal(error.exitCode, EXIT.usage);
    assert.match(error.message, message);
    return true;
  });
}

describe("buildArguments", () => {
  it("types key=value by the schema", () => {
    const args = buildArguments("presto_run_query", runQuery, [
      "sql=SELECT a=1 FROM t",
      "limit=5",
      "format=json",
      "ratio=0.25",
      "dryRun=yes",
      'tags=["a","b"]',
      'options={"x":1}',
      "maybe=null",
      "label=7",
    ]);
    assert.deepEqual(args, {
      sql: "SELECT a=1 FROM t",
      limit: 5,
      format: "json",
      ratio: 0.25,
      dryRun: true,
      tags: ["a", "b"],
      options: { x: 1 },
      maybe: null,
      label: 7,
    });
  });

  it("keeps strings as given, even when they look like numbers or JSON", () => {
    assert.deepEqual(buildArguments("t", runQuery, ["sql=42"]), { sql: "42" });
    assert.deepEqual(buildArguments("t", runQuery, ["sql="]), { sql: "" });
    assert.deepEqual(buildArguments("t", runQuery, ["sql=SELECT 1", "label=x"]), { sql: "SELECT 1", label: "x" });
  });

  it("lets key=value override --json-args", () => {
    const args = buildArguments("t", runQuery, ["limit=3"], '{"sql": "SELECT 1", "limit": 10}');
    assert.deepEqual(args, { sql: "SELECT 1", limit: 3 });
  });

  it("refuses values that do not fit, naming the argument", () => {
    usageFailure(() => buildArguments("t", runQuery, ["sql=x", "limit=1.5"]), /limit=1\.5 is not an integer/);
    usageFailure(() => buildArguments("t", runQuery, ["sql=x", "limit=ten"]), /limit=ten is not an integer/);
    usageFailure(() => buildArguments("t", runQuery, ["sql=x", "dryRun=maybe"]), /dryRun=maybe is not a boolean/);
    usageFailure(() => buildArguments("t", runQuery, ["sql=x", "format=csv"]), /one of tsv, markdown, json/);
    usageFailure(() => buildArguments("t", runQuery, ["sql=x", "tags={}"]), /is not a JSON array/);
  });

  it("refuses unknown arguments, listing the known ones", () => {
    usageFailure(
      () => buildArguments("presto_run_query", runQuery, ["sql=x", "limt=5"]),
      /no argument "limt".*sql, limit/,
    );
  });

  it("refuses missing required arguments with their description", () => {
    usageFailure(() => buildArguments("presto_run_query", runQuery, ["limit=5"]), /needs sql=… \(A single read-only/);
  });

  it("refuses words that are not key=value, and bad --json-args", () => {
    usageFailure(() => buildArguments("t", runQuery, ["SELECT"]), /not key=value/);
    usageFailure(() => buildArguments("t", runQuery, [], "{nope"), /--json-args is not valid JSON/);
    usageFailure(() => buildArguments("t", runQuery, [], "[1]"), /must be a JSON object/);
  });

  it("reads values loosely where the schema says nothing", () => {
    const open: JsonSchema = { type: "object" };
    assert.deepEqual(buildArguments("t", open, ["n=5", "b=true", "s=hello"]), { n: 5, b: true, s: "hello" });
  });
});
