import { normalTwoSidedP } from './jstat.js';
import type { StatResult } from './result.js';
import { computed, notEnoughData } from './result.js';

/**
 * Mann–Whitney U test (Wilcoxon rank-sum), two-sided: do values in group A tend to be larger or
 * smaller than in group B? For usage distributions (events per organization), which are skewed
 * and full of ties, where a t-test's normality does not hold.
 *
 * U_A counts the pairs (a, b) with a > b, ties counting ½. Like R's wilcox.test: exact when both
 * groups have fewer than 50 values and there are no ties, from the permutation distribution of U
 * computed by recursion (the largest value is A's with probability m/(m+n), and then beats all n
 * B values); otherwise the normal approximation with the tie-corrected variance and a continuity
 * correction of ½.
 */
export interface MannWhitneyResult {
  pValue: number;
  u: number;
  nA: number;
  nB: number;
  /** U_A / (nA · nB): P(a random A value > a random B value), ties ½ (the AUC). */
  probabilityOfSuperiority: number;
  /** 2 · probabilityOfSuperiority − 1, in −1..1. */
  rankBiserial: number;
  medianA: number;
  medianB: number;
  exact: boolean;
}

export const MANN_WHITNEY_MIN_PER_GROUP = 3;

function medianOf(sorted: number[]): number {
  const mid = (sorted.length - 1) / 2;
  return ((sorted[Math.floor(mid)] as number) + (sorted[Math.ceil(mid)] as number)) / 2;
}

/** P(U ≤ u) for all u = 0..m·n under the null, for group sizes m and n without ties. */
function exactUDistribution(m: number, n: number): Float64Array {
  // p[i][u] for i = 0..m and the current j; rows are rebuilt as j goes from 0 to n.
  let prev: Float64Array[] = Array.from({ length: m + 1 }, () => Float64Array.of(1));
  for (let j = 1; j <= n; j++) {
    const cur: Float64Array[] = [Float64Array.of(1)];
    for (let i = 1; i <= m; i++) {
      const row = new Float64Array(i * j + 1);
      const fromA = cur[i - 1] as Float64Array; // largest is A's: U = j + U(i−1, j)
      const fromB = prev[i] as Float64Array; // largest is B's: U = U(i, j−1)
      const wA = i / (i + j);
      const wB = j / (i + j);
      for (let u = 0; u < fromA.length; u++) row[u + j] = (row[u + j] as number) + wA * (fromA[u] as number);
      for (let u = 0; u < fromB.length; u++) row[u] = (row[u] as number) + wB * (fromB[u] as number);
      cur.push(row);
    }
    prev = cur;
  }
  const pmf = prev[m] as Float64Array;
  const cdf = new Float64Array(pmf.length);
  let acc = 0;
  pmf.forEach((p, u) => {
    acc += p;
    cdf[u] = acc;
  });
  return cdf;
}

export function mannWhitneyU(
  a: readonly number[],
  b: readonly number[],
  options: { minPerGroup?: number } = {},
): StatResult<MannWhitneyResult> {
  const minPerGroup = options.minPerGroup ?? MANN_WHITNEY_MIN_PER_GROUP;
  const nA = a.length;
  const nB = b.length;
  if (nA < minPerGroup || nB < minPerGroup) {
    return notEnoughData(
      'mann-whitney-u',
      `groups of ${nA} and ${nB} values, need at least ${minPerGroup} in each`,
    );
  }
  for (const v of [...a, ...b]) {
    if (!Number.isFinite(v)) throw new Error(`Mann–Whitney needs finite numbers, got ${v}`);
  }
  // Average ranks over the pooled sample; tie groups feed the variance correction.
  const pooled = [...a.map((v) => ({ v, inA: true })), ...b.map((v) => ({ v, inA: false }))].sort(
    (x, y) => x.v - y.v,
  );
  const N = nA + nB;
  let rankSumA = 0;
  let tieTerm = 0;
  for (let i = 0; i < N;) {
    let j = i;
    while (j + 1 < N && (pooled[j + 1] as { v: number }).v === (pooled[i] as { v: number }).v) j++;
    const rank = (i + j + 2) / 2;
    const t = j - i + 1;
    tieTerm += t * t * t - t;
    for (let k = i; k <= j; k++) if ((pooled[k] as { inA: boolean }).inA) rankSumA += rank;
    i = j + 1;
  }
  const u = rankSumA - (nA * (nA + 1)) / 2;
  const meanU = (nA * nB) / 2;
  const exact = nA < 50 && nB < 50 && tieTerm === 0;
  let pValue: number;
  if (exact) {
    const cdf = exactUDistribution(nA, nB);
    const lower = cdf[u] as number; // P(U ≤ u)
    const upper = 1 - (u >= 1 ? (cdf[u - 1] as number) : 0); // P(U ≥ u)
    pValue = Math.min(1, 2 * Math.min(lower, upper));
  } else {
    const variance = ((nA * nB) / 12) * (N + 1 - tieTerm / (N * (N - 1)));
    if (variance <= 0) {
      pValue = 1; // every value equal: no evidence of a difference
    } else {
      const d = u - meanU;
      const z = (d - Math.sign(d) * 0.5) / Math.sqrt(variance);
      pValue = normalTwoSidedP(z);
    }
  }
  const ps = u / (nA * nB);
  return computed(exact ? 'mann-whitney-u-exact' : 'mann-whitney-u-normal', {
    pValue,
    u,
    nA,
    nB,
    probabilityOfSuperiority: ps,
    rankBiserial: 2 * ps - 1,
    medianA: medianOf([...a].sort((x, y) => x - y)),
    medianB: medianOf([...b].sort((x, y) => x - y)),
    exact,
  });
}
