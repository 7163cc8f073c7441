import {
  MAD_TO_SD,
  mad,
  mean,
  meanAbsoluteDeviation,
  median,
  theilSen,
} from '../analyses/stats/descriptive.js';
import {
  chiSquareUpperTail,
  normalQuantile,
  normalTwoSidedP,
  studentTQuantile,
  studentTTwoSidedP,
} from '../analyses/stats/jstat.js';
import { benjaminiHochberg, MULTIPLE_COMPARISON_METHOD } from '../analyses/stats/multiple-comparisons.js';
import { NPS_MIN_RESPONSES } from '../analyses/stats/nps.js';
import {
  betaBinomialPredictive,
  betaBinomialQuantile,
  betaBinomialTails,
  negativeBinomialQuantile,
  negativeBinomialTails,
  poissonGammaPredictive,
} from '../analyses/stats/predictive.js';
import { normalDeviate, prng } from '../analyses/stats/random.js';
import { formatMoney } from '../domain/money-format.js';
import type { Month } from '../domain/month.js';
import { addMonths } from '../domain/month.js';
import type { Anomaly, Metric, MetricPoint, MetricUnit } from '../domain/review.js';
import { compareText } from '../domain/order.js';

/**
 * Anomalies: is a metric's value this month far from what its trailing months lead us to expect?
 * Each metric is judged by a test fitted to its data (docs/analyses.md, "Anomalies"):
 *
 * - counts (`count` unit, whole numbers): Poisson–gamma predictive (negative binomial) from the
 *   trailing months — a small count going from about 2.5 to 15 is far outside it, while a large
 *   count's ordinary wobble is not;
 * - proportions whose months carry their numerator and denominator (`detail`): beta-binomial
 *   predictive of this month's successes among its trials;
 * - NPS with its answer counts: two-sample z-test of this month's NPS against the trailing months'
 *   pooled answers, the variance from the promoter/passive/detractor multinomial; at least
 *   NPS_MIN_RESPONSES answers this month and MIN_NPS_BASELINE before;
 * - everything else (money, durations, ratios without counts): median and calibrated MAD of the
 *   trailing months (a robust SD), the score read as a Student t on n − 1 degrees of freedom.
 *
 * Overdispersion: when the trailing months vary more than the sampling model says (variance of the
 * counts above their mean, of the rates above the binomial's, of the NPS above its standard
 * errors), the month must also stand out against that month-to-month variation (the robust test),
 * and the larger p-value counts.
 *
 * Not judged, with a reason: no value this month; fewer than MIN_HISTORY values in the window;
 * counts that were 0 in every trailing month (no rate: a new source or behaviour, not an anomaly);
 * money, durations and ratios whose trailing months were all equal (no variation to judge by: a
 * flat series makes no anomaly); NPS with too few answers.
 *
 * Multiple comparisons: every metric judged in the month is one test; the p-values are adjusted
 * with Benjamini–Hochberg and a metric is anomalous when its q-value is at most
 * `falseDiscoveryRate` (default 0.05). `score` is the two-sided p-value as a normal z (3.5 ≈
 * p 0.00047), kept for ranking and for the SPEC §5 shape.
 */

export type ExpectationMethod = 'trend' | 'median' | 'zscore';

export interface AnomalyOptions {
  /** How many months before the judged month form its history (config `anomalies.trailingMonths`). */
  trailingMonths: number;
  /** Benjamini–Hochberg level across the metrics of a month (config `anomalies.falseDiscoveryRate`). */
  falseDiscoveryRate?: number;
  /** Kept for old configs: no longer decides anything (see falseDiscoveryRate). */
  threshold?: number;
  /** The robust method for continuous series (the back-test compares them); default median. */
  method?: ExpectationMethod;
  /** ISO currency code for explanations ("$53.1K"); without it, amounts print bare. */
  currency?: string;
  /**
   * The share of the month the judged value covers (default 1): an unfinished month's counts are
   * judged pro rata (review/incomplete-month.ts). The count test predicts a count over that share
   * of a month; the robust tests judge the value ÷ exposure (the month's pace) and report back in
   * the value's scale.
   */
  exposure?: number;
}

