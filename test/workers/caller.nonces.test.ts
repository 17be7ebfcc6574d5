/**
 * The per-caller object's request-state nonces (2026-07-28 approvals and asks) do not pile up: in
 * workerd with the real Durable Object, its alarm deletes every nonce whose state has expired —
 * however many (storage deletes take 128 keys a call) — keeps the live ones, and wakes again when
 * the oldest live one expires.
 */
import { env, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { APPROVAL_STATE_TTL_SECONDS } from "../../shared/mcp/approval.modern";
import { callerObjectOf } from "./mcp-client";

const TTL = APPROVAL_STATE_TTL_SECONDS * 1000;
const callers = env.CALLERS as DurableObjectNamespace;

async function seed(name: string, nonces: { old: number; live: number }) {
  const stub = callers.get(callers.idFromName(callerObjectOf("echo", name)));
  const now = Date.now();
  const liveAt = now - 10_000;
  await runInDurableObject(stub, async (_instance, state) => {
    const entries: Record<string, number> = {};
    for (let i = 0; i < nonces.old; i++) entries[`nonce:old-${i}`] = now - TTL - 60_000 - i;
    for (let i = 0; i < nonces.live; i++) entries[`nonce:live-${i}`] = liveAt;
    const keys = Object.entries(entries);
    for (let i = 0; i < keys.length; i += 128) await state.storage.put(Object.fromEntries(keys.slice(i, i + 128)));
    await state.storage.setAlarm(now + 60_000);
  });
  return { stub, liveAt };
}

async function noncesOf(stub: DurableObjectStub) {
  return runInDurableObject(stub, async (_instance, state) => ({
    keys: [...(await state.storage.list({ prefix: "nonce:" })).keys()],
    alarm: await state.storage.getAlarm(),
  }));
}

describe("request-state nonces in the caller's object", () => {
  it("deletes every expired nonce in one alarm, not 128 of them", async () => {
    const { stub } = await seed("nina", { old: 300, live: 0 });
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    const after = await noncesOf(stub);
    expect(after.keys).toEqual([]);
    // Nothing left to expire, nothing to flush: no alarm.
    expect(after.alarm).toBeNull();
  });

  it("keeps the live nonces and wakes again when the oldest of them expires", async () => {
    const { stub, liveAt } = await seed("nico", { old: 200, live: 3 });
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    const after = await noncesOf(stub);
    expect(after.keys.sort()).toEqual(["nonce:live-0", "nonce:live-1", "nonce:live-2"]);
    expect(after.alarm).not.toBeNull();
    expect(after.alarm as number).toBeLessThanOrEqual(liveAt + TTL + 1_000);
    expect(after.alarm as number).toBeGreaterThanOrEqual(liveAt + TTL);
  });
});
