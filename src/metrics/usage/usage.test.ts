import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { configSchema, type Config } from '../../config/schema.js';
import { monthsEndingAt, type Month } from '../../domain/month.js';
import { DuckDbEngine } from '../../store/duckdb/engine.js';
import { insertEvents, type TestEvent } from '../../../test/helpers/test-events.js';
import { ALL_PRODUCTS, type MetricValues, type ProductScope } from '../types.js';
import { computeUsage, formatUsage, queryUsage } from './index.js';
import { actorMonths } from './active.js';
import { keyActionCounts } from './key-actions.js';
import { dailyActivity } from './stickiness.js';
import { maybeTwin } from '../../../test/helpers/twin.js';

let e: DuckDbEngine;
beforeEach(async () => {
  e = await DuckDbEngine.open(':memory:');
  await e.migrate();
  e = await maybeTwin(e);
});
afterEach(() => e.close());

/**
 * The company (2024, UTC). Activity = every event but the default exclusions.
 *   P1 (distinct_ids anon-1 and p1: one person), org A: Jan 15 $pageview (anon-1),
 *      Jan 31 23:59:59.999 click, Feb 1 00:00:00 click, Mar 10 $identify (excluded)
 *   P2, org A: Feb 5 click, Apr 2 recording_started
 *   P3, no org: Jan 20 click, Feb 20 click, Mar 20 click ×2 (same day), Jun 3 click
 *   P4, org B: Mar 1 00:00 survey sent (excluded), Mar 31 23:59:59 $pageview
 *   P5, org B: Feb 29 $feature_flag_called only (never active)
 * Active persons: Jan {P1,P3}=2  Feb {P1,P2,P3}=3  Mar {P3,P4}=2  Apr {P2}=1  May {}=0  Jun {P3}=1
 * Active orgs:    Jan {A}  Feb {A}  Mar {B}  Apr {A}  May {}  Jun {} (P3 has none)
 * Events span Jan…Jun: Dec 2023 and Jul 2024 are outside the data (null).
 */
const COMPANY: TestEvent[] = [
  { event: '$pageview', person: 'P1', distinctId: 'anon-1', at: '2024-01-15T10:00:00Z', organization: 'A' },
  { event: 'click', person: 'P1', distinctId: 'p1', at: '2024-01-31T23:59:59.999Z', organization: 'A' },
  { event: 'click', person: 'P1', distinctId: 'p1', at: '2024-02-01T00:00:00Z', organization: 'A' },
  { event: '$identify', person: 'P1', distinctId: 'p1', at: '2024-03-10T00:00:00Z', organization: 'A' },
  { event: 'click', person: 'P2', at: '2024-02-05T12:00:00Z', organization: 'A' },
  { event: 'recording_started', person: 'P2', at: '2024-04-02T12:00:00Z', organization: 'A' },
  { event: 'click', person: 'P3', at: '2024-01-20T08:00:00Z' },
  { event: 'click', person: 'P3', at: '2024-02-20T08:00:00Z' },
  { event: 'click', person: 'P3', at: '2024-03-20T08:00:00Z' },
  { event: 'click', person: 'P3', at: '2024-03-20T18:00:00Z' },
  { event: 'click', person: 'P3', at: '2024-06-03T08:00:00Z' },
  { event: 'survey sent', person: 'P4', at: '2024-03-01T00:00:00Z', organization: 'B' },
  { event: '$pageview', person: 'P4', at: '2024-03-31T23:59:59Z', organization: 'B' },
  { event: '$feature_flag_called', person: 'P5', at: '2024-02-29T23:59:59Z', organization: 'B' },
];

const MONTHS = monthsEndingAt('2024-07', 8); // 2023-12 … 2024-07

function config(over: Record<string, unknown> = {}): Config {
  return configSchema.parse({ keyActions: ['click', 'recording_started'], ...over });
}

async function usage(
  cfg: Config = config(),
  product: ProductScope = ALL_PRODUCTS,
): Promise<Map<string, MetricValues>> {
  const metrics = await computeUsage({ engine: e, config: cfg, product, months: MONTHS });
  return new Map(metrics.map((m) => [m.id, m]));
}

function values(m: Map<string, MetricValues>, id: string): Array<number | null> {
  const metric = m.get(id);
  if (!metric) throw new Error(`no metric ${id}`);
  return MONTHS.map((mo: Month) => metric.values.get(mo) ?? null);
}

