/**
 * Activation rate (docs/metrics.md#usage): of the persons whose first activity event of the
 * product falls in month M ("new users"), the share who then perform every `onboarding.steps`
 * event in the configured order, each step at or after the previous one, all before
 * first activity + `onboarding.windowDays` days (exclusive). Steps are exact event names and are
 * not filtered by activity or product (a sign-up step may well be excluded from activity).
 * null when no steps are configured or M has no new users. For a configured product it is only
 * computed when the product's `events` match every step (its new users met the company's
 * onboarding before they reached the product; see usage/index.ts).
 */
import { monthEnd, monthStart, type Month } from '../../domain/month.js';
import { join, raw, sql, type Sql } from '../../store/sql.js';
import type { MetricContext } from '../types.js';
import { eventsWithPersons } from '../../store/events.js';
import { activityDays, dayNumber } from '../activity-days.js';

export interface ActivationMonth {
  m: Month;
  newUsers: number;
  activated: number;
}

export async function activation(ctx: MetricContext): Promise<Map<Month, ActivationMonth>> {
  const { engine, config, months } = ctx;
  const steps = config.onboarding.steps;
  if (steps.length === 0) return new Map();
  const d = engine.dialect;
  const from = monthStart(months[0] as Month);
  const to = monthEnd(months[months.length - 1] as Month);
  const deadline = d.sqlDateAdd('day', raw(String(config.onboarding.windowDays)), sql`n.t0`);
  // One CTE per step: the earliest time a person did step i at or after step i − 1.
  const stepCtes: Sql[] = steps.map((step, i) => {
    const prev = i === 0 ? sql`n.t0` : sql`s.t`;
    const source =
      i === 0 ? sql`cohort n` : sql`${raw(`s${i - 1}`)} s JOIN cohort n ON n.person_id = s.person_id`;
    return sql`${raw(`s${i}`)} AS (
      SELECT n.person_id AS person_id, min(e.timestamp) AS t
      FROM ${source}
      JOIN ${eventsWithPersons('e')} ON e.person_id = n.person_id AND e.event = ${step}
        AND e.timestamp >= ${prev} AND e.timestamp < ${deadline}
      GROUP BY n.person_id
    )`;
  });
  const last = raw(`s${steps.length - 1}`);
  const rows = await engine.query<ActivationMonth>(sql`
    WITH cohort AS (
      SELECT person_id, min(first_ts) AS t0 FROM ${await activityDays(ctx)}
      WHERE day < ${dayNumber(to)}
      GROUP BY person_id HAVING min(first_ts) >= ${from}
    ),
    ${join(stepCtes, ',\n    ')}
    SELECT ${d.sqlMonthKey(sql`n.t0`)} AS m, count(*) AS "newUsers", count(f.person_id) AS activated
    FROM cohort n LEFT JOIN ${last} f ON f.person_id = n.person_id
    GROUP BY 1`);
  return new Map(
    rows.map((r) => [r.m, { m: r.m, newUsers: Number(r.newUsers), activated: Number(r.activated) }]),
  );
}
