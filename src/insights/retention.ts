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
 * - `breakdown` (PostHog's retention breakdown): each value is a retention table of its own. An
 *   event property splits a person's events, so both the cohort's and the returning events must
 *   carry the value; a person or organization property is read from the person / the event's
 *   organization. Values are ranked by their total cohort size (then by value); the top `limit`
 *   (PostHog's 25) are kept and the rest summed into "$$_posthog_breakdown_other_$$". No value is
 *   `null`.
 */
import { z } from 'zod';
import { compareText } from '../domain/order.js';
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
import { eventsWithPersons } from '../store/events.js';

/** PostHog's label for the breakdown values past the limit, summed together. */
export const BREAKDOWN_OTHER = '$$_posthog_breakdown_other_$$';

export const retentionBreakdownSchema = z.strictObject({
  property: z.string().min(1),
  type: z.enum(['event', 'person', 'organization']).default('event'),
  /** How many values to show before the rest become "other" (PostHog's breakdown_limit, default 25). */
  limit: z.number().int().min(1).max(1000).default(25),
});

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
  breakdown: retentionBreakdownSchema.optional(),
});
export type RetentionSpec = z.input<typeof retentionSpecSchema>;
type Spec = z.output<typeof retentionSpecSchema>;

export interface RetentionCohort {
  date: string;
  size: number;
  values: number[];
}

/** Without a breakdown `cohorts`; with one `breakdowns`, ranked, "other" last. */
export interface RetentionResult {
  cohorts?: RetentionCohort[];
  breakdowns?: { value: string | null; cohorts: RetentionCohort[] }[];
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

/** A non-null stand-in for "no value", so a join on the breakdown value matches nulls too. */
const NO_VALUE = '\u0000null';

/**
 * One row per (breakdown value, cohort, n) with the people counted. Without a breakdown the value
 * is the constant NO_VALUE. With an event property each (person, value) is a retention of its own
 * (PostHog groups its actors by both); first_time then means the first target event with that value.
 */
export function buildRetentionQuery(d: Dialect, s: Spec, p: Plan): Sql {
  const bucket = sqlInterval(d, raw('e.timestamp'), p.unit, s.weekStartDay);
  const target = sqlMatches(d, s.targetEvent, 'e');
  const returning = sqlMatches(d, s.returningEvent ?? s.targetEvent, 'e');
  const b = s.breakdown;
  const value = !b
    ? sql`${NO_VALUE}`
    : sql`coalesce(${d.sqlJsonString(raw(b.type === 'event' ? 'e.properties' : b.type === 'person' ? 'pp.properties' : 'g.properties'), [b.property])}, ${NO_VALUE})`;
  const joins =
    b?.type === 'person'
      ? sql` LEFT JOIN persons pp ON pp.person_id = e.person_id`
      : b?.type === 'organization'
        ? sql` LEFT JOIN groups g ON g.group_type = 'organization' AND g.group_key = e.organization`
        : sql``;
  // Without a breakdown the value is a constant: added to the result rows only, not carried
  // through the DISTINCTs and the join. Each (value, cohort, n, person) is one row of `hits`
  // (cohort and returns are distinct per person, value and period), so count(*) counts people.
  const bv = b ? sql`${value} AS bv, ` : sql``;
  const cohort =
    s.retentionType === 'first_time'
      ? sql`SELECT e.person_id, ${bv}min(${bucket}) AS p FROM ${eventsWithPersons('e')}${joins}
          WHERE ${target} AND e.timestamp < ${p.end}
          GROUP BY ${b ? raw('1, 2') : raw('1')} HAVING min(${bucket}) >= ${p.first}`
      : sql`SELECT DISTINCT e.person_id, ${bv}${bucket} AS p FROM ${eventsWithPersons('e')}${joins}
          WHERE ${target} AND e.timestamp >= ${p.from} AND e.timestamp < ${p.end}`;
  return sql`WITH cohort AS (${cohort}),
    ret AS (SELECT DISTINCT e.person_id, ${bv}${bucket} AS p FROM ${eventsWithPersons('e')}${joins}
      WHERE ${returning} AND e.timestamp >= ${p.from} AND e.timestamp < ${p.end}),
    hits AS (
      SELECT person_id, ${b ? raw('bv, ') : raw('')}p, 0 AS n FROM cohort
      UNION ALL
      SELECT c.person_id, ${b ? raw('c.bv, ') : raw('')}c.p, r.p - c.p AS n
      FROM cohort c JOIN ret r ON r.person_id = c.person_id${b ? raw(' AND r.bv = c.bv') : raw('')} AND r.p > c.p)
    SELECT ${b ? raw('bv') : sql`${NO_VALUE} AS bv`}, p AS cohort, n, count(*) AS persons
    FROM hits GROUP BY ${b ? raw('bv, p, n') : raw('p, n')}`;
}

/** Pure: the (value, cohort, n, persons) rows as cohort tables, zeros filled in, values ranked. */
export function formatRetention(s: Spec, p: Plan, rows: readonly Record<string, unknown>[]): RetentionResult {
  const table = (got: Map<string, number>): RetentionCohort[] =>
    Array.from({ length: p.last - p.first + 1 }, (_, i) => {
      const c = p.first + i;
      const length = Math.min(s.totalIntervals, p.last - c + 1);
      const values = Array.from({ length }, (_, n) => got.get(`${c}|${n}`) ?? 0);
      return { date: dayKey(intervalStart(c, p.unit, s.weekStartDay)), size: values[0] ?? 0, values };
    });
  const byValue = new Map<string, Map<string, number>>();
  for (const r of rows) {
    const v = String(r.bv);
    let got = byValue.get(v);
    if (!got) byValue.set(v, (got = new Map<string, number>()));
    const key = `${Number(r.cohort)}|${Number(r.n)}`;
    got.set(key, (got.get(key) ?? 0) + Number(r.persons));
  }
  if (!s.breakdown) return { cohorts: table(byValue.get(NO_VALUE) ?? new Map<string, number>()) };
  // PostHog: rank by the total of the cohort sizes, then by value; past the limit, sum into "other".
  const total = (got: Map<string, number>) =>
    [...got].reduce((sum, [k, n]) => (k.endsWith('|0') ? sum + n : sum), 0);
  const label = (v: string) => (v === NO_VALUE ? '' : v);
  const ranked = [...byValue]
    .map(([v, got]) => ({ v, got, total: total(got) }))
    .sort((a, b) => b.total - a.total || compareText(label(a.v), label(b.v)));
  const kept = ranked.slice(0, s.breakdown.limit);
  const rest = ranked.slice(s.breakdown.limit);
  const breakdowns = kept.map(({ v, got }) => ({ value: v === NO_VALUE ? null : v, cohorts: table(got) }));
  if (rest.length > 0) {
    const other = new Map<string, number>();
    for (const { got } of rest) for (const [k, n] of got) other.set(k, (other.get(k) ?? 0) + n);
    breakdowns.push({ value: BREAKDOWN_OTHER, cohorts: table(other) });
  }
  return { breakdowns };
}

export async function retention(engine: Engine, spec: RetentionSpec): Promise<RetentionResult> {
  const s = parseSpec(retentionSpecSchema, spec);
  const p = plan(s);
  const rows = await engine.query(buildRetentionQuery(engine.dialect, s, p));
  return formatRetention(s, p, rows);
}
