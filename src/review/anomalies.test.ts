import { describe, expect, it } from 'vitest';
import { poissonGammaPredictive, negativeBinomialTails } from '../analyses/stats/predictive.js';
import { normalDeviate, prng } from '../analyses/stats/random.js';
import { monthsEndingAt } from '../domain/month.js';
import type { Metric, MetricUnit } from '../domain/review.js';
import { checkMonth, detectAnomalies, formatForSentence, judgeMonth, zEquivalent } from './anomalies.js';
import { backTestAnomalyDetector } from './anomaly-backtest.js';

const MONTH = '2026-07';
const OPTIONS = { trailingMonths: 6 };

/** A metric whose series ends at MONTH with these values, oldest first. */
function metric(
  id: string,
  label: string,
  unit: MetricUnit,
  values: (number | null)[],
  detail?: Record<string, unknown>[],
): Metric {
  const months = monthsEndingAt(MONTH, values.length);
  const series = months.map((month, i) => ({ month, value: values[i] ?? null }));
  const m: Metric = {
    id,
    group: 'usage',
    label,
    unit,
    series,
    current: values.at(-1) ?? null,
    previous: values.at(-2) ?? null,
    change: null,
    changeKind: 'relative',
  };
  if (detail) m.detail = Object.fromEntries(detail.map((d, i) => [months[i] as string, d]));
  return m;
}

function poisson(rand: () => number, lambda: number): number {
  const limit = Math.exp(-lambda);
  let k = 0;
  let p = rand();
  while (p > limit) {
    k++;
    p *= rand();
  }
  return k;
}

describe('counts: Poisson–gamma predictive', () => {
  it('a small count jumping from about 2.5 to 15 is flagged (the old MAD band missed it)', () => {
    const m = metric('tickets', 'Support tickets', 'count', [2, 3, 2, 3, 2, 3, 15]);
    const c = checkMonth(m, MONTH, OPTIONS);
    expect(c.judged).toBe(true);
    expect(c.tests).toEqual(['poisson-gamma-predictive']);
    expect(c.expected).toBeCloseTo(2.5, 10);
    // By hand: S = 15, n = 6 → NB(r = 15.5, p = 6/7); P(Y ≥ 15) from the incomplete beta.
    const tails = negativeBinomialTails(15, poissonGammaPredictive([2, 3, 2, 3, 2, 3]));
    expect(c.pValue).toBeCloseTo(2 * tails.upper, 12);
    expect(c.pValue).toBeLessThan(1e-5);
    expect(c.direction).toBe('up');
    expect(c.interval95![1]).toBeLessThan(15);
    // And among 30 quiet metrics, after Benjamini–Hochberg.
    const quiet = Array.from({ length: 30 }, (_, i) =>
      metric(`q${i}`, `Quiet ${i}`, 'count', [20, 22, 19, 21, 20, 23, 21]),
    );
    const anomalies = detectAnomalies([m, ...quiet], MONTH, OPTIONS);
    expect(anomalies.map((a) => a.metricId)).toEqual(['tickets']);
    expect(anomalies[0]!.evidence).toMatchObject({
      test: 'poisson-gamma-predictive',
      baselineMonths: 6,
      baseline: [2, 3, 2, 3, 2, 3],
      metricsTested: 31,
      correction: 'benjamini-hochberg',
    });
    expect(anomalies[0]!.evidence!.qValue).toBeLessThanOrEqual(0.05);
  });

  it('the same jump in a small count with Poisson-like wobble (1, 4, 2, 3, 0, 5) is flagged', () => {
    const m = metric('tickets', 'Support tickets', 'count', [1, 4, 2, 3, 0, 5, 15]);
    const c = checkMonth(m, MONTH, OPTIONS);
    // Dispersion index 5 × 3.5 / 2.5 = 7 on 5 degrees of freedom: p 0.22, Poisson holds.
    expect(c.overdispersed).toBe(false);
    expect(detectAnomalies([m], MONTH, OPTIONS)).toHaveLength(1);
  });

  it('a window swinging far more than Poisson (0, 6, 1, 5, 0, 3) must also beat its own swings', () => {
    const m = metric('tickets', 'Support tickets', 'count', [0, 6, 1, 5, 0, 3, 15]);
    const c = checkMonth(m, MONTH, OPTIONS);
    expect(c.overdispersed).toBe(true);
    expect(c.tests).toEqual(['poisson-gamma-predictive', 't-prediction-interval']);
    expect(c.interval95![0]).toBe(0);
    const poissonAlone = negativeBinomialTails(15, poissonGammaPredictive([0, 6, 1, 5, 0, 3])).pValue;
    expect(c.pValue).toBeGreaterThan(100 * poissonAlone);
  });

  it('an overdispersed large count is judged against its month-to-month variation, not Poisson noise', () => {
    // Poisson alone: 170 vs mean 120 is 4.5 SDs; the window itself swings by ±35.
    const m = metric('active_users', 'Active users', 'count', [100, 160, 90, 150, 80, 140, 170]);
    const c = checkMonth(m, MONTH, OPTIONS);
    expect(c.overdispersed).toBe(true);
    expect(c.pValue).toBeGreaterThan(0.05);
    expect(detectAnomalies([m], MONTH, OPTIONS)).toEqual([]);
  });

  it('a count that was 0 every month before is not judged (a new source, not a rate)', () => {
    const m = metric('events', 'Events', 'count', [0, 0, 0, 0, 0, 0, 1869]);
    const c = checkMonth(m, MONTH, OPTIONS);
    expect(c.judged).toBe(false);
    expect(c.reason).toMatch(/0 in each of the 6 months before/);
    expect(detectAnomalies([m], MONTH, OPTIONS)).toEqual([]);
  });
});

