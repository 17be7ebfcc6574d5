/**
 * Starts the local OpenID Provider (local/idp.ts) for the auth Worker's workerd tests, with this
 * Worker as its one client. JavaScript because local/ is Node code: tsconfig.json, which covers
 * workers/, checks everything with the Workers types.
 */
import { randomBytes } from "node:crypto";
import { startIdp } from "../../local/idp.ts";

/** The issuer the tests address the Worker by; nothing listens there (tests call it in-process). */
const AUTH_ISSUER = "http://127.0.0.1:8789";

/** @param {import("vitest/node").TestProject} project */
export default async function setup(project) {
  const client = {
    clientId: "mcp-fleet-auth-test",
    clientSecret: randomBytes(24).toString("base64url"),
    redirectUris: [`${AUTH_ISSUER}/sso/callback`],
  };
  // The tests change users at the IdP (groups, disabled) through its admin route.
  const adminToken = randomBytes(24).toString("base64url");
  const idp = await startIdp({ port: 0, clients: [client], adminToken });
  project.provide("authIssuer", AUTH_ISSUER);
  project.provide("authIdp", {
    issuer: idp.issuer,
    clientId: client.clientId,
    clientSecret: client.clientSecret,
    adminToken,
  });
  return () => idp.close();
}
