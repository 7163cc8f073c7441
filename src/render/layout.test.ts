import { describe, expect, it } from 'vitest';
import { dataFacts, diveLayout, lowerIsBetter, signalsText, tableOf } from './layout.js';

describe('dataFacts', () => {
  it('flattens nested facts two levels deep and turns nested rows into tables', () => {
    const { facts, tables } = dataFacts({
      biggestDrop: 'project created',
      steps: [{ name: 'a' }], // top-level rows are extraTables' job, not a fact
      churn: { high: true, interval95: [0.02, 0.05], organizations: { cohorts: [{ size: 3 }, { size: 4 }] } },
      retention: [{ values: [1] }], // charted
    });
    expect(facts).toEqual([
      ['biggest drop', 'biggestDrop', 'project created'],
      ['churn high', 'high', true],
      ['churn interval95', 'interval95', [0.02, 0.05]],
    ]);
    expect(tables.map((t) => [t.title, t.total])).toEqual([['churn organizations cohorts', 2]]);
  });
});

describe('tableOf', () => {
  it('puts the SPEC columns first, then extra fields, and caps the rows', () => {
    const rows = Array.from({ length: 30 }, (_, i) => ({
      extra: i,
      event: `e${i}`,
      lift: 1,
      nested: { a: i },
    }));
    const t = tableOf('t', rows, ['event', 'lift']);
    expect(t.columns.map((c) => c.key)).toEqual(['event', 'lift', 'extra']);
    expect(t.columns.map((c) => c.text)).toEqual([true, false, false]);
    expect(t.rows).toHaveLength(25);
    expect(t.total).toBe(30);
  });
});

describe('diveLayout', () => {
  it('is empty when a dive has no findings, charts or rows', () => {
    const d = {
      id: 'churn-reasons',
      question: 'q',
      summary: 's',
      method: 'm',
      findings: [],
      data: { churned: [] },
    };
    expect(diveLayout(d).empty).toBe(true);
    expect(diveLayout({ ...d, data: { churned: [{ organization: 'o', mrr: 1 }] } }).empty).toBe(false);
  });
});

describe('signalsText and lowerIsBetter', () => {
  it('reads signals of any shape', () => {
    expect(signalsText(['a', { npsScore: 9 }])).toEqual(['a', 'nps score: 9']);
    expect(
      signalsText([
        { signal: 'seats', detail: '14 of 80 seats', verdict: 'bad' },
        { signal: 'usage', detail: 'up 23%', verdict: 'good' },
      ]),
    ).toEqual(['✗ 14 of 80 seats', '✓ up 23%']);
    expect(signalsText({ tickets: 6 })).toEqual(['tickets: 6']);
    expect(signalsText(null)).toEqual([]);
  });

  it('knows where a rise is bad news', () => {
    expect(['churned_mrr', 'tickets_open', 'nps_detractors'].map(lowerIsBetter)).toEqual([true, true, true]);
    expect(['mrr', 'active_users'].map(lowerIsBetter)).toEqual([false, false]);
  });
});
