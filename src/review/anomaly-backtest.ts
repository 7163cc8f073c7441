import { normalDeviate, prng } from '../analyses/stats/random.js';
import type { Month } from '../domain/month.js';
import { addMonths } from '../domain/month.js';
import type { Metric, MetricUnit } from '../domain/review.js';
import type { AnomalyOptions } from './anomalies.js';
import { DEFAULT_FALSE_DISCOVERY_RATE, judgeMonth } from './anomalies.js';

/**
 * The anomaly detector measured on synthetic monthly series of the shapes a SaaS review holds
 * (docs/analyses.md, "Back-test"), judged the way a review judges them: a family of metrics per
 * month, every metric tested, Benjamini–Hochberg across the family.
 *
 * Per seed: a family of `copies` series of each kind below (parameters drawn per series), with
 * `trailingMonths` of history and 12 judged months. Nothing planted: every flag is a false
 * positive (rate per metric-month, and the share of review-months with any false flag). Planted:
 * in one judged month, one series of each kind moved by k times that month's true noise SD
 * (k = 3, 5, 8), up or down at random, the rest of the family left alone; recall is the share
 * flagged in the right direction. Two named scenarios on top: a small count going from a Poisson
 * mean of 2.5 to 15, and a 5-SD move behind an 8-SD jolt earlier in the window (masking).
 * Deterministic: seeded, so a test can pin what it measures. Run on demand (`sextant backtest`,
 * the bench): a few seconds per seed, too slow for every review.
 */

export interface BackTestKind {
  kind: string;
  unit: MetricUnit;
  monthsJudged: number;
  flagged: number;
  falsePositiveRate: number;
  /** Recall by planted size in noise SDs. */
  recall: Record<string, number>;
}

export interface BackTestResult {
  method: string;
  falseDiscoveryRate: number;
  trailingMonths: number;
  seeds: number[];
  metricsPerFamily: number;
  monthsJudged: number;
  flagged: number;
  /** Flags per judged metric-month where nothing was planted. */
  falsePositiveRate: number;
  /** Review-months (families) with at least one false flag. */
  falseAlarmRate: number;
  /** False-positive rate per seed, to show its spread. */
  falsePositiveRateBySeed: number[];
  /** Recall by planted size in noise SDs, e.g. { '3': 0.41, '5': 0.88, '8': 0.99 }. */
  detectionRate: Record<string, number>;
  /** A Poisson count with mean 2.5 for the window, then 15. */
  smallCountJumpRecall: number;
  /** A 5-SD move when one earlier month of the window already holds an 8-SD jolt. */
  detectionRateWithOutlierInWindow: number;
  byKind: BackTestKind[];
  /** One sentence for a reader. */
  statement: string;
}

export const PLANTED_SIZES = [3, 5, 8] as const;
const JUDGED_PER_SERIES = 12;
const FIRST: Month = '2020-01';

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
  if (n > 200) {
    const v = Math.round(n * p + Math.sqrt(n * p * (1 - p)) * normal(rand));
    return Math.min(n, Math.max(0, v));
  }
  let k = 0;
  for (let i = 0; i < n; i++) if (rand() < p) k++;
  return k;
}

// --- the kinds of series ----------------------------------------------------------------------

interface Generated {
  values: number[];
  /** The true noise SD of each month's value (what a planted k-SD move is measured in). */
  sd: number[];
  detail?: Record<string, unknown>[];
}

interface SeriesKind {
  kind: string;
  unit: MetricUnit;
  generate(rand: () => number, length: number): Generated;
  /** The series with month t moved by `delta` (in the value's unit), consistently with its detail. */
  move?(g: Generated, t: number, delta: number): Generated;
}

const moveValue = (g: Generated, t: number, delta: number, integer: boolean): Generated => {
  const values = [...g.values];
  const v = (values[t] as number) + delta;
  values[t] = integer ? Math.max(0, Math.round(v)) : v;
  return { ...g, values };
};