export const DEFAULT_METHOD: ExpectationMethod = 'median';
export const DEFAULT_FALSE_DISCOVERY_RATE = 0.05;
/** Fewer non-null values than this in the window: no expectation. */
export const MIN_HISTORY = 3;
/** NPS answers needed in the trailing months together. */
export const MIN_NPS_BASELINE = 30;
/** The robust spread is calibrated to Student t at this score (see calibrationFactor). */
const CALIBRATION_SCORE = 3.5;

export type Expectation =
  | {
      ok: true;
      method: ExpectationMethod;
      expected: number;
      /** The spread one robust SD stands for, after the floor. */
      spread: number;
      /** Which part set the spread: the data, or the unit's floor. */
      spreadFrom: 'mad' | 'mean-absolute-deviation' | 'standard-deviation' | 'floor';
      /** Non-null values in the window. */
      n: number;
      /** Theil–Sen slope per month (trend only). */
      slope?: number;
    }
  | { ok: false; reason: string };

/** The unit's smallest believable spread at a typical level, for the robust test. */
export function spreadFloor(unit: MetricUnit | 'log-currency', level: number): number {
  const l = Math.abs(level);
  switch (unit) {
    case 'log-currency':
      return 0.02;
    case 'count':
      return Math.max(1, Math.sqrt(l), 0.02 * l);
    case 'currency':
      return 0.02 * l;
    case 'seconds':
      return 0.05 * l;
    case 'ratio':
      return Math.max(0.002, 0.01 * l);
    case 'nps':
      return 3;
  }
}

function valueAt(series: readonly MetricPoint[]): Map<Month, number> {
  const m = new Map<Month, number>();
  for (const p of series) if (p.value !== null && Number.isFinite(p.value)) m.set(p.month, p.value);
  return m;
}

/** The trailing months of `month` that have a value, oldest first. */
function trailingWindow(
  series: readonly MetricPoint[],
  month: Month,
  trailingMonths: number,
): { months: Month[]; xs: number[]; ys: number[] } {
  const values = valueAt(series);
  const months: Month[] = [];
  const xs: number[] = [];
  const ys: number[] = [];
  for (let k = trailingMonths; k >= 1; k--) {
    const m = addMonths(month, -k);
    const v = values.get(m);
    if (v !== undefined) {
      months.push(m);
      xs.push(-k);
      ys.push(v);
    }
  }
  return { months, xs, ys };
}

/**
 * The robust expectation of `month` from the `trailingMonths` months before it in `series`: the
 * median (or a Theil–Sen trend, or mean and SD, for comparison) and a calibrated spread. Pure;
 * `month` itself is never used. A window with no variation at all gives no spread: not judged.
 */
export function expectationFor(
  series: readonly MetricPoint[],
  month: Month,
  unit: MetricUnit | 'log-currency',
  options: Pick<AnomalyOptions, 'trailingMonths' | 'method'>,
): Expectation {
  const method = options.method ?? DEFAULT_METHOD;
  const { xs, ys } = trailingWindow(series, month, options.trailingMonths);
  const n = ys.length;
  if (n < MIN_HISTORY) {
    return {
      ok: false,
      reason: `not enough history: ${n} of the ${options.trailingMonths} months before have a value, need ${MIN_HISTORY}`,
    };
  }
  const level = median(ys.map(Math.abs)) as number;
  const raw = rawExpectation(xs, ys, method);
  if (!(raw.spread > 0)) {
    return {
      ok: false,
      reason: `the ${n} months before were all ${ys[0]}: no variation to judge a change by`,
    };
  }
  const calibrated = raw.spread * calibrationFactor(method, n, CALIBRATION_SCORE);
  const floor = spreadFloor(unit, Math.max(level, Math.abs(raw.expected)));
  return {
    ok: true,
    method,
    expected: raw.expected,
    spread: Math.max(calibrated, floor),
    spreadFrom: calibrated >= floor ? raw.spreadFrom : 'floor',
    n,
    ...(raw.slope !== undefined ? { slope: raw.slope } : {}),
  };
}
interface RawExpectation {
  expected: number;
  spread: number;
  spreadFrom: 'mad' | 'mean-absolute-deviation' | 'standard-deviation';
  slope?: number;
}

