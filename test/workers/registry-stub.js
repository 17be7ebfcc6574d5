// Stand-in for the registry Worker's `serverPolicy` RPC in the kit's workerd tests: policies held
// in memory, changed by the tests through the same binding (setPolicy, setUnreachable, setDelay), with a
// count of serverPolicy calls so tests can see what the kit's cache saves. A project's files share
// one runtime (vitest.config.ts), so the setup file resets this state before each file. The real
// registry is tested in registry/ and end to end.
//
// Nothing about any server is written here: before each test file,
// test/workers/registry-stub.setup.ts reads the Worker under test's own publish document and
// records it with `approvePublished`, as publishing and approving would: its version, the digest
// of its tools (by the registry's function), and the groups and services it proposes, approved for
// the environment it runs in ("test"). So the defaults always match the code the tests run, for any server.
import { WorkerEntrypoint } from "cloudflare:workers";

const state = { policies: new Map(), approved: new Map(), unreachable: false, delayMs: 0, calls: 0 };

function reset() {
  state.policies = new Map([...state.approved].map(([name, policy]) => [name, structuredClone(policy)]));
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

  /**
   * Records a server as published and approved (kept across reset) and applies it now: `published`
   * is what its publish document proposes (environments, allowedGroups, allowedServices).
   */
  async approvePublished(name, approvedVersion, toolsDigest, published) {
    const policy = {
      name,
      lifecycle: "approved",
      environments: [...published.environments],
      allowedGroups: [...published.allowedGroups],
      allowedServices: published.allowedServices,
      approvedVersion,
      toolsDigest,
    };
    state.approved.set(name, policy);
    state.policies.set(name, structuredClone(policy));
  }

  /** Back to the approved policies, reachable, no delay, zero calls. */
  async reset() {
    reset();
  }
}
