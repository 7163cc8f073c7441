import { monthEnd, monthsEndingAt } from '../../src/domain/month.js';
import type { Metric, MetricGroup, MetricUnit, Review } from '../../src/domain/review.js';

/**
 * A complete, SPEC-conforming review with made-up numbers, for the renderers' tests and for anyone
 * who needs a Review without a database (the server's UI tests, docs). `text(field, usual)` lets a
 * test replace every piece of user-supplied text (hostile strings for the escaping tests).
 */
export interface SampleReviewOptions {
  month?: string;
  product?: string;
  generatedAt?: string;
  text?: (field: string, usual: string) => string;
}

/** The metric ids SPEC §5 requires, with their group, label and unit. */
export const REQUIRED_METRICS: { id: string; group: MetricGroup; label: string; unit: MetricUnit }[] = [
  { id: 'mrr', group: 'revenue', label: 'MRR', unit: 'currency' },
  { id: 'mrr_growth', group: 'revenue', label: 'MRR growth', unit: 'ratio' },
  { id: 'new_mrr', group: 'revenue', label: 'New MRR', unit: 'currency' },
  { id: 'expansion_mrr', group: 'revenue', label: 'Expansion MRR', unit: 'currency' },
  { id: 'contraction_mrr', group: 'revenue', label: 'Contraction MRR', unit: 'currency' },
  { id: 'churned_mrr', group: 'revenue', label: 'Churned MRR', unit: 'currency' },
  { id: 'reactivation_mrr', group: 'revenue', label: 'Reactivation MRR', unit: 'currency' },
  { id: 'revenue_churn_rate', group: 'revenue', label: 'Revenue churn rate', unit: 'ratio' },
  { id: 'net_revenue_retention', group: 'revenue', label: 'Net revenue retention', unit: 'ratio' },
  { id: 'paying_customers', group: 'revenue', label: 'Paying customers', unit: 'count' },
  { id: 'churned_customers', group: 'revenue', label: 'Churned customers', unit: 'count' },
  { id: 'customer_churn_rate', group: 'revenue', label: 'Customer churn rate', unit: 'ratio' },
  { id: 'arpa', group: 'revenue', label: 'ARPA', unit: 'currency' },
  { id: 'active_users', group: 'usage', label: 'Active users', unit: 'count' },
  { id: 'active_organizations', group: 'usage', label: 'Active organizations', unit: 'count' },
  { id: 'user_growth_rate', group: 'usage', label: 'User growth rate', unit: 'ratio' },
  { id: 'organization_growth_rate', group: 'usage', label: 'Organization growth rate', unit: 'ratio' },
  { id: 'user_retention_rate', group: 'usage', label: 'User retention rate', unit: 'ratio' },
  { id: 'nps', group: 'feedback', label: 'NPS', unit: 'nps' },
  { id: 'nps_responses', group: 'feedback', label: 'NPS responses', unit: 'count' },
  { id: 'tickets', group: 'feedback', label: 'Tickets', unit: 'count' },
  { id: 'feature_requests', group: 'feedback', label: 'Feature requests', unit: 'count' },
  { id: 'interviews', group: 'feedback', label: 'Interviews', unit: 'count' },
];

/**
 * Hostile text for the escaping tests: each payload sets `window.__xss` or opens a dialog if it
 * ever runs, or breaks a Markdown table if a pipe gets through.
 */
export const HOSTILE_TEXT = [
  '<script>window.__xss=1;alert(1)</script>',
  '"><img src=x onerror="window.__xss=2">',
  "'><svg onload=window.__xss=3>",
  '</style><script>window.__xss=4</script>',
  '</title></textarea><iframe src="javascript:window.parent.__xss=5">',
  'javascript:window.__xss=6',
  '| pipe | *em* [link](javascript:alert(1)) `code` # not a heading',
].join(' ');

/** A deterministic wiggle so series look like data without randomness. */
function wave(i: number, k: number): number {
  return Math.sin(i * 1.3 + k) * 0.5 + Math.cos(i * 0.7 + 2 * k) * 0.3;
}

function sampleValue(unit: MetricUnit, i: number, k: number): number {
  switch (unit) {
    case 'currency':
      return Math.round((40000 + i * 1100 + wave(i, k) * 2500) * (k % 3 === 0 ? 1 : 0.08) * 100) / 100;
    case 'ratio':
      return Math.round((0.05 + wave(i, k) * 0.03) * 10000) / 10000;
    case 'count':
      return Math.round(300 + i * 12 + wave(i, k) * 40);
    case 'nps':
      return Math.round(30 + wave(i, k) * 20);
    case 'seconds':
      return Math.round(3600 + wave(i, k) * 1000);
  }
}

