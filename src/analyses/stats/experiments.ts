/**
 * The statistics of an A/B experiment (docs/analyses.md#experiments), from each arm's sufficient
 * statistics — units, Σy, Σy² and, for CUPED, Σx, Σx², Σxy of each unit's pre-exposure value x —
 * which the store computes set-based, so nothing here reads a row per unit.
 *
 * - Bayesian, PostHog's experiment models: a conversion rate has a Beta(1 + conversions,
 *   1 + non-conversions) posterior, a count per unit a Gamma(1 + Σy, rate 1 + n) posterior
 *   (Gamma–Poisson), a mean per unit a normal posterior N(ȳ, s²/n). The chance to beat control and
 *   the credible interval of the relative lift are read from seeded posterior draws, so the same
 *   data gives the same numbers.
 * - Frequentist beside it: the relative lift ȳ_v / ȳ_c − 1 with a delta-method standard error on the
 *   log scale, a Welch t interval and the two-sided p-value of the same statistic, so "p < 0.05"
 *   and "the 95% interval excludes 0" always agree.
 * - CUPED (Deng, Xu, Kohavi & Walker 2013): ȳ_adj = ȳ − θ(x̄ − x̄_all), θ = Cov(x, y) / Var(x) pooled
 *   over every arm; an arm's variance becomes s²_y + θ²s²_x − 2θ·s_xy. With CUPED applied both the
 *   frequentist and the Bayesian results use the adjusted means (the Bayesian one through the normal
 *   model, as PostHog does once it adjusts: a Beta or Gamma posterior has no place for θ).
 * - Sample ratio mismatch: Pearson's chi-square goodness of fit of the exposed units per arm against
 *   the planned split, flagged at p < 0.001 (the threshold GrowthBook and Optimizely use: an SRM
 *   check runs on every experiment, so a 5% threshold would cry wolf once in twenty).
 */
import { quantiles } from './descriptive.js';
import { chiSquareUpperTail, studentTQuantile, studentTTwoSidedP, withSampler } from './jstat.js';
import { prng } from './random.js';
import type { StatResult } from './result.js';
import { computed, notEnoughData } from './result.js';

/** How a per-unit metric is modelled: a 0/1 conversion, a count of events, or any number. */
export type MetricModel = 'conversion' | 'count' | 'mean';

/** One arm's sufficient statistics: y is the metric after exposure, x the same before it. */
export interface ArmStats {
  n: number;
  sumY: number;
  sumY2: number;
  /** Pre-exposure sums for CUPED; absent when the metric has no pre-period. */
  sumX?: number;
  sumX2?: number;
  sumXY?: number;
}

export interface Moments {
  n: number;
  mean: number;
  /** Sample variance of one unit's value (n − 1 denominator); 0 for n < 2. */
  variance: number;
}

export function moments(n: number, sum: number, sumSquares: number): Moments {
  if (n <= 0) return { n: 0, mean: 0, variance: 0 };
  const mean = sum / n;
  const variance = n < 2 ? 0 : Math.max(0, (sumSquares - (sum * sum) / n) / (n - 1));
  return { n, mean, variance };
}

// ---- CUPED ------------------------------------------------------------------------------------

export interface CupedResult {
  /** The regression coefficient of y on x, pooled over every arm; 0 when x does not vary. */
  theta: number;
  /** Each arm's adjusted mean and per-unit variance, in the order given. */
  arms: Moments[];
  /** 1 − adjusted variance ÷ raw variance, pooled: ≈ ρ², the share of variance the pre-period explains. */
  varianceReduction: number;
  /** Pearson correlation of x and y, pooled. */
  correlation: number;
}

/**
 * CUPED adjustment (Deng et al. 2013, eq. 4): θ from the pooled covariance, each arm's mean shifted
 * by θ times its pre-period mean's distance from the pooled pre-period mean. Randomization makes
 * that distance zero in expectation, so the estimate stays unbiased while its variance falls by the
 * share of y's variance that x explains. Null when an arm lacks pre-exposure sums.
 */
