/**
 * The frame of every registry page: landmarks (header, main, footer), a skip link, the account
 * area (sign in, or who is signed in and sign out), notices, and the inline stylesheet. hono/jsx
 * escapes every value, so registry data is always rendered as text.
 */
import { raw } from "hono/html";
import type { Child } from "hono/jsx";
import type { Viewer } from "./page.session";
import { PAGE_CSS } from "./page.styles";

export const PAGE_SCRIPT_PATH = "/assets/page.js";

export interface LayoutProps {
  title: string;
  viewer?: Viewer;
  /** Where "Sign in" comes back to: this page's path and query. */
  here: string;
  notices?: { text: string; kind?: "info" | "error" }[];
  /** Load the small copy-to-clipboard script. */
  withScript?: boolean;
  children: Child;
}

export function Layout({ title, viewer, here, notices = [], withScript, children }: LayoutProps) {
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>{`${title} · MCP Fleet registry`}</title>
        {/* A constant stylesheet: raw, or its quotes and ">" combinators would be escaped. */}
        <style>{raw(PAGE_CSS)}</style>
        {withScript ? <script src={PAGE_SCRIPT_PATH} defer /> : null}
      </head>
      <body>
        <a class="skip" href="#main">
          Skip to content
        </a>
        <header class="site">
          <div class="wrap">
            <a class="brand" href="/">
              MCP Fleet registry
            </a>
            <a href="/analytics">Analytics</a>
            <Account viewer={viewer} here={here} />
          </div>
        </header>
        <main id="main" class="wrap" tabindex={-1}>
          {notices.map((notice) => (
            <p class={notice.kind === "error" ? "notice error" : "notice"} role="status">
              {notice.text}
            </p>
          ))}
          {children}
        </main>
        <footer class="site">
          <div class="wrap">
            Data straight from the registry. Machine-readable: <a href="/v0.1/servers">/v0.1/servers</a>.
          </div>
        </footer>
      </body>
    </html>
  );
}

function Account({ viewer, here }: { viewer: Viewer | undefined; here: string }) {
  if (!viewer) {
    return (
      <div class="account">
        <span class="muted">Sign in to see what you may use.</span>
        <a class="button" href={`/auth/signin?return=${encodeURIComponent(here)}`}>
          Sign in
        </a>
      </div>
    );
  }
  const groups = viewer.caller.groups;
  return (
    <div class="account">
      <span>
        Signed in as <strong>{viewer.displayName}</strong>
        <span class="muted"> ({groups.length > 0 ? groups.join(", ") : "no groups"})</span>
      </span>
      <a href="/approvals">Your approvals</a>
      <form method="post" action="/auth/signout">
        <button type="submit" class="secondary">
          Sign out
        </button>
      </form>
    </div>
  );
}

/** A complete HTML document for a layout element. */
export async function renderDocument(page: Child): Promise<string> {
  return `<!doctype html>${await page}`;
}
