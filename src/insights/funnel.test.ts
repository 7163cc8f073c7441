import { afterEach, describe, expect, it } from 'vitest';
import { InputError } from '../errors.js';
import type { DuckDbEngine } from '../store/duckdb/engine.js';
import { sql } from '../store/sql.js';
import {
  buildFunnelPersonsQuery,
  funnel,
  funnelPeople,
  type FunnelSpec,
  type FunnelStepResult,
} from './funnel.js';
import { engineWith, type TestEvent } from '../../test/helpers/insight-events.js';

let e: DuckDbEngine | undefined;
afterEach(async () => {
  await e?.close();
  e = undefined;
});

const range = { dateFrom: '2024-01-01', dateTo: '2024-01-31' };

async function run(events: TestEvent[], spec: Omit<FunnelSpec, 'dateFrom' | 'dateTo'> & Partial<FunnelSpec>) {
  e = await engineWith(events);
  return funnel(e, { ...range, ...spec });
}

const counts = (steps: FunnelStepResult[] | undefined) => steps?.map((s) => s.count);

describe('ordered funnel', () => {
  it('counts people per step with conversion and time between steps', async () => {
    const r = await run(
      [
        { event: 'A', person: 'p1', at: '2024-01-02T10:00:00' },
        { event: 'B', person: 'p1', at: '2024-01-02T11:00:00' },
        { event: 'C', person: 'p1', at: '2024-01-02T12:00:00' },
        { event: 'A', person: 'p2', at: '2024-01-02T10:00:00' },
        { event: 'B', person: 'p2', at: '2024-01-03T10:00:00' },
        { event: 'B', person: 'p3', at: '2024-01-02T09:00:00' }, // B before A: p3 only enters
        { event: 'A', person: 'p3', at: '2024-01-02T10:00:00' },
        { event: 'C', person: 'p4', at: '2024-01-02T10:00:00' }, // never enters
      ],
      { steps: ['A', 'B', 'C'] },
    );
    expect(r.steps).toEqual([
      // p1, p2, p3 did A
      {
        name: 'A',
        count: 3,
        conversionFromPrevious: 1,
        conversionFromFirst: 1,
        medianSecondsFromPrevious: null,
        averageSecondsFromPrevious: null,
      },
      // p1 (1h), p2 (24h): median = mean = (3600 + 86400) / 2 = 45000
      {
        name: 'B',
        count: 2,
        conversionFromPrevious: 2 / 3,
        conversionFromFirst: 2 / 3,
        medianSecondsFromPrevious: 45000,
        averageSecondsFromPrevious: 45000,
      },
      // p1 only, 1h after B
      {
        name: 'C',
        count: 1,
        conversionFromPrevious: 1 / 2,
        conversionFromFirst: 1 / 3,
        medianSecondsFromPrevious: 3600,
        averageSecondsFromPrevious: 3600,
      },
    ]);
  });

  it('includes a step exactly at the window edge and excludes one a second later', async () => {
    const r = await run(
      [
        { event: 'A', person: 'p1', at: '2024-01-02T00:00:00' },
        { event: 'B', person: 'p1', at: '2024-01-02T01:00:00' }, // 3600 s: inside (inclusive)
        { event: 'A', person: 'p2', at: '2024-01-02T00:00:00' },
        { event: 'B', person: 'p2', at: '2024-01-02T01:00:01' }, // 3601 s: outside
      ],
      { steps: ['A', 'B'], windowSeconds: 3600 },
    );
    expect(counts(r.steps)).toEqual([2, 1]);
  });

  it('measures the window from the first step, not the previous one', async () => {
    const r = await run(
      [
        { event: 'A', person: 'p1', at: '2024-01-02T00:00:00' },
        { event: 'B', person: 'p1', at: '2024-01-02T00:40:00' },
        { event: 'C', person: 'p1', at: '2024-01-02T01:20:00' }, // 80 min after A > 60 min window
      ],
      { steps: ['A', 'B', 'C'], windowSeconds: 3600 },
    );
    expect(counts(r.steps)).toEqual([1, 1, 0]);
  });

  it('follows one person across distinct_ids merged mid-funnel', async () => {
    const r = await run(
      [
        { event: 'A', person: 'P', distinctId: 'anon-1', at: '2024-01-02T10:00:00' },
        { event: 'B', person: 'P', distinctId: 'user@x.io', at: '2024-01-02T10:05:00' },
      ],
      { steps: ['A', 'B'] },
    );
    // one person, converted in 300 s
    expect(counts(r.steps)).toEqual([1, 1]);
    expect(r.steps?.[1]?.medianSecondsFromPrevious).toBe(300);
  });

  it('times a conversion from the latest step-0 event before it, as PostHog does', async () => {
    const r = await run(
      [
        { event: 'A', person: 'p1', at: '2024-01-02T10:00:00' },
        { event: 'A', person: 'p1', at: '2024-01-02T10:05:00' }, // the latest A before B
        { event: 'B', person: 'p1', at: '2024-01-02T10:10:00' },
        { event: 'A', person: 'p1', at: '2024-01-02T10:20:00' }, // after B: an attempt of 1 step
      ],
      { steps: ['A', 'B'] },
    );
    // one person, 300 s from 10:05 to 10:10 (not 600 s from 10:00)
    expect(r.steps?.map((s) => [s.count, s.medianSecondsFromPrevious])).toEqual([
      [1, null],
      [1, 300],
    ]);
  });

  it('needs a separate event for each repeated step', async () => {
    const r = await run(
      [
        { event: 'A', person: 'p1', at: '2024-01-02T10:00:00' }, // one A cannot fill steps 0 and 1
        { event: 'B', person: 'p1', at: '2024-01-02T10:01:00' },
        { event: 'A', person: 'p2', at: '2024-01-02T10:00:00' },
        { event: 'A', person: 'p2', at: '2024-01-02T10:02:00' },
        { event: 'B', person: 'p2', at: '2024-01-02T10:03:00' },
      ],
      { steps: ['A', 'A', 'B'] },
    );
    // p1 stops at step 0; p2 goes through (A→A 120 s, A→B 60 s)
    expect(counts(r.steps)).toEqual([2, 1, 1]);
    expect(r.steps?.map((s) => s.medianSecondsFromPrevious)).toEqual([null, 120, 60]);
  });

  it('counts steps at the same timestamp in funnel order, whatever their uuids', async () => {
    const r = await run(
      [
        { event: 'B', person: 'p1', at: '2024-01-02T10:00:00' }, // inserted (uuid) before A
        { event: 'A', person: 'p1', at: '2024-01-02T10:00:00' },
        { event: 'A', person: 'p2', at: '2024-01-02T10:00:00' },
        { event: 'A', person: 'p2', at: '2024-01-02T10:00:00' }, // two A's at once fill A, A
      ],
      { steps: ['A', 'B'] },
    );
    // p1 converts in 0 s; p2 never did B
    expect(counts(r.steps)).toEqual([2, 1]);
    expect(r.steps?.[1]?.medianSecondsFromPrevious).toBe(0);
    const repeated = await funnel(e!, { ...range, steps: ['A', 'A'] });
    expect(counts(repeated.steps)).toEqual([2, 1]); // p1 has one A; p2 has two at the same instant
  });

  it('orders same-instant events of one lowest step by the steps they match, whatever the sort', async () => {
    // Step 1 is A with plan=pro. p1's two A events share an instant and both are step-0 events;
    // taking the free one as step 0 lets the pro one fill step 1 (for every p of the 20, in
    // either insertion order).
    const events = Array.from({ length: 20 }, (_, i) => {
      const plans = i % 2 ? ['pro', 'free'] : ['free', 'pro'];
      return plans.map((plan) => ({
        event: 'A',
        person: `p${i}`,
        at: '2024-01-02T10:00:00',
        props: { plan },
      }));
    }).flat();
    const r = await run(events, {
      steps: ['A', { event: 'A', properties: [{ key: 'plan', value: 'pro' }] }],
    });
    expect(counts(r.steps)).toEqual([20, 20]);
  });

  it('reads only events within dateFrom..dateTo, dateTo as a date meaning its whole day', async () => {
    const r = await run(
      [
        { event: 'A', person: 'p1', at: '2023-12-31T23:59:59' }, // before the range
        { event: 'B', person: 'p1', at: '2024-01-01T00:00:00' },
        { event: 'A', person: 'p2', at: '2024-01-31T23:59:59' }, // last second of dateTo
        { event: 'B', person: 'p2', at: '2024-02-01T00:00:00' }, // after: does not count
        { event: 'A', person: 'p3', at: '2024-01-15 12:00:00' },
      ],
      { steps: ['A', 'B'] },
    );
    expect(counts(r.steps)).toEqual([2, 0]); // p2, p3 entered; nobody converted inside the range
    const ts = await funnel(e!, {
      steps: ['A'],
      dateFrom: '2024-01-15T12:00:00Z',
      dateTo: '2024-01-15 12:00:00',
    });
    expect(counts(ts.steps)).toEqual([1]); // a timestamp dateTo is inclusive: p3 exactly at it
  });

  it('filters steps on event properties', async () => {
    const r = await run(
      [
        { event: 'view', person: 'p1', at: '2024-01-02T10:00:00', props: { page: '/pricing' } },
        { event: 'buy', person: 'p1', at: '2024-01-02T10:01:00', props: { amount: 120 } },
        { event: 'view', person: 'p2', at: '2024-01-02T10:00:00', props: { page: '/docs' } },
        { event: 'view', person: 'p3', at: '2024-01-02T10:00:00', props: { page: '/PRICING/annual' } },
        { event: 'buy', person: 'p3', at: '2024-01-02T10:01:00', props: { amount: 20 } },
      ],
      {
        steps: [
          {
            event: 'view',
            name: 'pricing',
            properties: [{ key: 'page', operator: 'icontains', value: 'pricing' }],
          },
          { event: 'buy', properties: [{ key: 'amount', operator: 'gte', value: 100 }] },
        ],
      },
    );
    // p1 and p3 viewed pricing; only p1 bought for >= 100
    expect(r.steps?.map((s) => [s.name, s.count])).toEqual([
      ['pricing', 2],
      ['buy', 1],
    ]);
  });
});

