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
  const { engine, config, product, months } = ctx;
  const d = engine.dialect;
  const col = raw(ACTOR_COLUMN[actor]);
  const from = monthStart(addMonths(months[0] as Month, -1));
  const to = monthEnd(months[months.length - 1] as Month);
  const mt = (ts: Sql): Sql => d.sqlDateTrunc('month', ts);
  const count = (cond: Sql): Sql => sql`sum(${d.sqlIf(cond, raw('1'), raw('0'))})`;
  const rows = await engine.query<ActorMonth>(sql`
    WITH act AS (
      SELECT ${col} AS actor, timestamp FROM events
      WHERE ${sqlActivityEvent(d, config.activity, product)} AND ${col} IS NOT NULL AND timestamp < ${to}
    ),
    firsts AS (SELECT actor, ${mt(sql`min(timestamp)`)} AS first_mt FROM act GROUP BY actor),
    am AS (SELECT DISTINCT actor, ${mt(sql`timestamp`)} AS mt FROM act WHERE timestamp >= ${from}),
    flagged AS (
      SELECT a.actor, a.mt, f.first_mt, p.actor IS NOT NULL AS was_active
      FROM am a
      JOIN firsts f ON f.actor = a.actor
      LEFT JOIN am p ON p.actor = a.actor AND p.mt = ${d.sqlDateAdd('month', raw('-1'), sql`a.mt`)}
    )
    SELECT ${d.sqlMonthKey(sql`mt`)} AS m,
           count(*) AS active,
           ${count(sql`first_mt = mt`)} AS new,
           ${count(sql`was_active`)} AS retained,
           ${count(sql`NOT was_active AND first_mt < mt`)} AS resurrecting
    FROM flagged GROUP BY mt ORDER BY mt`);
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
