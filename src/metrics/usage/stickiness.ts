/**
 * DAU, WAU and MAU as monthly averages, and stickiness (docs/metrics.md#usage), UTC days.
 *   dau        = the mean over the month's calendar days of the persons active that day
 *   wau        = the mean over the month's days d of the persons active in the 7 days d−6 … d
 *   mau        = the persons active in the calendar month (= active_users)
 *   stickiness = dau / mau (from the unrounded dau), null when mau = 0
 * Days without activity count as 0 in the means. dau and wau are rounded to whole persons for
 * the metric (the unrounded mean is in `detail`).
 */
import { monthEnd, monthStart, type Month } from '../../domain/month.js';
import { sql } from '../../store/sql.js';
import type { MetricContext } from '../types.js';
import { sqlMonthIndex, sqlMonthsTable } from './series.js';
import { activityDays, dayNumber } from '../activity-days.js';

export interface DailyActivity {
  m: Month;
  /** Sum over the month's days of that day's active persons. */
  personDays: number;
  /** Sum over the month's days of the persons active in the trailing 7 days. */
  personWeekDays: number;
}

export function daysInMonth(m: Month): number {
  return Math.round((monthEnd(m).getTime() - monthStart(m).getTime()) / 86_400_000);
}

export async function dailyActivity(ctx: MetricContext): Promise<Map<Month, DailyActivity>> {
  const { engine, months } = ctx;
  const d = engine.dialect;
  const from = monthStart(months[0] as Month);
  const to = monthEnd(months[months.length - 1] as Month);
  // Six days before the first month, so its first days see their whole trailing week.
  const lookback = new Date(from.getTime() - 6 * 86_400_000);
  // Days as whole numbers since 1970-01-01 UTC (metrics/activity-days.ts): cheap to subtract.
  // A person active on day s next active on day n counts for the weekly window on the days
  // s … min(s + 6, n − 1): these runs never overlap, so summing their overlap with a month gives
  // the sum over its days of the persons active in the trailing 7 days, without expanding days.
  const rows = await engine.query<DailyActivity>(sql`
    WITH months AS (${sqlMonthsTable(months)}),
    pd AS (
      SELECT person_id, day FROM ${await activityDays(ctx)}
      WHERE day >= ${dayNumber(lookback)} AND day < ${dayNumber(to)}
      GROUP BY 1, 2
    ),
    runs AS (
      SELECT day AS s,
             ${d.sqlLeast([sql`day + 6`, sql`${d.sqlLead(sql`day`, sql`PARTITION BY person_id ORDER BY day`)} - 1`])} AS e
      FROM pd
    ),
    indexed AS (
      SELECT s, e, ${sqlMonthIndex(sql`s`, months, true)} AS si, ${sqlMonthIndex(sql`e`, months, true)} AS ei FROM runs
    ),
    -- A run is at most 7 days, so it touches at most two months: its own, and the next one.
    parts AS (
      SELECT x.si AS i, 1 AS pd, ${d.sqlLeast([sql`x.e`, sql`mo.end_day - 1`])} - x.s + 1 AS wd
      FROM indexed x JOIN months mo ON mo.i = x.si
      UNION ALL
      SELECT x.ei AS i, 0 AS pd, x.e - mo.start_day + 1 AS wd
      FROM indexed x JOIN months mo ON mo.i = x.ei
      WHERE x.si IS NULL OR x.ei <> x.si
    )
    SELECT mo.m AS m, sum(p.pd) AS "personDays", sum(p.wd) AS "personWeekDays"
    FROM parts p JOIN months mo ON mo.i = p.i
    GROUP BY mo.m`);
  return new Map(
    rows.map((r) => [
      r.m,
      { m: r.m, personDays: Number(r.personDays), personWeekDays: Number(r.personWeekDays) },
    ]),
  );
}
