/**
 * The bench's Worker, run by miniflare on the generated local D1: times each dashboard read
 * (the registry's own functions), a raw-rows baseline, and the writes (with D1's rows read and
 * written, for the cost per million invocations).
 */

import { recordFeedback } from "../../registry/analytics/analytics.feedback";
import { addMonths, monthRange } from "../../registry/analytics/analytics.period";
import { loadSeries } from "../../registry/analytics/analytics.queries";
import { monthSummary } from "../../registry/analytics/analytics.summary";
import { recentCalls } from "../../registry/page/page.analytics.routes";
import { type InvocationRecord, writeInvocations } from "../../shared/db/invocations.store";

interface Env {
  DB: D1Database;
}

const RUNS = 7;

async function time(run: () => Promise<unknown>): Promise<{ medianMs: number; maxMs: number }> {
  await run(); // warm-up
  const samples: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const started = performance.now();
    await run();
    samples.push(performance.now() - started);
  }
  samples.sort((a, b) => a - b);
  return { medianMs: samples[Math.floor(RUNS / 2)] as number, maxMs: samples[RUNS - 1] as number };
}

export default {
  async fetch(request: Request, env: Env): Promise<Response> {
    const url = new URL(request.url);
    const month = url.searchParams.get("month") as string;
    const user = url.searchParams.get("user") as string;
    const db = env.DB;
    if (url.pathname === "/reads") {
      const { from, to } = monthRange(month);
      const fromMs = Date.parse(`${from}T00:00:00Z`);
      const toMs = Date.parse(`${to}T00:00:00Z`);
      const reads: Record<string, { medianMs: number; maxMs: number }> = {
        "baseline: the month from raw rows (count, minutes, distinct users)": await time(() =>
          db
            .prepare(
              "SELECT count(*), sum(minutes_saved), count(DISTINCT caller_id) FROM invocations WHERE started_at >= ?1 AND started_at < ?2",
            )
            .bind(fromMs, toMs)
            .first(),
        ),
        "summary: month, every server (admin)": await time(() => monthSummary(db, month, { all: true, teams: [] })),
        "summary: month, one team's servers": await time(() =>
          monthSummary(db, month, { all: false, teams: ["data-eng"] }),
        ),
        "summary: month, one server": await time(() => monthSummary(db, month, { all: true, teams: [] }, "presto")),
        "series: days of the month": await time(() => loadSeries(db, "day", from, to)),
        "series: 13 weeks": await time(() => loadSeries(db, "week", addDays(to, -91), to)),
        "series: 12 months": await time(() => loadSeries(db, "month", `${addMonths(month, -11)}-01`, to)),
        "series: 12 months of one server": await time(() =>
          loadSeries(db, "month", `${addMonths(month, -11)}-01`, to, "spark"),
        ),
        "recent calls of the heaviest user": await time(() => recentCalls(db, user)),
      };
      return Response.json({ reads });
    }
    if (url.pathname === "/writes") {
      // 20 batches of 400 new invocations (the session outbox's batch), then 50 ratings.
      const base = Date.parse(`${monthRange(month).from}T12:00:00Z`);
      let rowsRead = 0;
      let rowsWritten = 0;
      const started = performance.now();
      for (let b = 0; b < 20; b++) {
        const batch: InvocationRecord[] = Array.from({ length: 400 }, (_, i) => ({
          id: `bench-write-${b}-${i}`,
          serverName: "presto",
          toolName: i % 3 === 0 ? "presto_describe_table" : "presto_run_query",
          sessionId: `bench-${b}`,
          callerKind: "user",
          callerId: `user:person${String(i % 200).padStart(3, "0")}@example.com`,
          startedAt: base + b * 1000 + i,
          durationMs: 100 + i,
          outcome: i % 20 === 0 ? "error" : "ok",
          errorClass: i % 20 === 0 ? "upstream_rejected" : null,
          minutesSaved: i % 20 === 0 ? 0 : 10,
          argsDigest: "0".repeat(64),
          callerGroup: "data-eng",
          approval: null,
        }));
        const counts = await writeInvocations(db, batch);
        rowsRead += counts.rowsRead;
        rowsWritten += counts.rowsWritten;
      }
      const batchMs = (performance.now() - started) / 20;
      let feedbackWritten = 0;
      for (let i = 0; i < 50; i++) {
        const caller = { kind: "user", id: `user:person${String(i % 200).padStart(3, "0")}@example.com` } as never;
        await recordFeedback(db, caller, { invocationId: `bench-write-0-${i}`, helped: i % 4 !== 0 });
        feedbackWritten += 1;
      }
      return Response.json({
        invocationsWritten: 8000,
        batchOf400Ms: batchMs,
        d1RowsReadPerInvocation: rowsRead / 8000,
        d1RowsWrittenPerInvocation: rowsWritten / 8000,
        ratings: feedbackWritten,
      });
    }
    return new Response("not found", { status: 404 });
  },
};

function addDays(day: string, n: number): string {
  return new Date(Date.parse(`${day}T00:00:00Z`) + n * 86_400_000).toISOString().slice(0, 10);
}
