/**
 * `key=value` words into a tool's arguments, typed by the tool's JSON Schema (`inputSchema`
 * from tools/list): numbers, integers, booleans and JSON for objects and arrays; strings as given.
 */
import { usageError } from "./cli.errors.ts";

export interface JsonSchema {
  type?: string | string[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  additionalProperties?: boolean | JsonSchema;
  enum?: unknown[];
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  description?: string;
  default?: unknown;
}

/**
 * Builds the arguments: `--json-args` first, then each `key=value` over it. Refuses (usage
 * error) unknown keys where the schema allows none, values that do not fit, and missing
 * required arguments, naming the tool and the argument.
 */
export function buildArguments(
  toolName: string,
  schema: JsonSchema,
  pairs: readonly string[],
  jsonArgs?: string,
): Record<string, unknown> {
  const args: Record<string, unknown> = {};
  if (jsonArgs !== undefined) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(jsonArgs);
    } catch (error) {
      throw usageError(`--json-args is not valid JSON: ${(error as Error).message}`);
    }
    if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
      throw usageError('--json-args must be a JSON object, e.g. \'{"sql": "SELECT 1"}\'');
    }
    Object.assign(args, parsed);
  }
  const properties = schema.properties ?? {};
  for (const pair of pairs) {
    const equals = pair.indexOf("=");
    if (equals <= 0) throw usageError(`"${pair}" is not key=value (arguments of ${toolName} are given as key=value)`);
    const key = pair.slice(0, equals);
    const raw = pair.slice(equals + 1);
    const property = properties[key];
    if (!property) {
      if (schema.additionalProperties === false || (schema.properties && schema.additionalProperties === undefined)) {
        const known = Object.keys(properties);
        throw usageError(
          `${toolName} has no argument "${key}"${known.length > 0 ? ` (it takes: ${known.join(", ")})` : " (it takes none)"}`,
        );
      }
      args[key] = parseLoosely(raw);
      continue;
    }
    args[key] = coerce(toolName, key, raw, property);
  }
  const missing = (schema.required ?? []).filter((key) => !(key in args));
  if (missing.length > 0) {
    const hints = missing.map(
      (key) => `${key}=…${properties[key]?.description ? ` (${properties[key]?.description})` : ""}`,
    );
    throw usageError(`${toolName} needs ${hints.join(", ")}`);
  }
  return args;
}

/** One value by its property's schema. */
export function coerce(toolName: string, key: string, raw: string, property: JsonSchema): unknown {
  const types = typesOf(property);
  const fail = (expected: string): never => {
    throw usageError(`${toolName}: ${key}=${raw} is not ${expected}`);
  };
  if (property.enum?.every((value) => typeof value === "string")) {
    if (!property.enum.includes(raw)) fail(`one of ${property.enum.join(", ")}`);
    return raw;
  }
  if (types.length === 0) return parseLoosely(raw);
  // With several types (e.g. a nullable number), take the first reading that fits.
  for (const type of types) {
    const value = readAs(type, raw);
    if (value !== NO_MATCH) return value;
  }
  return fail(types.length === 1 ? article(types[0] as string) : `any of ${types.join(", ")}`);
}

const NO_MATCH = Symbol("no match");

function readAs(type: string, raw: string): unknown {
  switch (type) {
    case "string":
      return raw;
    case "integer": {
      const value = Number(raw);
      return raw.trim() !== "" && Number.isInteger(value) ? value : NO_MATCH;
    }
    case "number": {
      const value = Number(raw);
      return raw.trim() !== "" && Number.isFinite(value) ? value : NO_MATCH;
    }
    case "boolean": {
      const lower = raw.toLowerCase();
      if (["true", "yes", "1", "on"].includes(lower)) return true;
      if (["false", "no", "0", "off"].includes(lower)) return false;
      return NO_MATCH;
    }
    case "null":
      return raw === "null" ? null : NO_MATCH;
    case "object":
    case "array": {
      try {
        const value: unknown = JSON.parse(raw);
        const isArray = Array.isArray(value);
        const fits = type === "array" ? isArray : typeof value === "object" && value !== null && !isArray;
        return fits ? value : NO_MATCH;
      } catch {
        return NO_MATCH;
      }
    }
    default:
      return parseLoosely(raw);
  }
}

function typesOf(property: JsonSchema): string[] {
  if (Array.isArray(property.type)) return property.type;
  if (property.type) return [property.type];
  const variants = property.anyOf ?? property.oneOf ?? [];
  // Strings last, so `anyOf: [string, number]` still reads 5 as a number.
  const types = [...new Set(variants.flatMap(typesOf))];
  return [...types.filter((t) => t !== "string"), ...types.filter((t) => t === "string")];
}

/** Without a schema: JSON where it parses (numbers, booleans, objects), else the string. */
function parseLoosely(raw: string): unknown {
  try {
    return JSON.parse(raw);
  } catch {
    return raw;
  }
}

function article(type: string): string {
  return (
    ({ integer: "an integer", object: "a JSON object", array: "a JSON array" } as Record<string, string>)[type] ??
    `a ${type}`
  );
}
