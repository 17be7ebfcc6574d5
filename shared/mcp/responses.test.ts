/** When `releasedWhenDone` gives a call's place back: at once for JSON, at the end of an SSE stream. */
import { describe, expect, it, vi } from "vitest";
import { releasedWhenDone } from "./responses";

const sse = (body: ReadableStream<Uint8Array>) =>
  new Response(body, { headers: { "content-type": "text/event-stream" } });

function openStream() {
  let controller!: ReadableStreamDefaultController<Uint8Array>;
  const body = new ReadableStream<Uint8Array>({
    start(c) {
      controller = c;
    },
  });
  return { body, controller };
}

describe("releasedWhenDone", () => {
  it("releases a JSON answer (the call has ended) and an empty one at once, keeping the answer", async () => {
    const release = vi.fn();
    const json = releasedWhenDone(Response.json({ ok: 1 }, { status: 201 }), release);
    expect(release).toHaveBeenCalledTimes(1);
    expect(json.status).toBe(201);
    expect(await json.json()).toEqual({ ok: 1 });
    releasedWhenDone(new Response(null, { status: 202 }), release);
    expect(release).toHaveBeenCalledTimes(2);
  });

  it("holds an SSE answer's place until its stream has been read to the end, then releases once", async () => {
    const release = vi.fn();
    const { body, controller } = openStream();
    const response = releasedWhenDone(sse(body), release);
    expect(response.headers.get("content-type")).toBe("text/event-stream");
    const reader = (response.body as ReadableStream<Uint8Array>).getReader();
    controller.enqueue(new TextEncoder().encode("data: 1\n\n"));
    expect(new TextDecoder().decode((await reader.read()).value)).toBe("data: 1\n\n");
    expect(release).not.toHaveBeenCalled();
    controller.close();
    expect((await reader.read()).done).toBe(true);
    expect(release).toHaveBeenCalledTimes(1);
  });

  it("releases an SSE answer whose reader goes away (the client cancelled) once", async () => {
    const release = vi.fn();
    const { body } = openStream();
    const response = releasedWhenDone(sse(body), release);
    await (response.body as ReadableStream<Uint8Array>).cancel("client gone");
    expect(release).toHaveBeenCalledTimes(1);
  });
});
