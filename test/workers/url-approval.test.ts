/**
 * The kit's choice of approval: a client that opens links but answers no forms gets the registry
 * page (URL-mode elicitation) even for a normal-risk tool; the decision is bound to the validated
 * arguments; the outcome is audited with the approval's id once the session's outbox is flushed.
 */
import { env } from "cloudflare:test";
import type { ElicitRequest } from "@modelcontextprotocol/client";
import { describe, expect, it, vi } from "vitest";
import { z } from "zod";
import { decideApproval, getApproval } from "../../shared/approval/approval.store";
import { toolsFor } from "../../shared/mcp/tool";
import { digestArguments } from "../../shared/mcp/tool.invoke";
import { connect, textOf } from "./mcp-client";

describe("URL-mode approval in the kit", () => {
  it("asks a URL-only client through the registry page for a normal-risk tool, and audits the outcome", async () => {
    let id = "";
    const { client } = await connect({
      elicit: {
        modes: { url: true },
        answer: (params: ElicitRequest["params"]) => {
          id = (params as { url: string }).url.split("/").pop() as string;
          setTimeout(async () => {
            const row = await getApproval(env.DB, id);
            if (!row) return;
            await decideApproval(env.DB, {
              id,
              subject: row.subject,
              argsDigest: row.argsDigest,
              formToken: row.formToken,
              decision: "approved",
            });
          }, 200);
          return { action: "accept" };
        },
      },
    });
    const result = await client.callTool({ name: "echo_delete_item", arguments: { item: "page-approved" } });
    expect(textOf(result)).toBe("deleted page-approved");
    const row = await getApproval(env.DB, id);
    expect(row).toMatchObject({
      toolName: "echo_delete_item",
      arguments: { item: "page-approved" },
      argsDigest: digestArguments({ item: "page-approved" }),
      status: "approved",
    });
    await vi.waitFor(
      async () => {
        const audit = await env.DB.prepare(
          "SELECT decision, args_digest AS digest FROM audit_events WHERE instr(reason, ?) > 0",
        )
          .bind(`[approval ${id}]`)
          .all<{ decision: string; digest: string }>();
        expect(audit.results).toEqual([{ decision: "approved", digest: digestArguments({ item: "page-approved" }) }]);
      },
      { timeout: 8_000, interval: 250 },
    );
  });

  it("declares the owner's risk: a function is normal, { risk: 'high', action } is high", () => {
    const defineTool = toolsFor<unknown>();
    const base = {
      description: "A test tool",
      input: { item: z.string().describe("An item") },
      annotations: { destructiveHint: true },
      access: { scopes: ["echo:write"] },
      minutesSaved: 1,
      run: async () => "ok",
    } as const;
    const normal = defineTool({ ...base, name: "echo_normal_risk", approval: ({ item }) => `Delete ${item}?` });
    const high = defineTool({
      ...base,
      name: "echo_high_risk",
      approval: { risk: "high", action: ({ item }) => `Destroy ${item}?` },
    });
    expect([normal.approvalRisk, normal.approval?.({ item: "a" }, {} as never)]).toEqual(["normal", "Delete a?"]);
    expect([high.approvalRisk, high.approval?.({ item: "b" }, {} as never), high.needsApproval]).toEqual([
      "high",
      "Destroy b?",
      true,
    ]);
  });
});
