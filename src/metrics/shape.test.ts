import { describe, expect, it } from 'vitest';
import { toMetric } from './shape.js';
import type { MetricValues } from './types.js';

const base = { group: 'revenue', label: 'MRR', description: 'd' } as const;

describe('toMetric', () => {
  it('relative change for money: (120 - 100) / 100 = 0.2; missing months are null, never 0', () => {
    const v: MetricValues = {
      ...base,
      id: 'mrr',
      unit: 'currency',
      values: new Map([
        ['2024-02', 100],
        ['2024-03', 120],
      ]),
    };
    const m = toMetric(v, ['2024-01', '2024-02', '2024-03']);
    expect(m.series).toEqual([
      { month: '2024-01', value: null },
      { month: '2024-02', value: 100 },
      { month: '2024-03', value: 120 },
    ]);
    expect(m).toMatchObject({ current: 120, previous: 100, change: 0.2, changeKind: 'relative' });
  });
  it('absolute change for ratios: 0.05 - 0.08 = -0.03; relative change from 0 is null', () => {
    const r = toMetric(
      {
        ...base,
        id: 'revenue_churn_rate',
        unit: 'ratio',
        values: new Map([
          ['2024-01', 0.08],
          ['2024-02', 0.05],
        ]),
      },
      ['2024-01', '2024-02'],
    );
    expect(r.change).toBeCloseTo(-0.03, 12);
    expect(r.changeKind).toBe('absolute');
    const c = toMetric(
      {
        ...base,
        id: 'x',
        unit: 'count',
        values: new Map([
          ['2024-01', 0],
          ['2024-02', 5],
        ]),
      },
      ['2024-01', '2024-02'],
    );
    expect(c.change).toBeNull();
  });
  it('turns NaN and Infinity into null', () => {
    const m = toMetric(
      {
        ...base,
        id: 'x',
        unit: 'count',
        values: new Map([
          ['2024-01', NaN],
          ['2024-02', Infinity],
        ]),
      },
      ['2024-01', '2024-02'],
    );
    expect(m.series.map((p) => p.value)).toEqual([null, null]);
  });
});