describe('usage metrics, all products', () => {
  it('active, new, growth, retention: identity-resolved, month edges, empty months, no-org people', async () => {
    await insertEvents(e, COMPANY);
    const m = await usage();
    //                                      Dec   Jan  Feb  Mar  Apr  May  Jun  Jul
    expect(values(m, 'active_users')).toEqual([null, 2, 3, 2, 1, 0, 1, null]);
    expect(values(m, 'mau')).toEqual([null, 2, 3, 2, 1, 0, 1, null]);
    expect(values(m, 'active_organizations')).toEqual([null, 1, 1, 1, 1, 0, 0, null]);
    // first months: P1, P3 Jan; P2 Feb; P4 Mar.  Orgs: A Jan, B Mar.
    expect(values(m, 'new_users')).toEqual([null, 2, 1, 1, 0, 0, 0, null]);
    expect(values(m, 'new_organizations')).toEqual([null, 1, 0, 1, 0, 0, 0, null]);
    // (this − last) / last; Jan: Dec is outside the data → null; Jun: May had 0 → null.
    // Feb (3−2)/2 = 0.5; Mar (2−3)/3 = −1/3; Apr (1−2)/2 = −0.5; May (0−1)/1 = −1.
    expect(values(m, 'user_growth_rate')).toEqual([null, null, 0.5, -1 / 3, -0.5, -1, null, null]);
    // orgs 1,1,1,1,0,0: Feb..Apr 0, May (0−1)/1 = −1, Jun 0/0 → null.
    expect(values(m, 'organization_growth_rate')).toEqual([null, null, 0, 0, 0, -1, null, null]);
    // retained/last: Feb {P1,P3}/2 = 1; Mar {P3}/3; Apr {}/2 = 0; May {}/1 = 0; Jun: May 0 → null.
    expect(values(m, 'user_retention_rate')).toEqual([null, null, 1, 1 / 3, 0, 0, null, null]);
  });

  it('retention cohorts: of each first-activity cohort, how many are active in the month', async () => {
    await insertEvents(e, COMPANY);
    const m = await usage();
    const cohorts = (mo: Month): unknown => m.get('user_retention_rate')?.detail?.get(mo)?.cohorts;
    // Cohorts: Jan {P1,P3}, Feb {P2}, Mar {P4}. Feb: Jan's P1, P3 and Feb's P2 active.
    expect(cohorts('2024-02')).toEqual([
      { cohort: '2024-01', size: 2, active: 2 },
      { cohort: '2024-02', size: 1, active: 1 },
    ]);
    // Apr: only P2 (Feb cohort); May: nobody; Jun: P3 (Jan cohort).
    expect(cohorts('2024-04')).toEqual([{ cohort: '2024-02', size: 1, active: 1 }]);
    expect(cohorts('2024-05')).toEqual([]);
    expect(cohorts('2024-06')).toEqual([{ cohort: '2024-01', size: 2, active: 1 }]);
  });

  it('lifecycle: new + returning + resurrecting = active; dormant = last month’s active not back', async () => {
    await insertEvents(e, COMPANY);
    const m = await usage();
    //                                          Dec   Jan  Feb  Mar  Apr  May  Jun  Jul
    expect(values(m, 'lifecycle_new')).toEqual([null, 2, 1, 1, 0, 0, 0, null]);
    expect(values(m, 'lifecycle_returning')).toEqual([null, 0, 2, 1, 0, 0, 0, null]);
    // Apr: P2 (Feb, not Mar); Jun: P3 (Mar, not May).
    expect(values(m, 'lifecycle_resurrecting')).toEqual([null, 0, 0, 0, 1, 0, 1, null]);
    // Feb 2−2 = 0; Mar 3−1 = 2 (P1, P2); Apr 2−0 = 2 (P3, P4); May 1−0 = 1 (P2); Jun 0.
    expect(values(m, 'lifecycle_dormant')).toEqual([null, null, 0, 2, 2, 1, 0, null]);
  });

  it('DAU and WAU means over the month’s days, stickiness = DAU/MAU', async () => {
    await insertEvents(e, COMPANY);
    const m = await usage();
    // Person-days: Jan P1 15th, P1 31st, P3 20th = 3 over 31 days; Feb P1 1st, P2 5th, P3 20th = 3 over 29;
    // Mar P3 20th (two events, one day), P4 31st = 2 over 31.
    const dau = m.get('dau');
    expect(dau?.detail?.get('2024-01')?.mean).toBeCloseTo(3 / 31, 12);
    expect(dau?.detail?.get('2024-02')?.mean).toBeCloseTo(3 / 29, 12);
    expect(dau?.detail?.get('2024-03')?.mean).toBeCloseTo(2 / 31, 12);
    expect(values(m, 'dau')).toEqual([null, 0, 0, 0, 0, 0, 0, null]); // rounded means < 0.5
    // WAU: a person-day counts on that day and the 6 after. Jan: P1 15→15..21 (7), P3 20→20..26 (7),
    // P1 31→31 (1) = 15. Feb: P1 1→1..7, P2 5→5..11, P3 20→20..26 = 21; P1's Jan 31 reaches Feb 1..6,
    // already counted. Mar: P3 20→20..26 (7), P4 31→31 (1) = 8.
    const wau = m.get('wau');
    expect(wau?.detail?.get('2024-01')?.mean).toBeCloseTo(15 / 31, 12);
    expect(wau?.detail?.get('2024-02')?.mean).toBeCloseTo(21 / 29, 12);
    expect(wau?.detail?.get('2024-03')?.mean).toBeCloseTo(8 / 31, 12);
    expect(values(m, 'wau')).toEqual([null, 0, 1, 0, 0, 0, 0, null]); // 0.48, 0.72, 0.26, Apr 7/30, …
    // stickiness: Feb (3/29)/3 = 1/29; May: MAU 0 → null.
    const st = values(m, 'stickiness');
    expect(st[2]).toBeCloseTo(1 / 29, 12);
    expect(st[5]).toBeNull();
  });

  it('key actions: counts per month, persons in detail', async () => {
    await insertEvents(e, COMPANY);
    const m = await usage();
    // click: Jan P1+P3 = 2; Feb 3; Mar P3 ×2 = 2; Apr 0; May 0; Jun 1.
    expect(values(m, 'key_action:click')).toEqual([null, 2, 3, 2, 0, 0, 1, null]);
    expect(m.get('key_action:click')?.detail?.get('2024-03')).toEqual({ persons: 1 });
    expect(values(m, 'key_action:recording_started')).toEqual([null, 0, 0, 0, 1, 0, 0, null]);
  });

  it('an empty store: every value null', async () => {
    const m = await usage();
    expect(values(m, 'active_users').every((v) => v === null)).toBe(true);
    expect(values(m, 'user_retention_rate').every((v) => v === null)).toBe(true);
  });
});

