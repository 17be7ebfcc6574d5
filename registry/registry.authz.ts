/**
 * Who may change what in the registry. Owners are the members of a server's team; reviewers and
 * admins are business groups named by the Worker's configuration; publishers are service
 * identities (the pipeline). Every function answers with a reason a person can act on.
 */
import type { Caller } from "../shared/auth/caller";
import { type Lifecycle, REVIEW_KINDS, type ReviewRow, type ServerRow } from "../shared/db/fleet.schema";
import type { RegistryEnv } from "./registry.env";

export type Verdict = { ok: true } | { ok: false; status: 403 | 409; reason: string };

const OK: Verdict = { ok: true };

type Role = "owner" | "reviewer" | "admin" | "publisher";

export function rolesOf(caller: Caller, env: RegistryEnv, team: string | undefined): Set<Role> {
  const roles = new Set<Role>();
  if (caller.kind === "service") {
    if (listOf(env.PUBLISHERS).includes(caller.name)) roles.add("publisher");
    return roles;
  }
  if (team && caller.groups.includes(team)) roles.add("owner");
  if (caller.groups.includes(env.REVIEWERS_GROUP)) roles.add("reviewer");
  if (caller.groups.includes(env.ADMINS_GROUP)) {
    roles.add("admin");
    roles.add("reviewer");
  }
  return roles;
}

export function mayPublish(caller: Caller, env: RegistryEnv, existing: ServerRow | undefined, team: string): Verdict {
  const roles = rolesOf(caller, env, existing?.team ?? team);
  if (existing && existing.team !== team && !roles.has("admin")) {
    return deny(409, `${existing.name} is owned by ${existing.team}; only an admin can move it to ${team}`);
  }
  if (roles.has("owner") || roles.has("publisher") || roles.has("admin")) return OK;
  return deny(
    403,
    caller.kind === "service"
      ? `the service ${caller.name} is not a registry publisher (${env.PUBLISHERS || "none configured"})`
      : `only members of ${existing?.team ?? team} (the owning team) or the pipeline may publish this server`,
  );
}

/** The lifecycle graph and who may take each edge. */
const TRANSITIONS: Record<Lifecycle, Partial<Record<Lifecycle, readonly Role[]>>> = {
  draft: { in_review: ["owner", "publisher", "reviewer", "admin"] },
  in_review: { draft: ["owner", "reviewer", "admin"], approved: ["reviewer", "admin"] },
  approved: { in_review: ["reviewer", "admin"], deprecated: ["owner", "reviewer", "admin"] },
  deprecated: { approved: ["reviewer", "admin"], retired: ["owner", "reviewer", "admin"] },
  retired: {},
};

export function mayChangeLifecycle(
  caller: Caller,
  env: RegistryEnv,
  server: ServerRow,
  to: Lifecycle,
  currentReviews: Record<string, ReviewRow | null>,
): Verdict {
  const from = server.lifecycle;
  if (from === to) return deny(409, `${server.name} is already ${to}`);
  const edge = TRANSITIONS[from][to];
  if (!edge) {
    const targets = Object.keys(TRANSITIONS[from]);
    return deny(
      409,
      `${server.name} cannot move from ${from} to ${to}` +
        (targets.length ? ` (from ${from} it can go to: ${targets.join(", ")})` : ` (${from} is final)`),
    );
  }
  const roles = rolesOf(caller, env, server.team);
  if (!edge.some((role) => roles.has(role))) {
    return deny(
      403,
      `moving ${server.name} from ${from} to ${to} is for: ${edge.map(describeRole(server)).join(", ")}`,
    );
  }
  if (to === "approved") {
    const missing = REVIEW_KINDS.filter((kind) => currentReviews[kind]?.state !== "approved");
    if (missing.length > 0) {
      return deny(
        409,
        `${server.name} needs approved reviews before approval; missing: ${missing
          .map((kind) => `${kind} (${currentReviews[kind]?.state ?? "not reviewed"})`)
          .join(", ")}`,
      );
    }
  }
  return OK;
}

export function mayReview(caller: Caller, env: RegistryEnv): Verdict {
  const roles = rolesOf(caller, env, undefined);
  return roles.has("reviewer") ? OK : deny(403, `only members of ${env.REVIEWERS_GROUP} may record reviews`);
}

export function maySetAccess(caller: Caller, env: RegistryEnv, server: ServerRow, environments?: string[]): Verdict {
  const roles = rolesOf(caller, env, server.team);
  const sameEnvironments =
    !environments ||
    (environments.length === server.environments.length && environments.every((e) => server.environments.includes(e)));
  if (!sameEnvironments && !roles.has("reviewer")) {
    return deny(
      403,
      `where ${server.name} may run is part of its approval: only ${env.REVIEWERS_GROUP} or ${env.ADMINS_GROUP} may change its environments`,
    );
  }
  if (roles.has("owner") || roles.has("reviewer")) return OK;
  return deny(
    403,
    `only members of ${server.team}, ${env.REVIEWERS_GROUP} or ${env.ADMINS_GROUP} may change who can use ${server.name}`,
  );
}

/** Who did it, for `server_events` and reviews: the caller's stable id (`user:<principal>` or `service:<name>`). */
export function actorOf(caller: Caller): string {
  return caller.id;
}

function describeRole(server: ServerRow) {
  return (role: Role) =>
    ({
      owner: `members of ${server.team}`,
      reviewer: "reviewers",
      admin: "admins",
      publisher: "the pipeline",
    })[role];
}

function deny(status: 403 | 409, reason: string): Verdict {
  return { ok: false, status, reason };
}

function listOf(value: string | undefined): string[] {
  return (value ?? "")
    .split(",")
    .map((part) => part.trim())
    .filter(Boolean);
}
