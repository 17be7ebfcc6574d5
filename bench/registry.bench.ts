/**
 * Registry search at fleet scale: publishes `count` servers through the real API (the pipeline's
 * token), then times GET /v0.1/servers searches and filters against a baseline measured in the
 * same loop (GET /health: the Worker's fixed cost), interleaved so drift hits both alike. The
 * searches carry a registry:read token (the bench's servers are drafts, which an anonymous reader
 * is not shown), so each one includes its token's validation.
 */
const WORDS = ["billing", "ledger", "spark", "airflow", "search", "ads", "metrics", "identity", "catalog", "jobs"];

export async function publishServers(registryUrl: string, token: string, count: number): Promise<void> {
  let next = 0;
  const publishOne = async (index: number) => {
    const name = `bench-${String(index).padStart(4, "0")}`;
    const word = WORDS[index % WORDS.length] as string;
    const publish = () =>
      fetch(`${registryUrl}/v0.1/publish`, {
        method: "POST",
        headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
        body: JSON.stringify({
          $schema: "https://static.modelcontextprotocol.io/schemas/2025-12-11/server.schema.json",
          name: `com.example.mcp-fleet/${name}`,
          title: `Bench ${word} ${index}`,
          description: `Synthetic ${word} server number ${index}`,
          version: "1.0.0",
          remotes: [{ type: "streamable-http", url: `https://${name}.mcp.example.com/mcp` }],
          _meta: {
            "io.modelcontextprotocol.registry/publisher-provided": {
              team: `team-${index % 25}`,
              supportChannel: `#${word}`,
              onCall: `${word}-oncall`,
              environments: ["production"],
              allowedGroups: [`team-${index % 25}`],
              tools: Array.from({ length: 6 }, (_, t) => ({
                name: `${name.replace(/-/g, "_")}_tool_${t}`,
                description: `Does ${word} thing ${t}`,
                annotations: { readOnlyHint: t !== 5 },
                access: { scopes: [`${word}:read`] },
                needsApproval: t === 5,
                minutesSaved: t + 1,
              })),
            },
          },
        }),
      });
    // Local D1 is one SQLite file shared by every wrangler process; a write can meet SQLITE_BUSY
    // while the other Workers flush their records. Production D1 has no such lock: retry.
    let response = await publish();
    for (let attempt = 1; response.status >= 500 && attempt < 5; attempt++) {
      await new Promise((resolve) => setTimeout(resolve, 100 * attempt));
      response = await publish();
    }
    if (response.status !== 201 && response.status !== 409) {
      throw new Error(`publishing ${name}: ${response.status} ${await response.text()}`);
    }
  };
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      while (next < count) await publishOne(next++);
    }),
  );
}

export interface SearchFigures {
  servers: number;
  requests: number;
  p50: number;
  p95: number;
  baselineP50: number;
  baselineP95: number;
}

const QUERIES = [
  "/v0.1/servers?version=latest&limit=30",
  "/v0.1/servers?version=latest&search=ledger",
  "/v0.1/servers?version=latest&search=number%2042",
  "/v0.1/servers?version=latest&search=no-such-thing",
  "/v0.1/servers?team=team-7&lifecycle=draft",
  "/v0.1/servers?version=latest&limit=100&search=bench",
];

/** How many servers the registry lists (latest versions), paging as a client would. */
async function countServers(registryUrl: string, headers: Record<string, string>): Promise<number> {
  let count = 0;
  let cursor: string | undefined;
  do {
    const query = new URLSearchParams({ version: "latest", limit: "100", ...(cursor ? { cursor } : {}) });
    const page = (await (await fetch(`${registryUrl}/v0.1/servers?${query}`, { headers })).json()) as {
      servers: unknown[];
      metadata: { nextCursor?: string };
    };
    count += page.servers.length;
    cursor = page.metadata.nextCursor;
  } while (cursor);
  return count;
}

/** `readToken`: an access token for the registry with registry:read (a signed-in reader). */
export async function measureSearch(registryUrl: string, requests: number, readToken: string): Promise<SearchFigures> {
  const reader = { authorization: `Bearer ${readToken}` };
  const servers = await countServers(registryUrl, reader);
  const search: number[] = [];
  const baseline: number[] = [];
  const timed = async (path: string, into: number[]) => {
    const t0 = performance.now();
    const response = await fetch(`${registryUrl}${path}`, path.startsWith("/v0.1/") ? { headers: reader } : {});
    await response.arrayBuffer();
    if (!response.ok) throw new Error(`${path}: HTTP ${response.status}`);
    into.push(performance.now() - t0);
  };
  for (let i = 0; i < 30; i++) await timed(QUERIES[i % QUERIES.length] as string, []);
  for (let i = 0; i < requests; i++) {
    await timed(QUERIES[i % QUERIES.length] as string, search);
    await timed("/health", baseline);
  }
  const at = (values: number[], q: number) => {
    const sorted = [...values].sort((x, y) => x - y);
    return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
  };
  return {
    servers,
    requests,
    p50: at(search, 0.5),
    p95: at(search, 0.95),
    baselineP50: at(baseline, 0.5),
    baselineP95: at(baseline, 0.95),
  };
}
