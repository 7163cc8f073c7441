import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configSchema } from '../../config/schema.js';
import { ALL_PRODUCTS } from '../../metrics/types.js';
import type { DuckDbEngine } from '../../store/duckdb/engine.js';
import { prng } from '../stats/random.js';
import { freshEngine, insertDiveEvents, type DiveEvent } from '../../../test/helpers/dive-test-data.js';
import {
  formatLeadingIndicators,
  leadingIndicators,
  outcomeWindows,
  queryDataStart,
  queryRuleGrid,
  type GridRow,
  type LeadingIndicator,
} from './leading-indicators.js';
import type { DeepDiveContext } from './types.js';

// Review month 2024-06 ends 2024-07-01; outcome 56 days → cohort: first active before 2024-05-06,
// from max(2024-05-06 − 180 days, data start 2024-01-01 + 14 days) = 2024-01-15.
const MONTH = '2024-06';
const config = configSchema.parse({
  leadingIndicators: { windowDays: [7, 14], outcomeDays: [56], maxThreshold: 5 },
});
const DAY = 86_400_000;

function ctx(engine: DuckDbEngine): DeepDiveContext {
  return { engine, config, product: ALL_PRODUCTS, month: MONTH, metrics: [] };
}

const at = (first: number, days: number): string => new Date(first + days * DAY).toISOString();

/** A new user: signs up at day 0, does `invites` at the given days, is active in days 29–56 if `retained`. */
function user(
  id: string,
  i: number,
  inviteDays: number[],
  retained: boolean,
  pageviews: number,
): DiveEvent[] {
  const first = Date.UTC(2024, 1, 1, 10) + (i % 89) * DAY; // first activity 2024-02-01 … 2024-04-29
  const out: DiveEvent[] = [{ event: 'signed up', person: id, at: at(first, 0) }];
  for (const d of inviteDays) out.push({ event: 'invite sent', person: id, at: at(first, d) });
  for (let k = 0; k < pageviews; k++) out.push({ event: 'page viewed', person: id, at: at(first, 1 + k) });
  if (retained) out.push({ event: 'page viewed', person: id, at: at(first, 40) });
  return out;
}

/** Someone active since the data began: marks the data start, never in the cohort. */
const OLD_USER: DiveEvent = { event: 'page viewed', person: 'old', at: '2024-01-01T00:00:00.000Z' };

/**
 * 100 inviters: 3 invites on days 1–3, 80 retained; 200 others: 0, 1 or 2 invites in the first
 * week (j % 3), half of them one more on day 10, 40 retained (j % 5 = 0).
 */
function plantedInvites(): DiveEvent[] {
  const events: DiveEvent[] = [OLD_USER];
  for (let i = 0; i < 100; i++) events.push(...user(`inv${i}`, i, [1, 2, 3], i < 80, i % 4));
  for (let j = 0; j < 200; j++) {
    const days = [1, 2].slice(0, j % 3);
    if (j % 2 === 0) days.push(10);
    events.push(...user(`oth${j}`, j + 7, days, j % 5 === 0, j % 4));
  }
  return events;
}

