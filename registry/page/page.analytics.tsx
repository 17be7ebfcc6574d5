/**
 * The analytics page (/analytics): the month's time saved at a glance (hours per month,
 * invocations per day, top tools, by team), the tables behind it, and the viewer's own recent
 * calls to rate. Charts are server-rendered SVG (page.charts.tsx): no script, the CSP holds.
 */
import { MAX_FEEDBACK_MINUTES } from "../analytics/analytics.feedback.rules";
import type { SeriesPoint } from "../analytics/analytics.queries";
import type { Summary } from "../analytics/analytics.summary";
import { BarList, ColumnChart } from "./page.charts";

export interface RecentCall {
  id: string;
  server: string;
  tool: string;
  startedAt: number;
  outcome: string;
  rating: { helped: boolean; minutes: number | null } | null;
}

export interface AnalyticsView {
  summary: Summary;
  months: SeriesPoint[];
  days: SeriesPoint[];
  recent: RecentCall[];
  /** The months the selector offers, newest first. */
  monthChoices: string[];
}

const MONTH_NAMES = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

function monthLabel(start: string): string {
  return MONTH_NAMES[Number(start.slice(5, 7)) - 1] ?? start;
}

const pct = (value: number | null) => (value === null ? "–" : `${(value * 100).toFixed(1)} %`);
const signed = (value: number | null) =>
  value === null ? "no data the month before" : `${value >= 0 ? "+" : "−"}${Math.abs(value * 100).toFixed(1)} %`;

export function AnalyticsPage({ summary, months, days, recent, monthChoices }: AnalyticsView) {
  const hours = summary.hoursSaved;
  return (
    <>
      <h1>{`Time saved in ${summary.month}`}</h1>
      <form class="filters" method="get" action="/analytics">
        <div class="field">
          <label for="month">Month (UTC)</label>
          <select id="month" name="month">
            {monthChoices.map((month) => (
              <option value={month} selected={month === summary.month}>
                {month}
              </option>
            ))}
          </select>
        </div>
        <div class="actions">
          <button type="submit">Show</button>
        </div>
      </form>
      <dl class="kpis">
        <div>
          <dt>Hours saved</dt>
          <dd>
            <strong>{hours.estimate.toFixed(1)}</strong>
            <span class="muted">{` estimated · ${hours.effective.toFixed(1)} with feedback`}</span>
          </dd>
        </div>
        <div>
          <dt>Invocations</dt>
          <dd>
            <strong>{String(summary.invocations)}</strong>
            <span class="muted">{` ${signed(summary.change.invocations)}`}</span>
          </dd>
        </div>
        <div>
          <dt>Active people</dt>
          <dd>
            <strong>{String(summary.activeUsers)}</strong>
            <span class="muted">{` ${signed(summary.change.activeUsers)}`}</span>
          </dd>
        </div>
        <div>
          <dt>Success rate</dt>
          <dd>
            <strong>{pct(summary.successRate)}</strong>
            <span class="muted">{` · ${summary.denials} denied · p95 ≤ ${summary.latencyMs.p95 ?? "–"} ms`}</span>
          </dd>
        </div>
      </dl>
      <div class="charts">
        <ColumnChart
          id="chart-months"
          title="Hours saved per month (estimate)"
          xLabel="Month (UTC)"
          yLabel="Hours saved"
          points={months.map((point) => ({ label: monthLabel(point.start), value: point.hoursSaved.estimate }))}
        />
        <ColumnChart
          id="chart-days"
          title={`Invocations per day in ${summary.month}`}
          xLabel="Day of the month (UTC)"
          yLabel="Invocations"
          counts
          points={days.map((point) => ({ label: String(Number(point.start.slice(8, 10))), value: point.invocations }))}
        />
        <BarList
          id="chart-tools"
          title={summary.detail.allServers ? "Top tools by hours saved" : "Top tools of your teams' servers"}
          valueLabel="Hours saved"
          points={summary.topTools.map((tool) => ({ label: tool.tool, value: tool.hoursSaved }))}
        />
        <BarList
          id="chart-teams"
          title="Hours saved by owning team"
          valueLabel="Hours saved"
          points={summary.byTeam.map((team) => ({ label: team.name, value: team.hoursSaved.estimate }))}
        />
      </div>
      <FiguresTable
        caption="By server"
        rows={summary.byServer.map((row) => ({ ...row, label: `${row.name} (${row.team})` }))}
        empty="Server detail is shown to a server's owning team and to admins."
      />
      <FiguresTable
        caption="By business group of the caller"
        rows={summary.byGroup.map((row) => ({ ...row, label: row.name }))}
        empty="No calls."
      />
      <RecentCalls recent={recent} month={summary.month} />
    </>
  );
}

