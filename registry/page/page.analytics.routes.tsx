/**
 * /analytics (signed in): the month's summary with charts, and POST /analytics/feedback, the
 * signed-in viewer's rating of one of their own calls (same origin only, like sign-out).
 */
import { Hono } from "hono";
import { csrf } from "hono/csrf";
import { recordFeedback } from "../analytics/analytics.feedback";
import { feedbackMinutesProblem, MAX_FEEDBACK_MINUTES } from "../analytics/analytics.feedback.rules";
import { addDays, addMonths, dayOf, isMonth, monthOf, monthRange } from "../analytics/analytics.period";
import { loadSeries, type SeriesPoint } from "../analytics/analytics.queries";
import { visibilityOf } from "../analytics/analytics.routes";
import { monthSummary } from "../analytics/analytics.summary";
import type { RegistryEnv } from "../registry.env";
import type { RenderPage } from "../registry.page";
import { AnalyticsPage, type RecentCall } from "./page.analytics";
import { type PageVariables, resolveViewer } from "./page.session";

type PageEnv = { Bindings: RegistryEnv; Variables: PageVariables };

const NOTICES: Record<string, string> = {
  recorded: "Thanks: your rating is recorded.",
  already: "That call is already rated: a call is rated once.",
  forbidden: "Only the person who made a call may rate it.",
  missing: "That call is not on record (calls are recorded a few seconds after they end).",
  invalid: `The rating was not understood: choose Helped or Did not help, and minutes from 0 to ${MAX_FEEDBACK_MINUTES}.`,
};

export function analyticsRoutes(render: RenderPage) {
  const routes = new Hono<PageEnv>();

  routes.get("/", async (c) => {
    await resolveViewer(c);
    const viewer = c.get("viewer");
    if (!viewer) {
      return render(
        c,
        200,
        "Analytics",
        <>
          <h1>Time saved</h1>
          <p>Sign in to see the fleet's time-saved analytics (the button at the top of the page).</p>
        </>,
      );
    }
    const current = monthOf(Date.now());
    const asked = c.req.query("month");
    const notices: string[] = [];
    let month = current;
    if (asked && isMonth(asked)) month = asked;
    else if (asked) notices.push(`“${asked}” is not a month (YYYY-MM); showing ${current}.`);
    const notice = NOTICES[c.req.query("feedback") ?? ""];
    if (notice) notices.push(notice);
    const { from, to } = monthRange(month);
    const [summary, months, days, recent] = await Promise.all([
      monthSummary(c.env.DB, month, visibilityOf(viewer.caller, c.env)),
      loadSeries(c.env.DB, "month", `${addMonths(month, -11)}-01`, to),
      loadSeries(c.env.DB, "day", from, to),
      recentCalls(c.env.DB, viewer.caller.id),
    ]);
    // Every month of the year and every day of the month so far on the axes, with or without calls.
    const monthStarts = Array.from({ length: 12 }, (_, i) => `${addMonths(month, i - 11)}-01`);
    const today = dayOf(Date.now());
    const dayStarts: string[] = [];
    for (let day = from; day < to && day <= today; day = addDays(day, 1)) dayStarts.push(day);
    const filled = (points: SeriesPoint[], starts: string[]) =>
      starts.map(
        (start) =>
          points.find((point) => point.start === start) ?? {
            start,
            invocations: 0,
            successes: 0,
            errors: 0,
            activeUsers: 0,
            hoursSaved: { estimate: 0, effective: 0 },
          },
      );
    const monthChoices = Array.from({ length: 24 }, (_, i) => addMonths(current, -i));
    if (!monthChoices.includes(month)) monthChoices.push(month);
    return render(
      c,
      200,
      "Analytics",
      <AnalyticsPage
        {...{ summary, recent, monthChoices }}
        months={filled(months, monthStarts)}
        days={filled(days, dayStarts.length > 0 ? dayStarts : [from])}
      />,
      {
        notices,
      },
    );
  });

  routes.post(
    "/feedback",
    csrf({ origin: (origin, c) => origin === new URL((c.env as RegistryEnv).PUBLIC_URL).origin }),
    async (c) => {
      await resolveViewer(c);
      const viewer = c.get("viewer");
      if (!viewer) return c.redirect("/analytics", 303);
      const form = await c.req.parseBody();
      const month = typeof form.month === "string" && isMonth(form.month) ? form.month : monthOf(Date.now());
      const back = (outcome: string) => c.redirect(`/analytics?month=${month}&feedback=${outcome}#rate`, 303);
      const invocationId = typeof form.invocationId === "string" ? form.invocationId.trim() : "";
      const helped = form.helped === "yes" ? true : form.helped === "no" ? false : undefined;
      const minutesText = typeof form.minutes === "string" ? form.minutes.trim() : "";
      // One form, two buttons: minutes typed before "Did not help" are not part of that rating.
      const minutes = minutesText === "" || helped === false ? undefined : Number(minutesText);
      const badMinutes = feedbackMinutesProblem(minutes, helped ?? false) !== undefined;
      if (!invocationId || invocationId.length > 64 || helped === undefined || badMinutes) return back("invalid");
      const answer = await recordFeedback(c.env.DB, viewer.caller, { invocationId, helped, minutes });
      if (answer.ok) return back("recorded");
      return back({ 400: "invalid", 403: "forbidden", 404: "missing", 409: "already" }[answer.status]);
    },
  );

  return routes;
}

/** The viewer's last calls still on record, with their rating if any. */
export async function recentCalls(db: D1Database, callerId: string): Promise<RecentCall[]> {
  const { results } = await db
    .prepare(
      `SELECT i.id, i.server_name, i.tool_name, i.started_at, i.outcome, f.helped, f.minutes
        FROM invocations i LEFT JOIN feedback f ON f.invocation_id = i.id
        WHERE i.caller_id = ?1 ORDER BY i.started_at DESC LIMIT 10`,
    )
    .bind(callerId)
    .all<{
      id: string;
      server_name: string;
      tool_name: string;
      started_at: number;
      outcome: string;
      helped: number | null;
      minutes: number | null;
    }>();
  return results.map((row) => ({
    id: row.id,
    server: row.server_name,
    tool: row.tool_name,
    startedAt: row.started_at,
    outcome: row.outcome,
    rating: row.helped === null ? null : { helped: row.helped === 1, minutes: row.minutes },
  }));
}
