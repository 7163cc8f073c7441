/**
 * An experiment on a feature flag (SPEC §6, docs/analyses.md#experiments): per variant, the units
 * exposed and a metric within a window after each unit's exposure, compared with the control.
 *
 * - **Exposure**: a unit's (person's, or for a group flag an organization's) first
 *   `$feature_flag_called` for the flag within dateFrom…dateTo; its variant is that event's
 *   `$feature_flag_response` (a variant key, or `true`/`false` for a boolean flag). When the flag
 *   has no `$feature_flag_called` at all, the first event carrying `$feature/<flag>` stands in
 *   (server-side SDKs attach flags to events without calling them); `exposureSource` says which.
 * - **Units seen with more than one variant** (a changed rollout, identity merges across arms) are
 *   left out and counted in `excluded`: neither arm can claim them.
 * - **Metric** per exposed unit, from events matching `metric` in [exposure, exposure + windowDays):
 *   `conversion` (did it, 0/1), `count` (how many), `sum` (of a numeric property; absent counts 0),
 *   `retention` (did it in [exposure + startDay, exposure + windowDays)). The same metric over the
 *   `windowDays` before exposure is the unit's pre-exposure value for CUPED.
 * - **Statistics**: src/analyses/stats/experiments.ts, from per-variant sums computed in one
 *   set-based query (no row per unit leaves the store).
 */
import { z } from 'zod';
import {
  analyzeExperiment,
  MIN_UNITS_PER_ARM,
  type ArmInput,
  type ExperimentAnalysis,
  type MetricModel,
} from '../analyses/stats/experiments.js';
import { InputError } from '../errors.js';
import type { Dialect } from '../store/dialect.js';
import type { Engine } from '../store/engine.js';
import { join, raw, sql, type Sql } from '../store/sql.js';
import { metricSpecSchema, type MetricSpec } from '../launches/metric.js';
import { dateInput, dateRange, parseSpec, sqlMatches, type DateRange } from './common.js';
import { eventsWithPersons } from '../store/events.js';

export const FLAG_CALLED = '$feature_flag_called';
export const DEFAULT_WINDOW_DAYS = 14;

export const experimentMetricSchema = metricSpecSchema;
export type ExperimentMetric = MetricSpec;

export const experimentSpecSchema = z
  .strictObject({
    kind: z.literal('experiment').default('experiment'),
    flag: z.string().min(1),
    dateFrom: dateInput,
    dateTo: dateInput,
    metric: experimentMetricSchema,
    windowDays: z.number().int().min(1).max(365).default(DEFAULT_WINDOW_DAYS),
    /** The control variant; default `control`, else `false` for a boolean flag. */
    control: z.string().min(1).optional(),
    /** Who is randomized: a person, or an organization for a group flag. */
    unit: z.enum(['person', 'organization']).default('person'),
    /** Planned share per variant for the SRM check; equal shares when absent. */
    split: z.record(z.string(), z.number().positive()).optional(),
    /** Fewer exposed units in an arm than this: not enough data (PostHog's 100). */
    minUnits: z.number().int().min(1).default(MIN_UNITS_PER_ARM),
    cuped: z.boolean().default(true),
  })
  .superRefine((s, ctx) => {
    if (s.metric.type === 'retention' && (s.metric.startDay ?? 7) >= s.windowDays) {
      ctx.addIssue({
        code: 'custom',
        path: ['metric', 'startDay'],
        message: 'startDay must be below windowDays',
      });
    }
  });
export type ExperimentSpec = z.input<typeof experimentSpecSchema>;
type Spec = z.output<typeof experimentSpecSchema>;

export interface ExperimentVariant {
  key: string;
  exposed: number;
  /** The conversion rate, or the mean per exposed unit. */
  value: number;
  adjustedValue: number | null;
  lift: number | null;
  liftInterval: [number, number] | null;
  chanceToBeatControl: number | null;
  credibleInterval: [number, number] | null;
  pValue: number | null;
  notEnoughData: string | null;
}

