/**
 * The data behind a launch without a control group (docs/analyses.md#launches-without-a-control),
 * read set-based from the store; the statistics are src/analyses/stats/launch-effects.ts.
 *
 * - `dailyMetric`: per UTC day, the metric per active unit of the launch's product — a conversion
 *   is the share of active units that did the event that day, a count the events per active unit,
 *   a sum the property's total per active unit. Dividing by the day's active units keeps the growth
 *   of the user base out of the launch's effect. Days with no active unit are left out.
 * - `rolloutCohorts`: weeks counted from the launch day; a unit's exposure week is its first
 *   `$feature_flag_called` for the flag with a treatment response (anything but the control). Per
 *   cohort week k, the units first exposed in week k against the units active in week k and not
 *   exposed by the end of week k + 1 (later, or never); each unit's change in the metric from week
 *   k − 1 to week k + 1 (week k itself is partly before and partly after exposure). Both groups
 *   must be active in week k, as an exposure needs the unit to use the product then.
 */
import type { Config } from '../config/schema.js';
import type { DayValue, DidCohort } from '../analyses/stats/launch-effects.js';
import { sqlFlagCallsSelect } from '../insights/experiment.js';
import { sqlMatches } from '../insights/common.js';
import { sqlActivityEvent } from '../metrics/scope.js';
import { productScope } from '../metrics/types.js';
import type { Dialect } from '../store/dialect.js';
import type { Engine } from '../store/engine.js';
import { raw, sql, type Sql } from '../store/sql.js';
import type { MetricSpec } from './metric.js';
import { eventsWithPersons } from '../store/events.js';

const DAY_MS = 86_400_000;
const WEEK_SECONDS = 7 * 86_400;

export interface UncontrolledScope {
  config: Config;
  product: string;
  unit: 'person' | 'organization';
  metric: MetricSpec;
}

function unitColumn(unit: UncontrolledScope['unit']): Sql {
  return raw(unit === 'person' ? 'e.person_id' : 'e.organization');
}

function metricValue(d: Dialect, m: MetricSpec): Sql {
  return m.type === 'sum'
    ? sql`coalesce(${d.sqlJsonNumber(raw('e.properties'), [m.property!])}, 0)`
    : raw('1');
}

function binary(m: MetricSpec): boolean {
  return m.type === 'conversion' || m.type === 'retention';
}

export function buildDailyMetricQuery(d: Dialect, s: UncontrolledScope, from: Date, to: Date): Sql {
  const unit = unitColumn(s.unit);
  const activity = sqlActivityEvent(d, s.config.activity, productScope(s.config, s.product), raw('e.event'));
  const match = sqlMatches(d, { event: s.metric.event, properties: s.metric.properties }, 'e');
  const numerator = binary(s.metric)
    ? d.sqlCountDistinct(sql`CASE WHEN ${match} THEN ${unit} END`)
    : sql`sum(CASE WHEN ${match} THEN ${metricValue(d, s.metric)} ELSE 0 END)`;
  return sql`SELECT ${d.sqlIntervalNumber('day', raw('e.timestamp'))} AS day,
      ${d.sqlCountDistinct(sql`CASE WHEN ${activity} THEN ${unit} END`)} AS active,
      ${numerator} AS num
    FROM ${eventsWithPersons('e')}
    WHERE e.timestamp >= ${from} AND e.timestamp < ${to} AND ${unit} IS NOT NULL AND (${activity} OR ${match})
    GROUP BY 1`;
}

/** The metric per active unit per day over [from, to). */
export async function dailyMetric(
  engine: Engine,
  s: UncontrolledScope,
  from: Date,
  to: Date,
): Promise<DayValue[]> {
  const rows = await engine.query<{ day: number; active: number; num: number }>(
    buildDailyMetricQuery(engine.dialect, s, from, to),
  );
  return rows
    .filter((r) => Number(r.active) > 0)
    .map((r) => ({ day: Number(r.day), value: Number(r.num) / Number(r.active), weight: Number(r.active) }))
    .sort((a, b) => a.day - b.day);
}

export interface RolloutScope extends UncontrolledScope {
  flag: string;
  /** The control response; every other response is the treatment. */
  control: string;
  launch: Date;
  /** Exclusive end of the data the analysis may read. */
  end: Date;
  /**
   * A relation holding `sqlFlagCallsSelect`'s rows (insights/experiment.ts) for this flag among
   * others, until `end` at least: read instead of `events` for the flag's calls (same rows).
   */
  flagCalls?: Sql;
}

/** The last week (counted from the launch) wholly before `end`. */
export function lastCompleteWeek(launch: Date, end: Date): number {
  return Math.floor((end.getTime() - launch.getTime()) / (7 * DAY_MS)) - 1;
}

