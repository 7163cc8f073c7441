import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configSchema } from '../../config/schema.js';
import { compareText } from '../../domain/order.js';
import { ALL_PRODUCTS } from '../../metrics/types.js';
import type { DuckDbEngine } from '../../store/duckdb/engine.js';
import {
  freshEngine,
  insertDiveEvents,
  insertOrganizations,
  type DiveEvent,
} from '../../../test/helpers/dive-test-data.js';
import {
  findBiggestDrop,
  inferSteps,
  onboardingFunnel,
  queryCohortMonths,
  queryDataBounds,
  queryDidInstead,
  queryInferenceCounts,
  sqlFunnelPersons,
  sqlReviewCohort,
  type DidInstead,
  type InferredCandidate,
  type OnboardingStep,
  type StepComparison,
} from './onboarding-funnel.js';
import type { DeepDiveContext } from './types.js';

// Review month 2024-06. The data runs 2024-01-01 … 2024-07-20, so every June user's 14-day window
// is observed; months from 2024-01-15 on are usable: trailing months Feb–May.
const MONTH = '2024-06';
const STEPS = ['signed up', 'project created', 'data connected', 'dashboard created'];
const configured = configSchema.parse({
  onboarding: { steps: STEPS, windowDays: 14 },
  icp: { all: [{ property: 'employees', op: '>=', value: 50 }] },
});
const inferredConfig = configSchema.parse({ onboarding: { windowDays: 14 } });
const DAY = 86_400_000;

function ctx(engine: DuckDbEngine, config = configured): DeepDiveContext {
  return { engine, config, product: ALL_PRODUCTS, month: MONTH, metrics: [] };
}

const iso = (ms: number): string => new Date(ms).toISOString();
const BOOKENDS: DiveEvent[] = [
  { event: 'page viewed', person: 'old', at: '2024-01-01T00:00:00.000Z' },
  { event: 'page viewed', person: 'old', at: '2024-07-20T00:00:00.000Z' },
];

interface Plan {
  /** Users signing up in the month, and how many of them reach each later step (cumulative). */
  users: number;
  project: number;
  data: number;
  dashboard: number;
}

/**
 * One month of new users: user i signs up on day (i % 25) + 1 at 10:00; creates a project 10 min
 * later if i < project; connects data if i < data, (i + 1) h after the project in June (`spread`),
 * 2 h otherwise; creates a dashboard 30 min after that if i < dashboard. Everyone views a page.
 */
function month(
  prefix: string,
  y: number,
  m: number,
  p: Plan,
  spread: boolean,
  org?: (i: number) => string,
): DiveEvent[] {
  const out: DiveEvent[] = [];
  for (let i = 0; i < p.users; i++) {
    const person = `${prefix}${i}`;
    const o = org?.(i);
    const t0 = Date.UTC(y, m - 1, (i % 25) + 1, 10);
    const add = (event: string, at: number): number => {
      out.push({ event, person, at: iso(at), ...(o ? { org: o } : {}) });
      return at;
    };
    add('signed up', t0);
    add('$pageview', t0 + 1000);
    if (i >= p.project) continue;
    const tp = add('project created', t0 + 600_000);
    if (i >= p.data) continue;
    const td = add('data connected', tp + (spread ? (i + 1) * 3_600_000 : 7_200_000));
    if (i < p.dashboard) add('dashboard created', td + 1_800_000);
  }
  return out;
}

const TRAILING: Plan = { users: 50, project: 40, data: 24, dashboard: 18 }; // 80%, 60%, 75%

function trailing(): DiveEvent[] {
  return [2, 3, 4, 5].flatMap((m) => month(`m${m}-`, 2024, m, TRAILING, false));
}

/** June users 0–39 belong to ICP organizations (100 employees), 40–99 to small ones. */
const juneOrg = (i: number): string => (i < 40 ? `big${i}` : `small${i}`);
const juneOrgs = Array.from({ length: 100 }, (_, i) => ({
  key: juneOrg(i),
  properties: { employees: i < 40 ? 100 : 5 },
}));

/**
 * What the June users who created a project did after it: 'docs viewed' on day 3 (dropped users
 * 20–64, converters 0–1), 'settings opened' on day 4 (dropped 20–49, converters 0–9).
 */