export interface ExperimentResult {
  flag: string;
  control: string | null;
  unit: 'person' | 'organization';
  metric: { event: string; type: ExperimentMetric['type']; property: string | null; windowDays: number };
  exposureSource: 'feature_flag_called' | 'feature_property' | null;
  variants: ExperimentVariant[];
  srm: { pValue: number | null; flagged: boolean; statistic: number | null; expected: number[] | null };
  /** Units exposed to more than one variant, left out of every arm. */
  excluded: number;
  cuped: ExperimentAnalysis['cuped'];
  method: string;
  /** Set when no comparison could be made at all (no exposures, no control). */
  notEnoughData: string | null;
}

const MODEL: Record<ExperimentMetric['type'], MetricModel> = {
  conversion: 'conversion',
  retention: 'conversion',
  count: 'count',
  sum: 'mean',
};

type Source = NonNullable<ExperimentResult['exposureSource']>;

function unitColumn(unit: Spec['unit'], alias: string): Sql {
  return raw(`${alias}.${unit === 'person' ? 'person_id' : 'organization'}`);
}

/**
 * The `$feature_flag_called` events of `flags` before `until`, one row each: the caller's
 * `person_id` (identity-resolved) and `organization`, `ts`, the `flag` and its `variant` (the
 * `$feature_flag_response`). What an experiment and a rollout read of a flag's exposures; the
 * launches of a review read it once for all their flags (launches/judge.ts), as reading the
 * `properties` of every flag call is what their queries cost most.
 */
export function sqlFlagCallsSelect(d: Dialect, flags: readonly string[], until: Date): Sql {
  const flag = d.sqlJsonString(raw('e.properties'), ['$feature_flag']);
  const oneOf =
    flags.length === 1 ? sql`${flag} = ${flags[0]!}` : sql`${flag} IN (${join(flags.map((f) => sql`${f}`))})`;
  return sql`SELECT e.person_id AS person_id, e.organization AS organization, e.timestamp AS ts,
      ${flag} AS flag, ${d.sqlJsonString(raw('e.properties'), ['$feature_flag_response'])} AS variant
    FROM ${eventsWithPersons('e')}
    WHERE e.event = ${FLAG_CALLED} AND ${oneOf} AND e.timestamp < ${until}`;
}

/** The flag events that expose a unit, as (unit, ts, variant) rows. */
function sqlExposureEvents(d: Dialect, s: Spec, range: DateRange, source: Source, calls?: Sql): Sql {
  if (source === 'feature_flag_called') {
    const from = calls ?? sql`(${sqlFlagCallsSelect(d, [s.flag], range.to)}) AS c`;
    return sql`SELECT ${raw(s.unit === 'person' ? 'person_id' : 'organization')} AS unit, ts, variant
      FROM ${from}
      WHERE flag = ${s.flag} AND ts >= ${range.from} AND ts < ${range.to}`;
  }
  const unit = unitColumn(s.unit, 'e');
  const prop = d.sqlJsonString(raw('e.properties'), [`$feature/${s.flag}`]);
  return sql`SELECT ${unit} AS unit, e.timestamp AS ts, ${prop} AS variant
    FROM ${eventsWithPersons('e')}
    WHERE ${prop} IS NOT NULL AND e.timestamp >= ${range.from} AND e.timestamp < ${range.to}`;
}

/**
 * One statement: exposures per unit, then per exposed unit the metric after and before exposure
 * (events joined to exposures on the unit, events on the probe side), then per variant the sums
 * the statistics need. A last row (variant NULL) counts the units seen with several variants.
 */
