/** Calendar arithmetic on UTC days written as YYYY-MM-DD (the rollups' keys). */

const MONTH = /^(\d{4})-(0[1-9]|1[0-2])$/;
const DAY = /^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$/;

export function isMonth(value: string): boolean {
  return MONTH.test(value);
}

export function isDay(value: string): boolean {
  return DAY.test(value) && dayOf(Date.parse(`${value}T00:00:00Z`)) === value;
}

export function dayOf(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

export function monthOf(ms: number): string {
  return new Date(ms).toISOString().slice(0, 7);
}

/** The month's first day and the next month's first day (the range [from, to)). */
export function monthRange(month: string): { from: string; to: string } {
  return { from: `${month}-01`, to: `${addMonths(month, 1)}-01` };
}

export function addMonths(month: string, n: number): string {
  const [year, mon] = month.split("-").map(Number) as [number, number];
  const at = new Date(Date.UTC(year, mon - 1 + n, 1));
  return at.toISOString().slice(0, 7);
}

export function addDays(day: string, n: number): string {
  return dayOf(Date.parse(`${day}T00:00:00Z`) + n * 86_400_000);
}

/** Days from `from` to `to` (exclusive). */
export function daysBetween(from: string, to: string): number {
  return Math.round((Date.parse(`${to}T00:00:00Z`) - Date.parse(`${from}T00:00:00Z`)) / 86_400_000);
}

/** The Monday starting the ISO week of a day. */
export function weekStart(day: string): string {
  const weekday = new Date(`${day}T00:00:00Z`).getUTCDay(); // 0 = Sunday
  return addDays(day, -((weekday + 6) % 7));
}