function juneExtras(): DiveEvent[] {
  const out: DiveEvent[] = [];
  for (let i = 0; i < 80; i++) {
    const t0 = Date.UTC(2024, 5, (i % 25) + 1, 10);
    const person = `jun${i}`;
    if ((i >= 20 && i < 65) || i < 2)
      out.push({ event: 'docs viewed', person, at: iso(t0 + 3 * DAY), org: juneOrg(i) });
    if ((i >= 20 && i < 50) || i < 10)
      out.push({ event: 'settings opened', person, at: iso(t0 + 4 * DAY), org: juneOrg(i) });
  }
  return out;
}

async function store(events: DiveEvent[]): Promise<DuckDbEngine> {
  const e = await freshEngine();
  await insertOrganizations(e, juneOrgs);
  await insertDiveEvents(e, [...BOOKENDS, ...events]);
  return e;
}

const step = (steps: unknown, name: string): OnboardingStep =>
  (steps as OnboardingStep[]).find((s) => s.name === name) as OnboardingStep;

describe('onboarding-funnel: a planted drop that is new this month', () => {
  let e: DuckDbEngine;
  beforeAll(async () => {
    // June: 100 new users, 80 create a project, only 20 connect data (25%), 15 build a dashboard (75%).
    const june = month('jun', 2024, 6, { users: 100, project: 80, data: 20, dashboard: 15 }, true, juneOrg);
    e = await store([...trailing(), ...june, ...juneExtras()]);
  });
  afterAll(() => e.close());

  it('reports each step with hand-computed counts, conversions and times, and the biggest drop', async () => {
    const dive = await onboardingFunnel.run(ctx(e));
    const steps = dive.data.steps as OnboardingStep[];
    expect(steps.map((s) => [s.name, s.count])).toEqual([
      ['signed up', 100],
      ['project created', 80],
      ['data connected', 20],
      ['dashboard created', 15],
    ]);
    expect(steps.map((s) => s.conversionFromPrevious)).toEqual([1, 0.8, 0.25, 0.75]);
    expect(steps.map((s) => s.conversionFromFirst)).toEqual([1, 0.8, 0.2, 0.15]);
    expect(step(steps, 'project created').medianSecondsFromPrevious).toBe(600);
    // data connected after (i + 1) h, i = 0..19: median (10 + 11) / 2 h = 37800 s;
    // p90 (type 7): h = 19 · 0.9 = 17.1 → 18 h + 0.1 h = 65160 s
    expect(step(steps, 'data connected').medianSecondsFromPrevious).toBe(37_800);
    expect(step(steps, 'data connected').p90SecondsFromPrevious).toBeCloseTo(65_160, 6);
    expect(step(steps, 'dashboard created').medianSecondsFromPrevious).toBe(1800);
    // Wilson 95% for 20 of 80: centre (0.25 + 1.9208/80) / (1 + 3.8415/80) = 0.26146,
    // half-width 1.96 / 1.04802 · √(0.25 · 0.75 / 80 + 3.8415 / 25600) = 0.09339
    expect(step(steps, 'data connected').conversionInterval?.low).toBeCloseTo(0.16807, 3);
    expect(step(steps, 'data connected').conversionInterval?.high).toBeCloseTo(0.35485, 3);
    expect(dive.data.biggestDrop).toBe('data connected');
    expect(dive.data.biggestDropClearlyLowest).toBe(true);
    expect(dive.data.newUsers).toBe(100);
    expect(dive.data.stepsSource).toBe('configured');
    expect(dive.findings[0]?.title).toBe(
      'Biggest drop: "project created" → "data connected", 25.0% continue (down from 60.0% in the trailing months)',
    );
    expect(dive.findings[0]?.evidence).toMatchObject({ newUsers: 100, atPrevious: 80, reached: 20 });
  });

  it('finds the change this month against the trailing months pooled', async () => {
    const dive = await onboardingFunnel.run(ctx(e));
    const change = dive.data.changeThisMonth as { trailingMonths: string[]; comparisons: StepComparison[] };
    expect(change.trailingMonths).toEqual(['2024-02', '2024-03', '2024-04', '2024-05']);
    const dc = change.comparisons.find((c) => c.step === 'data connected');
    // June 20 of 80 vs trailing 4 · 24 = 96 of 4 · 40 = 160: 25% vs 60%
    expect(dc).toMatchObject({ baseA: 80, baseB: 160, conversionA: 0.25, conversionB: 0.6 });
    expect(dc?.test).toBe('two-proportion-z-test');
    expect(dc?.significant).toBe(true);
    expect(dc?.qValue).toBeLessThan(1e-4);
    // project created 80% vs 80%, dashboard 75% vs 75%: no change
    expect(change.comparisons.filter((c) => c.significant).map((c) => c.step)).toEqual(['data connected']);
    expect(dive.findings.map((f) => f.title)).toContain(
      'Biggest drop: "project created" → "data connected", 25.0% continue (down from 60.0% in the trailing months)',
    );
    expect(dive.summary).toContain('down from 60.0% in the trailing months');
  });

  it('splits the funnel by ICP', async () => {
    const dive = await onboardingFunnel.run(ctx(e));
    const byIcp = dive.data.byIcp as { group: string; steps: OnboardingStep[] }[];
    // ICP: users 0–39, all create a project, 20 connect data; non-ICP: 40–99, 40 create a project, none connects
    expect(byIcp.map((g) => [g.group, g.steps.map((s) => s.count)])).toEqual([
      ['icp', [40, 40, 20, 15]],
      ['non-icp', [60, 40, 0, 0]],
    ]);
    const cmp = dive.data.icpComparisons as StepComparison[];
    expect(cmp.map((c) => c.step)).toEqual(['project created', 'data connected']); // dashboard: non-ICP base 0
    expect(cmp.every((c) => c.significant)).toBe(true);
  });

  it('lists what those who dropped did instead, with share and lift', async () => {
    const dive = await onboardingFunnel.run(ctx(e));
    const instead = dive.data.didInstead as { events: DidInstead[]; dropped: number; converted: number };
    // at "project created" but not "data connected": users 20–79 (60); went on: 0–19 (20)
    expect(instead.dropped).toBe(60);
    expect(instead.converted).toBe(20);
    const docs = instead.events[0] as DidInstead;
    expect(docs.event).toBe('docs viewed');
    expect(docs.droppedShare).toBeCloseTo(0.75, 10); // 45 / 60
    expect(docs.convertedShare).toBeCloseTo(0.1, 10); // 2 / 20
    expect(docs.lift).toBeCloseTo(7.5, 10);
    expect(docs.qValue).toBeLessThan(0.05);
    const settings = instead.events.find((x) => x.event === 'settings opened');
    expect(settings?.lift).toBeCloseTo(1, 10); // 30 / 60 vs 10 / 20
    // step events and $pageview are not "instead"
    expect(instead.events.map((x) => x.event).sort()).toEqual(['docs viewed', 'settings opened']);
    expect(dive.findings.at(-1)?.title).toBe(
      'Instead of "data connected", those who dropped did: "docs viewed"',
    );
    expect(dive.findings.at(-1)?.evidence).toMatchObject({ lift: 7.5, dropped: 60, converted: 20 });
  });
});

