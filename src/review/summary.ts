import type { Metric, Review } from '../domain/review.js';

/**
 * The five-line summary `sextant review` and `npm run demo` print: revenue, usage, feedback,
 * anomalies and the top highlight, after a note when the month is not complete. Metrics that are
 * absent or null say so instead of inventing a value.
 */
export function fiveLineSummary(r: Review): string[] {
  const m = new Map(r.metrics.map((x) => [x.id, x]));
  const money = (x: number) =>
    new Intl.NumberFormat('en-US', {
      style: 'currency',
      currency: r.currency,
      maximumFractionDigits: 0,
    }).format(x);
  const count = (x: number) => new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 }).format(x);
  const show = (id: string, fmt: (x: number) => string): string => {
    const metric = m.get(id);
    if (!metric || metric.current === null) return 'n/a';
    return fmt(metric.current) + change(metric);
  };
  const anomalies = r.anomalies.filter((a) => a.month === r.month);
  const top = r.highlights[0];
  // A month the data does not fully cover says so first (dataCoverage.statement).
  const statement = r.dataCoverage?.statement;
  return [
    ...(statement ? [`Note: ${statement}`] : []),
    `Revenue: MRR ${show('mrr', money)}, ${show('paying_customers', count)} paying customers, revenue churn ${show('revenue_churn_rate', pct)}`,
    `Usage: ${show('active_users', count)} active users, ${show('active_organizations', count)} active organizations, retention ${show('user_retention_rate', pct)}`,
    `Feedback: NPS ${show('nps', (x) => x.toFixed(0))} from ${show('nps_responses', count)} responses, ${show('tickets', count)} tickets, ${show('feature_requests', count)} feature requests`,
    anomalies.length === 0
      ? 'Anomalies: none this month'
      : `Anomalies: ${anomalies.length} this month; ${
          anomalies.slice().sort((a, b) => b.score - a.score)[0]!.explanation
        }`,
    top ? `Top highlight: ${top.title}` : 'Top highlight: nothing stood out',
  ];
}

function pct(x: number): string {
  return `${(x * 100).toFixed(1)}%`;
}

function change(metric: Metric): string {
  if (metric.change === null) return '';
  if (metric.changeKind === 'relative') {
    const sign = metric.change >= 0 ? '+' : '';
    return ` (${sign}${(metric.change * 100).toFixed(1)}% MoM)`;
  }
  const points = metric.unit === 'ratio' ? metric.change * 100 : metric.change;
  const sign = points >= 0 ? '+' : '';
  return ` (${sign}${points.toFixed(1)} pts MoM)`;
}
