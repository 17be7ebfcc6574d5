/**
 * The local Apache Livy batches API (part of local/spark.upstream.ts), as Livy 0.8 answers:
 * `GET /batches?from&size` → `{from, total, sessions}`; `POST /batches` (CreateBatchRequest:
 * unknown fields and a missing `file` refused with 400) → 201, a Location header and the
 * BatchSessionView; `GET /batches/{id}`, `/state`, `/log?from&size` (default: the last 100
 * lines); `DELETE /batches/{id}` → `{"msg":"deleted"}`, after which the batch is gone (404
 * `{"msg":"Session '7' not found."}`). POST and DELETE need `X-Requested-By` (Livy's CSRF
 * protection). A batch is `starting`, then `running` with a YARN application id, then `success`,
 * or `dead` when its file's name contains "fail".
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { LivyBatch, LivyBatchRequest, LivyState } from "../workers/spark/spark.history.types.ts";

const FIELDS: (keyof LivyBatchRequest)[] = [
  "file",
  "proxyUser",
  "className",
  "args",
  "jars",
  "pyFiles",
  "files",
  "driverMemory",
  "driverCores",
  "executorMemory",
  "executorCores",
  "numExecutors",
  "archives",
  "queue",
  "name",
  "conf",
];

export interface LivyOptions {
  /** How long a batch stays `starting` (default 800 ms). */
  startingMs?: number;
  /** How long it then runs (default 2500 ms). */
  runningMs?: number;
}

interface Batch {
  id: number;
  request: LivyBatchRequest;
  owner: string | null;
  createdAt: number;
}

export interface LivyStats {
  /** Every accepted submission, in order, with the proxy user Livy would run it as. */
  submitted: { id: number; request: LivyBatchRequest }[];
  /** Ids of batches deleted. */
  deleted: number[];
}

