/**
 * The pages people see: the consent page (which app, where its tokens go, which server, which
 * scopes) and plain error pages. Every string that came from a client is rendered as text by
 * hono/jsx, which escapes it. The pages run no script and load nothing.
 *
 * Scopes are shown by what they let the app do, by the kit's own rule (shared/auth/scopes.ts):
 * read scopes (`…:read`), every other scope as one that may change things (`presto:write`,
 * `presto:kill`: tools that change things, each of which asks the person's approval when it
 * runs), and `fleet:admin` (revoking people's and services' access).
 */
import type { Child } from "hono/jsx";
import { isReadScope } from "../../shared/auth/scopes";

export type ScopeKind = "read" | "write" | "admin";

export function scopeKind(scope: string): ScopeKind {
  if (scope === "fleet:admin") return "admin";
  return isReadScope(scope) ? "read" : "write";
}

export interface ConsentView {
  handle: string;
  clientName: string;
  /** A Client ID Metadata Document client's verified domain. */
  clientDomain?: string;
  redirectHost: string;
  redirectIsLoopback: boolean;
  /** The server (canonical resource URL) the tokens are for. */
  resource: string;
  /** The scopes that will be granted. */
  scopes: string[];
  /** Requested scopes this server does not grant. */
  unavailableScopes: string[];
  canRemember: boolean;
}

/** Headers for every page: no caching, no framing, nothing but inline style, no referrer. */
export function pageHeaders(headers = new Headers()): Headers {
  headers.set("Content-Type", "text/html; charset=utf-8");
  headers.set("Cache-Control", "no-store");
  headers.set(
    "Content-Security-Policy",
    "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'",
  );
  headers.set("X-Frame-Options", "DENY");
  headers.set("Referrer-Policy", "no-referrer");
  return headers;
}

export async function consentPage(view: ConsentView): Promise<string> {
  const server = serverLabel(view.resource);
  return render(
    `Allow ${view.clientName}?`,
    <>
      <h1>
        Allow <span class="name">{view.clientName}</span> to use {server}?
      </h1>
      <p>
        {view.clientDomain ? (
          <>
            Published by <strong>{view.clientDomain}</strong>.
          </>
        ) : (
          "This app registered itself: its name is not verified."
        )}{" "}
        After you sign in, access is sent to <strong>{view.redirectHost}</strong>.
      </p>
      {view.redirectIsLoopback ? (
        <p class="warn">
          <strong>This sends access to an app on your computer.</strong> Continue only if you just started signing in
          from it.
        </p>
      ) : null}
      <p>
        It will act as you on <code>{view.resource}</code>
        {view.scopes.length > 0 ? "." : ", with no specific permissions."}
      </p>
      {scopeSection(
        view.scopes.filter((scope) => scopeKind(scope) === "read"),
        "read",
        "To read: it can look things up and run read-only requests, as you.",
      )}
      {scopeSection(
        view.scopes.filter((scope) => scopeKind(scope) === "write"),
        "write",
        <>
          <strong>To change things:</strong> it may also ask to run actions that change things (for example, cancel a
          running query). Each such action still asks for your approval at the time it runs.
        </>,
      )}
      {scopeSection(
        view.scopes.filter((scope) => scopeKind(scope) === "admin"),
        "admin",
        <>
          <strong>To administer the fleet:</strong> it may revoke and restore people's and services' access to every
          fleet server, as you.
        </>,
      )}
      {view.unavailableScopes.length > 0 ? (
        <p class="muted">Also asked for, not offered here: {view.unavailableScopes.join(", ")}.</p>
      ) : null}
      <form method="post" action="/authorize">
        <input type="hidden" name="handle" value={view.handle} />
        {view.canRemember ? (
          <p>
            <label>
              <input type="checkbox" name="remember" value="on" /> Don't ask again for this app (30 days)
            </label>
          </p>
        ) : null}
        <p>
          <button type="submit" name="decision" value="approve">
            Allow
          </button>{" "}
          <button type="submit" name="decision" value="deny">
            Deny
          </button>
        </p>
      </form>
    </>,
  );
}

function scopeSection(scopes: string[], kind: ScopeKind, statement: Child) {
  if (scopes.length === 0) return null;
  return (
    <section class={`scopes ${kind}`} data-scope-kind={kind}>
      <p>{statement}</p>
      <ul>
        {scopes.map((scope) => (
          <li>
            <code>{scope}</code>
          </li>
        ))}
      </ul>
    </section>
  );
}

export function messagePage(title: string, message: string, reference?: string): Promise<string> {
  return render(
    title,
    <>
      <h1>{title}</h1>
      <p>{message}</p>
      {reference ? <p class="muted">Reference: {reference}</p> : null}
    </>,
  );
}

/** `presto.mcp.example.com/mcp` for `https://presto.mcp.example.com/mcp`. */
function serverLabel(resource: string): string {
  const url = new URL(resource);
  return `${url.host}${url.pathname === "/" ? "" : url.pathname}`;
}

const STYLE = `body{font:16px/1.5 system-ui,sans-serif;max-width:36rem;margin:3rem auto;padding:0 1rem;color:#1d1d1f}
h1{font-size:1.35rem;line-height:1.3}.name{overflow-wrap:anywhere}.warn{background:#fff4e5;padding:.6rem .8rem;border-radius:6px}
.muted{color:#666;font-size:.9rem}.scopes.write,.scopes.admin{background:#fff4e5;padding:.1rem .8rem;border-radius:6px}button{font-size:1rem;padding:.45rem 1.2rem}code{overflow-wrap:anywhere}`;

async function render(title: string, body: Child): Promise<string> {
  const page = (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>{title}</title>
        <style>{STYLE}</style>
      </head>
      <body>
        <main>{body}</main>
      </body>
    </html>
  );
  return `<!doctype html>${await page}`;
}
