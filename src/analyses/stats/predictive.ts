import { logBeta, logGamma, regularizedBeta } from './jstat.js';

/**
 * Predictive distributions for "is this month's value unusual given the months before?", one per
 * kind of data (docs/analyses.md, "Anomalies"):
 *
 * - counts (tickets, churned customers, sign-ups): the months before are Poisson with an unknown
 *   rate. With Jeffreys' prior the rate's posterior after n months totalling S is Gamma(S + ½, n),
 *   and the next month's count is then negative binomial with r = S + ½ and p = n / (n + 1): the
 *   Poisson's own noise plus the uncertainty of a rate estimated from n months (Gelman et al.,
 *   Bayesian Data Analysis, 3rd ed., §2.6). Its P(Y ≤ k) = I_p(r, k + 1), the regularized
 *   incomplete beta function.
 * - proportions with a known denominator (churned ÷ paying, activated ÷ new users): the months
 *   before pooled give a Beta(Σx + ½, Σ(n − x) + ½) posterior for the rate (Jeffreys), so the
 *   successes among this month's n trials are beta-binomial.
 *
 * Tails are exact (sums of the mass function in log space); two-sided p-values double the smaller
 * tail, capped at 1 (the usual convention for discrete tests).
 */

export interface Tails {
  /** P(Y ≤ y). */
  lower: number;
  /** P(Y ≥ y). */
  upper: number;
  /** min(1, 2 · min(lower, upper)). */
  pValue: number;
}

function tails(lower: number, upper: number): Tails {
  const lo = Math.min(1, Math.max(0, lower));
  const up = Math.min(1, Math.max(0, upper));
  return { lower: lo, upper: up, pValue: Math.min(1, 2 * Math.min(lo, up)) };
}

/** P(Y ≤ k) for Y negative binomial: failures before the r-th success, success probability p. */
export function negativeBinomialCdf(k: number, r: number, p: number): number {
  if (k < 0) return 0;
  return regularizedBeta(p, r, Math.floor(k) + 1);
}

export interface NegativeBinomial {
  r: number;
  p: number;
  mean: number;
  variance: number;
}

/**
 * The next month's count after `counts` (non-negative integers), Poisson–gamma (see above). With
 * `exposure` < 1, the count over that share of a month (an unfinished month's first days): the
 * rate's posterior is the same, the count's Poisson mean scales with the exposure, so p = n / (n + e).
 */
export function poissonGammaPredictive(counts: readonly number[], exposure = 1): NegativeBinomial {
  const n = counts.length;
  if (n === 0) throw new Error('poissonGammaPredictive needs at least one month');
  if (!(exposure > 0)) throw new Error(`poissonGammaPredictive: exposure must be positive, got ${exposure}`);
  const total = counts.reduce((s, c) => s + c, 0);
  const r = total + 0.5;
  const p = n / (n + exposure);
  return { r, p, mean: (r * (1 - p)) / p, variance: (r * (1 - p)) / (p * p) };
}

/** Tails of an observed count y under the negative binomial. */
export function negativeBinomialTails(y: number, nb: NegativeBinomial): Tails {
  const k = Math.round(y);
  return tails(negativeBinomialCdf(k, nb.r, nb.p), 1 - negativeBinomialCdf(k - 1, nb.r, nb.p));
}

/** The smallest k with P(Y ≤ k) ≥ q. */
export function negativeBinomialQuantile(q: number, nb: NegativeBinomial): number {
  let hi = Math.max(1, Math.ceil(nb.mean + 10 * Math.sqrt(nb.variance)));
  while (negativeBinomialCdf(hi, nb.r, nb.p) < q) hi *= 2;
  let lo = 0;
  if (negativeBinomialCdf(0, nb.r, nb.p) >= q) return 0;
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (negativeBinomialCdf(mid, nb.r, nb.p) >= q) hi = mid;
    else lo = mid;
  }
  return hi;
}

export interface BetaBinomial {
  n: number;
  a: number;
  b: number;
  mean: number;
  variance: number;
}

/** The successes among `trials` this month after months of (successes, trials), Jeffreys prior. */
export function betaBinomialPredictive(
  months: readonly { successes: number; trials: number }[],
  trials: number,
): BetaBinomial {
  const x = months.reduce((s, m) => s + m.successes, 0);
  const t = months.reduce((s, m) => s + m.trials, 0);
  const a = x + 0.5;
  const b = t - x + 0.5;
  const n = trials;
  const mean = (n * a) / (a + b);
  const variance = (n * a * b * (a + b + n)) / ((a + b) ** 2 * (a + b + 1));
  return { n, a, b, mean, variance };
}

function betaBinomialLogPmf(k: number, bb: BetaBinomial): number {
  const { n, a, b } = bb;
  return logGamma(n + 1) - logGamma(k + 1) - logGamma(n - k + 1) + logBeta(k + a, n - k + b) - logBeta(a, b);
}

/** P(X ≤ k), summed exactly (n is at most a few hundred thousand trials: one pass). */
export function betaBinomialCdf(k: number, bb: BetaBinomial): number {
  if (k < 0) return 0;
  if (k >= bb.n) return 1;
  // Sum the shorter side.
  if (k <= bb.mean) {
    let s = 0;
    for (let i = 0; i <= k; i++) s += Math.exp(betaBinomialLogPmf(i, bb));
    return Math.min(1, s);
  }
  let s = 0;
  for (let i = Math.floor(k) + 1; i <= bb.n; i++) s += Math.exp(betaBinomialLogPmf(i, bb));
  return Math.max(0, 1 - s);
}

export function betaBinomialTails(x: number, bb: BetaBinomial): Tails {
  const k = Math.round(x);
  // Both tails summed directly on their own side keeps small tail probabilities exact.
  let lower = 0;
  for (let i = 0; i <= k; i++) lower += Math.exp(betaBinomialLogPmf(i, bb));
  let upper = 0;
  for (let i = k; i <= bb.n; i++) upper += Math.exp(betaBinomialLogPmf(i, bb));
  return tails(lower, upper);
}

export function betaBinomialQuantile(q: number, bb: BetaBinomial): number {
  let s = 0;
  for (let i = 0; i <= bb.n; i++) {
    s += Math.exp(betaBinomialLogPmf(i, bb));
    if (s >= q) return i;
  }
  return bb.n;
}

/** P(X ≥ k) for X ~ Binomial(n, p): I_p(k, n − k + 1); 1 for k ≤ 0. */
export function binomialUpperTail(k: number, n: number, p: number): number {
  if (k <= 0) return 1;
  if (k > n) return 0;
  return regularizedBeta(p, k, n - k + 1);
}

/** P(X ≤ k) for X ~ Binomial(n, p). */
export function binomialLowerTail(k: number, n: number, p: number): number {
  if (k >= n) return 1;
  if (k < 0) return 0;
  return 1 - binomialUpperTail(k + 1, n, p);
}
