import { describe, expect, it } from 'vitest';
import { monthsEndingAt } from '../domain/month.js';
import type { Metric, MetricUnit } from '../domain/review.js';
import {
  calibrationFactor,
  checkMonth,
  detectAnomalies,
  expectationFor,
  formatForSentence,
} from './anomalies.js';
import { backTestAnomalyDetector } from './anomaly-backtest.js';

const MONTH = '2026-07';
const OPTIONS = { threshold: 3.5, trailingMonths: 6 };

/** A metric whose series ends at MONTH with these values, oldest first. */
function metric(id: string, label: string, unit: MetricUnit, values: (number | null)[]): Metric {
  const months = monthsEndingAt(MONTH, values.length);
  const series = months.map((month, i) => ({ month, value: values[i] ?? null }));
  return {
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
}

describe('checkMonth (median method, the default)', () => {
  it('flags a spike in a count, with the floor setting the spread', () => {
    // Window 100,102,98,101,99,100: median 100; |residuals| 0,2,2,1,1,0 → MAD 1 → raw spread
    // 1.4826 × calibration (< 6.7); the count floor max(1, √100, 2) = 10 is larger, so spread 10.
    // Score |160 − 100| / 10 = 6.
    const m = metric('active_users', 'Active users', 'count', [100, 102, 98, 101, 99, 100, 160]);
    const c = checkMonth(m, MONTH, OPTIONS);
    expect(c.anomalous).toBe(true);
    expect(c.direction).toBe('up');
    expect(c.score).toBeCloseTo(6, 10);
    expect(c.expectation.ok && c.expectation.expected).toBe(100);
    expect(c.expectation.ok && c.expectation.spreadFrom).toBe('floor');
    expect(c.explanation).toBe("Active users 160 is 6.0 robust SDs above the previous 6 months' median 100");
  });

  it('judges a ratio in percentage points against its floor', () => {
    // Window median 0.03; MAD 0.001 → raw 0.0014826 × calibration (< 3.4); ratio floor
    // max(0.005, 5% × 0.03) = 0.005. Score (0.06 − 0.03)/0.005 = 6, up.
    const m = metric(
      'customer_churn_rate',
      'Customer churn rate',
      'ratio',
      [0.03, 0.031, 0.029, 0.03, 0.032, 0.028, 0.06],
    );
    const c = checkMonth(m, MONTH, OPTIONS);
    expect(c.score).toBeCloseTo(6, 10);
    expect(c.explanation).toBe(
      "Customer churn rate 6% is 6.0 robust SDs above the previous 6 months' median 3%",
    );
  });

  it('does not flag steady growth (negative control)', () => {
    // MRR growing 3% a month from 100k with no shock: a growing series is not an anomaly.
    const values = Array.from({ length: 13 }, (_, i) => Math.round(100000 * 1.03 ** i));
    const c = checkMonth(metric('mrr', 'MRR', 'currency', values), MONTH, OPTIONS);
    expect(c.score).not.toBeNull();
    expect(c.anomalous).toBe(false);
  });

  it('flags a drop with direction down', () => {
    const m = metric('active_users', 'Active users', 'count', [400, 410, 405, 395, 402, 398, 250]);
    const c = checkMonth(m, MONTH, OPTIONS);
    expect(c.direction).toBe('down');
    expect(c.anomalous).toBe(true);
  });

  it('uses the mean absolute deviation when the MAD is 0', () => {
    // Window 50,50,50,50,80,50: median 50, MAD 0 → 1.2533 × mean |dev| (30/6 = 5) = 6.2665 before
    // calibration; count floor max(1, √50, 1) = 7.07.
    const e = expectationFor(
      metric('x', 'X', 'count', [50, 50, 50, 50, 80, 50, 50]).series,
      MONTH,
      'count',
      OPTIONS,
    );
    expect(e.ok).toBe(true);
    if (!e.ok) return;
    expect(e.expected).toBe(50);
    expect(e.spread).toBeGreaterThanOrEqual(6.2665 * calibrationFactor('median', 6, 3.5) - 1e-9);
    expect(e.spreadFrom).toBe('mean-absolute-deviation');
  });
});

describe('checkMonth: cannot judge', () => {
  it('says so when this month is null', () => {
    const c = checkMonth(metric('nps', 'NPS', 'nps', [30, 31, 29, 30, 32, 28, null]), MONTH, OPTIONS);
    expect(c.anomalous).toBe(false);
    expect(c.score).toBeNull();
    expect(c.explanation).toBe('NPS: no value for 2026-07');
  });

  it('says so when the history is too short, skipping nulls', () => {
    const c = checkMonth(metric('nps', 'NPS', 'nps', [null, null, null, null, 20, 25, 90]), MONTH, OPTIONS);
    expect(c.anomalous).toBe(false);
    expect(c.explanation).toBe('NPS: not enough history: 2 of the 6 months before have a value, need 3');
  });

  it('says so when money has been 0 every month before', () => {
    const c = checkMonth(
      metric('reactivation_mrr', 'Reactivation MRR', 'currency', [0, 0, 0, 0, 0, 0, 900]),
      MONTH,
      OPTIONS,
    );
    expect(c.anomalous).toBe(false);
    expect(c.explanation).toMatch(/every one of the 6 months before was 0/);
  });

  it('a flat count history uses the Poisson floor instead of dividing by 0', () => {
    // History all 4: spread = floor max(1, √4, 0.08) = 2; 5 → score 0.5, not anomalous.
    const c = checkMonth(
      metric('new_customers', 'New customers', 'count', [4, 4, 4, 4, 4, 4, 5]),
      MONTH,
      OPTIONS,
    );
    expect(c.score).toBeCloseTo(0.5, 10);
    expect(c.anomalous).toBe(false);
  });
});

describe('detectAnomalies', () => {
  it('returns only anomalous metrics, most anomalous first, in the review shape', () => {
    const metrics = [
      metric('active_users', 'Active users', 'count', [100, 102, 98, 101, 99, 100, 160]), // score 6
      metric(
        'customer_churn_rate',
        'Customer churn rate',
        'ratio',
        [0.03, 0.031, 0.029, 0.03, 0.032, 0.028, 0.07],
      ), // 8
      metric('mrr', 'MRR', 'currency', [100, 101, 102, 103, 104, 105, 106]),
    ];
    const a = detectAnomalies(metrics, MONTH, { ...OPTIONS, currency: 'USD' });
    expect(a.map((x) => x.metricId)).toEqual(['customer_churn_rate', 'active_users']);
    expect(a[0]).toMatchObject({ month: MONTH, direction: 'up', expected: 0.03, actual: 0.07, score: 8 });
  });

  it('respects the configured threshold', () => {
    const m = [metric('active_users', 'Active users', 'count', [100, 102, 98, 101, 99, 100, 160])];
    expect(detectAnomalies(m, MONTH, { threshold: 6.5, trailingMonths: 6 })).toEqual([]);
  });
});

describe('formatForSentence', () => {
  it('formats by unit', () => {
    expect(formatForSentence(53100, 'currency', 'USD')).toBe('$53.1K');
    expect(formatForSentence(-1200, 'currency', 'EUR')).toBe('−€1.2K');
    expect(formatForSentence(0.052, 'ratio')).toBe('5.2%');
    expect(formatForSentence(270, 'seconds')).toBe('4.5 min');
  });
});

describe('calibrationFactor', () => {
  it('is the textbook prediction factor for the z-score and deterministic for the robust methods', () => {
    expect(calibrationFactor('zscore', 6, 3.5)).toBeCloseTo(Math.sqrt(7 / 6), 12);
    const f = calibrationFactor('median', 6, 3.5);
    expect(f).toBeGreaterThan(1);
    expect(calibrationFactor('median', 6, 3.5)).toBe(f);
  });
});

describe('backTestAnomalyDetector', () => {
  it('measures a low false-positive rate on series where nothing happened', () => {
    const r = backTestAnomalyDetector(OPTIONS);
    // Measured 2026-11 (seed 20240601, 100 series per kind): 1.10% of 8,400 months; detection
    // 13% / 36% / 65% for 3 / 5 / 8-SD moves; 25% for 5-SD moves behind an 8-SD jolt.
    expect(r.monthsJudged).toBe(8400);
    expect(r.falsePositiveRate).toBeLessThan(0.02);
    expect(r.detectionRate['8']).toBeGreaterThan(0.5);
    expect(r.detectionRate['5']).toBeGreaterThan(r.detectionRate['3'] as number);
    expect(r.statement).toMatch(/flagged 1\.\d%/);
    expect(backTestAnomalyDetector(OPTIONS)).toBe(r); // cached
  });

  it('is deterministic for a seed', () => {
    const a = backTestAnomalyDetector(OPTIONS, { seed: 7, seriesPerKind: 10 });
    const b = backTestAnomalyDetector({ ...OPTIONS, method: 'median' }, { seed: 7, seriesPerKind: 10 });
    expect(b.falsePositiveRate).toBe(a.falsePositiveRate);
    expect(b.flagged).toBe(a.flagged);
  });
});
