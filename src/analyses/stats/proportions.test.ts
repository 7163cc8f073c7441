import { describe, expect, it } from 'vitest';
import {
  chiSquareIndependence,
  compareProportions,
  fisherExact,
  twoProportionZTest,
  wilsonInterval,
} from './proportions.js';
import type { StatResult } from './result.js';

function value<T>(r: StatResult<T>): T & { test: string } {
  if (r.notEnoughData) throw new Error(`expected a value, got: ${r.reason}`);
  return r;
}

/** Independent check: Fisher's two-sided p by exact BigInt binomials, no jStat. */
function fisherByEnumeration(a: number, nA: number, c: number, nB: number): number {
  const choose = (n: number, k: number): bigint => {
    if (k < 0 || k > n) return 0n;
    let r = 1n;
    for (let i = 1; i <= k; i++) r = (r * BigInt(n - k + i)) / BigInt(i);
    return r;
  };
  const s = a + c;
  const weight = (k: number): bigint => choose(nA, k) * choose(nB, s - k);
  const total = choose(nA + nB, s);
  const observed = weight(a);
  let tail = 0n;
  for (let k = 0; k <= s; k++) if (weight(k) <= observed) tail += weight(k);
  return Number((tail * 10n ** 15n) / total) / 1e15;
}

describe('fisherExact', () => {
  it("matches Fisher's tea-tasting experiment (Agresti 2002 §3.5.2; R fisher.test: p = 0.4857)", () => {
    // Cups with milk first: guessed 3 of 4 right; P(k) = C(4,k)·C(4,4−k)/70 = 1,16,36,16,1 /70;
    // tables as unlikely as k = 3: k ∈ {0,1,3,4} → 34/70 = 0.485714.
    const r = value(fisherExact({ successesA: 3, totalA: 4, successesB: 1, totalB: 4 }));
    expect(r.test).toBe('fisher-exact-two-sided');
    expect(r.pValue).toBeCloseTo(34 / 70, 10);
  });

  it('matches the dieting example (Wikipedia, "Fisher\'s exact test": two-tailed p = 0.002759)', () => {
    // Men: 1 of 12 dieting; women: 9 of 12.
    const r = value(fisherExact({ successesA: 1, totalA: 12, successesB: 9, totalB: 12 }));
    expect(r.pValue).toBeCloseTo(0.002759, 6);
    expect(r.pValue).toBeCloseTo(fisherByEnumeration(1, 12, 9, 12), 12);
  });

  it('agrees with exact enumeration on an unbalanced table with larger counts', () => {
    const r = value(fisherExact({ successesA: 7, totalA: 40, successesB: 61, totalB: 300 }));
    expect(r.pValue).toBeCloseTo(fisherByEnumeration(7, 40, 61, 300), 10);
  });

  it('gives p = 1 for identical groups and all-zero outcomes; not-enough-data for an empty group', () => {
    expect(value(fisherExact({ successesA: 0, totalA: 10, successesB: 0, totalB: 10 })).pValue).toBe(1);
    expect(value(fisherExact({ successesA: 5, totalA: 10, successesB: 5, totalB: 10 })).pValue).toBeCloseTo(
      1,
      12,
    );
    const empty = fisherExact({ successesA: 0, totalA: 0, successesB: 3, totalB: 10 });
    expect(empty.notEnoughData).toBe(true);
  });

  it('rejects counts that are not counts', () => {
    expect(() => fisherExact({ successesA: 5, totalA: 4, successesB: 0, totalB: 1 })).toThrow(/exceed/);
    expect(() => fisherExact({ successesA: 1.5, totalA: 4, successesB: 0, totalB: 1 })).toThrow(/integer/);
  });

  it('stays fast on thousands of observations', () => {
    const t0 = performance.now();
    const r = value(fisherExact({ successesA: 500, totalA: 1000, successesB: 450, totalB: 1000 }));
    // ~1,000 terms, a millisecond on an idle machine. The bound catches a method that grows with
    // the tables (seconds and more), not a slow machine: a loaded CI runner can stall the worker
    // for longer than a tight bound.
    expect(performance.now() - t0).toBeLessThan(5_000);
    // Close to the z-test on large counts (z = 2.2372, p = 0.02528).
    expect(r.pValue).toBeGreaterThan(0.02);
    expect(r.pValue).toBeLessThan(0.032);
  });
});

