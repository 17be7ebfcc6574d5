/**
 * Reading a task try's log through Airflow's paged log API: the tail (following continuation
 * tokens to the end, keeping only the last lines that match) or the next chunk after a token.
 * Bounded: at most MAX_PAGES pages per call, at most `maxBytes` of text returned.
 */
import type { AirflowClient } from "./airflow.client";
import { filterLines, headWithin, type Level, type LogLine, tailWithin, toLogLine } from "./airflow.format";

/** Pages read per call at most (Airflow sends a chunk per page). */
export const MAX_PAGES = 40;

export interface LogTarget {
  dagId: string;
  runId: string;
  taskId: string;
  tryNumber: number;
  mapIndex: number;
}

export interface LogRead {
  lines: string[];
  /** Matching lines left out (older than the tail, or past the byte cap). */
  omitted: number;
  /** Lines read from Airflow (before filtering). */
  scanned: number;
  /** Where to continue: more of the log exists (or a running task may still write). */
  continuationToken: string | null;
  /** True when the page limit stopped the read before the log's end. */
  pageLimitHit: boolean;
}

export interface LogFilter {
  level?: Level | undefined;
  contains?: string | undefined;
  maxLines: number;
  maxBytes: number;
}

/** The last `maxLines` matching lines of the log, within `maxBytes`. */
export async function readLogTail(
  client: AirflowClient,
  target: LogTarget,
  filter: LogFilter,
  signal?: AbortSignal,
): Promise<LogRead> {
  let kept: LogLine[] = [];
  let matched = 0;
  let scanned = 0;
  let token: string | undefined;
  let next: string | null = null;
  let pages = 0;
  do {
    const page = await client.logPage(target, token, signal);
    pages += 1;
    const lines = page.content.map(toLogLine).filter((line): line is LogLine => line !== undefined);
    scanned += lines.length;
    const matching = filterLines(lines, filter.level, filter.contains);
    matched += matching.length;
    kept = [...kept, ...matching].slice(-filter.maxLines);
    next = page.continuation_token;
    if (page.content.length === 0) break; // nothing new yet (a running task): keep the token
    token = next ?? undefined;
  } while (token && pages < MAX_PAGES);
  const tail = tailWithin(
    kept.map((line) => line.text),
    filter.maxLines,
    filter.maxBytes,
  );
  return {
    lines: tail.lines,
    omitted: matched - tail.lines.length,
    scanned,
    continuationToken: next,
    pageLimitHit: pages >= MAX_PAGES && next !== null,
  };
}

/** The matching lines after `token` (from a previous read), up to `maxLines` and `maxBytes`. */
export async function readLogAfter(
  client: AirflowClient,
  target: LogTarget,
  startToken: string,
  filter: LogFilter,
  signal?: AbortSignal,
): Promise<LogRead> {
  const collected: string[] = [];
  let scanned = 0;
  let omitted = 0;
  let token: string | null = startToken;
  let resumeFrom: string | null = startToken;
  let pages = 0;
  while (token && pages < MAX_PAGES) {
    const page = await client.logPage(target, token, signal);
    pages += 1;
    const lines = page.content.map(toLogLine).filter((line): line is LogLine => line !== undefined);
    scanned += lines.length;
    const matching = filterLines(lines, filter.level, filter.contains).map((line) => line.text);
    const room = filter.maxBytes - byteLength(collected);
    const head = headWithin(matching.slice(0, filter.maxLines - collected.length), room);
    // A page that does not fit after others: stop before it, so the next call starts with it.
    if (collected.length > 0 && head.lines.length < matching.length) break;
    collected.push(...head.lines);
    omitted += matching.length - head.lines.length; // only when a single page is over the caps
    resumeFrom = page.continuation_token;
    if (page.content.length === 0 || head.lines.length < matching.length) break;
    token = resumeFrom;
  }
  return {
    lines: collected,
    omitted,
    scanned,
    continuationToken: resumeFrom,
    pageLimitHit: pages >= MAX_PAGES && resumeFrom !== null,
  };
}

function byteLength(lines: string[]): number {
  const encoder = new TextEncoder();
  return lines.reduce((sum, line) => sum + encoder.encode(line).length + 1, 0);
}