export function sampleReview(opts: SampleReviewOptions = {}): Review {
  const month = opts.month ?? '2026-10';
  const t = opts.text ?? ((_field: string, usual: string) => usual);
  const months = monthsEndingAt(month, 13);
  const days = new Date(monthEnd(month).getTime() - 1).getUTCDate();
  const metrics: Metric[] = REQUIRED_METRICS.map((m, k) => {
    const series = months.map((mo, i) => ({
      month: mo,
      // The first month has no previous month, so growth rates cannot be computed: null, not 0.
      value: i === 0 && /growth|retention/.test(m.id) ? null : sampleValue(m.unit, i, k),
    }));
    const current = series[12]?.value ?? null;
    const previous = series[11]?.value ?? null;
    const relative = m.unit === 'currency' || m.unit === 'count';
    let change: number | null = null;
    if (current !== null && previous !== null) {
      if (!relative) change = current - previous;
      else if (previous !== 0) change = (current - previous) / Math.abs(previous);
    }
    return {
      ...m,
      label: t('metrics.label', m.label),
      series,
      current,
      previous,
      change,
      changeKind: relative ? 'relative' : 'absolute',
      description: `${m.label}: see docs/metrics.md#${m.id}`,
    };
  });
  const mrrNow = metrics[0]?.current ?? 0;

  return {
    schemaVersion: 1,
    product: t('product', 'all'),
    month,
    generatedAt: opts.generatedAt ?? '2026-11-02T08:00:00.000Z',
    currency: 'USD',
    dataCoverage: {
      complete: true,
      status: 'complete',
      statement: null,
      period: { days, coveredDays: days, from: `${month}-01`, to: `${month}-${days}` },
      first: '2025-09-01',
      last: '2026-10-31',
      events: { count: 1_204_331, first: '2025-09-01', last: '2026-10-31', imported: true, rejected: 0 },
      persons: 5210,
      organizations: 412,
      billing: {
        customers: 301,
        invoiceLines: 4120,
        subscriptionRows: 0,
        first: '2025-09-01',
        last: '2026-10-31',
        imported: true,
        rejected: 0,
      },
      feedback: { count: 880, first: '2025-09-03', last: '2026-10-30', imported: true, rejected: 0 },
      monthsWithEvents: months,
      monthsWithBilling: months,
      notes: [t('dataCoverage.notes', 'No subscription CSV imported; revenue comes from Stripe invoices.')],
    },
    metrics,
    anomalies: [
      {
        metricId: 'churned_mrr',
        month,
        direction: 'up',
        expected: 1200,
        actual: 4800,
        score: 5.2,
        explanation: t(
          'anomalies.explanation',
          'Churned MRR 4x the trailing median (median+MAD, 12 months).',
        ),
      },
      {
        metricId: 'active_users',
        month: months[10] ?? month,
        direction: 'down',
        expected: 420,
        actual: 301,
        score: 3.4,
        explanation: t('anomalies.explanation', 'Active users 28% below the trailing median.'),
      },
    ],
    deepDives: [
      {
        id: 'top-customers',
        question: t('deepDives.question', 'Are our 10 biggest customers happy users?'),
        summary: t('deepDives.summary', '7 of the top 10 are happy; Globex is at risk (usage down 40%).'),
        method: t(
          'deepDives.method',
          'Top organizations by MRR at month end; signals over 3 months vs the 3 before.',
        ),
        findings: [
          {
            title: t('findings.title', 'Globex is at risk'),
            detail: t('findings.detail', 'Active users fell from 40 to 24 while seats stayed at 50.'),
            evidence: {
              activeUsersBefore: 40,
              activeUsersNow: 24,
              [t('evidence.key', 'seats')]: t('evidence.value', '50'),
            },
          },
        ],
        data: {
          customers: [
            {
              organization: t('customers.organization', 'org_acme'),
              name: t('customers.name', 'Acme Inc.'),
              mrr: Math.round(mrrNow * 0.12 * 100) / 100,
              health: 'happy',
              signals: [t('customers.signals', 'NPS 9 from 4 people'), 'usage up 12%'],
            },
            {
              organization: t('customers.organization', 'org_globex'),
              name: t('customers.name', 'Globex'),
              mrr: 2400,
              health: 'at-risk',
              signals: {
                activeUsersChange: -0.4,
                tickets: 6,
                note: t('customers.signals', 'asked about export'),
              },
            },
            { organization: 'org_initech', name: null, mrr: 1800.5, health: 'neutral', signals: [] },
            {
              organization: 'org_umbrella',
              name: 'Umbrella',
              mrr: 900,
              health: 'unhappy',
              signals: ['NPS 2'],
            },
          ],
        },
      },
      {
        id: 'icp-vs-non-icp',
        question: t('deepDives.question', 'Do high-ICP and non-ICP customers use the product differently?'),
        summary: t('deepDives.summary', 'High-ICP organizations use dashboards twice as often.'),
        method: t('deepDives.method', 'Two-proportion z-test per event, Benjamini-Hochberg at 5%.'),
        findings: [
          {
            title: t('findings.title', 'Dashboards'),
            detail: t('findings.detail', '62% of ICP vs 31% of non-ICP organizations.'),
            evidence: { test: 'two-proportion z', nIcp: 120, nNonIcp: 290, pValue: 0.0004 },
          },
        ],
        data: {
          features: [
            {
              event: t('features.event', 'dashboard viewed'),
              icpRate: 0.62,
              nonIcpRate: 0.31,
              difference: 0.31,
              pValue: 0.0004,
            },
            {
              event: t('features.event', 'insight created'),
              icpRate: 0.4,
              nonIcpRate: 0.33,
              difference: 0.07,
              pValue: 0.21,
            },
            { event: 'export clicked', icpRate: 0.1, nonIcpRate: 0.15, difference: -0.05, pValue: 0.3 },
          ],
          retention: [
            { label: t('retention.label', 'ICP'), size: 120, values: [120, 101, 95, 90, 86] },
            { label: 'non-ICP', size: 290, values: [290, 200, 170, 150, 139] },
          ],
        },
      },
      {
        id: 'churn-reasons',
        question: t('deepDives.question', 'Why was churn high last month?'),
        summary: t('deepDives.summary', 'Churn was high: monthly-plan customers churned at 3x the baseline.'),
        method: t('deepDives.method', "Fisher's exact test per segment against all others."),
        findings: [],
        data: {
          churned: [
            { organization: t('churned.organization', 'org_hooli'), mrr: 1200 },
            { organization: 'org_vandelay', mrr: 300 },
          ],
          drivers: [
            {
              dimension: t('drivers.dimension', 'plan'),
              value: t('drivers.value', 'Starter monthly'),
              churnRate: 0.12,
              baselineRate: 0.04,
              lift: 3,
              pValue: 0.002,
            },
            {
              dimension: 'country',
              value: 'DE',
              churnRate: 0.06,
              baselineRate: 0.04,
              lift: 1.5,
              pValue: 0.4,
            },
          ],
        },
      },
      {
        id: 'leading-indicators',
        question: t('deepDives.question', 'Which early behaviours predict long-term usage?'),
        summary: t(
          'deepDives.summary',
          'Users who invite 3 teammates in their first 7 days are retained at 71% vs 22%.',
        ),
        method: t('deepDives.method', 'Rules "did X at least k times in d days" scored by MCC.'),
        findings: [],
        data: {
          indicators: [
            {
              event: t('indicators.event', 'teammate invited'),
              threshold: 3,
              windowDays: 7,
              outcomeDays: 56,
              precision: 0.71,
              recall: 0.44,
              lift: 3.2,
              score: 0.41,
            },
            {
              event: 'insight created',
              threshold: 5,
              windowDays: 14,
              outcomeDays: 56,
              precision: 0.55,
              recall: 0.6,
              lift: 2.1,
              score: 0.3,
            },
          ],
        },
      },
      {
        id: 'onboarding-funnel',
        question: t('deepDives.question', 'Where do new users struggle?'),
        summary: t(
          'deepDives.summary',
          'The biggest drop is from signup to the first project (48% continue).',
        ),
        method: t('deepDives.method', 'Ordered funnel over 14 days from the first event.'),
        findings: [],
        data: {
          droppedDidInstead: [{ [t('extra.key', 'event')]: t('extra.value', 'docs viewed'), share: 0.3 }],
          steps: [
            {
              name: t('steps.name', 'signed up'),
              count: 1000,
              conversionFromPrevious: null,
              medianSecondsFromPrevious: null,
            },
            {
              name: t('steps.name', 'project created'),
              count: 480,
              conversionFromPrevious: 0.48,
              medianSecondsFromPrevious: 540,
            },
            {
              name: 'event ingested',
              count: 400,
              conversionFromPrevious: 0.8333,
              medianSecondsFromPrevious: 7200,
            },
          ],
          biggestDrop: t('steps.name', 'project created'),
        },
      },
    ],
    highlights: [
      {
        source: 'anomaly:churned_mrr',
        title: t('highlights.title', 'Churned MRR spiked'),
        detail: t('highlights.detail', 'USD 4,800 churned against 1,200 expected.'),
        weight: 9.1,
      },
      {
        source: 'dive:leading-indicators',
        title: 'Invites predict retention',
        detail: 'See the deep dive.',
        weight: 5,
      },
    ],
    previous: {
      month: months[11] ?? month,
      decision: {
        outcome: 'reprioritize',
        note: t('previous.note', 'Focus on onboarding: first project creation.'),
        decidedAt: '2026-10-03T09:00:00.000Z',
        metricIds: ['active_users'],
      },
      todos: [
        {
          id: 1,
          title: t('todos.title', 'Ship the project template picker'),
          owner: t('todos.owner', 'Ana'),
          status: 'done',
          createdAt: '2026-10-03T09:05:00.000Z',
          doneAt: '2026-10-20T12:00:00.000Z',
          metricIds: ['new_mrr'],
        },
        {
          id: 2,
          title: 'Call Globex',
          owner: null,
          status: 'open',
          createdAt: '2026-10-03T09:06:00.000Z',
          doneAt: null,
          metricIds: [],
        },
      ],
      metricsSince: [
        { metricId: 'active_users', then: 410, now: 452, change: 42 },
        { metricId: 'new_mrr', then: 3100, now: null, change: null },
      ],
    },
  };
}
