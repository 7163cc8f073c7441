import { describe, expect, it } from 'vitest';
import type { Anomaly, DeepDive, Finding, Metric, MetricUnit } from '../domain/review.js';
import { monthsEndingAt } from '../domain/month.js';
import { moveTest, rankHighlights } from './highlights.js';

const MONTH = '2026-07';

function metric(
  id: string,
  label: string,
  unit: MetricUnit,
  previous: number,
  current: number,
  changeKind: 'relative' | 'absolute',
  history: number[] = [],
  detail?: [Record<string, number>, Record<string, number>],
): Metric {
  const months = monthsEndingAt(MONTH, history.length + 2);
  const values = [...history, previous, current];
  const m: Metric = {
    id,
    group: 'revenue',
    label,
    unit,
    series: months.map((month, i) => ({ month, value: values[i] as number })),
    current,
    previous,
    change: changeKind === 'relative' ? (current - previous) / Math.abs(previous) : current - previous,
    changeKind,
  };
  if (detail) m.detail = { [months.at(-2) as string]: detail[0], [MONTH]: detail[1] };
  return m;
}

function dive(id: string, findings: Finding[]): DeepDive {
  return { id, question: '?', summary: '', method: '', findings, data: {} };
}

const metrics = [
  // +5.26%, past the 5% bar, and beyond the trailing months' variation (robust test on logs).
  metric('mrr', 'MRR', 'currency', 95000, 100000, 'relative', [94000, 95500, 94500, 95200, 94800]),
  metric('customer_churn_rate', 'Customer churn rate', 'ratio', 0.03, 0.07, 'absolute'),
  metric('tickets', 'Tickets', 'count', 100, 110, 'relative'), // +10%, under the 15% bar
  // −12 points on 1,000 answers a month, past the 10-point bar: z-test p ≈ 1e-4.
  metric(
    'nps',
    'NPS',
    'nps',
    40,
    28,
    'absolute',
    [],
    [
      { promoters: 500, passives: 400, detractors: 100 },
      { promoters: 440, passives: 400, detractors: 160 },
    ],
  ),
];
const anomalies: Anomaly[] = [
  {
    metricId: 'customer_churn_rate',
    month: MONTH,
    direction: 'up',
    expected: 0.03,
    actual: 0.07,
    score: 7,
    explanation: 'Customer churn rate 7% is 7.0 robust SDs above the median 3%',
  },
];
const deepDives = [
  dive('churn-reasons', [
    {
      title: 'Monthly-plan customers churned 3× as often',
      detail: '…',
      evidence: { test: 'fisher-exact-two-sided', pValue: 0.001, qValue: 0.004, lift: 3, mrr: 2000 },
    },
    { title: 'Industry: retail', detail: '…', evidence: { pValue: 0.3, qValue: 0.2, lift: 1.4 } },
  ]),
  dive('icp-vs-non-icp', [
    {
      title: 'ICP organizations use reports far more',
      detail: 'd1',
      evidence: { pValue: 1e-9, qValue: 1e-8 },
    },
    { title: 'Not enough', detail: '', evidence: { notEnoughData: true, reason: '3 organizations' } },
  ]),
  dive('top-customers', [{ title: 'Acme is at risk', detail: 'd2', evidence: { mrr: 10000 } }]),
];