describe('strict and unordered funnels', () => {
  const events: TestEvent[] = [
    { event: 'A', person: 'p1', at: '2024-01-02T10:00:00' },
    { event: 'X', person: 'p1', at: '2024-01-02T10:01:00' }, // breaks a strict sequence
    { event: 'B', person: 'p1', at: '2024-01-02T10:02:00' },
    { event: 'A', person: 'p2', at: '2024-01-02T10:00:00' },
    { event: 'B', person: 'p2', at: '2024-01-02T10:02:00' },
  ];

  it('strict: any other event between two steps breaks the sequence', async () => {
    const strict = await run(events, { steps: ['A', 'B'], order: 'strict' });
    expect(counts(strict.steps)).toEqual([2, 1]); // p2 only
    const ordered = await funnel(e!, { ...range, steps: ['A', 'B'] });
    expect(counts(ordered.steps)).toEqual([2, 2]);
  });

  it('unordered: steps in any order within the window of the first', async () => {
    const r = await run(
      [
        { event: 'C', person: 'p1', at: '2024-01-02T10:00:00' },
        { event: 'A', person: 'p1', at: '2024-01-02T10:30:00' },
        { event: 'B', person: 'p1', at: '2024-01-02T11:00:00' },
        { event: 'B', person: 'p2', at: '2024-01-02T10:00:00' },
        { event: 'C', person: 'p3', at: '2024-01-02T10:00:00' },
        { event: 'A', person: 'p3', at: '2024-01-04T10:00:00' }, // 2 days later: outside 1 day
      ],
      { steps: ['A', 'B', 'C'], order: 'unordered', windowSeconds: 86_400 },
    );
    // everyone did one step; only p1 did 2 and 3 of them, 30 min apart each
    expect(counts(r.steps)).toEqual([3, 1, 1]);
    expect(r.steps?.map((s) => s.medianSecondsFromPrevious)).toEqual([null, 1800, 1800]);
  });
});

