/**
 * `fleet call <server> <tool> key=value…`: the registry decides first (known, approved, up, and
 * allowed for you), then the tool is called over Streamable HTTP with your token for that
 * server, progress on stderr, approval asked on the terminal, the result on stdout.
 *
 * The MCP era is negotiated (SDK v2 `versionNegotiation: "auto"`): a server that answers
 * `server/discover` is spoken to in 2026-07-28, any other in 2025. A tool the registry marks as
 * needing human approval is called over 2025 in `auto` mode: there every approval can wait for
 * the person, including a high-risk one given on the registry page (URL elicitation), which the
 * kit refuses on 2026-07-28 for now. `--protocol` pins either era; pinned to 2026-07-28 a form
 * approval comes back as `input_required`, the SDK hands it to the same elicitation handler and
 * retries the call with the answer.
 */
import {
  type CallToolResult,
  Client,
  ProtocolError,
  SdkError,
  SdkHttpError,
  StreamableHTTPClientTransport,
  UnauthorizedError,
  type VersionNegotiationMode,
} from "@modelcontextprotocol/client";
import type { CliContext } from "./cli.context.ts";
import { CliError, EXIT } from "./cli.errors.ts";
import { answerElicitation, answerUrlElicitation } from "./elicitation.prompt.ts";
import type { AccessToken } from "./oauth.session.ts";
import {
  type AccessAnswer,
  type Governance,
  governanceOf,
  RegistryHttpError,
  shortName,
} from "./registry.api.client.ts";
import { healthText } from "./servers.command.ts";
import { buildArguments, type JsonSchema } from "./tool.arguments.ts";

/** The 2026-07-28 revision, the one modern era SDK v2 speaks. */
export const MODERN_PROTOCOL = "2026-07-28";
export const PROTOCOL_CHOICES = ["auto", "legacy", MODERN_PROTOCOL] as const;
export type ProtocolChoice = (typeof PROTOCOL_CHOICES)[number];

export function isProtocolChoice(value: string): value is ProtocolChoice {
  return (PROTOCOL_CHOICES as readonly string[]).includes(value);
}

export interface CallOptions {
  jsonArgs?: string;
  yes?: boolean;
  json?: boolean;
  timeoutSeconds: number;
  /** Which MCP era to speak: negotiated (`auto`, the default), 2025 only, or 2026-07-28 only. */
  protocol?: ProtocolChoice;
  version: string;
}