/** Independent Poisson counts around a level drawn between `lo` and `hi`. */
const poissonCounts = (kind: string, lo: number, hi: number): SeriesKind => ({
  kind,
  unit: 'count',
  generate(rand, length) {
    const lambda = uniform(rand, lo, hi);
    const values: number[] = [];
    const sd: number[] = [];
    for (let t = 0; t < length; t++) {
      values.push(poisson(rand, lambda));
      sd.push(Math.sqrt(lambda));
    }
    return { values, sd };
  },
  move: (g, t, d) => moveValue(g, t, d, true),
});

const KINDS: SeriesKind[] = [
  {
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
    kind: 'active users (seasonal, overdispersed counts)',
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
    move: (g, t, d) => moveValue(g, t, d, true),
  },
  poissonCounts('new customers (Poisson 2–40)', 2, 40),
  poissonCounts('tickets (Poisson 0.5–5)', 0.5, 5),
  {
    kind: 'churn rate (binomial, counts known)',
    unit: 'ratio',
    generate(rand, length) {
      let customers = Math.round(uniform(rand, 40, 1500));
      const p = uniform(rand, 0.01, 0.06);
      const values: number[] = [];
      const sd: number[] = [];
      const detail: Record<string, unknown>[] = [];
      for (let t = 0; t < length; t++) {
        const x = binomial(rand, customers, p);
        values.push(x / customers);
        sd.push(Math.sqrt((p * (1 - p)) / customers));
        detail.push({ numerator: x, denominator: customers });
        customers = Math.round(customers * 1.02);
      }
      return { values, sd, detail };
    },
    move(g, t, delta) {
      const d = g.detail?.[t] as { numerator: number; denominator: number };
      const x = Math.min(d.denominator, Math.max(0, Math.round(d.numerator + delta * d.denominator)));
      const values = [...g.values];
      values[t] = x / d.denominator;
      const detail = [...(g.detail ?? [])];
      detail[t] = { numerator: x, denominator: d.denominator };
      return { ...g, values, detail };
    },
  },
  {
    kind: 'retention rate (binomial, no counts: robust test)',
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
    kind: 'nps (30–300 answers, counts known)',
    unit: 'nps',
    generate(rand, length) {
      const pPlus = uniform(rand, 0.3, 0.6);
      const pMinus = uniform(rand, 0.05, 0.3);
      const values: number[] = [];
      const sd: number[] = [];
      const detail: Record<string, unknown>[] = [];
      for (let t = 0; t < length; t++) {
        const n = Math.round(uniform(rand, 30, 300));
        const c = { promoters: 0, passives: 0, detractors: 0 };
        for (let i = 0; i < n; i++) {
          const r = rand();
          if (r < pPlus) c.promoters++;
          else if (r < pPlus + pMinus) c.detractors++;
          else c.passives++;
        }
        values.push((100 * (c.promoters - c.detractors)) / n);
        sd.push(100 * Math.sqrt((pPlus + pMinus - (pPlus - pMinus) ** 2) / n));
        detail.push(c);
      }
      return { values, sd, detail };
    },
    move(g, t, delta) {
      // Moving one answer from detractor to promoter moves the NPS by 200 / n points.
      const c = { ...(g.detail?.[t] as { promoters: number; passives: number; detractors: number }) };
      const n = c.promoters + c.passives + c.detractors;
      let k = Math.round((Math.abs(delta) * n) / 200);
      while (k-- > 0) {
        if (delta > 0) {
          if (c.detractors > 0) c.detractors--;
          else if (c.passives > 0) c.passives--;
          else break;
          c.promoters++;
        } else {
          if (c.promoters > 0) c.promoters--;
          else if (c.passives > 0) c.passives--;
          else break;
          c.detractors++;
        }
      }
      const values = [...g.values];
      values[t] = (100 * (c.promoters - c.detractors)) / n;
      const detail = [...(g.detail ?? [])];
      detail[t] = c;
      return { ...g, values, detail };
    },
  },
];