/** Expected value and uncalibrated spread of the point at x = 0 from the window (xs < 0, ys). */
function rawExpectation(
  xs: readonly number[],
  ys: readonly number[],
  method: ExpectationMethod,
): RawExpectation {
  let expected: number;
  let residuals: number[];
  let slope: number | undefined;
  if (method === 'trend') {
    const fit = theilSen(xs, ys) as { slope: number; intercept: number };
    slope = fit.slope;
    expected = fit.intercept; // x is months relative to the judged month, so x = 0 there
    residuals = ys.map((y, i) => y - (fit.intercept + fit.slope * (xs[i] as number)));
  } else if (method === 'median') {
    expected = median(ys) as number;
    residuals = ys.map((y) => y - expected);
  } else {
    expected = mean(ys) as number;
    const sd = Math.sqrt(ys.reduce((s, y) => s + (y - expected) * (y - expected), 0) / (ys.length - 1));
    return { expected, spread: sd, spreadFrom: 'standard-deviation' };
  }
  const m = mad(residuals) as number;
  if (m > 0)
    return { expected, spread: MAD_TO_SD * m, spreadFrom: 'mad', ...(slope !== undefined ? { slope } : {}) };
  return {
    expected,
    spread: 1.2533 * (meanAbsoluteDeviation(residuals) as number), // √(π/2): mean |dev| → SD
    spreadFrom: 'mean-absolute-deviation',
    ...(slope !== undefined ? { slope } : {}),
  };
}

const CALIBRATION_SIMULATIONS = 20000;
const calibrations = new Map<string, number>();

/**
 * How much to widen the raw spread of a window of n points so that, on Gaussian noise, a month is
 * flagged exactly as often as the classical prediction interval of the same size would flag it:
 * P(|T| ≥ threshold) with T ~ Student t on n − 1 degrees of freedom (level methods) or n − 2 (the
 * trend, which also fits a slope). Six points make any spread estimate noisy, and a MAD from six
 * points more so; without this, "3.5 robust SDs" happens in ~5–7% of ordinary months (measured).
 * For `zscore` the factor is the textbook √(1 + 1/n). Robust methods are calibrated by a seeded
 * simulation (20,000 windows, computed once per (method, n, threshold), ~20 ms).
 */
export function calibrationFactor(method: ExpectationMethod, n: number, threshold: number): number {
  if (method === 'zscore') return Math.sqrt(1 + 1 / n);
  const key = `${method}:${n}:${threshold}`;
  const hit = calibrations.get(key);
  if (hit !== undefined) return hit;
  const dof = method === 'trend' ? Math.max(1, n - 2) : n - 1;
  const tail = studentTTwoSidedP(threshold, dof);
  const rand = prng(0x5eed + n);
  const xs = Array.from({ length: n }, (_, i) => i - n);
  const ratios = new Float64Array(CALIBRATION_SIMULATIONS);
  for (let s = 0; s < CALIBRATION_SIMULATIONS; s++) {
    const ys = xs.map(() => normalDeviate(rand));
    const raw = rawExpectation(xs, ys, method);
    ratios[s] = Math.abs(normalDeviate(rand) - raw.expected) / raw.spread;
  }
  ratios.sort();
  const q = ratios[Math.min(ratios.length - 1, Math.floor((1 - tail) * ratios.length))] as number;
  const factor = Math.max(1, q / threshold);
  calibrations.set(key, factor);
  return factor;
}

// ---------------------------------------------------------------------------------------------
// Judging a month

/** Which test judged a metric; `+robust` when the months before were overdispersed. */
export type AnomalyTest =
  | 'poisson-gamma-predictive'
  | 'beta-binomial-predictive'
  | 'nps-two-sample-z'
  | 'robust-median-mad'
  | 'robust-trend'
  | 't-prediction-interval';

