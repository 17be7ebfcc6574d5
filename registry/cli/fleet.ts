#!/usr/bin/env node
/**
 * `fleet`: the MCP Fleet command line. Lists and shows registry servers, signs in, calls tools
 * with the registry's governance applied first, and prints client configurations.
 * Results go to stdout; progress, prompts and errors to stderr.
 */
import { readFileSync } from "node:fs";
import { createInterface } from "node:readline/promises";
import { type ParseArgsConfig, parseArgs } from "node:util";
import { ADMIN_ACTIONS, admin } from "./admin.command.ts";
import { analytics, feedback } from "./analytics.command.ts";
import { callTool, isProtocolChoice, PROTOCOL_CHOICES } from "./call.command.ts";
import type { CliContext } from "./cli.context.ts";
import { CliError, EXIT, type ExitCode, usageError } from "./cli.errors.ts";
import { printConfig } from "./config.command.ts";
import { CredentialsStore } from "./credentials.store.ts";
import { login, logout } from "./login.command.ts";
import { openInBrowser, SignIn } from "./oauth.session.ts";
import { RegistryClient } from "./registry.api.client.ts";
import { listServers, showServer } from "./servers.command.ts";

const DEFAULT_REGISTRY = "http://127.0.0.1:8787";
const SIGN_IN_TIMEOUT_MS = 5 * 60_000;

type Options = NonNullable<ParseArgsConfig["options"]>;
type Values = Record<string, string | boolean | undefined>;

const GLOBAL_OPTIONS = {
  registry: { type: "string" },
  browser: { type: "boolean" },
  help: { type: "boolean", short: "h" },
} satisfies Options;

interface Command {
  usage: string;
  summary: string;
  options: Options;
  positionals: { min: number; max: number };
  run(ctx: CliContext, positionals: string[], values: Values): Promise<number | undefined>;
}

