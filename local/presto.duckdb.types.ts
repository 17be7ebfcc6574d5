/**
 * DuckDB's types and values as Trino names and encodes them in the client protocol: type names
 * (`BIGINT` → `bigint`, `TIMESTAMP_MS` → `timestamp(3)`, `VARCHAR[]` → `array(varchar)`,
 * `STRUCT(a INTEGER)` → `row(a integer)`), and values in Trino's JSON encoding (bigint as a
 * number, decimal as a string, timestamps with their precision's digits, varbinary as base64,
 * a map as an object, a row as an array).
 *
 * Where DuckDB's type differs from what Trino would give the same expression, the column says
 * what DuckDB computed: `sum` of integers is HUGEINT here (named `bigint`, as Trino types it),
 * `date_trunc` of a date is a timestamp, `TIMESTAMP` is microseconds (`timestamp(6)`).
 */
import {
  DuckDBArrayType,
  DuckDBArrayValue,
  DuckDBBlobValue,
  DuckDBDateValue,
  DuckDBDecimalValue,
  DuckDBListType,
  DuckDBListValue,
  DuckDBMapType,
  DuckDBMapValue,
  DuckDBStructType,
  DuckDBStructValue,
  DuckDBTimestampMillisecondsValue,
  DuckDBTimestampNanosecondsValue,
  DuckDBTimestampSecondsValue,
  DuckDBTimestampTZValue,
  DuckDBTimestampValue,
  DuckDBTimeValue,
  type DuckDBType,
  type DuckDBValue,
} from "@duckdb/node-api";

const SIMPLE_TYPES: Record<string, string> = {
  BOOLEAN: "boolean",
  TINYINT: "tinyint",
  SMALLINT: "smallint",
  INTEGER: "integer",
  BIGINT: "bigint",
  HUGEINT: "bigint",
  UTINYINT: "smallint",
  USMALLINT: "integer",
  UINTEGER: "bigint",
  UBIGINT: "decimal(20,0)",
  UHUGEINT: "decimal(38,0)",
  BIGNUM: "decimal(38,0)",
  FLOAT: "real",
  DOUBLE: "double",
  VARCHAR: "varchar",
  BLOB: "varbinary",
  BIT: "varchar",
  DATE: "date",
  TIME: "time(6)",
  TIME_NS: "time(9)",
  "TIME WITH TIME ZONE": "time(6) with time zone",
  TIMESTAMP: "timestamp(6)",
  TIMESTAMP_S: "timestamp(0)",
  TIMESTAMP_MS: "timestamp(3)",
  TIMESTAMP_NS: "timestamp(9)",
  "TIMESTAMP WITH TIME ZONE": "timestamp(6) with time zone",
  INTERVAL: "interval day to second",
  UUID: "uuid",
  JSON: "json",
  '"NULL"': "unknown",
  NULL: "unknown",
};

/** The Trino name of a DuckDB type as DuckDB spells it (`DuckDBType.toString()`, information_schema's data_type). */
export function trinoTypeName(duckDbType: string): string {
  const parser = new TypeParser(duckDbType);
  const type = parser.type();
  return parser.done() ? type : duckDbType.toLowerCase();
}

class TypeParser {
  readonly #text: string;
  #at = 0;

  constructor(text: string) {
    this.#text = text;
  }

  done(): boolean {
    this.#skipSpaces();
    return this.#at === this.#text.length;
  }