describe('onboarding-funnel: negative control and inferred steps', () => {
  let e: DuckDbEngine;
  beforeAll(async () => {
    // June converts like the trailing months: 100 → 80 → 48 (60%) → 36 (75%); plus a rare event and bookkeeping.
    const june = month('jun', 2024, 6, { users: 100, project: 80, data: 48, dashboard: 36 }, false, juneOrg);
    const rare: DiveEvent[] = Array.from({ length: 10 }, (_, i) => ({
      event: 'help opened',
      person: `jun${i}`,
      at: iso(Date.UTC(2024, 5, (i % 25) + 1, 12)),
    }));
    const identify: DiveEvent[] = Array.from({ length: 100 }, (_, i) => ({
      event: '$identify',
      person: `jun${i}`,
      at: iso(Date.UTC(2024, 5, (i % 25) + 1, 10)),
    }));
    // an everyday action: every June user opens the editor three times in the first week (not a milestone)
    const everyday: DiveEvent[] = Array.from({ length: 300 }, (_, j) => ({
      event: 'editor opened',
      person: `jun${j % 100}`,
      at: iso(Date.UTC(2024, 5, ((j % 100) % 25) + 1, 11) + Math.floor(j / 100) * DAY),
    }));
    e = await store([...trailing(), ...june, ...rare, ...identify, ...everyday]);
  });
  afterAll(() => e.close());

  it('claims no change when nothing changed', async () => {
    const dive = await onboardingFunnel.run(ctx(e));
    expect(dive.data.biggestDrop).toBe('data connected'); // 60% < 75% < 80%
    const change = dive.data.changeThisMonth as { comparisons: StepComparison[] };
    expect(change.comparisons).toHaveLength(3);
    expect(change.comparisons.some((c) => c.significant)).toBe(false);
    expect(dive.findings.some((f) => /this month/.test(f.title))).toBe(false);
    expect(dive.summary).toContain('no significant change from 60.0% in the trailing months');
    // the biggest drop is as usual: its finding carries the change test's q, so highlights skip it
    expect(dive.findings[0]?.evidence.qValue).toBeGreaterThan(0.05);
  });

  it('infers the steps from new users’ first events when none are configured', async () => {
    const dive = await onboardingFunnel.run(ctx(e, inferredConfig));
    // Feb–June: 300 new users; help opened by 10 (3.3% < 10%), $pageview is noise, $identify bookkeeping,
    // editor opened done by 100 (33%) but 3 times each: an everyday action, not a milestone.
    // Median first occurrence: signed up 0 s, project 600 s, data 7800 s, dashboard 9600 s.
    expect(dive.data.stepsSource).toBe('inferred');
    expect((dive.data.steps as OnboardingStep[]).map((s) => [s.name, s.count])).toEqual([
      ['signed up', 100],
      ['project created', 80],
      ['data connected', 48],
      ['dashboard created', 36],
    ]);
    const inferred = dive.data.inferredSteps as InferredCandidate[];
    // users: 300, 4 · 40 + 80 = 240, 4 · 24 + 48 = 144, 4 · 18 + 36 = 108
    expect(inferred.map((c) => [c.event, c.users, c.milestone])).toEqual([
      ['signed up', 300, true],
      ['project created', 240, true],
      ['data connected', 144, true],
      ['dashboard created', 108, true],
      ['editor opened', 100, false],
    ]);
    expect(inferred.find((c) => c.event === 'editor opened')?.meanPerUser).toBe(3);
    expect(dive.data.inferredBy).toBe('milestones');
    expect(dive.summary).toContain('Steps inferred (one-time milestones among new users');
    expect(dive.method).toContain('INFERRED');
  });
});

