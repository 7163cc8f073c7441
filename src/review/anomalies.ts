import {
  MAD_TO_SD,
  mad,
  mean,
  meanAbsoluteDeviation,
  median,
  theilSen,
} from '../analyses/stats/descriptive.js';
import { studentTTwoSidedP } from '../analyses/stats/jstat.js';
import { normalDeviate, prng } from '../analyses/stats/random.js';
import type { Month } from '../domain/month.js';
import { addMonths } from '../domain/month.js';
import type { Anomaly, Metric, MetricPoint, MetricUnit } from '../domain/review.js';
import { compareText } from '../domain/order.js';

/**
 * Anomalies: is a metric's value this month far from what its trailing months lead us to expect?
 * Method, alternatives and the measured false-positive rate: docs/analyses.md ("Anomalies").
 *
 * Expected value (default `median`): the median of the `trailingMonths` non-null values before the
 * month. Spread: 1.4826 × their MAD (a robust SD; with threshold 3.5 this is Iglewicz & Hoaglin's
 * modified z-score); when more than half are equal the MAD is 0 and 1.2533 × the mean absolute
 * deviation stands in. `trend` (a Theil–Sen line read at the month) and `zscore` (mean and SD,
 * PostHog's z-score detector) are kept for comparison; the back-test chose the median.
 *
 * Calibration: a spread from six points is itself noisy, so the raw spread is widened by a factor
 * (per method, window size and threshold, from a seeded simulation) that makes Gaussian noise cross
 * the threshold exactly as often as a Student-t prediction interval of the same size would.
 * Floor by unit, so a few quiet months cannot make the next ordinary wobble "10 SDs": counts
 * max(1, √level, 2% of level) (Poisson noise); currency 2% and durations 5% of the level; ratios
 * 0.5 percentage points or 5% of the level; NPS 3 points.
 *
 * Score: |actual − expected| / spread, in robust SDs, with a direction; anomalous at `threshold`
 * or more. A null this month, fewer than 3 values in the window, or money/durations that were 0
 * every month before (no scale to judge by) give no anomaly and say why.
 */

export type ExpectationMethod = 'trend' | 'median' | 'zscore';

export interface AnomalyOptions {
  /** Robust SDs from the expected value that make a month anomalous (config `anomalies.threshold`). */
  threshold: number;
  /** How many months before the judged month form its history (config `anomalies.trailingMonths`). */
  trailingMonths: number;
  method?: ExpectationMethod;
  /** ISO currency code for explanations ("$53.1K"); without it, amounts print bare. */
  currency?: string;
}

export const DEFAULT_METHOD: ExpectationMethod = 'median';
/** Fewer non-null values than this in the window: no expectation. */
export const MIN_HISTORY = 3;

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

export interface AnomalyCheck {
  metricId: string;
  month: Month;
  actual: number | null;
  expectation: Expectation;
  /** |actual − expected| / spread; null when the month could not be judged. */
  score: number | null;
  direction: 'up' | 'down' | null;
  anomalous: boolean;
  /** One line for a person: the explanation when scored, the reason when not. */
  explanation: string;
}

/** The unit's smallest believable spread at a typical level (see the header). */
export function spreadFloor(unit: MetricUnit, level: number): number {
  const l = Math.abs(level);
  switch (unit) {
    case 'count':
      return Math.max(1, Math.sqrt(l), 0.02 * l);
    case 'currency':
      return 0.02 * l;
    case 'seconds':
      return 0.05 * l;
    case 'ratio':
      return Math.max(0.005, 0.05 * l);
    case 'nps':
      return 3;
  }
}

function valueAt(series: readonly MetricPoint[]): Map<Month, number> {
  const m = new Map<Month, number>();
  for (const p of series) if (p.value !== null && Number.isFinite(p.value)) m.set(p.month, p.value);
  return m;
}

/**
 * The expected value of `month` from the `trailingMonths` months before it in `series` (which may
 * start before the review's 13 months, for back-tests). Pure; `month` itself is never used.
 */
