/** Compact, capped text for the Spark tools: sizes, durations, aligned rows, pages. */

/** Text beyond this is cut (with a note): tool answers stay small for the model's context. */
export const OUTPUT_CHARS = 24_000;

export function bytes(value: number): string {
  if (!Number.isFinite(value) || value <= 0) return "0 B";
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  const power = Math.min(units.length - 1, Math.floor(Math.log(value) / Math.log(1024)));
  const scaled = value / 1024 ** power;
  return `${scaled >= 100 || power === 0 ? Math.round(scaled) : scaled.toFixed(1)} ${units[power]}`;
}

export function duration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return "-";
  if (ms < 1_000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1_000).toFixed(1)} s`;
  if (ms < 3_600_000) return `${Math.floor(ms / 60_000)} min ${Math.round((ms % 60_000) / 1_000)} s`;
  return `${Math.floor(ms / 3_600_000)} h ${Math.round((ms % 3_600_000) / 60_000)} min`;
}

export const percent = (share: number) => `${(share * 100).toFixed(share < 0.1 ? 1 : 0)}%`;

/** Epoch ms of a Spark REST timestamp ("2026-12-01T06:15:00.120GMT"), or undefined. */
export function epoch(time: string | undefined): number | undefined {
  if (!time) return undefined;
  const parsed = Date.parse(time.replace(/GMT$/, "Z"));
  return Number.isNaN(parsed) ? undefined : parsed;
}

/** Rows as tab-separated lines under a header. */
export function table(header: string[], rows: (string | number)[][]): string {
  return [header.join("\t"), ...rows.map((row) => row.join("\t"))].join("\n");
}

/** `text`, cut at `max` characters with a note saying so. */
export function cap(text: string, max = OUTPUT_CHARS): string {
  return text.length <= max ? text : `${text.slice(0, max)}\n… (cut at ${max} characters)`;
}

export interface Page<T> {
  items: T[];
  total: number;
  offset: number;
  /** The offset of the next page, if there is one. */
  nextOffset?: number;
}

export function paginate<T>(items: readonly T[], offset: number, limit: number): Page<T> {
  const page = items.slice(offset, offset + limit);
  const next = offset + page.length;
  return { items: page, total: items.length, offset, ...(next < items.length ? { nextOffset: next } : {}) };
}

/** The line that tells the model how to get more. */
export function pageNote(page: Page<unknown>, noun: string): string {
  if (page.total === 0) return `No ${noun}.`;
  const shown = `${noun} ${page.offset + 1}-${page.offset + page.items.length} of ${page.total}`;
  return page.nextOffset === undefined ? shown : `${shown}; more with offset=${page.nextOffset}`;
}

/** The first line of an error text, capped: stack traces stay out unless asked for. */
export function firstLine(text: string | undefined, max = 300): string {
  const line = (text ?? "").split("\n")[0]?.trim() ?? "";
  return line.length > max ? `${line.slice(0, max)}…` : line;
}
