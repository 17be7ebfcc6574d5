/**
 * Resources a domain server offers besides its tools: one declaration each, `defineResource` for a
 * fixed URI or a URI template (RFC 6570, e.g. `echo://history/{day}`). The kit lists them (hiding
 * those the caller may not read), reads them through the same policy as a tool call (access:
 * groups, scopes, services), validates a template's variables with zod, answers an unknown URI
 * with the error the spec names (-32602, `data.uri`) and maps handler errors, in every era
 * (resource.serve.ts).
 */
import { type Resource as McpResource, type ResourceTemplateType, UriTemplate } from "@modelcontextprotocol/server";
import { z } from "zod";
import type { Caller } from "../auth/caller";
import type { ToolAccess } from "../auth/policy";

/** What `read` (and a completion) gets besides its arguments. */
export interface ResourceContext<Upstreams> {
  caller: Caller;
  env: Record<string, unknown>;
  /** Upstream API clients, built once per session by the server's `upstreams` factory. */
  upstream: Upstreams;
  /** Aborted when the client cancels the request or the session ends. */
  signal: AbortSignal;
}

/**
 * What `read` returns: text (in the resource's mimeType), text or base64 bytes with their own
 * mimeType, or several such parts (each may name its own URI, e.g. the items of a collection).
 */
export type ResourcePart =
  | { text: string; mimeType?: string; uri?: string }
  | { blob: string; mimeType?: string; uri?: string };
export type ResourceOutput = string | ResourcePart | ResourcePart[];

/** A completion for one argument: the values that start with (or match) what the user typed. */
export type CompleteFn<Upstreams> = {
  complete(
    prefix: string,
    ctx: ResourceContext<Upstreams> & { arguments: Record<string, string> },
  ): readonly string[] | Promise<readonly string[]>;
}["complete"];

interface ResourceCommon<Shape extends z.ZodRawShape, Upstreams> {
  /** A short identifier (shown in lists), e.g. "history". */
  name: string;
  title?: string;
  description: string;
  mimeType?: string;
  /** Who may read it, as for a tool; absent: every user the server admits, no services. */
  access?: ToolAccess;
  read(args: z.output<z.ZodObject<Shape>>, ctx: ResourceContext<Upstreams>): Promise<ResourceOutput>;
}

export type ResourceSpec<Shape extends z.ZodRawShape, Upstreams> =
  | (ResourceCommon<Record<never, never>, Upstreams> & { uri: string; uriTemplate?: undefined })
  | (ResourceCommon<Shape, Upstreams> & {
      /** RFC 6570 template, e.g. `echo://history/{day}`; each variable is an argument of `read`. */
      uriTemplate: string;
      uri?: undefined;
      /** The variables' schemas (strings; each with a `.describe()`); absent: every variable a string. */
      args?: Shape;
      /** Completions for the template's variables (completion/complete with `ref/resource`). */
      complete?: { [Variable in keyof Shape & string]?: CompleteFn<Upstreams> };
    });

/** A resource as the kit holds it. */
export interface Resource<Upstreams = unknown> {
  name: string;
  title: string | undefined;
  description: string;
  mimeType: string | undefined;
  access: ToolAccess;
  /** Set for a fixed resource. */
  uri: string | undefined;
  /** Set for a template. */
  template: UriTemplate | undefined;
  uriTemplate: string | undefined;
  schema: z.ZodObject;
  complete: Record<string, CompleteFn<Upstreams>>;
  read(args: Record<string, unknown>, ctx: ResourceContext<Upstreams>): Promise<ResourceOutput>;
}

/** The access of a resource or prompt that declares none: users the server admits, no services. */
export const DEFAULT_ACCESS: ToolAccess = {};

/**
 * Returns `defineResource` typed for a server's upstream clients:
 * `const defineResource = resourcesFor<EchoUpstreams>();`
 */
