/**
 * A legacy HTTP+SSE session (2024-11-05) in a session object: `GET /sse` opens it, POSTs to
 * `/messages` feed it. The stream lives in the object's memory; the session's record (kind
 * `sse`, no initialize to replay) is stored so the object knows it hosts a live session (the
 * alarm keeps it, a Streamable `initialize` cannot attach to it). When the stream closes, the SDK
 * server's own close runs first (running calls are aborted, pending elicitations rejected),
 * then the session is forgotten.
 */
import { readRequestBody, type Server } from "@modelcontextprotocol/server";
import type { Caller } from "../auth/caller";
import { LegacySseTransport } from "./legacy-sse.transport";
import { authInfoFor, forbiddenSession, requestBodyTooLargeMessage, sameIdentity } from "./session.routing";

export interface LegacySession {
  transport: LegacySseTransport;
  owner: Caller;
}

/**
 * Opens the stream and connects a server to it. `onEnded` runs once, after the SDK server has
 * handled the close (it is set before `connect`, which chains it ahead of its own handler).
 */
export async function openLegacySession(
  request: Request,
  sessionId: string,
  caller: Caller,
  server: Server,
  onEnded: () => void,
): Promise<{ session: LegacySession; response: Response }> {
  const messagesPath = new URL(request.url).pathname.replace(/sse$/, "messages");
  const transport = new LegacySseTransport(sessionId, messagesPath);
  const response = transport.open();
  server.onclose = onEnded;
  await server.connect(transport);
  return { session: { transport, owner: caller }, response };
}

export async function receiveLegacyMessage(
  session: LegacySession | undefined,
  request: Request,
  caller: Caller,
  maxBodyBytes: number,
): Promise<Response> {
  if (!session) return new Response("Session not found: open a new one with GET /sse", { status: 404 });
  if (!sameIdentity(session.owner, caller)) return forbiddenSession();
  const body = await readRequestBody(request, maxBodyBytes);
  if (body.tooLarge) return new Response(requestBodyTooLargeMessage(maxBodyBytes), { status: 413 });
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.text);
  } catch {
    return new Response("Parse error: the body is not valid JSON", { status: 400 });
  }
  return session.transport.receive(parsed, authInfoFor(caller));
}
