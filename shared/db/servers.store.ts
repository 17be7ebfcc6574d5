import { eq } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { servers, tools } from "./fleet.schema";

export interface ServerManifest {
  name: string;
  title: string;
  description: string;
  version: string;
  remoteUrl: string;
  allowedGroups: string[];
  tools: {
    name: string;
    description: string;
    annotations: Record<string, unknown>;
    access: Record<string, unknown>;
    needsApproval: boolean;
    minutesSaved: number;
  }[];
}

/** Upserts a server and replaces its tool inventory, atomically (one D1 batch). */
export async function upsertServer(d1: D1Database, manifest: ServerManifest): Promise<void> {
  const db = drizzle(d1);
  const now = new Date();
  const { tools: toolList, ...server } = manifest;
  const row = { ...server, registeredAt: now, updatedAt: now };
  const { registeredAt: _keep, ...changes } = row;
  await db.batch([
    db.insert(servers).values(row).onConflictDoUpdate({ target: servers.name, set: changes }),
    db.delete(tools).where(eq(tools.serverName, manifest.name)),
    ...toolList.map((tool) => db.insert(tools).values({ ...tool, serverName: manifest.name })),
  ]);
}

export async function listServers(d1: D1Database) {
  return drizzle(d1).select().from(servers).orderBy(servers.name);
}
