import { describe, expect, it } from "vitest";
import { PUBLISH_DOCUMENT_PATH } from "../../shared/registry/publish.document";
import { PUBLISHER_META, serverJsonSchema } from "../../shared/registry/registry.contract";
import { workerFetch } from "../../test/workers/mcp-client";
import { prestoTools } from "./presto.tools";

describe("presto's publish document", () => {
  it("is a server.json the registry accepts, with its owner and every tool", async () => {
    const response = await workerFetch(`http://localhost${PUBLISH_DOCUMENT_PATH}`);
    expect(response.status).toBe(200);
    const document = serverJsonSchema.parse(await response.json());
    expect(document.name).toBe("com.example.mcp-fleet/presto");
    expect(document.remotes).toEqual([{ type: "streamable-http", url: "http://localhost/mcp" }]);
    const publisher = document._meta[PUBLISHER_META];
    expect(publisher).toMatchObject({
      team: "data-eng",
      supportChannel: "#data-eng-help",
      onCall: "data-eng-oncall",
      environments: ["test"],
      allowedGroups: ["data-eng", "ads", "finance"],
      allowedServices: true,
    });
    expect(publisher.tools.map((tool) => tool.name)).toEqual(prestoTools.map((tool) => tool.name));
    expect(publisher.tools.find((tool) => tool.name === "presto_kill_query")?.needsApproval).toBe(true);
  });
});
