import { normalDeviate, prng } from '../analyses/stats/random.js';
import type { Month } from '../domain/month.js';
import { addMonths } from '../domain/month.js';
import type { MetricPoint, MetricUnit } from '../domain/review.js';
import type { AnomalyOptions } from './anomalies.js';
import { DEFAULT_METHOD, expectationFor } from './anomalies.js';

/**
 * The anomaly detector's measured false-positive and detection rates, on synthetic monthly series
 * of the shapes a SaaS review holds (docs/analyses.md, "Anomalies: back-test"). Deterministic: a
 * seeded PRNG, so the review can state the figure and a test can pin it.
 *
 * Null series (nothing planted): each kind below, with its parameters drawn per series; every month
 * with a full window is judged, and any flag is a false positive.
 * Planted series: the same, with one judged month moved by k times that month's true noise SD
 * (k = 3, 5, 8), up or down at random; detection is a flag on that month in the right direction.
 */

export interface BackTestKind {
  kind: string;
  unit: MetricUnit;
  monthsJudged: number;
  flagged: number;
  falsePositiveRate: number;
}

export interface BackTestResult {
  method: string;
  threshold: number;
  trailingMonths: number;
  seed: number;
  seriesPerKind: number;
  monthsJudged: number;
  flagged: number;
  falsePositiveRate: number;
  /** Detection rate by planted size in noise SDs, e.g. { '3': 0.41, '5': 0.88, '8': 0.99 }. */
  detectionRate: Record<string, number>;
  /**
   * Detection of a 5-SD move when one earlier month of the window already holds an 8-SD jolt
   * (a one-off deal, a migration month): what a non-robust detector loses.
   */
  detectionRateWithOutlierInWindow: number;
  byKind: BackTestKind[];
  /** One sentence for the review. */
  statement: string;
}

export const PLANTED_SIZES = [3, 5, 8] as const;

// --- deterministic randomness -----------------------------------------------------------------

const normal = normalDeviate;

function uniform(rand: () => number, lo: number, hi: number): number {
  return lo + (hi - lo) * rand();
}

function poisson(rand: () => number, lambda: number): number {
  if (lambda > 50) return Math.max(0, Math.round(lambda + Math.sqrt(lambda) * normal(rand)));
  const limit = Math.exp(-lambda);
  let k = 0;
  let p = rand();
  while (p > limit) {
    k++;
    p *= rand();
  }
  return k;
}

function binomial(rand: () => number, n: number, p: number): number {
  let k = 0;
  for (let i = 0; i < n; i++) if (rand() < p) k++;
  return k;
}

// --- the kinds of series ----------------------------------------------------------------------

interface Generated {
  values: number[];
  /** The true noise SD of each month's value (what a planted k-SD move is measured in). */
  sd: number[];
}

interface SeriesKind {
  kind: string;
  unit: MetricUnit;
  generate(rand: () => number, length: number): Generated;
}

