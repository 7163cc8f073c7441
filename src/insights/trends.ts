/**
 * Trends with PostHog semantics (docs/insights.md#trends): per event series and interval,
 * `total` counts events, `dau` distinct people (identity-resolved), `unique_group` distinct
 * organizations (events without one are not counted), and `sum`/`avg`/`min`/`max` aggregate the
 * numeric event property `mathProperty` (PostHog's `toFloat`: numbers and numeric strings; events
 * without a numeric value are left out, so `avg` is over the events that have one). Every
 * interval of the range is listed: empty ones with 0 for the counts and `sum`, and null for
 * `avg`/`min`/`max` (PostHog shows 0 there; no value is not a value of 0). Events are read
 * within dateFrom…dateTo exactly.
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
import { eventsWithPersons } from '../store/events.js';

const PROPERTY_MATH = ['sum', 'avg', 'min', 'max'] as const;
type PropertyMath = (typeof PROPERTY_MATH)[number];
const isPropertyMath = (m: string): m is PropertyMath => (PROPERTY_MATH as readonly string[]).includes(m);

export const trendsSpecSchema = z
  .strictObject({
    kind: z.literal('trends').default('trends'),
    ...intervalRangeFields,
    events: z.array(eventMatcherSchema).min(1).max(50),
    math: z.enum(['total', 'dau', 'unique_group', ...PROPERTY_MATH]).default('total'),
    /** The numeric event property `sum`/`avg`/`min`/`max` aggregate. */
    mathProperty: z.string().min(1).optional(),
  })
  .superRefine((s, ctx) => {
    if (isPropertyMath(s.math) && s.mathProperty === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['mathProperty'],
        message: `math '${s.math}' needs a mathProperty`,
      });
    }
    if (!isPropertyMath(s.math) && s.mathProperty !== undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['mathProperty'],
        message: `only with math ${PROPERTY_MATH.join(', ')} (math is '${s.math}')`,
      });
    }
  });
export type TrendsSpec = z.input<typeof trendsSpecSchema>;
type Spec = z.output<typeof trendsSpecSchema>;

export interface TrendsResult {
  /** `value` is null only for avg/min/max of an interval with no numeric value. */
  series: { event: string; points: { date: string; value: number | null }[] }[];
}

function sqlValue(d: Dialect, s: Spec): Sql {
  if (s.math === 'total') return sql`count(*)`;
  if (s.math === 'dau') return d.sqlCountDistinct(raw('person_id'));
  if (s.math === 'unique_group') return d.sqlCountDistinct(raw('organization'));
  const x = d.sqlJsonNumber(raw('properties'), [s.mathProperty!]);
  return s.math === 'sum' ? sql`coalesce(sum(${x}), 0)` : sql`${raw(s.math)}(${x})`;
}

export function buildTrendsQuery(d: Dialect, s: Spec, range: DateRange): Sql {
  const value = sqlValue(d, s);
  const bucket = sqlInterval(d, raw('timestamp'), s.interval, s.weekStartDay);
  const perSeries = s.events.map(
    (m, i) => sql`SELECT ${i} AS series, ${bucket} AS date, ${value} AS value FROM ${eventsWithPersons()}
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
  const got = new Map(
    rows.map((r) => [`${Number(r.series)}|${Number(r.date)}`, r.value === null ? null : Number(r.value)]),
  );
  const empty = isPropertyMath(s.math) && s.math !== 'sum' ? null : 0;
  return {
    series: s.events.map((m, i) => ({
      event: matcherName(m),
      points: periods.map((p) => {
        const n = intervalNumber(p, s.interval, s.weekStartDay);
        const v = got.get(`${i}|${n}`);
        return { date: dayKey(p), value: v === undefined || v === null ? empty : v };
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
