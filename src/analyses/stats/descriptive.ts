/**
 * Descriptive statistics on plain arrays: quantiles (R's default, type 7: linear interpolation
 * between order statistics, the same as numpy's default and DuckDB's quantile_cont), median, MAD
 * and the Theil–Sen slope. Non-finite values (NaN, ±Infinity) are a programmer error: callers
 * drop nulls before calling.
 */

/** MAD × 1.4826 estimates the standard deviation of normally distributed data (1 / Φ⁻¹(0.75)). */
export const MAD_TO_SD = 1.482602218505602;

function sorted(values: readonly number[]): number[] {
  for (const v of values) {
    if (!Number.isFinite(v)) throw new Error(`statistics need finite numbers, got ${v}`);
  }
  return [...values].sort((a, b) => a - b);
}

function quantileOfSorted(s: readonly number[], p: number): number {
  const h = (s.length - 1) * p;
  const lo = Math.floor(h);
  const hi = Math.ceil(h);
  const a = s[lo] as number;
  const b = s[hi] as number;
  return a + (h - lo) * (b - a);
}

/** The p-quantile (0 ≤ p ≤ 1), type 7; null for an empty array. */
export function quantile(values: readonly number[], p: number): number | null {
  if (!(p >= 0 && p <= 1)) throw new Error(`a quantile's p is in [0, 1], got ${p}`);
  if (values.length === 0) return null;
  return quantileOfSorted(sorted(values), p);
}

/** Several quantiles of one array, sorting it once; nulls for an empty array. */
export function quantiles(values: readonly number[], ps: readonly number[]): (number | null)[] {
  if (values.length === 0) return ps.map(() => null);
  const s = sorted(values);
  return ps.map((p) => {
    if (!(p >= 0 && p <= 1)) throw new Error(`a quantile's p is in [0, 1], got ${p}`);
    return quantileOfSorted(s, p);
  });
}

export function median(values: readonly number[]): number | null {
  return quantile(values, 0.5);
}

export function mean(values: readonly number[]): number | null {
  if (values.length === 0) return null;
  let sum = 0;
  for (const v of values) sum += v;
  return sum / values.length;
}

/**
 * Median absolute deviation from the median, unscaled (multiply by MAD_TO_SD for a robust
 * standard deviation). 0 when more than half the values are equal; null for an empty array.
 */
export function mad(values: readonly number[]): number | null {
  const m = median(values);
  if (m === null) return null;
  return median(values.map((v) => Math.abs(v - m)));
}

/** Mean absolute deviation from the median: the fallback spread when the MAD is 0. */
export function meanAbsoluteDeviation(values: readonly number[]): number | null {
  const m = median(values);
  if (m === null) return null;
  return mean(values.map((v) => Math.abs(v - m)));
}

/**
 * Theil–Sen line through points (x, y): slope = median of the pairwise slopes (pairs with equal
 * x skipped), intercept = median of y − slope·x. Robust to up to ~29% outliers. null with fewer
 * than two distinct x.
 */
export function theilSen(
  xs: readonly number[],
  ys: readonly number[],
): { slope: number; intercept: number } | null {
  if (xs.length !== ys.length) throw new Error('theilSen needs as many x as y');
  const slopes: number[] = [];
  for (let i = 0; i < xs.length; i++) {
    for (let j = i + 1; j < xs.length; j++) {
      const dx = (xs[j] as number) - (xs[i] as number);
      if (dx !== 0) slopes.push(((ys[j] as number) - (ys[i] as number)) / dx);
    }
  }
  const slope = median(slopes);
  if (slope === null) return null;
  const intercept = median(ys.map((y, i) => y - slope * (xs[i] as number))) as number;
  return { slope, intercept };
}
