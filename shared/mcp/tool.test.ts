import { describe, expect, it } from "vitest";
import { z } from "zod";
import { toolsFor } from "./tool";

const defineTool = toolsFor<unknown>();
const base = {
  description: "test",
  input: { id: z.string().describe("an id") },
  minutesSaved: 1,
  run: async () => "ok",
};

describe("defineTool: what changes things needs a write scope", () => {
  it.each([
    [
      "a destructive tool with only a read scope",
      { annotations: { destructiveHint: true }, access: { scopes: ["demo:read"] } },
    ],
    ["a destructive tool with no scope", { annotations: { destructiveHint: true }, access: { groups: ["ops"] } }],
    [
      "a non-destructive write with only a read scope",
      { annotations: { destructiveHint: false }, access: { scopes: ["demo:read"] } },
    ],
    [
      "a tool that needs approval with only a read scope",
      { annotations: { readOnlyHint: true }, access: { scopes: ["demo:read"] }, approval: () => "Do it?" },
    ],
  ] as const)("refuses %s", (_label, spec) => {
    expect(() => defineTool({ name: "demo_change", ...base, ...spec } as never)).toThrow(
      /demo_change: a tool that is not read-only or needs approval must require a write scope \(e\.g\. demo:write\)/,
    );
  });

  it("accepts a destructive tool with a write scope, and a read-only tool with a read scope", () => {
    expect(
      defineTool({
        name: "demo_kill",
        ...base,
        annotations: { destructiveHint: true },
        access: { scopes: ["demo:read", "demo:write"] },
        approval: () => "Kill?",
      }).needsApproval,
    ).toBe(true);
    expect(
      defineTool({ name: "demo_list", ...base, annotations: { readOnlyHint: true }, access: { scopes: ["demo:read"] } })
        .name,
    ).toBe("demo_list");
  });
});