describe('flat series make no anomaly', () => {
  it('money flat for six months, then a move: not judged (no variation to judge by)', () => {
    for (const last of [5000, 5600, 0]) {
      const m = metric('mrr', 'MRR', 'currency', [5000, 5000, 5000, 5000, 5000, 5000, last]);
      const c = checkMonth(m, MONTH, OPTIONS);
      expect(c.judged, String(last)).toBe(false);
      expect(c.reason).toMatch(/no variation/);
      expect(detectAnomalies([m], MONTH, OPTIONS)).toEqual([]);
    }
  });

  it('a flat count that stays flat has p = 1', () => {
    const c = checkMonth(metric('x', 'X', 'count', [100, 100, 100, 100, 100, 100, 100]), MONTH, OPTIONS);
    expect(c.pValue).toBe(1);
    expect(c.score).toBe(0);
  });

  it('a flat ratio without counts: not judged', () => {
    const c = checkMonth(metric('r', 'R', 'ratio', [0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.9]), MONTH, OPTIONS);
    expect(c.judged).toBe(false);
  });
});

describe('proportions with their counts: beta-binomial predictive', () => {
  const churn = (xs: [number, number][]) =>
    metric(
      'customer_churn_rate',
      'Customer churn rate',
      'ratio',
      xs.map(([x, n]) => x / n),
      xs.map(([x, n]) => ({ numerator: x, denominator: n })),
    );

  it('3% → 15% of 100 customers is flagged; 3% → 5% is not', () => {
    const base: [number, number][] = [
      [3, 100],
      [2, 100],
      [4, 100],
      [3, 100],
      [3, 100],
      [3, 100],
    ];
    const high = checkMonth(churn([...base, [15, 100]]), MONTH, OPTIONS);
    expect(high.tests).toEqual(['beta-binomial-predictive']);
    expect(high.sampleSize).toBe(100);
    expect(high.expected).toBeCloseTo(18 / 600, 12);
    expect(high.pValue).toBeLessThan(1e-4);
    const ordinary = checkMonth(churn([...base, [5, 100]]), MONTH, OPTIONS);
    expect(ordinary.pValue).toBeGreaterThan(0.1);
  });

  it('the same rates on 10 customers a month are not flagged: too few trials', () => {
    const c = checkMonth(
      churn([
        [0, 10],
        [1, 10],
        [0, 10],
        [0, 10],
        [1, 10],
        [0, 10],
        [2, 10],
      ]),
      MONTH,
      OPTIONS,
    );
    expect(c.pValue).toBeGreaterThan(0.05);
  });
});

describe('NPS: its own test', () => {
  const nps = (counts: [number, number, number][]) =>
    metric(
      'nps',
      'NPS',
      'nps',
      counts.map(([p, , d]) => (100 * (p - d)) / (p + counts[0]![1] * 0 + d + counts[0]![1] * 0 || 1)),
      counts.map(([promoters, passives, detractors]) => ({ promoters, passives, detractors })),
    );

  it('a single answer this month is not judged (need 10)', () => {
    const m = nps([
      [20, 10, 5],
      [22, 9, 6],
      [18, 12, 5],
      [21, 10, 4],
      [20, 11, 5],
      [19, 10, 6],
      [0, 0, 1],
    ]);
    m.series[6]!.value = -100;
    const c = checkMonth(m, MONTH, OPTIONS);
    expect(c.judged).toBe(false);
    expect(c.reason).toMatch(/1 answers this month/);
  });

  it('a 40-point fall on 100 answers is flagged with the multinomial z-test', () => {
    const counts: [number, number, number][] = [
      [50, 30, 20],
      [52, 28, 20],
      [48, 32, 20],
      [50, 30, 20],
      [51, 29, 20],
      [49, 31, 20],
      [30, 20, 50],
    ];
    const m = metric(
      'nps',
      'NPS',
      'nps',
      counts.map(([p, a, d]) => (100 * (p - d)) / (p + a + d)),
      counts.map(([promoters, passives, detractors]) => ({ promoters, passives, detractors })),
    );
    const c = checkMonth(m, MONTH, OPTIONS);
    expect(c.tests[0]).toBe('nps-two-sample-z');
    expect(c.expected).toBeCloseTo(30, 10);
    expect(c.direction).toBe('down');
    expect(c.pValue).toBeLessThan(1e-6);
    void nps;
  });
});

