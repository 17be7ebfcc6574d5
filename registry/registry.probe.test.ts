/**
 * Which URLs the live-status cron probes, in workerd with real D1: only those a reviewer vetted.
 * The approved version's remote for a server in review or approved (never a newer version's
 * remote that nobody has reviewed), else, for a server in review that was never approved, its
 * version's remote once a security review of that version approved it. Never a draft's.
 */
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { listProbeTargets } from "./registry.health";
import { addReview, publishVersion, setLifecycle } from "./registry.store";
import { testServerJson } from "./registry.testing";

const document = (name: string, version: string, host: string) =>
  testServerJson(name, { version, remoteUrl: `https://${host}/mcp` });

async function securityReview(name: string, version: string, state: "approved" | "changes_requested") {
  const at = new Date(Date.now() + Math.random());
  await addReview(
    env.DB,
    { serverName: name, version, kind: "security", state, notes: "", reviewer: "rita@example.com", at },
    "user:rita@example.com",
  );
}

async function targetOf(name: string): Promise<string | undefined | null> {
  const target = (await listProbeTargets(env.DB)).find((candidate) => candidate.server === name);
  return target ? (target.remote?.url ?? null) : undefined;
}

describe("listProbeTargets", () => {
  it("leaves out a server its owners put in review until a security review approved its URL", async () => {
    await publishVersion(env.DB, "pt-unvetted", document("pt-unvetted", "1.0.0", "10.0.0.7.nip.io"), "user:olga");
    await setLifecycle(env.DB, "pt-unvetted", { from: "draft", to: "in_review" }, "user:olga");
    expect(await targetOf("pt-unvetted")).toBeUndefined();
    await securityReview("pt-unvetted", "1.0.0", "changes_requested");
    expect(await targetOf("pt-unvetted")).toBeUndefined();
    await securityReview("pt-unvetted", "1.0.0", "approved");
    expect(await targetOf("pt-unvetted")).toBe("https://10.0.0.7.nip.io/mcp");
    // The latest security review is the one that counts.
    await securityReview("pt-unvetted", "1.0.0", "changes_requested");
    expect(await targetOf("pt-unvetted")).toBeUndefined();
  });

  it("probes an approved server at its approved version's URL, not at a newer unreviewed version's", async () => {
    await publishVersion(env.DB, "pt-moved", document("pt-moved", "1.0.0", "pt-moved.example.com"), "user:olga");
    await setLifecycle(env.DB, "pt-moved", { from: "draft", to: "in_review" }, "user:olga");
    await setLifecycle(env.DB, "pt-moved", { from: "in_review", to: "approved", version: "1.0.0" }, "user:rita");
    await publishVersion(env.DB, "pt-moved", document("pt-moved", "1.1.0", "internal.corp.example"), "user:olga");
    expect(await targetOf("pt-moved")).toBe("https://pt-moved.example.com/mcp");
    // Sent back to review, it is still probed where reviewers approved it.
    await setLifecycle(env.DB, "pt-moved", { from: "approved", to: "in_review" }, "user:rita");
    expect(await targetOf("pt-moved")).toBe("https://pt-moved.example.com/mcp");
  });

  it("never probes a draft, even one with an approved security review", async () => {
    await publishVersion(env.DB, "pt-draft", document("pt-draft", "1.0.0", "pt-draft.example.com"), "user:olga");
    await securityReview("pt-draft", "1.0.0", "approved");
    expect(await targetOf("pt-draft")).toBeUndefined();
  });
});
