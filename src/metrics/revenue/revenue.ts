/**
 * The revenue metric family: MRR, its movements, churn and retention, customers, ARPA, ARR and
 * (when metered lines exist) usage revenue, per month and product. Every metric is an aggregate
 * of the per-customer month-end MRR of customer-mrr.ts; definitions: docs/metrics.md#revenue.
 */
import type { Month } from '../../domain/month.js';
import type { MetricUnit } from '../../domain/review.js';
import { sql } from '../../store/sql.js';
import type { MetricContext, MetricFamily, MetricValues } from '../types.js';
import { customerMonthQuery, minorPerMajor, usageRevenueQuery } from './customer-mrr.js';

/** Month totals from the per-customer query; money in reporting-currency minor units. */
export interface RevenueMonth {
  month: Month;
  mrr: number;
  previousMrr: number;
  newMrr: number;
  expansionMrr: number;
  contractionMrr: number;
  churnedMrr: number;
  reactivationMrr: number;
  payingCustomers: number;
  previousPayingCustomers: number;
  churnedCustomers: number;
}

/**
 * The per-month totals for `ctx.months`; null for months the billing data cannot speak for: before
 * its first month, and after the data's end (or billing's own last month, when earlier). The
 * month holding the data's end is measured at that instant (customer-mrr.ts).
 */
export async function revenueMonths(ctx: MetricContext): Promise<Map<Month, RevenueMonth | null>> {
  const out = new Map<Month, RevenueMonth | null>(ctx.months.map((m) => [m, null]));
  if (ctx.product.name !== 'all' && ctx.product.stripeProducts.length === 0) return out;
  const q = await customerMonthQuery(ctx);
  if (q.firstBilling === null) return out;
  const rows = await ctx.engine.query<Record<string, number | string>>(sql`
    SELECT month,
      sum(mrr) AS mrr, sum(prev_mrr) AS prev_mrr,
      sum(CASE WHEN movement = 'new' THEN mrr ELSE 0 END) AS new_mrr,
      sum(CASE WHEN movement = 'expansion' THEN mrr - prev_mrr ELSE 0 END) AS expansion_mrr,
      sum(CASE WHEN movement = 'contraction' THEN prev_mrr - mrr ELSE 0 END) AS contraction_mrr,
      sum(CASE WHEN movement = 'churned' THEN prev_mrr ELSE 0 END) AS churned_mrr,
      sum(CASE WHEN movement = 'reactivation' THEN mrr ELSE 0 END) AS reactivation_mrr,
      sum(CASE WHEN mrr > 0 THEN 1 ELSE 0 END) AS paying,
      sum(CASE WHEN prev_mrr > 0 THEN 1 ELSE 0 END) AS prev_paying,
      sum(CASE WHEN movement = 'churned' THEN 1 ELSE 0 END) AS churned_customers
    FROM (${q.sql}) t WHERE t.idx >= ${q.firstIdx}
    GROUP BY month`);
  const byMonth = new Map(rows.map((r) => [String(r.month), r]));
  for (const m of ctx.months) {
    if (m < q.firstBilling || q.lastMonth === null || m > q.lastMonth) continue;
    const r = byMonth.get(m);
    const n = (k: string): number => Number(r?.[k] ?? 0);
    out.set(m, {
      month: m,
      mrr: n('mrr'),
      previousMrr: n('prev_mrr'),
      newMrr: n('new_mrr'),
      expansionMrr: n('expansion_mrr'),
      contractionMrr: n('contraction_mrr'),
      churnedMrr: n('churned_mrr'),
      reactivationMrr: n('reactivation_mrr'),
      payingCustomers: n('paying'),
      previousPayingCustomers: n('prev_paying'),
      churnedCustomers: n('churned_customers'),
    });
  }
  return out;
}

interface Definition {
  id: string;
  label: string;
  unit: MetricUnit;
  description: string;
  /** From a month's totals (money already in major units); null when not computable. */
  value: (t: RevenueMonth, major: (minor: number) => number) => number | null;
}

const ratio = (a: number, b: number): number | null => (b === 0 ? null : a / b);

