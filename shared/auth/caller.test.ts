/** Who a token's props say the caller is: ids unique across kinds, and the identity of record. */
import { describe, expect, it } from "vitest";
import { checkServerAccess } from "./policy";
import { callerFrom } from "./token.validation";

describe("callerFrom", () => {
  it("takes the identity of record from the principal, never from the login name", () => {
    const caller = callerFrom(
      {
        kind: "user",
        iss: "https://idp.example.com",
        sub: "00u1abc",
        principal: "mallory@example.com",
        username: "alice",
        email: "mallory@example.com",
        groups: ["ads"],
      },
      ["presto:read"],
    );
    expect(caller).toEqual({
      kind: "user",
      id: "user:mallory@example.com",
      principal: "mallory@example.com",
      // Who they are at the IdP, whatever their email becomes.
      subject: "https://idp.example.com#00u1abc",
      name: "alice",
      groups: ["ads"],
      scopes: ["presto:read"],
    });
  });

  it("keeps a user whose subject looks like a service apart from that service", () => {
    const user = callerFrom({ kind: "user", sub: "service:etl-bot", groups: [] }, []);
    const service = callerFrom({ kind: "service", name: "etl-bot" }, []);
    expect(user.id).toBe("user:service:etl-bot");
    expect(service).toMatchObject({ id: "service:etl-bot", principal: "etl-bot" });
    expect(user.id).not.toBe(service.id);
    // Nor does such a user pass a gate as that service.
    expect(checkServerAccess("presto", { groups: ["finance"], services: ["etl-bot"] }, user).allowed).toBe(false);
  });

  it("falls back to the subject for tokens issued before principals existed", () => {
    expect(callerFrom({ kind: "user", sub: "alice", username: "alice" }, [])).toMatchObject({
      id: "user:alice",
      principal: "alice",
    });
  });
});