describe('rankHighlights', () => {
  const h = rankHighlights({ metrics, anomalies, deepDives, currency: 'USD' });

  it('ranks across sources with the documented weights', () => {
    // churn anomaly: 4 + 2·min(7/3.5 − 1, 1.5) + 0 (a ratio) + 1 (headline) = 7, merged with the
    //   churn-reasons finding (2.5 + 3·2.39794/6 + 1.5·ln 3/ln 4 + 2·0.4 = 5.68769): max + 1 = 8.
    // icp finding: 2.5 + 3 (q = 1e-8, capped at 6 decades) = 5.5.
    // top customer: 2.5 + 1 (no test) + 2·min(10000/100000/0.05, 1) = 5.5.
    // MRR move: 1.5 + 0.5·(0.0526316/0.05) + 2 (5,000 = 5% of MRR) + 1 = 5.03.
    // NPS move: 1.5 + 0.5·(12/10) = 2.1. Tickets (+10%) and the q = 0.2 finding are left out.
    expect(h.map((x) => [x.source, x.weight])).toEqual([
      ['anomaly:customer_churn_rate', 8],
      ['dive:icp-vs-non-icp', 5.5],
      ['dive:top-customers', 5.5],
      ['metric:mrr', 5.03],
      ['metric:nps', 2.1],
    ]);
  });

  it('merges a dive finding into the anomaly it explains', () => {
    expect(h[0]?.title).toBe('Customer churn rate unusually high: 7% vs 3% expected');
    expect(h[0]?.detail).toBe(
      'Customer churn rate 7% is 7.0 robust SDs above the median 3%. Why: Monthly-plan customers churned 3× as often',
    );
    expect(h.some((x) => x.source === 'dive:churn-reasons')).toBe(false);
  });

  it('describes moves in the metric unit', () => {
    const mrr = h.find((x) => x.source === 'metric:mrr');
    expect(mrr?.title).toBe('MRR up 5.3% month on month');
    expect(mrr?.detail).toMatch(/^\$95K → \$100K \(6 months before; p 0\.0\d+, q 0\.0\d+\)\.$/);
    expect(h.find((x) => x.source === 'metric:nps')?.title).toBe('NPS down 12.0 points month on month');
  });

  it('keeps at most `limit` highlights and at most two findings per dive', () => {
    expect(rankHighlights({ metrics, anomalies, deepDives, limit: 2 })).toHaveLength(2);
    const many = dive(
      'leading-indicators',
      [1e-6, 1e-5, 1e-4].map((q, i) => ({ title: `rule ${i}`, detail: '', evidence: { qValue: q } })),
    );
    const r = rankHighlights({ metrics: [], anomalies: [], deepDives: [many] });
    expect(r.map((x) => x.title)).toEqual(['rule 0', 'rule 1']);
  });

  it('links findings to metrics named in their evidence', () => {
    const d = dive('onboarding-funnel', [
      { title: 'Step 2 lost half', detail: '', evidence: { pValue: 0.001, metricIds: ['nps'] } },
    ]);
    const r = rankHighlights({ metrics, anomalies: [], deepDives: [d] });
    const nps = r.find((x) => x.source === 'metric:nps');
    // NPS move 2.1, finding 2.5 + 3·3/6 = 4 → max + 1 = 5.
    expect(nps?.weight).toBe(5);
    expect(nps?.detail).toMatch(/Why: Step 2 lost half$/);
  });

  it('a move needs a test fitted to its data and enough data for it', () => {
    const npsOf = (c: [number, number, number]) => ({ promoters: c[0], passives: c[1], detractors: c[2] });
    // NPS −100 from a single answer after 30 from 50 answers: not enough answers, no highlight.
    const single = metric(
      'nps',
      'NPS',
      'nps',
      30,
      -100,
      'absolute',
      [],
      [npsOf([25, 15, 10]), npsOf([0, 0, 1])],
    );
    expect(moveTest(single)).toMatchObject({
      notEnoughData: true,
      reason: '50 and 1 answers; need 10 in each month',
    });
    expect(rankHighlights({ metrics: [single], anomalies: [], deepDives: [] })).toEqual([]);
    // NPS without answer counts is never tested.
    expect(
      rankHighlights({
        metrics: [metric('nps', 'NPS', 'nps', 40, -100, 'absolute')],
        anomalies: [],
        deepDives: [],
      }),
    ).toEqual([]);
    // Counts: 2 → 3 is +50% but nothing (exact conditional binomial p = 1); 20 → 60 is real.
    expect(moveTest(metric('tickets', 'Tickets', 'count', 2, 3, 'relative'))).toMatchObject({ pValue: 1 });
    const r = rankHighlights({
      metrics: [
        metric('tickets', 'Tickets', 'count', 2, 3, 'relative'),
        metric('signups', 'Sign-ups', 'count', 20, 60, 'relative'),
      ],
      anomalies: [],
      deepDives: [],
    });
    expect(r.map((x) => x.source)).toEqual(['metric:signups']);
    // p for 60 of 80 under Binomial(80, ½), two-sided, by the incomplete beta: ≈ 9.3e-6.
    expect(
      (moveTest(metric('signups', 'Sign-ups', 'count', 20, 60, 'relative')) as { pValue: number }).pValue,
    ).toBeCloseTo(8.5806e-6, 9);
  });

  it('returns nothing when nothing is notable (negative control)', () => {
    const quiet = [metric('mrr', 'MRR', 'currency', 100000, 101000, 'relative')];
    const d = dive('churn-reasons', [{ title: 'x', detail: '', evidence: { pValue: 0.4 } }]);
    expect(rankHighlights({ metrics: quiet, anomalies: [], deepDives: [d] })).toEqual([]);
  });
});