export async function callTool(
  ctx: CliContext,
  serverName: string,
  toolName: string,
  pairs: string[],
  options: CallOptions,
): Promise<number> {
  // 1. The registry: is there such a server, approved and up, with this tool?
  const entry = await ctx.registry.latest(serverName);
  if (!entry) {
    throw new CliError(`refused: no server "${serverName}" in the registry at ${ctx.registryUrl}`, EXIT.refused);
  }
  const governance = governanceOf(entry);
  const name = shortName(entry);
  refuseUnusable(ctx, name, governance);
  const tool = governance.tools.find((candidate) => candidate.name === toolName);
  if (!tool) {
    const names = governance.tools.map((candidate) => candidate.name).join(", ") || "none";
    throw new CliError(`refused: the ${name} server has no tool "${toolName}" (its tools: ${names})`, EXIT.refused);
  }
  const remote = entry.server.remotes.find((candidate) => candidate.type === "streamable-http");
  if (!remote) throw new CliError(`refused: ${name} publishes no streamable-http remote`, EXIT.refused);

  // 2. The access check, as the signed-in caller.
  const answer = await checkAccess(ctx, name, toolName);
  if (!answer.allowed) {
    throw new CliError(`refused by the registry: ${answer.reason ?? answer.code}`, EXIT.refused);
  }

  // 3. The server, with a token for its own resource (carrying the tool's scopes).
  const scopes = [...(tool.access.scopes ?? [])];
  const purpose = `the ${name} server (${remote.url})`;
  let token = await ctx.signIn.accessToken({ serverUrl: remote.url, purpose, scopes, interactive: true });
  // Approvals can always wait in a 2025 session; see the header.
  const chosen = options.protocol ?? "auto";
  const protocol: ProtocolChoice = chosen === "auto" && tool.needsApproval ? "legacy" : chosen;
  const connectOptions: CallOptions = { ...options, protocol };
  let client: Client;
  try {
    client = await connect(ctx, remote.url, token, connectOptions);
  } catch (error) {
    if (httpStatus(error) !== 401) throw connectFailure(name, remote.url, error);
    ctx.err(`The ${name} server did not accept the stored token; signing in again.`);
    ctx.signIn.forget(token.resource);
    token = await ctx.signIn.accessToken({ serverUrl: remote.url, purpose, scopes, interactive: true });
    client = await connect(ctx, remote.url, token, connectOptions).catch((retryError: unknown) => {
      throw connectFailure(name, remote.url, retryError);
    });
  }

  try {
    const listed = (await client.listTools()).tools.find((candidate) => candidate.name === toolName);
    if (!listed) {
      throw new CliError(`refused: the ${name} server does not offer ${toolName} to you`, EXIT.refused);
    }
    const args = buildArguments(toolName, listed.inputSchema as JsonSchema, pairs, options.jsonArgs);
    ctx.err(`Calling ${toolName} on ${name} (MCP ${client.getNegotiatedProtocolVersion() ?? "?"})…`);
    const result = (await client.callTool(
      { name: toolName, arguments: args },
      {
        onprogress: ({ progress, total, message }) => {
          const amount = total ? `${Math.round((progress / total) * 100)}%` : String(progress);
          ctx.err(`  [${amount}]${message ? ` ${message}` : ""}`);
        },
        resetTimeoutOnProgress: true,
        timeout: options.timeoutSeconds * 1000,
      },
    )) as CallToolResult;
    return printResult(ctx, result, options.json ?? false);
  } catch (error) {
    if (error instanceof ProtocolError || error instanceof SdkError) {
      throw new CliError(`${toolName} failed: ${error.message}`, EXIT.failure);
    }
    throw error;
  } finally {
    await client.close().catch(() => {});
  }
}

function refuseUnusable(ctx: CliContext, name: string, governance: Governance): void {
  const { lifecycle, health } = governance;
  if (lifecycle === "deprecated") {
    throw new CliError(`refused: the ${name} server is deprecated and no longer opens sessions`, EXIT.refused);
  }
  if (lifecycle === "retired") throw new CliError(`refused: the ${name} server is retired`, EXIT.refused);
  if (lifecycle !== "approved") {
    throw new CliError(
      `refused: the ${name} server is not approved (it is ${lifecycle.replace("_", " ")})`,
      EXIT.refused,
    );
  }
  if (health.status === "down") {
    const detail = [health.checkedAt ? `last check ${health.checkedAt}` : "", health.error ?? ""].filter(Boolean);
    throw new CliError(
      `refused: the ${name} server is down${detail.length > 0 ? ` (${detail.join(": ")})` : ""}; ask ${governance.supportChannel}`,
      EXIT.refused,
    );
  }
  if (health.status !== "up") ctx.err(`Note: the ${name} server's status is ${healthText(health)}.`);
}

/** GET /v0.1/access with the registry token (signing in first if there is none). */
async function checkAccess(ctx: CliContext, server: string, tool: string): Promise<AccessAnswer> {
  for (let attempt = 1; ; attempt++) {
    const token = await ctx.signIn.accessToken({
      serverUrl: ctx.registryUrl,
      purpose: `the fleet registry at ${ctx.registryUrl}`,
      interactive: true,
    });
    try {
      return await ctx.registry.access(token.token, server, tool);
    } catch (error) {
      if (!(error instanceof RegistryHttpError && error.status === 401) || attempt > 1) throw error;
      ctx.err("The registry did not accept the stored token; signing in again.");
      ctx.signIn.forget(token.resource);
    }
  }
}

