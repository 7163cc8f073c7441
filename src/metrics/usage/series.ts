/**
 * Helpers shared by the usage and feedback families: the months the store has data for, and
 * turning per-month SQL rows into `MetricValues`.
 *
 * Null versus 0 (docs/metrics.md#null-or-zero): a month outside the store's data range (before the
 * first or after the last imported record of the family's sources) is null for every metric; a
 * month inside it with nothing to count is 0 for counts; a rate whose denominator is 0 is null.
 */
import { monthEnd, monthStart, type Month } from '../../domain/month.js';
import type { MetricGroup, MetricUnit } from '../../domain/review.js';
import type { Engine } from '../../store/engine.js';
import { join, sql, type Sql } from '../../store/sql.js';
import type { MetricValues } from '../types.js';

export interface MonthRange {
  first: Month | null;
  last: Month | null;
}

export function inRange(m: Month, r: MonthRange): boolean {
  return r.first !== null && r.last !== null && m >= r.first && m <= r.last;
}

/** The first and last month holding any row of `table` (by `column`), across all products. */
export async function monthRange(engine: Engine, from: Sql, column: Sql): Promise<MonthRange> {
  const d = engine.dialect;
  const [r] = await engine.query<{ first: string | null; last: string | null }>(
    sql`SELECT ${d.sqlMonthKey(sql`min(${column})`)} AS first, ${d.sqlMonthKey(sql`max(${column})`)} AS last FROM ${from}`,
  );
  return { first: r?.first ?? null, last: r?.last ?? null };
}

/** The union of two ranges (either may be empty). */
export function unionRange(a: MonthRange, b: MonthRange): MonthRange {
  const pick = (x: Month | null, y: Month | null, f: (p: Month, q: Month) => Month): Month | null =>
    x === null ? y : y === null ? x : f(x, y);
  return {
    first: pick(a.first, b.first, (p, q) => (p < q ? p : q)),
    last: pick(a.last, b.last, (p, q) => (p > q ? p : q)),
  };
}

export interface MetricMeta {
  id: string;
  group: MetricGroup;
  label: string;
  unit: MetricUnit;
  description: string;
}

/**
 * One metric over `months`: `value(m)` inside `range`, null outside. `value` returns null for a
 * rate with a 0 denominator.
 */
export function series(
  meta: MetricMeta,
  months: readonly Month[],
  range: MonthRange,
  value: (m: Month) => number | null,
  detail?: (m: Month) => Record<string, unknown> | undefined,
): MetricValues {
  const values = new Map<Month, number | null>();
  const details = new Map<Month, Record<string, unknown>>();
  for (const m of months) {
    const v = inRange(m, range) ? value(m) : null;
    values.set(m, v === null || Number.isFinite(v) ? v : null);
    const x = inRange(m, range) ? detail?.(m) : undefined;
    if (x) details.set(m, x);
  }
  return detail ? { ...meta, values, detail: details } : { ...meta, values };
}

/** Indexes rows by their `m` (a `YYYY-MM` key). */
export function byMonth<T extends { m: string }>(rows: readonly T[]): Map<Month, T> {
  return new Map(rows.map((r) => [r.m, r]));
}

/** a / b, or null when b is 0 or either is missing. */
export function ratio(a: number | null | undefined, b: number | null | undefined): number | null {
  if (a === null || a === undefined || b === null || b === undefined || b === 0) return null;
  return a / b;
}

/**
 * A small table of months as SQL (`i`, `m`, `start_ts`, `end_ts`, `start_day`, `end_day`; days
 * are whole days since 1970-01-01 UTC), built from our own constants as parameters. Joining
 * events to it by range replaces a per-event date_trunc, which time-zone-aware engines compute
 * slowly.
 */
export function sqlMonthsTable(months: readonly Month[]): Sql {
  const DAY = 86_400_000;
  return join(
    months.map(
      (m, i) =>
        sql`SELECT ${i} AS i, ${m} AS m, ${monthStart(m)} AS start_ts, ${monthEnd(m)} AS end_ts,
                   ${monthStart(m).getTime() / DAY} AS start_day, ${monthEnd(m).getTime() / DAY} AS end_day`,
    ),
    ' UNION ALL ',
  );
}

/**
 * The index in `months` of the month holding `expr` (null outside them), as a CASE over the
 * month boundaries: far cheaper per row than a calendar function or a range join. `expr` is a
 * timestamp, or with `days` a day number since 1970-01-01 UTC.
 */
export function sqlMonthIndex(expr: Sql, months: readonly Month[], days = false): Sql {
  const bound = (d: Date): Sql => (days ? sql`${d.getTime() / 86_400_000}` : sql`${d}`);
  const whens = months.map((m, i) => sql` WHEN ${expr} < ${bound(monthEnd(m))} THEN ${i}`);
  return sql`(CASE WHEN ${expr} < ${bound(monthStart(months[0] as Month))} THEN NULL${join(whens, '')} ELSE NULL END)`;
}
