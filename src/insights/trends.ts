/**
 * Trends with PostHog semantics (docs/insights.md#trends): per event series and interval,
 * `total` counts events, `dau` distinct people (identity-resolved), `unique_group` distinct
 * organizations (events without one are not counted). Every interval of the range is listed,
 * empty ones with 0. Events are read within dateFrom…dateTo exactly.
 */
import { z } from 'zod';
import type { Dialect } from '../store/dialect.js';
import type { Engine } from '../store/engine.js';
import { join, raw, sql, type Sql } from '../store/sql.js';
import {
  buckets,
  intervalRangeFields,
  dateRange,
  dayKey,
  eventMatcherSchema,
  intervalNumber,
  matcherName,
  parseSpec,
  sqlInterval,
  sqlInRange,
  sqlMatches,
  type DateRange,
} from './common.js';

export const trendsSpecSchema = z.strictObject({
  kind: z.literal('trends').default('trends'),
  ...intervalRangeFields,
  events: z.array(eventMatcherSchema).min(1).max(50),
  math: z.enum(['total', 'dau', 'unique_group']).default('total'),
});
export type TrendsSpec = z.input<typeof trendsSpecSchema>;
type Spec = z.output<typeof trendsSpecSchema>;

export interface TrendsResult {
  series: { event: string; points: { date: string; value: number }[] }[];
}

export function buildTrendsQuery(d: Dialect, s: Spec, range: DateRange): Sql {
  const value =
    s.math === 'total'
      ? sql`count(*)`
      : d.sqlCountDistinct(raw(s.math === 'dau' ? 'person_id' : 'organization'));
  const bucket = sqlInterval(d, raw('timestamp'), s.interval, s.weekStartDay);
  const perSeries = s.events.map(
    (m, i) => sql`SELECT ${i} AS series, ${bucket} AS date, ${value} AS value FROM events
      WHERE ${sqlMatches(d, m)} AND ${sqlInRange(raw('timestamp'), range)} GROUP BY 2`,
  );
  return join(perSeries, '\nUNION ALL\n');
}

/** Pure: one series per event, one point per interval. */
export function formatTrends(
  s: Spec,
  periods: Date[],
  rows: readonly Record<string, unknown>[],
): TrendsResult {
  const got = new Map(rows.map((r) => [`${Number(r.series)}|${Number(r.date)}`, Number(r.value)]));
  return {
    series: s.events.map((m, i) => ({
      event: matcherName(m),
      points: periods.map((p) => {
        const n = intervalNumber(p, s.interval, s.weekStartDay);
        return { date: dayKey(p), value: got.get(`${i}|${n}`) ?? 0 };
      }),
    })),
  };
}

export async function trends(engine: Engine, spec: TrendsSpec): Promise<TrendsResult> {
  const s = parseSpec(trendsSpecSchema, spec);
  const range = dateRange(s.dateFrom, s.dateTo);
  const rows = await engine.query(buildTrendsQuery(engine.dialect, s, range));
  return formatTrends(s, buckets(range, s.interval, s.weekStartDay), rows);
}
