/**
 * A review of a month the data does not fully cover (docs/analyses.md, "Anomalies of an
 * incomplete month"): an unfinished month, one whose data ends (or starts) inside it, or one
 * outside the data. Its numbers are what the data holds so far, so judging them against complete
 * months would raise false anomalies ("active users down 80%" on the 6th). Per metric:
 *
 * - counts of things that happen through the month (new users and organizations, tickets,
 *   feature requests, interviews, key actions — PRO_RATA below) are judged PRO RATA: their test
 *   predicts a count over the share of the month covered (review/anomalies.ts `exposure`), once at
 *   least MIN_PRO_RATA_DAYS days are in — fewer days hold too little and too lopsided a week mix;
 * - every other metric is NOT JUDGED: distinct counts (active users, MAU) and means (DAU) do not
 *   grow in proportion to the days; rates and NPS come from whoever answered or churned first;
 *   money moves at renewals and month ends; churn happens at period ends;
 * - a month outside the data is not judged at all.
 *
 * Month-on-month changes of a month that is not complete are null except for the values measured
 * at an instant (STOCKS: MRR and what follows from it, paying customers, open tickets — at the
 * data's end), so no highlight reads "down 80% month on month" from a partial month.
 */
import type { Month } from '../domain/month.js';
import type { Anomaly, DataCoverage, Metric } from '../domain/review.js';
import { detectAnomalies, type AnomalyOptions } from './anomalies.js';

export const MIN_PRO_RATA_DAYS = 14;

const PRO_RATA = new Set([
  'new_users',
  'new_organizations',
  'lifecycle_new',
  'tickets',
  'feature_requests',
  'interviews',
]);
const PRO_RATA_PREFIXES = ['key_action:'];

/** Measured at an instant (the month's end, or the data's end inside it), not summed over days. */
const STOCKS = new Set(['mrr', 'arr', 'arpa', 'paying_customers', 'tickets_open']);

/** Whether an incomplete month's value of this metric is judged pro rata. */
export function judgedProRata(metric: Pick<Metric, 'id' | 'unit'>): boolean {
  return (
    metric.unit === 'count' &&
    (PRO_RATA.has(metric.id) || PRO_RATA_PREFIXES.some((p) => metric.id.startsWith(p)))
  );
}

export interface MonthAnomalies {
  anomalies: Anomaly[];
  /** Metrics judged this month (all of them when the month is complete). */
  judged: number;
  /** What was done, for the reader; null for a complete month. */
  statement: string | null;
}

/** The month's anomalies, by the rules above. */
export function monthAnomalies(
  metrics: readonly Metric[],
  month: Month,
  coverage: Pick<DataCoverage, 'status' | 'period'>,
  options: AnomalyOptions,
): MonthAnomalies {
  if (coverage.status === 'complete') {
    return { anomalies: detectAnomalies(metrics, month, options), judged: metrics.length, statement: null };
  }
  if (coverage.status === 'outside') {
    return { anomalies: [], judged: 0, statement: 'No anomalies are judged for a month outside the data.' };
  }
  const { days, coveredDays } = coverage.period;
  if (coveredDays < MIN_PRO_RATA_DAYS) {
    return {
      anomalies: [],
      judged: 0,
      statement: `No anomalies are judged before ${MIN_PRO_RATA_DAYS} days of the month are in (${coveredDays} so far).`,
    };
  }
  const flows = metrics.filter(judgedProRata);
  const exposure = coveredDays / days;
  const share = `${coveredDays} of ${days} days`;
  const anomalies = detectAnomalies(flows, month, { ...options, exposure }).map((a) => ({
    ...a,
    explanation: `${a.explanation}; judged pro rata over ${share}`,
  }));
  return {
    anomalies,
    judged: flows.length,
    statement:
      `Anomalies: ${flows.length} counts of things that happen through the month are judged pro rata over its ${share}; ` +
      `the other metrics are not judged until the month is complete.`,
  };
}

/** The metrics with month-on-month changes a partial month cannot support set to null. */
export function partialMonthChanges(
  metrics: readonly Metric[],
  coverage: Pick<DataCoverage, 'status'>,
): Metric[] {
  if (coverage.status === 'complete') return [...metrics];
  return metrics.map((m) => (STOCKS.has(m.id) || m.change === null ? m : { ...m, change: null }));
}