export interface AnomalyCheck {
  metricId: string;
  month: Month;
  actual: number | null;
  /** false when the month could not be judged; `reason` says why. */
  judged: boolean;
  reason: string | null;
  /** The tests that decided, the sampling model first; empty when not judged. */
  tests: AnomalyTest[];
  /** What the months before predict (the model's mean; the median for the robust test). */
  expected: number | null;
  /** The central 95% of what the months before predict, in the metric's unit. */
  interval95: [number, number] | null;
  /** Two-sided p-value (the larger of the tests' when overdispersed); null when not judged. */
  pValue: number | null;
  /** The p-value as a normal z (two-sided), for ranking; null when not judged. */
  score: number | null;
  direction: 'up' | 'down' | null;
  /** Months with a value in the window. */
  baselineMonths: number;
  /** The window's values, oldest first. */
  baseline: number[];
  /** This month's sample behind a rate or NPS: trials or answers. */
  sampleSize: number | null;
  overdispersed: boolean;
  /** Whether the p-value alone (before the multiple-comparison adjustment) is below the level. */
  explanation: string;
}

type Judged = AnomalyCheck & { judged: true; pValue: number; expected: number; direction: 'up' | 'down' };

function notJudged(
  metric: Pick<Metric, 'id' | 'label'>,
  month: Month,
  actual: number | null,
  reason: string,
  baseline: number[] = [],
): AnomalyCheck {
  return {
    metricId: metric.id,
    month,
    actual,
    judged: false,
    reason,
    tests: [],
    expected: null,
    interval95: null,
    pValue: null,
    score: null,
    direction: null,
    baselineMonths: baseline.length,
    baseline,
    sampleSize: null,
    overdispersed: false,
    explanation: `${metric.label}: ${reason}`,
  };
}

/** A two-sided p-value as the normal z with the same tail (0 for p = 1). */
export function zEquivalent(p: number): number {
  if (p >= 1) return 0;
  return normalQuantile(1 - Math.max(p, 1e-15) / 2);
}

function num(v: unknown): number | null {
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}

/** (successes, trials) of a rate metric's month from its detail, when the family records them. */
export function proportionParts(
  metric: Pick<Metric, 'detail'>,
  month: Month,
): { successes: number; trials: number } | null {
  const d = metric.detail?.[month];
  if (!d) return null;
  const pairs: [string, string][] = [
    ['numerator', 'denominator'],
    ['retained', 'previousActive'],
    ['activated', 'newUsers'],
  ];
  for (const [a, b] of pairs) {
    const x = num(d[a]);
    const n = num(d[b]);
    if (x !== null && n !== null && Number.isInteger(x) && Number.isInteger(n) && x >= 0 && x <= n)
      return { successes: x, trials: n };
  }
  return null;
}

/** Promoter, passive and detractor counts of an NPS metric's month, from its detail. */
export function npsParts(
  metric: Pick<Metric, 'detail'>,
  month: Month,
): { promoters: number; passives: number; detractors: number } | null {
  const d = metric.detail?.[month];
  if (!d) return null;
  const promoters = num(d.promoters);
  const passives = num(d.passives);
  const detractors = num(d.detractors);
  if (promoters === null || passives === null || detractors === null) return null;
  return { promoters, passives, detractors };
}

/**
 * Whether values vary more between months than their sampling variance explains: the dispersion
 * (heterogeneity) test, Σ (y − ȳ)² / v ~ χ² on n − 1 degrees of freedom, at a liberal level so
 * that mild overdispersion is caught (its cost: a fifth of windows that are pure sampling noise
 * are also judged against their month-to-month variation, which only makes a flag harder).
 */
export const OVERDISPERSION_LEVEL = 0.2;
function overdispersed(ys: readonly number[], samplingVariance: number): boolean {
  if (ys.length < 2) return false;
  if (!(samplingVariance > 0)) return sampleVariance(ys) > 0;
  const m = mean(ys) as number;
  const statistic = ys.reduce((s, y) => s + (y - m) ** 2, 0) / samplingVariance;
  return chiSquareUpperTail(statistic, ys.length - 1) < OVERDISPERSION_LEVEL;
}

function sampleVariance(ys: readonly number[]): number {
  const m = mean(ys) as number;
  return ys.reduce((s, y) => s + (y - m) ** 2, 0) / Math.max(1, ys.length - 1);
}

interface RobustPart {
  expected: number;
  pValue: number;
  interval: [number, number];
}