const KINDS: SeriesKind[] = [
  {
    // Recurring revenue: a log random walk with drift, −1%..+6% a month, 0.5–2% noise.
    kind: 'mrr (growing random walk)',
    unit: 'currency',
    generate(rand, length) {
      let v = uniform(rand, 5e3, 5e5);
      const drift = uniform(rand, -0.01, 0.06);
      const sigma = uniform(rand, 0.005, 0.02);
      const values: number[] = [];
      const sd: number[] = [];
      for (let t = 0; t < length; t++) {
        sd.push(v * sigma);
        v *= Math.exp(drift + sigma * normal(rand));
        values.push(v);
      }
      return { values, sd };
    },
  },
  {
    // A revenue flow (new MRR, expansion): lognormal around a trend, 15–40% noise.
    kind: 'new mrr (volatile flow)',
    unit: 'currency',
    generate(rand, length) {
      const level = uniform(rand, 1e3, 5e4);
      const growth = uniform(rand, -0.01, 0.04);
      const sigma = uniform(rand, 0.15, 0.4);
      const values: number[] = [];
      const sd: number[] = [];
      for (let t = 0; t < length; t++) {
        const mu = level * Math.pow(1 + growth, t);
        values.push(mu * Math.exp(sigma * normal(rand) - (sigma * sigma) / 2));
        sd.push(mu * Math.sqrt(Math.exp(sigma * sigma) - 1));
      }
      return { values, sd };
    },
  },
  {
    // Active users: overdispersed Poisson around a growing level with yearly seasonality.
    kind: 'active users (seasonal counts)',
    unit: 'count',
    generate(rand, length) {
      const level = uniform(rand, 50, 20000);
      const growth = uniform(rand, -0.01, 0.05);
      const season = uniform(rand, 0, 0.15);
      const phase = uniform(rand, 0, 2 * Math.PI);
      const extra = uniform(rand, 0.01, 0.06);
      const values: number[] = [];
      const sd: number[] = [];
      for (let t = 0; t < length; t++) {
        const mu = level * Math.pow(1 + growth, t) * (1 + season * Math.sin((2 * Math.PI * t) / 12 + phase));
        values.push(poisson(rand, mu * Math.exp(extra * normal(rand))));
        sd.push(Math.sqrt(mu + mu * mu * extra * extra));
      }
      return { values, sd };
    },
  },
  {
    // Small counts (new paying customers, tickets): Poisson with mean 2–40.
    kind: 'new customers (small counts)',
    unit: 'count',
    generate(rand, length) {
      const lambda = uniform(rand, 2, 40);
      const values: number[] = [];
      const sd: number[] = [];
      for (let t = 0; t < length; t++) {
        values.push(poisson(rand, lambda));
        sd.push(Math.sqrt(lambda));
      }
      return { values, sd };
    },
  },
  {
    // Churn rate: binomial share of 40–1,500 customers churning with probability 1–6%.
    kind: 'churn rate (binomial ratio)',
    unit: 'ratio',
    generate(rand, length) {
      let customers = Math.round(uniform(rand, 40, 1500));
      const p = uniform(rand, 0.01, 0.06);
      const values: number[] = [];
      const sd: number[] = [];
      for (let t = 0; t < length; t++) {
        values.push(binomial(rand, customers, p) / customers);
        sd.push(Math.sqrt((p * (1 - p)) / customers));
        customers = Math.round(customers * 1.02);
      }
      return { values, sd };
    },
  },
  {
    // Activation or retention rate: binomial share of 100–2,000 users, 20–60%.
    kind: 'retention rate (binomial ratio)',
    unit: 'ratio',
    generate(rand, length) {
      const n = Math.round(uniform(rand, 100, 2000));
      const p = uniform(rand, 0.2, 0.6);
      const values: number[] = [];
      const sd: number[] = [];
      for (let t = 0; t < length; t++) {
        values.push(binomial(rand, n, p) / n);
        sd.push(Math.sqrt((p * (1 - p)) / n));
      }
      return { values, sd };
    },
  },
  {
    // NPS of 30–300 responses a month.
    kind: 'nps (survey sample)',
    unit: 'nps',
    generate(rand, length) {
      const pPlus = uniform(rand, 0.3, 0.6);
      const pMinus = uniform(rand, 0.05, 0.3);
      const values: number[] = [];
      const sd: number[] = [];
      for (let t = 0; t < length; t++) {
        const n = Math.round(uniform(rand, 30, 300));
        let score = 0;
        for (let i = 0; i < n; i++) {
          const r = rand();
          score += r < pPlus ? 1 : r < pPlus + pMinus ? -1 : 0;
        }
        values.push((100 * score) / n);
        sd.push(100 * Math.sqrt((pPlus + pMinus - (pPlus - pMinus) ** 2) / n));
      }
      return { values, sd };
    },
  },
];

// --- the back-test ------------------------------------------------------------------------------

const FIRST: Month = '2020-01';
const JUDGED_PER_SERIES = 12;

function toSeries(values: readonly number[]): MetricPoint[] {
  return values.map((value, i) => ({ month: addMonths(FIRST, i), value }));
}

/** Signed score of month t (the review's `checkMonth` without its sentence); null if not judged. */
function signedScore(
  values: readonly number[],
  t: number,
  unit: MetricUnit,
  detector: AnomalyOptions,
): number | null {
  const e = expectationFor(toSeries(values.slice(0, t)), addMonths(FIRST, t), unit, detector);
  if (!e.ok) return null;
  return ((values[t] as number) - e.expected) / e.spread;
}

function flags(score: number | null, threshold: number, up: boolean): boolean {
  return score !== null && (up ? score >= threshold : score <= -threshold);
}

const cache = new Map<string, BackTestResult>();

/**
 * Runs (or returns the cached) back-test for these detector settings. Measured ~0.3 s for the default
 * 100 series per kind (8,400 judged months) plus the calibration of the window size.
 */