describe('exclusions', () => {
  it('cancels an attempt with the excluded event between the steps; the person drops out', async () => {
    const r = await run(
      [
        { event: 'A', person: 'p1', at: '2024-01-02T10:00:00' },
        { event: 'X', person: 'p1', at: '2024-01-02T10:01:00' }, // inside A..B: p1 excluded
        { event: 'B', person: 'p1', at: '2024-01-02T10:02:00' },
        { event: 'C', person: 'p1', at: '2024-01-02T10:03:00' },
        { event: 'A', person: 'p2', at: '2024-01-02T10:00:00' },
        { event: 'B', person: 'p2', at: '2024-01-02T10:01:00' },
        { event: 'X', person: 'p2', at: '2024-01-02T10:02:00' }, // between B and C: not watched
        { event: 'C', person: 'p2', at: '2024-01-02T10:03:00' },
        { event: 'A', person: 'p3', at: '2024-01-02T10:00:00' },
        { event: 'X', person: 'p3', at: '2024-01-02T10:01:00' }, // cancels the first attempt only
        { event: 'A', person: 'p3', at: '2024-01-02T10:02:00' },
        { event: 'B', person: 'p3', at: '2024-01-02T10:03:00' },
      ],
      { steps: ['A', 'B', 'C'], exclusions: [{ event: 'X', fromStep: 0, toStep: 1 }] },
    );
    // p1 gone; p2 through all three; p3 reaches B from its second A (60 s)
    expect(counts(r.steps)).toEqual([2, 2, 1]);
    expect(r.steps?.[1]?.medianSecondsFromPrevious).toBe(60);
  });
});

