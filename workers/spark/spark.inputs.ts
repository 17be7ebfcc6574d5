/** Input fields and access rules the Spark tools share, and how a tool finds its application attempt. */
import { z } from "zod";
import { type ToolContext, toolsFor } from "../../shared/mcp";
import type { AppRef, HistoryClient, LivyClient } from "./spark.client";

export interface SparkUpstreams {
  history: HistoryClient;
  livy: LivyClient;
}

export const defineTool = toolsFor<SparkUpstreams>();
export type SparkContext = ToolContext<SparkUpstreams>;

/** The read tools; services (pipelines, bots) may call them. */
export const READ = { scopes: ["spark:read"], services: true } as const;

const APP_ID = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,199}$/;

export const appId = z
  .string()
  .regex(APP_ID, "must be a Spark application id such as application_1764570000000_0044 or app-20261201061500-0003")
  .describe("Spark application id, e.g. application_1764570000000_0044 (see spark_applications)");
export const attemptId = z
  .string()
  .regex(/^[A-Za-z0-9_-]{1,32}$/, "must be an attempt id such as 1 or 2")
  .optional()
  .describe("Attempt id for applications with several attempts (YARN cluster mode); default: the latest");
export const offset = z.number().int().min(0).max(1_000_000).default(0).describe("Skip this many rows (pagination)");
export const limit = (fallback: number, max: number) =>
  z.number().int().min(1).max(max).default(fallback).describe(`Most rows to return (1-${max}, default ${fallback})`);

/** The attempt a call reads (the latest unless one is named). */
export function appOf(ctx: SparkContext, args: { appId: string; attemptId?: string | undefined }): Promise<AppRef> {
  return ctx.upstream.history.resolve(args.appId, args.attemptId, ctx.signal);
}
