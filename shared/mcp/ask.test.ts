import type { ClientCapabilities, InputRequest } from "@modelcontextprotocol/server";
import { describe, expect, it } from "vitest";
import { type Asker, clientAsks, declares, missingCapabilityError } from "./ask";

/** An asker that records what it was asked and answers from `answers` by method. */
function fakeAsker(capabilities: ClientCapabilities | undefined) {
  const asked: { key: string; request: InputRequest }[] = [];
  const answers: Record<string, unknown> = {
    "elicitation/create": { action: "accept", content: { ok: true } },
    "sampling/createMessage": { role: "assistant", content: { type: "text", text: "hi" }, model: "m" },
    "roots/list": { roots: [{ uri: "file:///r" }] },
  };
  const asker: Asker = {
    capabilities: () => capabilities,
    ask: async (key, request) => {
      asked.push({ key, request });
      return answers[request.method];
    },
    missingCapability: missingCapabilityError,
  };
  return { asker, asked };
}

const FORM = { message: "OK?", requestedSchema: { type: "object" as const, properties: {} } };
const SAMPLE = { messages: [{ role: "user" as const, content: { type: "text" as const, text: "hi" } }], maxTokens: 5 };

describe("clientAsks: what a handler's ctx.elicit / sample / listRoots check before asking", () => {
  it("names each ask by its key or its kind and position, and builds the era-neutral request", async () => {
    const { asker, asked } = fakeAsker({ elicitation: {}, sampling: {}, roots: {} });
    const asks = clientAsks("demo_tool", ["elicitation", "sampling", "roots"], asker);
    expect(await asks.elicit(FORM)).toEqual({ action: "accept", content: { ok: true } });
    await asks.sample(SAMPLE, { key: "greeting" });
    expect(await asks.listRoots()).toEqual([{ uri: "file:///r" }]);
    expect(asked.map(({ key, request }) => [key, request.method])).toEqual([
      ["elicitation-0", "elicitation/create"],
      ["greeting", "sampling/createMessage"],
      ["roots-2", "roots/list"],
    ]);
  });

  it("refuses an ask the tool did not declare, a malformed key and a key used twice", async () => {
    const { asker, asked } = fakeAsker({ elicitation: {}, sampling: {} });
    const asks = clientAsks("demo_tool", ["elicitation"], asker);
    await expect(asks.sample(SAMPLE)).rejects.toThrow(
      'Tool demo_tool asked the client for sampling (a model completion) but does not declare it (defineTool: asks: ["sampling"])',
    );
    await expect(asks.elicit(FORM, { key: "no spaces" })).rejects.toThrow('ask key "no spaces" must be');
    await asks.elicit(FORM, { key: "once" });
    await expect(asks.elicit(FORM, { key: "once" })).rejects.toThrow('ask key "once" is used twice in one call');
    expect(asked).toHaveLength(1);
  });

  it("refuses, through the era's error, what the client did not declare (-32021 naming it)", async () => {
    const { asker, asked } = fakeAsker({ elicitation: { form: {} } });
    const asks = clientAsks("demo_tool", ["elicitation", "sampling"], asker);
    await expect(asks.sample(SAMPLE)).rejects.toMatchObject({
      code: -32021,
      data: { requiredCapabilities: { sampling: {} } },
    });
    await expect(asks.elicit({ mode: "url", message: "Open", url: "https://x.example" })).rejects.toMatchObject({
      code: -32021,
      data: { requiredCapabilities: { elicitation: { url: {} } } },
    });
    expect(asks.canAsk("elicitation")).toBe(true);
    expect(asks.canAsk("sampling")).toBe(false);
    expect(asked).toEqual([]);
  });
});

describe("declares: the capabilities an ask needs", () => {
  it.each([
    [{}, "elicitation", false],
    [{ elicitation: {} }, "elicitation", true],
    [{ elicitation: {} }, "elicitation.url", false],
    [{ elicitation: { url: {} } }, "elicitation", false],
    [{ elicitation: { url: {} } }, "elicitation.url", true],
    [{ elicitation: { form: {}, url: {} } }, "elicitation", true],
    [{ sampling: {} }, "sampling", true],
    [{ sampling: {} }, "roots", false],
    [{ roots: { listChanged: true } }, "roots", true],
  ] as const)("%j covers %s: %s", (capabilities, kind, covered) => {
    expect(declares(capabilities as ClientCapabilities, kind)).toBe(covered);
  });
});