export function backTestAnomalyDetector(
  options: Pick<AnomalyOptions, 'threshold' | 'trailingMonths' | 'method'>,
  run: { seed?: number; seriesPerKind?: number } = {},
): BackTestResult {
  const seed = run.seed ?? 20240601;
  const seriesPerKind = run.seriesPerKind ?? 100;
  const method = options.method ?? DEFAULT_METHOD;
  const key = JSON.stringify([options.threshold, options.trailingMonths, method, seed, seriesPerKind]);
  const hit = cache.get(key);
  if (hit) return hit;

  const rand = prng(seed);
  const length = options.trailingMonths + JUDGED_PER_SERIES;
  const detector: AnomalyOptions = {
    threshold: options.threshold,
    trailingMonths: options.trailingMonths,
    method,
  };
  const byKind: BackTestKind[] = [];
  const contaminated = { hits: 0, tries: 0 };
  const planted = new Map<number, { hits: number; tries: number }>(
    PLANTED_SIZES.map((k) => [k, { hits: 0, tries: 0 }]),
  );

  for (const kind of KINDS) {
    let judged = 0;
    let flagged = 0;
    for (let s = 0; s < seriesPerKind; s++) {
      const { values, sd } = kind.generate(rand, length);
      for (let t = options.trailingMonths; t < length; t++) {
        const score = signedScore(values, t, kind.unit, detector);
        if (score === null) continue;
        judged++;
        if (Math.abs(score) >= options.threshold) flagged++;
      }
      // The same series with one month moved, once per planted size.
      const t = options.trailingMonths + Math.floor(rand() * JUDGED_PER_SERIES);
      const up = rand() < 0.5;
      for (const k of PLANTED_SIZES) {
        const moved = [...values];
        let v = (values[t] as number) + (up ? 1 : -1) * k * (sd[t] as number);
        if (kind.unit === 'nps') v = Math.max(-100, Math.min(100, v));
        moved[t] = v;
        const tally = planted.get(k) as { hits: number; tries: number };
        tally.tries++;
        if (flags(signedScore(moved, t, kind.unit, detector), options.threshold, up)) tally.hits++;
      }
      const jolted = [...values];
      const j = t - 1 - Math.floor(rand() * options.trailingMonths);
      jolted[j] = Math.max(0, (values[j] as number) + (rand() < 0.5 ? 1 : -1) * 8 * (sd[j] as number));
      jolted[t] = (values[t] as number) + (up ? 1 : -1) * 5 * (sd[t] as number);
      if (kind.unit === 'nps') jolted[t] = Math.max(-100, Math.min(100, jolted[t]));
      contaminated.tries++;
      if (flags(signedScore(jolted, t, kind.unit, detector), options.threshold, up)) contaminated.hits++;
    }
    byKind.push({
      kind: kind.kind,
      unit: kind.unit,
      monthsJudged: judged,
      flagged,
      falsePositiveRate: judged === 0 ? 0 : flagged / judged,
    });
  }

  const monthsJudged = byKind.reduce((s, k) => s + k.monthsJudged, 0);
  const flagged = byKind.reduce((s, k) => s + k.flagged, 0);
  const falsePositiveRate = monthsJudged === 0 ? 0 : flagged / monthsJudged;
  const detectionRate: Record<string, number> = {};
  for (const [k, t] of planted) detectionRate[String(k)] = t.tries === 0 ? 0 : t.hits / t.tries;
  const pct = (x: number): string => `${(100 * x).toFixed(1)}%`;
  const result: BackTestResult = {
    method,
    threshold: options.threshold,
    trailingMonths: options.trailingMonths,
    seed,
    seriesPerKind,
    monthsJudged,
    flagged,
    falsePositiveRate,
    detectionRate,
    detectionRateWithOutlierInWindow: contaminated.tries === 0 ? 0 : contaminated.hits / contaminated.tries,
    byKind,
    statement:
      `On ${monthsJudged.toLocaleString('en-US')} synthetic months where nothing happened, the detector ` +
      `(${method}, threshold ${options.threshold}, ${options.trailingMonths} trailing months) flagged ` +
      `${pct(falsePositiveRate)}; it caught ${PLANTED_SIZES.map((k) => `${pct(detectionRate[String(k)] ?? 0)} of ${k}-SD moves`).join(', ')}.`,
  };
  cache.set(key, result);
  return result;
}
