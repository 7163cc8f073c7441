import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configSchema } from '../../config/schema.js';
import { ALL_PRODUCTS } from '../../metrics/types.js';
import { sql } from '../../store/sql.js';
import type { DuckDbEngine } from '../../store/duckdb/engine.js';
import { prng } from '../stats/random.js';
import {
  freshEngine,
  insertDiveEvents,
  insertOrganizations,
  type DiveEvent,
} from '../../../test/helpers/dive-test-data.js';
import {
  formatIcpVsNonIcp,
  icpVsNonIcp,
  queryMonthUsage,
  queryMrrByOrganization,
  queryNpsByGroup,
  type IcpFeature,
} from './icp-vs-non-icp.js';
import type { DeepDiveContext } from './types.js';

const MONTH = '2024-05';
const config = configSchema.parse({ icp: { all: [{ property: 'employees', op: '>=', value: 50 }] } });

function ctx(engine: DuckDbEngine, over: Partial<DeepDiveContext> = {}): DeepDiveContext {
  return { engine, config, product: ALL_PRODUCTS, month: MONTH, metrics: [], ...over };
}

/** `n` ICP (employees 100) and `n` non-ICP (employees 10) organizations, one person each. */
function orgs(n: number): { key: string; icp: boolean; person: string }[] {
  const out = [];
  for (let i = 0; i < n; i++) out.push({ key: `icp${i}`, icp: true, person: `p-icp${i}` });
  for (let i = 0; i < n; i++) out.push({ key: `non${i}`, icp: false, person: `p-non${i}` });
  return out;
}

async function store(list: { key: string; icp: boolean }[], events: DiveEvent[]): Promise<DuckDbEngine> {
  const e = await freshEngine();
  await insertOrganizations(
    e,
    list.map((o) => ({ key: o.key, properties: { employees: o.icp ? 100 : 10 } })),
  );
  await insertDiveEvents(e, events);
  return e;
}

const feature = (features: unknown, event: string): IcpFeature | undefined =>
  (features as IcpFeature[]).find((f) => f.event === event);

