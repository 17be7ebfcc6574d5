/**
 * Puts the local fleet's servers into the local registry the way production does it: the
 * pipeline's service identity publishes each server's own server.json (served by the kit at
 * /.well-known/mcp-fleet/server.json), then two reviewers outside every owning team (the local
 * `dave` and `erin`, signed in through the real consent page and the local IdP) record the three
 * reviews and approve the version they reviewed. Approval needs reviews by two different people,
 * none of them on the owning team (`admin` is in data-eng, which owns Presto).
 * Idempotent: a server already approved at the version it runs is left alone.
 */
import type { ServerJson } from "../shared/registry/registry.contract.ts";
import { inventoryDigest, publishedInventory, shortDigest } from "../shared/registry/tool.digest.ts";
import { serviceToken, signIn } from "./oauth.client.ts";

export interface SeedOptions {
  registryUrl: string;
  authUrl: string;
  /** Origins of the domain servers to publish. */
  servers: string[];
  pipeline: { name: string; secret: string };
  /** Two members of the reviewers group at the local IdP, on none of the servers' owning teams. */
  reviewers?: [string, string];
}

const REVIEW_NOTE = "Local development fleet: reviewed automatically by `npm start` (local/registry.seed.ts).";
const DEFAULT_REVIEWERS: [string, string] = ["dave", "erin"];

interface Governance {
  lifecycle?: string;
  approvedVersion?: string | null;
  toolsDigest?: string | null;
}

export async function seedRegistry(options: SeedOptions): Promise<void> {
  const { registryUrl, authUrl } = options;
  const tokenResponse = await serviceToken(authUrl, options.pipeline, registryUrl, "registry:write");
  if (!tokenResponse.ok) throw new Error(`pipeline token: ${tokenResponse.status} ${await tokenResponse.text()}`);
  const pipeline = ((await tokenResponse.json()) as { access_token: string }).access_token;
  const [first, second] = options.reviewers ?? DEFAULT_REVIEWERS;
  const tokens = new Map<string, Promise<string>>();
  const reviewer = (username: string) => {
    let token = tokens.get(username);
    if (!token) {
      token = signIn(authUrl, username, registryUrl, "registry:read registry:write").then((t) => t.access_token);
      tokens.set(username, token);
    }
    return token;
  };

  for (const origin of options.servers) {
    const documentResponse = await fetch(`${origin}/.well-known/mcp-fleet/server.json`);
    if (!documentResponse.ok) throw new Error(`${origin}: no server.json (HTTP ${documentResponse.status})`);
    const document = (await documentResponse.json()) as ServerJson;
    const published = await api(registryUrl, "POST", "/v0.1/publish", pipeline, document);
    if (published.status !== 201 && published.status !== 409) {
      throw new Error(`publishing ${document.name}: ${published.status} ${await published.text()}`);
    }
    const name = encodeURIComponent(document.name);
    // Read as a reviewer: an anonymous reader is shown approved versions only, not a new draft.
    const stored = (await (
      await fetch(`${registryUrl}/v0.1/servers/${name}/versions/${encodeURIComponent(document.version)}`, {
        headers: { authorization: `Bearer ${await reviewer(first)}` },
      })
    ).json()) as { _meta: Record<string, Governance> };
    const governance = stored._meta["dev.mcp-fleet/governance"] ?? {};
    if (published.status === 409) {
      const running = await inventoryDigest(publishedInventory(document));
      if (governance.toolsDigest !== running) {
        console.warn(
          `${document.name} ${document.version} is already published with another inventory (digest ` +
            `${shortDigest(governance.toolsDigest ?? "none")} vs the running ${shortDigest(running)}): the server ` +
            "refuses requests until its running code is published and approved: bump its version, or start from a " +
            "fresh local registry (remove .wrangler/state)",
        );
        continue;
      }
    }
    let lifecycle = governance.lifecycle;
    if (lifecycle === "approved" && governance.approvedVersion === document.version) continue;
    if (lifecycle === "deprecated" || lifecycle === "retired") {
      console.warn(`${document.name} is ${lifecycle} in the local registry; left as is`);
      continue;
    }
    if (lifecycle === "draft") {
      await expectOk(api(registryUrl, "PUT", `/v0.1/servers/${name}/lifecycle`, pipeline, { lifecycle: "in_review" }));
      lifecycle = "in_review";
    }
    // Approved at another version (or before approvals recorded their version): the version this
    // server runs is in review while the approved one keeps serving; review it and approve it.
    for (const [kind, by] of [
      ["security", first],
      ["legal", first],
      ["genai", second],
    ] as const) {
      await expectOk(
        api(registryUrl, "POST", `/v0.1/servers/${name}/reviews`, await reviewer(by), {
          kind,
          state: "approved",
          notes: REVIEW_NOTE,
          version: document.version,
        }),
      );
    }
    await expectOk(
      api(registryUrl, "PUT", `/v0.1/servers/${name}/lifecycle`, await reviewer(first), {
        lifecycle: "approved",
        version: document.version,
        note: REVIEW_NOTE,
      }),
    );
  }
}

function api(registryUrl: string, method: string, path: string, token: string, body: unknown): Promise<Response> {
  return fetch(`${registryUrl}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: JSON.stringify(body),
  });
}

async function expectOk(pending: Promise<Response>): Promise<void> {
  const response = await pending;
  if (!response.ok) throw new Error(`${response.url}: ${response.status} ${await response.text()}`);
}