describe('usage metrics, per product', () => {
  it('counts only the product’s events (globs), keeps the data range of the whole store', async () => {
    await insertEvents(e, COMPANY);
    const replay: ProductScope = { name: 'replay', events: ['recording_*'], stripeProducts: [] };
    const m = await usage(config(), replay);
    // Only P2's Apr 2 recording_started is replay activity.
    expect(values(m, 'active_users')).toEqual([null, 0, 0, 0, 1, 0, 0, null]);
    expect(values(m, 'new_users')).toEqual([null, 0, 0, 0, 1, 0, 0, null]);
    expect(values(m, 'active_organizations')).toEqual([null, 0, 0, 0, 1, 0, 0, null]);
    // Apr: last month 0 → null; May (0−1)/1 = −1.
    expect(values(m, 'user_growth_rate')).toEqual([null, null, null, null, null, -1, null, null]);
    // Only the key actions the product's globs match are reported.
    expect([...m.keys()].filter((k) => k.startsWith('key_action:'))).toEqual([
      'key_action:recording_started',
    ]);
  });
});

describe('activation_rate', () => {
  /**
   * Steps signed_up → created_project within 14 days of the first activity event.
   *   Q1 Jan 10 signed_up, Jan 23 23:59 created_project (< Jan 24 00:00): activated
   *   Q2 Jan 20 signed_up, Feb 3 00:00 created_project (exactly 14 days: the window is exclusive): not
   *   Q3 Jan 25 created_project, Jan 26 signed_up (wrong order, nothing after): not
   *   Q4 Feb 1 signed_up, Feb 2 created_project: activated;  Q1 also clicks on Mar 5.
   * Jan: 1 of 3; Feb: 1 of 1; Mar: no new users → null; Dec, Apr…: outside the data → null.
   */
  it('new users completing the steps in order within the window', async () => {
    await insertEvents(e, [
      { event: 'signed_up', person: 'Q1', at: '2024-01-10T00:00:00Z' },
      { event: 'created_project', person: 'Q1', at: '2024-01-23T23:59:59Z' },
      { event: 'signed_up', person: 'Q2', at: '2024-01-20T00:00:00Z' },
      { event: 'created_project', person: 'Q2', at: '2024-02-03T00:00:00Z' },
      { event: 'created_project', person: 'Q3', at: '2024-01-25T00:00:00Z' },
      { event: 'signed_up', person: 'Q3', at: '2024-01-26T00:00:00Z' },
      { event: 'signed_up', person: 'Q4', at: '2024-02-01T00:00:00Z' },
      { event: 'created_project', person: 'Q4', at: '2024-02-02T00:00:00Z' },
      { event: 'click', person: 'Q1', at: '2024-03-05T00:00:00Z' },
    ]);
    const m = await usage(
      config({ onboarding: { steps: ['signed_up', 'created_project'], windowDays: 14 } }),
    );
    expect(values(m, 'activation_rate')).toEqual([null, 1 / 3, 1, null, null, null, null, null]);
    expect(m.get('activation_rate')?.detail?.get('2024-01')).toEqual({ newUsers: 3, activated: 1 });
  });

  it("is null for a product whose events don't include the onboarding steps", async () => {
    await insertEvents(e, [
      { event: 'signed_up', person: 'Q1', at: '2024-01-10T00:00:00Z' },
      { event: 'created_project', person: 'Q1', at: '2024-01-11T00:00:00Z' },
      { event: 'recording_started', person: 'Q1', at: '2024-01-12T00:00:00Z' },
    ]);
    const cfg = config({ onboarding: { steps: ['signed_up', 'created_project'], windowDays: 14 } });
    const replay: ProductScope = { name: 'replay', events: ['recording_*'], stripeProducts: [] };
    expect(values(await usage(cfg, replay), 'activation_rate').every((v) => v === null)).toBe(true);
    // Q1 is new in Jan and does both steps: 1/1 for the company.
    expect(values(await usage(cfg), 'activation_rate')[1]).toBe(1);
  });

  it('is null everywhere when no onboarding steps are configured', async () => {
    await insertEvents(e, COMPANY);
    const m = await usage();
    expect(values(m, 'activation_rate').every((v) => v === null)).toBe(true);
  });
});

