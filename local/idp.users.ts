/**
 * The local OpenID Provider's user directory (idp.ts): the accounts from `idp.users.json`, which
 * a test may change while the IdP runs, as an administrator changes a real company directory:
 * move a user between groups, change their email, disable them, add a new one. A disabled user
 * cannot sign in, and the provider then treats their account as gone: refresh tokens and
 * userinfo are refused for it, as Okta, Entra ID or Keycloak refuse them for a deactivated user.
 *
 * Changes arrive at `PUT /_local/users/<username>` (JSON: any of `password`, `name`, `email`,
 * `emailVerified`, `hostedDomain`, `groups`, `disabled`; a new user needs the first three), with `Authorization: Bearer <admin
 * token>`. The route exists only when the IdP is started with an admin token: development only.
 */
import { createHash, timingSafeEqual } from "node:crypto";
import { readFile } from "node:fs/promises";
import type { Middleware } from "koa";
import type { AccountClaims } from "oidc-provider";
import { z } from "zod";

const User = z.object({
  password: z.string().min(1),
  name: z.string().min(1),
  email: z.email(),
  /** Whether the IdP says it verified the email (default true); false as for an unverified address. */
  emailVerified: z.boolean().optional(),
  /** The hosted domain stated as `hd`, as Google states it for a Workspace account; absent or "" for none. */
  hostedDomain: z.string().optional(),
  groups: z.array(z.string().min(1)),
  disabled: z.boolean().optional(),
});
export type User = z.infer<typeof User>;

const UsersFile = z.object({ users: z.record(z.string().min(1), User) });

/** The changes `PUT /_local/users/<username>` accepts. */
export const UserChange = User.partial().strict();
export type UserChange = z.infer<typeof UserChange>;

export const ADMIN_PATH = /^\/_local\/users\/([A-Za-z0-9._@-]{1,64})$/;
const MAX_BODY_BYTES = 16 * 1024;

export class Directory {
  readonly #users: Map<string, User>;

  private constructor(users: Map<string, User>) {
    this.#users = users;
  }

  static async load(file: string): Promise<Directory> {
    const parsed = UsersFile.safeParse(JSON.parse(await readFile(file, "utf8")));
    if (!parsed.success) throw new Error(`${file}: ${z.prettifyError(parsed.error)}`);
    return new Directory(new Map(Object.entries(parsed.data.users)));
  }

  /** An enabled user, or undefined: a disabled account is as good as gone to the provider. */
  active(username: string): User | undefined {
    const user = this.#users.get(username);
    return user && !user.disabled ? user : undefined;
  }

  /** The username whose password matches, for an enabled user; else undefined. */
  authenticate(username: string, password: string): string | undefined {
    const user = this.active(username);
    return user && sameSecret(user.password, password) ? username : undefined;
  }

  /** Creates or changes a user; a new user needs a password, a name and an email. */
  change(username: string, change: UserChange): User {
    const existing = this.#users.get(username);
    const next = User.safeParse({ groups: [], ...existing, ...change });
    if (!next.success) throw new Error(z.prettifyError(next.error));
    this.#users.set(username, next.data);
    return next.data;
  }
}

/** Every claim of the user; oidc-provider keeps those that the granted scopes cover. */
export function claimsOf(username: string, user: User): AccountClaims {
  return {
    sub: username,
    name: user.name,
    preferred_username: username,
    email: user.email,
    email_verified: user.emailVerified ?? true,
    ...(user.hostedDomain ? { hd: user.hostedDomain } : {}),
    groups: user.groups,
  };
}

/** `PUT /_local/users/<username>` for whoever holds `adminToken` (development only). */
export function directoryAdmin(directory: Directory, adminToken: string): Middleware {
  return async (ctx, next) => {
    const match = ADMIN_PATH.exec(ctx.path);
    if (!match) return next();
    ctx.set("cache-control", "no-store");
    const presented = /^Bearer (.+)$/.exec(ctx.get("authorization"))?.[1] ?? "";
    if (!sameSecret(adminToken, presented)) {
      ctx.status = 401;
      ctx.body = { error: "invalid_token" };
      return;
    }
    if (ctx.method !== "PUT") {
      ctx.set("allow", "PUT");
      ctx.status = 405;
      return;
    }
    let change: UserChange;
    try {
      change = UserChange.parse(JSON.parse(await readBody(ctx.req)));
    } catch (error) {
      ctx.status = 400;
      ctx.body = { error: "invalid_request", error_description: (error as Error).message };
      return;
    }
    try {
      const user = directory.change(match[1] as string, change);
      ctx.body = {
        username: match[1],
        name: user.name,
        email: user.email,
        groups: user.groups,
        disabled: !!user.disabled,
      };
    } catch (error) {
      ctx.status = 400;
      ctx.body = { error: "invalid_request", error_description: (error as Error).message };
    }
  };
}

async function readBody(request: AsyncIterable<Buffer>): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) throw new Error("the body is too large");
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString("utf8");
}

export function sameSecret(expected: string, given: string): boolean {
  const digest = (value: string) => createHash("sha256").update(value).digest();
  return timingSafeEqual(digest(expected), digest(given));
}
