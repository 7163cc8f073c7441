/**
 * What a launch did to the metrics it should move (docs/analyses.md#launches), as the review's
 * `launches[]` shows it:
 *
 * - **experiment** — a flag whose exposures hold its control and another variant, with fewer than
 *   20% of units seen in both (a randomized split, not a rollout): the experiment query per metric
 *   (src/insights/experiment.ts), exposures from the launch day to the end of the review month.
 * - **rollout** — a flag without that split (everyone treated, or a rollout that widened, which
 *   moves units from the control to the treatment): the interrupted time series on the metric per
 *   active unit, and, when the rollout was gradual, newly exposed units against those not yet
 *   exposed.
 * - **launch** — no flag: the interrupted time series alone.
 *
 * The verdict per effect: `split-broken` when the SRM check fails (nothing else can be read),
 * `not-enough-data` with the reason, `moved` when the Benjamini–Hochberg q-value across the
 * launch's effects is below 0.05 (for one effect, its p-value; then its 95% interval excludes 0),
 * else `no-effect` — "no detectable effect", with the interval saying how large an effect the data
 * rules out. Nothing reads data after the review month.
 */
import { benjaminiHochberg } from '../analyses/stats/multiple-comparisons.js';
import type { LaunchEffect as EffectEstimate } from '../analyses/stats/launch-effects.js';
import { interruptedTimeSeries, staggeredDid } from '../analyses/stats/launch-effects.js';
import type { Computed, StatResult } from '../analyses/stats/result.js';
import type { Config } from '../config/schema.js';
import type { LaunchEffect, LaunchReview, LaunchVerdict } from '../domain/review.js';
import {
  defaultControl,
  experiment,
  sqlFlagCallsSelect,
  type ExperimentResult,
} from '../insights/experiment.js';
import type { Timings } from '../review/timings.js';
import { sharedRelation } from '../store/build-scope.js';
import type { Engine } from '../store/engine.js';
import type { Sql } from '../store/sql.js';
import { metricId, type MetricSpec } from './metric.js';
import type { Launch } from './store.js';
import { dailyMetric, rolloutCohorts } from './uncontrolled.js';

const DAY_MS = 86_400_000;
/** Days of history the interrupted time series fits on, and the most days after the launch it reads. */
export const ITS_PRE_DAYS = 84;
export const ITS_POST_DAYS = 28;
/** Above this share of units seen with two variants, a flag is a rollout, not an experiment. */
export const MIXED_SHARE_ROLLOUT = 0.2;
export const MOVED_Q = 0.05;

export interface JudgeOptions {
  engine: Engine;
  config: Config;
  /** Exclusive end of what may be read: the end of the review month. */
  end: Date;
  /** The review month's first instant: launches on or after it are "of the month". */
  monthStart: Date;
  /**
   * A relation of the flags' calls (`sqlFlagCallsSelect`, insights/experiment.ts) until `end`,
   * holding every flag judged: read instead of `events` by each flag's queries (judgeLaunches
   * makes it once for all its launches). Without it each query reads its flag's calls itself.
   */
  flagCalls?: Sql;
  /** Where the time goes (`--timings`): each query of a launch timed on its own. */
  timings?: Timings;
}

type Draft = Omit<LaunchEffect, 'verdict' | 'statement'> & {
  pValue: number | null;
  /** Set when the effect cannot be read: not enough data or a broken split, with the reason. */
  blocked: { verdict: 'not-enough-data' | 'split-broken'; reason: string } | null;
};

/** Runs one query, timed under `  launches <what>` when the build asks (`--timings`). */
function timed<T>(o: JudgeOptions, what: string, fn: () => Promise<T>): Promise<T> {
  return o.timings ? o.timings.time(`  launches ${what}`, fn) : fn();
}

function isoDay(d: Date): string {
  return d.toISOString().slice(0, 10);
}

