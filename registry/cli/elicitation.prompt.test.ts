import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { ElicitRequestFormParams } from "@modelcontextprotocol/client";
import { answerElicitation, answerUrlElicitation, type ElicitationIo } from "./elicitation.prompt.ts";

/** The kit's approval request (shared/mcp/tool.invoke.ts). */
const approval: ElicitRequestFormParams = {
  mode: "form",
  message: "Kill Presto query q1?",
  requestedSchema: {
    type: "object",
    properties: { approve: { type: "boolean", title: "Approve" } },
    required: ["approve"],
  },
};

function io(options: Partial<ElicitationIo> & { answers?: string[] }): ElicitationIo & { lines: string[] } {
  const lines: string[] = [];
  const answers = [...(options.answers ?? [])];
  return {
    yes: options.yes ?? false,
    interactive: options.interactive ?? false,
    ask: async (question) => {
      lines.push(question);
      return answers.shift() ?? "";
    },
    log: (line) => lines.push(line),
    lines,
  };
}

describe("answerElicitation", () => {
  it("asks on a terminal: y approves, anything else declines", async () => {
    assert.deepEqual(await answerElicitation(approval, io({ interactive: true, answers: ["y"] })), {
      action: "accept",
      content: { approve: true },
    });
    assert.deepEqual(await answerElicitation(approval, io({ interactive: true, answers: [""] })), {
      action: "decline",
    });
  });

  it("without a terminal declines and says why, unless --yes", async () => {
    const quiet = io({});
    assert.deepEqual(await answerElicitation(approval, quiet), { action: "decline" });
    assert.ok(quiet.lines.some((line) => line.includes("--yes")));
    assert.ok(quiet.lines.some((line) => line.includes("Kill Presto query q1?")));
    assert.deepEqual(await answerElicitation(approval, io({ yes: true })), {
      action: "accept",
      content: { approve: true },
    });
  });

  it("fills other forms field by field on a terminal", async () => {
    const form: ElicitRequestFormParams = {
      message: "Which cluster?",
      requestedSchema: {
        type: "object",
        properties: {
          cluster: { type: "string", enum: ["a", "b"] },
          rows: { type: "integer", default: 10 },
        },
        required: ["cluster"],
      },
    };
    const answers = ["c", "b", "", "y"];
    assert.deepEqual(await answerElicitation(form, io({ interactive: true, answers })), {
      action: "accept",
      content: { cluster: "b", rows: 10 },
    });
    assert.deepEqual(await answerElicitation(form, io({ yes: true })), { action: "decline" });
  });
});

describe("answerUrlElicitation", () => {
  const link = {
    mode: "url" as const,
    message: "Approve or reject on the fleet registry, signed in as yourself: Forget everything?",
    url: "https://registry.mcp.example.com/approvals/abc",
    elicitationId: "abc",
  };

  it("prints the link, opens it when a browser is configured, and waits for the page's decision", () => {
    const opened: string[] = [];
    const answers = io({});
    assert.deepEqual(
      answerUrlElicitation(link, answers, (url) => opened.push(url)),
      { action: "accept" },
    );
    assert.deepEqual(opened, [link.url]);
    const printed = answers.lines.join("\n");
    assert.match(printed, /Forget everything\?/);
    assert.match(printed, /\n {2}https:\/\/registry\.mcp\.example\.com\/approvals\/abc\n/);
    assert.match(printed, /Opened it in your browser\.\nWaiting for your decision…$/);
  });

  it("only prints the link without a browser; --yes approves nothing", () => {
    const answers = io({ yes: true });
    assert.deepEqual(answerUrlElicitation(link, answers), { action: "accept" });
    const printed = answers.lines.join("\n");
    assert.match(printed, /--yes does not apply/);
    assert.doesNotMatch(printed, /Opened it/);
  });

  it("declines a link that is not http(s), opening nothing", () => {
    const opened: string[] = [];
    for (const url of ["file:///etc/passwd", "javascript:alert(1)", "not a url"]) {
      assert.deepEqual(
        answerUrlElicitation({ ...link, url }, io({}), (u) => opened.push(u)),
        { action: "decline" },
      );
    }
    assert.deepEqual(opened, []);
  });
});
