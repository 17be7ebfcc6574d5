// Stand-in for the registry Worker's `serverPolicy` RPC in the kit's workerd tests: policies held
// in memory, changed by the tests through the same binding (setPolicy, setUnreachable, setDelay), with a
// count of serverPolicy calls so tests can see what the kit's cache saves. Each test file runs in
// its own runtime, so this state is per file. The real registry is tested in registry/ and end to end.
//
// What was approved (version and tools digest) is not written here: before each test file,
// test/workers/registry-stub.setup.ts reads the Worker under test's own publish document, computes
// its digest with the registry's function, and records it with `approvePublished`, as publishing
// and approving would. So the defaults always match the code the tests run.
import { WorkerEntrypoint } from "cloudflare:workers";

/** Approved for the "test" environment, with the groups and services the specs propose. */
const DEFAULTS = {
  echo: {
    name: "echo",
    lifecycle: "approved",
    environments: ["test"],
    allowedGroups: ["data-eng", "admins"],
    allowedServices: true,
    approvedVersion: null,
    toolsDigest: null,
  },
  presto: {
    name: "presto",
    lifecycle: "approved",
    environments: ["test"],
    allowedGroups: ["data-eng", "ads", "finance"],
    allowedServices: true,
    approvedVersion: null,
    toolsDigest: null,
  },
};

const state = { policies: new Map(), approved: new Map(), unreachable: false, delayMs: 0, calls: 0 };

function reset() {
  state.policies = new Map(
    Object.entries(structuredClone(DEFAULTS)).map(([name, policy]) => [
      name,
      { ...policy, ...(state.approved.get(name) ?? {}) },
    ]),
  );
  state.unreachable = false;
  state.delayMs = 0;
  state.calls = 0;
}
reset();

export default class RegistryStub extends WorkerEntrypoint {
  fetch() {
    return new Response("registry stub", { status: 404 });
  }

  async serverPolicy(name) {
    state.calls += 1;
    if (state.delayMs) await new Promise((resolve) => setTimeout(resolve, state.delayMs));
    if (state.unreachable) throw new Error("registry stub: unreachable");
    return state.policies.get(name) ?? null;
  }

  /** A policy (null: not registered). */
  async setPolicy(name, policy) {
    if (policy === null) state.policies.delete(name);
    else state.policies.set(name, policy);
  }

  async setUnreachable(unreachable) {
    state.unreachable = unreachable;
  }

  /** Makes serverPolicy answer this much later (ms). */
  async setDelay(ms) {
    state.delayMs = ms;
  }

  /** How many times serverPolicy was called. */
  async calls() {
    return state.calls;
  }

  /** Records what was approved for a server (kept across reset) and applies it to its policy now. */
  async approvePublished(name, approvedVersion, toolsDigest) {
    state.approved.set(name, { approvedVersion, toolsDigest });
    const policy = state.policies.get(name);
    if (policy) state.policies.set(name, { ...policy, approvedVersion, toolsDigest });
  }

  /** Back to the default policies, reachable, no delay, zero calls. */
  async reset() {
    reset();
  }
}
