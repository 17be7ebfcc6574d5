/**
 * Compact renderings for the Airflow tools: log lines (structured or raw) with level filtering,
 * tails and byte caps; small tables; retries left; caps on any text.
 */
import type { LogPage, TaskInstance } from "./airflow.types";

export const LEVELS = ["debug", "info", "warning", "error", "critical"] as const;
export type Level = (typeof LEVELS)[number];

export interface LogLine {
  text: string;
  level: Level | undefined;
}

const RAW_LEVEL = /\b(DEBUG|INFO|WARNING|WARN|ERROR|CRITICAL|FATAL)\b/;

/** One log entry as a line: `timestamp LEVEL event`; Airflow's source-group markers are dropped. */
export function toLogLine(entry: LogPage["content"][number]): LogLine | undefined {
  if (typeof entry === "string") {
    const match = RAW_LEVEL.exec(entry)?.[1]?.toLowerCase();
    return { text: entry, level: normalizeLevel(match) };
  }
  const event = typeof entry.event === "string" ? entry.event : JSON.stringify(entry);
  if (event.startsWith("::group::") || event.startsWith("::endgroup::")) return undefined;
  const level = normalizeLevel(typeof entry.level === "string" ? entry.level.toLowerCase() : undefined);
  const timestamp = typeof entry.timestamp === "string" ? entry.timestamp : "";
  return { text: [timestamp, level?.toUpperCase(), event].filter(Boolean).join(" "), level };
}

function normalizeLevel(level: string | undefined): Level | undefined {
  if (level === "warn") return "warning";
  if (level === "fatal") return "critical";
  return (LEVELS as readonly string[]).includes(level ?? "") ? (level as Level) : undefined;
}

/** Keeps lines at `level` or above (lines without a level go with the line before them). */
export function filterLines(lines: LogLine[], level: Level | undefined, contains: string | undefined): LogLine[] {
  const min = level ? LEVELS.indexOf(level) : 0;
  const needle = contains?.toLowerCase();
  let previousKept = true;
  return lines.filter((line) => {
    const byLevel = line.level === undefined ? previousKept : LEVELS.indexOf(line.level) >= min;
    if (line.level !== undefined) previousKept = byLevel;
    return byLevel && (!needle || line.text.toLowerCase().includes(needle));
  });
}

/** The last lines whose UTF-8 size fits `maxBytes`; says how many were left out. */
export function tailWithin(lines: string[], maxLines: number, maxBytes: number): { lines: string[]; omitted: number } {
  const kept: string[] = [];
  let bytes = 0;
  const encoder = new TextEncoder();
  for (let i = lines.length - 1; i >= 0 && kept.length < maxLines; i -= 1) {
    const size = encoder.encode(lines[i] as string).length + 1;
    if (bytes + size > maxBytes) break;
    bytes += size;
    kept.push(lines[i] as string);
  }
  return { lines: kept.reverse(), omitted: lines.length - kept.length };
}

/** The first lines whose UTF-8 size fits `maxBytes`. */
export function headWithin(lines: string[], maxBytes: number): { lines: string[]; omitted: number } {
  const kept: string[] = [];
  let bytes = 0;
  const encoder = new TextEncoder();
  for (const line of lines) {
    const size = encoder.encode(line).length + 1;
    if (bytes + size > maxBytes) break;
    bytes += size;
    kept.push(line);
  }
  return { lines: kept, omitted: lines.length - kept.length };
}

/** How many more tries Airflow would make after this one (0 once they are used up). */
export function retriesLeft(ti: Pick<TaskInstance, "max_tries" | "try_number">): number {
  return Math.max(0, ti.max_tries - ti.try_number + 1);
}

/** A tab-separated table with a header row. */
export function table(header: string[], rows: (string | number | boolean | null | undefined)[][]): string {
  return [header, ...rows]
    .map((row) => row.map((cell) => (cell === null || cell === undefined ? "-" : String(cell))).join("\t"))
    .join("\n");
}

/** Text cut to `max` characters, saying so. */
export function capText(text: string, max: number): string {
  if (text.length <= max) return text;
  return `${text.slice(0, max)}\n… (cut at ${max} characters; narrow the request to see more)`;
}

/** `2026-12-01T02:01:00.000Z` → `2026-12-01 02:01:00`. */
export function shortTime(value: string | null | undefined): string {
  if (!value) return "-";
  return value.replace("T", " ").replace(/(\.\d+)?(Z|\+00:00)$/, "");
}

/** Seconds as `1h02m`, `3m05s` or `12.3s`. */
export function shortDuration(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined) return "-";
  if (seconds < 60) return `${Math.round(seconds * 10) / 10}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes}m${String(Math.round(seconds % 60)).padStart(2, "0")}s`;
  return `${Math.floor(minutes / 60)}h${String(minutes % 60).padStart(2, "0")}m`;
}