function FiguresTable({
  caption,
  rows,
  empty,
}: {
  caption: string;
  rows: (Summary["byTeam"][number] & { label: string })[];
  empty: string;
}) {
  if (rows.length === 0) {
    return (
      <>
        <h2>{caption}</h2>
        <p class="muted">{empty}</p>
      </>
    );
  }
  return (
    <>
      <h2>{caption}</h2>
      <div class="table-wrap">
        <table class="stack">
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Invocations</th>
              <th scope="col">People</th>
              <th scope="col">Hours (estimate)</th>
              <th scope="col">Hours (with feedback)</th>
              <th scope="col">Success</th>
              <th scope="col">Approvals granted</th>
              <th scope="col">p50 / p95 ms</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((row) => (
              <tr>
                <th scope="row">{row.label}</th>
                <td data-label="Invocations">{String(row.invocations)}</td>
                <td data-label="People">{String(row.activeUsers)}</td>
                <td data-label="Hours (estimate)">{row.hoursSaved.estimate.toFixed(1)}</td>
                <td data-label="Hours (with feedback)">{row.hoursSaved.effective.toFixed(1)}</td>
                <td data-label="Success">{pct(row.successRate)}</td>
                <td data-label="Approvals granted">{`${row.approvals.granted} of ${row.approvals.requested}`}</td>
                <td data-label="p50 / p95 ms">{`≤${row.latencyMs.p50 ?? "–"} / ≤${row.latencyMs.p95 ?? "–"}`}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </>
  );
}

function RecentCalls({ recent, month }: { recent: RecentCall[]; month: string }) {
  return (
    <>
      <h2 id="rate">Your recent calls</h2>
      <p class="muted">
        Did a call help? Your rating refines the time-saved estimate of its tool. One rating per call.
      </p>
      {recent.length === 0 ? (
        <p class="muted">No calls of yours are on record yet.</p>
      ) : (
        <div class="table-wrap">
          <table class="stack">
            <thead>
              <tr>
                <th scope="col">When (UTC)</th>
                <th scope="col">Tool</th>
                <th scope="col">Outcome</th>
                <th scope="col">Your rating</th>
              </tr>
            </thead>
            <tbody>
              {recent.map((call) => (
                <tr>
                  <td data-label="When (UTC)">
                    {new Date(call.startedAt).toISOString().slice(0, 16).replace("T", " ")}
                  </td>
                  <td data-label="Tool">{`${call.server}/${call.tool}`}</td>
                  <td data-label="Outcome">{call.outcome}</td>
                  <td data-label="Your rating">
                    {call.rating ? (
                      `${call.rating.helped ? "Helped" : "Did not help"}${call.rating.minutes !== null ? ` (${call.rating.minutes} min)` : ""}`
                    ) : (
                      <form method="post" action="/analytics/feedback" class="rate">
                        <input type="hidden" name="invocationId" value={call.id} />
                        <input type="hidden" name="month" value={month} />
                        <label>
                          Minutes saved
                          <input
                            type="number"
                            name="minutes"
                            min="0"
                            max={String(MAX_FEEDBACK_MINUTES)}
                            step="any"
                            inputmode="decimal"
                          />
                        </label>
                        <button
                          type="submit"
                          name="helped"
                          value="yes"
                          aria-label={`Helped: ${call.tool} at ${new Date(call.startedAt).toISOString()}`}
                        >
                          Helped
                        </button>
                        <button
                          type="submit"
                          name="helped"
                          value="no"
                          class="secondary"
                          aria-label={`Did not help: ${call.tool} at ${new Date(call.startedAt).toISOString()}`}
                        >
                          Did not help
                        </button>
                      </form>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </>
  );
}
