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
import { eventsWithPersons } from '../../store/events.js';
import { activityDays, dayNumber } from '../activity-days.js';

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
    WITH ${await sqlActorCtes(ctx, actor, asked)},
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
 * CTEs `months` (the `asked` months), `act` (the actor's days of activity up to the last asked
 * month, from metrics/activity-days.ts), `firsts` (each actor's first activity ever) and `am`
 * (actor × index of a month it was active in).
 */
async function sqlActorCtes(ctx: MetricContext, actor: Actor, asked: readonly Month[]): Promise<Sql> {
  const col = raw(ACTOR_COLUMN[actor]);
  const to = dayNumber(monthEnd(asked[asked.length - 1] as Month));
  return sql`months AS (${sqlMonthsTable(asked)}),
    act AS (
      SELECT ${col} AS actor, day, first_ts FROM ${await activityDays(ctx)}
      WHERE ${col} IS NOT NULL AND day < ${to}
    ),
    firsts AS (SELECT actor, min(first_ts) AS first_ts FROM act GROUP BY actor),
    am AS (
      SELECT actor, ${sqlMonthIndex(sql`day`, asked, true)} AS i FROM act
      WHERE day >= ${dayNumber(monthStart(asked[0] as Month))}
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
    WITH ${await sqlActorCtes(ctx, 'person', months)},
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

/** One actor behind a usage number: its activity events in the month. */
export interface ActiveActor {
  actor: string;
  events: number;
  /** When its first activity event ever was (of this product), ISO. */
  firstSeen: string;
  /** A person's organization (the latest of the month), or null. */
  organization: string | null;
  /** That organization's `name` property, when it has one. */
  organizationName: string | null;
  /** A person's `email` / `name` property, or an organization's `name`. */
  email: string | null;
  name: string | null;
}

/**
 * The actors behind `active_users`/`active_organizations` (all active in `month`) or
 * `new_users`/`new_organizations` (`onlyNew`: first active in `month`), by events in the month,
 * most first, at most `limit`; `total` is how many there are. Same definition as `actorMonths`.
 * With `event`, the actors who did that event (a key action) instead of any activity event; with
 * `organization`, only events in that organization (the users of one customer).
 */
export async function activeActorsIn(
  ctx: MetricContext,
  actor: Actor,
  month: Month,
  opts: { onlyNew?: boolean; limit?: number; event?: string; organization?: string } = {},
): Promise<{ total: number; actors: ActiveActor[] }> {
  const d = ctx.engine.dialect;
  const col = raw(ACTOR_COLUMN[actor]);
  const which =
    opts.event === undefined
      ? sqlActivityEvent(d, ctx.config.activity, ctx.product)
      : sql`event = ${opts.event}`;
  const from = monthStart(month);
  const to = monthEnd(month);
  const base = sql`
    WITH act AS (
      SELECT ${col} AS actor, timestamp, organization FROM ${eventsWithPersons()}
      WHERE ${which} AND ${col} IS NOT NULL AND timestamp < ${to}${opts.organization === undefined ? sql`` : sql` AND organization = ${opts.organization}`}
    ),
    per AS (
      SELECT actor, min(timestamp) AS first_ts,
        ${d.sqlCountIf(sql`timestamp >= ${from}`)} AS events,
        ${d.sqlArgMax(sql`organization`, sql`CASE WHEN timestamp >= ${from} THEN timestamp END`)} AS organization
      FROM act GROUP BY actor
      HAVING ${d.sqlCountIf(sql`timestamp >= ${from}`)} > 0${opts.onlyNew ? sql` AND min(timestamp) >= ${from}` : sql``}
    )`;
  const [n] = await ctx.engine.query<{ n: number }>(sql`${base} SELECT count(*) AS n FROM per`);
  const props = actor === 'person' ? sql`p.properties` : sql`g.properties`;
  const join_ =
    actor === 'person'
      ? sql`LEFT JOIN persons p ON p.person_id = per.actor
        LEFT JOIN groups og ON og.group_type = 'organization' AND og.group_key = per.organization`
      : sql`LEFT JOIN groups g ON g.group_type = 'organization' AND g.group_key = per.actor`;
  const orgName = actor === 'person' ? d.sqlJsonString(sql`og.properties`, ['name']) : sql`NULL`;
  const rows = await ctx.engine.query<{
    actor: string;
    events: number;
    first_ts: string;
    organization: string | null;
    organization_name: string | null;
    email: string | null;
    name: string | null;
  }>(sql`${base}
    SELECT per.actor, per.events, per.first_ts, per.organization, ${orgName} AS organization_name,
      ${d.sqlJsonString(props, ['email'])} AS email, ${d.sqlJsonString(props, ['name'])} AS name
    FROM per ${join_}
    ORDER BY per.events DESC, per.actor
    LIMIT ${opts.limit ?? 500}`);
  return {
    total: Number(n?.n ?? 0),
    actors: rows.map((r) => ({
      actor: r.actor,
      events: Number(r.events),
      firstSeen: r.first_ts,
      organization: actor === 'person' ? r.organization : null,
      organizationName: r.organization_name,
      email: r.email,
      name: r.name,
    })),
  };
}