export function cupedAdjust(arms: readonly ArmStats[]): CupedResult | null {
  if (arms.some((a) => a.sumX === undefined || a.sumX2 === undefined || a.sumXY === undefined)) return null;
  const n = arms.reduce((s, a) => s + a.n, 0);
  if (n < 3) return null;
  const sx = arms.reduce((s, a) => s + a.sumX!, 0);
  const sx2 = arms.reduce((s, a) => s + a.sumX2!, 0);
  const sy = arms.reduce((s, a) => s + a.sumY, 0);
  const sy2 = arms.reduce((s, a) => s + a.sumY2, 0);
  const sxy = arms.reduce((s, a) => s + a.sumXY!, 0);
  const varX = (sx2 - (sx * sx) / n) / (n - 1);
  const varY = (sy2 - (sy * sy) / n) / (n - 1);
  const cov = (sxy - (sx * sy) / n) / (n - 1);
  // A pre-period that does not vary (everyone new, or everyone 0) explains nothing.
  const theta = varX > 1e-12 * Math.max(1, varY) ? cov / varX : 0;
  const meanXAll = sx / n;
  let rawVar = 0;
  let adjVar = 0;
  const adjusted = arms.map((a) => {
    const y = moments(a.n, a.sumY, a.sumY2);
    const x = moments(a.n, a.sumX!, a.sumX2!);
    const covA = a.n < 2 ? 0 : (a.sumXY! - (a.sumX! * a.sumY) / a.n) / (a.n - 1);
    const variance = Math.max(0, y.variance + theta * theta * x.variance - 2 * theta * covA);
    rawVar += y.variance * (a.n - 1);
    adjVar += variance * (a.n - 1);
    return { n: a.n, mean: y.mean - theta * (x.mean - meanXAll), variance };
  });
  return {
    theta,
    arms: adjusted,
    varianceReduction: rawVar > 0 ? 1 - adjVar / rawVar : 0,
    correlation: varX > 0 && varY > 0 ? cov / Math.sqrt(varX * varY) : 0,
  };
}

// ---- frequentist: relative lift ---------------------------------------------------------------

export interface LiftEstimate {
  /** mean_v / mean_c − 1. */
  lift: number;
  /** The standard error on the scale the interval is built on (`scale`). */
  standardError: number;
  /** `log`: of ln(mean_v / mean_c); `linear`: of the lift itself. */
  scale: 'log' | 'linear';
  interval: [number, number];
  pValue: number;
  degreesOfFreedom: number;
}

/**
 * The relative lift of `variant` over `control` with a Welch t interval and the two-sided p-value
 * of H0: lift = 0, by the delta method for a ratio of two independent means.
 *
 * On the log scale when both means are positive: Var(ln ȳ_v − ln ȳ_c) ≈ Var(ȳ_v)/ȳ_v² +
 * Var(ȳ_c)/ȳ_c², and the interval exp(ln r ± t·se) − 1 (Katz et al. 1978, the relative-risk
 * interval). A ratio is skewed; on the log scale it is nearly symmetric, so this interval keeps its
 * coverage and its p-value agrees with the test of the difference (the linear delta method, which
 * PostHog's frequentist engine uses, loses power as the lift grows: 100/1,000 against 130/1,000
 * gives p = 0.066 there against 0.036 here and 0.035 for the two-proportion z-test). When a mean is
 * not positive (a CUPED-adjusted mean can be), the linear delta method:
 * Var(ȳ_v)/ȳ_c² + ȳ_v²·Var(ȳ_c)/ȳ_c⁴. Degrees of freedom by Welch–Satterthwaite on the two terms.
 */
