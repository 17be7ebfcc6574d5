/**
 * Outlives the launcher just long enough to clean up after it. The launcher (`npm start`, the
 * end-to-end fleet, the bench) starts this once, detached, with a pipe on its stdin, and writes
 * `+<pgid>` for each process group it starts (the Worker host and its workerd, a wrangler CLI) and `-<pgid>` once
 * it has stopped one. When the pipe closes, however the launcher ended (Ctrl-C, SIGTERM, SIGKILL,
 * a crash), every group still listed gets SIGTERM, then SIGKILL after GRACE_MS, and this exits.
 */
const GRACE_MS = 3_000;
const groups = new Set<number>();

let pending = "";
process.stdin.setEncoding("utf8");
process.stdin.on("data", (chunk: string) => {
  pending += chunk;
  const lines = pending.split("\n");
  pending = lines.pop() ?? "";
  for (const line of lines) {
    const pgid = Number(line.slice(1));
    if (!Number.isInteger(pgid) || pgid <= 1) continue;
    if (line.startsWith("+")) groups.add(pgid);
    else if (line.startsWith("-")) groups.delete(pgid);
  }
});
process.stdin.on("close", () => void cleanUp());
process.stdin.on("error", () => void cleanUp());
for (const signal of ["SIGTERM", "SIGINT", "SIGHUP"] as const) process.on(signal, () => void cleanUp());

let cleaning = false;
async function cleanUp(): Promise<void> {
  if (cleaning) return;
  cleaning = true;
  signalAll("SIGTERM");
  const deadline = Date.now() + GRACE_MS;
  while (Date.now() < deadline && [...groups].some(isAlive)) await new Promise((r) => setTimeout(r, 100));
  signalAll("SIGKILL");
  process.exit(0);
}

function signalAll(signal: NodeJS.Signals): void {
  for (const pgid of groups) {
    try {
      process.kill(-pgid, signal);
    } catch {
      groups.delete(pgid); // nothing left in that group
    }
  }
}

function isAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}