describe('noise is not flagged', () => {
  it('stationary Poisson series (λ 0.5–50), 2,000 seeds: single-test p < 0.05 at most 5% of the time', () => {
    let flagged = 0;
    const n = 2000;
    for (let s = 0; s < n; s++) {
      const rand = prng(1000 + s);
      const lambda = 0.5 + 49.5 * rand();
      const values = Array.from({ length: 7 }, () => poisson(rand, lambda));
      const c = checkMonth(metric('c', 'C', 'count', values), MONTH, OPTIONS);
      if (c.judged && (c.pValue as number) < 0.05) flagged++;
    }
    expect(flagged / n).toBeLessThanOrEqual(0.05);
  });

  it('stationary normal series (money), 2,000 seeds: single-test p < 0.05 at most 5% of the time', () => {
    let flagged = 0;
    const n = 2000;
    for (let s = 0; s < n; s++) {
      const rand = prng(5000 + s);
      const values = Array.from({ length: 7 }, () => 10000 + 1000 * normalDeviate(rand));
      const c = checkMonth(metric('c', 'C', 'currency', values), MONTH, OPTIONS);
      if (c.judged && (c.pValue as number) < 0.05) flagged++;
    }
    expect(flagged / n).toBeLessThanOrEqual(0.05);
  });

  it('families of 30 quiet metrics, 300 seeds: a month with any flag at most 5% of the time (the FDR level)', () => {
    let alarms = 0;
    const n = 300;
    for (let s = 0; s < n; s++) {
      const rand = prng(9000 + s);
      const metrics = Array.from({ length: 30 }, (_, i) => {
        if (i % 2 === 0) {
          const lambda = 1 + 100 * rand();
          return metric(
            `c${i}`,
            `C${i}`,
            'count',
            Array.from({ length: 7 }, () => poisson(rand, lambda)),
          );
        }
        return metric(
          `m${i}`,
          `M${i}`,
          'currency',
          Array.from({ length: 7 }, () => 5000 + 300 * normalDeviate(rand)),
        );
      });
      if (detectAnomalies(metrics, MONTH, OPTIONS).length > 0) alarms++;
    }
    expect(alarms / n).toBeLessThanOrEqual(0.05);
  });
});

describe('judgeMonth and explanations', () => {
  it('says which test decided, with the p- and q-values, in words a person reads', () => {
    const m = metric('churned_customers', 'Churned customers', 'count', [2, 1, 3, 2, 2, 1, 14]);
    const [a] = detectAnomalies([m], MONTH, OPTIONS);
    expect(a!.explanation).toMatch(
      /^Churned customers 14 is above the 0 to \d+ the previous 6 months predict \(typical 1\.8; Poisson test, p \d/,
    );
    expect(a!.explanation).toMatch(/q .* across 1 metrics\)$/);
    expect(a!.explanation).not.toMatch(/churned_customers|robust SDs/);
    expect(a!.score).toBeCloseTo(zEquivalent(a!.evidence!.pValue), 2);
  });

  it('not-judged metrics are left out of the family', () => {
    const j = judgeMonth(
      [metric('a', 'A', 'count', [null, null, 1, 2, 3]), metric('b', 'B', 'count', [2, 3, 2, 3, 2, 3, 3])],
      MONTH,
      OPTIONS,
    );
    expect(j.tested).toBe(1);
    expect(j.checks[0]!.reason).toMatch(/not enough history/);
  });

  it('formats values by unit', () => {
    expect(formatForSentence(53149.36, 'currency', 'USD')).toBe('$53.1K');
    expect(formatForSentence(0.052, 'ratio')).toBe('5.2%');
    expect(formatForSentence(-12, 'nps')).toBe('−12');
  });
});

describe('back-test (small run; the full one is `sextant backtest`)', () => {
  it('reports the false-positive rate and recall on planted jumps over several seeds', () => {
    const b = backTestAnomalyDetector({ trailingMonths: 6 }, { seeds: [1, 2, 3], copies: 2 });
    expect(b.seeds).toEqual([1, 2, 3]);
    expect(b.monthsJudged).toBeGreaterThan(500);
    expect(b.falsePositiveRate).toBeLessThanOrEqual(0.01);
    expect(b.falseAlarmRate).toBeLessThanOrEqual(0.2);
    expect(b.detectionRate['8']).toBeGreaterThan(b.detectionRate['3']!);
    expect(b.smallCountJumpRecall).toBeGreaterThanOrEqual(0.6);
    expect(b.byKind.every((k) => Object.keys(k.recall).length === 3)).toBe(true);
    expect(b.statement).toMatch(/seeds/);
  });
});