export function relativeLift(control: Moments, variant: Moments, level = 0.95): StatResult<LiftEstimate> {
  const test = 'welch-t-relative-lift-delta-method';
  if (control.n < 2 || variant.n < 2) {
    return notEnoughData(test, `an arm has fewer than 2 units (${control.n} and ${variant.n})`);
  }
  if (control.mean <= 0) {
    return notEnoughData(test, `the control's mean is ${control.mean}: a relative lift needs it above 0`);
  }
  const vc = control.variance / control.n;
  const vv = variant.variance / variant.n;
  if (vc === 0 && vv === 0) return notEnoughData(test, 'the metric does not vary within either arm');
  const m = control.mean;
  const lift = variant.mean / m - 1;
  const log = variant.mean > 0;
  // The two variance terms, each from one arm (for Welch–Satterthwaite).
  const a = log ? vv / (variant.mean * variant.mean) : vv / (m * m);
  const b = log ? vc / (m * m) : (variant.mean * variant.mean * vc) / m ** 4;
  const se = Math.sqrt(a + b);
  const dof = (a + b) ** 2 / ((a * a) / (variant.n - 1) + (b * b) / (control.n - 1));
  const t = studentTQuantile(1 - (1 - level) / 2, dof);
  const centre = log ? Math.log(variant.mean / m) : lift;
  const interval: [number, number] = log
    ? [Math.exp(centre - t * se) - 1, Math.exp(centre + t * se) - 1]
    : [lift - t * se, lift + t * se];
  return computed(test, {
    lift,
    standardError: se,
    scale: log ? ('log' as const) : ('linear' as const),
    interval,
    pValue: se === 0 ? (centre === 0 ? 1 : 0) : studentTTwoSidedP(centre / se, dof),
    degreesOfFreedom: dof,
  });
}

// ---- Bayesian: posterior draws ----------------------------------------------------------------

/** PostHog's posterior draws per variant are 10,000; twice that halves the Monte Carlo variance. */
export const POSTERIOR_DRAWS = 20_000;
/** The default seed of posterior draws: any fixed number makes results reproducible. */
export const POSTERIOR_SEED = 20_180_521;

/** A posterior of one arm's metric, the model's parameters after a flat prior. */
export type Posterior =
  | { model: 'beta'; alpha: number; beta: number }
  | { model: 'gamma'; shape: number; rate: number }
  | { model: 'normal'; mean: number; sd: number };

/** The posterior PostHog's models give an arm (priors: Beta(1, 1), Gamma(1, 1), flat normal). */
export function posteriorOf(model: MetricModel, m: Moments, sumY = m.mean * m.n): Posterior {
  if (model === 'conversion') return { model: 'beta', alpha: 1 + sumY, beta: 1 + m.n - sumY };
  if (model === 'count') return { model: 'gamma', shape: 1 + sumY, rate: 1 + m.n };
  return { model: 'normal', mean: m.mean, sd: Math.sqrt(m.variance / Math.max(1, m.n)) };
}

export interface BayesianComparison {
  /** P(variant's metric > control's) under the posteriors. */
  chanceToBeatControl: number;
  /** Central credible interval of the relative lift mean_v / mean_c − 1. */
  credibleInterval: [number, number];
  /** Posterior median of the lift. */
  medianLift: number;
  draws: number;
}

export interface PosteriorOptions {
  draws?: number;
  seed?: number;
  level?: number;
}

/**
 * Draws every arm's posterior with one seeded stream (arm 0 is the control) and compares each
 * other arm with it. Draws where the control's value is not positive have no relative lift and
 * count neither way in the interval (they are vanishingly rare with a Beta or Gamma posterior).
 */
export function comparePosteriors(
  posteriors: readonly Posterior[],
  opts: PosteriorOptions = {},
): BayesianComparison[] {
  const draws = opts.draws ?? POSTERIOR_DRAWS;
  const level = opts.level ?? 0.95;
  const samples = withSampler(prng(opts.seed ?? POSTERIOR_SEED), (s) =>
    posteriors.map((p) => {
      const out = new Float64Array(draws);
      for (let i = 0; i < draws; i++) {
        out[i] =
          p.model === 'beta'
            ? s.beta(p.alpha, p.beta)
            : p.model === 'gamma'
              ? s.gamma(p.shape, p.rate)
              : s.normal(p.mean, p.sd);
      }
      return out;
    }),
  );
  const control = samples[0]!;
  return samples.slice(1).map((v) => {
    let wins = 0;
    const lifts: number[] = [];
    for (let i = 0; i < draws; i++) {
      const c = control[i]!;
      if (v[i]! > c) wins++;
      if (c > 0) lifts.push(v[i]! / c - 1);
    }
    const [lo, mid, hi] = quantiles(lifts, [(1 - level) / 2, 0.5, 1 - (1 - level) / 2]);
    return {
      chanceToBeatControl: wins / draws,
      credibleInterval: [lo ?? NaN, hi ?? NaN] as [number, number],
      medianLift: mid ?? NaN,
      draws,
    };
  });
}

