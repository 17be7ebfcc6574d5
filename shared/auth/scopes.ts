/**
 * What an OAuth scope lets a token do, decided in one place: the kit's rule that a tool which can
 * change things needs a scope that is not read-only (shared/mcp/tool.ts), and the consent page's
 * statement of what the app may do (workers/auth/auth.consent.tsx), must never disagree.
 */

/**
 * `presto:read`, `registry:read`, `read`: scopes that grant reading only. Every other scope
 * (`presto:write`, `presto:kill`, `presto:admin`, `presto:readwrite`) may change things.
 */
export function isReadScope(scope: string): boolean {
  return scope === "read" || scope.endsWith(":read");
}
