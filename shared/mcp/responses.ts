/** A JSON-RPC error answered at the HTTP layer (before a message reaches the SDK). */
export function jsonRpcError(
  status: number,
  code: number,
  message: string,
  headers: Record<string, string> = {},
): Response {
  return Response.json({ jsonrpc: "2.0", error: { code, message }, id: null }, { status, headers });
}

/**
 * Runs `release` once `response` is over: at once for a JSON answer (the SDK answers in JSON only
 * once the call has ended, so its body is the finished result), once the body has been sent or
 * abandoned for an SSE answer. A handler may outlive its stream: what it holds, the caller waits
 * for in `release` (caller.state.ts).
 */
export function releasedWhenDone(response: Response, release: () => void): Response {
  if (!response.body || !response.headers.get("content-type")?.startsWith("text/event-stream")) {
    release();
    return response;
  }
  let released = false;
  const once = () => {
    if (!released) {
      released = true;
      release();
    }
  };
  const body = response.body.pipeThrough(new TransformStream({ flush: once }));
  const reader = body.getReader();
  const stream = new ReadableStream({
    async pull(controller) {
      const { value, done } = await reader.read();
      if (done) {
        once();
        controller.close();
      } else controller.enqueue(value);
    },
    async cancel(reason) {
      once();
      await reader.cancel(reason);
    },
  });
  return new Response(stream, { status: response.status, statusText: response.statusText, headers: response.headers });
}
