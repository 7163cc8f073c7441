/**
 * Stickiness with PostHog semantics (docs/insights.md#stickiness): how many people did `event`
 * on exactly 1, 2, … N of the N intervals (days by default) of the range. Intervals with no one
 * are listed with 0 persons; people who never did the event are not counted.
 */
import { z } from 'zod';
import type { Dialect } from '../store/dialect.js';
import type { Engine } from '../store/engine.js';
import { raw, sql, type Sql } from '../store/sql.js';
import {
  buckets,
  intervalRangeFields,
  dateRange,
  eventMatcherSchema,
  parseSpec,
  sqlInterval,
  sqlInRange,
  sqlMatches,
  type DateRange,
} from './common.js';
import { eventsWithPersons } from '../store/events.js';

export const stickinessSpecSchema = z.strictObject({
  kind: z.literal('stickiness').default('stickiness'),
  ...intervalRangeFields,
  event: eventMatcherSchema,
});
export type StickinessSpec = z.input<typeof stickinessSpecSchema>;
type Spec = z.output<typeof stickinessSpecSchema>;

export interface StickinessResult {
  counts: { days: number; persons: number }[];
}

export function buildStickinessQuery(d: Dialect, s: Spec, range: DateRange): Sql {
  return sql`SELECT active AS days, count(*) AS persons FROM (
      SELECT person_id, count(DISTINCT ${sqlInterval(d, raw('timestamp'), s.interval, s.weekStartDay)}) AS active
      FROM ${eventsWithPersons()} WHERE ${sqlMatches(d, s.event)} AND ${sqlInRange(raw('timestamp'), range)}
      GROUP BY person_id) q
    GROUP BY active`;
}

/** Pure: one entry for each possible count 1…N. */
export function formatStickiness(
  intervals: number,
  rows: readonly Record<string, unknown>[],
): StickinessResult {
  const got = new Map(rows.map((r) => [Number(r.days), Number(r.persons)]));
  return {
    counts: Array.from({ length: intervals }, (_, i) => ({ days: i + 1, persons: got.get(i + 1) ?? 0 })),
  };
}

export async function stickiness(engine: Engine, spec: StickinessSpec): Promise<StickinessResult> {
  const s = parseSpec(stickinessSpecSchema, spec);
  const range = dateRange(s.dateFrom, s.dateTo);
  const rows = await engine.query(buildStickinessQuery(engine.dialect, s, range));
  return formatStickiness(buckets(range, s.interval, s.weekStartDay).length, rows);
}
