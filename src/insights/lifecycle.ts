/**
 * Lifecycle with PostHog semantics (docs/insights.md#lifecycle): per interval, the people who did
 * `event` split into
 * - new: their first event of any kind (the person's creation) falls in this interval;
 * - returning: also active in the interval before;
 * - resurrecting: not active in the interval before and created earlier;
 * - dormant (≤ 0): active in the interval before but not in this one, counted negative.
 * Whole intervals count: the first one is read from its start even when `dateFrom` is later,
 * and the interval before it is read to classify it.
 */
import { z } from 'zod';
import type { Engine } from '../store/engine.js';
import type { Dialect } from '../store/dialect.js';
import { raw, sql, type Sql } from '../store/sql.js';
import {
  addIntervals,
  buckets,
  dateInput,
  dateRange,
  dayKey,
  eventMatcherSchema,
  parseSpec,
  sqlMatches,
  type Interval,
} from './common.js';

export const lifecycleSpecSchema = z.strictObject({
  kind: z.literal('lifecycle').default('lifecycle'),
  dateFrom: dateInput,
  dateTo: dateInput,
  event: eventMatcherSchema,
  interval: z.enum(['day', 'week', 'month']).default('day'),
  weekStartDay: z.enum(['sunday', 'monday']).default('sunday'),
});
export type LifecycleSpec = z.input<typeof lifecycleSpecSchema>;
type Spec = z.output<typeof lifecycleSpecSchema>;

export interface LifecycleResult {
  intervals: { date: string; new: number; returning: number; resurrecting: number; dormant: number }[];
}

export function buildLifecycleQuery(d: Dialect, s: Spec, periods: Date[], end: Date): Sql {
  const unit: Interval = s.interval;
  const first = periods[0]!;
  const last = periods[periods.length - 1]!;
  const bucket = (ts: Sql) => d.sqlDateTrunc(unit, ts, s.weekStartDay);
  const shift = (n: number, ts: Sql) => d.sqlDateAdd(unit, raw(String(n)), ts);
  return sql`WITH act AS (
      SELECT DISTINCT person_id, ${bucket(raw('timestamp'))} AS p FROM events
      WHERE ${sqlMatches(d, s.event)} AND timestamp >= ${addIntervals(first, unit, -1)} AND timestamp < ${end}),
    created AS (
      SELECT person_id, ${bucket(raw('min(timestamp)'))} AS c FROM events
      WHERE person_id IN (SELECT person_id FROM act) GROUP BY person_id),
    statuses AS (
      SELECT a.p, CASE WHEN cr.c = a.p THEN 'new' WHEN prev.person_id IS NOT NULL THEN 'returning'
        ELSE 'resurrecting' END AS status
      FROM act a JOIN created cr ON cr.person_id = a.person_id
      LEFT JOIN act prev ON prev.person_id = a.person_id AND prev.p = ${shift(-1, raw('a.p'))}
      WHERE a.p >= ${first}
      UNION ALL
      SELECT ${shift(1, raw('a.p'))} AS p, 'dormant' AS status
      FROM act a LEFT JOIN act nxt ON nxt.person_id = a.person_id AND nxt.p = ${shift(1, raw('a.p'))}
      WHERE nxt.person_id IS NULL AND ${shift(1, raw('a.p'))} >= ${first} AND ${shift(1, raw('a.p'))} <= ${last})
    SELECT ${d.sqlDayKey(raw('p'))} AS date, status, count(*) AS persons FROM statuses GROUP BY 1, 2`;
}

/** Pure: the (date, status, persons) rows as one entry per interval, zeros filled in. */
export function formatLifecycle(periods: Date[], rows: readonly Record<string, unknown>[]): LifecycleResult {
  const got = new Map(rows.map((r) => [`${String(r.date)}|${String(r.status)}`, Number(r.persons)]));
  const at = (date: string, status: string) => got.get(`${date}|${status}`) ?? 0;
  return {
    intervals: periods.map((p) => {
      const date = dayKey(p);
      return {
        date,
        new: at(date, 'new'),
        returning: at(date, 'returning'),
        resurrecting: at(date, 'resurrecting'),
        dormant: 0 - at(date, 'dormant'), // 0 - x, not -x: no -0 in the output
      };
    }),
  };
}

export async function lifecycle(engine: Engine, spec: LifecycleSpec): Promise<LifecycleResult> {
  const s = parseSpec(lifecycleSpecSchema, spec);
  const range = dateRange(s.dateFrom, s.dateTo);
  const periods = buckets(range, s.interval, s.weekStartDay);
  const end = addIntervals(periods[periods.length - 1]!, s.interval, 1);
  const rows = await engine.query(buildLifecycleQuery(engine.dialect, s, periods, end));
  return formatLifecycle(periods, rows);
}