export async function judgeLaunch(launch: Launch, o: JudgeOptions): Promise<Omit<LaunchReview, 'todos'>> {
  const launchAt = new Date(launch.date + 'T00:00:00Z');
  const notes: string[] = [];
  let kind: LaunchReview['kind'] = launch.flag ? 'rollout' : 'launch';
  const drafts: Draft[] = [];
  const lastDay = isoDay(new Date(o.end.getTime() - DAY_MS));
  if (launchAt.getTime() >= o.end.getTime()) {
    notes.push('shipped after the review month');
  } else if (launch.metrics.length === 0) {
    notes.push('no metrics named: add the metrics it should move to judge it');
  } else {
    let experiments: ExperimentResult[] | null = null;
    // The response that is not the treatment, for a rollout's not-yet-exposed comparison.
    let offResponse = launch.control ?? 'false';
    if (launch.flag) {
      const results: ExperimentResult[] = [];
      for (const m of launch.metrics) {
        results.push(
          await timed(o, `${launch.title}: experiment ${metricId(m)}`, () =>
            experiment(
              o.engine,
              {
                flag: launch.flag!,
                dateFrom: launch.date,
                dateTo: lastDay,
                metric: m,
                windowDays: launch.windowDays,
                unit: launch.unit,
                ...(launch.control ? { control: launch.control } : {}),
              },
              { until: o.end, ...(o.flagCalls ? { flagCalls: o.flagCalls } : {}) },
            ),
          ),
        );
      }
      const first = results[0]!;
      const keys = first.variants.map((v) => v.key);
      const control = launch.control ?? defaultControl(keys);
      if (control !== null) offResponse = control;
      const exposed = first.variants.reduce((s, v) => s + v.exposed, 0);
      const mixed = exposed + first.excluded > 0 ? first.excluded / (exposed + first.excluded) : 0;
      const split = control !== null && keys.includes(control) && keys.length >= 2;
      if (split && mixed < MIXED_SHARE_ROLLOUT) {
        kind = 'experiment';
        experiments = results;
      } else if (exposed === 0) {
        notes.push(`no unit called the flag '${launch.flag}' from ${launch.date} to ${lastDay}`);
      } else {
        notes.push(
          split
            ? `${Math.round(mixed * 100)}% of units saw both the control and another variant: judged as a rollout`
            : `no control group (variants: ${keys.join(', ')}): judged against the metric's history`,
        );
      }
    }
    if (experiments) {
      launch.metrics.forEach((m, i) => drafts.push(...experimentDrafts(m, experiments[i]!)));
    } else {
      for (const m of launch.metrics) {
        drafts.push(await itsDraft(launch, m, launchAt, o));
        if (launch.flag) {
          const did = await didDraft(launch, m, launchAt, offResponse, o);
          if (did.blocked === null) drafts.push(did);
          else notes.push(`newly against not-yet-exposed units (${metricId(m)}): ${did.blocked.reason}`);
        }
      }
    }
  }
  const q = benjaminiHochberg(drafts.map((d) => (d.blocked ? null : d.pValue)));
  return {
    id: launch.id,
    title: launch.title,
    date: launch.date,
    product: launch.product,
    flag: launch.flag,
    metrics: launch.metrics.map(metricId),
    kind,
    inMonth: launchAt.getTime() >= o.monthStart.getTime(),
    effects: drafts.map((d, i) => finish(d, q[i] ?? null, drafts.length)),
    notes,
  };
}