describe('onboarding-funnel: too little data', () => {
  it('says not enough data below the minimum of new users', async () => {
    const e = await store([
      ...trailing(),
      ...month('jun', 2024, 6, { users: 20, project: 15, data: 5, dashboard: 3 }, false),
    ]);
    const dive = await onboardingFunnel.run(ctx(e));
    await e.close();
    expect(dive.summary).toBe(
      'Not enough data: 20 new users in 2024-06 with a whole 14-day window observed; needs 30.',
    );
    expect(dive.data).toMatchObject({ steps: [], biggestDrop: null, newUsers: 20 });
    expect(dive.findings).toEqual([]);
  });
});

describe('findBiggestDrop', () => {
  const s = (name: string, count: number, conv: number | null): OnboardingStep => ({
    name,
    count,
    conversionFromPrevious: conv,
    conversionFromFirst: null,
    conversionInterval: null,
    medianSecondsFromPrevious: null,
    p90SecondsFromPrevious: null,
  });

  it('names the earlier of tied steps and skips steps with a tiny base', () => {
    // a 40 → b 20 (50%) → c 10 (50%) → d 5 (50%) → e 0 (0% of 5: base below 10, not judged)
    const r = findBiggestDrop([
      s('a', 40, 1),
      s('b', 20, 0.5),
      s('c', 10, 0.5),
      s('d', 5, 0.5),
      s('e', 0, 0),
    ]);
    expect(r.step).toBe('b');
    expect(r.index).toBe(1);
    expect(r.reason).toContain('Tied with "c", "d"');
    expect(r.reason).toContain('1 step(s) not judged');
  });

  it('names no step when every base is tiny', () => {
    expect(findBiggestDrop([s('a', 5, 1), s('b', 1, 0.2)]).step).toBeNull();
  });
});

