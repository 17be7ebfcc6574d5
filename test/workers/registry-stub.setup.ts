/**
 * Before each workerd test file: the registry stub learns the Worker under test the way the
 * registry does: from its own publish document (served at /.well-known/mcp-fleet/server.json),
 * published and approved as proposed: its version, the digest of its tools (computed by the
 * registry's own function), its environment, groups and services. Nothing is hard-coded, so the
 * stub never goes stale when a tool changes, and a new server's project needs nothing here.
 */
import { env } from "cloudflare:test";
import { exports } from "cloudflare:workers";
import { PUBLISH_DOCUMENT_PATH } from "../../shared/registry/publish.document";
import { PUBLISHER_META, serverJsonSchema } from "../../shared/registry/registry.contract";
import { inventoryDigest, publishedInventory } from "../../shared/registry/tool.digest";

const worker = exports as unknown as { default: Fetcher };
const response = await worker.default.fetch(new Request(`http://localhost${PUBLISH_DOCUMENT_PATH}`));
if (response.ok) {
  const document = serverJsonSchema.parse(await response.json());
  const name = document.name.slice(document.name.indexOf("/") + 1);
  const published = document._meta[PUBLISHER_META];
  const digest = await inventoryDigest(publishedInventory(document));
  // The stub outlives a file (one runtime per project): what a file changed (policies, an outage,
  // a delay) must not reach the next, even if that file failed before putting it back.
  await env.REGISTRY.reset();
  await env.REGISTRY.approvePublished(name, document.version, digest, {
    environments: published.environments,
    allowedGroups: published.allowedGroups ?? [],
    allowedServices: published.allowedServices ?? false,
  });
} else {
  await response.body?.cancel();
}