function experimentDrafts(m: MetricSpec, r: ExperimentResult): Draft[] {
  const control = r.variants.find((v) => v.key === r.control);
  const others = r.variants.filter((v) => v.key !== r.control);
  const base = { metricId: metricId(m), method: 'experiment' };
  if (!control || others.length === 0) {
    return [
      {
        ...base,
        variant: null,
        estimate: null,
        interval: null,
        pValue: null,
        evidence: { excluded: r.excluded },
        blocked: { verdict: 'not-enough-data', reason: r.notEnoughData ?? 'no variant to compare' },
      },
    ];
  }
  return others.map((v): Draft => {
    const evidence = {
      control: r.control,
      exposed: { [control.key]: control.exposed, [v.key]: v.exposed },
      value: { [control.key]: control.value, [v.key]: v.value },
      chanceToBeatControl: v.chanceToBeatControl,
      credibleInterval: v.credibleInterval,
      pValue: v.pValue,
      srm: r.srm,
      excluded: r.excluded,
      cuped: r.cuped,
      windowDays: r.metric.windowDays,
      unit: r.unit,
      test: r.method,
    };
    const blocked: Draft['blocked'] = r.srm.flagged
      ? {
          verdict: 'split-broken',
          reason:
            `the split is broken: ${r.variants.map((x) => `${x.exposed} ${x.key}`).join(' vs ')} exposed ` +
            `(sample ratio mismatch, chi-square p = ${fmtP(r.srm.pValue ?? 0)})`,
        }
      : v.notEnoughData !== null
        ? { verdict: 'not-enough-data', reason: v.notEnoughData }
        : null;
    return {
      ...base,
      variant: v.key,
      estimate: v.lift,
      interval: v.liftInterval,
      pValue: v.pValue,
      evidence,
      blocked,
    };
  });
}

async function itsDraft(launch: Launch, m: MetricSpec, launchAt: Date, o: JudgeOptions): Promise<Draft> {
  const to = new Date(Math.min(o.end.getTime(), launchAt.getTime() + ITS_POST_DAYS * DAY_MS));
  const points = await timed(o, `${launch.title}: daily ${metricId(m)}`, () =>
    dailyMetric(
      o.engine,
      { config: o.config, product: launch.product, unit: launch.unit, metric: m },
      new Date(launchAt.getTime() - ITS_PRE_DAYS * DAY_MS),
      to,
    ),
  );
  const r = interruptedTimeSeries(points, Math.floor(launchAt.getTime() / DAY_MS));
  return quasiDraft(metricId(m), 'interrupted-time-series', r, (e) => ({
    test: e.test,
    observed: e.observed,
    projected: e.counterfactual,
    preDays: e.preDays,
    postDays: e.postDays,
    residualSd: e.residualSd,
    autocorrelation: e.autocorrelation,
    pValue: e.pValue,
    per: `active ${launch.unit} per day`,
  }));
}

/**
 * The draft of a quasi-experimental estimate (interrupted time series, not-yet-exposed cohorts):
 * blocked with the reason when there is not enough data, else the relative effect, its interval
 * and p-value, with the method's own evidence.
 */
function quasiDraft<T extends EffectEstimate>(
  id: string,
  method: string,
  r: StatResult<T>,
  evidence: (r: Computed<T>) => Record<string, unknown>,
): Draft {
  const base = { metricId: id, variant: null, method };
  if (r.notEnoughData) {
    return {
      ...base,
      estimate: null,
      interval: null,
      pValue: null,
      evidence: { test: r.test },
      blocked: { verdict: 'not-enough-data', reason: r.reason },
    };
  }
  return {
    ...base,
    estimate: r.relative,
    interval: r.relativeInterval,
    pValue: r.pValue,
    evidence: evidence(r),
    blocked: null,
  };
}

async function didDraft(
  launch: Launch,
  m: MetricSpec,
  launchAt: Date,
  control: string,
  o: JudgeOptions,
): Promise<Draft> {
  const cohorts = await timed(o, `${launch.title}: rollout cohorts ${metricId(m)}`, () =>
    rolloutCohorts(o.engine, {
      config: o.config,
      product: launch.product,
      unit: launch.unit,
      metric: m,
      flag: launch.flag!,
      control,
      launch: launchAt,
      end: o.end,
      ...(o.flagCalls ? { flagCalls: o.flagCalls } : {}),
    }),
  );
  const r = staggeredDid(cohorts);
  return quasiDraft(metricId(m), 'not-yet-exposed', r, (e) => ({
    test: e.test,
    cohorts: e.cohorts,
    newlyExposed: e.treatedUnits,
    notYetExposed: e.controlUnits,
    observed: e.observed,
    counterfactual: e.counterfactual,
    pValue: e.pValue,
    per: `${launch.unit} per week`,
  }));
}

