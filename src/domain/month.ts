/**
 * Month arithmetic has one home. A month is the string `YYYY-MM`; all dates are UTC.
 */
export type Month = string;

const MONTH_RE = /^(\d{4})-(0[1-9]|1[0-2])$/;

export function isMonth(s: string): boolean {
  return MONTH_RE.test(s);
}

export function parseMonth(s: string): { year: number; month: number } {
  const m = MONTH_RE.exec(s);
  if (!m) throw new Error(`not a month (want YYYY-MM): ${s}`);
  return { year: Number(m[1]), month: Number(m[2]) };
}

export function monthOf(d: Date): Month {
  return `${d.getUTCFullYear()}-${String(d.getUTCMonth() + 1).padStart(2, '0')}`;
}

/** The first instant of the month, UTC. */
export function monthStart(m: Month): Date {
  const { year, month } = parseMonth(m);
  return new Date(Date.UTC(year, month - 1, 1));
}

/** The first instant of the next month, UTC: months are half-open intervals [start, end). */
export function monthEnd(m: Month): Date {
  const { year, month } = parseMonth(m);
  return new Date(Date.UTC(year, month, 1));
}

export function addMonths(m: Month, n: number): Month {
  const { year, month } = parseMonth(m);
  return monthOf(new Date(Date.UTC(year, month - 1 + n, 1)));
}

/** `n` months ending with (and including) `last`, oldest first. */
export function monthsEndingAt(last: Month, n: number): Month[] {
  const out: Month[] = [];
  for (let i = n - 1; i >= 0; i--) out.push(addMonths(last, -i));
  return out;
}

export function monthsBetween(from: Month, to: Month): number {
  const a = parseMonth(from);
  const b = parseMonth(to);
  return (b.year - a.year) * 12 + (b.month - a.month);
}

/** The last month that has fully ended before `now`. */
export function lastCompleteMonth(now: Date = new Date()): Month {
  return addMonths(monthOf(now), -1);
}

/** `YYYY-MM-DD` of a UTC date. */
export function isoDay(d: Date): string {
  return d.toISOString().slice(0, 10);
}
