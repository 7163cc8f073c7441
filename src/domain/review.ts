import type { Month } from './month.js';

/** The review document (SPEC §5). Everything here is what review.json holds. */

export type MetricGroup = 'revenue' | 'usage' | 'feedback';
/**
 * `currency`: major units of reporting.currency; `ratio`: a fraction (0.052 is 5.2%);
 * `count`: an integer; `nps`: −100..100; `seconds`: a duration.
 */
export type MetricUnit = 'currency' | 'ratio' | 'count' | 'nps' | 'seconds';

export interface MetricPoint {
  month: Month;
  /** null when it cannot be computed for that month (no data, or a zero denominator), never 0. */
  value: number | null;
}

export interface Metric {
  id: string;
  group: MetricGroup;
  label: string;
  unit: MetricUnit;
  /** 13 months ending at the review's month, oldest first. */
  series: MetricPoint[];
  current: number | null;
  previous: number | null;
  /**
   * Month-on-month change: relative ((current − previous) / |previous|) for currency and counts,
   * absolute (current − previous) for ratios and NPS. `changeKind` says which. null when either
   * side is null or the relative base is 0.
   */
  change: number | null;
  changeKind: 'relative' | 'absolute';
  /** One line: what it measures and how (links to docs/metrics.md). */
  description?: string;
  /** Per-month extra detail (e.g. NPS interval, sample size), keyed by month. */
  detail?: Record<Month, Record<string, unknown>>;
}

export interface Anomaly {
  metricId: string;
  month: Month;
  direction: 'up' | 'down';
  expected: number;
  actual: number;
  score: number;
  explanation: string;
  /** The test that decided it (docs/analyses.md, "Anomalies"); absent in reviews before issue 17. */
  evidence?: AnomalyEvidence;
}

export interface AnomalyEvidence {
  /** The test(s): `poisson-gamma-predictive`, `beta-binomial-predictive`, `nps-two-sample-z`,
   * `robust-median-mad`, joined with `+` when the months before were overdispersed. */
  test: string;
  pValue: number;
  /** Benjamini–Hochberg adjusted across the metrics judged this month. */
  qValue: number;
  correction: string;
  metricsTested: number;
  falseDiscoveryRate: number;
  baselineMonths: number;
  /** The trailing months' values, oldest first. */
  baseline: number[];
  /** The central 95% of what the trailing months predict. */
  interval95: [number, number] | null;
  /** Trials or answers behind this month's rate or NPS. */
  sampleSize: number | null;
  overdispersed: boolean;
}

export interface Finding {
  title: string;
  detail: string;
  /** Numbers a skeptic checks: method/test name, sample sizes, p-values, intervals. */
  evidence: Record<string, unknown>;
}

export interface DeepDive {
  id: string;
  question: string;
  /** Plain language; says "not enough data" when that is the answer. */
  summary: string;
  /** How it was computed, with the tests used. */
  method: string;
  findings: Finding[];
  data: Record<string, unknown>;
}

export interface Highlight {
  /** `metric:<id>`, `anomaly:<metricId>` or `dive:<id>`. */
  source: string;
  title: string;
  detail: string;
  /** Higher is more worth the meeting's time; comparable across sources. */
  weight: number;
}

export type DecisionOutcome = 'continue' | 'reprioritize' | 'change-goals' | 'new-projects';

export interface Todo {
  id: number;
  title: string;
  owner: string | null;
  status: 'open' | 'done';
  createdAt: string;
  doneAt: string | null;
  metricIds: string[];
}

export interface PreviousReview {
  month: Month;
  decision: { outcome: DecisionOutcome; note: string | null; decidedAt: string; metricIds: string[] } | null;
  todos: Todo[];
  /** How the metrics the decision or a to-do names moved since that review. */
  metricsSince: { metricId: string; then: number | null; now: number | null; change: number | null }[];
}

export interface DataCoverage {
  events: { count: number; first: string | null; last: string | null };
  persons: number;
  organizations: number;
  billing: {
    customers: number;
    invoiceLines: number;
    subscriptionRows: number;
    first: string | null;
    last: string | null;
  };
  feedback: { count: number; first: string | null; last: string | null };
  /** Months of the 13 with any data of each kind. */
  monthsWithEvents: Month[];
  monthsWithBilling: Month[];
  notes: string[];
}

/** How anomalies were judged, and the detector's measured false-positive rate (a back-test). */
export interface AnomalyDetection {
  method: string;
  /** Legacy config value; flags are decided by `falseDiscoveryRate`. */
  threshold: number;
  trailingMonths: number;
  /** Benjamini–Hochberg level across the month's metrics. */
  falseDiscoveryRate?: number;
  /** The nominal per-metric false-positive rate bound (the back-test measures it: `sextant backtest`). */
  falsePositiveRate: number;
  /** One sentence for the reader on how anomalies are judged. */
  statement: string;
}

export interface Review {
  schemaVersion: 1;
  product: string;
  month: Month;
  generatedAt: string;
  currency: string;
  dataCoverage: DataCoverage;
  metrics: Metric[];
  anomalies: Anomaly[];
  anomalyDetection?: AnomalyDetection;
  deepDives: DeepDive[];
  highlights: Highlight[];
  previous: PreviousReview | null;
}