function pct(x: number): string {
  const v = Math.round(x * 1000) / 10;
  return `${v > 0 ? '+' : v < 0 ? '−' : ''}${Math.abs(v).toFixed(Math.abs(v) >= 10 ? 0 : 1)}%`;
}

function fmtP(p: number): string {
  return p < 0.001 ? p.toExponential(1) : p.toFixed(3);
}

const METHOD_WORDS: Record<string, string> = {
  experiment: 'against the control',
  'interrupted-time-series': `against the projection of the ${ITS_PRE_DAYS / 7} weeks before`,
  'not-yet-exposed': 'newly exposed against not-yet-exposed units',
};

function finish(d: Draft, q: number | null, effects: number): LaunchEffect {
  const { pValue, blocked, ...effect } = d;
  const evidence = { ...effect.evidence, ...(effects > 1 && q !== null ? { qValue: q } : {}) };
  const what = d.variant ? `${d.metricId} (${d.variant})` : d.metricId;
  let verdict: LaunchVerdict;
  let statement: string;
  if (blocked) {
    verdict = blocked.verdict;
    statement =
      blocked.verdict === 'split-broken'
        ? `Split broken on ${what}: ${blocked.reason}; the comparison cannot be trusted.`
        : `Not enough data on ${what}: ${blocked.reason}.`;
  } else {
    const [lo, hi] = d.interval!;
    const range = `${pct(d.estimate!)} (95% interval ${pct(lo)} to ${pct(hi)}, ${METHOD_WORDS[d.method] ?? d.method})`;
    const chance =
      typeof d.evidence.chanceToBeatControl === 'number'
        ? `, chance to beat control ${Math.round(d.evidence.chanceToBeatControl * 1000) / 10}%`
        : '';
    const sig = `p = ${fmtP(pValue ?? 1)}${effects > 1 && q !== null ? `, q = ${fmtP(q)}` : ''}${chance}`;
    if ((q ?? 1) < MOVED_Q) {
      verdict = 'moved';
      statement = `Moved ${what}: ${range}; ${sig}.`;
    } else if (d.method === 'interrupted-time-series') {
      verdict = 'no-effect';
      statement = `No detectable effect on ${what}: the data cannot separate this launch from the metric's trend and noise — ${range}; ${sig}.`;
    } else {
      verdict = 'no-effect';
      statement = `No detectable effect on ${what}: ${range}; ${sig}.`;
    }
  }
  return { ...effect, evidence, verdict, statement };
}

/**
 * Every launch of the review month and the three before, judged (see judgeLaunch). The calls of
 * every flag judged are read from `events` once, into a relation each flag's queries read (in a
 * review build, a table the build shares: store/build-scope.ts).
 */
export async function judgeLaunches(
  launches: readonly Launch[],
  o: JudgeOptions,
): Promise<Omit<LaunchReview, 'todos'>[]> {
  const judged = launches.filter(
    (l) => l.flag !== null && l.metrics.length > 0 && new Date(l.date + 'T00:00:00Z') < o.end,
  );
  const flags = [...new Set(judged.map((l) => l.flag!))].sort();
  const flagCalls =
    o.flagCalls ??
    (flags.length === 0
      ? undefined
      : await timed(o, 'flag calls', () =>
          sharedRelation(
            o.engine,
            `flag calls ${o.end.toISOString()} ${JSON.stringify(flags)}`,
            sqlFlagCallsSelect(o.engine.dialect, flags, o.end),
            'fc',
          ),
        ));
  const out: Omit<LaunchReview, 'todos'>[] = [];
  for (const l of launches) out.push(await judgeLaunch(l, { ...o, ...(flagCalls ? { flagCalls } : {}) }));
  return out;
}
