/**
 * A script-driven browser for the local OpenID Provider (idp.ts): from an authorization URL it
 * follows the IdP's redirects, fills in the sign-in form and returns the redirect back to the
 * relying party, without fetching it. Used by tests that sign users in end to end.
 */

/**
 * Cookies by origin, deliberately tiny: Path, Domain and flags are ignored, which is enough for
 * scripted sign-ins against loopback servers.
 */
export class CookieJar {
  #byOrigin = new Map<string, Map<string, string>>();

  /** The `Cookie` header value for a request to `url` ("" when there is none). */
  get(url: string): string {
    const cookies = this.#byOrigin.get(new URL(url).origin) ?? new Map<string, string>();
    return [...cookies].map(([name, value]) => `${name}=${value}`).join("; ");
  }

  /** Keeps the cookies that `response` (to a request for `url`) sets, and drops those it expires. */
  store(url: string, response: Response): void {
    const origin = new URL(url).origin;
    const cookies = this.#byOrigin.get(origin) ?? new Map<string, string>();
    this.#byOrigin.set(origin, cookies);
    for (const header of response.headers.getSetCookie()) {
      const [pair = "", ...attributes] = header.split(";");
      const separator = pair.indexOf("=");
      if (separator <= 0) continue;
      const name = pair.slice(0, separator).trim();
      const value = pair.slice(separator + 1).trim();
      if (value === "" || isExpired(attributes)) cookies.delete(name);
      else cookies.set(name, value);
    }
  }
}

function isExpired(attributes: string[]): boolean {
  for (const attribute of attributes) {
    const [key = "", value = ""] = attribute.split("=", 2).map((part) => part.trim());
    if (key.toLowerCase() === "max-age" && Number(value) <= 0) return true;
    if (key.toLowerCase() === "expires" && Date.parse(value) <= Date.now()) return true;
  }
  return false;
}

/**
 * Signs `credentials` in at the IdP that `authorizeUrl` points to and returns the final redirect
 * Location back to the relying party (e.g. `…/sso/callback?code=…&state=…&iss=…`, or an OAuth
 * `error=…` there). A session already in `jar` skips the form. Throws `Sign-in failed for <user>:
 * <reason>` when the IdP refuses the credentials, or shows an error page instead of redirecting.
 */
export async function signInAtIdp(
  authorizeUrl: string,
  credentials: { username: string; password: string },
  jar: CookieJar = new CookieJar(),
): Promise<string> {
  const browser = new Browser(new URL(authorizeUrl).origin, jar);
  const fail = (page: Page): never => {
    throw new Error(`Sign-in failed for ${credentials.username}: ${pageMessage(page)}`);
  };

  const login = await browser.navigate(authorizeUrl);
  if (typeof login === "string") return login;
  const action = login.status === 200 ? formAction(login) : undefined;
  if (!action) return fail(login);

  const form = new URLSearchParams({ username: credentials.username, password: credentials.password });
  const result = await browser.navigate(action, { method: "POST", body: form });
  return typeof result === "string" ? result : fail(result);
}

interface Page {
  url: string;
  status: number;
  html: string;
}

interface FormPost {
  method: "POST";
  body: URLSearchParams;
}

class Browser {
  #origin: string;
  #jar: CookieJar;

  constructor(origin: string, jar: CookieJar) {
    this.#origin = origin;
    this.#jar = jar;
  }

  /**
   * Requests `url` and follows redirects within the IdP's origin: returns the first Location that
   * leaves it, or the page where the redirects stop.
   */
  async navigate(url: string, init?: FormPost): Promise<string | Page> {
    let current = url;
    let response = await this.#request(current, init);
    for (;;) {
      const location = response.headers.get("location");
      if (!isRedirect(response.status) || !location) break;
      await response.body?.cancel();
      const next = new URL(location, current);
      if (next.origin !== this.#origin) return next.href;
      current = next.href;
      response = await this.#request(current);
    }
    return { url: current, status: response.status, html: await response.text() };
  }

  async #request(url: string, init?: FormPost): Promise<Response> {
    const cookie = this.#jar.get(url);
    const response = await fetch(url, {
      ...init,
      headers: cookie ? { cookie } : {},
      redirect: "manual",
    });
    this.#jar.store(url, response);
    return response;
  }
}

function isRedirect(status: number): boolean {
  return status >= 300 && status < 400;
}

/** The absolute URL the page's sign-in form posts to. */
function formAction(page: Page): string | undefined {
  const form = /<form\b[^>]*>/i.exec(page.html)?.[0];
  const action = form && /\baction="([^"]*)"/i.exec(form)?.[1];
  return action === undefined ? undefined : new URL(unescapeHtml(action), page.url).href;
}

/** What the page says went wrong: its `id="error"` element, else the HTTP status. */
function pageMessage(page: Page): string {
  const error = /<([a-z]+)\b[^>]*\bid="error"[^>]*>([\s\S]*?)<\/\1>/i.exec(page.html)?.[2];
  const text = error && unescapeHtml(error.replace(/<[^>]*>/g, "")).trim();
  return text || `the IdP answered ${page.status} at ${page.url}`;
}

const HTML_ENTITIES: Record<string, string> = { amp: "&", lt: "<", gt: ">", quot: '"', "#39": "'" };

function unescapeHtml(text: string): string {
  return text.replace(/&(amp|lt|gt|quot|#39);/g, (entity, name: string) => HTML_ENTITIES[name] ?? entity);
}