// ---- sample ratio mismatch ----------------------------------------------------------------------

/** GrowthBook's and Optimizely's SRM threshold. */
export const SRM_P_THRESHOLD = 0.001;

export interface SrmResult {
  pValue: number;
  statistic: number;
  degreesOfFreedom: number;
  flagged: boolean;
  observed: number[];
  expected: number[];
}

/**
 * Sample ratio mismatch: Pearson's chi-square goodness-of-fit test of the units exposed per arm
 * against the planned shares (equal when not given). A broken split means assignment or logging
 * is biased, and every comparison of the arms is suspect.
 */
export function sampleRatioMismatch(
  observed: readonly number[],
  shares?: readonly number[],
): StatResult<SrmResult> {
  const test = 'chi-square-goodness-of-fit';
  const k = observed.length;
  const n = observed.reduce((s, x) => s + x, 0);
  if (k < 2) return notEnoughData(test, 'needs at least two arms');
  if (n === 0) return notEnoughData(test, 'no units exposed');
  const weights = shares ?? observed.map(() => 1);
  if (weights.length !== k || weights.some((w) => !(w > 0))) {
    throw new Error(`SRM needs one positive share per arm, got ${JSON.stringify(weights)}`);
  }
  const total = weights.reduce((s, w) => s + w, 0);
  const expected = weights.map((w) => (n * w) / total);
  let statistic = 0;
  observed.forEach((o, i) => {
    const e = expected[i]!;
    statistic += ((o - e) * (o - e)) / e;
  });
  const pValue = chiSquareUpperTail(statistic, k - 1);
  return computed(test, {
    pValue,
    statistic,
    degreesOfFreedom: k - 1,
    flagged: pValue < SRM_P_THRESHOLD,
    observed: [...observed],
    expected,
  });
}

// ---- one experiment, every arm ------------------------------------------------------------------

/** PostHog's FF_DISTRIBUTION_THRESHOLD: below 100 exposed units in an arm it reports nothing. */
export const MIN_UNITS_PER_ARM = 100;

export interface ArmInput extends ArmStats {
  key: string;
}

export interface ArmResult {
  key: string;
  exposed: number;
  /** The raw mean per exposed unit (the conversion rate for a conversion). */
  value: number;
  /** The CUPED-adjusted mean, when CUPED was applied. */
  adjustedValue: number | null;
  /** Relative to the control; null for the control itself and when there is not enough data. */
  lift: number | null;
  liftInterval: [number, number] | null;
  pValue: number | null;
  chanceToBeatControl: number | null;
  credibleInterval: [number, number] | null;
  /** Why this arm has no comparison, in words; null when it has one. */
  notEnoughData: string | null;
}

export interface ExperimentAnalysis {
  /** The Bayesian model and the frequentist test, in words. */
  method: string;
  control: string;
  cuped: { theta: number; varianceReduction: number; correlation: number } | null;
  srm: StatResult<SrmResult>;
  arms: ArmResult[];
  level: number;
}

export interface AnalyzeOptions extends PosteriorOptions {
  minUnitsPerArm?: number;
  /** Apply CUPED when every arm has pre-exposure sums (default true). */
  cuped?: boolean;
  /** Planned share of each arm, in `arms` order; equal when absent. */
  shares?: readonly number[];
}

const MODEL_NAMES: Record<MetricModel, string> = {
  conversion: 'Beta-binomial',
  count: 'Gamma-Poisson',
  mean: 'normal',
};

