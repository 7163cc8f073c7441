/**
 * Key actions (config `keyActions`, exact event names): how many times each was done per month,
 * and by how many persons (in `detail`). For a configured product only the key actions its
 * `events` globs match are reported: another product's action would read as a constant 0.
 * Not filtered by `activity`: a key action is counted even when it is not an activity event.
 */
import { monthEnd, monthStart, type Month } from '../../domain/month.js';
import { join, sql } from '../../store/sql.js';
import { matchesAnyGlob } from '../scope.js';
import type { MetricContext } from '../types.js';
import { sqlMonthIndex, sqlMonthsTable } from './series.js';
import { eventsWithPersons } from '../../store/events.js';

export interface KeyActionMonth {
  event: string;
  m: Month;
  count: number;
  persons: number;
}

export function keyActionsOf(ctx: MetricContext): string[] {
  const { product, config } = ctx;
  return config.keyActions.filter((k) => product.events.length === 0 || matchesAnyGlob(product.events, k));
}

export async function keyActionCounts(ctx: MetricContext): Promise<Map<string, Map<Month, KeyActionMonth>>> {
  const keys = keyActionsOf(ctx);
  const out = new Map<string, Map<Month, KeyActionMonth>>(keys.map((k) => [k, new Map()]));
  if (keys.length === 0) return out;
  const months = ctx.months;
  const rows = await ctx.engine.query<KeyActionMonth>(sql`
    WITH months AS (${sqlMonthsTable(months)}),
    counted AS (
      SELECT event, ${sqlMonthIndex(sql`timestamp`, months)} AS i, count(*) AS count, count(DISTINCT person_id) AS persons
      FROM ${eventsWithPersons()}
      WHERE event IN (${join(keys.map((k) => sql`${k}`))})
        AND timestamp >= ${monthStart(months[0] as Month)}
        AND timestamp < ${monthEnd(months[months.length - 1] as Month)}
      GROUP BY 1, 2
    )
    SELECT c.event, mo.m AS m, c.count, c.persons FROM counted c JOIN months mo ON mo.i = c.i`);
  for (const r of rows) {
    out.get(r.event)?.set(r.m, { ...r, count: Number(r.count), persons: Number(r.persons) });
  }
  return out;
}
