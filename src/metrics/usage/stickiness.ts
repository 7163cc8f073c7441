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
import { join, raw, sql } from '../../store/sql.js';
import { sqlActivityEvent } from '../scope.js';
import type { MetricContext } from '../types.js';

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
  const { engine, config, product, months } = ctx;
  const d = engine.dialect;
  const from = monthStart(months[0] as Month);
  const to = monthEnd(months[months.length - 1] as Month);
  // Six days before the first month, so its first days see their whole trailing week.
  const lookback = new Date(from.getTime() - 6 * 86_400_000);
  const offsets = join(
    [0, 1, 2, 3, 4, 5, 6].map((k) => raw(`SELECT ${k} AS k`)),
    ' UNION ALL ',
  );
  const day = d.sqlDateTrunc('day', sql`timestamp`);
  const rows = await engine.query<DailyActivity>(sql`
    WITH pd AS (
      SELECT DISTINCT person_id, ${day} AS day FROM events
      WHERE ${sqlActivityEvent(d, config.activity, product)} AND timestamp >= ${lookback} AND timestamp < ${to}
    ),
    daily AS (
      SELECT ${d.sqlMonthKey(sql`day`)} AS m, count(*) AS n FROM pd WHERE day >= ${from} GROUP BY 1
    ),
    weekly AS (
      SELECT ${d.sqlMonthKey(sql`day`)} AS m, count(*) AS n FROM (
        SELECT DISTINCT pd.person_id, ${d.sqlDateAdd('day', sql`o.k`, sql`pd.day`)} AS day
        FROM pd CROSS JOIN (${offsets}) o
      ) w
      WHERE day >= ${from} AND day < ${to} GROUP BY 1
    )
    SELECT w.m AS m, coalesce(dl.n, 0) AS "personDays", w.n AS "personWeekDays"
    FROM weekly w LEFT JOIN daily dl ON dl.m = w.m`);
  return new Map(
    rows.map((r) => [
      r.m,
      { m: r.m, personDays: Number(r.personDays), personWeekDays: Number(r.personWeekDays) },
    ]),
  );
}
