import type { Caller } from "./caller";

/** Who may call a tool. Every listed condition must hold. */
export interface ToolAccess {
  /** The caller must belong to at least one of these business groups (users). */
  groups?: readonly string[];
  /** The caller's token must carry every one of these scopes. */
  scopes?: readonly string[];
  /** Services allowed to call: `true` for any registered service, or their names. Default: none. */
  services?: boolean | readonly string[];
}

/** Who may open a session with a server at all. */
export interface ServerAccess {
  /** Business groups allowed; empty or absent admits every authenticated user. */
  groups?: readonly string[];
  /** Services allowed to open sessions: `true` for any, or their names. Default: none. */
  services?: boolean | readonly string[];
  /** Scopes a token needs to use the server at all (default: the scopes every tool needs). */
  scopes?: readonly string[];
}

export type Decision = { allowed: true } | { allowed: false; reason: string; missing: string };

const ALLOW: Decision = { allowed: true };

function deny(reason: string, missing: string): Decision {
  return { allowed: false, reason, missing };
}

function serviceAllowed(rule: boolean | readonly string[] | undefined, caller: Caller): boolean {
  if (rule === true) return true;
  if (!rule) return false;
  const name = caller.id.replace(/^service:/, "");
  return rule.includes(name);
}

function sharesGroup(caller: Caller, groups: readonly string[]): boolean {
  return groups.some((group) => caller.groups.includes(group));
}

/** The business-group gate: may this caller open a session with the server? */
export function checkServerAccess(serverName: string, access: ServerAccess, caller: Caller): Decision {
  if (caller.kind === "service") {
    return serviceAllowed(access.services, caller)
      ? ALLOW
      : deny(`${caller.id} is not allowed to use the ${serverName} server`, "service");
  }
  const groups = access.groups ?? [];
  if (groups.length === 0 || sharesGroup(caller, groups)) return ALLOW;
  return deny(
    `user ${caller.name} is in none of the groups allowed to use the ${serverName} server (${groups.join(", ")})`,
    `group:${groups.join("|")}`,
  );
}

/** The tool gate, evaluated by the kit before a handler runs and when listing tools. */
export function checkToolAccess(
  tool: { name: string; access: ToolAccess; needsApproval: boolean },
  caller: Caller,
): Decision {
  const { access } = tool;
  if (caller.kind === "service") {
    if (!serviceAllowed(access.services, caller)) {
      return deny(`${tool.name} cannot be called by services (${caller.id})`, "user");
    }
    if (tool.needsApproval) {
      return deny(`${tool.name} needs a human's approval, so services cannot call it`, "human-approval");
    }
  } else if (access.groups?.length && !sharesGroup(caller, access.groups)) {
    return deny(
      `${tool.name} requires membership in one of: ${access.groups.join(", ")}`,
      `group:${access.groups.join("|")}`,
    );
  }
  const missingScopes = (access.scopes ?? []).filter((scope) => !caller.scopes.includes(scope));
  if (missingScopes.length > 0) {
    return deny(`${tool.name} requires the scope ${missingScopes.join(", ")}`, `scope:${missingScopes.join(" ")}`);
  }
  return ALLOW;
}
