/**
 * The registry Worker. For now: the official MCP Registry read shape over the servers that
 * have announced themselves, and a plain page listing them.
 */
import { Hono } from "hono";
import type { ServerRow } from "../shared/db/fleet.schema";
import { listServers } from "../shared/db/servers.store";

interface RegistryEnv {
  DB: D1Database;
  REGISTRY_NAMESPACE: string;
}

const SERVER_SCHEMA = "https://static.modelcontextprotocol.io/schemas/2025-10-17/server.schema.json";
const OFFICIAL_META = "io.modelcontextprotocol.registry/official";

function toServerResponse(row: ServerRow, namespace: string) {
  return {
    server: {
      $schema: SERVER_SCHEMA,
      name: `${namespace}/${row.name}`,
      title: row.title,
      description: row.description,
      version: row.version,
      remotes: [{ type: "streamable-http", url: row.remoteUrl }],
    },
    _meta: {
      [OFFICIAL_META]: {
        status: "active",
        publishedAt: row.registeredAt.toISOString(),
        updatedAt: row.updatedAt.toISOString(),
        isLatest: true,
      },
    },
  };
}

const app = new Hono<{ Bindings: RegistryEnv }>();

app.get("/health", (c) => c.json({ status: "ok" }));

app.get("/v0.1/servers", async (c) => {
  const rows = await listServers(c.env.DB);
  const servers = rows.map((row) => toServerResponse(row, c.env.REGISTRY_NAMESPACE));
  return c.json({ servers, metadata: { count: servers.length } });
});

app.get("/", async (c) => {
  const rows = await listServers(c.env.DB);
  return c.html(
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>MCP Fleet registry</title>
      </head>
      <body>
        <main>
          <h1>MCP Fleet</h1>
          <p>{rows.length} server(s) registered.</p>
          <ul>
            {rows.map((row) => (
              <li>
                <strong>{row.title}</strong> ({row.name} {row.version}): <code>{row.remoteUrl}</code>
                <p>{row.description}</p>
              </li>
            ))}
          </ul>
        </main>
      </body>
    </html>,
  );
});

export default app;
