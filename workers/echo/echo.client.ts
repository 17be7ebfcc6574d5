/**
 * The echo service's API: it repeats what it is sent and remembers, per caller, what it was sent
 * (workers/echo/echo.upstream.ts is one). Every call goes through `upstreamFetch`: a timeout,
 * 5xx and network failures retriable, 4xx a clear error.
 */
import { ToolError } from "../../shared/mcp";
import { upstreamFetch } from "../../shared/upstream/upstream.fetch";

export interface EchoConfig {
  /** The echo service's base URL (ECHO_URL). */
  url: string;
  /** Every request's timeout (ECHO_TIMEOUT_MS, default 5000). */
  timeoutMs: number;
}

export interface EchoMessage {
  text: string;
  /** ISO 8601. */
  at: string;
}

const UPSTREAM = "The echo service";

export function readEchoConfig(env: Record<string, unknown>): EchoConfig {
  const url = typeof env.ECHO_URL === "string" ? env.ECHO_URL.trim() : "";
  if (!URL.canParse(url) || !["http:", "https:"].includes(new URL(url).protocol)) {
    throw new ToolError(`The echo server is misconfigured: ECHO_URL must be an http(s) URL, got "${url}"`, "internal");
  }
  const timeoutMs = Number(env.ECHO_TIMEOUT_MS ?? 5_000);
  if (!Number.isInteger(timeoutMs) || timeoutMs < 1) {
    throw new ToolError("The echo server is misconfigured: ECHO_TIMEOUT_MS must be a positive integer", "internal");
  }
  return { url: url.replace(/\/+$/, ""), timeoutMs };
}

export class EchoClient {
  readonly config: EchoConfig;

  constructor(config: EchoConfig) {
    this.config = config;
  }

  /** Sends `text` on behalf of `caller`; the service answers it back with how many it now holds. */
  async say(caller: string, text: string, signal?: AbortSignal): Promise<{ text: string; count: number }> {
    return this.#json("/echo", { method: "POST", body: JSON.stringify({ caller, text }) }, signal);
  }

  /** The latest `limit` messages `caller` sent, newest first. */
  async history(caller: string, limit: number, signal?: AbortSignal): Promise<{ messages: EchoMessage[] }> {
    return this.#json(`/messages?${new URLSearchParams({ caller, limit: String(limit) })}`, {}, signal);
  }

  /** Forgets every message `caller` sent. */
  async forget(caller: string, signal?: AbortSignal): Promise<{ forgotten: number }> {
    return this.#json(`/messages?${new URLSearchParams({ caller })}`, { method: "DELETE" }, signal);
  }

  async #json<T>(path: string, init: RequestInit, signal?: AbortSignal): Promise<T> {
    const response = await upstreamFetch(
      `${this.config.url}${path}`,
      { ...init, headers: { "content-type": "application/json", accept: "application/json" } },
      { upstream: UPSTREAM, timeoutMs: this.config.timeoutMs, ...(signal ? { signal } : {}) },
    );
    return (await response.json()) as T;
  }
}