export function expectationFor(
  series: readonly MetricPoint[],
  month: Month,
  unit: MetricUnit,
  options: Pick<AnomalyOptions, 'threshold' | 'trailingMonths' | 'method'>,
): Expectation {
  const method = options.method ?? DEFAULT_METHOD;
  const values = valueAt(series);
  const xs: number[] = [];
  const ys: number[] = [];
  for (let k = options.trailingMonths; k >= 1; k--) {
    const v = values.get(addMonths(month, -k));
    if (v !== undefined) {
      xs.push(-k);
      ys.push(v);
    }
  }
  const n = ys.length;
  if (n < MIN_HISTORY) {
    return {
      ok: false,
      reason: `not enough history: ${n} of the ${options.trailingMonths} months before have a value, need ${MIN_HISTORY}`,
    };
  }
  const level = median(ys.map(Math.abs)) as number;
  if ((unit === 'currency' || unit === 'seconds') && ys.every((y) => y === 0)) {
    return { ok: false, reason: `every one of the ${n} months before was 0: no scale to judge a change by` };
  }

  const raw = rawExpectation(xs, ys, method);
  const calibrated = raw.spread * calibrationFactor(method, n, options.threshold);
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

/** Judges one month of one metric; always answers, with the reason when it cannot judge. */
export function checkMonth(
  metric: Pick<Metric, 'id' | 'label' | 'unit' | 'series'>,
  month: Month,
  options: AnomalyOptions,
): AnomalyCheck {
  const base = { metricId: metric.id, month };
  const point = metric.series.find((p) => p.month === month);
  const actual = point?.value ?? null;
  if (actual === null || !Number.isFinite(actual)) {
    const reason = `${metric.label}: no value for ${month}`;
    return {
      ...base,
      actual: null,
      expectation: { ok: false, reason },
      score: null,
      direction: null,
      anomalous: false,
      explanation: reason,
    };
  }
  const expectation = expectationFor(metric.series, month, metric.unit, options);
  if (!expectation.ok) {
    return {
      ...base,
      actual,
      expectation,
      score: null,
      direction: null,
      anomalous: false,
      explanation: `${metric.label}: ${expectation.reason}`,
    };
  }
  const diff = actual - expectation.expected;
  const score = Math.abs(diff) / expectation.spread;
  const direction = diff >= 0 ? 'up' : 'down';
  return {
    ...base,
    actual,
    expectation,
    score,
    direction,
    anomalous: score >= options.threshold && diff !== 0,
    explanation: explain(metric, actual, expectation, score, direction, options),
  };
}

/**
 * The anomalies of `month` across `metrics`, most anomalous first. Metrics that could not be
 * judged are left out here; `checkMonth` says why for each.
 */
export function detectAnomalies(
  metrics: readonly Metric[],
  month: Month,
  options: AnomalyOptions,
): Anomaly[] {
  const out: Anomaly[] = [];
  for (const metric of metrics) {
    const c = checkMonth(metric, month, options);
    if (!c.anomalous || !c.expectation.ok || c.actual === null || c.score === null || !c.direction) continue;
    out.push({
      metricId: metric.id,
      month,
      direction: c.direction,
      expected: c.expectation.expected,
      actual: c.actual,
      score: round(c.score, 2),
      explanation: c.explanation,
    });
  }
  return out.sort((a, b) => b.score - a.score || compareText(a.metricId, b.metricId));
}

function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

// ---------------------------------------------------------------------------------------------
// Explanations

const compact = new Intl.NumberFormat('en-US', { notation: 'compact', maximumFractionDigits: 1 });
const oneDecimal = new Intl.NumberFormat('en-US', { maximumFractionDigits: 1 });

function currencySymbol(code: string): string {
  try {
    const parts = new Intl.NumberFormat('en-US', {
      style: 'currency',
      currency: code,
      currencyDisplay: 'narrowSymbol',
    }).formatToParts(0);
    return parts.find((p) => p.type === 'currency')?.value ?? `${code} `;
  } catch {
    return `${code} `;
  }
}

/** A value in its unit, short, for a sentence: "$53.1K", "5.2%", "1,204", "NPS 31", "4.5 min". */
export function formatForSentence(value: number, unit: MetricUnit, currency?: string): string {
  const minus = value < 0 ? '−' : '';
  const a = Math.abs(value);
  switch (unit) {
    case 'currency':
      return `${minus}${currency ? currencySymbol(currency) : ''}${a >= 1000 ? compact.format(a) : oneDecimal.format(a)}`;
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

function explain(
  metric: Pick<Metric, 'label' | 'unit'>,
  actual: number,
  e: Extract<Expectation, { ok: true }>,
  score: number,
  direction: 'up' | 'down',
  options: AnomalyOptions,
): string {
  const f = (v: number): string => formatForSentence(v, metric.unit, options.currency);
  const where = direction === 'up' ? 'above' : 'below';
  const against =
    e.method === 'trend'
      ? `the ${f(e.expected)} the trend of the previous ${e.n} months predicts`
      : e.method === 'median'
        ? `the previous ${e.n} months' median ${f(e.expected)}`
        : `the previous ${e.n} months' mean ${f(e.expected)}`;
  const sds = e.method === 'zscore' ? 'SDs' : 'robust SDs';
  return `${metric.label} ${f(actual)} is ${score.toFixed(1)} ${sds} ${where} ${against}`;
}
