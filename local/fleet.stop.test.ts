/**
 * `npm start` leaves nothing behind. It runs here as `npm start` runs it (`node scripts/start.ts`,
 * with one server: SERVERS below) on spare ports (FLEET_E2E_PORT_BASE + 500, every port moved with FLEET_PORT_BASE): on SIGTERM
 * every Worker and upstream it started is gone and every port free within a few seconds; killed
 * outright (SIGKILL), its process guardian stops the Workers, and nothing lives on as an orphan.
 */
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { connect, createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { after, describe, it } from "node:test";
import fullManifest from "../fleet.config.ts";
import { localUpstream, portAt, withServers } from "./fleet.manifest.ts";

const ROOT = resolve(import.meta.dirname, "..");
const BASE = Number(process.env.FLEET_E2E_PORT_BASE ?? 18787) + 500;
/**
 * The launcher runs with one server (FLEET_SERVERS) besides the registry, sign-in and the IdP: how
 * it stops does not depend on how many Workers it started, and each costs seconds of CPU to start.
 * Presto has a local upstream, so upstreams are covered too.
 */
const SERVERS = "presto";
const manifest = withServers(fullManifest, SERVERS, "SERVERS");
/** "A few seconds": SIGTERM to every port free and every process gone. */
const STOP_WITHIN_MS = 8_000;

/** Every port the launcher opens: Workers and their inspectors, the IdP, the upstreams. */
async function fleetPorts(): Promise<number[]> {
  const workers = [manifest.registry.port, manifest.auth.port, ...manifest.servers.map((server) => server.port)];
  const upstreams = await Promise.all(manifest.servers.map(async (server) => (await localUpstream(server))?.port));
  return [
    ...workers.flatMap((port) => [port, port + 1000]),
    manifest.idp.port,
    ...upstreams.filter((port) => port !== undefined),
  ].map((port) => portAt(manifest, port, BASE));
}

function isFree(port: number): Promise<boolean> {
  return new Promise((done) => {
    const probe = createServer();
    probe.once("error", () => done(false));
    probe.listen(port, "127.0.0.1", () => probe.close(() => done(true)));
  });
}

/** Live processes (zombies hold nothing) by parent. */
function processTable(): Map<number, number> {
  const table = new Map<number, number>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const [state, ppid] = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      if (state !== "Z") table.set(Number(entry), Number(ppid));
    } catch {} // gone meanwhile
  }
  return table;
}

function descendants(root: number): number[] {
  const table = processTable();
  const found: number[] = [];
  const queue = [root];
  while (queue.length > 0) {
    const parent = queue.shift() as number;
    for (const [pid, ppid] of table) {
      if (ppid === parent) {
        found.push(pid);
        queue.push(pid);
      }
    }
  }
  return found;
}

const started: ChildProcess[] = [];
const stateDirs: string[] = [];
after(() => {
  for (const child of started) if (child.exitCode === null) child.kill("SIGKILL");
  for (const dir of stateDirs) rmSync(dir, { recursive: true, force: true });
});

/** Whether something accepts connections on `port` (a probe that never takes the port itself). */
function isListening(port: number): Promise<boolean> {
  return new Promise((done) => {
    const socket = connect(port, "127.0.0.1");
    socket.once("connect", () => {
      socket.destroy();
      done(true);
    });
    socket.once("error", () => done(false));
  });
}

/**
 * `npm start` on the spare ports; resolves, with everything it started, once its banner is out,
 * or (`workersUp`) as soon as every Worker listens, before it has published them.
 */
