/** The one rule for read-only scopes, shared by the kit's tool rule and the consent page. */
import { describe, expect, it } from "vitest";
import { isReadScope } from "./scopes";

describe("isReadScope", () => {
  it("knows read scopes", () => {
    expect(["presto:read", "registry:read", "read"].every(isReadScope)).toBe(true);
  });

  it("treats every other scope as one that may change things", () => {
    expect(["presto:write", "presto:kill", "presto:admin", "presto:readwrite", "fleet:admin"].some(isReadScope)).toBe(
      false,
    );
  });
});
