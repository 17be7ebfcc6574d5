/**
 * Puts the local fleet's servers into the local registry the way production does it: the
 * pipeline's service identity publishes each server's own server.json (served by the kit at
 * /.well-known/mcp-fleet/server.json), then a reviewer (the local `admin` user, signed in through
 * the real consent page and the local IdP) records the three reviews and approves it.
 * Idempotent: a server already published at this version and approved is left alone.
 */
import { serviceToken, signIn } from "./oauth.client.ts";

export interface SeedOptions {
  registryUrl: string;
  authUrl: string;
  /** Origins of the domain servers to publish. */
  servers: string[];
  pipeline: { name: string; secret: string };
  /** A member of the reviewers group at the local IdP. */
  reviewer?: string;
}

const REVIEW_NOTE = "Local development fleet: reviewed automatically by `npm start` (local/registry.seed.ts).";

export async function seedRegistry(options: SeedOptions): Promise<void> {
  const { registryUrl, authUrl } = options;
  const tokenResponse = await serviceToken(authUrl, options.pipeline, registryUrl, "registry:write");
  if (!tokenResponse.ok) throw new Error(`pipeline token: ${tokenResponse.status} ${await tokenResponse.text()}`);
  const pipeline = ((await tokenResponse.json()) as { access_token: string }).access_token;
  let reviewerToken: string | undefined;
  const reviewer = async () => {
    reviewerToken ??= (await signIn(authUrl, options.reviewer ?? "admin", registryUrl, "registry:read registry:write"))
      .access_token;
    return reviewerToken;
  };

  for (const origin of options.servers) {
    const documentResponse = await fetch(`${origin}/.well-known/mcp-fleet/server.json`);
    if (!documentResponse.ok) throw new Error(`${origin}: no server.json (HTTP ${documentResponse.status})`);
    const document = (await documentResponse.json()) as { name: string; version: string };
    const published = await api(registryUrl, "POST", "/v0.1/publish", pipeline, document);
    if (published.status === 409) {
      console.warn(`${document.name} ${document.version} is already published; bump its version to publish changes`);
    } else if (published.status !== 201) {
      throw new Error(`publishing ${document.name}: ${published.status} ${await published.text()}`);
    }
    const name = encodeURIComponent(document.name);
    const latest = (await (await fetch(`${registryUrl}/v0.1/servers/${name}/versions/latest`)).json()) as {
      _meta: Record<string, { lifecycle?: string }>;
    };
    let lifecycle = latest._meta["dev.mcp-fleet/governance"]?.lifecycle;
    if (lifecycle === "approved") continue;
    if (lifecycle === "deprecated" || lifecycle === "retired") {
      console.warn(`${document.name} is ${lifecycle} in the local registry; left as is`);
      continue;
    }
    if (lifecycle === "draft") {
      await expectOk(api(registryUrl, "PUT", `/v0.1/servers/${name}/lifecycle`, pipeline, { lifecycle: "in_review" }));
      lifecycle = "in_review";
    }
    const token = await reviewer();
    for (const kind of ["security", "legal", "genai"]) {
      await expectOk(
        api(registryUrl, "POST", `/v0.1/servers/${name}/reviews`, token, {
          kind,
          state: "approved",
          notes: REVIEW_NOTE,
        }),
      );
    }
    await expectOk(
      api(registryUrl, "PUT", `/v0.1/servers/${name}/lifecycle`, token, { lifecycle: "approved", note: REVIEW_NOTE }),
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
