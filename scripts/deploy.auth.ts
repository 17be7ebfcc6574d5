/**
 * `npm run deploy:auth -- [wrangler deploy options]`: deploys the auth Worker with RESOURCES (every
 * server of fleet.config.ts and the registry, at their production origins) and SCOPES (what the
 * servers' own declarations ask for, and the registry's) derived here, never typed by hand.
 * `npm run deploy:auth -- --print` prints them instead.
 */
import { spawn } from "node:child_process";
import { join, resolve } from "node:path";
import manifest from "../fleet.config.ts";
import { productionAuthVars, REGISTRY_APP, serverApp } from "../local/fleet.manifest.ts";
import { readServerSpecs } from "../local/server.specs.ts";

const ROOT = resolve(import.meta.dirname, "..");
const vars = productionAuthVars(manifest, await readServerSpecs([...manifest.servers.map(serverApp), REGISTRY_APP]));
const args = process.argv.slice(2);
if (args.includes("--print")) {
  for (const [name, value] of Object.entries(vars)) console.log(`${name}=${value}`);
} else {
  const wrangler = spawn(
    join(ROOT, "node_modules", ".bin", "wrangler"),
    [
      "deploy",
      "-c",
      "workers/auth/wrangler.toml",
      ...Object.entries(vars).flatMap(([name, value]) => ["--var", `${name}:${value}`]),
      ...args,
    ],
    { cwd: ROOT, stdio: "inherit" },
  );
  wrangler.on("exit", (code) => process.exit(code ?? 1));
}