describe('leading-indicators: a planted rule', () => {
  let e: DuckDbEngine;
  beforeAll(async () => {
    e = await freshEngine();
    await insertDiveEvents(e, plantedInvites());
  });
  afterAll(() => e.close());

  it('finds "invite sent ≥ 3 times in 7 days" as the best rule, with hand-computed figures', async () => {
    const dive = await leadingIndicators.run(ctx(e));
    const best = (dive.data.indicators as LeadingIndicator[])[0] as LeadingIndicator;
    expect(best).toMatchObject({
      event: 'invite sent',
      threshold: 3,
      windowDays: 7,
      outcomeDays: 56,
      support: 100,
      cohort: 300,
    });
    // TP 80, FP 20, FN 40, TN 160
    expect(best.precision).toBeCloseTo(0.8, 10); // 80 / 100
    expect(best.retainedWithout).toBeCloseTo(0.2, 10); // 40 / 200
    expect(best.recall).toBeCloseTo(80 / 120, 10);
    expect(best.lift).toBeCloseTo(2, 10); // 0.8 / (120 / 300)
    // phi = (80·160 − 20·40) / √(100·120·180·200) = 12000 / 20784.6 = 0.57735
    expect(best.score).toBeCloseTo(0.57735, 4);
    expect(best.test).toBe('two-proportion-z-test');
    expect(best.qValue).toBeLessThan(1e-6);
    expect(best.sentence).toBe(
      'users who do "invite sent" ≥ 3 times in their first 7 days are retained at 80% vs 20%',
    );
    expect(dive.summary).toContain(
      'Users who do "invite sent" ≥ 3 times in their first 7 days are retained at 80% vs 20%',
    );
    expect(dive.findings[0]?.evidence).toMatchObject({ cohort: 300, support: 100 });
  });

  it('removes nested variants and excludes the event that restates activity', async () => {
    const dive = await leadingIndicators.run(ctx(e));
    const indicators = dive.data.indicators as LeadingIndicator[];
    // one rule per event: k = 1, 2 and d = 14 variants of "invite sent" are folded into the best one
    expect(indicators.filter((r) => r.event === 'invite sent')).toHaveLength(1);
    expect(indicators[0]?.variantsRemoved).toBeGreaterThan(0);
    // the best 14-day variant: ≥ 3 invites still (non-inviters reach at most 2 + 1 late = 3, which lowers its score)
    expect(indicators[0]?.byWindow.map((w) => [w.windowDays, w.threshold])).toEqual([
      [7, 3],
      [14, 3],
    ]);
    expect(indicators[0]?.byWindow[1]?.score).toBeLessThan(indicators[0]?.score ?? 0);
    // everyone (100% of the retained) signs up at their first activity: it restates activity
    expect((dive.data.users as { excludedEvents: string[] }).excludedEvents).toContain('signed up');
    expect(indicators.some((r) => r.event === 'signed up')).toBe(false);
    const cohorts = (
      dive.data.users as { cohorts: { size: number; retained: number; outcomeWindow: string }[] }
    ).cohorts;
    // 300 new users, 80 + 40 retained; the old user is not in the cohort
    expect(cohorts[0]).toMatchObject({
      size: 300,
      retained: 120,
      outcomeWindow: 'days 29–56 after first activity',
    });
  });
});

describe('leading-indicators: organizations', () => {
  it('finds the same rule for one-person organizations, counted once per organization', async () => {
    const events = plantedInvites();
    const e = await freshEngine();
    // each person in an organization of their own: the organization cohort mirrors the users'
    await insertDiveEvents(
      e,
      events.map((ev) => ({ ...ev, org: `org-${ev.person}` })),
    );
    const dive = await leadingIndicators.run(ctx(e));
    await e.close();
    const org = (dive.data.organizationIndicators as LeadingIndicator[])[0];
    // same table as the users': TP 80, FP 20, FN 40, TN 160
    expect(org).toMatchObject({
      event: 'invite sent',
      threshold: 3,
      windowDays: 7,
      support: 100,
      cohort: 300,
    });
    expect(org?.precision).toBeCloseTo(0.8, 10);
    expect(org?.sentence).toBe(
      'organizations that do "invite sent" ≥ 3 times in their first 7 days are retained at 80% vs 20%',
    );
    expect(dive.summary).toContain('For organizations: organizations that do "invite sent"');
  });
});

describe('leading-indicators: negative controls', () => {
  it('random behaviour unrelated to retention: no rule survives Benjamini–Hochberg', async () => {
    const rand = prng(7);
    const events: DiveEvent[] = [OLD_USER];
    for (let i = 0; i < 300; i++) {
      const first = Date.UTC(2024, 1, 1, 10) + (i % 89) * DAY;
      const id = `u${i}`;
      events.push({ event: 'signed up', person: id, at: at(first, 0) });
      for (let k = 0; k < 8; k++) {
        const n = Math.floor(rand() * 4);
        for (let c = 0; c < n; c++)
          events.push({ event: `feature_${k}`, person: id, at: at(first, 1 + Math.floor(rand() * 13)) });
      }
      if (rand() < 0.4) events.push({ event: 'signed up', person: id, at: at(first, 45) });
    }
    const e = await freshEngine();
    await insertDiveEvents(e, events);
    const dive = await leadingIndicators.run(ctx(e));
    await e.close();
    expect((dive.data.users as { rulesTested: number }).rulesTested).toBeGreaterThan(20);
    expect(dive.data.indicators).toEqual([]);
    expect(dive.findings).toEqual([]);
    expect(dive.summary).toMatch(/^No early behaviour predicts retention significantly/);
  });

  it('too few new users: not enough data', async () => {
    const events: DiveEvent[] = [OLD_USER];
    for (let i = 0; i < 30; i++) events.push(...user(`u${i}`, i, i < 10 ? [1, 2, 3] : [], i < 10, 1));
    const e = await freshEngine();
    await insertDiveEvents(e, events);
    const dive = await leadingIndicators.run(ctx(e));
    await e.close();
    expect(dive.summary).toMatch(/^Not enough data for new users: 30 new users, 10 retained/);
    expect(dive.data.indicators).toEqual([]);
  });
});

