/**
 * Retention with PostHog semantics (docs/insights.md#retention): of the people who did
 * `targetEvent` in a period (the cohort), how many did `returningEvent` 1, 2, … periods later.
 *
 * - `recurring` (PostHog's default): a person belongs to every cohort period in which they did
 *   the target event; `first_time`: only to the period of their first target event ever (looked
 *   up over all history, not just the range).
 * - Cohorts are the `totalIntervals` periods ending with the one holding `dateTo` (or every period
 *   from the one holding `dateFrom`); values[0] is the cohort size, values[n] the people who did
 *   the returning event in period cohort+n. A cohort gets values up to the last period only.
 * - Periods are UTC days, weeks (starting `weekStartDay`, sunday by default) or months; returning
 *   events are read to the end of the last period.
 */
import { z } from 'zod';
import type { Dialect } from '../store/dialect.js';
import type { Engine } from '../store/engine.js';
import { raw, sql, type Sql } from '../store/sql.js';
import {
  addIntervals,
  dateInput,
  dateStart,
  dateToEnd,
  dayKey,
  eventMatcherSchema,
  intervalNumber,
  intervalSchema,
  weekStartDaySchema,
  intervalStart,
  parseSpec,
  sqlInterval,
  sqlMatches,
  truncate,
  type Interval,
} from './common.js';

export const retentionSpecSchema = z.strictObject({
  kind: z.literal('retention').default('retention'),
  dateFrom: dateInput.optional(),
  dateTo: dateInput,
  interval: intervalSchema.optional(),
  targetEvent: eventMatcherSchema,
  returningEvent: eventMatcherSchema.optional(),
  period: intervalSchema.optional(),
  totalIntervals: z.number().int().min(1).max(400).default(11),
  retentionType: z.enum(['first_time', 'recurring']).default('recurring'),
  weekStartDay: weekStartDaySchema,
});
export type RetentionSpec = z.input<typeof retentionSpecSchema>;
type Spec = z.output<typeof retentionSpecSchema>;

export interface RetentionResult {
  cohorts: { date: string; size: number; values: number[] }[];
}

interface Plan {
  unit: Interval;
  /** Interval numbers (see common.ts) of the first and last cohort. */
  first: number;
  last: number;
  /** The first cohort's start and the last one's end: the events read. */
  from: Date;
  end: Date;
}

function plan(s: Spec): Plan {
  const unit = s.period ?? s.interval ?? 'day';
  const last = truncate(new Date(dateToEnd(s.dateTo).getTime() - 1), unit, s.weekStartDay);
  const first = s.dateFrom
    ? truncate(dateStart(s.dateFrom), unit, s.weekStartDay)
    : addIntervals(last, unit, -(s.totalIntervals - 1));
  return {
    unit,
    first: intervalNumber(first, unit, s.weekStartDay),
    last: intervalNumber(last, unit, s.weekStartDay),
    from: first,
    end: addIntervals(last, unit, 1),
  };
}

export function buildRetentionQuery(d: Dialect, s: Spec, p: Plan): Sql {
  const bucket = sqlInterval(d, raw('timestamp'), p.unit, s.weekStartDay);
  const target = sqlMatches(d, s.targetEvent);
  const returning = sqlMatches(d, s.returningEvent ?? s.targetEvent);
  const cohort =
    s.retentionType === 'first_time'
      ? sql`SELECT person_id, min(${bucket}) AS p FROM events WHERE ${target} AND timestamp < ${p.end}
          GROUP BY person_id HAVING min(${bucket}) >= ${p.first}`
      : sql`SELECT DISTINCT person_id, ${bucket} AS p FROM events
          WHERE ${target} AND timestamp >= ${p.from} AND timestamp < ${p.end}`;
  return sql`WITH cohort AS (${cohort}),
    ret AS (SELECT DISTINCT person_id, ${bucket} AS p FROM events
      WHERE ${returning} AND timestamp >= ${p.from} AND timestamp < ${p.end}),
    hits AS (
      SELECT person_id, p, 0 AS n FROM cohort
      UNION ALL
      SELECT c.person_id, c.p, r.p - c.p AS n
      FROM cohort c JOIN ret r ON r.person_id = c.person_id AND r.p > c.p)
    SELECT p AS cohort, n, count(DISTINCT person_id) AS persons
    FROM hits GROUP BY 1, 2`;
}

/** Pure: the (cohort, n, persons) rows as the cohort table, zeros filled in. */
export function formatRetention(s: Spec, p: Plan, rows: readonly Record<string, unknown>[]): RetentionResult {
  const got = new Map(rows.map((r) => [`${Number(r.cohort)}|${Number(r.n)}`, Number(r.persons)]));
  return {
    cohorts: Array.from({ length: p.last - p.first + 1 }, (_, i) => {
      const c = p.first + i;
      const length = Math.min(s.totalIntervals, p.last - c + 1);
      const values = Array.from({ length }, (_, n) => got.get(`${c}|${n}`) ?? 0);
      return { date: dayKey(intervalStart(c, p.unit, s.weekStartDay)), size: values[0] ?? 0, values };
    }),
  };
}

export async function retention(engine: Engine, spec: RetentionSpec): Promise<RetentionResult> {
  const s = parseSpec(retentionSpecSchema, spec);
  const p = plan(s);
  const rows = await engine.query(buildRetentionQuery(engine.dialect, s, p));
  return formatRetention(s, p, rows);
}
