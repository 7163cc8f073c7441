/**
 * Activity by person, organization and UTC day: the relation the usage metrics and the customer
 * deep dives read instead of `events` when what they ask is per day or coarser (active persons
 * and organizations per month, first activity, daily and weekly actives, activity per
 * organization). One row per (person_id, organization, day) of the product's activity events
 * (metrics/scope.ts), identity-resolved (store/events.ts): `day` the whole days since 1970-01-01
 * UTC, `first_ts` and `last_ts` the day's first and last activity event, `events` how many,
 * `key_actions` how many of them are key actions (config.keyActions; every activity event when none
 * are configured).
 *
 * Month bounds are UTC midnights, so "an event before month M's end" is "a row of a day before
 * it", and a row's month is its day's: a query over this relation answers what the same query
 * over the events answers. In a review build it is computed once, as a table every connection of
 * the build reads (store/build-scope.ts, DuckDB); elsewhere it is a subquery.
 */
import { raw, sql, type Sql } from '../store/sql.js';
import { madeRelation, sharedRelation } from '../store/build-scope.js';
import { eventsWithPersons } from '../store/events.js';
import type { Engine } from '../store/engine.js';
import type { Config } from '../config/schema.js';
import { sqlActivityEvent, sqlMatchesAny } from './scope.js';
import type { ProductScope } from './types.js';

export interface ActivityDaysScope {
  engine: Engine;
  config: Config;
  product: ProductScope;
}

/** The SELECT behind the relation (every day the store holds). */
export function sqlActivityDaysSelect(ctx: ActivityDaysScope): Sql {
  const d = ctx.engine.dialect;
  const keyAction =
    ctx.config.keyActions.length === 0 ? raw('TRUE') : sqlMatchesAny(d, raw('event'), ctx.config.keyActions);
  return sql`
    SELECT person_id, organization, ${d.sqlIntervalNumber('day', raw('timestamp'))} AS day,
      min(timestamp) AS first_ts, max(timestamp) AS last_ts, count(*) AS events,
      sum(CASE WHEN ${keyAction} THEN 1 ELSE 0 END) AS key_actions
    FROM ${eventsWithPersons()}
    WHERE ${sqlActivityEvent(d, ctx.config.activity, ctx.product)}
    GROUP BY 1, 2, 3`;
}

const key = (ctx: ActivityDaysScope): string => `activity days ${ctx.product.name}`;

/** `<relation> AS alias` to read in FROM (a shared table in a review build, else a subquery). */
export function activityDays(ctx: ActivityDaysScope, alias = 'ad'): Promise<Sql> {
  return sharedRelation(ctx.engine, key(ctx), sqlActivityDaysSelect(ctx), alias);
}

/**
 * The same, for a query built synchronously: the build's table when an earlier step made it (the
 * usage metrics do, before the deep dives run), else the subquery.
 */
export function activityDaysIfMade(ctx: ActivityDaysScope, alias = 'ad'): Sql {
  return madeRelation(ctx.engine, key(ctx), sqlActivityDaysSelect(ctx), alias);
}

/** The day number of an instant at a UTC midnight (a month bound), as bound in queries. */
export function dayNumber(t: Date): number {
  return Math.floor(t.getTime() / 86_400_000);
}
