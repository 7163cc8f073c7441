import { describe, expect, it } from 'vitest';
import { benjaminiHochberg } from './multiple-comparisons.js';

describe('benjaminiHochberg', () => {
  it('matches R p.adjust(c(.01,.02,.03,.04,.05), "BH") = all 0.05', () => {
    const q = benjaminiHochberg([0.01, 0.02, 0.03, 0.04, 0.05]);
    for (const x of q) expect(x).toBeCloseTo(0.05, 12);
  });

  it('adjusts unsorted p-values by hand and keeps the input order', () => {
    // Sorted 0.005, 0.01, 0.03, 0.04 (m = 4): 4/1·0.005 = 0.02, 4/2·0.01 = 0.02, 4/3·0.03 = 0.04,
    // 4/4·0.04 = 0.04; running minimum from the top leaves them as they are.
    const q = benjaminiHochberg([0.01, 0.04, 0.03, 0.005]);
    expect(q[0]).toBeCloseTo(0.02, 12);
    expect(q[1]).toBeCloseTo(0.04, 12);
    expect(q[2]).toBeCloseTo(0.04, 12);
    expect(q[3]).toBeCloseTo(0.02, 12);
  });

  it('takes the running minimum and caps at 1', () => {
    // Sorted 0.02, 0.021, 0.9 (m = 3): 0.06, 0.0315, 0.9 → min from the top: 0.0315, 0.0315, 0.9.
    const q = benjaminiHochberg([0.9, 0.02, 0.021]);
    expect(q).toEqual([0.9, 0.0315, 0.0315].map((x) => expect.closeTo(x, 12) as unknown as number));
    expect(benjaminiHochberg([1, 1])).toEqual([1, 1]);
  });

  it('skips nulls (tests that did not run) without counting them', () => {
    // m = 2: 0.01 → 0.02, 0.04 → 0.04.
    const q = benjaminiHochberg([0.01, null, 0.04]);
    expect(q[0]).toBeCloseTo(0.02, 12);
    expect(q[1]).toBeNull();
    expect(q[2]).toBeCloseTo(0.04, 12);
    expect(benjaminiHochberg([])).toEqual([]);
    expect(() => benjaminiHochberg([1.5])).toThrow(/\[0, 1\]/);
  });
});
