/**
 * The consent page states what the app may do by the kit's own rule (shared/auth/scopes.ts): a
 * scope that is not read-only is never shown as reading, whatever it is called.
 */
import { describe, expect, it } from "vitest";
import { type ConsentView, consentPage, scopeKind } from "./auth.consent";

const view: ConsentView = {
  handle: "h",
  clientName: "Test Client",
  redirectHost: "127.0.0.1",
  redirectIsLoopback: true,
  resource: "https://presto.mcp.example.com/mcp",
  scopes: [],
  unavailableScopes: [],
  canRemember: false,
};

/** The scopes the page lists in the section of one kind. */
function section(html: string, kind: string): string[] {
  const match = new RegExp(`data-scope-kind="${kind}">([\\s\\S]*?)</section>`).exec(html);
  return [...(match?.[1] ?? "").matchAll(/<code>([^<]+)<\/code>/g)].map((code) => code[1] as string);
}

describe("the consent page's scope sections", () => {
  it("shows a scope that is not read-only (presto:kill) as one that may change things", async () => {
    const html = await consentPage({ ...view, scopes: ["presto:read", "presto:kill", "presto:write"] });
    expect(section(html, "read")).toEqual(["presto:read"]);
    expect(section(html, "write")).toEqual(["presto:kill", "presto:write"]);
  });

  it("classifies scopes as the kit does: only …:read (and read) is reading; fleet:admin has its own statement", () => {
    expect(
      ["presto:read", "read", "presto:kill", "presto:readwrite", "echo:admin", "fleet:admin"].map(scopeKind),
    ).toEqual(["read", "read", "write", "write", "write", "admin"]);
  });
});