export function createLivy(options: LivyOptions = {}) {
  const startingMs = options.startingMs ?? 800;
  const runningMs = options.runningMs ?? 2_500;
  const batches = new Map<number, Batch>();
  const stats: LivyStats = { submitted: [], deleted: [] };
  let nextId = 0;

  const stateOf = (batch: Batch): LivyState => {
    const age = Date.now() - batch.createdAt;
    if (age < startingMs) return "starting";
    if (age < startingMs + runningMs) return "running";
    return /fail/i.test(batch.request.file) ? "dead" : "success";
  };
  const appIdOf = (batch: Batch) =>
    stateOf(batch) === "starting" ? null : `application_1764570000000_${String(100 + batch.id).padStart(4, "0")}`;
  const logOf = (batch: Batch): string[] => {
    const state = stateOf(batch);
    const lines = [
      "stdout: ",
      "\nstderr: ",
      `26/12/01 09:00:00 INFO SparkSubmit: Submitting ${batch.request.className ?? batch.request.file}`,
      "26/12/01 09:00:01 INFO Client: Requesting a new application from cluster with 12 NodeManagers",
    ];
    const appId = appIdOf(batch);
    if (appId) {
      lines.push(`26/12/01 09:00:02 INFO Client: Submitted application ${appId}`);
      lines.push(`26/12/01 09:00:03 INFO Client: Application report for ${appId} (state: RUNNING)`);
    }
    if (state === "success")
      lines.push(`26/12/01 09:00:09 INFO Client: Application report for ${appId} (state: FINISHED)`);
    if (state === "dead") {
      lines.push(`26/12/01 09:00:09 INFO Client: Application report for ${appId} (state: FAILED)`);
      lines.push(
        `Exception in thread "main" org.apache.spark.SparkException: Application ${appId} finished with failed status`,
      );
    }
    return lines;
  };
  const view = (batch: Batch): LivyBatch => {
    const lines = logOf(batch);
    const appId = appIdOf(batch);
    return {
      id: batch.id,
      name: batch.request.name ?? null,
      owner: batch.owner,
      proxyUser: batch.request.proxyUser ?? null,
      state: stateOf(batch),
      appId,
      appInfo: {
        driverLogUrl: appId ? `http://rm.example.internal:8088/cluster/app/${appId}/logs` : null,
        sparkUiUrl: appId ? `http://rm.example.internal:8088/proxy/${appId}/` : null,
      },
      log: lines.slice(Math.max(0, lines.length - 10)),
    };
  };

  async function handle(request: IncomingMessage, response: ServerResponse, url: URL, owner: string | null) {
    const method = request.method ?? "GET";
    const path = url.pathname.replace(/\/+$/, "") || "/";
    if ((method === "POST" || method === "DELETE") && !request.headers["x-requested-by"]) {
      return text(response, 400, "Missing Required Header for CSRF protection.");
    }
    if (path === "/batches" && method === "GET") {
      const from = intParam(url, "from", 0);
      const size = intParam(url, "size", 100);
      const all = [...batches.values()];
      return json(response, 200, { from, total: all.length, sessions: all.slice(from, from + size).map(view) });
    }
    if (path === "/batches" && method === "POST") {
      let body: unknown;
      try {
        body = JSON.parse(await readBody(request));
      } catch (error) {
        return json(response, 400, { msg: `Unexpected character: ${(error as Error).message}` });
      }
      const fields = Object.keys((body ?? {}) as object);
      const unknown = fields.find((field) => !FIELDS.includes(field as keyof LivyBatchRequest));
      if (unknown) {
        return json(response, 400, {
          msg: `Unrecognized field "${unknown}" (class org.apache.livy.server.batch.CreateBatchRequest), not marked as ignorable`,
        });
      }
      const batchRequest = body as LivyBatchRequest;
      if (typeof batchRequest.file !== "string" || batchRequest.file === "") {
        return json(response, 400, { msg: "Rejected, Reason: requirement failed: File is required." });
      }
      const batch: Batch = { id: nextId++, request: batchRequest, owner, createdAt: Date.now() };
      batches.set(batch.id, batch);
      stats.submitted.push({ id: batch.id, request: batchRequest });
      response.setHeader("location", `/batches/${batch.id}`);
      return json(response, 201, view(batch));
    }
    const match = /^\/batches\/([^/]+)(?:\/(state|log))?$/.exec(path);
    if (!match) return json(response, 404, { msg: `Not found: ${path}` });
    const [, id = "", sub] = match;
    const batch = /^\d+$/.test(id) ? batches.get(Number(id)) : undefined;
    if (!batch) return json(response, 404, { msg: `Session '${id}' not found.` });
    if (method === "DELETE" && !sub) {
      batches.delete(batch.id);
      stats.deleted.push(batch.id);
      return json(response, 200, { msg: "deleted" });
    }
    if (method !== "GET") return json(response, 405, { msg: `${method} is not allowed here` });
    if (sub === "state") return json(response, 200, { id: batch.id, state: stateOf(batch) });
    if (sub === "log") {
      const lines = logOf(batch);
      let size = url.searchParams.has("size") ? intParam(url, "size", 100) : 100;
      let from = url.searchParams.has("from") ? intParam(url, "from", -1) : -1;
      if (size < 0) size = lines.length;
      if (from < 0) from = Math.max(0, lines.length - size);
      return json(response, 200, { id: batch.id, from, total: lines.length, log: lines.slice(from, from + size) });
    }
    return json(response, 200, view(batch));
  }

  return { handle, stats };
}

function intParam(url: URL, name: string, fallback: number): number {
  const value = url.searchParams.get(name);
  if (value === null) return fallback;
  const parsed = Number(value);
  return Number.isInteger(parsed) ? parsed : fallback;
}

async function readBody(request: IncomingMessage): Promise<string> {
  let body = "";
  for await (const chunk of request) {
    body += chunk;
    if (body.length > 1_000_000) throw new Error("request body too large");
  }
  return body;
}

export function json(response: ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body, null, 2));
}

export function text(response: ServerResponse, status: number, body: string): void {
  response.writeHead(status, { "content-type": "text/plain;charset=utf-8" }).end(body);
}
