import { describe, expect, it } from 'vitest';
import { dataFacts, diveLayout, lowerIsBetter, signalsText, tableOf } from './layout.js';

describe('dataFacts', () => {
  it("shows the top level's plain values and intervals, never nested structures flattened into labels", () => {
    const { facts, tables } = dataFacts({
      biggestDrop: 'project created',
      newUsers: 187,
      interval95: [0.02, 0.05],
      high: true, // bookkeeping flag
      steps: [{ name: 'a' }], // top-level rows are extraTables' job, not a fact
      windows: { last3: { from: '2026-08', to: '2026-10' } }, // was "windows last3 from"
      churn: { organizations: { cohorts: [{ size: 3 }, { size: 4 }] } },
      retention: [{ values: [1] }], // charted
    });
    expect(facts).toEqual([
      ['biggest drop', 'biggestDrop', 'project created'],
      ['new users', 'newUsers', 187],
      ['95% interval', 'interval95', [0.02, 0.05]],
    ]);
    expect(tables).toEqual([]);
  });
});

describe('tableOf', () => {
  it("shows a known table's own columns only, an unknown one's plain fields, and caps the rows", () => {
    const rows = Array.from({ length: 30 }, (_, i) => ({
      extra: i,
      event: `e${i}`,
      lift: 1,
      nested: { a: i },
    }));
    const t = tableOf('t', rows, ['event', 'lift']);
    expect(t.columns.map((c) => c.key)).toEqual(['event', 'lift']);
    expect(t.columns.map((c) => c.text)).toEqual([true, false]);
    expect(tableOf('u', rows).columns.map((c) => c.key)).toEqual(['extra', 'event', 'lift']);
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
    expect(signalsText(['a', { npsScore: 9, nested: { x: 1 } }])).toEqual(['a', 'nps score: 9.00']);
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
