import { createRequire } from 'node:module';

/**
 * The distributions Sextant's tests use, from jStat (MIT, https://github.com/jstat/jstat). jStat
 * ships no TypeScript types, so this module declares exactly the functions we call and nothing
 * else; every CDF, quantile and mass function in src/analyses/stats comes through here.
 */
interface JStat {
  normal: {
    cdf(x: number, mean: number, sd: number): number;
    inv(p: number, mean: number, sd: number): number;
  };
  chisquare: { cdf(x: number, dof: number): number };
  studentt: { cdf(x: number, dof: number): number; inv(p: number, dof: number): number };
  /** Regularized incomplete beta I_x(a, b). */
  ibeta(x: number, a: number, b: number): number;
  gammaln(x: number): number;
  beta: {
    cdf(x: number, alpha: number, beta: number): number;
    inv(p: number, alpha: number, beta: number): number;
    sample(alpha: number, beta: number): number;
  };
  gamma: {
    cdf(x: number, shape: number, scale: number): number;
    inv(p: number, shape: number, scale: number): number;
    sample(shape: number, scale: number): number;
  };
  betaln(a: number, b: number): number;
  inv(a: number[][]): number[][];
  multiply(a: number[][], b: number[][]): number[][];
  transpose(a: number[][]): number[][];
  randn(): number;
  /** Replaces the uniform source every jStat sampler draws from (Math.random by default). */
  setRandom(fn: () => number): void;
  /** `pdf(k, N, m, n)`: P(k successes in n draws without replacement from N holding m successes). */
  hypgeom: { pdf(k: number, N: number, m: number, n: number): number };
}

const require = createRequire(import.meta.url);
const jStat = require('jstat') as JStat;

/** P(Z ≤ z) for a standard normal Z. */
export function normalCdf(z: number): number {
  return jStat.normal.cdf(z, 0, 1);
}

/** The z with P(Z ≤ z) = p for a standard normal Z (1.959964 for p = 0.975). */
export function normalQuantile(p: number): number {
  return jStat.normal.inv(p, 0, 1);
}

/** Two-sided p-value of a standard normal statistic: P(|Z| ≥ |z|). */
export function normalTwoSidedP(z: number): number {
  // The normal tail underflows to 0 only beyond |z| ≈ 38; no test gives p = 0, so report the bound.
  return Math.min(1, Math.max(1e-300, 2 * normalCdf(-Math.abs(z))));
}

/**
 * The smallest chi-square p-value reported: the tail is computed as 1 − cdf, which loses
 * everything below double precision and would read 0; a reported 1e-16 reads "p < 1e-16".
 */
export const P_FLOOR = 1e-16;

/** Upper tail of the chi-square distribution: P(X ≥ x) with `dof` degrees of freedom. */
export function chiSquareUpperTail(x: number, dof: number): number {
  return Math.max(P_FLOOR, Math.min(1, 1 - jStat.chisquare.cdf(x, dof)));
}

/** Two-sided p-value of a Student t statistic with `dof` degrees of freedom: P(|T| ≥ |t|). */
export function studentTTwoSidedP(t: number, dof: number): number {
  return Math.min(1, 2 * jStat.studentt.cdf(-Math.abs(t), dof));
}

/** P(K = k) for the hypergeometric distribution: n draws from N items of which m are successes. */
export function hypergeometricPmf(k: number, N: number, m: number, n: number): number {
  return jStat.hypgeom.pdf(k, N, m, n);
}

/** The t with P(T ≤ t) = p for Student's t with `dof` degrees of freedom. */
export function studentTQuantile(p: number, dof: number): number {
  return jStat.studentt.inv(p, dof);
}

/** Regularized incomplete beta function I_x(a, b) (the beta distribution's CDF at x). */
export function regularizedBeta(x: number, a: number, b: number): number {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  return jStat.ibeta(x, a, b);
}

/** P(X ≤ x) for X ~ Beta(alpha, beta). */
export function betaCdf(x: number, alpha: number, beta: number): number {
  return jStat.beta.cdf(x, alpha, beta);
}

/** The x with P(X ≤ x) = p for X ~ Beta(alpha, beta). */
export function betaQuantile(p: number, alpha: number, beta: number): number {
  return jStat.beta.inv(p, alpha, beta);
}

/** P(X ≤ x) for X ~ Gamma(shape, rate) (jStat takes the scale, 1 / rate). */
export function gammaCdf(x: number, shape: number, rate: number): number {
  return jStat.gamma.cdf(x, shape, 1 / rate);
}

/** The x with P(X ≤ x) = p for X ~ Gamma(shape, rate). */
export function gammaQuantile(p: number, shape: number, rate: number): number {
  return jStat.gamma.inv(p, shape, 1 / rate);
}

/** ln B(a, b), the log of the beta function. */
export function logBeta(a: number, b: number): number {
  return jStat.betaln(a, b);
}

/** Draws from jStat's samplers (Marsaglia–Tsang gamma, beta as a gamma ratio, Leva's normal). */
export interface Sampler {
  beta(alpha: number, beta: number): number;
  /** Gamma with `shape` and `rate` (mean shape / rate). */
  gamma(shape: number, rate: number): number;
  normal(mean: number, sd: number): number;
}

/**
 * Runs `fn` with jStat's samplers drawing from `uniform` instead of Math.random, so a simulation
 * is the same on every run. jStat keeps its uniform source in a module global; `fn` is synchronous,
 * so nothing else can draw while it runs, and Math.random is put back afterwards.
 */
export function withSampler<T>(uniform: () => number, fn: (s: Sampler) => T): T {
  jStat.setRandom(uniform);
  try {
    return fn({
      beta: (a, b) => jStat.beta.sample(a, b),
      gamma: (shape, rate) => jStat.gamma.sample(shape, 1 / rate),
      normal: (mean, sd) => mean + sd * jStat.randn(),
    });
  } finally {
    jStat.setRandom(Math.random);
  }
}

/**
 * Ordinary least squares of y on the columns of X (each row one observation): coefficients,
 * residuals and (XᵀX)⁻¹ for prediction variances, through jStat's matrix routines. Null when XᵀX
 * is singular (a regressor that never varies).
 */
export function leastSquares(
  X: readonly (readonly number[])[],
  y: readonly number[],
): { beta: number[]; residuals: number[]; xtxInverse: number[][] } | null {
  const x = X.map((r) => [...r]);
  const xt = jStat.transpose(x);
  const inverse = jStat.inv(jStat.multiply(xt, x));
  if (inverse.some((r) => r.some((v) => !Number.isFinite(v)))) return null;
  const beta = jStat
    .multiply(
      inverse,
      jStat.multiply(
        xt,
        y.map((v) => [v]),
      ),
    )
    .map((r) => r[0]!);
  const residuals = x.map((r, i) => y[i]! - r.reduce((s, v, j) => s + v * beta[j]!, 0));
  return { beta, residuals, xtxInverse: inverse };
}

/** ln Γ(x). */
export function logGamma(x: number): number {
  return jStat.gammaln(x);
}
