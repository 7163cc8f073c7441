import { chiSquareUpperTail, hypergeometricPmf, normalQuantile, normalTwoSidedP } from './jstat.js';
import type { Interval, StatResult } from './result.js';
import { assertCount, computed, notEnoughData } from './result.js';

/**
 * Tests on counts: a proportion's interval, two proportions compared (z-test, Fisher's exact
 * test, chi-square) and `compareProportions`, which picks between them the way a statistician
 * would: exact when any expected cell count is below 5, the z-test otherwise.
 *
 * A 2×2 table here is always "group × outcome":
 *   group A: `successesA` of `totalA`;  group B: `successesB` of `totalB`.
 */
export interface TwoGroups {
  successesA: number;
  totalA: number;
  successesB: number;
  totalB: number;
}

function checkGroups(g: TwoGroups): void {
  assertCount('successesA', g.successesA);
  assertCount('totalA', g.totalA);
  assertCount('successesB', g.successesB);
  assertCount('totalB', g.totalB);
  if (g.successesA > g.totalA || g.successesB > g.totalB) {
    throw new Error(`successes exceed their total: ${JSON.stringify(g)}`);
  }
}

/** The smallest expected cell count of the 2×2 table under independence. */
export function minExpectedCount(g: TwoGroups): number {
  const n = g.totalA + g.totalB;
  if (n === 0) return 0;
  const successes = g.successesA + g.successesB;
  const failures = n - successes;
  const smallerGroup = Math.min(g.totalA, g.totalB);
  return (smallerGroup * Math.min(successes, failures)) / n;
}

// ---------------------------------------------------------------------------------------------

export interface ProportionInterval {
  proportion: number;
  successes: number;
  n: number;
  interval: Interval;
}

/**
 * Wilson score interval for a proportion (Wilson 1927; Agresti & Coull 1998 recommend it over
 * the Wald interval, which collapses to [0, 0] at 0 successes).
 */
export function wilsonInterval(successes: number, n: number, level = 0.95): StatResult<ProportionInterval> {
  const test = 'wilson-score-interval';
  assertCount('successes', successes);
  assertCount('n', n);
  if (successes > n) throw new Error(`successes (${successes}) exceed n (${n})`);
  if (n === 0) return notEnoughData(test, 'no observations (n = 0)');
  const z = normalQuantile(1 - (1 - level) / 2);
  const p = successes / n;
  const z2n = (z * z) / n;
  const centre = (p + z2n / 2) / (1 + z2n);
  const half = (z / (1 + z2n)) * Math.sqrt((p * (1 - p)) / n + (z * z) / (4 * n * n));
  return computed(test, {
    proportion: p,
    successes,
    n,
    interval: { low: Math.max(0, centre - half), high: Math.min(1, centre + half), level },
  });
}

// ---------------------------------------------------------------------------------------------

export interface ProportionComparison {
  pValue: number;
  proportionA: number;
  proportionB: number;
  /** proportionA − proportionB. */
  difference: number;
  nA: number;
  nB: number;
  minExpected: number;
}

/**
 * Two-proportion z-test with the pooled standard error, two-sided. Equivalent to the chi-square
 * test of a 2×2 table without continuity correction (z² = χ²). Valid when every expected count
 * is at least 5; `compareProportions` switches to Fisher's exact test otherwise.
 */
export function twoProportionZTest(g: TwoGroups): StatResult<ProportionComparison & { z: number }> {
  const test = 'two-proportion-z-test';
  checkGroups(g);
  if (g.totalA === 0 || g.totalB === 0) {
    return notEnoughData(test, `a group is empty (n = ${g.totalA} and ${g.totalB})`);
  }
  const pA = g.successesA / g.totalA;
  const pB = g.successesB / g.totalB;
  const pooled = (g.successesA + g.successesB) / (g.totalA + g.totalB);
  const se = Math.sqrt(pooled * (1 - pooled) * (1 / g.totalA + 1 / g.totalB));
  // Pooled 0 or 1: both groups are all-success or all-failure, identical; no evidence of a difference.
  const z = se === 0 ? 0 : (pA - pB) / se;
  return computed(test, {
    z,
    pValue: normalTwoSidedP(z),
    proportionA: pA,
    proportionB: pB,
    difference: pA - pB,
    nA: g.totalA,
    nB: g.totalB,
    minExpected: minExpectedCount(g),
  });
}

