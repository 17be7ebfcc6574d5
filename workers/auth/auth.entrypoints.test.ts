/**
 * What a domain Worker's AUTH binding can do: the TokenValidator entrypoint, bound to one server
 * by its props, validates that server's tokens and nothing else. The default entrypoint offers
 * no RPC at all. Called in-process (`new TokenValidator(…)`) where a rejection is expected, and
 * the RPC surface read from the classes: over RPC a rejection would also be reported as uncaught.
 */
import { createExecutionContext, env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import AuthWorker, { TokenValidator, type TokenValidatorProps } from "./auth.app";
import type { AuthEnv } from "./auth.config";
import { ADMIN, ISSUER, OTHER, PRESTO, presto, signedInClient, USERS, validator } from "./auth.testing";

/** The entrypoint as a binding with these props would run it. */
function boundTo(props: TokenValidatorProps): TokenValidator {
  const ctx = Object.assign(createExecutionContext(), { props }) as ExecutionContext<TokenValidatorProps>;
  return new TokenValidator(ctx, env as unknown as AuthEnv);
}

describe("a domain Worker's AUTH binding (TokenValidator with props.server)", () => {
  it("validates its own server's tokens", async () => {
    const { tokens } = await signedInClient(USERS.alice);
    expect(await presto.validateToken(PRESTO, tokens.access_token)).toMatchObject({ audience: PRESTO });
  });

  it("cannot validate a token for another resource, nor for the admin API", async () => {
    const { tokens } = await signedInClient(USERS.alice);
    const admin = await signedInClient(USERS.admin, "fleet:admin", ADMIN);
    for (const resource of [OTHER, ADMIN, "https://elsewhere.example/mcp"]) {
      await expect(boundTo({ server: "presto" }).validateToken(resource, tokens.access_token)).rejects.toThrow(
        /validates tokens for presto .* only/,
      );
    }
    await expect(boundTo({ server: "presto" }).validateToken(ADMIN, admin.tokens.access_token)).rejects.toThrow();
    // Bound to the other server, a Presto token is not valid there (its audience is Presto).
    expect(await validator("other").validateToken(OTHER, tokens.access_token)).toBeNull();
  });

  it("refuses to work without a server, or for a server it does not know", async () => {
    const { tokens } = await signedInClient(USERS.alice);
    for (const props of [{}, { server: "admin" }, { server: "registry" }]) {
      await expect(boundTo(props).validateToken(PRESTO, tokens.access_token)).rejects.toThrow(/names no server/);
    }
  });

  it("offers no way to revoke, list or administer anything: validateToken and public HTTP only", async () => {
    // Every method on an entrypoint's prototype chain below WorkerEntrypoint is callable over RPC.
    expect(rpcMethods(TokenValidator)).toEqual(["fetch", "validateToken"]);
    // Its fetch is the public HTTP surface: the admin API wants an admin's token there too.
    const revoke = await presto.fetch(
      new Request(`${ISSUER}/admin/revoke`, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ subject: "service:etl-bot", reason: "from a domain Worker" }),
      }),
    );
    expect(revoke.status).toBe(401);
  });

  it("leaves the default entrypoint (a binding without `entrypoint`) HTTP only: no RPC at all", () => {
    expect(rpcMethods(AuthWorker)).toEqual(["fetch"]);
  });
});

/** The methods an entrypoint class exposes over RPC (its own and inherited, up to WorkerEntrypoint). */
function rpcMethods(entrypoint: abstract new (...args: never[]) => object): string[] {
  const names = new Set<string>();
  for (let proto = entrypoint.prototype; proto && proto !== Object.prototype; proto = Object.getPrototypeOf(proto)) {
    if (proto.constructor.name === "WorkerEntrypoint") break;
    for (const name of Object.getOwnPropertyNames(proto)) if (name !== "constructor") names.add(name);
  }
  return [...names].sort();
}
