import { regularizedBeta } from '../analyses/stats/jstat.js';
import { benjaminiHochberg } from '../analyses/stats/multiple-comparisons.js';
import { NPS_MIN_RESPONSES } from '../analyses/stats/nps.js';
import { compareProportions } from '../analyses/stats/proportions.js';
import { normalTwoSidedP } from '../analyses/stats/jstat.js';
import type { Month } from '../domain/month.js';
import type { Anomaly, DeepDive, Finding, Highlight, Metric } from '../domain/review.js';
import { checkMonth, formatForSentence, npsParts, proportionParts } from './anomalies.js';
import { compareText } from '../domain/order.js';

/**
 * Highlights: the few things most worth the meeting's time, ranked on one scale across anomalies,
 * month-on-month metric moves and deep-dive findings. Weighting (docs/analyses.md, "Highlights"):
 *
 *   anomaly      4 + 2·min(score/threshold − 1, 1.5) + money + headline
 *   metric move  1.5 + 0.5·min(|change| / bar, 3) + money + headline   (only moves past the bar)
 *   dive finding 2.5 + significance + effect + money                    (only if q or p ≤ 0.05)
 *
 *   money        2·min(|amount| / current MRR / 5%, 1): up to +2 when 5% of MRR is at stake
 *   headline     +1 for MRR, churn and active-usage metrics
 *   significance 3·min(−log₁₀ q, 6)/6 (q-value, else p-value); 1 for a finding without a test
 *   effect       1.5·min(|ln lift|, ln 4)/ln 4 (lift, relative risk or odds ratio in the evidence)
 *
 * A metric move must also pass a month-on-month test fitted to its data, Benjamini–Hochberg across
 * the moves tested, q ≤ 0.05 (`moveTest`): two counts, the exact conditional binomial test (a
 * Poisson rate comparison); a rate with its counts, the two-proportion test; NPS, the two-sample
 * z-test with at least NPS_MIN_RESPONSES answers in each month (so one answer of 0 never makes
 * "NPS −100" a highlight); money, durations and rates without counts, the anomaly detector's test
 * of the month against the trailing months (`checkMonth`), since they have no sampling model.
 *
 * So a clear anomaly (4–7) outranks a mere move (1.5–5), a strongly significant finding with money
 * behind it reaches an anomaly's weight, and nothing non-significant is shown. A dive finding about
 * a metric that is already highlighted (its evidence `metricIds`, or the dive's usual metrics,
 * e.g. churn-reasons → churn metrics) is merged into that highlight as its explanation, +1.
 * At most 2 findings per dive and `limit` (7) highlights in all.
 *
 * Evidence keys read from findings: `qValue`, `pValue`, `lift` | `relativeRisk` | `oddsRatio`
 * (number or { estimate }), `mrrAtStake` | `mrr` (major units), `metricIds` (string[]),
 * `notEnoughData` (skip).
 */

export interface HighlightInput {
  metrics: readonly Metric[];
  anomalies: readonly Anomaly[];
  deepDives: readonly DeepDive[];
  /** Anomaly threshold the scores were judged against (config `anomalies.threshold`). */
  threshold?: number;
  currency?: string;
  limit?: number;
  /** Trailing months for the money moves' test (config `anomalies.trailingMonths`, default 6). */
  trailingMonths?: number;
}

export type MoveTest =
  { test: string; pValue: number; n: string } | { test: string; notEnoughData: true; reason: string };

/** Upper tail of Binomial(n, ½) at k: P(X ≥ k) = I_½(k, n − k + 1). */
function binomialHalfUpper(k: number, n: number): number {
  return k <= 0 ? 1 : regularizedBeta(0.5, k, n - k + 1);
}

/**
 * Is this month's value different from last month's beyond sampling noise? The test by unit is
 * described in the file comment; a move without enough data to test is not a highlight.
 */
