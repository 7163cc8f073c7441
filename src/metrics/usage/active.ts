/**
 * Active users and organizations, new ones, growth, retention and lifecycle, per calendar month
 * (UTC). Definitions: docs/metrics.md#usage.
 *
 * An actor is a person (`events.person_id`, identity-resolved: every distinct_id of one person
 * counts once) or an organization (`events.organization`; events without one count for no
 * organization). An actor is active in month M when it has at least one activity event of the
 * product in M (src/metrics/scope.ts). Its first month is the month of its first activity event
 * ever (of this product). For month M:
 *   active        = actors active in M
 *   new           = actors whose first month is M
 *   retained      = actors active in M and in M − 1   (lifecycle "returning")
 *   resurrecting  = active in M, not in M − 1, first month before M
 *   dormant       = active in M − 1, not in M          (a positive count here)
 *   growth rate   = (active(M) − active(M − 1)) / active(M − 1), null when active(M − 1) = 0
 *   retention     = retained(M) / active(M − 1), null when active(M − 1) = 0
 * so active = new + retained + resurrecting, and active(M − 1) = retained + dormant.
 */
import { addMonths, monthEnd, monthStart, type Month } from '../../domain/month.js';
import { raw, sql, type Sql } from '../../store/sql.js';
import { sqlActivityEvent } from '../scope.js';
import type { MetricContext } from '../types.js';
import { sqlMonthIndex, sqlMonthsTable } from './series.js';

export interface ActorMonth {
  m: Month;
  active: number;
  new: number;
  retained: number;
  resurrecting: number;
}

export type Actor = 'person' | 'organization';

const ACTOR_COLUMN: Record<Actor, string> = { person: 'person_id', organization: 'organization' };

/**
 * Per month from the month before `months[0]` to the last, for months with any active actor
 * (a month absent from the result had none).
 */
export async function actorMonths(ctx: MetricContext, actor: Actor): Promise<Map<Month, ActorMonth>> {
  const { engine, months } = ctx;
  const d = engine.dialect;
  // Index 0 is the month before the first asked, so the first one has a "last month".
  const asked = [addMonths(months[0] as Month, -1), ...months];
  const count = (cond: Sql): Sql => sql`sum(${d.sqlIf(cond, raw('1'), raw('0'))})`;
  const rows = await engine.query<ActorMonth>(sql`
    WITH ${sqlActorCtes(ctx, actor, asked)},
    flagged AS (
      SELECT a.i AS i, f.first_ts AS first_ts, p.actor IS NOT NULL AS was_active
      FROM am a
      JOIN firsts f ON f.actor = a.actor
      LEFT JOIN am p ON p.actor = a.actor AND p.i = a.i - 1
    )
    SELECT mo.m AS m,
           count(*) AS active,
           ${count(sql`x.first_ts >= mo.start_ts`)} AS new,
           ${count(sql`x.was_active`)} AS retained,
           ${count(sql`NOT x.was_active AND x.first_ts < mo.start_ts`)} AS resurrecting
    FROM flagged x JOIN months mo ON mo.i = x.i
    GROUP BY mo.m ORDER BY mo.m`);
  return new Map(
    rows.map((r) => [
      r.m,
      {
        m: r.m,
        active: Number(r.active),
        new: Number(r.new),
        retained: Number(r.retained),
        resurrecting: Number(r.resurrecting),
      },
    ]),
  );
}

/**
 * CTEs `months` (the `asked` months), `act` (the actor's activity events up to the last asked
 * month), `firsts` (each actor's first activity ever) and `am` (actor × index of a month it was
 * active in).
 */
function sqlActorCtes(ctx: MetricContext, actor: Actor, asked: readonly Month[]): Sql {
  const d = ctx.engine.dialect;
  const col = raw(ACTOR_COLUMN[actor]);
  const to = monthEnd(asked[asked.length - 1] as Month);
  return sql`months AS (${sqlMonthsTable(asked)}),
    act AS (
      SELECT ${col} AS actor, timestamp FROM events
      WHERE ${sqlActivityEvent(d, ctx.config.activity, ctx.product)} AND ${col} IS NOT NULL AND timestamp < ${to}
    ),
    firsts AS (SELECT actor, min(timestamp) AS first_ts FROM act GROUP BY actor),
    am AS (
      SELECT actor, ${sqlMonthIndex(sql`timestamp`, asked)} AS i FROM act
      WHERE timestamp >= ${monthStart(asked[0] as Month)}
      GROUP BY 1, 2
    )`;
}

export interface CohortCell {
  /** The month of the cohort's first activity. */
  cohort: Month;
  size: number;
  /** Of the cohort, how many are active in the month at hand. */
  active: number;
}

/**
 * The cohort view of retention: for each month M of `months` and each cohort C ≤ M (persons
 * whose first activity month is C, among `months`), how many of C are active in M.
 */
export async function retentionCohorts(ctx: MetricContext): Promise<Map<Month, CohortCell[]>> {
  const months = ctx.months;
  const rows = await ctx.engine.query<{ m: string; cohort: string; active: number }>(sql`
    WITH ${sqlActorCtes(ctx, 'person', months)},
    cells AS (
      SELECT a.i, ${sqlMonthIndex(sql`f.first_ts`, months)} AS ci, count(*) AS active
      FROM am a JOIN firsts f ON f.actor = a.actor
      WHERE f.first_ts >= ${monthStart(months[0] as Month)}
      GROUP BY 1, 2
    )
    SELECT mo.m AS m, co.m AS cohort, c.active
    FROM cells c JOIN months mo ON mo.i = c.i JOIN months co ON co.i = c.ci
    ORDER BY 1, 2`);
  const size = new Map(rows.filter((r) => r.m === r.cohort).map((r) => [r.cohort, Number(r.active)]));
  const out = new Map<Month, CohortCell[]>();
  for (const r of rows) {
    const cells = out.get(r.m) ?? [];
    cells.push({ cohort: r.cohort, size: size.get(r.cohort) ?? 0, active: Number(r.active) });
    out.set(r.m, cells);
  }
  return out;
}