describe('usage: each query on its own, and the pure format', () => {
  const ctx = () => ({ engine: e, config: config(), product: ALL_PRODUCTS, months: MONTHS });
  const rows = <T>(m: Map<string, T>): Record<string, T> => Object.fromEntries([...m].sort());

  it('active users per month: active, new, retained, resurrecting (the company above)', async () => {
    await insertEvents(e, COMPANY);
    expect(rows(await actorMonths(ctx(), 'person'))).toEqual({
      '2024-01': { m: '2024-01', active: 2, new: 2, retained: 0, resurrecting: 0 },
      '2024-02': { m: '2024-02', active: 3, new: 1, retained: 2, resurrecting: 0 },
      // P4's first activity is the Mar 31 $pageview (survey sent is not activity)
      '2024-03': { m: '2024-03', active: 2, new: 1, retained: 1, resurrecting: 0 },
      '2024-04': { m: '2024-04', active: 1, new: 0, retained: 0, resurrecting: 1 },
      '2024-06': { m: '2024-06', active: 1, new: 0, retained: 0, resurrecting: 1 },
    });
  });

  it('active organizations per month (P3 has none, so June has no active organization)', async () => {
    await insertEvents(e, COMPANY);
    expect(rows(await actorMonths(ctx(), 'organization'))).toEqual({
      '2024-01': { m: '2024-01', active: 1, new: 1, retained: 0, resurrecting: 0 },
      '2024-02': { m: '2024-02', active: 1, new: 0, retained: 1, resurrecting: 0 },
      '2024-03': { m: '2024-03', active: 1, new: 1, retained: 0, resurrecting: 0 },
      '2024-04': { m: '2024-04', active: 1, new: 0, retained: 0, resurrecting: 1 },
    });
  });

  it('daily activity: person-days and trailing-7-day person-days per month', async () => {
    await insertEvents(e, COMPANY);
    const daily = await dailyActivity(ctx());
    // Jan: P1 on the 15th and 31st, P3 on the 20th = 3 person-days. Weekly: P1 from the 15th
    // covers 15–21 (7), from the 31st only the 31st (active again Feb 1st), P3 20–26 (7) = 15.
    expect(daily.get('2024-01')).toEqual({ m: '2024-01', personDays: 3, personWeekDays: 15 });
    // Feb: P1 on the 1st, P2 on the 5th, P3 on the 20th, each a whole week inside February.
    expect(daily.get('2024-02')).toEqual({ m: '2024-02', personDays: 3, personWeekDays: 21 });
  });

  it('key actions: times done and persons per month', async () => {
    await insertEvents(e, COMPANY);
    const keys = await keyActionCounts(ctx());
    expect(keys.get('click')?.get('2024-02')).toMatchObject({ count: 3, persons: 3 });
    expect(keys.get('click')?.get('2024-03')).toMatchObject({ count: 2, persons: 1 });
    expect(keys.get('recording_started')?.get('2024-04')).toMatchObject({ count: 1, persons: 1 });
    expect(keys.get('recording_started')?.get('2024-03')).toBeUndefined();
  });

  it('the format is pure: the same facts give the same metrics as the family, with no store', async () => {
    await insertEvents(e, COMPANY);
    const facts = await queryUsage(ctx());
    const family = await computeUsage(ctx());
    expect(formatUsage(ctx(), facts)).toEqual(family);
    // No facts, no activity: every active-user count is 0 inside the range, null outside it.
    const none = formatUsage(ctx(), { ...facts, users: new Map() });
    const active = none.find((m) => m.id === 'active_users');
    expect(MONTHS.map((m) => active?.values.get(m) ?? null)).toEqual([null, 0, 0, 0, 0, 0, 0, null]);
  });
});
