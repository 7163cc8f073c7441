import { monthEnd } from '../../domain/month.js';
import { compareText } from '../../domain/order.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configSchema } from '../../config/schema.js';
import { ALL_PRODUCTS } from '../../metrics/types.js';
import type { DuckDbEngine } from '../../store/duckdb/engine.js';
import { sql } from '../../store/sql.js';
import {
  churnReasons,
  formatChurnReasons,
  propertiesAsOf,
  queryCancellationReasons,
  queryChurnTimeline,
  queryNpsBeforeChurn,
  queryOrganizationProperties,
  queryPropertySets,
  queryTicketsBeforeChurn,
  queryUsageBeforeChurn,
  type ChurnDriver,
  type ChurnedCustomer,
} from './churn-reasons.js';
import {
  freshEngine,
  insertDiveEvents,
  insertOrganizations,
  seeded,
  type DiveEvent,
} from '../../../test/helpers/dive-test-data.js';
import type { DeepDiveContext } from './types.js';

const MONTH = '2024-06';
const config = configSchema.parse({});

// These stores stand for exports made at the end of the review month (their last record may be
// earlier): the data's end is given.
function ctx(engine: DuckDbEngine): DeepDiveContext {
  return { engine, config, product: ALL_PRODUCTS, month: MONTH, metrics: [], asOf: monthEnd(MONTH) };
}

interface Sub {
  org: string;
  plan: string;
  /** minor units a month */
  amount: number;
  start: string;
  end: string | null;
}

/** Generic subscription rows (one customer per organization). */
async function insertSubs(e: DuckDbEngine, subs: Sub[]): Promise<void> {
  await e.exec(sql`
    INSERT INTO billing_subscription_rows (row_key, customer_id, organization, plan, product, currency, amount, interval, interval_count, quantity, start_at, end_at, status)
    SELECT 'row-' || org, 'c-' || org, org, plan, 'prod_a', 'USD', amount, 'month', 1, 1, CAST(s AS TIMESTAMPTZ), CAST(nullif(en, '') AS TIMESTAMPTZ), 'active'
    FROM (SELECT unnest(${subs.map((s) => s.org)}) AS org, unnest(${subs.map((s) => s.plan)}) AS plan,
      unnest(${subs.map((s) => s.amount)}) AS amount, unnest(${subs.map((s) => s.start)}) AS s,
      unnest(${subs.map((s) => s.end ?? '')}) AS en)`);
}

/** Cancellation survey answers: free text, and the reason picked from the survey's list as a tag. */
async function insertCancellations(e: DuckDbEngine, bodies: string[], reasons?: string[]): Promise<void> {
  await e.exec(sql`
    INSERT INTO feedback (id, kind, created_at, organization, body, tags)
    SELECT 'x' || CAST(i AS VARCHAR), 'cancellation', TIMESTAMPTZ '2024-06-10', 'o' || CAST(i AS VARCHAR), b,
      CASE WHEN r = '' THEN NULL ELSE [r] END
    FROM (SELECT unnest(${bodies}) AS b, unnest(${bodies.map((_, i) => i)}) AS i,
      unnest(${bodies.map((_, i) => reasons?.[i] ?? '')}) AS r)`);
}

/** Six organizations churning one a month from December to May (trailing baseline). */
function trailingChurners(perMonth: number): Sub[] {
  const out: Sub[] = [];
  ['2023-12', '2024-01', '2024-02', '2024-03', '2024-04', '2024-05'].forEach((m, i) => {
    for (let k = 0; k < perMonth; k++)
      out.push({ org: `old${i}-${k}`, plan: 'Pro', amount: 20000, start: '2023-01-01', end: `${m}-15` });
  });
  return out;
}