describe('icp-vs-non-icp: a planted difference', () => {
  let e: DuckDbEngine;
  beforeAll(async () => {
    const list = orgs(40);
    const events: DiveEvent[] = [];
    list.forEach((o, i) => {
      const at = `2024-05-${String(1 + (i % 28)).padStart(2, '0')}T10:00:00Z`;
      events.push({ event: '$pageview', person: o.person, org: o.key, at });
      events.push({ event: '$pageview', person: o.person, org: o.key, at: '2024-04-15T10:00:00Z' });
      const k = Number(o.key.slice(3));
      // export: 30 of 40 ICP, 5 of 40 non-ICP
      if ((o.icp && k < 30) || (!o.icp && k < 5))
        events.push({ event: 'export', person: o.person, org: o.key, at });
      // share: 20 of 40 in both groups (negative control)
      if (k < 20) events.push({ event: 'share', person: o.person, org: o.key, at });
      // $identify: ICP only, but bookkeeping, so never a feature
      if (o.icp) events.push({ event: '$identify', person: o.person, org: o.key, at });
    });
    // 10 non-ICP organizations active in April only: non-ICP retention 40 of 50
    for (let i = 40; i < 50; i++) {
      events.push({ event: '$pageview', person: `p-non${i}`, org: `non${i}`, at: '2024-04-20T10:00:00Z' });
    }
    // NPS survey events: five ICP people answer 0, then 10 (the latest counts); a 1–5 rating survey is not NPS
    for (let i = 0; i < 5; i++) {
      const nps = (score: number, day: string): DiveEvent => ({
        event: 'survey sent',
        person: `p-icp${i}`,
        org: `icp${i}`,
        at: `2024-05-${day}T10:00:00Z`,
        props: { $survey_id: 'nps', $survey_response: score },
      });
      events.push(nps(0, '05'), nps(10, '20'));
      events.push({
        event: 'survey sent',
        person: `p-non${i}`,
        org: `non${i}`,
        at: '2024-05-06T10:00:00Z',
        props: { $survey_id: 'csat', $survey_response: i + 1 },
      });
    }
    // an active organization with no group properties: unclassified
    events.push({ event: 'export', person: 'p-x', org: 'mystery', at: '2024-05-03T10:00:00Z' });
    e = await store(
      [...list, ...Array.from({ length: 10 }, (_, i) => ({ key: `non${40 + i}`, icp: false }))],
      events,
    );
    // Revenue (generic subscription rows): every ICP organization pays 100.00 a month, 5 non-ICP pay 20.00
    const paying = [...list.filter((o) => o.icp), ...list.filter((o) => !o.icp).slice(0, 5)];
    await e.exec(sql`
      INSERT INTO billing_subscription_rows (customer_id, organization, plan, product, currency, amount, interval, interval_count, quantity, start_at, status, row_key)
      SELECT 'c-' || k, k, 'pro', 'prod_a', 'USD', CASE WHEN k LIKE 'icp%' THEN 10000 ELSE 2000 END, 'month', 1, 1, TIMESTAMPTZ '2024-01-01', 'active', 'rk-' || gen_random_uuid()::VARCHAR
      FROM (SELECT unnest(${paying.map((o) => o.key)}) AS k)`);
    // NPS in May: 20 ICP answers of 10 (NPS 100); 20 non-ICP answers, ten 0 and ten 8 (NPS −50)
    await e.exec(sql`
      INSERT INTO feedback (id, kind, created_at, organization, score)
      SELECT 'f' || CAST(i AS VARCHAR), 'nps', TIMESTAMPTZ '2024-05-10',
        CASE WHEN i < 20 THEN 'icp' || CAST(i AS VARCHAR) ELSE 'non' || CAST(i - 20 AS VARCHAR) END,
        CASE WHEN i < 20 THEN 10 WHEN i < 30 THEN 0 ELSE 8 END
      FROM range(40) t(i)`);
  });
  afterAll(() => e.close());

  it('finds the planted feature with the hand-computed rates and names its test', async () => {
    const dive = await icpVsNonIcp.run(ctx(e));
    expect(dive.data.icpOrganizations).toBe(40);
    expect(dive.data.nonIcpOrganizations).toBe(40);
    expect(dive.data.unclassifiedOrganizations).toBe(1);
    const features = dive.data.features as IcpFeature[];
    const top = features[0] as IcpFeature;
    expect(top.event).toBe('export');
    expect(top.icpRate).toBeCloseTo(0.75, 10); // 30 / 40
    expect(top.nonIcpRate).toBeCloseTo(0.125, 10); // 5 / 40
    expect(top.difference).toBeCloseTo(0.625, 10);
    // expected counts ≥ 5 (min 40·35/80 = 17.5) → z-test; pooled 35/80, se = √(.4375·.5625·(2/40)) = .11093,
    // z = .625 / .11093 = 5.634 → p ≈ 1.8e-8
    expect(top.test).toBe('two-proportion-z-test');
    expect(top.pValue).toBeGreaterThan(1e-8);
    expect(top.pValue).toBeLessThan(3e-8);
    expect(top.significant).toBe(true);
    expect(dive.findings[0]?.title).toContain('"export"');
    expect(dive.findings[0]?.evidence).toMatchObject({
      test: 'two-proportion-z-test',
      icp: { using: 30, of: 40 },
    });
    expect(dive.summary).toContain('"export"');
  });

  it('claims nothing for the same rate in both groups, and skips bookkeeping events', async () => {
    const dive = await icpVsNonIcp.run(ctx(e));
    const share = feature(dive.data.features, 'share');
    expect(share?.difference).toBe(0); // 20/40 − 20/40
    expect(share?.significant).toBe(false);
    expect(feature(dive.data.features, '$pageview')?.pValue).toBe(1); // 40/40 vs 40/40
    expect(feature(dive.data.features, '$identify')).toBeUndefined();
    expect(dive.findings.filter((f) => f.title.includes('share'))).toHaveLength(0);
  });

  it('compares retention by group', async () => {
    const dive = await icpVsNonIcp.run(ctx(e));
    // ICP: 40 active in April, all 40 again in May; non-ICP: 50 in April, 40 again (0.8)
    expect(dive.data.retention).toMatchObject({
      icp: { retained: 40, of: 40 },
      nonIcp: { retained: 40, of: 50 },
    });
    // 10 not retained, smallest expected count 40·10/90 = 4.4 < 5 → Fisher's exact test;
    // P(all 10 non-retained among the 50 non-ICP) = C(50,10)/C(90,10) = 0.00180, plus the one table as unlikely
    // (all 10 among ICP: C(40,10)/C(90,10) = 0.00015) → p = 0.00194
    const retention = dive.data.retention as { test: string; pValue: number };
    expect(retention.test).toBe('fisher-exact-two-sided');
    expect(retention.pValue).toBeCloseTo(0.001944, 5);
  });

  it('compares month-end MRR and NPS by group', async () => {
    const dive = await icpVsNonIcp.run(ctx(e));
    // MRR: ICP 40 × 100.00; non-ICP 5 × 20.00 and 35 × 0 → median 0, mean 100 / 40 = 2.5
    expect(dive.data.revenuePerOrganization).toMatchObject({
      icp: { n: 40, median: 100, mean: 100 },
      nonIcp: { n: 40, median: 0, mean: 2.5 },
    });
    expect((dive.data.revenuePerOrganization as { test: string }).test).toMatch(/^mann-whitney-u/);
    // NPS: ICP 20 + 5 promoters (survey events, latest answer) → 100; non-ICP 10 detractors, 10 passives
    // → (0 − 0.5)·100 = −50 (the 1–5 rating survey does not count)
    const nps = dive.data.nps as {
      icp: { nps: number; n: number };
      nonIcp: { nps: number };
      pValue: number;
      qValue: number;
    };
    expect(nps.icp).toMatchObject({ nps: 100, n: 25 });
    expect(nps.nonIcp).toMatchObject({ n: 20 });
    expect(nps.nonIcp.nps).toBeCloseTo(-50, 10);
    // SEs 0 and 100·√((0.5 − 0.25)/20) = 11.18 → z = 150 / 11.18 = 13.4
    expect(nps.pValue).toBeLessThan(1e-30);
    expect(dive.findings.some((f) => f.title.startsWith('NPS: 100 for ICP vs -50 for non-ICP'))).toBe(true);
    expect(
      dive.findings.some((f) => f.title.startsWith('MRR per organization: median $100.00 for ICP vs $0.00')),
    ).toBe(true);
  });
});