async function startLauncher(
  until: "banner" | "workersUp",
): Promise<{ launcher: ChildProcess; children: number[]; output: () => string }> {
  const state = mkdtempSync(join(tmpdir(), "mcp-fleet-stop-"));
  stateDirs.push(state);
  const launcher = spawn(process.execPath, ["scripts/start.ts"], {
    cwd: ROOT,
    env: { ...process.env, FLEET_PORT_BASE: String(BASE), FLEET_STATE_DIR: state, FLEET_SERVERS: SERVERS },
    stdio: ["ignore", "pipe", "pipe"],
  });
  started.push(launcher);
  let output = "";
  launcher.stdout?.on("data", (chunk) => {
    output += chunk;
  });
  launcher.stderr?.on("data", (chunk) => {
    output += chunk;
  });
  const exited = new Promise<never>((_, fail) =>
    launcher.once("exit", (code) => fail(new Error(`npm start exited with ${code}:\n${output}`))),
  );
  const workerPorts = [manifest.registry.port, manifest.auth.port, ...manifest.servers.map((server) => server.port)];
  const ready = async () => {
    for (const deadline = Date.now() + 150_000; Date.now() < deadline; await new Promise((r) => setTimeout(r, 200))) {
      if (until === "banner" && output.includes("Press Ctrl-C to stop")) return;
      if (until === "workersUp") {
        const up = await Promise.all(workerPorts.map((port) => isListening(portAt(manifest, port, BASE))));
        if (up.every(Boolean)) return;
      }
    }
    throw new Error(`not ready (${until}) within 150 s:\n${output}`);
  };
  await Promise.race([ready(), exited]);
  return { launcher, children: descendants(launcher.pid as number), output: () => output };
}

/** Waits until every port is free and none of `pids` is alive; returns how long it took. */
async function waitForNothingLeft(pids: number[], ports: number[]): Promise<number> {
  const since = Date.now();
  for (;;) {
    const alive = new Set(processTable().keys());
    const living = pids.filter((pid) => alive.has(pid));
    const held = [];
    for (const port of ports) if (!(await isFree(port))) held.push(port);
    if (living.length === 0 && held.length === 0) return Date.now() - since;
    if (Date.now() - since > STOP_WITHIN_MS) {
      const commands = living.map((pid) => {
        try {
          return `${pid}: ${readFileSync(`/proc/${pid}/cmdline`, "utf8").replaceAll("\0", " ").slice(0, 120)}`;
        } catch {
          return `${pid}`;
        }
      });
      assert.fail(`after ${STOP_WITHIN_MS} ms still alive:\n${commands.join("\n")}\nports held: ${held.join(", ")}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe("npm start stops cleanly", { concurrency: false, timeout: 400_000 }, () => {
  it("on SIGTERM: every Worker and upstream gone, every port free, within seconds", async (t) => {
    const ports = await fleetPorts();
    const { launcher, children, output } = await startLauncher("banner");
    const workerd = children.filter((pid) => readFileSync(`/proc/${pid}/cmdline`, "utf8").includes("workerd"));
    assert.ok(workerd.length >= 2 + manifest.servers.length, `a workerd per Worker among ${children.length}`);
    for (const port of ports) assert.equal(await isFree(port), false, `port ${port} is in use while the fleet runs`);
    const exited = new Promise<number | null>((done) => launcher.once("exit", (code) => done(code)));
    launcher.kill("SIGTERM");
    const took = await waitForNothingLeft([launcher.pid as number, ...children], ports);
    assert.equal(await exited, 0, output());
    t.diagnostic(`SIGTERM: ${children.length} processes gone, ${ports.length} ports free after ${took} ms`);
  });

  it("on SIGKILL of the launcher (as soon as its Workers listen): its guardian stops them; no orphan keeps a port", async (t) => {
    const ports = await fleetPorts();
    const { launcher, children } = await startLauncher("workersUp");
    const workerd = children.filter((pid) => readFileSync(`/proc/${pid}/cmdline`, "utf8").includes("workerd"));
    assert.ok(workerd.length >= 2 + manifest.servers.length, `a workerd per Worker among ${children.length}`);
    launcher.kill("SIGKILL");
    const took = await waitForNothingLeft(children, ports);
    t.diagnostic(`SIGKILL: ${children.length} processes gone, ${ports.length} ports free after ${took} ms`);
  });
});
