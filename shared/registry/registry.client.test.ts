import { describe, expect, it } from "vitest";
import type { ServerPolicy } from "./access";
import { cacheMsFrom, RegistryUnreachableError, ServerPolicyCache, STALE_IF_ERROR_MS } from "./registry.client";
import type { RegistryBinding } from "./registry.contract";

const APPROVED: ServerPolicy = {
  name: "presto",
  lifecycle: "approved",
  environments: ["production"],
  allowedGroups: ["data-eng"],
  allowedServices: false,
  approvedVersion: "1.0.0",
  toolsDigest: "a".repeat(64),
};
const TTL = 30_000;

/** A registry whose answer, reachability and latency the test controls, counting its RPCs. */
function fakeRegistry(initial: ServerPolicy | null = APPROVED) {
  const state = { answer: initial as unknown, down: false, calls: 0, gate: undefined as Promise<void> | undefined };
  const registry: RegistryBinding = {
    async serverPolicy() {
      state.calls += 1;
      if (state.gate) await state.gate;
      if (state.down) throw new Error("connection refused");
      return state.answer as ServerPolicy | null;
    },
  };
  return { registry, state };
}

function clock(start = 1_000_000) {
  const time = { now: start };
  return { time, now: () => time.now };
}

describe("ServerPolicyCache", () => {
  it("asks the registry once per TTL and answers from memory in between", async () => {
    const { registry, state } = fakeRegistry();
    const { time, now } = clock();
    const cache = new ServerPolicyCache({ now });
    for (let i = 0; i < 50; i++) {
      expect(await cache.policy(registry, "presto", TTL)).toEqual(APPROVED);
      time.now += 500; // 50 requests over 25 s
    }
    expect(state.calls).toBe(1);
    time.now += 5_000; // 30 s after the read
    state.answer = { ...APPROVED, lifecycle: "deprecated" };
    expect((await cache.policy(registry, "presto", TTL))?.lifecycle).toBe("deprecated");
    expect(state.calls).toBe(2);
  });

  it("shares no pending RPC between concurrent misses (each request asks for itself), and caches what they read", async () => {
    const { registry, state } = fakeRegistry();
    let release = () => {};
    state.gate = new Promise((resolve) => {
      release = resolve;
    });
    const cache = new ServerPolicyCache();
    const reads = Array.from({ length: 20 }, () => cache.policy(registry, "presto", TTL));
    release();
    expect(await Promise.all(reads)).toEqual(Array(20).fill(APPROVED));
    expect(state.calls).toBe(20);
    expect(await cache.policy(registry, "presto", TTL)).toEqual(APPROVED);
    expect(state.calls).toBe(20);
  });

  it("caches 'not registered' like any answer", async () => {
    const { registry, state } = fakeRegistry(null);
    const cache = new ServerPolicyCache();
    expect(await cache.policy(registry, "presto", TTL)).toBeNull();
    expect(await cache.policy(registry, "presto", TTL)).toBeNull();
    expect(state.calls).toBe(1);
  });

  it("fails closed when the registry is unreachable and nothing was read yet", async () => {
    const { registry, state } = fakeRegistry();
    state.down = true;
    const cache = new ServerPolicyCache();
    const read = cache.policy(registry, "presto", TTL);
    await expect(read).rejects.toBeInstanceOf(RegistryUnreachableError);
    await expect(read).rejects.toThrow(
      /registry unreachable for the presto server \(connection refused; no policy read yet\)/,
    );
    state.down = false;
    expect(await cache.policy(registry, "presto", TTL)).toEqual(APPROVED); // recovers at once
  });

  it("serves the last policy for 5 minutes past its read while the registry is down, then fails closed", async () => {
    const { registry, state } = fakeRegistry();
    const { time, now } = clock();
    const cache = new ServerPolicyCache({ now });
    await cache.policy(registry, "presto", TTL);
    state.down = true;
    time.now += TTL; // expired: asks, fails, serves stale
    expect(await cache.policy(registry, "presto", TTL)).toEqual(APPROVED);
    expect(state.calls).toBe(2);
    time.now += 1_000; // during the outage, asks again only once per TTL
    expect(await cache.policy(registry, "presto", TTL)).toEqual(APPROVED);
    expect(state.calls).toBe(2);
    time.now = 1_000_000 + STALE_IF_ERROR_MS - 1;
    expect(await cache.policy(registry, "presto", TTL)).toEqual(APPROVED);
    time.now = 1_000_000 + STALE_IF_ERROR_MS;
    await expect(cache.policy(registry, "presto", TTL)).rejects.toThrow(/registry unreachable.*last policy read at/);
    state.down = false;
    state.answer = { ...APPROVED, lifecycle: "retired" };
    expect((await cache.policy(registry, "presto", TTL))?.lifecycle).toBe("retired");
  });

  it("treats a registry that does not answer in time, or answers nonsense, as unreachable", async () => {
    const hanging: RegistryBinding = { serverPolicy: () => new Promise(() => {}) };
    const slow = new ServerPolicyCache({ timeoutMs: 20 });
    await expect(slow.policy(hanging, "presto", TTL)).rejects.toThrow(/did not answer within 20 ms/);
    const { registry } = fakeRegistry({ ...APPROVED, lifecycle: "shiny" } as unknown as ServerPolicy);
    await expect(new ServerPolicyCache().policy(registry, "presto", TTL)).rejects.toThrow(/malformed policy/);
  });

  it("reads an answer without the approved inventory as 'nothing approved', and refuses a malformed digest", async () => {
    const { approvedVersion: _version, toolsDigest: _digest, ...older } = APPROVED;
    const { registry } = fakeRegistry(older as ServerPolicy);
    expect(await new ServerPolicyCache().policy(registry, "presto", TTL)).toEqual({
      ...older,
      approvedVersion: null,
      toolsDigest: null,
    });
    const bad = fakeRegistry({ ...APPROVED, toolsDigest: "not-a-digest" });
    await expect(new ServerPolicyCache().policy(bad.registry, "presto", TTL)).rejects.toThrow(/malformed policy/);
  });

  it("keeps servers apart", async () => {
    const { registry, state } = fakeRegistry();
    const cache = new ServerPolicyCache();
    await cache.policy(registry, "presto", TTL);
    await cache.policy(registry, "spark", TTL);
    await cache.policy(registry, "presto", TTL);
    expect(state.calls).toBe(2);
  });
});

describe("cacheMsFrom", () => {
  it("defaults to 30 s and refuses what is not a whole number of ms", () => {
    expect(cacheMsFrom(undefined)).toBe(30_000);
    expect(cacheMsFrom("")).toBe(30_000);
    expect(cacheMsFrom("50")).toBe(50);
    expect(cacheMsFrom("0")).toBe(0);
    for (const bad of ["30s", "-1", "1.5", "NaN"]) expect(cacheMsFrom(bad)).toBeUndefined();
  });
});
