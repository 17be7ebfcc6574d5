/**
 * The registry's governance writes: publish a version, move a server through its lifecycle,
 * record reviews, set who may use a server. Each needs a token with registry:write (and the role
 * registry.authz.ts names), and each is one D1 batch (registry.store.ts). Writers see the full
 * governance block in the answer.
 */
import { createRoute } from "@hono/zod-openapi";
import {
  accessChangeSchema,
  lifecycleChangeSchema,
  PUBLISHER_META,
  reviewInputSchema,
  serverJsonSchema,
} from "../shared/registry/registry.contract";
import { actorOf, mayChangeLifecycle, mayPublish, mayReview, maySetAccess } from "./registry.authz";
import { problem } from "./registry.problems";
import { reviewJson, toServerResponse } from "./registry.responses";
import {
  bearer,
  json,
  nameParam,
  notFound,
  problemResponse,
  Review,
  refused,
  register,
  ServerResponse,
  serverRowOf,
  shortName,
  writer,
} from "./registry.routes";
import {
  addReview,
  ConflictError,
  getServerEntry,
  getServerRow,
  publishVersion,
  setAccess,
  setLifecycle,
} from "./registry.store";

/** Declares the write routes on the API app (called once, by registry.api.ts). */
export function registerWriteRoutes(): void {
  register(
    createRoute({
      method: "post",
      path: "/v0.1/publish",
      summary: "Publish a server version (owning team members or the pipeline)",
      security: bearer,
      request: { body: { content: { "application/json": { schema: serverJsonSchema } }, required: true } },
      responses: {
        201: json(ServerResponse, "Published"),
        400: problemResponse("Invalid server.json"),
        401: problemResponse("No valid token"),
        403: problemResponse("Not allowed"),
        409: problemResponse("Version exists, or ownership conflict"),
      },
    }),
    async (c) => {
      const caller = await writer(c);
      if (caller instanceof Response) return caller;
      const document = c.req.valid("json");
      const [namespace, name] = document.name.split("/") as [string, string];
      if (namespace !== c.env.REGISTRY_NAMESPACE) {
        const message = `must start with ${c.env.REGISTRY_NAMESPACE}/ (this registry's namespace)`;
        return problem(c, 400, "Bad Request", `name ${message}`, [
          { location: "body.name", message, value: document.name },
        ]);
      }
      const meta = document._meta[PUBLISHER_META];
      const existing = await getServerRow(c.env.DB, name);
      const verdict = mayPublish(caller, c.env, existing, meta.team);
      if (!verdict.ok) return refused(c, verdict);
      try {
        await publishVersion(c.env.DB, name, document, actorOf(caller));
      } catch (error) {
        if (error instanceof ConflictError) return problem(c, 409, "Conflict", error.message);
        throw error;
      }
      const entry = await getServerEntry(c.env.DB, name, document.version);
      if (!entry) throw new Error(`published ${name} ${document.version} but cannot read it back`);
      return c.json(toServerResponse(entry, true), 201);
    },
  );

  register(
    createRoute({
      method: "put",
      path: "/v0.1/servers/{name}/lifecycle",
      summary: "Move a server through draft → in_review → approved → deprecated → retired",
      security: bearer,
      request: {
        params: nameParam,
        body: { content: { "application/json": { schema: lifecycleChangeSchema } }, required: true },
      },
      responses: {
        200: json(ServerResponse, "The server's latest version after the change"),
        400: problemResponse("Invalid body"),
        403: problemResponse("Not allowed"),
        404: problemResponse("No such server"),
        409: problemResponse(
          "Transition not possible, reviews missing or not from two people outside the owning team, or the version approved is no longer the latest",
        ),
      },
    }),
    async (c) => {
      const caller = await writer(c);
      if (caller instanceof Response) return caller;
      const name = shortName(c.req.valid("param").name, c.env);
      const latest = name ? await getServerEntry(c.env.DB, name, "latest") : undefined;
      if (!name || !latest) return notFound(c, c.req.valid("param").name);
      const { lifecycle, note, version } = c.req.valid("json");
      // An approval is for the version the reviews were for: the one named, or the latest as read here.
      const approval = { version: version ?? latest.version.version, toolsDigest: latest.version.toolsDigest };
      const verdict = mayChangeLifecycle(caller, c.env, latest.server, lifecycle, latest.reviews, approval);
      if (!verdict.ok) return refused(c, verdict);
      const changed = await setLifecycle(
        c.env.DB,
        name,
        {
          from: latest.server.lifecycle,
          to: lifecycle,
          note,
          ...(lifecycle === "approved" ? { version: approval.version } : {}),
        },
        actorOf(caller),
      );
      if (!changed) {
        const detail =
          lifecycle === "approved"
            ? `${name} changed meanwhile (a new version was published, or its lifecycle moved): ${approval.version} was not approved; read it again, review the latest version and retry`
            : `${name} changed meanwhile; read it again and retry`;
        return problem(c, 409, "Conflict", detail);
      }
      return c.json(toServerResponse((await getServerEntry(c.env.DB, name, "latest")) ?? latest, true), 200);
    },
  );

  register(
    createRoute({
      method: "post",
      path: "/v0.1/servers/{name}/reviews",
      summary: "Record a Security, Legal/Privacy or GenAI review (reviewers)",
      security: bearer,
      request: {
        params: nameParam,
        body: { content: { "application/json": { schema: reviewInputSchema } }, required: true },
      },
      responses: {
        201: json(Review, "Recorded"),
        400: problemResponse("Invalid body"),
        403: problemResponse("Not a reviewer, or a member of the owning team"),
        404: problemResponse("No such server or version"),
      },
    }),
    async (c) => {
      const caller = await writer(c);
      if (caller instanceof Response) return caller;
      const server = await serverRowOf(c, c.req.valid("param").name);
      if (server instanceof Response) return server;
      const { name } = server;
      const verdict = mayReview(caller, c.env, server);
      if (!verdict.ok) return refused(c, verdict);
      const input = c.req.valid("json");
      const version = input.version ?? server.latestVersion;
      if (!(await getServerEntry(c.env.DB, name, version))) {
        return problem(c, 404, "Not Found", `${name} has no version ${version}`, [
          { location: "body.version", message: "no such version", value: version },
        ]);
      }
      const review = await addReview(
        c.env.DB,
        {
          serverName: name,
          version,
          kind: input.kind,
          state: input.state,
          notes: input.notes,
          reviewer: caller.principal,
          reviewerSubject: caller.subject,
          reviewerGroups: caller.groups,
          at: new Date(),
        },
        actorOf(caller),
      );
      return c.json(reviewJson(review, true), 201);
    },
  );

  register(
    createRoute({
      method: "put",
      path: "/v0.1/servers/{name}/access",
      summary: "Set the business groups and services allowed to use a server (and, for reviewers, its environments)",
      security: bearer,
      request: {
        params: nameParam,
        body: { content: { "application/json": { schema: accessChangeSchema } }, required: true },
      },
      responses: {
        200: json(ServerResponse, "The server's latest version after the change"),
        400: problemResponse("Invalid body"),
        403: problemResponse("Not allowed"),
        404: problemResponse("No such server"),
      },
    }),
    async (c) => {
      const caller = await writer(c);
      if (caller instanceof Response) return caller;
      const server = await serverRowOf(c, c.req.valid("param").name);
      if (server instanceof Response) return server;
      const { name } = server;
      const change = c.req.valid("json");
      const latest = await getServerEntry(c.env.DB, name, "latest");
      const reviewed = Object.values(latest?.reviews ?? {}).some((review) => review !== null);
      const verdict = maySetAccess(caller, c.env, server, change, reviewed);
      if (!verdict.ok) return refused(c, verdict);
      await setAccess(c.env.DB, name, change, actorOf(caller));
      const entry = await getServerEntry(c.env.DB, name, "latest");
      if (!entry) throw new Error(`${name} has no latest version`);
      return c.json(toServerResponse(entry, true), 200);
    },
  );
}