/**
 * The robust test of the month against the window's month-to-month variation. Money that is
 * positive throughout is judged on the log scale (revenue moves by percentages: a lognormal flow
 * is symmetric there), its floor then 2% of the level.
 */
function robustPart(
  metric: Pick<Metric, 'series' | 'unit'>,
  month: Month,
  actual: number,
  options: AnomalyOptions,
): RobustPart | { reason: string } {
  const w = trailingWindow(metric.series, month, options.trailingMonths);
  const logScale = metric.unit === 'currency' && actual > 0 && w.ys.length > 0 && w.ys.every((y) => y > 0);
  const series = logScale
    ? metric.series.map((p) => ({
        month: p.month,
        value: p.value !== null && p.value > 0 ? Math.log(p.value) : null,
      }))
    : metric.series;
  const e = expectationFor(series, month, logScale ? 'log-currency' : metric.unit, options);
  if (!e.ok) return { reason: e.reason };
  const x = logScale ? Math.log(actual) : actual;
  const dof = e.method === 'trend' ? Math.max(1, e.n - 2) : e.n - 1;
  const t = Math.abs(x - e.expected) / e.spread;
  const half = studentTQuantile(0.975, dof) * e.spread;
  const back = (v: number): number => (logScale ? Math.exp(v) : v);
  return {
    expected: back(e.expected),
    pValue: studentTTwoSidedP(t, dof),
    interval: [back(e.expected - half), back(e.expected + half)],
  };
}

function robustTest(method: ExpectationMethod): AnomalyTest {
  return method === 'trend'
    ? 'robust-trend'
    : method === 'zscore'
      ? 't-prediction-interval'
      : 'robust-median-mad';
}

/** Combines the sampling model with the robust part when the window is overdispersed. */
function combine(
  base: Omit<AnomalyCheck, 'explanation'>,
  model: { test: AnomalyTest; expected: number; pValue: number; interval: [number, number] },
  overdispersed: boolean,
  robust: RobustPart | { reason: string },
  method: ExpectationMethod,
): Omit<AnomalyCheck, 'explanation'> {
  const useRobust = overdispersed && 'pValue' in robust;
  const second = robustTest(method);
  const pValue = useRobust ? Math.max(model.pValue, robust.pValue) : model.pValue;
  const interval: [number, number] = useRobust
    ? [Math.min(model.interval[0], robust.interval[0]), Math.max(model.interval[1], robust.interval[1])]
    : model.interval;
  const actual = base.actual as number;
  if (model.test !== 'nps-two-sample-z') interval[0] = Math.max(0, interval[0]);
  if (model.test === 'beta-binomial-predictive') interval[1] = Math.min(1, interval[1]);
  return {
    ...base,
    judged: true,
    reason: null,
    tests: useRobust ? [model.test, second] : [model.test],
    expected: model.expected,
    interval95: interval,
    pValue,
    score: zEquivalent(pValue),
    direction: actual >= model.expected ? 'up' : 'down',
    overdispersed: useRobust,
  };
}

