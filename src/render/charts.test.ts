import { describe, expect, it } from 'vitest';
import {
  churnDriverBars,
  diveCharts,
  funnelBars,
  icpBars,
  liftBars,
  retentionCurves,
  sparkline,
} from './charts.js';
import { sampleReview } from '../../test/helpers/sample-review.js';

const HOSTILE = '<script>alert(1)</script>"><img src=x onerror=alert(1)></style>';

describe('charts', () => {
  const review = sampleReview();

  it('renders a sparkline per metric, byte-identical on a second render, with no renderer counter ids', () => {
    for (const m of review.metrics) {
      const a = sparkline(m, review.anomalies);
      const b = sparkline(m, review.anomalies);
      expect(a).toBe(b);
      expect(a.startsWith('<svg')).toBe(true);
      expect(a).not.toMatch(/zr\d+-/);
      expect(a).toContain('width="120" height="28"');
    }
  });

  it('marks anomalous months on the sparkline in red', () => {
    const churned = review.metrics.find((m) => m.id === 'churned_mrr')!;
    expect(sparkline(churned, review.anomalies)).toContain('#d22');
    expect(sparkline(churned, [])).not.toContain('#d22');
  });

  it('draws one chart per kind of deep dive data, deterministically', () => {
    const names = review.deepDives.flatMap((d) => diveCharts(d).map((c) => c.name));
    // top-customers is a table, not a chart; icp-vs-non-icp has features and retention.
    expect(names).toEqual([
      'icp-vs-non-icp-icp',
      'icp-vs-non-icp-retention',
      'churn-reasons-drivers',
      'leading-indicators-lift',
      'onboarding-funnel-funnel',
    ]);
    const again = review.deepDives.flatMap((d) => diveCharts(d).map((c) => c.svg));
    expect(review.deepDives.flatMap((d) => diveCharts(d).map((c) => c.svg))).toEqual(again);
  });

  it('gives every chart its own id prefix, so clip paths and classes do not collide on one page', () => {
    const a = funnelBars('one', [{ name: 'a', count: 3 }])!;
    const b = funnelBars('two', [{ name: 'a', count: 3 }])!;
    expect(a).toContain('c-one-');
    expect(b).toContain('c-two-');
    expect(a.replaceAll('c-one-', 'c-two-')).toBe(b);
  });

  it('escapes hostile labels in the SVG it writes', () => {
    const svgs = [
      funnelBars('f', [{ name: HOSTILE, count: 5 }])!,
      liftBars('l', [{ event: HOSTILE, threshold: 3, windowDays: 7, lift: 2 }])!,
      churnDriverBars('c', [{ dimension: HOSTILE, value: HOSTILE, lift: 2, pValue: 0.01 }])!,
      icpBars('i', [{ event: HOSTILE, icpRate: 0.5, nonIcpRate: 0.2 }])!,
      retentionCurves('r', [{ label: HOSTILE, values: [0.9, 0.5] }])!,
    ];
    for (const svg of svgs) {
      expect(svg).not.toContain('<script');
      expect(svg).not.toContain('<img');
      expect(svg).not.toMatch(/<\/style>[\s\S]*<\/style>/);
      expect(svg).toContain('&lt;');
    }
  });

  it('returns null for absent, empty or malformed data instead of throwing', () => {
    expect(funnelBars('f', [])).toBeNull();
    expect(funnelBars('f', [{ name: 'x', count: 'many' }])).toBeNull();
    expect(liftBars('l', [{ event: 'x' }])).toBeNull();
    expect(churnDriverBars('c', [])).toBeNull();
    expect(icpBars('i', [{ event: 'x', icpRate: null, nonIcpRate: null }])).toBeNull();
    expect(retentionCurves('r', undefined)).toBeNull();
    expect(retentionCurves('r', { cohorts: 'no' })).toBeNull();
    expect(diveCharts({ id: 'x', question: '', summary: '', method: '', findings: [], data: {} })).toEqual(
      [],
    );
    expect(
      diveCharts({
        id: 'onboarding-funnel',
        question: '',
        summary: '',
        method: '',
        findings: [],
        data: null as never,
      }),
    ).toEqual([]);
  });

  it('reads retention counts against the cohort size', () => {
    // 120 of 120, then 60 of 120 = 50%: the value axis spans y = 40 (100%) .. 240 (0%; ECharts keeps
    // room below for the axis name), so the points sit at y = 40 and y = (40 + 240) / 2 = 140.
    const svg = retentionCurves('r', { cohorts: [{ date: '2026-01-05', size: 120, values: [120, 60] }] })!;
    expect(svg).toContain('2026-01-05');
    expect(svg).toMatch(/<path d="M\S+ 40L\S+ 140(\.\d+)?"/);
  });
});
