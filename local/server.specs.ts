/**
 * Reads servers' own declarations (their `defineServer` specs) from Node, so that what the fleet's
 * tooling needs (scopes for the auth Worker, example calls for the contract test) is derived from
 * the code that runs, never typed again. Each entry module is bundled with esbuild, as wrangler
 * bundles it, with the Workers runtime's own modules (`cloudflare:*`) stubbed, and loaded in a
 * child Node process (so no test runner's module loader is involved), which prints a summary.
 *
 * As a script: `node local/server.specs.ts workers/presto/presto.app.ts …` prints the summaries.
 */
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { promisify } from "node:util";

const ROOT = resolve(import.meta.dirname, "..");

/** What the fleet's tooling reads from one server's `defineServer` declaration. */
export interface ServerSummary {
  /** The module it was read from, relative to the repository root. */
  entry: string;
  /** That module's exports (its Durable Object classes among them). */
  exports: string[];
  name: string;
  title: string;
  version: string;
  /** The business groups it proposes (the registry's allowed groups govern at runtime). */
  groups: string[];
  /** What a token needs to use the server at all. */
  scopes: string[];
  /** Every scope it may ask for: its own and its tools'. */
  allScopes: string[];
  example: { tool: string; arguments: Record<string, unknown> };
  /** Its resources' URIs and URI templates (`defineResource`), and its prompts' names (`definePrompt`). */
  resources: string[];
  prompts: string[];
  tools: {
    name: string;
    groups: string[];
    scopes: string[];
    readOnly: boolean;
    needsApproval: boolean;
  }[];
}

/** Reads the `defineServer` declarations exported by `entries` (paths relative to the repository root). */
export async function readServerSpecs(entries: string[]): Promise<ServerSummary[]> {
  if (entries.length === 0) return [];
  const { stdout } = await promisify(execFile)(process.execPath, [import.meta.filename, ...entries], {
    cwd: ROOT,
    maxBuffer: 16 * 1024 * 1024,
    env: { ...process.env, NODE_NO_WARNINGS: "1" },
  });
  return JSON.parse(stdout) as ServerSummary[];
}

/** Workers runtime modules, as far as a declaration touches them when its module loads. */
const CLOUDFLARE_STUB = `
export class DurableObject { constructor(ctx, env) { this.ctx = ctx; this.env = env; } }
export class WorkerEntrypoint { constructor(ctx, env) { this.ctx = ctx; this.env = env; } }
export class WorkflowEntrypoint { constructor(ctx, env) { this.ctx = ctx; this.env = env; } }
export class RpcTarget {}
export const env = {};
export const exports = {};
export function waitUntil() {}
`;

interface Declared {
  spec: {
    name: string;
    title: string;
    version: string;
    access: { groups?: readonly string[]; scopes?: readonly string[] };
    example: ServerSummary["example"];
    resources?: readonly { uri?: string; uriTemplate?: string }[];
    prompts?: readonly { name: string }[];
    tools: {
      name: string;
      access: { groups?: readonly string[]; scopes?: readonly string[] };
      annotations: { readOnlyHint?: boolean };
      needsApproval: boolean;
    }[];
  };
  fetch: unknown;
}

function isDeclared(value: unknown): value is Declared {
  return typeof value === "object" && value !== null && "spec" in value && "fetch" in value;
}

async function summarise(entries: string[]): Promise<ServerSummary[]> {
  const { build } = await import("esbuild");
  const imports = entries.map((entry, index) => `export * as m${index} from ${JSON.stringify(resolve(ROOT, entry))};`);
  const output = await build({
    stdin: {
      contents: [
        ...imports,
        `export { baselineScopesOf as serverScopes } from ${JSON.stringify(join(ROOT, "shared/mcp/step-up.ts"))};`,
      ].join("\n"),
      resolveDir: ROOT,
      loader: "ts",
    },
    bundle: true,
    write: false,
    format: "esm",
    platform: "node",
    conditions: ["workerd", "worker"],
    tsconfig: join(ROOT, "tsconfig.json"),
    logLevel: "error",
    plugins: [
      {
        name: "cloudflare-stub",
        setup(esbuild) {
          esbuild.onResolve({ filter: /^cloudflare:/ }, (args) => ({ path: args.path, namespace: "cloudflare-stub" }));
          esbuild.onLoad({ filter: /.*/, namespace: "cloudflare-stub" }, () => ({
            contents: CLOUDFLARE_STUB,
            loader: "js",
          }));
        },
      },
    ],
  });
  const dir = mkdtempSync(join(tmpdir(), "mcp-fleet-specs-"));
  try {
    const file = join(dir, "specs.mjs");
    writeFileSync(file, output.outputFiles[0]?.text ?? "");
    const bundle = (await import(pathToFileURL(file).href)) as Record<string, unknown> & {
      serverScopes: (spec: Declared["spec"]) => string[];
    };
    return entries.map((entry, index) => {
      const exported = bundle[`m${index}`] as Record<string, unknown>;
      const declared = [exported.default, ...Object.values(exported)].find(isDeclared);
      if (!declared) throw new Error(`${entry} exports no defineServer result (make it the default export)`);
      const { spec } = declared;
      const tools = spec.tools.map((tool) => ({
        name: tool.name,
        groups: [...(tool.access.groups ?? [])],
        scopes: [...(tool.access.scopes ?? [])],
        readOnly: tool.annotations.readOnlyHint === true,
        needsApproval: tool.needsApproval,
      }));
      const scopes = bundle.serverScopes(spec);
      return {
        entry,
        exports: Object.keys(exported).sort(),
        name: spec.name,
        title: spec.title,
        version: spec.version,
        groups: [...(spec.access.groups ?? [])],
        scopes,
        allScopes: [...new Set([...scopes, ...tools.flatMap((tool) => tool.scopes)])].sort(),
        example: spec.example,
        resources: (spec.resources ?? []).map((resource) => resource.uri ?? resource.uriTemplate ?? ""),
        prompts: (spec.prompts ?? []).map((prompt) => prompt.name),
        tools,
      };
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] === import.meta.filename) {
  process.stdout.write(`${JSON.stringify(await summarise(process.argv.slice(2)), null, 2)}\n`);
}
