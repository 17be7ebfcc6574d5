import { cloudflareTest } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";
import { LOCAL_EMAIL_DOMAIN } from "./local/idp.admin";

/** Test-only service identities; the secrets are in workers/auth/auth.services.test.ts and auth.admin.test.ts. */
const SERVICE_IDENTITIES = [
  {
    name: "reporting-bot",
    secretSha256: "1e5348d162e0da71e6b8ae00c4c03a6d188f1de252b8205bd03e53032d9ec1f8",
    scopes: ["presto:read"],
  },
  {
    name: "etl-bot",
    secretSha256: "2ccf9082c856cb6c1e277a63969f6517d231566dbd180a9eecaec353ef11ddc2",
    scopes: ["presto:read", "presto:write"],
  },
  // Revoked and restored by workers/auth/auth.admin.test.ts only.
  {
    name: "revocable-bot",
    secretSha256: "e38c5b73d74a03186375e29ed62d6d5bd7a94f8073c1e025a740dec3005902f9",
    scopes: ["presto:read"],
  },
];

/** The auth Worker in workerd, signing users in at the real local IdP (started by the global setup). */
export const authProject = {
  plugins: [
    cloudflareTest(({ inject }) => ({
      wrangler: { configPath: "workers/auth/wrangler.toml" },
      miniflare: {
        bindings: {
          AUTH_ISSUER: inject("authIssuer"),
          RESOURCES: "presto=http://127.0.0.1:8788/mcp,other=http://127.0.0.1:8791/mcp",
          SCOPES: "presto:read presto:write echo:read",
          OIDC_ISSUER: inject("authIdp").issuer,
          OIDC_CLIENT_ID: inject("authIdp").clientId,
          OIDC_CLIENT_SECRET: inject("authIdp").clientSecret,
          OIDC_ALLOWED_DOMAINS: LOCAL_EMAIL_DOMAIN,
          SERVICE_IDENTITIES: JSON.stringify(SERVICE_IDENTITIES),
          CONSENT_SECRET: "auth-tests-consent-secret-not-for-production",
        },
      },
    })),
  ],
  test: {
    name: "auth",
    include: ["workers/auth/**/*.test.ts"],
    globalSetup: ["workers/auth/auth.idp.global.js"],
    // As every workerd project (vitest.config.ts): it runs beside the other suites under `npm test`.
    testTimeout: 30_000,
    // Its files share one runtime, as every workerd project's (vitest.config.ts says why); its tests
    // use users of their own (each named with a random suffix).
    isolate: false,
  },
};

export default defineConfig({ test: { projects: [authProject] } });