describe('breakdowns', () => {
  const events: TestEvent[] = [
    { event: 'A', person: 'p1', at: '2024-01-02T10:00:00', props: { plan: 'free' }, org: 'o1' },
    { event: 'B', person: 'p1', at: '2024-01-02T10:01:00', props: { plan: 'pro' }, org: 'o1' },
    { event: 'A', person: 'p2', at: '2024-01-02T10:00:00', props: { plan: 'pro' }, org: 'o2' },
    { event: 'A', person: 'p3', at: '2024-01-02T10:00:00' },
    { event: 'B', person: 'p3', at: '2024-01-02T10:01:00', props: { plan: 'pro' } },
    { event: 'A', person: 'p4', at: '2024-01-02T10:00:00' },
  ];
  const byValue = (r: Awaited<ReturnType<typeof funnel>>) =>
    Object.fromEntries((r.breakdowns ?? []).map((b) => [String(b.value), counts(b.steps)]));

  it('first_touch (the default): the earliest non-null value on any step', async () => {
    const r = await run(events, { steps: ['A', 'B'], breakdown: { property: 'plan' } });
    // p1 free (A), p2 pro, p3 pro (from B), p4 none
    expect(byValue(r)).toEqual({ pro: [2, 1], free: [1, 1], null: [1, 0] });
    expect(r.breakdowns?.[0]?.value).toBe('pro'); // biggest first
  });

  it('last_touch, all_events and step attribution', async () => {
    const last = await run(events, {
      steps: ['A', 'B'],
      breakdown: { property: 'plan', attribution: 'last_touch' },
    });
    // p1 pro (B), p2 pro, p3 pro, p4 none
    expect(byValue(last)).toEqual({ pro: [3, 2], null: [1, 0] });
    // each value its own funnel: p1's free A has no free B; p3's A (no plan) sits in the null funnel
    const all = await funnel(e!, {
      ...range,
      steps: ['A', 'B'],
      breakdown: { property: 'plan', attribution: 'all_events' },
    });
    expect(byValue(all)).toEqual({ null: [2, 0], free: [1, 0], pro: [1, 0] });
    // the value of the step-1 (B) event; who never reached B has none
    const step = await funnel(e!, {
      ...range,
      steps: ['A', 'B'],
      breakdown: { property: 'plan', attribution: 'step', attributionStep: 1 },
    });
    expect(byValue(step)).toEqual({ pro: [2, 2], null: [2, 0] });
  });

  it('by organization and person properties; people without an organization are null', async () => {
    e = await engineWith(events);
    await e.exec(sql`INSERT INTO groups VALUES ('organization', 'o1', '{"tier":"gold"}', NULL),
      ('organization', 'o2', '{"tier":"free"}', NULL)`);
    await e.exec(
      sql`INSERT INTO persons VALUES ('p1', '{"role":"eng"}', true, now()), ('p2', '{"role":"pm"}', true, now())`,
    );
    const org = await funnel(e, {
      ...range,
      steps: ['A', 'B'],
      breakdown: { property: 'tier', type: 'organization' },
    });
    // p1 gold (converted), p2 free, p3/p4 have no organization
    expect(byValue(org)).toEqual({ null: [2, 1], gold: [1, 1], free: [1, 0] });
    const person = await funnel(e, {
      ...range,
      steps: ['A', 'B'],
      breakdown: { property: 'role', type: 'person' },
    });
    expect(byValue(person)).toEqual({ null: [2, 1], eng: [1, 1], pm: [1, 0] });
  });
});

