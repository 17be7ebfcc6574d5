/**
 * Before each workerd test file: the D1 migrations, then an empty database. A project's files share
 * one runtime and its storage (vitest.config.ts), so without this a file would meet the servers,
 * reviews and invocations an earlier file left behind.
 */
import { applyD1Migrations, env } from "cloudflare:test";

await applyD1Migrations(env.DB, env.TEST_MIGRATIONS);
const { results: tables } = await env.DB.prepare(
  "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' AND name NOT LIKE '\\_cf\\_%' ESCAPE '\\' AND name <> 'd1_migrations'",
).all<{ name: string }>();
await env.DB.batch([
  // Rows refer to each other (foreign keys): checked at the end of the batch, when all are gone.
  env.DB.prepare("PRAGMA defer_foreign_keys = on"),
  ...tables.map(({ name }) => env.DB.prepare(`DELETE FROM "${name.replaceAll('"', '""')}"`)),
]);
