import { normalQuantile } from './jstat.js';
import type { Interval, StatResult } from './result.js';
import { assertCount, computed, notEnoughData } from './result.js';
import type { TwoGroups } from './proportions.js';

/**
 * How strongly a rule or a segment goes with an outcome. `classification` scores a rule
 * ("did X ≥ k times in d days") against an outcome ("active in the outcome window");
 * `relativeRisk` and `oddsRatio` compare an outcome's rate in a segment (group A) with the rest
 * (group B), with 95% intervals on the log scale (Katz et al. 1978; Woolf 1955).
 */

/** Counts of a rule (predicted) against an outcome (actual). */
export interface ConfusionCounts {
  truePositives: number;
  falsePositives: number;
  falseNegatives: number;
  trueNegatives: number;
}

export interface Classification {
  n: number;
  /** P(outcome | rule): the rate among those the rule picks. */
  precision: number | null;
  /** P(rule | outcome). */
  recall: number | null;
  /** P(no outcome | not rule). */
  negativePredictiveValue: number | null;
  /** P(outcome) over everyone. */
  baseRate: number;
  /** precision / baseRate. */
  lift: number | null;
  /** P(outcome | rule) / P(outcome | not rule). */
  rateRatio: number | null;
  f1: number | null;
  /** Matthews correlation coefficient = phi coefficient of the 2×2 table, −1..1. */
  mcc: number | null;
}

/**
 * Precision, recall, F1, lift and the phi coefficient / MCC of a rule against an outcome (phi and
 * MCC are the same number for a 2×2 table; Amplitude Compass and Mixpanel Signal rank by it).
 * A measure whose denominator is 0 is null, e.g. MCC when the rule picks everyone.
 */
export function classification(c: ConfusionCounts): StatResult<Classification> {
  const test = 'confusion-matrix';
  const { truePositives: tp, falsePositives: fp, falseNegatives: fn, trueNegatives: tn } = c;
  assertCount('truePositives', tp);
  assertCount('falsePositives', fp);
  assertCount('falseNegatives', fn);
  assertCount('trueNegatives', tn);
  const n = tp + fp + fn + tn;
  if (n === 0) return notEnoughData(test, 'no observations (n = 0)');
  const ratio = (a: number, b: number): number | null => (b === 0 ? null : a / b);
  const precision = ratio(tp, tp + fp);
  const recall = ratio(tp, tp + fn);
  const baseRate = (tp + fn) / n;
  const rateWithout = ratio(fn, fn + tn);
  const mccDenominator = Math.sqrt((tp + fp) * (tp + fn) * (tn + fp) * (tn + fn));
  return computed(test, {
    n,
    precision,
    recall,
    negativePredictiveValue: ratio(tn, tn + fn),
    baseRate,
    lift: precision === null ? null : ratio(precision, baseRate),
    rateRatio: precision === null || rateWithout === null ? null : ratio(precision, rateWithout),
    f1: ratio(2 * tp, 2 * tp + fp + fn),
    mcc: mccDenominator === 0 ? null : (tp * tn - fp * fn) / mccDenominator,
  });
}

/** rate / baseline (e.g. a segment's churn rate over everyone's); null when the baseline is 0. */
export function lift(rate: number, baseline: number): number | null {
  return baseline === 0 ? null : rate / baseline;
}

// ---------------------------------------------------------------------------------------------

export interface RatioEstimate {
  estimate: number;
  interval: Interval;
  /** True when 0.5 was added to every cell because some cell was 0 (Haldane–Anscombe). */
  corrected: boolean;
}

function cells(g: TwoGroups): [number, number, number, number] {
  assertCount('successesA', g.successesA);
  assertCount('successesB', g.successesB);
  assertCount('totalA', g.totalA);
  assertCount('totalB', g.totalB);
  if (g.successesA > g.totalA || g.successesB > g.totalB) {
    throw new Error(`successes exceed their total: ${JSON.stringify(g)}`);
  }
  return [g.successesA, g.totalA - g.successesA, g.successesB, g.totalB - g.successesB];
}

function logInterval(logEstimate: number, se: number, level: number): Interval {
  const z = normalQuantile(1 - (1 - level) / 2);
  return { low: Math.exp(logEstimate - z * se), high: Math.exp(logEstimate + z * se), level };
}

/**
 * Relative risk: (successesA / totalA) / (successesB / totalB), with the Katz log interval
 * (SE of ln RR = √(1/a − 1/nA + 1/c − 1/nB)). When a rate's numerator is 0, 0.5 is added to
 * every cell so the estimate and its interval stay finite (`corrected`).
 */
export function relativeRisk(g: TwoGroups, level = 0.95): StatResult<RatioEstimate> {
  const test = 'relative-risk-katz-log';
  let [a, b, c, d] = cells(g);
  if (g.totalA === 0 || g.totalB === 0) {
    return notEnoughData(test, `a group is empty (n = ${g.totalA} and ${g.totalB})`);
  }
  if (a + c === 0) return notEnoughData(test, 'no successes in either group');
  const corrected = a === 0 || c === 0;
  if (corrected) [a, b, c, d] = [a + 0.5, b + 0.5, c + 0.5, d + 0.5];
  const nA = a + b;
  const nB = c + d;
  const logRr = Math.log(a / nA / (c / nB));
  const se = Math.sqrt(1 / a - 1 / nA + 1 / c - 1 / nB);
  return computed(test, { estimate: Math.exp(logRr), interval: logInterval(logRr, se, level), corrected });
}

/**
 * Odds ratio (a·d)/(b·c) with the Woolf log interval (SE = √(1/a + 1/b + 1/c + 1/d)); when any
 * cell is 0, 0.5 is added to every cell (Haldane 1956, Anscombe 1956) and `corrected` is set.
 * PostHog's funnel correlation uses the same idea with a prior count of 1.
 */
export function oddsRatio(g: TwoGroups, level = 0.95): StatResult<RatioEstimate> {
  const test = 'odds-ratio-haldane-woolf';
  let [a, b, c, d] = cells(g);
  if (g.totalA === 0 || g.totalB === 0) {
    return notEnoughData(test, `a group is empty (n = ${g.totalA} and ${g.totalB})`);
  }
  if (a + c === 0 || b + d === 0) {
    return notEnoughData(test, 'every observation has the same outcome');
  }
  const corrected = a === 0 || b === 0 || c === 0 || d === 0;
  if (corrected) [a, b, c, d] = [a + 0.5, b + 0.5, c + 0.5, d + 0.5];
  const logOr = Math.log((a * d) / (b * c));
  const se = Math.sqrt(1 / a + 1 / b + 1 / c + 1 / d);
  return computed(test, { estimate: Math.exp(logOr), interval: logInterval(logOr, se, level), corrected });
}