/**
 * Every arm against the control: raw values, the frequentist lift (CUPED-adjusted when it applies),
 * the Bayesian chance to beat control and credible interval of the lift, and the SRM check over
 * all arms. An arm below `minUnitsPerArm` (or a control without a positive mean) gets a reason
 * instead of numbers.
 */
export function analyzeExperiment(
  model: MetricModel,
  arms: readonly ArmInput[],
  controlKey: string,
  opts: AnalyzeOptions = {},
): ExperimentAnalysis {
  const level = opts.level ?? 0.95;
  const min = opts.minUnitsPerArm ?? MIN_UNITS_PER_ARM;
  const ci = arms.findIndex((a) => a.key === controlKey);
  if (ci < 0) throw new Error(`no arm is the control '${controlKey}'`);
  const ordered = [arms[ci]!, ...arms.filter((_, i) => i !== ci)];
  const raw = ordered.map((a) => moments(a.n, a.sumY, a.sumY2));
  const cuped = opts.cuped === false ? null : cupedAdjust(ordered);
  const applied = cuped !== null && cuped.theta !== 0 ? cuped : null;
  const stats = applied ? applied.arms : raw;
  const control = stats[0]!;

  const reasons = ordered.map((a, i) => {
    if (a.n < min) return `${a.n} units exposed to '${a.key}', fewer than ${min}`;
    if (i > 0 && (raw[0]!.n < min || !(control.mean > 0))) {
      return raw[0]!.n < min
        ? `the control '${controlKey}' has ${raw[0]!.n} units, fewer than ${min}`
        : `the control '${controlKey}' has a mean of ${control.mean}: no relative lift`;
    }
    return null;
  });
  const posteriors = stats.map((m, i) =>
    applied ? posteriorOf('mean', m) : posteriorOf(model, m, ordered[i]!.sumY),
  );
  const anyComparable = reasons[0] === null && reasons.slice(1).some((r) => r === null);
  const bayes = anyComparable ? comparePosteriors(posteriors, opts) : [];

  const results: ArmResult[] = ordered.map((a, i) => {
    const base = {
      key: a.key,
      exposed: a.n,
      value: raw[i]!.mean,
      adjustedValue: applied ? stats[i]!.mean : null,
    };
    const empty = {
      lift: null,
      liftInterval: null,
      pValue: null,
      chanceToBeatControl: null,
      credibleInterval: null,
    };
    if (i === 0) return { ...base, ...empty, notEnoughData: reasons[0] ?? null };
    if (reasons[i] !== null) return { ...base, ...empty, notEnoughData: reasons[i]! };
    const f = relativeLift(control, stats[i]!, level);
    if (f.notEnoughData) return { ...base, ...empty, notEnoughData: f.reason };
    const b = bayes[i - 1]!;
    return {
      ...base,
      lift: f.lift,
      liftInterval: f.interval,
      pValue: f.pValue,
      chanceToBeatControl: b.chanceToBeatControl,
      credibleInterval: b.credibleInterval,
      notEnoughData: null,
    };
  });
  const shares = opts.shares ? [opts.shares[ci]!, ...opts.shares.filter((_, i) => i !== ci)] : undefined;
  const bayesName = applied ? 'normal posterior of CUPED-adjusted means' : `${MODEL_NAMES[model]} posterior`;
  return {
    method:
      `${bayesName} (${opts.draws ?? POSTERIOR_DRAWS} seeded draws) for the chance to beat control and ` +
      `the credible interval; Welch t on the log ratio of means (delta method)${applied ? ', CUPED-adjusted' : ''} ` +
      `for the ${Math.round(level * 100)}% interval and p-value`,
    control: controlKey,
    cuped: applied
      ? {
          theta: applied.theta,
          varianceReduction: applied.varianceReduction,
          correlation: applied.correlation,
        }
      : null,
    srm: sampleRatioMismatch(
      ordered.map((a) => a.n),
      shares,
    ),
    arms: results,
    level,
  };
}
