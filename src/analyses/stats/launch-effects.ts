/**
 * The effect of a launch without a control group (docs/analyses.md#launches-without-a-control):
 *
 * - `interruptedTimeSeries`: a daily metric's counterfactual from its own history. On the days
 *   before the launch, y = a + b·t + (day-of-week effects) + ε by weighted least squares (weights:
 *   the units each day averages over); projected over the days after it; the effect is the
 *   weighted mean gap between what happened and the projection. Its variance is
 *   σ²·(1/Σw + x̄ᵀ(XᵀWX)⁻¹x̄) — the noise of the days' mean plus the uncertainty of the fitted trend
 *   carried forward — times (1 + r)/(1 − r) for the residuals' lag-1 autocorrelation r (Box,
 *   Jenkins & Reinsel; an AR(1) error's mean varies that much more than white noise's). t with
 *   n − p degrees of freedom.
 * - `staggeredDid`: for a gradual rollout, each weekly cohort of newly exposed units against the
 *   units not yet exposed that week (Callaway & Sant'Anna 2021, "not-yet-treated" controls): the
 *   change in the metric from the week before exposure to the week after it, treated minus not yet
 *   treated, averaged over cohorts by their size.
 */
import {
  leastSquares,
  studentTQuantile,
  studentTTwoSidedP,
  normalQuantile,
  normalTwoSidedP,
} from './jstat.js';
import type { StatResult } from './result.js';
import { computed, notEnoughData } from './result.js';

export interface DayValue {
  /** Days since 1970-01-01 (UTC). */
  day: number;
  value: number;
  /**
   * How many units the day's value averages over (its active units): a day's variance is taken as
   * inversely proportional to it, so a weekend with a quarter of the users counts a quarter as much.
   * Default 1 (every day alike).
   */
  weight?: number;
}

export interface LaunchEffect {
  /** Mean gap per day (ITS) or per unit (DiD), in the metric's own unit. */
  absolute: number;
  absoluteInterval: [number, number];
  /** The gap relative to the counterfactual level: the lift. */
  relative: number;
  relativeInterval: [number, number];
  pValue: number;
  /** The counterfactual level the relative figures divide by. */
  counterfactual: number;
  observed: number;
}

export interface ItsResult extends LaunchEffect {
  preDays: number;
  postDays: number;
  degreesOfFreedom: number;
  residualSd: number;
  autocorrelation: number;
}

export const ITS_MIN_PRE_DAYS = 28;
export const ITS_MIN_POST_DAYS = 7;

/** Day of week of a day number, 0 = Sunday (1970-01-01 was a Thursday). */
function weekday(day: number): number {
  return (((day + 4) % 7) + 7) % 7;
}

/**
 * Intercept, trend in weeks (a better-scaled column than days), and a dummy for each weekday seen
 * in the history but the first (the baseline). A product nobody uses at weekends has no weekend
 * days at all: their dummies would never vary, so they are left out.
 */
function regressorsFor(weekdays: readonly number[]): (day: number, launchDay: number) => number[] {
  const dummies = weekdays.slice(1);
  return (day, launchDay) => {
    const w = weekday(day);
    return [1, (day - launchDay) / 7, ...dummies.map((k) => (w === k ? 1 : 0))];
  };
}