export function resourcesFor<Upstreams>() {
  return function defineResource<Shape extends z.ZodRawShape = Record<never, never>>(
    spec: ResourceSpec<Shape, Upstreams>,
  ): Resource<Upstreams> {
    const label = spec.uri ?? spec.uriTemplate ?? spec.name;
    if (!spec.name || !/^[A-Za-z0-9_.-]{1,64}$/.test(spec.name)) {
      throw new Error(`Resource ${label}: name "${spec.name}" must be 1-64 letters, digits, "_", "-" or "."`);
    }
    if (!spec.description) throw new Error(`Resource ${label}: needs a description`);
    if ((spec.uri === undefined) === (spec.uriTemplate === undefined)) {
      throw new Error(`Resource ${spec.name}: declare exactly one of uri and uriTemplate`);
    }
    if (spec.uri !== undefined) {
      if (!URI.test(spec.uri)) throw new Error(`Resource ${spec.name}: uri "${spec.uri}" must be an absolute URI`);
      if (UriTemplate.isTemplate(spec.uri)) {
        throw new Error(`Resource ${spec.name}: uri "${spec.uri}" has template variables: declare it as uriTemplate`);
      }
      return holder(spec, undefined, z.strictObject({}), {});
    }
    const template = new UriTemplate(spec.uriTemplate);
    if (!URI.test(spec.uriTemplate) || template.variableNames.length === 0) {
      throw new Error(
        `Resource ${spec.name}: uriTemplate "${spec.uriTemplate}" must be an absolute URI with variables`,
      );
    }
    const shape: z.ZodRawShape = spec.args ?? Object.fromEntries(template.variableNames.map((v) => [v, z.string()]));
    const declared = Object.keys(shape).sort().join(",");
    if (declared !== [...template.variableNames].sort().join(",")) {
      throw new Error(
        `Resource ${spec.name}: args (${declared || "none"}) must be the template's variables (${template.variableNames.join(",")})`,
      );
    }
    if (spec.args) {
      for (const [field, schema] of Object.entries(spec.args)) {
        if (!(schema as z.ZodType).description) {
          throw new Error(`Resource ${spec.name}: variable "${field}" needs a .describe()`);
        }
      }
    }
    const complete = (spec.complete ?? {}) as Record<string, CompleteFn<Upstreams>>;
    for (const variable of Object.keys(complete)) {
      if (!template.variableNames.includes(variable)) {
        throw new Error(`Resource ${spec.name}: complete names "${variable}", which is not a variable of its template`);
      }
    }
    return holder(spec, template, z.strictObject(shape), complete);
  };
}

const URI = /^[a-z][a-z0-9+.-]*:\S+$/i;

function holder<Upstreams>(
  spec: ResourceSpec<z.ZodRawShape, Upstreams>,
  template: UriTemplate | undefined,
  schema: z.ZodObject,
  complete: Record<string, CompleteFn<Upstreams>>,
): Resource<Upstreams> {
  return {
    name: spec.name,
    title: spec.title,
    description: spec.description,
    mimeType: spec.mimeType,
    access: spec.access ?? DEFAULT_ACCESS,
    uri: spec.uri,
    template,
    uriTemplate: spec.uriTemplate,
    schema,
    complete,
    read: spec.read as Resource<Upstreams>["read"],
  };
}

/** The resource a URI names, and the template's variables (empty for a fixed resource). */
export function findResource<Upstreams>(
  resources: readonly Resource<Upstreams>[],
  uri: string,
): { resource: Resource<Upstreams>; variables: Record<string, string | string[]> } | undefined {
  const fixed = resources.find((resource) => resource.uri === uri);
  if (fixed) return { resource: fixed, variables: {} };
  for (const resource of resources) {
    const variables = resource.template?.match(uri);
    if (variables) return { resource, variables };
  }
  return undefined;
}

/** What resources/list and resources/templates/list show of a declaration besides its URI. */
function listed(resource: Resource<unknown>) {
  return {
    name: resource.name,
    ...(resource.title ? { title: resource.title } : {}),
    description: resource.description,
    ...(resource.mimeType ? { mimeType: resource.mimeType } : {}),
  };
}

export function describeResource(resource: Resource<unknown>): McpResource {
  return { uri: resource.uri as string, ...listed(resource) };
}

export function describeResourceTemplate(resource: Resource<unknown>): ResourceTemplateType {
  return { uriTemplate: resource.uriTemplate as string, ...listed(resource) };
}