export const REVENUE_METRICS: Definition[] = [
  {
    id: 'mrr',
    label: 'MRR',
    unit: 'currency',
    description: 'Monthly recurring revenue at the end of the month (docs/metrics.md#mrr).',
    value: (t, major) => major(t.mrr),
  },
  {
    id: 'mrr_growth',
    label: 'MRR growth',
    unit: 'ratio',
    description: '(MRR − MRR of the previous month) ÷ MRR of the previous month.',
    value: (t) => ratio(t.mrr - t.previousMrr, t.previousMrr),
  },
  {
    id: 'new_mrr',
    label: 'New MRR',
    unit: 'currency',
    description: 'MRR of customers paying for the first time.',
    value: (t, major) => major(t.newMrr),
  },
  {
    id: 'expansion_mrr',
    label: 'Expansion MRR',
    unit: 'currency',
    description: 'MRR increase of customers who paid at both month-ends.',
    value: (t, major) => major(t.expansionMrr),
  },
  {
    id: 'contraction_mrr',
    label: 'Contraction MRR',
    unit: 'currency',
    description: 'MRR decrease of customers still paying at the month-end.',
    value: (t, major) => major(t.contractionMrr),
  },
  {
    id: 'churned_mrr',
    label: 'Churned MRR',
    unit: 'currency',
    description: 'Previous MRR of customers who stopped paying (their last paying subscription ended).',
    value: (t, major) => major(t.churnedMrr),
  },
  {
    id: 'reactivation_mrr',
    label: 'Reactivation MRR',
    unit: 'currency',
    description: 'MRR of customers who paid before, had zero MRR at ≥1 month-end, and pay again.',
    value: (t, major) => major(t.reactivationMrr),
  },
  {
    id: 'net_new_mrr',
    label: 'Net new MRR',
    unit: 'currency',
    description: 'new + expansion + reactivation − contraction − churned (= MRR − previous MRR).',
    value: (t, major) =>
      major(t.newMrr + t.expansionMrr + t.reactivationMrr - t.contractionMrr - t.churnedMrr),
  },
  {
    id: 'revenue_churn_rate',
    label: 'Revenue churn rate',
    unit: 'ratio',
    description: 'Gross MRR churn: (churned + contraction) ÷ MRR at the start of the month.',
    value: (t) => ratio(t.churnedMrr + t.contractionMrr, t.previousMrr),
  },
  {
    id: 'net_revenue_retention',
    label: 'Net revenue retention',
    unit: 'ratio',
    description: '(start MRR + expansion − contraction − churned) ÷ start MRR, over one month.',
    value: (t) => ratio(t.previousMrr + t.expansionMrr - t.contractionMrr - t.churnedMrr, t.previousMrr),
  },
  {
    id: 'gross_revenue_retention',
    label: 'Gross revenue retention',
    unit: 'ratio',
    description: '(start MRR − contraction − churned) ÷ start MRR, over one month.',
    value: (t) => ratio(t.previousMrr - t.contractionMrr - t.churnedMrr, t.previousMrr),
  },
  {
    id: 'paying_customers',
    label: 'Paying customers',
    unit: 'count',
    description: 'Customers with MRR > 0 at the end of the month.',
    value: (t) => t.payingCustomers,
  },
  {
    id: 'churned_customers',
    label: 'Churned customers',
    unit: 'count',
    description: 'Customers paying at the previous month-end and not at this one.',
    value: (t) => t.churnedCustomers,
  },
  {
    id: 'customer_churn_rate',
    label: 'Customer churn rate',
    unit: 'ratio',
    description: 'Churned customers ÷ paying customers at the start of the month.',
    value: (t) => ratio(t.churnedCustomers, t.previousPayingCustomers),
  },
  {
    id: 'arpa',
    label: 'ARPA',
    unit: 'currency',
    description: 'Average revenue per account: MRR ÷ paying customers.',
    value: (t, major) => (t.payingCustomers === 0 ? null : major(t.mrr) / t.payingCustomers),
  },
  {
    id: 'arr',
    label: 'ARR',
    unit: 'currency',
    description: 'Annual run rate: MRR × 12.',
    value: (t, major) => major(t.mrr * 12),
  },
];

export const revenueFamily: MetricFamily = {
  id: 'revenue',
  async compute(ctx: MetricContext): Promise<MetricValues[]> {
    const totals = await revenueMonths(ctx);
    const divisor = minorPerMajor(ctx.config.reporting.currency);
    const major = (minor: number): number => Math.round(minor) / divisor;
    const out: MetricValues[] = REVENUE_METRICS.map((def) => ({
      id: def.id,
      group: 'revenue',
      label: def.label,
      unit: def.unit,
      description: def.description,
      values: new Map(
        ctx.months.map((m) => {
          const t = totals.get(m);
          return [m, t ? def.value(t, major) : null];
        }),
      ),
      // The counts behind the churn rate, so its anomaly test is binomial (review/anomalies.ts).
      ...(def.id === 'customer_churn_rate'
        ? {
            detail: new Map(
              ctx.months.flatMap((m) => {
                const t = totals.get(m);
                return t && t.previousPayingCustomers > 0
                  ? [[m, { numerator: t.churnedCustomers, denominator: t.previousPayingCustomers }] as const]
                  : [];
              }),
            ),
          }
        : {}),
    }));
    const usage = await usageRevenueQuery(ctx);
    if (usage) {
      out.push({
        id: 'usage_revenue',
        group: 'revenue',
        label: 'Usage revenue',
        unit: 'currency',
        description: 'Metered (usage-based) invoice lines issued in the month; not part of MRR.',
        // Inside billing's range a month without metered lines is 0; outside it, unknown.
        values: new Map(ctx.months.map((m) => [m, totals.get(m) ? major(usage.get(m) ?? 0) : null])),
      });
    }
    return out;
  },
};
