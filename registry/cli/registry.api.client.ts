/**
 * The registry's HTTP API as the CLI reads it: the official v0.1 shapes plus the fleet's
 * governance block, with errors that name the URL and carry the problem+json detail.
 */
import type { AccessCode } from "../../shared/registry/access.ts";
import type {
  FLEET_META as ContractFleetMeta,
  OFFICIAL_META as ContractOfficialMeta,
  PromptManifest,
  ResourceManifest,
  ResourceTemplateManifest,
  ServerJson,
  ToolManifest,
} from "../../shared/registry/registry.contract.ts";
import { CliError, EXIT } from "./cli.errors.ts";

// The contract module pulls in zod and extensionless imports Node cannot load; its constants are
// repeated here, and the compiler holds them equal to the contract's.
export const OFFICIAL_META: typeof ContractOfficialMeta = "io.modelcontextprotocol.registry/official";
export const FLEET_META: typeof ContractFleetMeta = "dev.mcp-fleet/governance";

export type Lifecycle = "draft" | "in_review" | "approved" | "deprecated" | "retired";

export interface Review {
  id: string;
  kind: string;
  state: string;
  /** Reviewer and notes come only with a registry:read token; the public view leaves them out. */
  reviewer?: string;
  at: string;
  notes?: string;
  version: string;
}

export interface Health {
  status: "up" | "down" | "unknown";
  checkedAt?: string;
  latencyMs?: number;
  error?: string;
}

export interface Governance {
  name: string;
  team: string;
  supportChannel: string;
  /** Only with a registry:read token. */
  onCall?: string;
  lifecycle: Lifecycle;
  /** What the last approval covered (the server serves only that version and inventory). */
  approvedVersion?: string | null;
  lifecycleChangedAt: string;
  environments: string[];
  allowedGroups: string[];
  allowedServices: boolean | string[];
  reviews: { security: Review | null; legal: Review | null; genai: Review | null };
  tools: ToolManifest[];
  /** As the version's document published them (registries older than these fields leave them out). */
  resources?: ResourceManifest[];
  resourceTemplates?: ResourceTemplateManifest[];
  prompts?: PromptManifest[];
  health: Health;
}

export interface ServerResponse {
  server: Omit<ServerJson, "_meta"> & { _meta?: Record<string, unknown> };
  _meta: {
    [OFFICIAL_META]?: {
      status: "active" | "deprecated" | "deleted";
      publishedAt: string;
      updatedAt: string;
      isLatest: boolean;
    };
    [FLEET_META]?: Governance;
  };
}

export interface ServerList {
  servers: ServerResponse[];
  metadata: { nextCursor?: string; count: number };
}

export interface HealthCheck {
  at: string;
  up: boolean;
  latencyMs: number;
  httpStatus: number | null;
  error: string | null;
}

export interface AccessAnswer {
  allowed: boolean;
  server: string;
  tool?: string;
  environment: string;
  code?: AccessCode;
  reason?: string;
  scopesNeeded?: string[];
  caller: { kind: "user" | "service"; name: string; groups: string[] };
}

/** An RFC 9457 problem the registry answered with. */
/** The figures of a summary row (registry/analytics/analytics.routes.ts SummarySchema). */
export interface AnalyticsFigures {
  name?: string;
  invocations: number;
  activeUsers: number;
  hoursSaved: { estimate: number; effective: number };
  successRate: number | null;
  errorRate: number | null;
  denials: number;
  approvals: { requested: number; granted: number; declined: number };
  latencyMs: { p50: number | null; p95: number | null };
}

export interface AnalyticsSummary extends AnalyticsFigures {
  month: string;
  previousMonth: string;
  change: { invocations: number | null; activeUsers: number | null; hoursSaved: number | null };
  byTeam: (AnalyticsFigures & { name: string })[];
  byServer: (AnalyticsFigures & { name: string; team: string })[];
  byTool: (AnalyticsFigures & { name: string; server: string; tool: string })[];
  detail: { allServers: boolean; teams: string[] };
}

export class RegistryHttpError extends CliError {
  readonly url: string;
  readonly status: number;

  constructor(url: string, status: number, detail: string) {
    super(`${url}: HTTP ${status}: ${detail}`, EXIT.failure);
    this.url = url;
    this.status = status;
  }
}

export class RegistryClient {
  readonly baseUrl: string;

  constructor(baseUrl: string) {
    this.baseUrl = baseUrl;
  }

  /** Every server's latest version matching the filters, following `nextCursor`. */
  async listServers(filters: { search?: string; team?: string; lifecycle?: string } = {}): Promise<ServerResponse[]> {
    const servers: ServerResponse[] = [];
    let cursor: string | undefined;
    do {
      const query = new URLSearchParams({ version: "latest", limit: "100" });
      for (const [key, value] of Object.entries(filters)) if (value) query.set(key, value);
      if (cursor) query.set("cursor", cursor);
      const page = await this.get<ServerList>(`/v0.1/servers?${query}`);
      servers.push(...page.servers);
      cursor = page.metadata.nextCursor;
    } while (cursor);
    return servers;
  }

