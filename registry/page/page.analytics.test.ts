/**
 * The /analytics page in workerd with real D1: signed-out prompt, the month's figures and SVG
 * charts with labelled axes, the strict CSP, the owning team's detail, and rating one's own call
 * from the page (same origin only, once, only the caller).
 */
import { env } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import { type InvocationRecord, writeInvocations } from "../../shared/db/invocations.store";
import { subjectOf, userIdOf } from "../../test/workers/mcp-client";
import { pageApp } from "../registry.page";
import { callRegistry, testServerJson } from "../registry.testing";
import { niceTicks, shortNumber } from "./page.charts";

function sessionCookie(user: { name: string; groups: string[] }) {
  const exp = Math.floor(Date.now() / 1000) + 300;
  const claims = {
    props: { kind: "user", sub: subjectOf(user.name), username: user.name, groups: user.groups },
    scope: ["registry:read"],
    exp,
  };
  const session = { a: `test.${btoa(JSON.stringify(claims))}`, e: exp, c: "page-test-client" };
  const value = btoa(JSON.stringify(session)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  return { cookie: `fleet_session=${value}` };
}

const PIA = sessionCookie({ name: "pia", groups: ["chart-team"] });
const QUIN = sessionCookie({ name: "quin", groups: ["elsewhere"] });

async function page(path: string, init: RequestInit = {}) {
  const response = await pageApp.request(`http://localhost${path}`, init, env);
  return { response, html: await response.text() };
}

const base: Omit<InvocationRecord, "id" | "startedAt"> = {
  serverName: "charts",
  toolName: "charts_plot",
  sessionId: "page-s",
  callerKind: "user",
  callerId: userIdOf("pia"),
  durationMs: 200,
  outcome: "ok",
  errorClass: null,
  minutesSaved: 12,
  argsDigest: "0".repeat(64),
  callerGroup: "chart-team",
  approval: null,
};

beforeAll(async () => {
  const published = await callRegistry("POST", "/v0.1/publish", {
    as: "pia; groups=chart-team; scopes=registry:read registry:write",
    body: testServerJson("charts", {
      team: "chart-team",
      tools: [
        {
          name: "charts_plot",
          description: "Plot",
          annotations: { readOnlyHint: true },
          access: {},
          needsApproval: false,
          minutesSaved: 12,
        },
      ],
    }),
  });
  expect(published.status).toBe(201);
  await writeInvocations(
    env.DB,
    Array.from({ length: 20 }, (_, i) => ({ ...base, id: `page-${i}`, startedAt: Date.UTC(2026, 6, 1 + i, 9) })),
  );
});

describe("chart axes", () => {
  it("picks round ticks from 0, whole ones for counts, and short labels", () => {
    expect(niceTicks(1, 4, true)).toEqual([0, 1]);
    expect(niceTicks(7)).toEqual([0, 2, 4, 6, 8]);
    expect(niceTicks(1)).toEqual([0, 0.25, 0.5, 0.75, 1]);
    expect(niceTicks(7_300)).toEqual([0, 2_000, 4_000, 6_000, 8_000]);
    expect([shortNumber(0.25), shortNumber(1_234), shortNumber(12_345_678)]).toEqual(["0.25", "1.2k", "12M"]);
  });
});

describe("the analytics page", () => {
  it("asks a signed-out visitor to sign in", async () => {
    const { response, html } = await page("/analytics");
    expect(response.status).toBe(200);
    expect(html).toContain("Sign in to see the fleet");
  });

  it("shows the month's figures and labelled SVG charts under the strict CSP", async () => {
    const { response, html } = await page("/analytics?month=2026-07", { headers: PIA });
    expect(response.status).toBe(200);
    expect(response.headers.get("content-security-policy")).toContain("default-src 'none'");
    expect(response.headers.get("content-security-policy")).toContain("script-src 'self'");
    expect(html).toContain("Time saved in 2026-07");
    // 20 calls × 12 minutes = 4 hours.
    expect(html).toMatch(/<strong>4\.0<\/strong>/);
    expect(html.match(/<svg /g)).toHaveLength(4);
    // Every day of July on the day chart, with or without calls; 12 months on the month chart.
    expect(html.match(/<title>Jul \d+|<title>\d+: /g)?.length).toBeGreaterThanOrEqual(31);
    for (const label of ["Month (UTC)", "Hours saved", "Day of the month (UTC)", "Invocations"]) {
      expect(html).toContain(`>${label}</text>`);
    }
    expect(html).toContain('<title id="chart-days-title">Invocations per day in 2026-07</title>');
    expect(html).toContain("charts_plot");
    expect(html).toContain("charts (chart-team)");
    expect(html).not.toMatch(/<script(?! src="\/assets\/page\.js")/);
  });

  it("shows another team the fleet's totals without the server's detail", async () => {
    const { html } = await page("/analytics?month=2026-07", { headers: QUIN });
    expect(html).toMatch(/<strong>4\.0<\/strong>/);
    expect(html).not.toContain("charts (chart-team)");
    expect(html).toContain("shown to a server&#39;s owning team and to admins");
  });

  it("names a bad month and shows the current one", async () => {
    const { html } = await page("/analytics?month=july", { headers: PIA });
    expect(html).toContain("is not a month (YYYY-MM)");
  });

  it("rates the viewer's own call once, from the same origin only", async () => {
    const form = (cookie: { cookie: string }, origin: string, fields: Record<string, string>) =>
      pageApp.request(
        "http://localhost/analytics/feedback",
        {
          method: "POST",
          headers: { ...cookie, origin, "content-type": "application/x-www-form-urlencoded" },
          body: new URLSearchParams(fields).toString(),
        },
        env,
      );
    const rating = { invocationId: "page-19", helped: "yes", minutes: "20", month: "2026-07" };
    expect((await form(PIA, "https://evil.example", rating)).status).toBe(403);
    const stranger = await form(QUIN, "http://localhost", rating);
    expect(stranger.headers.get("location")).toBe("/analytics?month=2026-07&feedback=forbidden#rate");
    const rated = await form(PIA, "http://localhost", rating);
    expect(rated.status).toBe(303);
    expect(rated.headers.get("location")).toBe("/analytics?month=2026-07&feedback=recorded#rate");
    const again = await form(PIA, "http://localhost", { ...rating, helped: "no", minutes: "" });
    expect(again.headers.get("location")).toContain("feedback=already");
    const bad = await form(PIA, "http://localhost", { ...rating, invocationId: "page-18", minutes: "-3" });
    expect(bad.headers.get("location")).toContain("feedback=invalid");
    const { html } = await page("/analytics?month=2026-07&feedback=recorded", { headers: PIA });
    expect(html).toContain("Thanks: your rating is recorded.");
    expect(html).toContain("Helped (20 min)");
  });
});
