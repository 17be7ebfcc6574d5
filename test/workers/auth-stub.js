// Stand-in for the auth Worker's TokenValidator entrypoint in the kit's workerd tests: accepts
// `test.<base64 JSON>` tokens minted by bearer() in mcp-client.ts, honouring their audience and
// expiry the way the real validator reports them. Anything else is not a valid token. As with the
// real one, the binding must name the entrypoint with `props.server`, and the default entrypoint
// offers no RPC besides fetch.
import { WorkerEntrypoint } from "cloudflare:workers";

export default class AuthStub extends WorkerEntrypoint {
  fetch() {
    return new Response("auth stub", { status: 404 });
  }
}

export class TokenValidator extends WorkerEntrypoint {
  fetch() {
    return new Response("auth stub", { status: 404 });
  }

  async validateToken(resource, token) {
    if (!this.ctx.props?.server) throw new TypeError("this binding names no server (props.server)");
    if (!token.startsWith("test.")) return null;
    let claims;
    try {
      claims = JSON.parse(atob(token.slice("test.".length)));
    } catch {
      return null;
    }
    if (claims.exp <= Date.now() / 1000) return null;
    return {
      props: claims.props,
      audience: claims.aud ?? resource,
      expiresAt: claims.exp,
      scope: claims.scope,
      userId: claims.props.kind === "service" ? `service:${claims.props.name}` : claims.props.sub,
      clientId: "kit-tests",
    };
  }
}
