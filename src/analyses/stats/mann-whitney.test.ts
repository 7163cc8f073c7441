import { describe, expect, it } from 'vitest';
import { mannWhitneyU } from './mann-whitney.js';

/** Independent check: the exact two-sided p by enumerating every split of the pooled values. */
function pByEnumeration(a: number[], b: number[]): number {
  const pooled = [...a, ...b];
  const uOf = (x: number[], y: number[]): number => {
    let u = 0;
    for (const p of x) for (const q of y) u += p > q ? 1 : p === q ? 0.5 : 0;
    return u;
  };
  const observed = uOf(a, b);
  const mean = (a.length * b.length) / 2;
  let extreme = 0;
  let total = 0;
  const pick = (start: number, chosen: number[]): void => {
    if (chosen.length === a.length) {
      const x = chosen.map((i) => pooled[i] as number);
      const y = pooled.filter((_, i) => !chosen.includes(i));
      total++;
      if (Math.abs(uOf(x, y) - mean) >= Math.abs(observed - mean) - 1e-9) extreme++;
      return;
    }
    for (let i = start; i < pooled.length; i++) pick(i + 1, [...chosen, i]);
  };
  pick(0, []);
  return extreme / total;
}

describe('mannWhitneyU', () => {
  // R ?wilcox.test, Hollander & Wolfe (1973) p. 69: W = 35, one-sided p = 0.1272, so two-sided 0.2544.
  const x = [0.8, 0.83, 1.89, 1.04, 1.45, 1.38, 1.91, 1.64, 0.73, 1.46];
  const y = [1.15, 0.88, 0.9, 0.74, 1.21];

  it('matches R wilcox.test on Hollander & Wolfe data (exact, no ties)', () => {
    const r = mannWhitneyU(x, y);
    if (r.notEnoughData) throw new Error(r.reason);
    expect(r.test).toBe('mann-whitney-u-exact');
    expect(r.u).toBe(35);
    expect(r.pValue).toBeCloseTo(0.2544, 4);
    expect(r.pValue).toBeCloseTo(pByEnumeration(x, y), 10);
    expect(r.probabilityOfSuperiority).toBeCloseTo(35 / 50, 12);
  });

  it('uses the tie-corrected normal approximation with ties (by hand)', () => {
    // Pooled 1,1,2 | 2,3,3: ranks 1.5,1.5,3.5 (A) → R_A = 6.5, U = 0.5. Ties: three pairs →
    // Σ(t³ − t) = 18; Var = 9/12 · (7 − 18/30) = 4.8; z = (0.5 − 4.5 + 0.5)/√4.8 = −1.59752;
    // p = 2 · Φ(−1.59752) = 0.11015 (R: wilcox.test(c(1,1,2), c(2,3,3)) p = 0.1101).
    const r = mannWhitneyU([1, 1, 2], [2, 3, 3]);
    if (r.notEnoughData) throw new Error(r.reason);
    expect(r.test).toBe('mann-whitney-u-normal');
    expect(r.u).toBe(0.5);
    expect(r.pValue).toBeCloseTo(0.11015, 4);
  });

  it('gives p = 1 when every value is equal', () => {
    const r = mannWhitneyU([2, 2, 2, 2], [2, 2, 2]);
    if (r.notEnoughData) throw new Error(r.reason);
    expect(r.pValue).toBe(1);
    expect(r.rankBiserial).toBe(0);
  });

  it('finds a clear shift and reports medians', () => {
    const a = Array.from({ length: 30 }, (_, i) => i + 20);
    const b = Array.from({ length: 30 }, (_, i) => i);
    const r = mannWhitneyU(a, b);
    if (r.notEnoughData) throw new Error(r.reason);
    // a = 20..49, b = 0..29: of 900 pairs, a < b in Σ_{k=0..9} (9 − k) = 45, a = b in 10 (each ½),
    // so U = 900 − 45 − 10 + 10 · ½ = 850. Ties, so the normal approximation.
    expect(r.u).toBe(850);
    expect(r.exact).toBe(false);
    expect(r.pValue).toBeLessThan(1e-6);
    expect(r.medianA).toBe(34.5);
    expect(r.medianB).toBe(14.5);
  });

  it('refuses groups below the minimum size', () => {
    const r = mannWhitneyU([1, 2], [3, 4, 5]);
    expect(r.notEnoughData).toBe(true);
    if (r.notEnoughData) expect(r.reason).toMatch(/2 and 3/);
  });
});