/**
 * Fisher's exact test of a 2×2 table, two-sided: the probability, under the hypergeometric
 * distribution of the top-left cell given the margins, of every table at most as likely as the
 * one observed (the rule R's fisher.test uses, with the same 1e-7 relative tolerance for ties).
 */
export function fisherExact(g: TwoGroups): StatResult<ProportionComparison> {
  const test = 'fisher-exact-two-sided';
  checkGroups(g);
  if (g.totalA === 0 || g.totalB === 0) {
    return notEnoughData(test, `a group is empty (n = ${g.totalA} and ${g.totalB})`);
  }
  const N = g.totalA + g.totalB;
  const successes = g.successesA + g.successesB;
  // Top-left cell k ~ Hypergeometric(N, successes, totalA) with fixed margins.
  const kMin = Math.max(0, g.totalA - (N - successes));
  const kMax = Math.min(g.totalA, successes);
  const observed = hypergeometricPmf(g.successesA, N, successes, g.totalA);
  let pValue = 0;
  for (let k = kMin; k <= kMax; k++) {
    const p = hypergeometricPmf(k, N, successes, g.totalA);
    if (p <= observed * (1 + 1e-7)) pValue += p;
  }
  const pA = g.successesA / g.totalA;
  const pB = g.successesB / g.totalB;
  return computed(test, {
    pValue: Math.min(1, pValue),
    proportionA: pA,
    proportionB: pB,
    difference: pA - pB,
    nA: g.totalA,
    nB: g.totalB,
    minExpected: minExpectedCount(g),
  });
}

/**
 * The test a statistician would pick for two proportions: Fisher's exact test when any expected
 * cell count is below 5 (Cochran's rule), the two-proportion z-test otherwise. The result's
 * `test` names which one ran.
 */
export function compareProportions(g: TwoGroups): StatResult<ProportionComparison> {
  checkGroups(g);
  return minExpectedCount(g) < 5 ? fisherExact(g) : twoProportionZTest(g);
}

// ---------------------------------------------------------------------------------------------

export interface ChiSquareResult {
  pValue: number;
  statistic: number;
  degreesOfFreedom: number;
  n: number;
  minExpected: number;
  /** Set when some expected count is below 5, so the chi-square approximation is doubtful. */
  warning?: string;
}

/**
 * Pearson's chi-square test of independence of an r×c table of counts (rows: groups, columns:
 * outcomes), no continuity correction. Rows and columns whose total is 0 carry no information and
 * are dropped before counting degrees of freedom. For a 2×2 table with small expected counts use
 * `compareProportions`, which runs Fisher's exact test instead.
 */
export function chiSquareIndependence(table: readonly (readonly number[])[]): StatResult<ChiSquareResult> {
  const test = 'chi-square-independence';
  const width = table[0]?.length ?? 0;
  for (const row of table) {
    if (row.length !== width) throw new Error('chi-square needs a rectangular table');
    row.forEach((x, j) => assertCount(`cell in column ${j}`, x));
  }
  const colTotals = Array.from({ length: width }, (_, j) => table.reduce((s, r) => s + (r[j] as number), 0));
  const keepCols = colTotals.map((t, j) => (t > 0 ? j : -1)).filter((j) => j >= 0);
  const rows = table
    .filter((r) => r.reduce((s, x) => s + x, 0) > 0)
    .map((r) => keepCols.map((j) => r[j] as number));
  if (rows.length < 2 || keepCols.length < 2) {
    return notEnoughData(
      test,
      `needs at least 2 non-empty rows and 2 non-empty columns (has ${rows.length} × ${keepCols.length})`,
    );
  }
  const rowTotals = rows.map((r) => r.reduce((s, x) => s + x, 0));
  const cols = keepCols.map((j) => colTotals[j] as number);
  const n = rowTotals.reduce((s, x) => s + x, 0);
  let statistic = 0;
  let minExpected = Infinity;
  rows.forEach((r, i) => {
    r.forEach((observed, j) => {
      const expected = ((rowTotals[i] as number) * (cols[j] as number)) / n;
      minExpected = Math.min(minExpected, expected);
      statistic += ((observed - expected) * (observed - expected)) / expected;
    });
  });
  const degreesOfFreedom = (rows.length - 1) * (keepCols.length - 1);
  return computed(test, {
    pValue: chiSquareUpperTail(statistic, degreesOfFreedom),
    statistic,
    degreesOfFreedom,
    n,
    minExpected,
    ...(minExpected < 5
      ? { warning: `expected count ${minExpected.toFixed(2)} < 5: the chi-square approximation is doubtful` }
      : {}),
  });
}