async function connect(ctx: CliContext, url: string, token: AccessToken, options: CallOptions): Promise<Client> {
  const protocol = options.protocol ?? "auto";
  const mode: VersionNegotiationMode = protocol === MODERN_PROTOCOL ? { pin: MODERN_PROTOCOL } : protocol;
  const client = new Client(
    { name: "fleet-cli", version: options.version },
    { capabilities: { elicitation: { form: {}, url: {} } }, versionNegotiation: { mode } },
  );
  client.setRequestHandler("elicitation/create", async (request) => {
    if (request.params.mode === "url") {
      return answerUrlElicitation(request.params, { yes: options.yes ?? false, log: ctx.err }, ctx.openUrl);
    }
    return answerElicitation(request.params, {
      yes: options.yes ?? false,
      interactive: ctx.interactive,
      ask: ctx.ask,
      log: ctx.err,
    });
  });
  client.setNotificationHandler("notifications/elicitation/complete", () => {
    ctx.err("The decision is in; the call goes on.");
  });
  client.setNotificationHandler("notifications/message", (notification) => {
    const { level, data } = notification.params;
    ctx.err(`  ${level}: ${typeof data === "string" ? data : JSON.stringify(data)}`);
  });
  const transport = new StreamableHTTPClientTransport(new URL(url), {
    requestInit: { headers: { authorization: `Bearer ${token.token}` } },
  });
  await client.connect(transport);
  return client;
}

/** A 403 is the server's own gate refusing; anything else, the server could not be reached or failed. */
function connectFailure(name: string, url: string, error: unknown): CliError {
  if (error instanceof CliError) return error;
  const status = httpStatus(error);
  if (status !== undefined) {
    const message = jsonRpcMessage((error as Error).message);
    if (status === 403) return new CliError(`refused by the ${name} server: ${message}`, EXIT.refused);
    if (status === 401) return new CliError(`the ${name} server did not accept the new token: ${message}`, EXIT.auth);
    return new CliError(`the ${name} server at ${url} failed (HTTP ${status}): ${message}`, EXIT.failure);
  }
  const cause = (error as { cause?: { code?: string } }).cause?.code;
  return new CliError(`cannot reach the ${name} server at ${url} (${cause ?? (error as Error).message})`, EXIT.failure);
}

/** The HTTP status an SDK transport error carries (401 may also come as `UnauthorizedError`), if any. */
function httpStatus(error: unknown): number | undefined {
  if (error instanceof UnauthorizedError) return 401;
  if (error instanceof SdkHttpError) return error.status;
  const cause = (error as { cause?: unknown }).cause;
  return cause instanceof SdkHttpError ? cause.status : undefined;
}

/** The `error.message` of a JSON-RPC error body inside the transport's message, else the message. */
function jsonRpcMessage(message: string): string {
  const start = message.indexOf("{");
  if (start >= 0) {
    try {
      const body = JSON.parse(message.slice(start)) as { error?: { message?: string } };
      if (body.error?.message) return body.error.message;
    } catch {}
  }
  return message.replace(/^Streamable HTTP error: /, "");
}

function printResult(ctx: CliContext, result: CallToolResult, json: boolean): number {
  const invocation = result._meta?.["fleet/invocationId"];
  if (typeof invocation === "string" && !json) {
    ctx.err(`Invocation ${invocation}: rate it with fleet feedback ${invocation} --helped yes|no [--minutes N]`);
  }
  if (json) {
    ctx.out(JSON.stringify(result, null, 2));
    return result.isError ? EXIT.failure : EXIT.ok;
  }
  const text = result.content
    .map((item) => {
      switch (item.type) {
        case "text":
          return item.text;
        case "resource":
          return "text" in item.resource ? item.resource.text : `[resource ${item.resource.uri}]`;
        case "resource_link":
          return `[resource ${item.uri}]`;
        default:
          return `[${item.type} content (${"mimeType" in item ? item.mimeType : "binary"}); use --json to see it]`;
      }
    })
    .join("\n");
  if (result.isError) {
    ctx.err(text || "The tool reported an error without a message.");
    return EXIT.failure;
  }
  ctx.out(text);
  return EXIT.ok;
}
