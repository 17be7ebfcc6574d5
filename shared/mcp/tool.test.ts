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

describe("defineTool: what a handler may ask the client", () => {
  const reader = { annotations: { readOnlyHint: true }, access: { scopes: ["demo:read"] } } as const;

  it("keeps the declared asks (once each), none by default", () => {
    expect(defineTool({ name: "demo_ask", ...base, ...reader, asks: ["sampling", "roots", "sampling"] }).asks).toEqual([
      "sampling",
      "roots",
    ]);
    expect(defineTool({ name: "demo_plain", ...base, ...reader }).asks).toEqual([]);
  });

  it("refuses an unknown kind, and asks beside an approval", () => {
    expect(() => defineTool({ name: "demo_ask", ...base, ...reader, asks: ["telepathy"] } as never)).toThrow(
      'Tool demo_ask: asks "telepathy" must be one of "elicitation", "sampling", "roots"',
    );
    expect(() =>
      defineTool({
        name: "demo_both",
        ...base,
        annotations: { destructiveHint: true },
        access: { scopes: ["demo:write"] },
        approval: () => "Do it?",
        asks: ["elicitation"],
      }),
    ).toThrow("Tool demo_both: a tool that needs approval cannot also ask the client (asks)");
  });
});

describe("defineTool: task", () => {
  const read = { annotations: { readOnlyHint: true }, access: { scopes: ["demo:read"] } } as const;

  it("keeps the declared task support, and `{ when }` as optional for the calls it holds for", () => {
    expect(defineTool({ name: "demo_wait", ...base, ...read, task: "required" }).task).toBe("required");
    const when = defineTool({ name: "demo_maybe", ...base, ...read, task: { when: (args) => args.id === "long" } });
    expect(when.task).toBe("optional");
    expect(when.taskWhen?.({ id: "long" })).toBe(true);
    expect(when.taskWhen?.({ id: "short" })).toBe(false);
    expect(defineTool({ name: "demo_plain", ...base, ...read }).task).toBeUndefined();
  });

  it("refuses prepare without task", () => {
    expect(() => defineTool({ name: "demo_prep", ...base, ...read, prepare: async () => ({}) })).toThrow(
      /Tool demo_prep: prepare is for task tools/,
    );
  });

  it("refuses anything else, naming the tool", () => {
    expect(() => defineTool({ name: "demo_bad", ...base, ...read, task: "always" } as never)).toThrow(
      /Tool demo_bad: task must be "optional", "required" or \{ when\(args\) \}/,
    );
  });
});
