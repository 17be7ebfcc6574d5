import { UpstreamRejectedError, UpstreamTimeoutError, UpstreamUnavailableError } from "../mcp/errors";

export interface UpstreamFetchOptions {
  /** Name used in error messages, e.g. "Presto". */
  upstream: string;
  /** Abort the request after this many milliseconds (default 15 000). Every upstream call has one. */
  timeoutMs?: number;
  /** Aborts when the MCP request is cancelled. */
  signal?: AbortSignal;
}

export const DEFAULT_UPSTREAM_TIMEOUT_MS = 15_000;

/**
 * `fetch` for upstream APIs: a timeout on every call, network failures and 5xx mapped to
 * retriable errors, 4xx to a clear non-retriable error carrying the upstream's own message.
 * Returns only 2xx/3xx responses.
 */
export async function upstreamFetch(
  input: string | URL,
  init: RequestInit,
  options: UpstreamFetchOptions,
): Promise<Response> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_UPSTREAM_TIMEOUT_MS;
  const timeout = AbortSignal.timeout(timeoutMs);
  const signal = options.signal ? AbortSignal.any([timeout, options.signal]) : timeout;
  let response: Response;
  try {
    response = await fetch(input, { ...init, signal });
  } catch (error) {
    if (timeout.aborted) {
      throw new UpstreamTimeoutError(`${options.upstream} did not answer within ${timeoutMs} ms; try again later`);
    }
    if (options.signal?.aborted) throw error;
    throw new UpstreamUnavailableError(`${options.upstream} is unreachable (${describe(error)}); try again later`);
  }
  if (response.status >= 500) {
    const detail = await readSnippet(response);
    throw new UpstreamUnavailableError(
      `${options.upstream} answered HTTP ${response.status}${detail ? `: ${detail}` : ""}; try again later`,
      response.status,
    );
  }
  if (response.status >= 400) {
    const detail = await readSnippet(response);
    throw new UpstreamRejectedError(
      `${options.upstream} refused the request (HTTP ${response.status})${detail ? `: ${detail}` : ""}`,
      response.status,
    );
  }
  return response;
}

async function readSnippet(response: Response): Promise<string> {
  try {
    const text = (await response.text()).trim();
    return text.length > 300 ? `${text.slice(0, 300)}…` : text;
  } catch {
    return "";
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
