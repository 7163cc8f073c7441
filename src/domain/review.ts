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
  threshold: number;
  trailingMonths: number;
  falsePositiveRate: number;
  /** One sentence for the reader, e.g. "flags 1.1% of months where nothing happened". */
  statement: string;
}

/** How a launch's effect on one metric reads (SPEC §5 `launches[].effects[].verdict`). */
export type LaunchVerdict = 'moved' | 'no-effect' | 'not-enough-data' | 'split-broken';

export interface LaunchEffect {
  metricId: string;
  /** The variant compared with the control, for an experiment; null otherwise. */
  variant: string | null;
  /** The relative effect (0.12 is +12%); null when it could not be estimated. */
  estimate: number | null;
  /** Its 95% interval. */
  interval: [number, number] | null;
  /** `experiment`, `interrupted-time-series` or `not-yet-exposed` (docs/analyses.md#launches). */
  method: string;
  verdict: LaunchVerdict;
  /** The verdict in words, with its numbers. */
  statement: string;
  /** What a skeptic checks: samples, p- and q-values, chance to beat control, SRM, CUPED, fit. */
  evidence: Record<string, unknown>;
}

/** A launch of the review month or the three before, and what it did (SPEC §5 `launches[]`). */
export interface LaunchReview {
  /** A stored launch's id (`sextant launch remove`); null for one from the config. */
  id: number | null;
  title: string;
  /** The UTC day it shipped, YYYY-MM-DD. */
  date: string;
  product: string;
  flag: string | null;
  /** The metric ids its effects name. */
  metrics: string[];
  /** `experiment`: a flag with a control; `rollout`: a flag without one; `launch`: no flag. */
  kind: 'experiment' | 'rollout' | 'launch';
  /** Shipped in the review month (else in one of the three before). */
  inMonth: boolean;
  effects: LaunchEffect[];
  /** Why it was judged as it was (e.g. a flag whose rollout was not gradual). */
  notes: string[];
  /** The to-dos whose title names this launch: the decision loop's link to what shipped. */
  todos: { id: number; month: Month; title: string; status: 'open' | 'done' }[];
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
  /** "What we shipped": absent in reviews stored before launches existed. */
  launches?: LaunchReview[];
}