export function interruptedTimeSeries(
  points: readonly DayValue[],
  launchDay: number,
  level = 0.95,
): StatResult<ItsResult> {
  const test = 'interrupted-time-series-weekly-seasonality';
  const pre = points.filter((p) => p.day < launchDay).sort((a, b) => a.day - b.day);
  const seen = [...new Set(pre.map((p) => weekday(p.day)))].sort((a, b) => a - b);
  // A weekday the history never had cannot be projected: such days after the launch are left out.
  const post = points
    .filter((p) => p.day >= launchDay && seen.includes(weekday(p.day)))
    .sort((a, b) => a.day - b.day);
  const regressors = regressorsFor(seen);
  if (pre.length < ITS_MIN_PRE_DAYS) {
    return notEnoughData(test, `${pre.length} days of history before the launch, need ${ITS_MIN_PRE_DAYS}`);
  }
  if (post.length < ITS_MIN_POST_DAYS) {
    return notEnoughData(test, `${post.length} days after the launch, need ${ITS_MIN_POST_DAYS}`);
  }
  const weight = (p: DayValue) => (p.weight !== undefined && p.weight > 0 ? p.weight : 1);
  // Weighted least squares as ordinary least squares on rows scaled by √w.
  const X = pre.map((p) => regressors(p.day, launchDay).map((v) => v * Math.sqrt(weight(p))));
  const fit = leastSquares(
    X,
    pre.map((p) => p.value * Math.sqrt(weight(p))),
  );
  if (!fit) return notEnoughData(test, 'the history cannot be fitted (a regressor never varies)');
  const n = pre.length;
  const k = X[0]!.length;
  const dof = n - k;
  // Residuals of the scaled rows are √w·(y − ŷ): their squares sum to Σw(y − ŷ)².
  const rss = fit.residuals.reduce((s, r) => s + r * r, 0);
  const sigma2 = rss / dof;
  // Lag-1 autocorrelation of consecutive days' standardized residuals (gaps break the pairs).
  let num = 0;
  for (let i = 1; i < n; i++) {
    if (pre[i]!.day === pre[i - 1]!.day + 1) num += fit.residuals[i]! * fit.residuals[i - 1]!;
  }
  const r1 = rss > 0 ? Math.min(0.9, Math.max(0, num / rss)) : 0;
  const inflation = (1 + r1) / (1 - r1);
  const m = post.length;
  const wPost = post.reduce((s, p) => s + weight(p), 0);
  const xbar = new Array<number>(k).fill(0);
  let observed = 0;
  for (const p of post) {
    const w = weight(p) / wPost;
    regressors(p.day, launchDay).forEach((v, j) => (xbar[j]! += w * v));
    observed += w * p.value;
  }
  const predicted = xbar.reduce((s, v, j) => s + v * fit.beta[j]!, 0);
  let quad = 0;
  for (let i = 0; i < k; i++)
    for (let j = 0; j < k; j++) quad += xbar[i]! * fit.xtxInverse[i]![j]! * xbar[j]!;
  const se = Math.sqrt(inflation * sigma2 * (1 / wPost + quad));
  const absolute = observed - predicted;
  const t = studentTQuantile(1 - (1 - level) / 2, dof);
  const absoluteInterval: [number, number] = [absolute - t * se, absolute + t * se];
  if (!(predicted > 0)) {
    return notEnoughData(test, `the projected level is ${predicted.toPrecision(3)}: no relative effect`);
  }
  return computed(test, {
    absolute,
    absoluteInterval,
    relative: absolute / predicted,
    relativeInterval: [absoluteInterval[0] / predicted, absoluteInterval[1] / predicted] as [number, number],
    pValue: se > 0 ? studentTTwoSidedP(absolute / se, dof) : absolute === 0 ? 1 : 0,
    counterfactual: predicted,
    observed,
    preDays: n,
    postDays: m,
    degreesOfFreedom: dof,
    residualSd: Math.sqrt(sigma2),
    autocorrelation: r1,
  });
}

// ---- staggered difference-in-differences ------------------------------------------------------

/** Per cohort and group: units, Σ(post − pre), Σ(post − pre)², Σpost. */
export interface DidGroup {
  n: number;
  sumDelta: number;
  sumDelta2: number;
  sumPost: number;
}

export interface DidCohort {
  /** The week (since the launch) its units were first exposed. */
  week: number;
  treated: DidGroup;
  notYetTreated: DidGroup;
}

export interface DidResult extends LaunchEffect {
  cohorts: number;
  treatedUnits: number;
  /** Control units summed over cohorts (a unit can serve several cohorts). */
  controlUnits: number;
}

export const DID_MIN_UNITS = 30;

export function staggeredDid(cohorts: readonly DidCohort[], level = 0.95): StatResult<DidResult> {
  const test = 'staggered-difference-in-differences-not-yet-treated';
  const usable = cohorts.filter((c) => c.treated.n >= 2 && c.notYetTreated.n >= 2);
  const treatedUnits = usable.reduce((s, c) => s + c.treated.n, 0);
  const controlUnits = usable.reduce((s, c) => s + c.notYetTreated.n, 0);
  if (treatedUnits < DID_MIN_UNITS || controlUnits < DID_MIN_UNITS) {
    return notEnoughData(
      test,
      `${treatedUnits} newly exposed and ${controlUnits} not-yet-exposed units in usable weeks, need ${DID_MIN_UNITS} each`,
    );
  }
  let att = 0;
  let variance = 0;
  let treatedPost = 0;
  for (const c of usable) {
    const w = c.treated.n / treatedUnits;
    const mt = c.treated.sumDelta / c.treated.n;
    const mc = c.notYetTreated.sumDelta / c.notYetTreated.n;
    const vt = (c.treated.sumDelta2 - c.treated.n * mt * mt) / (c.treated.n - 1);
    const vc = (c.notYetTreated.sumDelta2 - c.notYetTreated.n * mc * mc) / (c.notYetTreated.n - 1);
    att += w * (mt - mc);
    variance += w * w * (Math.max(0, vt) / c.treated.n + Math.max(0, vc) / c.notYetTreated.n);
    treatedPost += c.treated.sumPost / treatedUnits;
  }
  const se = Math.sqrt(variance);
  const z = normalQuantile(1 - (1 - level) / 2);
  const absoluteInterval: [number, number] = [att - z * se, att + z * se];
  const counterfactual = treatedPost - att;
  if (!(counterfactual > 0)) {
    return notEnoughData(
      test,
      `the counterfactual level is ${counterfactual.toPrecision(3)}: no relative effect`,
    );
  }
  return computed(test, {
    absolute: att,
    absoluteInterval,
    relative: att / counterfactual,
    relativeInterval: [absoluteInterval[0] / counterfactual, absoluteInterval[1] / counterfactual] as [
      number,
      number,
    ],
    pValue: se > 0 ? normalTwoSidedP(att / se) : att === 0 ? 1 : 0,
    counterfactual,
    observed: treatedPost,
    cohorts: usable.length,
    treatedUnits,
    controlUnits,
  });
}