describe('people drill-down and validation', () => {
  const events: TestEvent[] = [
    { event: 'A', person: 'p1', at: '2024-01-02T10:00:00' },
    { event: 'B', person: 'p1', at: '2024-01-02T10:01:00' },
    { event: 'A', person: 'p2', at: '2024-01-02T10:00:00' },
    { event: 'A', person: 'p3', at: '2024-01-02T10:00:00' },
    { event: 'B', person: 'p3', at: '2024-01-02T10:01:00' },
  ];

  it('lists who reached a step and who dropped before it', async () => {
    const r = await run(events, { steps: ['A', 'B'], people: { step: 1 } });
    expect(r.people).toEqual(['p1', 'p3']);
    expect(
      await funnelPeople(e!, { ...range, steps: ['A', 'B'], people: { step: 1, status: 'dropped' } }),
    ).toEqual(['p2']);
  });

  it('rejects an unknown key or a bad value naming the field', async () => {
    e = await engineWith([]);
    await expect(funnel(e, { ...range, steps: ['A'], windowSecs: 3 } as FunnelSpec)).rejects.toThrow(
      /field 'windowSecs'/,
    );
    await expect(
      funnel(e, { ...range, steps: ['A'], order: 'sideways' } as unknown as FunnelSpec),
    ).rejects.toThrow(/field 'order'/);
    await expect(
      funnel(e, { ...range, steps: ['A', 'B'], exclusions: [{ event: 'X', fromStep: 1, toStep: 1 }] }),
    ).rejects.toThrow(/field 'exclusions\.0\.toStep'/);
    await expect(funnel(e, { ...range, dateTo: '2024-13-01', steps: ['A'] })).rejects.toBeInstanceOf(
      InputError,
    );
  });
});

describe('options for code: a cohort of people and the p90', () => {
  // p1..p4 do A; B follows after 10, 20, 30 min for p1..p3; p4 never does B; p5 is outside the cohort.
  const events: TestEvent[] = [
    { event: 'A', person: 'p1', at: '2024-01-02T10:00:00' },
    { event: 'B', person: 'p1', at: '2024-01-02T10:10:00' },
    { event: 'A', person: 'p2', at: '2024-01-02T10:00:00' },
    { event: 'B', person: 'p2', at: '2024-01-02T10:20:00' },
    { event: 'A', person: 'p3', at: '2024-01-02T10:00:00' },
    { event: 'B', person: 'p3', at: '2024-01-02T10:30:00' },
    { event: 'A', person: 'p4', at: '2024-01-02T10:00:00' },
    { event: 'A', person: 'p5', at: '2024-01-02T10:00:00' },
    { event: 'B', person: 'p5', at: '2024-01-02T10:01:00' },
  ];
  const cohort = sql`SELECT * FROM (VALUES ('p1', 'x'), ('p2', 'x'), ('p3', 'y'), ('p4', 'y')) AS c(person_id, value)`;

  it('counts only the cohort, each person under its value, with the p90', async () => {
    e = await engineWith(events);
    const r = await funnel(e, { ...range, steps: ['A', 'B'] }, { cohort, p90: true });
    const byValue: Record<string, FunnelStepResult[]> = Object.fromEntries(
      (r.breakdowns ?? []).map((b) => [b.value ?? '', b.steps]),
    );
    // x: p1 (600 s), p2 (1200 s); y: p3 (1800 s), p4 dropped; p5 not counted
    expect(counts(byValue.x)).toEqual([2, 2]);
    expect(counts(byValue.y)).toEqual([2, 1]);
    expect(byValue.x?.[1]?.medianSecondsFromPrevious).toBe(900); // (600 + 1200) / 2
    // type 7: 600 + 0.9 · (1200 − 600) = 1140
    expect(byValue.x?.[1]?.p90SecondsFromPrevious).toBeCloseTo(1140, 6);
    expect(byValue.x?.[0]?.p90SecondsFromPrevious).toBeNull();
    const plain = await funnel(e, { ...range, steps: ['A', 'B'] });
    expect(counts(plain.steps)).toEqual([5, 4]);
    expect(plain.steps?.[1]).not.toHaveProperty('p90SecondsFromPrevious');
  });

  it('returns each counted person with how far they got and their step times', async () => {
    e = await engineWith(events);
    const rows = await e.query<{
      person_id: string;
      value: string;
      reached: number;
      t0: number;
      t1: number | null;
    }>(
      sql`SELECT * FROM (${buildFunnelPersonsQuery(e.dialect, { ...range, steps: ['A', 'B'] }, { cohort })}) p ORDER BY person_id`,
    );
    const t0 = Date.UTC(2024, 0, 2, 10) / 1000;
    expect(
      rows.map((r) => [
        r.person_id,
        r.value,
        Number(r.reached),
        Number(r.t0) - t0,
        r.t1 === null ? null : Number(r.t1) - t0,
      ]),
    ).toEqual([
      ['p1', 'x', 2, 0, 600],
      ['p2', 'x', 2, 0, 1200],
      ['p3', 'y', 2, 0, 1800],
      ['p4', 'y', 1, 0, null],
    ]);
  });
});