export function moveTest(metric: Metric, trailingMonths = 6): MoveTest {
  const months = metric.series.map((p) => p.month);
  const month = months.at(-1) as Month;
  const before = months.at(-2) as Month;
  const cur = metric.current;
  const prev = metric.previous;
  if (cur === null || prev === null)
    return { test: 'none', notEnoughData: true, reason: 'a month has no value' };
  if (metric.unit === 'count' && Number.isInteger(cur) && Number.isInteger(prev) && cur >= 0 && prev >= 0) {
    // Given the total, the split between two equal-length Poisson months is Binomial(total, ½).
    const n = cur + prev;
    if (n === 0)
      return { test: 'poisson-conditional-binomial', notEnoughData: true, reason: 'both months 0' };
    const k = Math.max(cur, prev);
    return {
      test: 'poisson-conditional-binomial',
      pValue: Math.min(1, 2 * binomialHalfUpper(k, n)),
      n: `${prev} then ${cur}`,
    };
  }
  const a = proportionParts(metric, before);
  const b = proportionParts(metric, month);
  if (metric.unit === 'ratio' && a && b) {
    const r = compareProportions({
      successesA: b.successes,
      totalA: b.trials,
      successesB: a.successes,
      totalB: a.trials,
    });
    if (r.notEnoughData) return { test: r.test, notEnoughData: true, reason: r.reason };
    return {
      test: r.test,
      pValue: r.pValue,
      n: `${a.successes}/${a.trials} then ${b.successes}/${b.trials}`,
    };
  }
  const na = npsParts(metric, before);
  const nb = npsParts(metric, month);
  if (metric.unit === 'nps' && na && nb) {
    const total = (c: typeof na): number => c.promoters + c.passives + c.detractors;
    const [n1, n2] = [total(na), total(nb)];
    if (n1 < NPS_MIN_RESPONSES || n2 < NPS_MIN_RESPONSES) {
      return {
        test: 'nps-two-sample-z',
        notEnoughData: true,
        reason: `${n1} and ${n2} answers; need ${NPS_MIN_RESPONSES} in each month`,
      };
    }
    const pPlus = (na.promoters + nb.promoters) / (n1 + n2);
    const pMinus = (na.detractors + nb.detractors) / (n1 + n2);
    const v = Math.max(0, pPlus + pMinus - (pPlus - pMinus) ** 2);
    const se = 100 * Math.sqrt(v * (1 / n1 + 1 / n2));
    return {
      test: 'nps-two-sample-z',
      pValue: se === 0 ? (cur === prev ? 1 : 0) : normalTwoSidedP((cur - prev) / se),
      n: `${n1} then ${n2} answers`,
    };
  }
  if (metric.unit === 'nps') {
    return { test: 'nps-two-sample-z', notEnoughData: true, reason: 'no answer counts' };
  }
  const c = checkMonth(metric, month, { trailingMonths });
  if (!c.judged) return { test: 'robust-median-mad', notEnoughData: true, reason: c.reason ?? 'not judged' };
  return { test: c.tests.join('+'), pValue: c.pValue as number, n: `${c.baselineMonths} months before` };
}

export const HIGHLIGHT_LIMIT = 7;
const PER_DIVE = 2;
const SIGNIFICANCE = 0.05;

const HEADLINE =
  /^(mrr|net_new_mrr|churned_mrr|customer_churn_rate|revenue_churn_rate|active_users|active_organizations|net_revenue_retention)$/;

/** The metrics a dive usually explains, when its findings do not name them. */
const DIVE_METRICS: Record<string, (metricId: string) => boolean> = {
  'churn-reasons': (id) => id.includes('churn'),
  'onboarding-funnel': (id) => id === 'activation_rate',
};

/** When a month-on-month move is worth mentioning without being anomalous. */
function moveBar(m: Metric): number {
  if (m.changeKind === 'absolute') return m.unit === 'nps' ? 10 : 0.02;
  return m.id === 'mrr' ? 0.05 : 0.15;
}

interface Candidate extends Highlight {
  metricId?: string;
  diveId?: string;
  merged?: boolean;
}