describe('icp-vs-non-icp: random noise survives no correction', () => {
  let e: DuckDbEngine;
  beforeAll(async () => {
    const rand = prng(20240501);
    const list = orgs(40);
    const events: DiveEvent[] = [];
    for (const o of list) {
      events.push({ event: 'login', person: o.person, org: o.key, at: '2024-05-02T09:00:00Z' });
      // 30 events, each done by an organization with probability 0.3 whatever its group
      for (let k = 0; k < 30; k++) {
        if (rand() < 0.3)
          events.push({ event: `feature_${k}`, person: o.person, org: o.key, at: '2024-05-10T09:00:00Z' });
      }
    }
    e = await store(list, events);
  });
  afterAll(() => e.close());

  it('tests every event and finds none significant after Benjamini–Hochberg', async () => {
    const dive = await icpVsNonIcp.run(ctx(e));
    // no billing imported: revenue is not compared rather than compared as all zeros
    expect(dive.data.revenuePerOrganization).toMatchObject({
      reason: 'no billing data linked to organizations',
      qValue: null,
    });
    expect(dive.data.eventsTested).toBe(31); // 30 features + login
    expect((dive.data.features as IcpFeature[]).filter((f) => f.significant)).toEqual([]);
    expect(dive.findings.filter((f) => f.title.includes('feature_'))).toEqual([]);
    expect(dive.summary).toMatch(/^No event's usage differs significantly/);
  });
});

describe('icp-vs-non-icp: not enough data', () => {
  let e: DuckDbEngine;
  beforeAll(async () => {
    const list = orgs(5);
    e = await store(
      list,
      list.map((o) => ({ event: 'export', person: o.person, org: o.key, at: '2024-05-02T09:00:00Z' })),
    );
  });
  afterAll(() => e.close());

  it('says so when a group is too small', async () => {
    const dive = await icpVsNonIcp.run(ctx(e));
    expect(dive.summary).toMatch(/^Not enough data: 5 ICP and 5 non-ICP/);
    expect(dive.findings).toEqual([]);
    expect(dive.data.features).toEqual([]);
  });

  it('says how to configure a rule when none is', async () => {
    const dive = await icpVsNonIcp.run(ctx(e, { config: configSchema.parse({}) }));
    expect(dive.summary).toMatch(
      /^Not enough data: no ICP rule is configured; add a rule to sextant\.config\.yaml/,
    );
    expect(dive.findings).toEqual([]);
  });
});

describe('icp-vs-non-icp: each query on its own, and the pure format', () => {
  // May 2024. acme (ICP, 100 employees): p1 views a page on the 2nd (and in April), p2 exports on
  // the 3rd. beta (non-ICP, 10): p3 exports twice. gamma: no group properties (unclassified), p4
  // shares. delta (non-ICP, 5): p5 active in April only. A June event is out of range.
  let e: DuckDbEngine;
  beforeAll(async () => {
    e = await freshEngine();
    await insertOrganizations(e, [
      { key: 'acme', properties: { employees: 100 } },
      { key: 'beta', properties: { employees: 10 } },
      { key: 'delta', properties: { employees: 5 } },
    ]);
    const survey = (person: string, org: string, at: string, id: string, score: number): DiveEvent => ({
      event: 'survey sent',
      person,
      org,
      at,
      props: { $survey_id: id, $survey_response: score },
    });
    await insertDiveEvents(e, [
      { event: '$pageview', person: 'p1', org: 'acme', at: '2024-05-02T10:00:00Z' },
      { event: '$pageview', person: 'p1', org: 'acme', at: '2024-04-10T10:00:00Z' },
      { event: 'export', person: 'p2', org: 'acme', at: '2024-05-03T10:00:00Z' },
      { event: 'export', person: 'p3', org: 'beta', at: '2024-05-04T10:00:00Z' },
      { event: 'export', person: 'p3', org: 'beta', at: '2024-05-05T10:00:00Z' },
      { event: 'share', person: 'p4', org: 'gamma', at: '2024-05-06T10:00:00Z' },
      { event: '$pageview', person: 'p5', org: 'delta', at: '2024-04-11T10:00:00Z' },
      { event: 'export', person: 'p2', org: 'acme', at: '2024-06-01T00:00:00Z' },
      // NPS: p1 answers 0, then 9 (the latest counts: a promoter); p2's 1–5 rating survey is not NPS
      survey('p1', 'acme', '2024-05-05T10:00:00Z', 'nps', 0),
      survey('p1', 'acme', '2024-05-20T10:00:00Z', 'nps', 9),
      survey('p2', 'acme', '2024-05-06T10:00:00Z', 'csat', 3),
    ]);
    // beta's feedback: a 6 (detractor) and an 8 (passive) in May; acme's 0 in January is too old
    await e.exec(sql`
      INSERT INTO feedback (id, kind, created_at, organization, score) VALUES
        ('f1', 'nps', TIMESTAMPTZ '2024-05-10', 'beta', 6), ('f2', 'nps', TIMESTAMPTZ '2024-05-11', 'beta', 8),
        ('f3', 'nps', TIMESTAMPTZ '2024-01-11', 'acme', 0), ('f4', 'nps', TIMESTAMPTZ '2024-05-12', 'gamma', 0)`);
    await e.exec(sql`
      INSERT INTO billing_subscription_rows (row_key, customer_id, organization, plan, product, currency, amount, interval, interval_count, quantity, start_at, status)
      VALUES ('r1', 'c-acme', 'acme', 'pro', 'p', 'USD', 10000, 'month', 1, 1, TIMESTAMPTZ '2024-01-01', 'active'),
             ('r2', 'c-none', NULL, 'pro', 'p', 'USD', 5000, 'month', 1, 1, TIMESTAMPTZ '2024-01-01', 'active')`);
  });
  afterAll(() => e.close());

  it('month usage: every organization active in the month or the one before, and feature use by group', async () => {
    const { active, usage } = await queryMonthUsage(ctx(e));
    expect(active).toEqual([
      { organization: 'acme', icp: true, events: 2, users: 2, active_prev: 1 },
      { organization: 'beta', icp: false, events: 2, users: 1, active_prev: 0 },
      { organization: 'delta', icp: false, events: 0, users: 0, active_prev: 1 },
      { organization: 'gamma', icp: null, events: 1, users: 1, active_prev: 0 },
    ]);
    // gamma is unclassified and delta not active in May: neither counts; survey events are bookkeeping
    const key = (u: { event: string; icp: boolean; orgs: number }): string => `${u.event} ${u.icp} ${u.orgs}`;
    expect(usage.map(key).sort()).toEqual(['$pageview true 1', 'export false 1', 'export true 1']);
  });

  it('MRR by organization: month-end MRR of linked customers only, in major units', async () => {
    expect(Object.fromEntries(await queryMrrByOrganization(ctx(e)))).toEqual({ acme: 100 });
  });

  it('NPS by group: the latest answer per person, NPS surveys and feedback rows, classified organizations', async () => {
    expect(await queryNpsByGroup(ctx(e))).toEqual({
      icp: { promoters: 1, passives: 0, detractors: 0 },
      nonIcp: { promoters: 0, passives: 1, detractors: 1 },
    });
  });

  it('format (pure): no rule, and groups too small, say "not enough data" without reading MRR or NPS', async () => {
    const { active, usage } = await queryMonthUsage(ctx(e));
    const small = formatIcpVsNonIcp(ctx(e), { active, usage, mrr: null, nps: null });
    expect(small.summary).toBe(
      'Not enough data: 1 ICP and 1 non-ICP organizations were active in 2024-05; comparing them needs at least 10 in each group.',
    );
    expect(small.data).toMatchObject({
      icpOrganizations: 1,
      nonIcpOrganizations: 1,
      unclassifiedOrganizations: 1,
    });
    const noRule = formatIcpVsNonIcp(ctx(e, { config: configSchema.parse({}) }), {
      active: null,
      usage: [],
      mrr: null,
      nps: null,
    });
    expect(noRule.summary).toMatch(/^Not enough data: no ICP rule is configured/);
  });
});
