import { describe, expect, it } from 'vitest';
import type { Metric } from '../domain/review.js';
import { DuckDbEngine } from '../store/duckdb/engine.js';
import {
  addTodo,
  listTodos,
  markTodoDone,
  metricIdsIn,
  previousReview,
  recordDecision,
} from './decisions.js';

async function engine() {
  const e = await DuckDbEngine.open(':memory:');
  await e.migrate();
  return e;
}

function metric(id: string, values: Record<string, number | null>): Metric {
  const series = Object.entries(values).map(([month, value]) => ({ month, value }));
  return {
    id,
    group: 'revenue',
    label: id,
    unit: 'currency',
    series,
    current: series.at(-1)!.value,
    previous: series.at(-2)!.value,
    change: null,
    changeKind: 'relative',
  };
}

describe('decision loop', () => {
  it('finds metric ids written in free text, whole words only', () => {
    const ids = ['mrr', 'nps', 'active_users', 'arr'];
    expect(metricIdsIn('Grow mrr; watch NPS and active_users.', ids)).toEqual(['active_users', 'mrr']);
    expect(metricIdsIn('mrr_growth is fine, carry on', ids)).toEqual([]);
  });

  it("the next month's review shows the decision, each to-do's status and how named metrics moved", async () => {
    const e = await engine();
    const t0 = new Date('2026-10-05T10:00:00Z');
    await recordDecision(e, {
      product: 'all',
      month: '2026-09',
      outcome: 'reprioritize',
      note: 'fix churn',
      metricIds: ['mrr'],
      now: t0,
    });
    const a = await addTodo(e, {
      product: 'all',
      month: '2026-09',
      title: 'Call top 10',
      owner: 'ann',
      metricIds: ['nps'],
      now: t0,
    });
    const b = await addTodo(e, {
      product: 'all',
      month: '2026-09',
      title: 'Ship invites',
      owner: null,
      metricIds: [],
      now: t0,
    });
    // A to-do of another product must not show up in this product's review.
    await addTodo(e, {
      product: 'replay',
      month: '2026-09',
      title: 'other',
      owner: null,
      metricIds: [],
      now: t0,
    });
    await markTodoDone(e, a, new Date('2026-10-20T00:00:00Z'));

    const metrics = [
      metric('mrr', { '2026-08': 90, '2026-09': 100, '2026-10': 112.5 }),
      metric('nps', { '2026-08': 30, '2026-09': 31, '2026-10': null }),
    ];
    const prev = await previousReview(e, 'all', '2026-10', metrics);
    expect(prev?.month).toBe('2026-09');
    expect(prev?.decision).toMatchObject({ outcome: 'reprioritize', note: 'fix churn', metricIds: ['mrr'] });
    expect(prev?.todos.map((t) => [t.id, t.title, t.status, t.owner])).toEqual([
      [a, 'Call top 10', 'done', 'ann'],
      [b, 'Ship invites', 'open', null],
    ]);
    // mrr: 100 in 2026-09 → 112.5 now, +12.5; nps has no value now, so no change.
    expect(prev?.metricsSince).toEqual([
      { metricId: 'mrr', then: 100, now: 112.5, change: 12.5 },
      { metricId: 'nps', then: 31, now: null, change: null },
    ]);
    // The first review ever has no previous; a later decision replaces an earlier one for the same review.
    expect(await previousReview(e, 'all', '2026-09', metrics)).toBeNull();
    await recordDecision(e, {
      product: 'all',
      month: '2026-09',
      outcome: 'continue',
      note: null,
      metricIds: [],
      now: t0,
    });
    expect((await previousReview(e, 'all', '2026-10', metrics))?.decision?.outcome).toBe('continue');
    expect((await listTodos(e, { product: 'replay' })).map((t) => t.title)).toEqual(['other']);
    await e.close();
  });

  it('rejects an unknown outcome and an unknown to-do', async () => {
    const e = await engine();
    await expect(
      recordDecision(e, { product: 'all', month: '2026-09', outcome: 'pivot', note: null, metricIds: [] }),
    ).rejects.toThrow("'pivot' is not one of continue");
    await expect(markTodoDone(e, 42)).rejects.toThrow('no to-do with id 42');
    await e.close();
  });
});