export function rankHighlights(input: HighlightInput): Highlight[] {
  const threshold = input.threshold ?? 3.5;
  const limit = input.limit ?? HIGHLIGHT_LIMIT;
  const byId = new Map(input.metrics.map((m) => [m.id, m]));
  const mrrNow = byId.get('mrr')?.current ?? null;
  const money = (amount: number | null): number =>
    amount === null || mrrNow === null || mrrNow <= 0 ? 0 : 2 * Math.min(Math.abs(amount) / mrrNow / 0.05, 1);
  const headline = (id: string): number => (HEADLINE.test(id) ? 1 : 0);
  const fmt = (v: number, m: Metric): string => formatForSentence(v, m.unit, input.currency);

  const candidates: Candidate[] = [];
  const anomalous = new Set<string>();
  for (const a of input.anomalies) {
    const m = byId.get(a.metricId);
    if (!m) continue;
    anomalous.add(a.metricId);
    const overshoot = Math.min(Math.max(a.score / threshold - 1, 0), 1.5);
    candidates.push({
      source: `anomaly:${a.metricId}`,
      title: `${m.label} ${a.direction === 'up' ? 'unusually high' : 'unusually low'}: ${fmt(a.actual, m)} vs ${fmt(a.expected, m)} expected`,
      detail: a.explanation,
      weight:
        4 + 2 * overshoot + money(m.unit === 'currency' ? a.actual - a.expected : null) + headline(m.id),
      metricId: m.id,
    });
  }

  const moves: { m: Metric; bar: number; test: { test: string; pValue: number; n: string } }[] = [];
  for (const m of input.metrics) {
    if (anomalous.has(m.id) || m.change === null || m.current === null || m.previous === null) continue;
    const bar = moveBar(m);
    if (Math.abs(m.change) < bar) continue;
    const test = moveTest(m, input.trailingMonths);
    if ('notEnoughData' in test) continue;
    moves.push({ m, bar, test });
  }
  const moveQ = benjaminiHochberg(moves.map((x) => x.test.pValue));
  moves.forEach(({ m, bar, test }, i) => {
    const q = moveQ[i] as number;
    if (q > SIGNIFICANCE || m.change === null || m.current === null || m.previous === null) return;
    // "up"/"down" says the sign, so the size is unsigned ("down 19.1%", not "down −19.1%"). A
    // relative change of money across zero says nothing ("−108%"): then the difference in money.
    const crossesZero = m.unit === 'currency' && (m.previous <= 0 || m.current < 0);
    const up = crossesZero ? m.current > m.previous : m.change > 0;
    const change = crossesZero
      ? fmt(Math.abs(m.current - m.previous), m)
      : m.changeKind === 'relative'
        ? `${Math.abs(100 * m.change).toFixed(1)}%`
        : m.unit === 'ratio'
          ? `${Math.abs(100 * m.change).toFixed(1)} pp`
          : `${Math.abs(m.change).toFixed(1)} points`;
    candidates.push({
      source: `metric:${m.id}`,
      title: `${m.label} ${up ? 'up' : 'down'} ${change} month on month`,
      detail: `${fmt(m.previous, m)} → ${fmt(m.current, m)} (${test.n}; p ${formatP(test.pValue)}, q ${formatP(q)}).`,
      weight:
        1.5 +
        0.5 * Math.min(Math.abs(m.change) / bar, 3) +
        money(m.unit === 'currency' ? m.current - m.previous : null) +
        headline(m.id),
      metricId: m.id,
    });
  });

  for (const dive of input.deepDives) {
    const scored = dive.findings
      .map((f) => ({ f, w: findingWeight(f, money) }))
      .filter((x): x is { f: Finding; w: number } => x.w !== null)
      .sort((a, b) => b.w - a.w)
      .slice(0, PER_DIVE);
    for (const { f, w } of scored) {
      const about = findingMetrics(dive.id, f);
      const host = candidates.find((c) => c.metricId !== undefined && !c.merged && about(c.metricId));
      if (host) {
        host.detail = `${host.detail}. Why: ${f.title}`;
        host.weight = Math.max(host.weight, w) + 1;
        host.merged = true;
        continue;
      }
      candidates.push({
        source: `dive:${dive.id}`,
        title: f.title,
        detail: f.detail,
        weight: w,
        diveId: dive.id,
      });
    }
  }

  const seen = new Set<string>();
  return candidates
    .sort((a, b) => b.weight - a.weight || compareText(a.source, b.source))
    .filter((c) => {
      const key = c.title.toLowerCase();
      if (seen.has(key)) return false;
      seen.add(key);
      return true;
    })
    .slice(0, limit)
    .map((c) => ({
      source: c.source,
      title: c.title,
      detail: c.detail,
      weight: Math.round(c.weight * 100) / 100,
    }));
}

function formatP(p: number): string {
  return p < 1e-15 ? '< 1e-15' : p < 0.001 ? p.toExponential(0) : p.toPrecision(2);
}

function num(v: unknown): number | null {
  if (typeof v === 'number' && Number.isFinite(v)) return v;
  if (v !== null && typeof v === 'object' && 'estimate' in v) return num(v.estimate);
  return null;
}

/** A finding's weight, or null when it is not significant or not a finding at all. */
function findingWeight(f: Finding, money: (amount: number | null) => number): number | null {
  const e = f.evidence;
  if (e.notEnoughData === true) return null;
  const s = num(e.qValue) ?? num(e.pValue);
  if (s !== null && s > SIGNIFICANCE) return null;
  const significance = s === null ? 1 : (3 * Math.min(-Math.log10(Math.max(s, 1e-12)), 6)) / 6;
  const effectSize = num(e.lift) ?? num(e.relativeRisk) ?? num(e.oddsRatio);
  const effect =
    effectSize === null || effectSize <= 0
      ? 0
      : (1.5 * Math.min(Math.abs(Math.log(effectSize)), Math.log(4))) / Math.log(4);
  return 2.5 + significance + effect + money(num(e.mrrAtStake) ?? num(e.mrr));
}

function findingMetrics(diveId: string, f: Finding): (metricId: string) => boolean {
  const named = f.evidence.metricIds;
  if (Array.isArray(named) && named.every((x) => typeof x === 'string')) {
    const set = new Set(named);
    return (id) => set.has(id);
  }
  return DIVE_METRICS[diveId] ?? (() => false);
}
