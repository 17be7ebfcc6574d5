/**
 * The kit's client of the registry: a server's policy (lifecycle, environments, allowed groups
 * and services, the approved version and tool digest), read over the `REGISTRY` Service Binding (`serverPolicy` RPC) and cached per
 * isolate.
 *
 * Caching and what happens when the registry cannot be reached:
 * - A policy is used for REGISTRY_CACHE_MS (default 30 s) after it was read; within that window a
 *   request costs one Map lookup and no RPC. A registry change (approval, deprecation, new
 *   groups) therefore reaches every server within REGISTRY_CACHE_MS.
 * - Concurrent misses each ask for themselves. Sharing one pending RPC among requests is what
 *   workerd forbids: a request resumed by another request's I/O runs in that request's context
 *   and fails on its own body ("Cannot perform I/O on behalf of a different request"), or hangs
 *   if that request ends first. What one of them reads is cached for all.
 * - "Not registered" (`null`) is an answer like any other and is cached the same way.
 * - If the RPC fails or takes longer than RPC_TIMEOUT_MS (registry down, deploy in progress,
 *   binding broken, malformed answer), the last policy read keeps being used for up to
 *   STALE_IF_ERROR_MS (5 minutes) after it was read (stale-if-error); during that time the
 *   registry is asked again at most once per REGISTRY_CACHE_MS, so requests stay fast.
 * - After that, or when nothing was read since the isolate started, the server fails CLOSED:
 *   `RegistryUnreachableError`, which the gate answers with 503 (JSON-RPC error "registry
 *   unreachable…") and records in the audit trail, until the registry answers again.
 */
import { z } from "zod";
import type { ServerPolicy } from "./access";
import { lifecycleSchema, type RegistryBinding, serviceRuleSchema } from "./registry.contract";

export const DEFAULT_CACHE_MS = 30_000;
export const STALE_IF_ERROR_MS = 5 * 60_000;
export const RPC_TIMEOUT_MS = 3_000;

/** The registry could not be asked and no policy read recently enough is at hand: fail closed. */
export class RegistryUnreachableError extends Error {
  readonly serverName: string;
  /** When the registry last answered for this server (epoch ms), if ever since the isolate started. */
  readonly lastReadAt: number | undefined;

  constructor(serverName: string, lastReadAt: number | undefined, cause: unknown) {
    const last =
      lastReadAt === undefined ? "no policy read yet" : `last policy read at ${new Date(lastReadAt).toISOString()}`;
    super(`registry unreachable for the ${serverName} server (${describe(cause)}; ${last})`, { cause });
    this.name = "RegistryUnreachableError";
    this.serverName = serverName;
    this.lastReadAt = lastReadAt;
  }
}

/** What the registry's `serverPolicy` answers; anything else is treated as a failed read. */
const serverPolicySchema = z.object({
  name: z.string().min(1),
  lifecycle: lifecycleSchema,
  environments: z.array(z.string()),
  allowedGroups: z.array(z.string()),
  allowedServices: serviceRuleSchema,
  // Absent from an older registry's answer: treated as "nothing approved", so the gate refuses.
  approvedVersion: z.string().min(1).nullable().default(null),
  toolsDigest: z
    .string()
    .regex(/^[0-9a-f]{64}$/)
    .nullable()
    .default(null),
});

/** REGISTRY_CACHE_MS as a number of milliseconds; undefined when it is set but not one. */
export function cacheMsFrom(value: string | undefined): number | undefined {
  if (value === undefined || value.trim() === "") return DEFAULT_CACHE_MS;
  const ms = Number(value);
  return Number.isSafeInteger(ms) && ms >= 0 ? ms : undefined;
}

interface Entry {
  policy: ServerPolicy | null;
  /** When the registry last answered. */
  readAt: number;
  /** When the registry was last asked (later than readAt while serving stale). */
  askedAt: number;
}

export interface PolicyCacheOptions {
  staleIfErrorMs?: number;
  timeoutMs?: number;
  /** The clock (tests). */
  now?: () => number;
}

/** Per-isolate policy cache; one per server (see the module comment for its behaviour). */
export class ServerPolicyCache {
  readonly #entries = new Map<string, Entry>();
  readonly #staleIfErrorMs: number;
  readonly #timeoutMs: number;
  readonly #now: () => number;

  constructor(options: PolicyCacheOptions = {}) {
    this.#staleIfErrorMs = options.staleIfErrorMs ?? STALE_IF_ERROR_MS;
    this.#timeoutMs = options.timeoutMs ?? RPC_TIMEOUT_MS;
    this.#now = options.now ?? Date.now;
  }

  /**
   * The registry's policy for `name`, or null when no such server is registered.
   * Throws RegistryUnreachableError when it can be neither read nor served stale.
   */
  async policy(registry: RegistryBinding, name: string, cacheMs: number): Promise<ServerPolicy | null> {
    const entry = this.#entries.get(name);
    if (entry) {
      const now = this.#now();
      if (now - entry.askedAt < cacheMs && now - entry.readAt < Math.max(cacheMs, this.#staleIfErrorMs)) {
        return entry.policy;
      }
    }
    return this.#read(registry, name);
  }

  async #read(registry: RegistryBinding, name: string): Promise<ServerPolicy | null> {
    try {
      const answer = await this.#ask(registry, name);
      const now = this.#now();
      this.#entries.set(name, { policy: answer, readAt: now, askedAt: now });
      return answer;
    } catch (error) {
      const now = this.#now();
      const last = this.#entries.get(name);
      if (last && now - last.readAt < this.#staleIfErrorMs) {
        last.askedAt = now;
        console.warn(
          `registry unreachable for the ${name} server (${describe(error)}); ` +
            `using the policy read ${Math.round((now - last.readAt) / 1000)} s ago`,
        );
        return last.policy;
      }
      throw new RegistryUnreachableError(name, last?.readAt, error);
    }
  }

  async #ask(registry: RegistryBinding, name: string): Promise<ServerPolicy | null> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`serverPolicy did not answer within ${this.#timeoutMs} ms`)),
        this.#timeoutMs,
      );
    });
    try {
      const answer: unknown = await Promise.race([registry.serverPolicy(name), timeout]);
      if (answer === null) return null;
      const parsed = serverPolicySchema.safeParse(answer);
      if (!parsed.success) {
        throw new Error(`serverPolicy answered a malformed policy: ${z.prettifyError(parsed.error)}`);
      }
      return parsed.data;
    } finally {
      clearTimeout(timer);
    }
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