describe('more funnel edges', () => {
  it('strict over three steps: a repeated step event in between breaks it too', async () => {
    const r = await run(
      [
        { event: 'A', person: 'p1', at: '2024-01-02T10:00:00' },
        { event: 'B', person: 'p1', at: '2024-01-02T10:01:00' },
        { event: 'C', person: 'p1', at: '2024-01-02T10:02:00' },
        { event: 'A', person: 'p2', at: '2024-01-02T10:00:00' },
        { event: 'B', person: 'p2', at: '2024-01-02T10:01:00' },
        { event: 'B', person: 'p2', at: '2024-01-02T10:02:00' }, // B again, not C: p2 stops at B
        { event: 'C', person: 'p2', at: '2024-01-02T10:03:00' },
      ],
      { steps: ['A', 'B', 'C'], order: 'strict' },
    );
    expect(counts(r.steps)).toEqual([2, 2, 1]);
  });

  it('drills into one breakdown value, and rejects exclusions in an unordered funnel', async () => {
    const events: TestEvent[] = [
      { event: 'A', person: 'p1', at: '2024-01-02T10:00:00', props: { plan: 'pro' } },
      { event: 'B', person: 'p1', at: '2024-01-02T10:01:00' },
      { event: 'A', person: 'p2', at: '2024-01-02T10:00:00', props: { plan: 'free' } },
      { event: 'B', person: 'p2', at: '2024-01-02T10:01:00' },
      { event: 'A', person: 'p3', at: '2024-01-02T10:00:00' },
    ];
    const r = await run(events, {
      steps: ['A', 'B'],
      breakdown: { property: 'plan' },
      people: { step: 0, breakdownValue: null },
    });
    expect(r.people).toEqual(['p3']); // the only one without a plan
    const pro = await funnelPeople(e!, {
      ...range,
      steps: ['A', 'B'],
      breakdown: { property: 'plan' },
      people: { step: 1, breakdownValue: 'pro' },
    });
    expect(pro).toEqual(['p1']);
    await expect(
      funnel(e!, { ...range, steps: ['A', 'B'], order: 'unordered', exclusions: [{ event: 'X' }] }),
    ).rejects.toThrow(/field 'exclusions'/);
  });

  it('an attempt that did not reach toStep is cancelled by an exclusion within its window', async () => {
    const r = await run(
      [
        { event: 'A', person: 'p1', at: '2024-01-02T10:00:00' },
        { event: 'X', person: 'p1', at: '2024-01-02T10:30:00' }, // within the hour, no B ever
        { event: 'A', person: 'p2', at: '2024-01-02T10:00:00' },
        { event: 'X', person: 'p2', at: '2024-01-02T11:00:01' }, // after p2's window closed
      ],
      { steps: ['A', 'B'], windowSeconds: 3600, exclusions: [{ event: 'X' }] },
    );
    expect(counts(r.steps)).toEqual([1, 0]); // p1 is out, p2 counts at step 0
  });
});