/** Judges one month of one metric; always answers, with the reason when it cannot judge. */
export function checkMonth(
  metric: Pick<Metric, 'id' | 'label' | 'unit' | 'series' | 'detail'>,
  month: Month,
  options: AnomalyOptions,
): AnomalyCheck {
  const method = options.method ?? DEFAULT_METHOD;
  const point = metric.series.find((p) => p.month === month);
  const actual = point?.value ?? null;
  if (actual === null || !Number.isFinite(actual))
    return notJudged(metric, month, null, `no value for ${month}`);
  const w = trailingWindow(metric.series, month, options.trailingMonths);
  const n = w.ys.length;
  if (n < MIN_HISTORY) {
    return notJudged(
      metric,
      month,
      actual,
      `not enough history: ${n} of the ${options.trailingMonths} months before have a value, need ${MIN_HISTORY}`,
      w.ys,
    );
  }
  const base: Omit<AnomalyCheck, 'explanation'> = {
    metricId: metric.id,
    month,
    actual,
    judged: false,
    reason: null,
    tests: [],
    expected: null,
    interval95: null,
    pValue: null,
    score: null,
    direction: null,
    baselineMonths: n,
    baseline: w.ys,
    sampleSize: null,
    overdispersed: false,
  };
  const exposure = options.exposure ?? 1;
  const scaled = (r: RobustPart | { reason: string }): RobustPart | { reason: string } =>
    exposure === 1 || !('pValue' in r)
      ? r
      : {
          ...r,
          expected: r.expected * exposure,
          interval: [r.interval[0] * exposure, r.interval[1] * exposure],
        };
  const robust = scaled(robustPart(metric, month, actual / exposure, options));
  // Counts, rates and NPS that vary more than their sampling model must also stand out against
  // that month-to-month variation: the classical t prediction interval (exact for Gaussian
  // variation, and far more powerful than a MAD from six points; a past outlier widens it).
  const between = scaled(robustPart(metric, month, actual / exposure, { ...options, method: 'zscore' }));
  let result: Omit<AnomalyCheck, 'explanation'> | { reason: string };

  const integers = [...w.ys, actual].every((y) => Number.isInteger(y) && y >= 0);
  const parts = metric.unit === 'ratio' ? w.months.map((m) => proportionParts(metric, m)) : [];
  const thisParts = metric.unit === 'ratio' ? proportionParts(metric, month) : null;
  const npsNow = metric.unit === 'nps' ? npsParts(metric, month) : null;

  if (metric.unit === 'count' && integers) {
    if (w.ys.every((y) => y === 0)) {
      result = { reason: `0 in each of the ${n} months before: no rate to judge a change by` };
    } else {
      const nb = poissonGammaPredictive(w.ys, exposure);
      const tails = negativeBinomialTails(actual, nb);
      const m = mean(w.ys) as number;
      result = combine(
        base,
        {
          test: 'poisson-gamma-predictive',
          expected: m * exposure,
          pValue: tails.pValue,
          interval: [negativeBinomialQuantile(0.025, nb), negativeBinomialQuantile(0.975, nb)],
        },
        overdispersed(w.ys, m),
        between,
        'zscore',
      );
    }
  } else if (thisParts && parts.every((p) => p !== null) && parts.length === n) {
    const months = parts as { successes: number; trials: number }[];
    const trials = months.reduce((s, p) => s + p.trials, 0);
    if (trials === 0 || thisParts.trials === 0) {
      result = { reason: 'no trials to compare a rate with' };
    } else {
      const bb = betaBinomialPredictive(months, thisParts.trials);
      const tails = betaBinomialTails(thisParts.successes, bb);
      const pooled = months.reduce((s, p) => s + p.successes, 0) / trials;
      const rates = months.filter((p) => p.trials > 0).map((p) => p.successes / p.trials);
      const binomialVariance =
        (pooled * (1 - pooled) * months.reduce((s, p) => s + (p.trials > 0 ? 1 / p.trials : 0), 0)) /
        Math.max(1, rates.length);
      result = {
        ...combine(
          base,
          {
            test: 'beta-binomial-predictive',
            expected: pooled,
            pValue: tails.pValue,
            interval: [
              betaBinomialQuantile(0.025, bb) / thisParts.trials,
              betaBinomialQuantile(0.975, bb) / thisParts.trials,
            ],
          },
          overdispersed(rates, binomialVariance),
          between,
          'zscore',
        ),
        sampleSize: thisParts.trials,
      };
    }
  } else if (npsNow) {
    const before = w.months.map((m) => npsParts(metric, m));
    const answers = (c: { promoters: number; passives: number; detractors: number }): number =>
      c.promoters + c.passives + c.detractors;
    const nNow = answers(npsNow);
    if (before.some((b) => b === null)) {
      result = { reason: 'answer counts missing for a month before' };
    } else {
      const b = before as { promoters: number; passives: number; detractors: number }[];
      const pooled = b.reduce(
        (s, c) => ({
          promoters: s.promoters + c.promoters,
          passives: s.passives + c.passives,
          detractors: s.detractors + c.detractors,
        }),
        { promoters: 0, passives: 0, detractors: 0 },
      );
      const nBefore = answers(pooled);
      if (nNow < NPS_MIN_RESPONSES || nBefore < MIN_NPS_BASELINE) {
        result = {
          reason: `${nNow} answers this month and ${nBefore} in the ${n} months before; need ${NPS_MIN_RESPONSES} and ${MIN_NPS_BASELINE}`,
        };
      } else {
        // Pooled variance of one answer (+1, 0, −1) under "nothing changed".
        const all = nNow + nBefore;
        const pPlus = (npsNow.promoters + pooled.promoters) / all;
        const pMinus = (npsNow.detractors + pooled.detractors) / all;
        const v = Math.max(0, pPlus + pMinus - (pPlus - pMinus) ** 2);
        const npsBefore = (100 * (pooled.promoters - pooled.detractors)) / nBefore;
        const se = 100 * Math.sqrt(v * (1 / nNow + 1 / nBefore));
        const diff = actual - npsBefore;
        const pValue = se === 0 ? (diff === 0 ? 1 : 0) : normalTwoSidedP(diff / se);
        const monthly = b.filter((c) => answers(c) > 0);
        const expectedSpread =
          monthly.reduce((s, c) => s + (100 * 100 * v) / answers(c), 0) / Math.max(1, monthly.length);
        const npsValues = monthly.map((c) => (100 * (c.promoters - c.detractors)) / answers(c));
        const half = 1.959964 * se;
        result = {
          ...combine(
            base,
            {
              test: 'nps-two-sample-z',
              expected: npsBefore,
              pValue,
              interval: [Math.max(-100, npsBefore - half), Math.min(100, npsBefore + half)],
            },
            overdispersed(npsValues, expectedSpread),
            between,
            'zscore',
          ),
          sampleSize: nNow,
        };
      }
    }
  } else if ('pValue' in robust) {
    if ((metric.unit === 'currency' || metric.unit === 'seconds') && w.ys.every((y) => y === 0)) {
      result = { reason: `every one of the ${n} months before was 0: no scale to judge a change by` };
    } else {
      result = {
        ...base,
        judged: true,
        tests: [robustTest(method)],
        expected: robust.expected,
        interval95: robust.interval,
        pValue: robust.pValue,
        score: zEquivalent(robust.pValue),
        direction: actual >= robust.expected ? 'up' : 'down',
      };
    }
  } else {
    result = { reason: robust.reason };
  }
  if (!('metricId' in result)) return notJudged(metric, month, actual, result.reason, w.ys);
  if (result.actual === result.expected) result = { ...result, pValue: 1, score: 0 };
  return { ...result, explanation: explain(metric, result as Judged, options, null) };
}

