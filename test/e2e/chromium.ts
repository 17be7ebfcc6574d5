/**
 * Which Chromium the page tests drive, and launching it. In order:
 *
 * 1. `CHROMIUM_PATH`, when set and not empty;
 * 2. a system Chromium (Debian's `/usr/bin/chromium`, or one of SYSTEM_CHROMIUMS);
 * 3. the one inside the `@sparticuz/chromium` devDependency, unpacked on first use.
 *
 * `FLEET_PAGE_CHROMIUM=npm` forces the npm one (even where a system Chromium or `CHROMIUM_PATH`
 * exists), `FLEET_PAGE_CHROMIUM=system` refuses to fall back to it. Playwright never downloads a
 * browser here.
 *
 * The npm Chromium is unpacked once per package version into `<tmpdir>/mcp-fleet-chromium-<version>`
 * (about 210 MB), together with the NSS libraries and fonts the package ships, so it needs nothing
 * from the system but glibc: no `apt-get install chromium`. `@sparticuz/chromium` would unpack to
 * `<tmpdir>/chromium` and reuse whatever is there, of any version, even half written by a
 * concurrent run; here a child process unpacks into a private directory that is renamed into
 * place only when complete.
 */
import { execFile } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { mkdtemp, rename, rm, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { pathToFileURL } from "node:url";
import { promisify } from "node:util";
import sparticuz from "@sparticuz/chromium";
import { type Browser, chromium } from "playwright-core";

/** Where a system Chromium is looked for, in order. */
export const SYSTEM_CHROMIUMS = [
  "/usr/bin/chromium",
  "/usr/bin/chromium-browser",
  "/usr/bin/google-chrome-stable",
  "/usr/bin/google-chrome",
] as const;

export type ChromiumChoice =
  | { source: "CHROMIUM_PATH" | "system"; executablePath: string }
  | { source: "npm"; executablePath?: undefined };

/** The choice for these environment variables, given which files exist. Throws when none fits. */
export function chooseChromium(
  env: { CHROMIUM_PATH?: string; FLEET_PAGE_CHROMIUM?: string },
  exists: (path: string) => boolean = existsSync,
): ChromiumChoice {
  const mode = env.FLEET_PAGE_CHROMIUM || "auto";
  if (mode !== "auto" && mode !== "system" && mode !== "npm") {
    throw new Error(`FLEET_PAGE_CHROMIUM must be auto, system or npm, not ${JSON.stringify(mode)}`);
  }
  if (mode === "npm") return { source: "npm" };
  if (env.CHROMIUM_PATH) {
    if (!exists(env.CHROMIUM_PATH)) throw new Error(`CHROMIUM_PATH names ${env.CHROMIUM_PATH}, which does not exist`);
    return { source: "CHROMIUM_PATH", executablePath: env.CHROMIUM_PATH };
  }
  const system = SYSTEM_CHROMIUMS.find((path) => exists(path));
  if (system) return { source: "system", executablePath: system };
  if (mode === "system") {
    throw new Error(`FLEET_PAGE_CHROMIUM=system, but there is no Chromium at ${SYSTEM_CHROMIUMS.join(", ")}`);
  }
  return { source: "npm" };
}

/** Headless Chromium, chosen by `chooseChromium(process.env)`. */
export async function launchChromium(choice = chooseChromium(process.env)): Promise<Browser> {
  if (choice.source !== "npm") {
    return chromium.launch({ executablePath: choice.executablePath, args: ["--no-sandbox"], headless: true });
  }
  const unpacked = await unpackNpmChromium();
  return chromium.launch({
    executablePath: unpacked.executablePath,
    args: npmChromiumArgs(),
    headless: true,
    env: unpacked.env,
  });
}

/**
 * The package's flags (no sandbox, no zygote, software GL, headless shell…) without those made for
 * AWS Lambda or that change what the page tests check: `--single-process` (Lambda's seccomp needs
 * it; with it, a permission granted to one browser context is refused in a page when other
 * contexts are open, so the copy button's clipboard write fails), and the flags that switch off
 * the web's security model.
 */
export function npmChromiumArgs(): string[] {
  const dropped = new Set(["--single-process", "--disable-web-security", "--allow-running-insecure-content"]);
  return sparticuz.args.filter((arg) => !dropped.has(arg));
}

const packageEntry = createRequire(import.meta.url).resolve("@sparticuz/chromium");
const packageDir = join(dirname(packageEntry), "..");
/** The installed @sparticuz/chromium's version; its major is the Chromium major it ships. */
export const NPM_CHROMIUM_VERSION = (
  JSON.parse(readFileSync(join(packageDir, "package.json"), "utf8")) as { version: string }
).version;

/** The npm Chromium's directory for this package version (under the OS's temporary directory). */
export function npmChromiumDir(): string {
  return join(tmpdir(), `mcp-fleet-chromium-${NPM_CHROMIUM_VERSION}`);
}

/**
 * Runs in a child process whose TMPDIR is the staging directory, since the package unpacks into
 * `os.tmpdir()`: the browser, its fonts and software GL, and the NSS libraries of its Amazon Linux
 * build (libnss3, libnspr4, libexpat…), which Debian has only where its chromium pulled them in.
 */
const UNPACK = `
const [entry, bin] = process.argv.slice(1);
const { default: chromium, inflate } = await import(entry);
await chromium.executablePath(bin);
await inflate(bin + "/al2023.tar.br");
`;

/** Unpacks the npm Chromium unless it already is; returns its binary and the environment it needs. */
export async function unpackNpmChromium(): Promise<{ executablePath: string; env: Record<string, string> }> {
  if (process.platform !== "linux" || process.arch !== "x64") {
    throw new Error(
      `@sparticuz/chromium ships Chromium for linux/x64 only: set CHROMIUM_PATH on ${process.platform}/${process.arch}`,
    );
  }
  const dir = npmChromiumDir();
  if (!existsSync(join(dir, "chromium"))) {
    const staging = await mkdtemp(`${dir}.partial-`);
    try {
      await promisify(execFile)(
        process.execPath,
        ["--input-type=module", "-e", UNPACK, pathToFileURL(packageEntry).href, join(packageDir, "bin")],
        { env: { ...process.env, TMPDIR: staging } },
      );
      // The package's fonts.conf names /tmp/fonts; this one names where the fonts are.
      await writeFile(
        join(staging, "fonts.conf"),
        `<?xml version="1.0"?>\n<!DOCTYPE fontconfig SYSTEM "fonts.dtd">\n<fontconfig>\n` +
          `  <dir>${join(dir, "fonts", "fonts")}</dir>\n  <cachedir>${join(dir, "fonts-cache")}</cachedir>\n</fontconfig>\n`,
      );
      await rename(staging, dir);
    } catch (error) {
      await rm(staging, { recursive: true, force: true });
      // Another run may have renamed its complete copy into place first.
      if (!existsSync(join(dir, "chromium"))) throw error;
    }
  }
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(process.env)) if (value !== undefined) env[name] = value;
  const libs = join(dir, "al2023", "lib");
  env.LD_LIBRARY_PATH = env.LD_LIBRARY_PATH ? `${libs}:${env.LD_LIBRARY_PATH}` : libs;
  env.FONTCONFIG_FILE = join(dir, "fonts.conf");
  return { executablePath: join(dir, "chromium"), env };
}
