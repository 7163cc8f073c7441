import { afterEach, describe, expect, it } from 'vitest';
import type { DuckDbEngine } from '../store/duckdb/engine.js';
import { retention } from './retention.js';
import { engineWith, type TestEvent } from '../../test/helpers/insight-events.js';

let e: DuckDbEngine | undefined;
afterEach(async () => {
  await e?.close();
  e = undefined;
});

const daily: TestEvent[] = [
  { event: 'use', person: 'p1', at: '2024-01-03T10:00:00' },
  { event: 'use', person: 'p1', at: '2024-01-04T23:59:59' }, // last second of the 4th
  { event: 'use', person: 'p1', at: '2024-01-05T00:00:00' }, // first second of the 5th
  { event: 'use', person: 'p2', at: '2024-01-03T08:00:00' },
  { event: 'use', person: 'p2', at: '2024-01-05T08:00:00' },
  { event: 'use', person: 'p3', at: '2024-01-02T08:00:00' }, // before the first cohort
  { event: 'use', person: 'p3', at: '2024-01-04T08:00:00' },
  { event: 'use', person: 'p4', at: '2024-01-06T08:00:00' }, // after dateTo
];

describe('retention', () => {
  it('recurring (the default): everyone active in a period is in its cohort', async () => {
    e = await engineWith(daily);
    const r = await retention(e, {
      dateTo: '2024-01-05',
      targetEvent: 'use',
      period: 'day',
      totalIntervals: 3,
    });
    expect(r.cohorts).toEqual([
      // 3rd: p1, p2; back on the 4th: p1; on the 5th: p1, p2
      { date: '2024-01-03', size: 2, values: [2, 1, 2] },
      // 4th: p1, p3; back on the 5th: p1
      { date: '2024-01-04', size: 2, values: [2, 1] },
      // 5th: p1, p2; no later period in range
      { date: '2024-01-05', size: 2, values: [2] },
    ]);
  });

  it('first_time: only the period of the first target event ever', async () => {
    e = await engineWith(daily);
    const r = await retention(e, {
      dateTo: '2024-01-05',
      targetEvent: 'use',
      period: 'day',
      totalIntervals: 3,
      retentionType: 'first_time',
    });
    expect(r.cohorts).toEqual([
      { date: '2024-01-03', size: 2, values: [2, 1, 2] }, // p1, p2 first used on the 3rd
      { date: '2024-01-04', size: 0, values: [0, 0] }, // p3 first used on the 2nd: in no cohort
      { date: '2024-01-05', size: 0, values: [0] },
    ]);
  });

  it('a returning event by another distinct_id of the same person counts', async () => {
    e = await engineWith([
      { event: 'signup', person: 'P', distinctId: 'anon', at: '2024-01-03T10:00:00' },
      { event: 'use', person: 'P', distinctId: 'user-1', at: '2024-01-04T10:00:00' },
      { event: 'signup', person: 'Q', at: '2024-01-03T10:00:00' },
    ]);
    const r = await retention(e, {
      dateFrom: '2024-01-03',
      dateTo: '2024-01-04',
      targetEvent: 'signup',
      returningEvent: 'use',
      period: 'day',
    });
    // cohort of the 3rd: P, Q; P used the product the next day
    expect(r.cohorts).toEqual([
      { date: '2024-01-03', size: 2, values: [2, 1] },
      { date: '2024-01-04', size: 0, values: [0] },
    ]);
  });

  it('weeks start on sunday by default, or monday', async () => {
    const events: TestEvent[] = [
      { event: 'use', person: 'p1', at: '2024-01-08T10:00:00' }, // a Monday
      { event: 'use', person: 'p1', at: '2024-01-14T10:00:00' }, // the next Sunday
    ];
    e = await engineWith(events);
    const spec = { dateTo: '2024-01-20', targetEvent: 'use', period: 'week', totalIntervals: 2 } as const;
    // sunday weeks: Mon 8th is in the week of Sun 7th, Sun 14th starts the next week → returned
    expect((await retention(e, spec)).cohorts).toEqual([
      { date: '2024-01-07', size: 1, values: [1, 1] },
      { date: '2024-01-14', size: 1, values: [1] },
    ]);
    // monday weeks: both days are in the week of Mon 8th → not returned in week 1
    expect((await retention(e, { ...spec, weekStartDay: 'monday' })).cohorts).toEqual([
      { date: '2024-01-08', size: 1, values: [1, 0] },
      { date: '2024-01-15', size: 0, values: [0] },
    ]);
  });

  it('months: the last second of a month and the first of the next are one period apart', async () => {
    e = await engineWith([
      { event: 'use', person: 'p1', at: '2024-01-31T23:59:59' },
      { event: 'use', person: 'p1', at: '2024-02-01T00:00:00' },
    ]);
    const r = await retention(e, {
      dateTo: '2024-03-15',
      targetEvent: 'use',
      period: 'month',
      totalIntervals: 3,
    });
    expect(r.cohorts).toEqual([
      { date: '2024-01-01', size: 1, values: [1, 1, 0] },
      { date: '2024-02-01', size: 1, values: [1, 0] }, // recurring: p1 is in February's cohort too
      { date: '2024-03-01', size: 0, values: [0] }, // an empty period
    ]);
  });

  it('rejects a bad period naming the field', async () => {
    e = await engineWith([]);
    await expect(
      retention(e, { dateTo: '2024-01-05', targetEvent: 'use', period: 'year' as 'day' }),
    ).rejects.toThrow(/field 'period'/);
  });
});

describe('retention with dateFrom', () => {
  it('makes a cohort of every period from dateFrom, each with at most totalIntervals values', async () => {
    e = await engineWith([
      { event: 'use', person: 'p1', at: '2024-01-01T10:00:00' },
      { event: 'use', person: 'p1', at: '2024-01-04T10:00:00' },
    ]);
    const r = await retention(e, {
      dateFrom: '2024-01-01',
      dateTo: '2024-01-04',
      targetEvent: 'use',
      totalIntervals: 2,
    });
    expect(r.cohorts).toEqual([
      { date: '2024-01-01', size: 1, values: [1, 0] }, // p1 back on the 4th: interval 3, beyond 2 values
      { date: '2024-01-02', size: 0, values: [0, 0] },
      { date: '2024-01-03', size: 0, values: [0, 0] },
      { date: '2024-01-04', size: 1, values: [1] },
    ]);
  });
});