/** One month's judgement of every metric, with the multiple-comparison adjustment. */
export interface MonthJudgement {
  checks: (AnomalyCheck & { qValue: number | null; anomalous: boolean })[];
  /** Metrics judged (the family size of the adjustment). */
  tested: number;
  falseDiscoveryRate: number;
}

export function judgeMonth(
  metrics: readonly Metric[],
  month: Month,
  options: AnomalyOptions,
): MonthJudgement {
  const fdr = options.falseDiscoveryRate ?? DEFAULT_FALSE_DISCOVERY_RATE;
  const checks = metrics.map((m) => checkMonth(m, month, options));
  const q = benjaminiHochberg(checks.map((c) => (c.judged ? c.pValue : null)));
  const tested = checks.filter((c) => c.judged).length;
  return {
    tested,
    falseDiscoveryRate: fdr,
    checks: checks.map((c, i) => {
      const qValue = q[i] ?? null;
      const anomalous = c.judged && qValue !== null && qValue <= fdr && c.actual !== c.expected;
      const metric = metrics[i] as Metric;
      return {
        ...c,
        qValue,
        anomalous,
        explanation: c.judged
          ? explain(metric, c as Judged, options, { qValue: qValue as number, tested })
          : c.explanation,
      };
    }),
  };
}

/**
 * The anomalies of `month` across `metrics`, most anomalous first, each with the evidence that
 * decided it. Metrics that could not be judged are left out here; `checkMonth` says why for each.
 */