export function buildExperimentQuery(
  d: Dialect,
  s: Spec,
  range: DateRange,
  source: Source,
  until?: Date,
  calls?: Sql,
): Sql {
  const days = (n: number, ts: Sql) => d.sqlDateAdd('day', raw(String(n)), ts);
  const postStart = s.metric.type === 'retention' ? (s.metric.startDay ?? 7) : 0;
  const value =
    s.metric.type === 'sum'
      ? sql`coalesce(${d.sqlJsonNumber(raw('e.properties'), [s.metric.property!])}, 0)`
      : raw('1');
  const binary = MODEL[s.metric.type] === 'conversion';
  const y = binary
    ? raw('(CASE WHEN coalesce(m.post, 0) > 0 THEN 1 ELSE 0 END)')
    : raw('coalesce(m.post, 0)');
  const x = binary ? raw('(CASE WHEN coalesce(m.pre, 0) > 0 THEN 1 ELSE 0 END)') : raw('coalesce(m.pre, 0)');
  return sql`WITH calls AS (${sqlExposureEvents(d, s, range, source, calls)}),
    exposures AS (
      SELECT unit, min(ts) AS exposed_at, ${d.sqlArgMin(raw('variant'), raw('ts'))} AS variant,
        count(DISTINCT variant) AS variants
      FROM calls WHERE unit IS NOT NULL AND variant IS NOT NULL
      GROUP BY unit),
    windows AS (
      SELECT unit, variant, exposed_at,
        ${days(postStart, raw('exposed_at'))} AS post_start,
        ${days(s.windowDays, raw('exposed_at'))} AS post_end,
        ${days(-s.windowDays, raw('exposed_at'))} AS pre_start
      FROM exposures WHERE variants = 1),
    metric AS (
      SELECT w.unit,
        sum(CASE WHEN e.timestamp >= w.post_start AND e.timestamp < w.post_end THEN ${value} ELSE 0 END) AS post,
        sum(CASE WHEN e.timestamp < w.exposed_at THEN ${value} ELSE 0 END) AS pre
      FROM ${eventsWithPersons('e')} JOIN windows w ON ${unitColumn(s.unit, 'e')} = w.unit
      WHERE ${sqlMatches(d, { event: s.metric.event, properties: s.metric.properties }, 'e')}
        AND e.timestamp >= w.pre_start AND e.timestamp < w.post_end${until ? sql` AND e.timestamp < ${until}` : raw('')}
      GROUP BY w.unit),
    per_unit AS (
      SELECT w.variant, CAST(${y} AS DOUBLE) AS y, CAST(${x} AS DOUBLE) AS x
      FROM windows w LEFT JOIN metric m ON m.unit = w.unit)
    SELECT variant, count(*) AS n, sum(y) AS sum_y, sum(y * y) AS sum_y2,
      sum(x) AS sum_x, sum(x * x) AS sum_x2, sum(x * y) AS sum_xy
    FROM per_unit GROUP BY variant
    UNION ALL
    SELECT NULL AS variant, count(*) AS n, 0 AS sum_y, 0 AS sum_y2, 0 AS sum_x, 0 AS sum_x2, 0 AS sum_xy
    FROM exposures WHERE variants > 1`;
}

interface Row {
  variant: string | null;
  n: number;
  sum_y: number;
  sum_y2: number;
  sum_x: number;
  sum_x2: number;
  sum_xy: number;
}

/** The control when the spec names none: `control`, else `false` (a boolean flag's off arm). */
export function defaultControl(variants: readonly string[]): string | null {
  if (variants.includes('control')) return 'control';
  if (variants.includes('false')) return 'false';
  return null;
}