describe('twoProportionZTest', () => {
  it('computes the pooled z-test by hand', () => {
    // 60/100 vs 40/100: pooled 0.5, SE = √(0.25 · 0.02) = 0.0707107, z = 0.2 / SE = 2.828427,
    // p = 2 · Φ(−2.828427) = 0.0046777.
    const r = value(twoProportionZTest({ successesA: 60, totalA: 100, successesB: 40, totalB: 100 }));
    expect(r.test).toBe('two-proportion-z-test');
    expect(r.z).toBeCloseTo(2.828427, 5);
    expect(r.pValue).toBeCloseTo(0.0046777, 6);
    expect(r.difference).toBeCloseTo(0.2, 12);
  });

  it('equals the chi-square test of the same 2×2 table (z² = χ²)', () => {
    const z = value(twoProportionZTest({ successesA: 60, totalA: 100, successesB: 40, totalB: 100 }));
    const c = value(
      chiSquareIndependence([
        [60, 40],
        [40, 60],
      ]),
    );
    expect(c.statistic).toBeCloseTo(z.z * z.z, 10);
    expect(c.pValue).toBeCloseTo(z.pValue, 10);
  });

  it('gives z = 0, p = 1 when everyone has the same outcome', () => {
    const r = value(twoProportionZTest({ successesA: 30, totalA: 30, successesB: 70, totalB: 70 }));
    expect(r.z).toBe(0);
    expect(r.pValue).toBe(1);
  });
});

describe('compareProportions', () => {
  it('runs the exact test when an expected count is below 5, the z-test otherwise', () => {
    // Expected successes in A: 4 · 4/8 = 2 < 5.
    expect(compareProportions({ successesA: 3, totalA: 4, successesB: 1, totalB: 4 }).test).toBe(
      'fisher-exact-two-sided',
    );
    // Smallest expected: 100 · 100/200 = 50.
    expect(compareProportions({ successesA: 60, totalA: 100, successesB: 40, totalB: 100 }).test).toBe(
      'two-proportion-z-test',
    );
  });
});

describe('chiSquareIndependence', () => {
  it('computes a 2×3 table by hand', () => {
    // Totals: rows 60, 60; columns 30, 40, 50; N = 120 → expected 15, 20, 25 in both rows.
    // χ² = 2 · (5²/15 + 0 + 5²/25) = 5.3333, df = 2, p = e^(−χ²/2) = e^(−2.6667) = 0.069483.
    const r = value(
      chiSquareIndependence([
        [10, 20, 30],
        [20, 20, 20],
      ]),
    );
    expect(r.statistic).toBeCloseTo(16 / 3, 10);
    expect(r.degreesOfFreedom).toBe(2);
    expect(r.pValue).toBeCloseTo(Math.exp(-8 / 3), 8);
    expect(r.warning).toBeUndefined();
  });

  it('drops empty rows and columns, and says when too little is left', () => {
    const r = value(
      chiSquareIndependence([
        [10, 0, 30],
        [20, 0, 20],
        [0, 0, 0],
      ]),
    );
    expect(r.degreesOfFreedom).toBe(1);
    expect(
      chiSquareIndependence([
        [5, 5],
        [0, 0],
      ]).notEnoughData,
    ).toBe(true);
    expect(chiSquareIndependence([]).notEnoughData).toBe(true);
  });

  it('warns when expected counts are small', () => {
    const r = value(
      chiSquareIndependence([
        [1, 3],
        [3, 1],
      ]),
    );
    expect(r.minExpected).toBe(2);
    expect(r.warning).toMatch(/doubtful/);
  });
});

describe('wilsonInterval', () => {
  it('matches the published Wilson interval for 5 of 10 (binom.confint: 0.2366–0.7634)', () => {
    // centre (0.5 + 1.92/10)/(1.38415) = 0.5; half = 1.41603 · √(0.025 + 0.0096037) = 0.263410.
    const r = value(wilsonInterval(5, 10));
    expect(r.interval.low).toBeCloseTo(0.23659, 4);
    expect(r.interval.high).toBeCloseTo(0.76341, 4);
  });

  it('gives a non-degenerate interval at 0 successes (upper 0.2775 for 0/10)', () => {
    const r = value(wilsonInterval(0, 10));
    expect(r.interval.low).toBeCloseTo(0, 10);
    expect(r.interval.high).toBeCloseTo(0.27753, 4);
    expect(wilsonInterval(10, 10).notEnoughData).toBe(false);
    expect(value(wilsonInterval(10, 10)).interval.high).toBe(1);
  });

  it('refuses n = 0', () => {
    const r = wilsonInterval(0, 0);
    expect(r.notEnoughData).toBe(true);
    if (r.notEnoughData) expect(r.reason).toMatch(/n = 0/);
  });
});
