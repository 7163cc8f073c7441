import type { Anomaly, DeepDive, Finding, Highlight, Metric } from '../domain/review.js';
import { formatForSentence } from './anomalies.js';
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

  for (const m of input.metrics) {
    if (anomalous.has(m.id) || m.change === null || m.current === null || m.previous === null) continue;
    const bar = moveBar(m);
    if (Math.abs(m.change) < bar) continue;
    const change =
      m.changeKind === 'relative'
        ? `${m.change > 0 ? '+' : '−'}${Math.abs(100 * m.change).toFixed(1)}%`
        : m.unit === 'ratio'
          ? `${m.change > 0 ? '+' : '−'}${Math.abs(100 * m.change).toFixed(1)} pp`
          : `${m.change > 0 ? '+' : '−'}${Math.abs(m.change).toFixed(1)} points`;
    candidates.push({
      source: `metric:${m.id}`,
      title: `${m.label} ${m.change > 0 ? 'up' : 'down'} ${change} month on month`,
      detail: `${fmt(m.previous, m)} → ${fmt(m.current, m)}.`,
      weight:
        1.5 +
        0.5 * Math.min(Math.abs(m.change) / bar, 3) +
        money(m.unit === 'currency' ? m.current - m.previous : null) +
        headline(m.id),
      metricId: m.id,
    });
  }

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