export function buildRolloutQuery(d: Dialect, s: RolloutScope): Sql {
  const unit = unitColumn(s.unit);
  const weekOf = (ts: Sql) =>
    sql`CAST(floor((${d.sqlEpochSeconds(ts)} - ${s.launch.getTime() / 1000}) / ${WEEK_SECONDS}) AS BIGINT)`;
  const week = weekOf(raw('e.timestamp'));
  const activity = sqlActivityEvent(d, s.config.activity, productScope(s.config, s.product), raw('e.event'));
  const match = sqlMatches(d, { event: s.metric.event, properties: s.metric.properties }, 'e');
  const y = binary(s.metric) ? raw('CASE WHEN sum(v) > 0 THEN 1 ELSE 0 END') : raw('sum(v)');
  const calls = s.flagCalls ?? sql`(${sqlFlagCallsSelect(d, [s.flag], s.end)}) AS c`;
  const callUnit = raw(s.unit === 'person' ? 'person_id' : 'organization');
  const weekStart = new Date(s.launch.getTime() - 7 * DAY_MS);
  const last = lastCompleteWeek(s.launch, s.end);
  // `treated = 1` marks a unit that was ever exposed: a LEFT JOIN miss reads 0 on every engine
  // (NULL, or a type's default where joins fill defaults), so no test relies on NULL.
  return sql`WITH ev AS (
      SELECT ${unit} AS unit, ${week} AS wk,
        CASE WHEN ${match} THEN ${metricValue(d, s.metric)} ELSE 0 END AS v,
        CASE WHEN ${activity} THEN 1 ELSE 0 END AS a
      FROM ${eventsWithPersons('e')}
      WHERE e.timestamp >= ${weekStart} AND e.timestamp < ${s.end} AND ${unit} IS NOT NULL AND (${match} OR ${activity})),
    uw AS (SELECT unit, wk, CAST(${y} AS DOUBLE) AS y, max(a) AS active FROM ev GROUP BY unit, wk),
    exposed AS (
      SELECT ${callUnit} AS unit, min(${weekOf(raw('ts'))}) AS ew, 1 AS treated
      FROM ${calls}
      WHERE flag = ${s.flag} AND ts < ${s.end} AND ${callUnit} IS NOT NULL
        AND variant IS NOT NULL AND variant <> ${s.control}
      GROUP BY 1),
    cohorts AS (SELECT DISTINCT ew AS k FROM exposed WHERE ew >= 0 AND ew + 1 <= ${last}),
    pairs AS (
      SELECT c.k, u.unit AS unit, CASE WHEN coalesce(x.treated, 0) = 1 AND x.ew = c.k THEN 1 ELSE 0 END AS is_treated
      FROM cohorts c
      JOIN uw u ON u.wk = c.k
      LEFT JOIN exposed x ON x.unit = u.unit
      WHERE u.active = 1 AND (coalesce(x.treated, 0) = 0 OR x.ew = c.k OR x.ew > c.k + 1)),
    deltas AS (
      SELECT p.k, p.is_treated, coalesce(post.y, 0) - coalesce(pre.y, 0) AS d, coalesce(post.y, 0) AS y_post
      FROM pairs p
      LEFT JOIN uw pre ON pre.unit = p.unit AND pre.wk = p.k - 1
      LEFT JOIN uw post ON post.unit = p.unit AND post.wk = p.k + 1)
    SELECT k, is_treated, count(*) AS n, sum(d) AS sum_d, sum(d * d) AS sum_d2, sum(y_post) AS sum_post
    FROM deltas GROUP BY k, is_treated`;
}

/** The weekly cohorts of a gradual rollout (see the file comment), oldest first. */
export async function rolloutCohorts(engine: Engine, s: RolloutScope): Promise<DidCohort[]> {
  const rows = await engine.query<{
    k: number;
    is_treated: number;
    n: number;
    sum_d: number;
    sum_d2: number;
    sum_post: number;
  }>(buildRolloutQuery(engine.dialect, s));
  const byWeek = new Map<number, DidCohort>();
  const empty = () => ({ n: 0, sumDelta: 0, sumDelta2: 0, sumPost: 0 });
  for (const r of rows) {
    const k = Number(r.k);
    const c = byWeek.get(k) ?? { week: k, treated: empty(), notYetTreated: empty() };
    const g = {
      n: Number(r.n),
      sumDelta: Number(r.sum_d),
      sumDelta2: Number(r.sum_d2),
      sumPost: Number(r.sum_post),
    };
    if (Number(r.is_treated) === 1) c.treated = g;
    else c.notYetTreated = g;
    byWeek.set(k, c);
  }
  return [...byWeek.values()].sort((a, b) => a.week - b.week);
}