/** Pure: the per-variant sums as the experiment's result. */
export function formatExperiment(s: Spec, rows: readonly Row[], source: Source | null): ExperimentResult {
  const arms: ArmInput[] = rows
    .filter((r) => r.variant !== null && Number(r.n) > 0)
    .map((r) => ({
      key: String(r.variant),
      n: Number(r.n),
      sumY: Number(r.sum_y),
      sumY2: Number(r.sum_y2),
      sumX: Number(r.sum_x),
      sumX2: Number(r.sum_x2),
      sumXY: Number(r.sum_xy),
    }))
    .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  const excluded = Number(rows.find((r) => r.variant === null)?.n ?? 0);
  const keys = arms.map((a) => a.key);
  const control = s.control ?? defaultControl(keys);
  const base = {
    flag: s.flag,
    unit: s.unit,
    metric: {
      event: s.metric.event,
      type: s.metric.type,
      property: s.metric.property ?? null,
      windowDays: s.windowDays,
    },
    exposureSource: source,
    excluded,
  };
  const missing =
    arms.length === 0
      ? `no unit was exposed to '${s.flag}' between ${s.dateFrom} and ${s.dateTo}`
      : control === null
        ? `no control: the variants are ${keys.join(', ')}; name one with "control"`
        : !keys.includes(control)
          ? `no unit was exposed to the control '${control}' (variants: ${keys.join(', ')})`
          : arms.length < 2
            ? `only the control '${control}' was exposed`
            : null;
  if (missing !== null) {
    return {
      ...base,
      control,
      variants: arms.map((a) => ({
        key: a.key,
        exposed: a.n,
        value: a.sumY / a.n,
        adjustedValue: null,
        lift: null,
        liftInterval: null,
        chanceToBeatControl: null,
        credibleInterval: null,
        pValue: null,
        notEnoughData: missing,
      })),
      srm: { pValue: null, flagged: false, statistic: null, expected: null },
      cuped: null,
      method: 'none',
      notEnoughData: missing,
    };
  }
  const unplanned = s.split ? keys.find((k) => !Object.hasOwn(s.split!, k)) : undefined;
  if (unplanned !== undefined) {
    throw new InputError(`variant '${unplanned}' was exposed but has no planned share`, { field: 'split' });
  }
  const a = analyzeExperiment(MODEL[s.metric.type], arms, control!, {
    minUnitsPerArm: s.minUnits,
    cuped: s.cuped,
    shares: s.split ? arms.map((x) => s.split![x.key] ?? 0) : undefined,
  });
  return {
    ...base,
    control,
    variants: a.arms.map((v) => ({
      key: v.key,
      exposed: v.exposed,
      value: v.value,
      adjustedValue: v.adjustedValue,
      lift: v.lift,
      liftInterval: v.liftInterval,
      chanceToBeatControl: v.chanceToBeatControl,
      credibleInterval: v.credibleInterval,
      pValue: v.pValue,
      notEnoughData: v.notEnoughData,
    })),
    srm: a.srm.notEnoughData
      ? { pValue: null, flagged: false, statistic: null, expected: null }
      : {
          pValue: a.srm.pValue,
          flagged: a.srm.flagged,
          statistic: a.srm.statistic,
          expected: a.srm.expected,
        },
    cuped: a.cuped,
    method: a.method,
    notEnoughData: null,
  };
}

export interface ExperimentOptions {
  /**
   * For code, not users' specs: read no metric event at or after this instant, so a review of a
   * month judges its experiments as of the month's end whatever was imported since (units exposed
   * near it get a shorter window, alike in every arm).
   */
  until?: Date;
  /**
   * A relation (`<table> AS alias`, or a subquery) holding `sqlFlagCallsSelect`'s rows for this
   * flag among others, until the range's end at least: read instead of `events` for the flag's
   * calls. The same rows either way, so the same result.
   */
  flagCalls?: Sql;
}

export async function experiment(
  engine: Engine,
  spec: ExperimentSpec,
  opts: ExperimentOptions = {},
): Promise<ExperimentResult> {
  const s = parseSpec(experimentSpecSchema, spec);
  const range = dateRange(s.dateFrom, s.dateTo);
  const query = (source: Source) =>
    buildExperimentQuery(engine.dialect, s, range, source, opts.until, opts.flagCalls);
  let rows = await engine.query<Row>(query('feature_flag_called'));
  let source: Source | null = 'feature_flag_called';
  if (!rows.some((r) => Number(r.n) > 0)) {
    rows = await engine.query<Row>(query('feature_property'));
    source = rows.some((r) => Number(r.n) > 0) ? 'feature_property' : null;
  }
  return formatExperiment(s, rows, source);
}