function toMetric(id: string, kind: SeriesKind, g: Generated): Metric {
  const series = g.values.map((value, i) => ({ month: addMonths(FIRST, i), value }));
  const metric: Metric = {
    id,
    group: 'usage',
    label: kind.kind,
    unit: kind.unit,
    series,
    current: null,
    previous: null,
    change: null,
    changeKind: 'relative',
  };
  if (g.detail) metric.detail = Object.fromEntries(g.detail.map((d, i) => [addMonths(FIRST, i), d]));
  return metric;
}

function moved(kind: SeriesKind, g: Generated, t: number, delta: number): Generated {
  return kind.move ? kind.move(g, t, delta) : moveValue(g, t, delta, false);
}

export interface BackTestRun {
  /** Default: 20 seeds from 1. */
  seeds?: number[];
  /** Series of each kind in a family (default 4: 32 metrics, about a review's count). */
  copies?: number;
}

/** Runs the back-test for these detector settings (a few seconds per seed). */
export function backTestAnomalyDetector(
  options: Pick<AnomalyOptions, 'trailingMonths' | 'method' | 'falseDiscoveryRate'>,
  run: BackTestRun = {},
): BackTestResult {
  const seeds = run.seeds ?? Array.from({ length: 20 }, (_, i) => i + 1);
  const copies = run.copies ?? 4;
  const fdr = options.falseDiscoveryRate ?? DEFAULT_FALSE_DISCOVERY_RATE;
  const detector: AnomalyOptions = {
    trailingMonths: options.trailingMonths,
    falseDiscoveryRate: fdr,
    ...(options.method ? { method: options.method } : {}),
  };
  const length = options.trailingMonths + JUDGED_PER_SERIES;
  const perKind = KINDS.map(() => ({
    judged: 0,
    flagged: 0,
    planted: new Map<number, { hits: number; tries: number }>(
      PLANTED_SIZES.map((k) => [k, { hits: 0, tries: 0 }]),
    ),
  }));
  const planted = new Map<number, { hits: number; tries: number }>(
    PLANTED_SIZES.map((k) => [k, { hits: 0, tries: 0 }]),
  );
  const jump = { hits: 0, tries: 0 };
  const masked = { hits: 0, tries: 0 };
  let families = 0;
  let falseAlarms = 0;
  const bySeed: number[] = [];

  for (const seed of seeds) {
    const rand = prng(seed);
    const series: { kind: number; g: Generated }[] = [];
    for (let c = 0; c < copies; c++)
      KINDS.forEach((kind, k) => series.push({ kind: k, g: kind.generate(rand, length) }));
    const metricsOf = (gs: Generated[]): Metric[] =>
      gs.map((g, i) => toMetric(`m${i}`, KINDS[(series[i] as { kind: number }).kind] as SeriesKind, g));
    const base = series.map((s) => s.g);
    const baseMetrics = metricsOf(base);
    let seedJudged = 0;
    let seedFlagged = 0;
    for (let t = options.trailingMonths; t < length; t++) {
      const j = judgeMonth(baseMetrics, addMonths(FIRST, t), detector);
      families++;
      let any = false;
      j.checks.forEach((c, i) => {
        if (!c.judged) return;
        const tally = perKind[(series[i] as { kind: number }).kind]!;
        tally.judged++;
        seedJudged++;
        if (c.anomalous) {
          tally.flagged++;
          seedFlagged++;
          any = true;
        }
      });
      if (any) falseAlarms++;
    }
    bySeed.push(seedJudged === 0 ? 0 : seedFlagged / seedJudged);

    // Planted moves: one series of each kind per size, in a random judged month.
    for (let k = 0; k < KINDS.length; k++) {
      const kind = KINDS[k] as SeriesKind;
      const index = series.findIndex((s) => s.kind === k);
      const g = base[index] as Generated;
      const t = options.trailingMonths + Math.floor(rand() * JUDGED_PER_SERIES);
      // Down when there is room below: a small count or rate cannot fall 8 SDs below 2.
      const up = rand() < 0.5 || (g.values[t] as number) - 8 * (g.sd[t] as number) < 0;
      for (const size of PLANTED_SIZES) {
        const gs = [...base];
        gs[index] = moved(kind, g, t, (up ? 1 : -1) * size * (g.sd[t] as number));
        const c = judgeMonth(metricsOf(gs), addMonths(FIRST, t), detector).checks[index]!;
        const hit = c.anomalous && c.direction === (up ? 'up' : 'down');
        for (const tally of [planted.get(size)!, perKind[k]!.planted.get(size)!]) {
          tally.tries++;
          if (hit) tally.hits++;
        }
      }
      // Masking: an 8-SD jolt earlier in the window, then a 5-SD move.
      const jt = t - 1 - Math.floor(rand() * options.trailingMonths);
      let jg = moved(kind, g, jt, (rand() < 0.5 ? 1 : -1) * 8 * (g.sd[jt] as number));
      jg = moved(kind, jg, t, (up ? 1 : -1) * 5 * (g.sd[t] as number));
      const gs = [...base];
      gs[index] = jg;
      const c = judgeMonth(metricsOf(gs), addMonths(FIRST, t), detector).checks[index]!;
      masked.tries++;
      if (c.anomalous && c.direction === (up ? 'up' : 'down')) masked.hits++;
    }

    // The small-count jump: Poisson mean 2.5 in the window, 15 in the judged month.
    const smallIndex = series.findIndex((s) => KINDS[s.kind]?.kind.startsWith('tickets'));
    const values = Array.from({ length: options.trailingMonths }, () => poisson(rand, 2.5));
    values.push(15);
    const gs = [...base];
    gs[smallIndex] = {
      values: [...values, ...Array.from({ length: length - values.length }, () => 3)],
      sd: [],
    };
    const c = judgeMonth(metricsOf(gs), addMonths(FIRST, options.trailingMonths), detector).checks[
      smallIndex
    ]!;
    jump.tries++;
    if (c.anomalous && c.direction === 'up') jump.hits++;
  }

  const rate = (t: { hits: number; tries: number }): number => (t.tries === 0 ? 0 : t.hits / t.tries);
  const monthsJudged = perKind.reduce((s, k) => s + k.judged, 0);
  const flagged = perKind.reduce((s, k) => s + k.flagged, 0);
  const falsePositiveRate = monthsJudged === 0 ? 0 : flagged / monthsJudged;
  const detectionRate: Record<string, number> = {};
  for (const [k, t] of planted) detectionRate[String(k)] = rate(t);
  const pct = (x: number): string => `${(100 * x).toFixed(1)}%`;
  const falseAlarmRate = families === 0 ? 0 : falseAlarms / families;
  return {
    method: `per-unit tests + Benjamini–Hochberg at ${fdr}${options.method ? ` (${options.method})` : ''}`,
    falseDiscoveryRate: fdr,
    trailingMonths: options.trailingMonths,
    seeds,
    metricsPerFamily: seriesCount(copies),
    monthsJudged,
    flagged,
    falsePositiveRate,
    falseAlarmRate,
    falsePositiveRateBySeed: bySeed,
    detectionRate,
    smallCountJumpRecall: rate(jump),
    detectionRateWithOutlierInWindow: rate(masked),
    byKind: KINDS.map((kind, k) => {
      const t = perKind[k]!;
      const recall: Record<string, number> = {};
      for (const [size, r] of t.planted) recall[String(size)] = rate(r);
      return {
        kind: kind.kind,
        unit: kind.unit,
        monthsJudged: t.judged,
        flagged: t.flagged,
        falsePositiveRate: t.judged === 0 ? 0 : t.flagged / t.judged,
        recall,
      };
    }),
    statement:
      `On ${monthsJudged.toLocaleString('en-US')} synthetic metric-months where nothing happened (${seeds.length} seeds, ` +
      `${seriesCount(copies)} metrics a month), ${pct(falsePositiveRate)} were flagged and ${pct(falseAlarmRate)} of months had any false flag; ` +
      `it caught ${PLANTED_SIZES.map((k) => `${pct(detectionRate[String(k)] ?? 0)} of ${k}-SD moves`).join(', ')}, ` +
      `and ${pct(rate(jump))} of small counts jumping from about 2.5 to 15.`,
  };
}

function seriesCount(copies: number): number {
  return copies * KINDS.length;
}
