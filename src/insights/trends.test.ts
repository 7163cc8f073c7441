import { afterEach, describe, expect, it } from 'vitest';
import type { DuckDbEngine } from '../store/duckdb/engine.js';
import { trends } from './trends.js';
import { engineWith, type TestEvent } from '../../test/helpers/insight-events.js';

let e: DuckDbEngine | undefined;
afterEach(async () => {
  await e?.close();
  e = undefined;
});

const events: TestEvent[] = [
  { event: 'use', person: 'p1', at: '2024-01-01T10:00:00', org: 'o1' },
  { event: 'use', person: 'p1', distinctId: 'p1-phone', at: '2024-01-01T11:00:00', org: 'o1' },
  { event: 'use', person: 'p2', at: '2024-01-01T12:00:00' }, // no organization
  { event: 'buy', person: 'p1', at: '2024-01-02T10:00:00', org: 'o1' },
  { event: 'use', person: 'p1', at: '2024-01-03T00:00:00', org: 'o1' },
  { event: 'use', person: 'p3', at: '2024-01-03T23:59:59', org: 'o2' },
  { event: 'use', person: 'p3', at: '2024-01-04T00:00:00', org: 'o2' }, // after dateTo
];
const spec = { dateFrom: '2024-01-01', dateTo: '2024-01-03', events: ['use', 'buy'] };
const values = (r: Awaited<ReturnType<typeof trends>>) =>
  r.series.map((s) => [s.event, s.points.map((p) => p.value)]);

describe('trends', () => {
  it('total: events per interval, empty intervals as 0', async () => {
    e = await engineWith(events);
    const r = await trends(e, spec);
    expect(r.series[0]?.points.map((p) => p.date)).toEqual(['2024-01-01', '2024-01-02', '2024-01-03']);
    expect(values(r)).toEqual([
      ['use', [3, 0, 2]], // 1st: p1 ×2, p2; 3rd: p1, p3
      ['buy', [0, 1, 0]],
    ]);
  });

  it('dau: distinct people; unique_group: distinct organizations, none without one', async () => {
    e = await engineWith(events);
    expect(values(await trends(e, { ...spec, math: 'dau' }))).toEqual([
      ['use', [2, 0, 2]], // 1st: p1 (two distinct_ids), p2
      ['buy', [0, 1, 0]],
    ]);
    expect(values(await trends(e, { ...spec, math: 'unique_group' }))).toEqual([
      ['use', [1, 0, 2]], // 1st: o1 (p2 has none); 3rd: o1, o2
      ['buy', [0, 1, 0]],
    ]);
  });

  it('weekly buckets starting monday', async () => {
    e = await engineWith(events);
    const r = await trends(e, {
      dateFrom: '2024-01-01',
      dateTo: '2024-01-14',
      events: ['use'],
      interval: 'week',
      weekStartDay: 'monday',
    });
    expect(r.series[0]?.points).toEqual([
      { date: '2024-01-01', value: 6 }, // every use, including the 4th
      { date: '2024-01-08', value: 0 },
    ]);
  });

  it('rejects math it does not know, naming the field', async () => {
    e = await engineWith([]);
    await expect(trends(e, { ...spec, math: 'sum' as 'total' })).rejects.toThrow(/field 'math'/);
  });
});
