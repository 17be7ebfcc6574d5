/** `npm start`: the whole fleet on local defaults, until Ctrl-C. */
import { startFleet } from "../local/fleet.ts";

const fleet = await startFleet();
console.log(`
MCP Fleet is running locally.

  Registry        ${fleet.registryUrl}/            (API: ${fleet.registryUrl}/v0.1/servers)
  Presto server   ${fleet.prestoUrl}/mcp          (legacy SSE: ${fleet.prestoUrl}/sse)
  Presto upstream ${fleet.upstreamUrl}            (local Trino-compatible coordinator)

Local requests act as the development user "alice" (groups data-eng, ads); send
"X-Fleet-Dev-User: bob; groups=finance" to act as someone else. Logs: .wrangler/logs/
Press Ctrl-C to stop.`);

let stopping = false;
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, async () => {
    if (stopping) return;
    stopping = true;
    await fleet.stop();
    process.exit(0);
  });
}