  type(): string {
    let type = this.#base();
    for (;;) {
      this.#skipSpaces();
      const suffix = /^\[\d*\]/.exec(this.#text.slice(this.#at));
      if (!suffix) return type;
      this.#at += suffix[0].length;
      type = `array(${type})`;
    }
  }

  #base(): string {
    this.#skipSpaces();
    const word = /^(?:TIMESTAMP WITH TIME ZONE|TIME WITH TIME ZONE|"NULL"|[A-Za-z_][A-Za-z0-9_]*)/.exec(
      this.#text.slice(this.#at),
    );
    const name = word?.[0] ?? "";
    this.#at += name.length;
    const upper = name.toUpperCase();
    if (!this.#accept("(")) return SIMPLE_TYPES[upper] ?? name.toLowerCase();
    if (upper === "DECIMAL" || upper === "NUMERIC") return `decimal(${this.#until(")").replaceAll(" ", "")})`;
    if (upper === "ENUM") {
      this.#until(")");
      return "varchar";
    }
    const members: string[] = [];
    do {
      if (upper === "STRUCT" || upper === "UNION") {
        const field = this.#fieldName();
        members.push(`${field} ${this.type()}`);
      } else {
        members.push(this.type());
      }
    } while (this.#accept(","));
    this.#accept(")");
    if (upper === "MAP") return `map(${members.join(", ")})`;
    return `row(${members.join(", ")})`;
  }

  #fieldName(): string {
    this.#skipSpaces();
    const match = /^(?:"((?:[^"]|"")*)"|([^\s,()]+))/.exec(this.#text.slice(this.#at)) ?? ["", ""];
    this.#at += match[0].length;
    const name = match[1] !== undefined ? match[1].replaceAll('""', '"') : (match[2] ?? "");
    return /^[a-z_][a-z0-9_]*$/.test(name) ? name : `"${name.replaceAll('"', '""')}"`;
  }

  #until(close: string): string {
    const end = this.#text.indexOf(close, this.#at);
    const inside = this.#text.slice(this.#at, end < 0 ? undefined : end);
    this.#at = end < 0 ? this.#text.length : end + 1;
    return inside;
  }

  #accept(symbol: string): boolean {
    this.#skipSpaces();
    if (this.#text[this.#at] !== symbol) return false;
    this.#at++;
    return true;
  }

  #skipSpaces(): void {
    while (this.#text[this.#at] === " ") this.#at++;
  }
}

/** A DuckDB value in Trino's JSON encoding. */
export function trinoValue(value: DuckDBValue, type: DuckDBType): unknown {
  if (value === null) return null;
  if (typeof value === "bigint") return Number(value);
  if (typeof value === "number") return Number.isFinite(value) ? value : String(value);
  if (typeof value === "string" || typeof value === "boolean") return value;
  if (value instanceof DuckDBDecimalValue || value instanceof DuckDBDateValue) return value.toString();
  if (value instanceof DuckDBTimestampMillisecondsValue) return epochText(value.millis, 1_000n, 3);
  if (value instanceof DuckDBTimestampValue) return epochText(value.micros, 1_000_000n, 6);
  if (value instanceof DuckDBTimestampSecondsValue) return epochText(value.seconds, 1n, 0);
  if (value instanceof DuckDBTimestampNanosecondsValue) return epochText(value.nanos, 1_000_000_000n, 9);
  if (value instanceof DuckDBTimestampTZValue) return `${epochText(value.micros, 1_000_000n, 6)} UTC`;
  if (value instanceof DuckDBTimeValue) return epochText(value.micros, 1_000_000n, 6).slice(11);
  if (value instanceof DuckDBBlobValue) return Buffer.from(value.bytes).toString("base64");
  if (value instanceof DuckDBListValue || value instanceof DuckDBArrayValue) {
    const items = type instanceof DuckDBListType || type instanceof DuckDBArrayType ? type.valueType : type;
    return value.items.map((item) => trinoValue(item, items));
  }
  if (value instanceof DuckDBMapValue) {
    const values = type instanceof DuckDBMapType ? type.valueType : type;
    return Object.fromEntries(value.entries.map((entry) => [String(entry.key), trinoValue(entry.value, values)]));
  }
  if (value instanceof DuckDBStructValue) {
    const fields = type instanceof DuckDBStructType ? type.entryTypes : [];
    return Object.values(value.entries).map((entry, index) => trinoValue(entry, fields[index] ?? type));
  }
  return String(value);
}

/** `YYYY-MM-DD HH:MM:SS[.fraction]` of an epoch count in `perSecond` units, UTC, with `digits` fraction digits. */
function epochText(count: bigint, perSecond: bigint, digits: number): string {
  const seconds = count >= 0n ? count / perSecond : -((-count + perSecond - 1n) / perSecond);
  const fraction = count - seconds * perSecond;
  const iso = new Date(Number(seconds) * 1000).toISOString();
  const text = `${iso.slice(0, 10)} ${iso.slice(11, 19)}`;
  return digits === 0 ? text : `${text}.${fraction.toString().padStart(digits, "0")}`;
}
