import { afterEach, describe, expect, it } from 'vitest';
import type { DuckDbEngine } from '../store/duckdb/engine.js';
import { sql } from '../store/sql.js';
import { BREAKDOWN_OTHER, retention } from './retention.js';
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

describe('retention with a breakdown (PostHog semantics)', () => {
  // p1 switches from free to pro on the 3rd; p3 never sends a plan; p4 starts on the 2nd.
  const planned: TestEvent[] = [
    { event: 'use', person: 'p1', at: '2024-01-01T10:00:00', props: { plan: 'free' }, org: 'o1' },
    { event: 'use', person: 'p1', at: '2024-01-02T10:00:00', props: { plan: 'free' }, org: 'o1' },
    { event: 'use', person: 'p1', at: '2024-01-03T10:00:00', props: { plan: 'pro' }, org: 'o2' },
    { event: 'use', person: 'p2', at: '2024-01-01T11:00:00', props: { plan: 'pro' }, org: 'o2' },
    { event: 'use', person: 'p2', at: '2024-01-03T11:00:00', props: { plan: 'pro' }, org: 'o2' },
    { event: 'use', person: 'p3', at: '2024-01-01T12:00:00' },
    { event: 'use', person: 'p3', at: '2024-01-02T12:00:00' },
    { event: 'use', person: 'p4', at: '2024-01-02T13:00:00', props: { plan: 'free' }, org: 'o1' },
  ];
  const base = { dateTo: '2024-01-03', targetEvent: 'use', period: 'day' as const, totalIntervals: 3 };

  it('event property: each value is a retention of its own events, ranked by total cohort size', async () => {
    e = await engineWith(planned);
    const r = await retention(e, { ...base, breakdown: { property: 'plan' } });
    expect(r.cohorts).toBeUndefined();
    expect(r.breakdowns).toEqual([
      {
        value: 'free', // total 3; ties with pro, first by value
        cohorts: [
          { date: '2024-01-01', size: 1, values: [1, 1, 0] }, // p1; free again on the 2nd, pro on the 3rd
          { date: '2024-01-02', size: 2, values: [2, 0] }, // p1, p4
          { date: '2024-01-03', size: 0, values: [0] },
        ],
      },
      {
        value: 'pro', // total 3
        cohorts: [
          { date: '2024-01-01', size: 1, values: [1, 0, 1] }, // p2, back on the 3rd
          { date: '2024-01-02', size: 0, values: [0, 0] },
          { date: '2024-01-03', size: 2, values: [2] }, // p1, p2
        ],
      },
      {
        value: null, // p3, no plan: total 2
        cohorts: [
          { date: '2024-01-01', size: 1, values: [1, 1, 0] },
          { date: '2024-01-02', size: 1, values: [1, 0] },
          { date: '2024-01-03', size: 0, values: [0] },
        ],
      },
    ]);
  });

  it('past the limit the values are summed into PostHog\'s "other"', async () => {
    e = await engineWith(planned);
    const r = await retention(e, { ...base, breakdown: { property: 'plan', limit: 1 } });
    expect(r.breakdowns?.map((b) => b.value)).toEqual(['free', BREAKDOWN_OTHER]);
    expect(r.breakdowns?.[1]?.cohorts).toEqual([
      { date: '2024-01-01', size: 2, values: [2, 1, 1] }, // pro [1,0,1] + none [1,1,0]
      { date: '2024-01-02', size: 1, values: [1, 0] }, // pro [0,0] + none [1,0]
      { date: '2024-01-03', size: 2, values: [2] }, // pro [2] + none [0]
    ]);
  });

  it('person property: from the person, whatever the event carries; no value ranks as ""', async () => {
    e = await engineWith(planned);
    await e.exec(
      sql`INSERT INTO persons VALUES ('p1', '{"role":"eng"}', true, now()), ('p2', '{"role":"pm"}', true, now()),
        ('p4', '{"role":"eng"}', true, now())`,
    );
    const r = await retention(e, { ...base, breakdown: { property: 'role', type: 'person' } });
    expect(r.breakdowns).toEqual([
      {
        value: 'eng', // p1 (1st, 2nd, 3rd), p4 (2nd): total 4
        cohorts: [
          { date: '2024-01-01', size: 1, values: [1, 1, 1] },
          { date: '2024-01-02', size: 2, values: [2, 1] },
          { date: '2024-01-03', size: 1, values: [1] },
        ],
      },
      {
        value: null, // p3 has no person row: total 2, ties with pm and '' sorts first
        cohorts: [
          { date: '2024-01-01', size: 1, values: [1, 1, 0] },
          { date: '2024-01-02', size: 1, values: [1, 0] },
          { date: '2024-01-03', size: 0, values: [0] },
        ],
      },
      {
        value: 'pm', // p2 (1st, 3rd): total 2
        cohorts: [
          { date: '2024-01-01', size: 1, values: [1, 0, 1] },
          { date: '2024-01-02', size: 0, values: [0, 0] },
          { date: '2024-01-03', size: 1, values: [1] },
        ],
      },
    ]);
  });

  it("organization property: from the event's organization, so a person who moves splits", async () => {
    e = await engineWith(planned);
    await e.exec(
      sql`INSERT INTO groups VALUES ('organization', 'o1', '{"tier":"gold"}', NULL),
        ('organization', 'o2', '{"tier":"silver"}', NULL)`,
    );
    const r = await retention(e, { ...base, breakdown: { property: 'tier', type: 'organization' } });
    expect(r.breakdowns).toEqual([
      {
        value: 'gold', // p1 in o1 on the 1st and 2nd, p4 on the 2nd: total 3
        cohorts: [
          { date: '2024-01-01', size: 1, values: [1, 1, 0] },
          { date: '2024-01-02', size: 2, values: [2, 0] },
          { date: '2024-01-03', size: 0, values: [0] },
        ],
      },
      {
        value: 'silver', // p2 on the 1st and 3rd, p1 in o2 on the 3rd: total 3
        cohorts: [
          { date: '2024-01-01', size: 1, values: [1, 0, 1] },
          { date: '2024-01-02', size: 0, values: [0, 0] },
          { date: '2024-01-03', size: 2, values: [2] },
        ],
      },
      {
        value: null, // p3, no organization
        cohorts: [
          { date: '2024-01-01', size: 1, values: [1, 1, 0] },
          { date: '2024-01-02', size: 1, values: [1, 0] },
          { date: '2024-01-03', size: 0, values: [0] },
        ],
      },
    ]);
  });

  it('first_time: the first target event with each value', async () => {
    e = await engineWith(planned);
    const r = await retention(e, { ...base, retentionType: 'first_time', breakdown: { property: 'plan' } });
    expect(r.breakdowns).toEqual([
      {
        value: 'free', // p1 first free on the 1st, p4 on the 2nd
        cohorts: [
          { date: '2024-01-01', size: 1, values: [1, 1, 0] },
          { date: '2024-01-02', size: 1, values: [1, 0] },
          { date: '2024-01-03', size: 0, values: [0] },
        ],
      },
      {
        value: 'pro', // p2 first pro on the 1st, p1 on the 3rd
        cohorts: [
          { date: '2024-01-01', size: 1, values: [1, 0, 1] },
          { date: '2024-01-02', size: 0, values: [0, 0] },
          { date: '2024-01-03', size: 1, values: [1] },
        ],
      },
      {
        value: null,
        cohorts: [
          { date: '2024-01-01', size: 1, values: [1, 1, 0] },
          { date: '2024-01-02', size: 0, values: [0, 0] },
          { date: '2024-01-03', size: 0, values: [0] },
        ],
      },
    ]);
  });

  it('no events: no breakdown values; a funnel-only key is rejected naming it', async () => {
    e = await engineWith([]);
    expect(await retention(e, { ...base, breakdown: { property: 'plan' } })).toEqual({ breakdowns: [] });
    await expect(
      retention(e, { ...base, breakdown: { property: 'plan', attribution: 'first_touch' } as never }),
    ).rejects.toThrow(/breakdown\.attribution/);
    await expect(retention(e, { ...base, breakdown: { property: 'plan', limit: 0 } })).rejects.toThrow(
      /field 'breakdown\.limit'/,
    );
  });
});
