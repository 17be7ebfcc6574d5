/**
 * Who may change what in the registry. Owners are the members of a server's team; reviewers and
 * admins are business groups named by the Worker's configuration; publishers are service
 * identities (the pipeline). Every function answers with a reason a person can act on.
 */
import type { Caller } from "../shared/auth/caller";
import {
  type Lifecycle,
  REVIEW_KINDS,
  type ReviewRow,
  type ServerRow,
  type ServiceRule,
} from "../shared/db/fleet.schema";
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

/**
 * May `caller` move `server` to `to`? For an approval, `approval` is the version to approve (the
 * one reviewed) and its tools digest; `currentReviews` are that version's current reviews.
 */
export function mayChangeLifecycle(
  caller: Caller,
  env: RegistryEnv,
  server: ServerRow,
  to: Lifecycle,
  currentReviews: Record<string, ReviewRow | null>,
  approval?: { version: string; toolsDigest: string | null },
): Verdict {
  const from = server.lifecycle;
  // An approved server whose latest version is in review: approving that version replaces the
  // approval (the approved version serves until then).
  const newVersion =
    from === "approved" && to === "approved" && approval !== undefined && approval.version !== server.approvedVersion;
  if (from === to && !newVersion) return deny(409, `${server.name} is already ${to}`);
  const edge = newVersion ? TRANSITIONS.in_review.approved : TRANSITIONS[from][to];
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
  if (to === "approved" && roles.has("owner")) {
    // Approving, or reinstating, is vouching for the server: never by the team that owns it,
    // whatever other groups its members are in.
    return deny(
      403,
      `${caller.name} is a member of ${server.team}, the team that owns ${server.name}: ` +
        "its approval must come from a reviewer outside the owning team",
    );
  }
  if (to === "approved")
    return mayApprove(server, approval ?? { version: server.latestVersion, toolsDigest: null }, currentReviews);
  return OK;
}

/** Minimum number of different people whose reviews an approval rests on. */
export const DISTINCT_REVIEWERS = 2;

/**
 * Approval rules beyond who may take the edge: the version approved is the latest (the one the
 * reviews were for), it has a recorded tool inventory, its three reviews are approved, and they
 * come from at least two different people, none of them on the owning team.
 */
function mayApprove(
  server: ServerRow,
  approval: { version: string; toolsDigest: string | null },
  currentReviews: Record<string, ReviewRow | null>,
): Verdict {
  if (approval.version !== server.latestVersion) {
    return deny(
      409,
      `${server.name} ${approval.version} is not its latest version (${server.latestVersion}): an approval is for the latest version, reviewed`,
    );
  }
  if (!approval.toolsDigest) {
    return deny(
      409,
      `${server.name} ${approval.version} was published before the registry recorded tool inventories: publish a new version to approve`,
    );
  }
  const missing = REVIEW_KINDS.filter((kind) => currentReviews[kind]?.state !== "approved");
  if (missing.length > 0) {
    return deny(
      409,
      `${server.name} needs approved reviews before approval; missing: ${missing
        .map((kind) => `${kind} (${currentReviews[kind]?.state ?? "not reviewed"})`)
        .join(", ")}`,
    );
  }
  const counted = REVIEW_KINDS.map((kind) => currentReviews[kind] as ReviewRow);
  const fromOwners = counted.filter((review) => review.reviewerGroups.includes(server.team));
  if (fromOwners.length > 0) {
    return deny(
      409,
      `${server.name}'s reviews must not come from its owning team (${server.team}): ${fromOwners
        .map((review) => `${review.kind} by ${review.reviewer}`)
        .join(", ")}`,
    );
  }
  // People are counted by who they are at the IdP (Caller.subject), not by email or login: one
  // person signed in under two emails is one reviewer.
  const people = new Map(counted.map((review) => [review.reviewerSubject || review.reviewer, review.reviewer]));
  if (people.size < DISTINCT_REVIEWERS) {
    return deny(
      409,
      `${server.name} needs reviews by at least ${DISTINCT_REVIEWERS} different people before approval (so far only ${[...new Set(people.values())].join(", ")})`,
    );
  }
  return OK;
}

