/**
 * HTTP plumbing of the local coordinator: reading requests, answering them, the two header
 * dialects (`X-Trino-*`, `X-Presto-*`), Basic auth's secret comparison, and the fault injection
 * settings tests post to `/_local/faults`.
 */
import { createHash, timingSafeEqual } from "node:crypto";
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from "node:http";

export interface PrestoFaults {
  /** Answer protocol requests with this HTTP status instead of handling them (e.g. 503). */
  statusCode?: number;
  /** Stall protocol requests this long before answering (or failing with statusCode). */
  delayMs?: number;
  /** How many protocol requests (`/v1/...`) are affected; unlimited when omitted. */
  count?: number;
}

export type Dialect = "Trino" | "Presto";

export function firstHeader(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  const first = Array.isArray(value) ? value[0] : value;
  return first === undefined || first === "" ? undefined : first;
}

/** Trino and Presto clients send `X-Trino-*` or `X-Presto-*`; one request uses one dialect. */
export function dialectOf(headers: IncomingHttpHeaders): Dialect {
  if (headers["x-trino-user"] !== undefined) return "Trino";
  if (headers["x-presto-user"] !== undefined) return "Presto";
  return Object.keys(headers).some((name) => name.startsWith("x-presto-")) ? "Presto" : "Trino";
}

export const sameSecret = (a: string, b: string): boolean =>
  timingSafeEqual(createHash("sha256").update(a).digest(), createHash("sha256").update(b).digest());

export function readBody(request: IncomingMessage, limit: number): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    request.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size <= limit) chunks.push(chunk);
    });
    request.on("end", () => resolve(size > limit ? undefined : Buffer.concat(chunks).toString("utf8")));
    request.on("error", reject);
  });
}

export function send(response: ServerResponse, status: number, body: string, headers: Record<string, string>): void {
  if (response.headersSent || response.destroyed) return;
  response.writeHead(status, { "Content-Length": String(Buffer.byteLength(body)), ...headers });
  response.end(body);
}

export const sendText = (
  response: ServerResponse,
  status: number,
  text: string,
  headers: Record<string, string> = {},
): void => send(response, status, text, { "Content-Type": "text/plain; charset=utf-8", ...headers });

export const sendJson = (
  response: ServerResponse,
  status: number,
  value: unknown,
  headers: Record<string, string> = {},
): void =>
  send(response, status, typeof value === "string" ? value : JSON.stringify(value), {
    "Content-Type": "application/json",
    ...headers,
  });

export const sendNoContent = (response: ServerResponse): void => {
  if (!response.headersSent && !response.destroyed) response.writeHead(204).end();
};

/** The faults described by a JSON body, or what is wrong with it. */
export function validateFaults(value: unknown): PrestoFaults | string {
  if (typeof value !== "object" || value === null) return "Expected a JSON object";
  const { statusCode, delayMs, count } = value as Record<string, unknown>;
  const valid = (field: unknown, check: (number: number) => boolean): boolean =>
    field === undefined || (typeof field === "number" && check(field));
  if (!valid(statusCode, (code) => Number.isInteger(code) && code >= 100 && code <= 599)) {
    return "statusCode must be an HTTP status code";
  }
  if (!valid(delayMs, (delay) => Number.isFinite(delay) && delay >= 0)) return "delayMs must be a non-negative number";
  if (!valid(count, (n) => Number.isInteger(n) && n > 0)) return "count must be a positive integer";
  if (statusCode === undefined && delayMs === undefined) return "Set statusCode and/or delayMs";
  return { statusCode, delayMs, count } as PrestoFaults;
}
