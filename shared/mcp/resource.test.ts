/** defineResource / definePrompt refuse malformed declarations when the Worker loads, naming what is wrong. */
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { promptsFor } from "./prompt";
import { findResource, resourcesFor } from "./resource";
import { resourceCapabilities } from "./resource.serve";
import { defineServer } from "./server";
import type { ServerSpec } from "./server.definition";
import { toolsFor } from "./tool";

const defineResource = resourcesFor<unknown>();
const definePrompt = promptsFor<unknown>();
const read = async () => "x";
const get = async () => "x";

describe("defineResource", () => {
  it("refuses both or neither of uri and uriTemplate, a relative URI, variables in a fixed uri", () => {
    expect(() => defineResource({ name: "a", description: "d", read } as never)).toThrow(
      "declare exactly one of uri and uriTemplate",
    );
    expect(() =>
      defineResource({ name: "a", description: "d", uri: "x://a", uriTemplate: "x://{b}", read } as never),
    ).toThrow("declare exactly one of uri and uriTemplate");
    expect(() => defineResource({ name: "a", description: "d", uri: "no-scheme", read })).toThrow("absolute URI");
    expect(() => defineResource({ name: "a", description: "d", uri: "x://{id}", read })).toThrow(
      "declare it as uriTemplate",
    );
    expect(() => defineResource({ name: "a b", description: "d", uri: "x://a", read })).toThrow('name "a b"');
    expect(() => defineResource({ name: "a", description: "", uri: "x://a", read })).toThrow("needs a description");
  });

  it("refuses template args that are not its variables, undescribed ones, completions of unknown variables", () => {
    expect(() =>
      defineResource({
        name: "t",
        description: "d",
        uriTemplate: "x://{id}",
        args: { other: z.string().describe("o") },
        read,
      }),
    ).toThrow("args (other) must be the template's variables (id)");
    expect(() =>
      defineResource({ name: "t", description: "d", uriTemplate: "x://{id}", args: { id: z.string() }, read }),
    ).toThrow('variable "id" needs a .describe()');
    expect(() =>
      defineResource({
        name: "t",
        description: "d",
        uriTemplate: "x://{id}",
        complete: { nope: () => [] } as never,
        read,
      }),
    ).toThrow('complete names "nope"');
  });

  it("finds a fixed resource before a template, and a template's variables", () => {
    const fixed = defineResource({ name: "f", description: "d", uri: "x://items/latest", read });
    const template = defineResource({ name: "t", description: "d", uriTemplate: "x://items/{id}", read });
    expect(findResource([template, fixed], "x://items/latest")?.resource.name).toBe("f");
    expect(findResource([template, fixed], "x://items/42")).toMatchObject({
      resource: { name: "t" },
      variables: { id: "42" },
    });
    expect(findResource([template, fixed], "y://items/42")).toBeUndefined();
  });
});

describe("definePrompt", () => {
  it("refuses unprefixed names, undescribed or non-string arguments, unknown completions and asks", () => {
    expect(() => definePrompt({ name: "Summarise", description: "d", get })).toThrow("snake_case and prefixed");
    expect(() => definePrompt({ name: "demo_p", description: "d", args: { a: z.string() }, get })).toThrow(
      'argument "a" needs a .describe()',
    );
    expect(() =>
      definePrompt({ name: "demo_p", description: "d", args: { n: z.number().describe("n") }, get }),
    ).toThrow('argument "n" must accept strings');
    expect(() => definePrompt({ name: "demo_p", description: "d", complete: { x: () => [] } as never, get })).toThrow(
      'complete names "x"',
    );
    expect(() => definePrompt({ name: "demo_p", description: "d", asks: ["mind-reading" as never], get })).toThrow(
      'asks "mind-reading"',
    );
  });

  it("derives the MCP arguments: required unless optional", () => {
    const prompt = definePrompt({
      name: "demo_p",
      description: "d",
      args: { a: z.string().describe("A"), b: z.string().optional().describe("B") },
      get,
    });
    expect(prompt.arguments).toEqual([
      { name: "a", description: "A", required: true },
      { name: "b", description: "B", required: false },
    ]);
  });
});

describe("capabilities", () => {
  const spec = (extra: Partial<ServerSpec<unknown>>) =>
    ({ resources: [], prompts: [], ...extra }) as ServerSpec<unknown>;
  it("are advertised only for what the server declares; subscribe only in 2025 sessions", () => {
    expect(resourceCapabilities(spec({}), false)).toEqual({});
    const resource = defineResource({ name: "f", description: "d", uri: "x://a", read });
    expect(resourceCapabilities(spec({ resources: [resource] }), false)).toEqual({
      resources: { subscribe: true, listChanged: false },
    });
    expect(resourceCapabilities(spec({ resources: [resource] }), true)).toEqual({ resources: { listChanged: false } });
    const completing = definePrompt({
      name: "demo_p",
      description: "d",
      args: { a: z.string().describe("A") },
      complete: { a: () => ["x"] },
      get,
    });
    expect(resourceCapabilities(spec({ prompts: [completing] }), true)).toEqual({
      prompts: { listChanged: false },
      completions: {},
    });
  });
});

describe("defineServer", () => {
  const tool = toolsFor<unknown>()({
    name: "demo_read",
    description: "Read.",
    input: {},
    annotations: { readOnlyHint: true },
    access: { scopes: ["demo:read"] },
    minutesSaved: 0,
    run: async () => "ok",
  });
  const server = (extra: Partial<ServerSpec<unknown>>) =>
    defineServer({
      name: "demo",
      title: "Demo",
      description: "A demo server for the kit's tests.",
      version: "1.0.0",
      owner: { team: "platform", supportChannel: "#demo", onCall: "demo-oncall" },
      access: { scopes: ["demo:read"] },
      tools: [tool],
      example: { tool: "demo_read", arguments: {} },
      upstreams: () => ({}),
      ...extra,
    });
  it("refuses a prompt without the server's prefix, and a prompt or resource declared twice", () => {
    const other = definePrompt({ name: "other_p", description: "d", get });
    expect(() => server({ prompts: [other] })).toThrow('Prompt other_p must be prefixed with "demo_"');
    const prompt = definePrompt({ name: "demo_p", description: "d", get });
    expect(() => server({ prompts: [prompt, prompt] })).toThrow("Prompt demo_p is declared twice");
    const resource = defineResource({ name: "f", description: "d", uri: "demo://a", read });
    expect(() => server({ resources: [resource, resource] })).toThrow("Resource demo://a is declared twice");
    expect(() => server({ resources: [resource], prompts: [prompt] })).not.toThrow();
  });
});
