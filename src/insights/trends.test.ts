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
    await expect(trends(e, { ...spec, math: 'p90' as 'total' })).rejects.toThrow(/field 'math'/);
  });
});

describe('trends math of a property (sum, avg, min, max)', () => {
  const buys: TestEvent[] = [
    { event: 'buy', person: 'p1', at: '2024-01-01T10:00:00', props: { amount: 10 } },
    { event: 'buy', person: 'p2', at: '2024-01-01T11:00:00', props: { amount: '5.5' } }, // numeric text counts
    { event: 'buy', person: 'p1', at: '2024-01-01T12:00:00' }, // no amount: left out
    { event: 'buy', person: 'p2', at: '2024-01-01T13:00:00', props: { amount: 'abc' } }, // not a number
    { event: 'buy', person: 'p3', at: '2024-01-03T10:00:00', props: { amount: -2 } },
    { event: 'buy', person: 'p3', at: '2024-01-03T11:00:00', props: { amount: 4 } },
    { event: 'buy', person: 'p3', at: '2024-01-03T12:00:00', props: { amount: true } }, // a boolean is not
    { event: 'use', person: 'p3', at: '2024-01-03T12:00:00', props: { amount: 1000 } }, // another event
    { event: 'buy', person: 'p3', at: '2024-01-04T10:00:00', props: { amount: 100 } }, // after dateTo
  ];
  const buySpec = { dateFrom: '2024-01-01', dateTo: '2024-01-03', events: ['buy'], mathProperty: 'amount' };
  const points = (r: Awaited<ReturnType<typeof trends>>) => r.series[0]?.points.map((p) => p.value);

  it('aggregates the numeric values; avg is over the events that have one; no value is null, not 0', async () => {
    e = await engineWith(buys);
    expect(points(await trends(e, { ...buySpec, math: 'sum' }))).toEqual([15.5, 0, 2]); // 10 + 5.5; none; −2 + 4
    expect(points(await trends(e, { ...buySpec, math: 'avg' }))).toEqual([7.75, null, 1]); // (10 + 5.5) / 2
    expect(points(await trends(e, { ...buySpec, math: 'min' }))).toEqual([5.5, null, -2]);
    expect(points(await trends(e, { ...buySpec, math: 'max' }))).toEqual([10, null, 4]);
  });

  it('per week, and with a property filter on the series', async () => {
    e = await engineWith(buys);
    const r = await trends(e, {
      ...buySpec,
      dateTo: '2024-01-06', // a Saturday: one whole week
      interval: 'week',
      math: 'sum',
      events: [{ event: 'buy', properties: [{ key: 'amount', operator: 'gt', value: 0 }] }],
    });
    // week of Sunday 2023-12-31: 10 + 5.5 + 4 + 100 (the 4th is in range now); −2 is filtered out
    expect(r.series[0]?.points).toEqual([{ date: '2023-12-31', value: 119.5 }]);
  });

  it('needs mathProperty for sum/avg/min/max and refuses it for the counts, naming the field', async () => {
    e = await engineWith([]);
    await expect(trends(e, { ...spec, math: 'avg' })).rejects.toThrow(
      /field 'mathProperty'.*needs a mathProperty/,
    );
    await expect(trends(e, { ...spec, math: 'dau', mathProperty: 'amount' })).rejects.toThrow(
      /field 'mathProperty'/,
    );
  });
});
