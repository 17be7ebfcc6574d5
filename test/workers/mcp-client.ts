/** SDK v2 clients (speaking 2025-11-25, as a legacy-mode v2 client does) talking to the Worker under test through its real fetch handler. */
import { exports } from "cloudflare:workers";
import {
  Client,
  type ElicitRequest,
  type ElicitResult,
  StreamableHTTPClientTransport,
} from "@modelcontextprotocol/client";
import { CfWorkerJsonSchemaValidator } from "@modelcontextprotocol/client/validators/cf-worker";
import { expect } from "vitest";

export const ALICE = "alice; groups=data-eng; scopes=echo:read echo:write presto:read presto:write";
export const ADMIN = "root; groups=admins; scopes=echo:read echo:write";
export const CAROL = "carol; scopes=echo:read presto:read";
export const BOT = "service:etl-bot; scopes=echo:read presto:read";

const worker = exports as unknown as { default: Fetcher };

/**
 * The running test file's tag (its name without `.test.ts`). A workerd project's files share one
 * runtime and its storage (vitest.config.ts, `FRESH_RUNTIME`), so a user named in one file must
 * not be the same caller as in the next: its rate-limit bucket, sessions and rows would carry over.
 * `bearer()` gives each user the subject `user-<name>.<tag>` unless the spec names a `sub`. Service
 * callers (`service:<name>`) and explicit `sub=` are not tagged: a file uses names of its own for
 * them, or stays well under their limits. Call it while a test file runs (not when a shared helper
 * module loads: that happens once per runtime).
 */
export function fileTag(): string {
  const path = expect.getState().testPath;
  if (!path) throw new Error("fileTag() is only known while a test file runs");
  return (path.split("/").at(-1) ?? path).replace(/\.test\.ts$/, "");
}

/** The subject `bearer()` gives a user named `name` in this test file. */
export const subjectOf = (name: string) => `user-${name}.${fileTag()}`;
/** The caller id (as recorded in D1 and the audit trail) of a user named `name` in this test file. */
export const userIdOf = (name: string) => `user:${subjectOf(name)}`;
/** The name of the caller's Durable Object for a user named `name` on `server`, in this test file. */
export const callerObjectOf = (server: string, name: string) => `${server}|user|${subjectOf(name)}`;

/**
 * A test access token for a caller described as `name; groups=a,b; scopes=x y; sub=id; principal=email; iss=issuer` (or
 * `service:name; scopes=…`). The kit's workerd tests bind AUTH to a stand-in of the auth Worker
 * (test/workers/auth-stub.js) that validates exactly these; the real auth Worker, its OAuth flows
 * and its tokens are tested in workers/auth and end to end.
 */
export function bearer(spec: string, options: { audience?: string; expiresIn?: number } = {}): string {
  const [name = "", ...attributes] = spec.split(";").map((part) => part.trim());
  const attrs = new Map(attributes.map((attr) => attr.split("=").map((part) => part.trim()) as [string, string]));
  const list = (key: string, separator: RegExp) => (attrs.get(key) ?? "").split(separator).filter(Boolean);
  const scope = attrs.has("scopes") ? list("scopes", /[\s,]+/) : ["echo:read", "presto:read"];
  const props = name.startsWith("service:")
    ? { kind: "service", name: name.slice("service:".length) }
    : {
        kind: "user",
        sub: attrs.get("sub") ?? subjectOf(name),
        username: name,
        groups: list("groups", /,/),
        // The identity of record and the IdP, as the auth Worker derives them (absent: the subject alone).
        ...(attrs.has("principal") ? { principal: attrs.get("principal") } : {}),
        ...(attrs.has("iss") ? { iss: attrs.get("iss") } : {}),
      };
  const claims = {
    props,
    scope,
    aud: options.audience,
    exp: Math.floor(Date.now() / 1000) + (options.expiresIn ?? 300),
  };
  return `Bearer test.${btoa(JSON.stringify(claims))}`;
}

export const workerFetch = (input: string | URL | Request, init?: RequestInit) =>
  worker.default.fetch(new Request(input, init));

export interface ConnectOptions {
  user?: string;
  /** Answers approval requests (given the message and the whole request); absent: no elicitation support. */
  onElicit?: (message: string, params: ElicitRequest["params"]) => ElicitResult | Promise<ElicitResult>;
  /**
   * Answers elicitations of the modes declared in `modes` (URL-mode approvals, docs/approvals.md)
   * with the whole request; `onComplete` hears notifications/elicitation/complete.
   */
  elicit?: {
    modes: { form?: boolean; url?: boolean };
    answer: (params: ElicitRequest["params"]) => ElicitResult | Promise<ElicitResult>;
    onComplete?: (elicitationId: string) => void;
  };
  sessionId?: string;
  protocolVersion?: string;
}

export async function connect(options: ConnectOptions = {}) {
  const transport = new StreamableHTTPClientTransport(new URL("http://localhost/mcp"), {
    fetch: workerFetch,
    requestInit: { headers: { authorization: bearer(options.user ?? ALICE) } },
    ...(options.sessionId ? { sessionId: options.sessionId } : {}),
  });
  const client = new Client(
    { name: "kit-test", version: "1.0.0" },
    {
      // An empty elicitation capability would mean form (SDK): declare none for a client with neither.
      capabilities:
        options.elicit && (options.elicit.modes.form || options.elicit.modes.url)
          ? {
              elicitation: {
                ...(options.elicit.modes.form ? { form: {} } : {}),
                ...(options.elicit.modes.url ? { url: {} } : {}),
              },
            }
          : options.onElicit
            ? { elicitation: { form: {} } }
            : {},
      jsonSchemaValidator: new CfWorkerJsonSchemaValidator(),
    },
  );
  if (options.onElicit) {
    const answer = options.onElicit;
    client.setRequestHandler("elicitation/create", async (request) => answer(request.params.message, request.params));
  }
  const elicit = options.elicit;
  if (elicit) {
    client.setRequestHandler("elicitation/create", async (request) => elicit.answer(request.params));
    client.setNotificationHandler("notifications/elicitation/complete", async (notification) => {
      elicit.onComplete?.(notification.params.elicitationId);
    });
  }
  await client.connect(transport);
  return { client, transport };
}

/** A raw JSON-RPC POST to /mcp, for what the SDK client does not let a test see. */
export function postRpc(body: unknown, headers: Record<string, string> = {}) {
  return workerFetch("http://localhost/mcp", {
    method: "POST",
    headers: {
      "content-type": "application/json",
      accept: "application/json, text/event-stream",
      authorization: bearer(ALICE),
      ...headers,
    },
    body: JSON.stringify(body),
  });
}

export function initializeMessage(protocolVersion = "2025-11-25") {
  return {
    jsonrpc: "2.0",
    id: 0,
    method: "initialize",
    params: { protocolVersion, capabilities: {}, clientInfo: { name: "raw", version: "1" } },
  };
}

export function textOf(result: unknown): string {
  const content = (result as { content?: unknown }).content as { type: string; text?: string }[] | undefined;
  return (content ?? []).map((part) => part.text ?? "").join("");
}
