import { defineConfig } from "drizzle-kit";

export default defineConfig({
  dialect: "sqlite",
  schema: "./shared/db/fleet.schema.ts",
  out: "./migrations",
});