/** Reviewers (and admins) record reviews, but not of a server their own team owns. */
export function mayReview(caller: Caller, env: RegistryEnv, server: ServerRow): Verdict {
  const roles = rolesOf(caller, env, server.team);
  if (!roles.has("reviewer")) return deny(403, `only members of ${env.REVIEWERS_GROUP} may record reviews`);
  if (roles.has("owner")) {
    return deny(
      403,
      `${caller.name} is a member of ${server.team}, the team that owns ${server.name}: reviews must come from outside the owning team`,
    );
  }
  return OK;
}

export interface AccessChange {
  allowedGroups: string[];
  allowedServices: ServiceRule;
  environments?: string[];
}

/**
 * May `caller` set who may use `server`? `reviewed`: its latest version has reviews recorded (they
 * looked at the access it has now).
 */
export function maySetAccess(
  caller: Caller,
  env: RegistryEnv,
  server: ServerRow,
  change: AccessChange,
  reviewed: boolean,
): Verdict {
  const roles = rolesOf(caller, env, server.team);
  // A reviewer outside the owning team: a team member who is also a reviewer or an admin does
  // not review, approve or widen the team's own server.
  const outsideReviewer = roles.has("reviewer") && !roles.has("owner");
  const { environments } = change;
  const sameEnvironments =
    !environments ||
    (environments.length === server.environments.length && environments.every((e) => server.environments.includes(e)));
  if (!sameEnvironments && !outsideReviewer) {
    return deny(
      403,
      `where ${server.name} may run is part of its approval: only ${env.REVIEWERS_GROUP} or ${env.ADMINS_GROUP} outside ${server.team} (its owning team) may change its environments`,
    );
  }
  // Once reviewers have looked (the server left its draft, or its version has reviews), who may
  // use it is part of what they approved: owners may narrow it, widening is for reviewers
  // outside the owning team.
  const widened = widening(server, change);
  if (widened && roles.has("owner") && (server.lifecycle !== "draft" || reviewed)) {
    const where =
      server.lifecycle === "draft"
        ? `whose version ${server.latestVersion} already has reviews (they approved the access it has; publish a new version to propose wider access)`
        : `which is ${server.lifecycle.replace("_", " ")}`;
    return deny(
      403,
      `${widened} widens who may use ${server.name}, ${where}: ` +
        `only ${env.REVIEWERS_GROUP} or ${env.ADMINS_GROUP} outside ${server.team} may widen it (owners may narrow it)`,
    );
  }
  if (roles.has("owner") || roles.has("reviewer")) return OK;
  return deny(
    403,
    `only members of ${server.team}, ${env.REVIEWERS_GROUP} or ${env.ADMINS_GROUP} may change who can use ${server.name}`,
  );
}

/** What in `change` lets more callers in than the server allows now, or undefined. */
function widening(server: ServerRow, change: AccessChange): string | undefined {
  const { allowedGroups: before } = server;
  const after = change.allowedGroups;
  if (before.length > 0 && after.length === 0) return "allowing every signed-in user (no groups)";
  const added = before.length === 0 ? [] : after.filter((group) => !before.includes(group));
  if (added.length > 0) return `adding the group${added.length > 1 ? "s" : ""} ${added.join(", ")}`;
  const services = change.allowedServices;
  const was = server.allowedServices;
  if (was === true || services === false) return undefined;
  if (services === true) return "allowing every service";
  const newServices = services.filter((name) => was === false || !was.includes(name));
  if (newServices.length > 0) return `adding the service${newServices.length > 1 ? "s" : ""} ${newServices.join(", ")}`;
  return undefined;
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
