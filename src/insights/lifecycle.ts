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
  intervalRangeFields,
  dateRange,
  dayKey,
  eventMatcherSchema,
  intervalNumber,
  intervalStart,
  parseSpec,
  sqlInterval,
  sqlMatches,
  type Interval,
} from './common.js';
import { eventsWithPersons } from '../store/events.js';

export const lifecycleSpecSchema = z.strictObject({
  kind: z.literal('lifecycle').default('lifecycle'),
  ...intervalRangeFields,
  event: eventMatcherSchema,
});
export type LifecycleSpec = z.input<typeof lifecycleSpecSchema>;
type Spec = z.output<typeof lifecycleSpecSchema>;

export interface LifecycleResult {
  intervals: { date: string; new: number; returning: number; resurrecting: number; dormant: number }[];
}

export function buildLifecycleQuery(d: Dialect, s: Spec, first: number, last: number): Sql {
  const unit: Interval = s.interval;
  const num = (ts: Sql) => sqlInterval(d, ts, unit, s.weekStartDay);
  const from = intervalStart(first - 1, unit, s.weekStartDay);
  const end = intervalStart(last + 1, unit, s.weekStartDay);
  return sql`WITH act AS (
      SELECT DISTINCT person_id, ${num(raw('timestamp'))} AS p FROM ${eventsWithPersons()}
      WHERE ${sqlMatches(d, s.event)} AND timestamp >= ${from} AND timestamp < ${end}),
    created AS (
      SELECT person_id, ${num(raw('min(timestamp)'))} AS c FROM ${eventsWithPersons()}
      WHERE person_id IN (SELECT person_id FROM act) GROUP BY person_id),
    statuses AS (
      SELECT a.p AS p, CASE WHEN cr.c = a.p THEN 'new' WHEN prev.person_id IS NOT NULL THEN 'returning'
        ELSE 'resurrecting' END AS status
      FROM act a JOIN created cr ON cr.person_id = a.person_id
      LEFT JOIN act prev ON prev.person_id = a.person_id AND prev.p = a.p - 1
      WHERE a.p >= ${first}
      UNION ALL
      SELECT a.p + 1 AS p, 'dormant' AS status
      FROM act a LEFT JOIN act nxt ON nxt.person_id = a.person_id AND nxt.p = a.p + 1
      WHERE nxt.person_id IS NULL AND a.p + 1 >= ${first} AND a.p + 1 <= ${last})
    SELECT p, status, count(*) AS persons FROM statuses GROUP BY 1, 2`;
}

/** Pure: the (interval number, status, persons) rows as one entry per interval, zeros filled in. */
export function formatLifecycle(
  s: Spec,
  first: number,
  last: number,
  rows: readonly Record<string, unknown>[],
): LifecycleResult {
  const got = new Map(rows.map((r) => [`${Number(r.p)}|${String(r.status)}`, Number(r.persons)]));
  const at = (p: number, status: string) => got.get(`${p}|${status}`) ?? 0;
  return {
    intervals: Array.from({ length: last - first + 1 }, (_, i) => {
      const p = first + i;
      return {
        date: dayKey(intervalStart(p, s.interval, s.weekStartDay)),
        new: at(p, 'new'),
        returning: at(p, 'returning'),
        resurrecting: at(p, 'resurrecting'),
        dormant: 0 - at(p, 'dormant'), // 0 - x, not -x: no -0 in the output
      };
    }),
  };
}

export async function lifecycle(engine: Engine, spec: LifecycleSpec): Promise<LifecycleResult> {
  const s = parseSpec(lifecycleSpecSchema, spec);
  const range = dateRange(s.dateFrom, s.dateTo);
  const first = intervalNumber(range.from, s.interval, s.weekStartDay);
  const last = intervalNumber(new Date(range.to.getTime() - 1), s.interval, s.weekStartDay);
  const rows = await engine.query(buildLifecycleQuery(engine.dialect, s, first, last));
  return formatLifecycle(s, first, last, rows);
}