const COMMANDS: Record<string, Command> = {
  servers: {
    usage: "fleet servers [--search <text>] [--team <team>] [--lifecycle <lifecycle>] [--json]",
    summary: "List the registry's servers: lifecycle, team, live status and version.",
    options: {
      search: { type: "string" },
      team: { type: "string" },
      lifecycle: { type: "string" },
      json: { type: "boolean" },
    },
    positionals: { min: 0, max: 0 },
    run: (ctx, _, values) =>
      listServers(ctx, {
        search: str(values.search),
        team: str(values.team),
        lifecycle: str(values.lifecycle),
        json: values.json === true,
      }).then(() => EXIT.ok),
  },
  show: {
    usage: "fleet show <server> [--json]",
    summary: "Everything about one server; signed in, also whether you may use it and each tool.",
    options: { json: { type: "boolean" } },
    positionals: { min: 1, max: 1 },
    run: (ctx, [server], values) => showServer(ctx, server as string, { json: values.json === true }).then(() => 0),
  },
  login: {
    usage: "fleet login [--scope <scopes>] [--no-browser]",
    summary: "Sign in to the registry in the browser (OAuth); tokens are kept in your config directory.",
    options: { scope: { type: "string" } },
    positionals: { min: 0, max: 0 },
    run: (ctx, _, values) => login(ctx, { scope: str(values.scope) }).then(() => EXIT.ok),
  },
  logout: {
    usage: "fleet logout [--all]",
    summary: "Revoke and remove the stored tokens of this registry (--all: of every registry).",
    options: { all: { type: "boolean" } },
    positionals: { min: 0, max: 0 },
    run: (ctx, _, values) => logout(ctx, { all: values.all === true }).then(() => EXIT.ok),
  },
  call: {
    usage:
      "fleet call <server> <tool> [key=value…] [--json-args '{…}'] [--yes] [--json] [--timeout <seconds>] [--protocol auto|legacy|2026-07-28]",
    summary: "Call a tool, after the registry's checks (approved, up, allowed for you).",
    options: {
      "json-args": { type: "string" },
      yes: { type: "boolean", short: "y" },
      json: { type: "boolean" },
      timeout: { type: "string" },
      protocol: { type: "string" },
    },
    positionals: { min: 2, max: Number.POSITIVE_INFINITY },
    run: (ctx, [server, tool, ...pairs], values) => {
      const timeoutSeconds = values.timeout === undefined ? 300 : Number(values.timeout);
      if (!Number.isFinite(timeoutSeconds) || timeoutSeconds <= 0) {
        throw usageError(`--timeout must be a number of seconds, not "${values.timeout}"`);
      }
      const protocol = str(values.protocol) ?? "auto";
      if (!isProtocolChoice(protocol)) {
        throw usageError(`--protocol must be one of ${PROTOCOL_CHOICES.join(", ")}, not "${protocol}"`);
      }
      return callTool(ctx, server as string, tool as string, pairs, {
        jsonArgs: str(values["json-args"]),
        yes: values.yes === true,
        json: values.json === true,
        timeoutSeconds,
        protocol,
        version: packageVersion(),
      });
    },
  },
  admin: {
    usage: `fleet admin <${ADMIN_ACTIONS.join("|")}> [<user email|service:name>] [--reason <why>] [--limit <n>] [--json]`,
    summary: "Admins: revoke a user's or a service's access now (audited), restore it, or show the admin log.",
    options: { reason: { type: "string" }, limit: { type: "string" }, json: { type: "boolean" } },
    positionals: { min: 1, max: 2 },
    run: (ctx, [action, subject], values) => {
      const limit = values.limit === undefined ? undefined : Number(values.limit);
      if (limit !== undefined && !(Number.isInteger(limit) && limit > 0)) {
        throw usageError(`--limit must be a positive whole number, not "${values.limit}"`);
      }
      return admin(ctx, action as string, subject, {
        reason: str(values.reason),
        json: values.json === true,
        ...(limit !== undefined ? { limit } : {}),
      }).then(() => EXIT.ok);
    },
  },
  analytics: {
    usage: "fleet analytics [--month YYYY-MM] [--server <server>] [--json]",
    summary: "Time saved in a month: calls, people, hours; by team, and by server and tool for your teams.",
    options: { month: { type: "string" }, server: { type: "string" }, json: { type: "boolean" } },
    positionals: { min: 0, max: 0 },
    run: (ctx, _, values) =>
      analytics(ctx, { month: str(values.month), server: str(values.server), json: values.json === true }).then(
        () => EXIT.ok,
      ),
  },
  feedback: {
    usage: "fleet feedback <invocation> --helped yes|no [--minutes N]",
    summary: "Rate one of your calls (its invocation id is printed by fleet call), once.",
    options: { helped: { type: "string" }, minutes: { type: "string" } },
    positionals: { min: 1, max: 1 },
    run: (ctx, [invocation], values) =>
      feedback(ctx, invocation as string, { helped: str(values.helped), minutes: str(values.minutes) }).then(
        () => EXIT.ok,
      ),
  },
  config: {
    usage: "fleet config <claude|cursor|vscode|mcp-remote> [server]",
    summary: "Print the client configuration for one server, or for every approved server.",
    options: {},
    positionals: { min: 1, max: 2 },
    run: (ctx, [client, server]) => printConfig(ctx, client as string, server).then(() => EXIT.ok),
  },
};

function help(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((name) => name.length)) + 2;
  return `fleet: the MCP Fleet command line

Usage: fleet <command> [options]

Commands:
${Object.entries(COMMANDS)
  .map(([name, command]) => `  ${name.padEnd(width)}${command.summary}`)
  .join("\n")}

Global options:
  --registry <url>   The registry (default $FLEET_REGISTRY_URL, else ${DEFAULT_REGISTRY})
  --browser          Open sign-in and approval pages in a browser (default: only on a terminal outside CI)
  --no-browser       Only print sign-in and approval URLs
  -h, --help         Help; \`fleet <command> --help\` for a command's options

Exit codes: 0 ok, 1 tool error or failure, 2 usage, 3 refused (registry or server), 4 sign-in needed or failed.
Credentials: \${XDG_CONFIG_HOME:-~/.config}/mcp-fleet/credentials.json (mode 0600).`;
}

