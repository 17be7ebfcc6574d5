import { count, eq } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { deadLetters } from "./fleet.schema";

export interface DeadLetter {
  id: string;
  serverName: string;
  target: string;
  record: unknown;
  error: string;
  attempts: number;
  at: number;
}

/** Keeps a record D1 keeps refusing (idempotent by the record's id). */
export async function writeDeadLetter(d1: D1Database, letter: DeadLetter): Promise<void> {
  await drizzle(d1)
    .insert(deadLetters)
    .values({ ...letter, record: JSON.stringify(letter.record), at: new Date(letter.at) })
    .onConflictDoNothing();
}

export async function countDeadLetters(d1: D1Database, serverName: string): Promise<number> {
  const [row] = await drizzle(d1)
    .select({ n: count() })
    .from(deadLetters)
    .where(eq(deadLetters.serverName, serverName));
  return row?.n ?? 0;
}