  /** The latest version of a server, or undefined when the registry has none by that name. */
  latest(name: string): Promise<ServerResponse | undefined> {
    return this.getOrNone<ServerResponse>(`/v0.1/servers/${encodeURIComponent(name)}/versions/latest`);
  }

  async versions(name: string): Promise<ServerResponse[]> {
    const list = await this.getOrNone<ServerList>(`/v0.1/servers/${encodeURIComponent(name)}/versions`);
    return list?.servers ?? [];
  }

  async healthChecks(name: string): Promise<HealthCheck[]> {
    const body = await this.getOrNone<{ checks: HealthCheck[] }>(`/v0.1/servers/${encodeURIComponent(name)}/health`);
    return body?.checks ?? [];
  }

  /** The token's caller: may they use this server (and tool)? */
  access(token: string, server: string, tool?: string): Promise<AccessAnswer> {
    const query = new URLSearchParams({ server, ...(tool ? { tool } : {}) });
    return this.get<AccessAnswer>(`/v0.1/access?${query}`, token);
  }

  /** Who the token's caller is. */
  me(token: string): Promise<{ caller: AccessAnswer["caller"] }> {
    return this.get(`/v0.1/me`, token);
  }

  /** A month's analytics summary as the token's caller may see it. */
  analyticsSummary(token: string, query: { month?: string; server?: string }): Promise<AnalyticsSummary> {
    const params = new URLSearchParams(
      Object.entries(query).filter((entry): entry is [string, string] => Boolean(entry[1])),
    );
    return this.get(`/v0.1/analytics/summary${params.size ? `?${params}` : ""}`, token);
  }

  /** Rates one of the token caller's calls. */
  feedback(token: string, body: { invocationId: string; helped: boolean; minutes?: number }) {
    return this.send<{ invocationId: string; server: string; tool: string }>("POST", "/v0.1/feedback", token, body);
  }

  private async send<T>(method: "POST" | "PUT", path: string, token: string, body: unknown): Promise<T> {
    const url = `${this.baseUrl}${path}`;
    let response: Response;
    try {
      response = await fetch(url, {
        method,
        headers: { accept: "application/json", "content-type": "application/json", authorization: `Bearer ${token}` },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(30_000),
      });
    } catch (error) {
      throw unreachable(this.baseUrl, error);
    }
    if (!response.ok) throw new RegistryHttpError(url, response.status, await problemDetail(response));
    return (await response.json()) as T;
  }

  private async getOrNone<T>(path: string): Promise<T | undefined> {
    try {
      return await this.get<T>(path);
    } catch (error) {
      if (error instanceof RegistryHttpError && error.status === 404) return undefined;
      throw error;
    }
  }

  private async get<T>(path: string, token?: string): Promise<T> {
    const url = `${this.baseUrl}${path}`;
    let response: Response;
    try {
      response = await fetch(url, {
        headers: { accept: "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
        signal: AbortSignal.timeout(30_000),
      });
    } catch (error) {
      throw unreachable(this.baseUrl, error);
    }
    if (!response.ok) throw new RegistryHttpError(url, response.status, await problemDetail(response));
    try {
      return (await response.json()) as T;
    } catch {
      throw new CliError(`${url}: the answer is not JSON; is ${this.baseUrl} a fleet registry?`, EXIT.failure);
    }
  }
}

/** "Cannot reach …" naming the URL and the network cause (ECONNREFUSED, timeout, DNS). */
export function unreachable(baseUrl: string, error: unknown): CliError {
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  const why =
    (error as Error).name === "TimeoutError"
      ? "no answer within 30 s"
      : (cause?.code ?? cause?.message ?? (error as Error).message);
  return new CliError(
    `cannot reach the registry at ${baseUrl} (${why}). Is it running? Set it with --registry or FLEET_REGISTRY_URL.`,
    EXIT.failure,
  );
}

/** The `detail` (and field errors) of a problem+json answer, else the start of the body. */
export async function problemDetail(response: Response): Promise<string> {
  const text = await response.text().catch(() => "");
  try {
    const problem = JSON.parse(text) as {
      title?: string;
      detail?: string;
      error?: string;
      error_description?: string;
      errors?: { location: string; message: string }[];
    };
    const detail = problem.detail ?? problem.error_description ?? problem.error ?? problem.title;
    if (detail) {
      const fields = problem.errors?.map((e) => `${e.location}: ${e.message}`) ?? [];
      return fields.length > 0 && !detail.includes(fields[0] as string) ? `${detail} (${fields.join("; ")})` : detail;
    }
  } catch {}
  return text.slice(0, 300) || response.statusText || "no detail";
}

export function governanceOf(entry: ServerResponse): Governance {
  const governance = entry._meta[FLEET_META];
  if (!governance) throw new CliError(`${entry.server.name}: the registry answer has no ${FLEET_META} block`);
  return governance;
}

/** The short name (`presto`) of a full (`com.example.mcp-fleet/presto`) or short name. */
export function shortName(entry: ServerResponse): string {
  return entry._meta[FLEET_META]?.name ?? entry.server.name.split("/").pop() ?? entry.server.name;
}