describe('churn-reasons: churn concentrated in one plan', () => {
  let e: DuckDbEngine;
  beforeAll(async () => {
    e = await freshEngine();
    const rand = seeded(7);
    const subs: Sub[] = [];
    const orgs: { key: string; properties: Record<string, unknown> }[] = [];
    // 20 Starter (50.00), 10 of them churn mid-June; 40 Pro (200.00), 2 churn
    for (let i = 0; i < 60; i++) {
      const starter = i < 20;
      const churns = starter ? i < 10 : i < 22;
      subs.push({
        org: `o${i}`,
        plan: starter ? 'Starter' : 'Pro',
        amount: starter ? 5000 : 20000,
        start: '2023-06-01',
        end: churns ? '2024-06-15' : null,
      });
      orgs.push({
        key: `o${i}`,
        properties: {
          name: `Org ${i}`,
          industry: ['retail', 'health', 'finance'][Math.floor(rand() * 3)],
          employees: Math.floor(5 + rand() * 500),
        },
      });
    }
    subs.push(...trailingChurners(1));
    await insertSubs(e, subs);
    await insertOrganizations(e, orgs);
    await insertCancellations(
      e,
      [
        'Too expensive for us',
        'The price went up again',
        'Budget cuts, cannot justify the cost',
        'Cheaper tool does the job',
        'Pricing does not fit',
        'Cost too high',
        'Switched to a competitor',
        'Moved to another vendor',
      ],
      [...Array.from({ length: 6 }, () => 'price'), 'competitor', 'competitor'],
    );
  });
  afterAll(() => e.close());

  it('says churn was high, with the interval and the named test', async () => {
    const dive = await churnReasons.run(ctx(e));
    // June: 60 at risk, 12 churned → 0.2. Trailing Dec..May: at risk 66+65+64+63+62+61 = 381, churned 6
    expect(dive.data).toMatchObject({ high: true, atRisk: 60, churnedCount: 12 });
    expect(dive.data.churnRate).toBeCloseTo(0.2, 10);
    const trailing = dive.data.trailing as { atRisk: number; churned: number; rate: number };
    expect(trailing).toMatchObject({ atRisk: 381, churned: 6 });
    expect(trailing.rate).toBeCloseTo(6 / 381, 10);
    // smallest expected count 60·18/441 = 2.45 < 5 → Fisher's exact test
    expect(dive.data.test).toBe('fisher-exact-two-sided');
    expect(dive.data.pValue as number).toBeLessThan(1e-5);
    // Wilson 95% for 12/60: centre (0.2 + 1.96²/120)/(1 + 1.96²/60) = 0.23201/1.06403 = 0.21805,
    // half-width (1.96/1.06403)·√(0.16/60 + 1.96²/14400) = 1.84206·0.054162 = 0.09977 → [0.1183, 0.3178]
    const [low, high] = dive.data.interval95 as [number, number];
    expect(low).toBeCloseTo(0.1183, 3);
    expect(high).toBeCloseTo(0.3178, 3);
    expect(dive.summary).toMatch(/^Churn was high: 12 of 60 paying customers churned in 2024-06 \(20\.0%/);
    expect(dive.findings[0]?.title).toBe('Churn was high in 2024-06: 20.0% vs 1.6% in the trailing months');
  });

  it('lists the churned organizations with the MRR they took, largest first', async () => {
    const dive = await churnReasons.run(ctx(e));
    const churned = dive.data.churned as ChurnedCustomer[];
    expect(churned).toHaveLength(12);
    expect(churned.slice(0, 2).map((c) => [c.organization, c.mrr])).toEqual([
      ['o20', 200],
      ['o21', 200],
    ]);
    expect(churned[2]).toMatchObject({ organization: 'o0', mrr: 50 });
    expect(dive.data.churnedMrr).toBe(900); // 2 × 200 + 10 × 50
  });

  it('finds the plan as the strongest driver with hand-computed rates and lift', async () => {
    const dive = await churnReasons.run(ctx(e));
    const drivers = dive.data.drivers as ChurnDriver[];
    const top = drivers[0] as ChurnDriver;
    expect(top).toMatchObject({
      dimension: 'plan',
      value: 'Starter',
      atRisk: 20,
      churned: 10,
      restAtRisk: 40,
      restChurned: 2,
    });
    expect(top.churnRate).toBeCloseTo(0.5, 10); // 10 / 20
    expect(top.baselineRate).toBeCloseTo(0.05, 10); // 2 / 40
    expect(top.lift).toBeCloseTo(10, 10);
    expect(top.test).toBe('fisher-exact-two-sided'); // expected 20·12/60 = 4 < 5
    expect(top.significant).toBe(true);
    expect(top.qValue).toBeLessThan(0.001);
    expect(top.churnedMrr).toBe(500);
    // plan is tested once (two values covering everyone): Pro never appears as a driver
    expect(drivers.some((d) => d.dimension === 'plan' && d.value === 'Pro')).toBe(false);
    // the randomly drawn properties are tested but not claimed
    expect(drivers.filter((d) => d.significant).map((d) => d.dimension)).toEqual(['plan']);
    expect(drivers.some((d) => d.dimension === 'industry' || d.dimension === 'employees')).toBe(true);
    expect(drivers.some((d) => d.dimension === 'name')).toBe(false); // high cardinality, skipped
    expect(dive.findings[1]?.title).toBe('Churn concentrated in plan = Starter: 50.0% vs 5.0% for the rest');
  });

  it('groups cancellation reasons, the planted theme first', async () => {
    const dive = await churnReasons.run(ctx(e));
    const reasons = dive.data.reasons as { theme: string; count: number; example: string }[];
    expect(reasons[0]).toMatchObject({ theme: 'price', count: 6, example: 'Cost too high' });
    expect(reasons[1]).toMatchObject({ theme: 'competitor', count: 2 });
    expect(dive.summary).toContain('Top cancellation reason: price (6)');
  });
});

describe('churn-reasons: negative controls', () => {
  let e: DuckDbEngine;
  beforeAll(async () => {
    e = await freshEngine();
    const subs: Sub[] = [];
    const orgs: { key: string; properties: Record<string, unknown> }[] = [];
    // 60 organizations, 2 plans × 3 industries of 10 each; one churner in each of the 6 cells
    for (let i = 0; i < 60; i++) {
      subs.push({
        org: `o${i}`,
        plan: i % 2 === 0 ? 'Starter' : 'Pro',
        amount: 10000,
        start: '2023-06-01',
        end: i < 6 ? '2024-06-20' : null,
      });
      orgs.push({ key: `o${i}`, properties: { industry: ['retail', 'health', 'finance'][i % 3] } });
    }
    subs.push(...trailingChurners(5));
    await insertSubs(e, subs);
    await insertOrganizations(e, orgs);
  });
  afterAll(() => e.close());

  it('a normal month is "not high" and evenly spread churn has no driver', async () => {
    const dive = await churnReasons.run(ctx(e));
    // June 6 / 60 = 10%; trailing: at risk 90+85+80+75+70+65 = 465, churned 30 (6.45%)
    expect(dive.data).toMatchObject({ high: false, atRisk: 60, churnedCount: 6 });
    expect((dive.data.trailing as { atRisk: number }).atRisk).toBe(465);
    expect(dive.data.pValue as number).toBeGreaterThan(0.05);
    expect(dive.summary).toMatch(/^Churn was not unusually high/);
    // Starter 3/30 vs Pro 3/30: same rate, not a driver; industry 2/20 vs 4/40: same rate
    const drivers = dive.data.drivers as ChurnDriver[];
    expect(drivers.filter((d) => d.significant)).toEqual([]);
    expect(drivers.some((d) => d.dimension === 'plan')).toBe(false);
    expect(dive.summary).toContain('No segment churned significantly more than the rest');
    expect(dive.findings).toEqual([]); // nothing to claim
  });
});

describe('churn-reasons: not enough data', () => {
  it('says so without billing', async () => {
    const e = await freshEngine();
    const dive = await churnReasons.run(ctx(e));
    expect(dive.summary).toMatch(/^Not enough data: no paying customers at the start of 2024-06/);
    expect(dive.data.drivers).toEqual([]);
    await e.close();
  });

  it('cannot tell whether churn was high without trailing months', async () => {
    const e = await freshEngine();
    // billing starts in May: nobody was paying at the start of any trailing month
    await insertSubs(
      e,
      Array.from({ length: 10 }, (_, i) => ({
        org: `o${i}`,
        plan: 'Pro',
        amount: 10000,
        start: '2024-05-01',
        end: i < 2 ? '2024-06-20' : null,
      })),
    );
    const dive = await churnReasons.run(ctx(e));
    expect(dive.data).toMatchObject({ high: false, atRisk: 10, churnedCount: 2, test: null, pValue: null });
    expect(dive.summary).toMatch(
      /^Cannot tell whether churn was high: 2 of 10 .*no trailing months to compare with/,
    );
    expect(dive.findings).toEqual([]);
    await e.close();
  });

  it('does not look for drivers with fewer than 5 churned', async () => {
    const e = await freshEngine();
    const subs: Sub[] = [];
    for (let i = 0; i < 20; i++)
      subs.push({
        org: `o${i}`,
        plan: 'Pro',
        amount: 10000,
        start: '2023-06-01',
        end: i < 3 ? '2024-06-20' : null,
      });
    await insertSubs(e, subs);
    const dive = await churnReasons.run(ctx(e));
    expect(dive.data).toMatchObject({ churnedCount: 3, driversNotEnoughData: true, drivers: [] });
    expect(dive.summary).toContain('Not enough data to look for drivers: 3 churned, need at least 5.');
    // no trailing churn at all (0 of 120) vs 3 of 20: Fisher, p = 0.0023 → high
    expect(dive.data.test).toBe('fisher-exact-two-sided');
    await e.close();
  });
});

describe('churn-reasons: usage decline before churn, properties as of the month start', () => {
  let e: DuckDbEngine;
  beforeAll(async () => {
    e = await freshEngine();
    const subs: Sub[] = [];
    const events: DiveEvent[] = [];
    const orgs: { key: string; properties: Record<string, unknown> }[] = [];
    // 30 organizations; o0..o9 churn in June. o0..o11 had 4 people active in February and 1 in April
    // (declined); the others 2 people in both.
    for (let i = 0; i < 30; i++) {
      const org = `o${i}`;
      const churns = i < 10;
      subs.push({ org, plan: 'Pro', amount: 10000, start: '2023-06-01', end: churns ? '2024-06-20' : null });
      const before = i < 12 ? 4 : 2;
      const after = i < 12 ? 1 : 2;
      for (let k = 0; k < before; k++)
        events.push({ event: 'edit', person: `${org}-p${k}`, org, at: '2024-02-10T10:00:00Z' });
      for (let k = 0; k < after; k++)
        events.push({ event: 'edit', person: `${org}-p${k}`, org, at: '2024-04-10T10:00:00Z' });
      // stored (latest) properties: the churners' tier was switched to "cancelled" on 21 June
      orgs.push({ key: org, properties: { tier: churns ? 'cancelled' : 'basic' } });
    }
    await insertSubs(e, subs);
    await insertDiveEvents(e, events);
    await insertOrganizations(e, orgs);
    const identify = orgs.flatMap((o, i) => [
      { key: o.key, at: '2024-01-05T00:00:00Z', tier: 'basic' },
      ...(i < 10 ? [{ key: o.key, at: '2024-06-21T00:00:00Z', tier: 'cancelled' }] : []),
    ]);
    await e.exec(sql`
      INSERT INTO events (uuid, event, distinct_id, person_id, timestamp, properties)
      SELECT 'gi' || CAST(i AS VARCHAR), '$groupidentify', 'sys', 'sys', CAST(ts AS TIMESTAMPTZ),
        CAST(json_object('$group_type', 'organization', '$group_key', k, '$group_set', json_object('tier', t)) AS JSON)
      FROM (SELECT unnest(${identify.map((x) => x.key)}) AS k, unnest(${identify.map((x) => x.at)}) AS ts,
        unnest(${identify.map((x) => x.tier)}) AS t, unnest(${identify.map((_, i) => i)}) AS i)`);
  });
  afterAll(() => e.close());

  it('finds the usage decline as the driver', async () => {
    const dive = await churnReasons.run(ctx(e));
    const top = (dive.data.drivers as ChurnDriver[])[0] as ChurnDriver;
    // declined: 10 of 12 churned; the rest (steady): 0 of 18 → baseline 0, lift undefined (null)
    expect(top).toMatchObject({
      dimension: 'usage before churn',
      value: 'declined',
      atRisk: 12,
      churned: 10,
      restAtRisk: 18,
      restChurned: 0,
      lift: null,
      test: 'fisher-exact-two-sided',
      significant: true,
    });
    expect(top.churnRate).toBeCloseTo(10 / 12, 10);
    // P = C(12,10)·C(18,0)/C(30,10) = 66 / 30045015 = 2.2e-6 for the table seen; the other tail adds little
    expect(top.pValue).toBeLessThan(1e-5);
  });

  it('reads organization properties as they were at the month start', async () => {
    const dive = await churnReasons.run(ctx(e));
    // on 1 June every organization's tier was "basic": one value, nothing to compare
    expect((dive.data.drivers as ChurnDriver[]).some((d) => d.dimension === 'tier')).toBe(false);
  });
});

describe('churn-reasons: confounded dimensions', () => {
  it('plan = Starter (always monthly) explains billing interval = month, which is then not a driver', async () => {
    const e = await freshEngine();
    // 20 Starter monthly (10 churn in June), 20 Pro monthly (1 churns), 20 Pro yearly (none).
    const rows = Array.from({ length: 60 }, (_, i) => ({
      org: `o${i}`,
      plan: i < 20 ? 'Starter' : 'Pro',
      interval: i < 40 ? 'month' : 'year',
      amount: i < 20 ? 5000 : i < 40 ? 20000 : 240000,
      end: i < 10 || i === 20 ? '2024-06-15' : '',
    }));
    await e.exec(sql`
      INSERT INTO billing_subscription_rows (row_key, customer_id, organization, plan, product, currency, amount, interval, interval_count, quantity, start_at, end_at, status)
      SELECT 'row-' || org, 'c-' || org, org, plan, 'prod_a', 'USD', amount, iv, 1, 1, TIMESTAMPTZ '2023-06-01', CAST(nullif(en, '') AS TIMESTAMPTZ), 'active'
      FROM (SELECT unnest(${rows.map((r) => r.org)}) AS org, unnest(${rows.map((r) => r.plan)}) AS plan,
        unnest(${rows.map((r) => r.amount)}) AS amount, unnest(${rows.map((r) => r.interval)}) AS iv,
        unnest(${rows.map((r) => r.end)}) AS en)`);
    await insertSubs(e, trailingChurners(1));
    const dive = await churnReasons.run(ctx(e));
    const drivers = dive.data.drivers as ChurnDriver[];
    expect(drivers[0]).toMatchObject({ dimension: 'plan', value: 'Starter', significant: true, churned: 10 });
    const interval = drivers.find((d) => d.dimension === 'billing interval' && d.value === 'month');
    // On its own: 11 of 40 monthly vs 0 of 20 yearly churned (Fisher p ≈ 0.01, lift undefined) …
    expect(interval).toMatchObject({ churned: 11, atRisk: 40, restChurned: 0, lift: null });
    expect(interval!.pValue).toBeLessThan(0.05);
    // … but among Pro customers monthly churn 1 of 20 vs 0 of 20: explained by the plan.
    expect(interval).toMatchObject({ significant: false, explainedBy: 'plan = Starter' });
    expect(interval!.stratifiedPValue).toBeGreaterThan(0.05);
    expect(dive.findings.map((f) => f.title).join('\n')).not.toMatch(/billing interval/);
    await e.close();
  });
});

describe('churn-reasons: each query on its own, and the pure format', () => {
  // June 2024. acme pays 100.00 from January and ends on June 15th (churns in June); beta pays
  // 50.00 from May on. acme's people: p1 active in February and April, p2 in March.
  let e: DuckDbEngine;
  beforeAll(async () => {
    e = await freshEngine();
    await insertSubs(e, [
      { org: 'acme', plan: 'Pro', amount: 10000, start: '2024-01-01', end: '2024-06-15' },
      { org: 'beta', plan: 'Starter', amount: 5000, start: '2024-05-01', end: null },
    ]);
    await insertOrganizations(e, [
      { key: 'acme', properties: { plan: 'free', size: 10, seats: 3 } },
      { key: 'beta', properties: { plan: 'starter' } },
    ]);
    const identify = (key: string, type: string, at: string, set: Record<string, unknown>): DiveEvent => ({
      event: '$groupidentify',
      person: 'admin',
      at,
      props: { $group_type: type, $group_key: key, $group_set: set },
    });
    await insertDiveEvents(e, [
      { event: 'edit', person: 'p1', org: 'acme', at: '2024-02-10T12:00:00Z' },
      { event: 'edit', person: 'p2', org: 'acme', at: '2024-03-10T12:00:00Z' },
      { event: 'edit', person: 'p1', org: 'acme', at: '2024-04-10T12:00:00Z' },
      { event: 'edit', person: 'p1', org: 'acme', at: '2024-06-10T12:00:00Z' }, // after both windows
      identify('acme', 'organization', '2024-05-01T00:00:00Z', { plan: 'pro' }),
      identify('acme', 'organization', '2024-06-10T00:00:00Z', { plan: 'free', seats: 3 }),
      identify('acme', 'project', '2024-05-02T00:00:00Z', { plan: 'other' }),
      identify('beta', 'organization', '2024-05-03T00:00:00Z', { plan: 'starter' }),
    ]);
    await e.exec(sql`
      INSERT INTO feedback (id, kind, created_at, organization, score, body) VALUES
        ('c1', 'cancellation', TIMESTAMPTZ '2024-05-05', 'acme', NULL, 'too expensive'),
        ('c2', 'cancellation', TIMESTAMPTZ '2024-04-20', 'acme', NULL, 'too old'),
        ('c3', 'cancellation', TIMESTAMPTZ '2024-06-20', 'beta', NULL, 'missing feature'),
        ('c4', 'cancellation', TIMESTAMPTZ '2024-07-01', 'beta', NULL, 'next month'),
        ('t1', 'ticket', TIMESTAMPTZ '2024-04-02', 'acme', NULL, NULL),
        ('t2', 'ticket', TIMESTAMPTZ '2024-06-29', 'acme', NULL, NULL),
        ('t3', 'ticket', TIMESTAMPTZ '2024-03-31', 'acme', NULL, NULL),
        ('n1', 'nps', TIMESTAMPTZ '2024-01-05', 'acme', 9, NULL),
        ('n2', 'nps', TIMESTAMPTZ '2024-06-01', 'acme', 3, NULL),
        ('n3', 'nps', TIMESTAMPTZ '2023-12-31', 'acme', 10, NULL)`);
  });
  afterAll(() => e.close());

  it("revenue timeline: each customer's month-start and month-end MRR in the review month", async () => {
    const rows = await queryChurnTimeline(ctx(e));
    const june = rows
      .filter((r) => r.month === MONTH)
      .map((r) => [r.organization, r.previousMrr, r.mrr])
      .sort((a, b) => compareText(String(a[0]), String(b[0])));
    expect(june).toEqual([
      ['acme', 100, 0],
      ['beta', 50, 50],
    ]);
    // acme paid from January: six month-ends with MRR, then its churn month
    expect(rows.filter((r) => r.organization === 'acme' && r.mrr > 0).map((r) => r.month)).toEqual([
      '2024-01',
      '2024-02',
      '2024-03',
      '2024-04',
      '2024-05',
    ]);
  });

  it('cancellation feedback: from 30 days before the month to its end, oldest first', async () => {
    const rows = await queryCancellationReasons(ctx(e));
    // May 2nd is the first day read: April 20th is too old, July 1st is next month. No tags: [] on
    // both engines (a ClickHouse array cannot be NULL).
    expect(rows.map((r) => [r.organization, r.body, r.tags])).toEqual([
      ['acme', 'too expensive', []],
      ['beta', 'missing feature', []],
    ]);
  });

  it('organization properties: the stored ones of the organizations asked for', async () => {
    expect(Object.fromEntries(await queryOrganizationProperties(ctx(e), ['acme']))).toEqual({
      acme: { plan: 'free', size: 10, seats: 3 },
    });
    expect((await queryOrganizationProperties(ctx(e), [])).size).toBe(0);
  });

  it('property history: $groupidentify of organizations only, in time order; as of June 1st (pure)', async () => {
    const sets = await queryPropertySets(ctx(e), ['acme']);
    expect(sets).toEqual([
      { organization: 'acme', at: new Date('2024-05-01T00:00:00Z'), set: { plan: 'pro' } },
      { organization: 'acme', at: new Date('2024-06-10T00:00:00Z'), set: { plan: 'free', seats: 3 } },
    ]);
    const stored = await queryOrganizationProperties(ctx(e), ['acme']);
    // plan was 'pro' on June 1st; seats was first set after it: unknown then, dropped
    expect(Object.fromEntries(propertiesAsOf(stored, sets, new Date('2024-06-01T00:00:00Z')))).toEqual({
      acme: { plan: 'pro', size: 10 },
    });
  });

  it('usage before churn: active people in February–March and April–May', async () => {
    expect(Object.fromEntries(await queryUsageBeforeChurn(ctx(e), ['acme', 'beta']))).toEqual({
      acme: { users: [2, 1], keyActions: [2, 1] },
    });
  });

  it('tickets before churn: April to June, both ends of the range', async () => {
    expect(Object.fromEntries(await queryTicketsBeforeChurn(ctx(e), ['acme', 'beta']))).toEqual({
      acme: [2],
    });
  });

  it("NPS: answers of January to June (a 9 and a 3; December's 10 is too old)", async () => {
    expect(Object.fromEntries(await queryNpsBeforeChurn(ctx(e), ['acme']))).toEqual({
      acme: { responses: 2, promoters: 1, passives: 0, detractors: 1, meanScore: 6 },
    });
  });

  it('format (pure): the dive from the answers of the queries is the runner\'s; no billing is "not enough data"', async () => {
    const rows = await queryChurnTimeline(ctx(e));
    const feedback = await queryCancellationReasons(ctx(e));
    // 1 churned of 2: fewer than 5, so no driver query runs
    expect(formatChurnReasons(ctx(e), { rows, feedback, segments: null })).toEqual(
      await churnReasons.run(ctx(e)),
    );
    const none = formatChurnReasons(ctx(e), { rows: [], feedback: [], segments: null });
    expect(none.summary).toBe(
      'Not enough data: no paying customers at the start of 2024-06 (no billing data, or none for this product).',
    );
  });
});
