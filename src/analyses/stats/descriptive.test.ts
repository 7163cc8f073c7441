import { describe, expect, it } from 'vitest';
import { mad, meanAbsoluteDeviation, median, quantile, quantiles, theilSen } from './descriptive.js';

describe('quantiles', () => {
  it('interpolates like R type 7', () => {
    // [1,2,3,4]: p = 0.25 → h = 0.75 → 1 + 0.75 · 1 = 1.75; p = 0.9 → h = 2.7 → 3.7.
    expect(quantile([4, 1, 3, 2], 0.25)).toBeCloseTo(1.75, 12);
    expect(quantile([4, 1, 3, 2], 0.9)).toBeCloseTo(3.7, 12);
    expect(quantiles([1, 2, 3, 4], [0, 0.5, 1])).toEqual([1, 2.5, 4]);
  });

  it('handles empty, single and all-equal arrays', () => {
    expect(quantile([], 0.5)).toBeNull();
    expect(quantiles([], [0.5])).toEqual([null]);
    expect(median([7])).toBe(7);
    expect(mad([3, 3, 3])).toBe(0);
    expect(() => quantile([1, Number.NaN], 0.5)).toThrow(/finite/);
    expect(() => quantile([1], 2)).toThrow();
  });
});

describe('median and MAD', () => {
  it('ignore an outlier', () => {
    // [1,2,3,4,100]: median 3; |deviations| 2,1,0,1,97 → MAD 1; mean |dev| = 101/5 = 20.2.
    expect(median([1, 2, 3, 4, 100])).toBe(3);
    expect(mad([1, 2, 3, 4, 100])).toBe(1);
    expect(meanAbsoluteDeviation([1, 2, 3, 4, 100])).toBeCloseTo(20.2, 12);
  });
});

describe('theilSen', () => {
  it('recovers a line despite an outlier', () => {
    // y = 2x + 1 for x = 0..4, y(5) = 100: 10 of the 15 pairwise slopes are exactly 2, so the
    // median is 2; intercept = median(y − 2x) = median(1,1,1,1,1,90) = 1.
    const fit = theilSen([0, 1, 2, 3, 4, 5], [1, 3, 5, 7, 9, 100]);
    expect(fit).toEqual({ slope: 2, intercept: 1 });
  });

  it('is null without two distinct x', () => {
    expect(theilSen([1], [1])).toBeNull();
    expect(theilSen([2, 2], [1, 5])).toBeNull();
  });
});