export async function main(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<ExitCode | number> {
  const err = (text: string) => process.stderr.write(`${text}\n`);
  try {
    const name = findCommand(argv);
    const command = name ? COMMANDS[name] : undefined;
    if (!name || !command) {
      const first = parseLoosely(argv);
      if (first.values.help || argv.length === 0) {
        process.stdout.write(`${help()}\n`);
        return argv.length === 0 ? EXIT.usage : EXIT.ok;
      }
      throw usageError(name ? `unknown command "${name}"` : "no command given");
    }
    const { values, positionals } = parse(argv, command);
    if (values.help) {
      process.stdout.write(`Usage: ${command.usage}\n\n${command.summary}\n`);
      return EXIT.ok;
    }
    const args = positionals.slice(1);
    if (args.length < command.positionals.min || args.length > command.positionals.max) {
      throw usageError(`expected: ${command.usage}`);
    }
    const ctx = createContext(values, env);
    try {
      return (await command.run(ctx, args, values)) ?? EXIT.ok;
    } finally {
      ctx.close();
    }
  } catch (error) {
    if (error instanceof CliError) {
      err(`fleet: ${error.message}`);
      if (error.exitCode === EXIT.usage) err("Run `fleet --help` for usage.");
      return error.exitCode;
    }
    err(`fleet: unexpected error: ${(error as Error).stack ?? String(error)}`);
    return EXIT.failure;
  }
}

function createContext(values: Values, env: NodeJS.ProcessEnv): CliContext & { close(): void } {
  const registryUrl = registryUrlOf(str(values.registry) ?? env.FLEET_REGISTRY_URL ?? DEFAULT_REGISTRY);
  const interactive = process.stdin.isTTY === true;
  const err = (text: string) => process.stderr.write(`${text}\n`);
  const store = new CredentialsStore();
  const openBrowser = typeof values.browser === "boolean" ? values.browser : interactive && !env.CI;
  let readline: ReturnType<typeof createInterface> | undefined;
  return {
    registryUrl,
    registry: new RegistryClient(registryUrl),
    signIn: new SignIn({ store, registryUrl, log: err, openBrowser, timeoutMs: SIGN_IN_TIMEOUT_MS }),
    store,
    out: (text) => process.stdout.write(`${text}\n`),
    err,
    interactive,
    ask: (question) => {
      readline ??= createInterface({ input: process.stdin, output: process.stderr });
      return readline.question(question);
    },
    ...(openBrowser ? { openUrl: openInBrowser } : {}),
    close: () => readline?.close(),
  };
}

function registryUrlOf(value: string): string {
  if (!URL.canParse(value) || !/^https?:$/.test(new URL(value).protocol)) {
    throw usageError(`the registry URL "${value}" is not an http(s) URL`);
  }
  return value.replace(/\/+$/, "");
}

/** The first positional, skipping global options and their values. */
function findCommand(argv: string[]): string | undefined {
  return parseLoosely(argv).positionals[0];
}

function parseLoosely(argv: string[]) {
  const all: Options = { ...GLOBAL_OPTIONS };
  for (const command of Object.values(COMMANDS)) Object.assign(all, command.options);
  return parseArgs({ args: argv, options: all, strict: false, allowPositionals: true, allowNegative: true });
}

function parse(argv: string[], command: Command): { values: Values; positionals: string[] } {
  try {
    const parsed = parseArgs({
      args: argv,
      options: { ...GLOBAL_OPTIONS, ...command.options },
      strict: true,
      allowPositionals: true,
      allowNegative: true,
    });
    return { values: parsed.values as Values, positionals: parsed.positionals };
  } catch (error) {
    throw usageError(
      `${(error as Error).message.replace(/\. To specify a positional.*$/s, "")}\nUsage: ${command.usage}`,
    );
  }
}

function str(value: string | boolean | undefined): string | undefined {
  return typeof value === "string" ? value : undefined;
}

function packageVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as {
      version?: string;
    };
    return pkg.version ?? "0.0.0";
  } catch {
    return "0.0.0";
  }
}

if (import.meta.main) {
  const code = await main(process.argv.slice(2));
  // Pipes are written synchronously on Linux; wait for stdout anyway before leaving.
  process.stdout.write("", () => process.exit(code));
}