export function detectAnomalies(
  metrics: readonly Metric[],
  month: Month,
  options: AnomalyOptions,
): Anomaly[] {
  const j = judgeMonth(metrics, month, options);
  const out: Anomaly[] = [];
  for (const c of j.checks) {
    if (!c.anomalous || c.expected === null || c.actual === null || c.direction === null) continue;
    out.push({
      metricId: c.metricId,
      month,
      direction: c.direction,
      expected: c.expected,
      actual: c.actual,
      score: round(c.score ?? 0, 2),
      explanation: c.explanation,
      evidence: {
        test: c.tests.join('+'),
        pValue: c.pValue as number,
        qValue: c.qValue as number,
        correction: MULTIPLE_COMPARISON_METHOD,
        metricsTested: j.tested,
        falseDiscoveryRate: j.falseDiscoveryRate,
        baselineMonths: c.baselineMonths,
        baseline: c.baseline,
        interval95: c.interval95,
        sampleSize: c.sampleSize,
        overdispersed: c.overdispersed,
      },
    });
  }
  return out.sort((a, b) => b.score - a.score || compareText(a.metricId, b.metricId));
}

function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

const TEST_WORDS: Record<AnomalyTest, string> = {
  'poisson-gamma-predictive': 'Poisson test',
  'beta-binomial-predictive': 'binomial test',
  'nps-two-sample-z': 'NPS z-test',
  'robust-median-mad': 'robust test on the median and MAD',
  'robust-trend': 'robust trend test',
  't-prediction-interval': 't-test on the month-to-month variation',
};

function formatPValue(p: number): string {
  return p < 1e-15 ? '< 1e-15' : p < 0.001 ? p.toExponential(0) : p.toPrecision(2);
}

function explain(
  metric: Pick<Metric, 'label' | 'unit'>,
  c: Judged,
  options: AnomalyOptions,
  adjusted: { qValue: number; tested: number } | null,
): string {
  const f = (v: number): string => formatForSentence(v, metric.unit, options.currency);
  const range = c.interval95 ? `${f(c.interval95[0])} to ${f(c.interval95[1])}` : null;
  const where =
    c.interval95 === null
      ? c.direction === 'up'
        ? 'above'
        : 'below'
      : (c.actual as number) > c.interval95[1]
        ? 'above'
        : (c.actual as number) < c.interval95[0]
          ? 'below'
          : 'within';
  const test = c.tests.map((t) => TEST_WORDS[t]).join(' and ');
  const q = adjusted ? `; q ${formatPValue(adjusted.qValue)} across ${adjusted.tested} metrics` : '';
  return (
    `${metric.label} ${f(c.actual as number)} is ${where} the ${range ?? f(c.expected)} the previous ${c.baselineMonths} months predict` +
    ` (typical ${f(c.expected)}; ${test}, p ${formatPValue(c.pValue)}${q})`
  );
}

// ---------------------------------------------------------------------------------------------
// Explanations
// Explanations

const compact = new Intl.NumberFormat('en-US', { notation: 'compact', maximumFractionDigits: 1 });
const oneDecimal = new Intl.NumberFormat('en-US', { maximumFractionDigits: 1 });

/** A value in its unit, short, for a sentence: "$53.1K", "5.2%", "1,204", "NPS 31", "4.5 min". */
export function formatForSentence(value: number, unit: MetricUnit, currency?: string): string {
  const minus = value < 0 ? '−' : '';
  const a = Math.abs(value);
  switch (unit) {
    case 'currency':
      // The one money format (src/domain/money-format.ts); compact from 1,000 up, as in sentences.
      if (currency) return formatMoney(value, currency, { compact: a >= 1000 });
      return `${minus}${a >= 1000 ? compact.format(a) : oneDecimal.format(a)}`;
    case 'ratio':
      return `${minus}${oneDecimal.format(a * 100)}%`;
    case 'count':
      return `${minus}${a >= 10000 ? compact.format(a) : oneDecimal.format(a)}`;
    case 'nps':
      return `${minus}${oneDecimal.format(a)}`;
    case 'seconds':
      if (a < 60) return `${minus}${oneDecimal.format(a)} s`;
      if (a < 3600) return `${minus}${oneDecimal.format(a / 60)} min`;
      if (a < 86400) return `${minus}${oneDecimal.format(a / 3600)} h`;
      return `${minus}${oneDecimal.format(a / 86400)} d`;
  }
}