describe('leading-indicators: each query on its own, and the pure format', () => {
  const small = configSchema.parse({
    leadingIndicators: { windowDays: [7, 14], outcomeDays: [56], maxThreshold: 2 },
  });
  const smallCtx = (engine: DuckDbEngine): DeepDiveContext => ({ ...ctx(engine), config: small });
  // a: first active 2024-03-01 10:00, invites on days 1, 2 and 10, active again on day 40 (retained);
  // b: first active 2024-03-05 10:00, one invite on day 1, never again. Both in organization acme,
  // whose first activity is a's. `old` marks the data's start (2024-01-01), before the cohort.
  const A = Date.UTC(2024, 2, 1, 10);
  const B = Date.UTC(2024, 2, 5, 10);
  const EVENTS: DiveEvent[] = [
    OLD_USER,
    { event: 'signed up', person: 'a', org: 'acme', at: at(A, 0) },
    { event: 'invite sent', person: 'a', org: 'acme', at: at(A, 1) },
    { event: 'invite sent', person: 'a', org: 'acme', at: at(A, 2) },
    { event: 'invite sent', person: 'a', org: 'acme', at: at(A, 10) },
    { event: 'page viewed', person: 'a', org: 'acme', at: at(A, 40) },
    { event: 'signed up', person: 'b', org: 'acme', at: at(B, 0) },
    { event: 'invite sent', person: 'b', org: 'acme', at: at(B, 1) },
  ];
  let e: DuckDbEngine;
  beforeAll(async () => {
    e = await freshEngine();
    await insertDiveEvents(e, EVENTS);
  });
  afterAll(() => e.close());

  it('data start: the first event of the store, null on an empty store', async () => {
    expect(await queryDataStart(smallCtx(e))).toEqual(new Date('2024-01-01T00:00:00.000Z'));
    const empty = await freshEngine();
    try {
      expect(await queryDataStart(smallCtx(empty))).toBeNull();
    } finally {
      await empty.close();
    }
  });

  it('outcome windows (pure): the cohort ends 56 days before 2024-07-01 and starts after the warm-up', () => {
    expect(outcomeWindows(smallCtx(e), new Date('2024-01-01T00:00:00.000Z'))).toEqual({
      windows: [
        {
          outcomeDays: 56,
          outcomeFrom: 28,
          cohortFrom: '2024-01-15T00:00:00.000Z',
          cohortTo: '2024-05-06T00:00:00.000Z',
        },
      ],
      skipped: [],
    });
    const short = configSchema.parse({ leadingIndicators: { windowDays: [7, 14], outcomeDays: [14] } });
    expect(outcomeWindows({ config: short, month: MONTH }, new Date('2024-01-01T00:00:00.000Z'))).toEqual({
      windows: [],
      skipped: ['14 days: not longer than the longest behaviour window (14 days)'],
    });
  });

  it('rule grid: per kind, event, window and threshold the subjects following it and how many were retained', async () => {
    const { windows } = outcomeWindows(smallCtx(e), new Date('2024-01-01T00:00:00.000Z'));
    const grid = await queryRuleGrid(smallCtx(e), windows);
    const key = (r: GridRow): string =>
      `${r.kind} ${r.event ?? '(cohort)'} ${r.window_days}d ≥${r.threshold}: ${r.rule_n}/${r.rule_retained}`;
    expect(grid.map(key).sort()).toEqual(
      [
        // users a (retained) and b; a: 2 invites in 7 days, 3 in 14; b: 1 in both
        'users (cohort) 0d ≥0: 2/1',
        'users signed up 7d ≥1: 2/1',
        'users signed up 14d ≥1: 2/1',
        'users invite sent 7d ≥1: 2/1',
        'users invite sent 7d ≥2: 1/1',
        'users invite sent 14d ≥1: 2/1',
        'users invite sent 14d ≥2: 1/1',
        // acme from a's first activity: sign-ups on days 0 and 4, invites on days 1, 2, 5 and 10;
        // retained by a's day-40 page view. The page view is no rule: it falls after both windows.
        'organizations (cohort) 0d ≥0: 1/1',
        'organizations signed up 7d ≥1: 1/1',
        'organizations signed up 7d ≥2: 1/1',
        'organizations signed up 14d ≥1: 1/1',
        'organizations signed up 14d ≥2: 1/1',
        'organizations invite sent 7d ≥1: 1/1',
        'organizations invite sent 7d ≥2: 1/1',
        'organizations invite sent 14d ≥1: 1/1',
        'organizations invite sent 14d ≥2: 1/1',
      ].sort(),
    );
    expect(grid.every((r) => r.outcome_days === 56)).toBe(true);
  });

  it('rule grid: retained means an activity event in (f + 28 days, f + 56 days], to the second, on the edge days too', async () => {
    // First active 2024-03-10 10:00 (c, d) and 2024-03-12 10:00 (g, h); the window opens after
    // 10:00 on day 28 and closes at 10:00 on day 56. c and d are also active at 09:00 on day 28.
    const C = Date.UTC(2024, 2, 10, 10);
    const G = Date.UTC(2024, 2, 12, 10);
    const early = (first: number, days: number): string => at(first - 3_600_000, days);
    const edge = await freshEngine();
    try {
      await insertDiveEvents(edge, [
        OLD_USER,
        { event: 'signed up', person: 'c', at: at(C, 0) },
        { event: 'page viewed', person: 'c', at: early(C, 28) },
        { event: 'page viewed', person: 'c', at: at(C + 3_600_000, 28) }, // 11:00 on day 28: inside
        { event: 'signed up', person: 'd', at: at(C, 0) },
        { event: 'page viewed', person: 'd', at: early(C, 28) },
        { event: 'page viewed', person: 'd', at: at(C, 28) }, // exactly f + 28 days: not inside
        { event: 'signed up', person: 'g', at: at(G, 0) },
        { event: 'page viewed', person: 'g', at: at(G, 56) }, // exactly f + 56 days: inside
        { event: 'signed up', person: 'h', at: at(G, 0) },
        { event: 'page viewed', person: 'h', at: at(G + 1000, 56) }, // a second after f + 56 days
        { event: 'page viewed', person: 'h', at: at(G + 3_600_000, 56) },
      ]);
      const { windows } = outcomeWindows(smallCtx(edge), new Date('2024-01-01T00:00:00.000Z'));
      const grid = await queryRuleGrid(smallCtx(edge), windows);
      const key = (r: GridRow): string =>
        `${r.kind} ${r.event ?? '(cohort)'} ${r.window_days}d ≥${r.threshold}: ${r.rule_n}/${r.rule_retained}`;
      // c and g retained, d and h not
      expect(grid.map(key).sort()).toEqual(
        ['users (cohort) 0d ≥0: 4/2', 'users signed up 7d ≥1: 4/2', 'users signed up 14d ≥1: 4/2'].sort(),
      );
    } finally {
      await edge.close();
    }
  });

  it('format (pure): no events, and no outcome window that fits, are "not enough data"', () => {
    const none = formatLeadingIndicators(
      { config: small },
      { start: null, windows: [], skipped: [], grid: [] },
    );
    expect(none.summary).toBe('Not enough data: no events.');
    expect(none.data).toEqual({ indicators: [] });
    const unfit = formatLeadingIndicators(
      { config: small },
      { start: new Date('2024-06-20T00:00:00Z'), windows: [], skipped: ['56 days: too short'], grid: [] },
    );
    expect(unfit.summary).toBe('Not enough data: no outcome window fits the data (56 days: too short).');
  });
});