describe('onboarding-funnel: each query on its own', () => {
  // a: signs up 2024-06-03 10:00, creates a project 1 h and 1 day later (twice);
  // b: signs up 2024-06-10 00:00, sends an invite 30 min later (and $identify, bookkeeping);
  // c: signs up 2024-05-31 23:59:59, a project 1 s later in June (a May user);
  // d: signs up in July (after the review month). `old` is active since January.
  const EVENTS: DiveEvent[] = [
    ...BOOKENDS,
    { event: 'signed up', person: 'a', at: '2024-06-03T10:00:00.000Z' },
    { event: 'project created', person: 'a', at: '2024-06-03T11:00:00.000Z' },
    { event: 'project created', person: 'a', at: '2024-06-04T10:00:00.000Z' },
    { event: 'signed up', person: 'b', at: '2024-06-10T00:00:00.000Z' },
    { event: '$identify', person: 'b', at: '2024-06-10T00:10:00.000Z' },
    { event: 'invite sent', person: 'b', at: '2024-06-10T00:30:00.000Z' },
    { event: 'signed up', person: 'c', at: '2024-05-31T23:59:59.000Z' },
    { event: 'project created', person: 'c', at: '2024-06-01T00:00:00.000Z' },
    { event: 'signed up', person: 'd', at: '2024-07-10T00:00:00.000Z' },
  ];
  let e: DuckDbEngine;
  beforeAll(async () => {
    e = await freshEngine();
    await insertDiveEvents(e, EVENTS);
  });
  afterAll(() => e.close());

  it('data bounds: the first and last event of the store', async () => {
    expect(await queryDataBounds(ctx(e))).toEqual({
      first: Date.UTC(2024, 0, 1) / 1000,
      last: Date.UTC(2024, 6, 20) / 1000,
    });
  });

  it('data bounds: null on an empty store', async () => {
    const empty = await freshEngine();
    try {
      expect(await queryDataBounds(ctx(empty))).toEqual({ first: null, last: null });
    } finally {
      await empty.close();
    }
  });

  it('cohort months: new users per month up to the review month, observed before the cut', async () => {
    const sizes = await queryCohortMonths(
      ctx(e),
      new Date('2024-05-01T00:00:00Z'),
      new Date('2024-06-08T00:00:00Z'),
    );
    expect(Object.fromEntries(sizes)).toEqual({
      // c's first activity is May 31st (the June project does not make c a June user)
      '2024-05': { month: '2024-05', newUsers: 1, observedNewUsers: 1 },
      // a (June 3rd, observed) and b (June 10th, after the cut); d is in July, old in January
      '2024-06': { month: '2024-06', newUsers: 2, observedNewUsers: 1 },
    });
  });

  it('inference counts: per feature event within the window, users, times per user, median time to first', async () => {
    const counts = await queryInferenceCounts(
      ctx(e, inferredConfig),
      new Date('2024-06-01T00:00:00Z'),
      new Date('2024-07-01T00:00:00Z'),
    );
    expect(counts.cohort).toBe(2); // a and b
    expect([...counts.events].sort((x, y) => compareText(x.event, y.event))).toEqual([
      { event: 'invite sent', users: 1, meanPerUser: 1, medianSecondsToFirst: 1800 },
      { event: 'project created', users: 1, meanPerUser: 2, medianSecondsToFirst: 3600 },
      { event: 'signed up', users: 2, meanPerUser: 1, medianSecondsToFirst: 0 },
    ]);
    // Pure: 'project created' (twice per user) is no milestone; two milestones remain, in time order.
    const inferred = inferSteps(counts);
    expect(inferred.rule).toBe('milestones');
    expect(inferred.steps).toEqual(['signed up', 'invite sent']);
  });

  it('did instead: those who reached the step before but not the step, and what they did', async () => {
    const spec = {
      dateFrom: '2024-06-01T00:00:00.000Z',
      dateTo: '2024-07-15T00:00:00.000Z',
      steps: ['signed up', 'project created'],
      windowSeconds: 14 * 86_400,
    };
    const cohort = sqlReviewCohort(
      ctx(e),
      new Date('2024-06-01T00:00:00Z'),
      new Date('2024-07-01T00:00:00Z'),
    );
    // b signed up and never created a project (dropped; then sent an invite), a went on.
    expect(await queryDidInstead(ctx(e), spec, sqlFunnelPersons(ctx(e), spec, cohort), 1)).toEqual({
      events: [{ event: 'invite sent', dropped: 1, converted: 0 }],
      dropped: 1,
      converted: 1,
      droppedWithAnyEvent: 1,
    });
  });
});
