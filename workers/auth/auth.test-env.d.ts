/** What the auth tests' global setup (auth.idp.global.js) provides. */
declare module "vitest" {
  export interface ProvidedContext {
    authIssuer: string;
    authIdp: { issuer: string; clientId: string; clientSecret: string; adminToken: string };
  }
}

export {};
