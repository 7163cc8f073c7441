import { monthEnd } from '../../domain/month.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configSchema } from '../../config/schema.js';
import { ALL_PRODUCTS } from '../../metrics/types.js';
import type { DuckDbEngine } from '../../store/duckdb/engine.js';
import { sql } from '../../store/sql.js';
import {
  freshEngine,
  insertDiveEvents,
  insertOrganizations,
  type DiveEvent,
} from '../../../test/helpers/dive-test-data.js';
import { healthOf, topCustomers, type Signal, type TopCustomer } from './top-customers.js';
import type { DeepDiveContext } from './types.js';

const MONTH = '2024-06';

function ctx(engine: DuckDbEngine, topCustomersN = 4): DeepDiveContext {
  return {
    engine,
    config: configSchema.parse({ topCustomers: topCustomersN }),
    product: ALL_PRODUCTS,
    month: MONTH,
    metrics: [],
    // These stores stand for exports made at the end of the review month: the data's end is given.
    asOf: monthEnd(MONTH),
  };
}

/** One event per person per listed month (the 10th, noon). */
function monthly(org: string, people: string[], months: string[]): DiveEvent[] {
  return people.flatMap((p) =>
    months.map((m) => ({ event: 'edit', person: p, org, at: `${m}-10T12:00:00Z` })),
  );
}

const JAN_JUN = ['2024-01', '2024-02', '2024-03', '2024-04', '2024-05', '2024-06'];
const people = (prefix: string, n: number): string[] => Array.from({ length: n }, (_, i) => `${prefix}${i}`);
const signal = (c: TopCustomer, s: Signal['signal']): Signal | undefined =>
  c.signals.find((x) => x.signal === s);

describe('top-customers: planted health', () => {
  let e: DuckDbEngine;
  beforeAll(async () => {
    e = await freshEngine();
    await insertOrganizations(e, [
      { key: 'acme', properties: { name: 'Acme' } },
      { key: 'beta', properties: { name: 'Beta' } },
      { key: 'gamma', properties: { name: 'Gamma' } },
      { key: 'delta', properties: { name: 'Delta' } },
    ]);
    // Monthly subscriptions since January: amount per seat × seats
    await e.exec(sql`
      INSERT INTO billing_subscription_rows (row_key, customer_id, organization, plan, product, currency, amount, interval, interval_count, quantity, start_at, status)
      VALUES ('row-c-acme', 'c-acme', 'acme', 'Team', 'p', 'USD', 5000, 'month', 1, 20, TIMESTAMPTZ '2024-01-01', 'active'),
             ('row-c-beta', 'c-beta', 'beta', 'Team', 'p', 'USD', 16000, 'month', 1, 5, TIMESTAMPTZ '2024-01-01', 'active'),
             ('row-c-gamma', 'c-gamma', 'gamma', 'Flat', 'p', 'USD', 50000, 'month', 1, 1, TIMESTAMPTZ '2024-01-01', 'active'),
             ('row-c-delta', 'c-delta', 'delta', 'Flat', 'p', 'USD', 10000, 'month', 1, 1, TIMESTAMPTZ '2024-01-01', 'active'),
             ('row-c-orphan', 'c-orphan', NULL, 'Flat', 'p', 'USD', 900000, 'month', 1, 1, TIMESTAMPTZ '2024-01-01', 'active')`);
    // Delta's Stripe subscription was canceled on 10 June, to end at the period's end
    await e.exec(sql`
      INSERT INTO billing_customers (id, metadata) VALUES ('s-delta', '{"group_key": "delta"}');
      INSERT INTO billing_subscriptions (id, customer_id, status, canceled_at, cancel_at_period_end)
      VALUES ('sub_d', 's-delta', 'active', TIMESTAMPTZ '2024-06-10', true)`);
    await insertDiveEvents(e, [
      // Acme: 10 people active in February, only 2 of them in June
      ...monthly('acme', people('a', 10), ['2024-02']),
      ...monthly('acme', people('a', 2), ['2024-06']),
      ...monthly('beta', people('b', 5), JAN_JUN),
      ...monthly('gamma', people('g', 3), JAN_JUN),
      ...monthly('delta', people('d', 1), JAN_JUN),
    ]);
    // NPS in May: Acme 2, 3, 5, 1, 4 (five detractors); Beta 9, 10, 9, 10, 9. Tickets: Gamma 6 in May,
    // none before.
    await e.exec(sql`
      INSERT INTO feedback (id, kind, created_at, organization, score) VALUES
        ('n1', 'nps', TIMESTAMPTZ '2024-05-03', 'acme', 2), ('n2', 'nps', TIMESTAMPTZ '2024-05-04', 'acme', 3),
        ('n3', 'nps', TIMESTAMPTZ '2024-05-05', 'acme', 5), ('n6', 'nps', TIMESTAMPTZ '2024-05-06', 'acme', 1),
        ('n7', 'nps', TIMESTAMPTZ '2024-05-07', 'acme', 4),
        ('n4', 'nps', TIMESTAMPTZ '2024-05-03', 'beta', 9), ('n5', 'nps', TIMESTAMPTZ '2024-05-04', 'beta', 10),
        ('n8', 'nps', TIMESTAMPTZ '2024-05-05', 'beta', 9), ('n9', 'nps', TIMESTAMPTZ '2024-05-06', 'beta', 10),
        ('n10', 'nps', TIMESTAMPTZ '2024-05-07', 'beta', 9),
        ('t1', 'ticket', TIMESTAMPTZ '2024-05-01', 'gamma', NULL), ('t2', 'ticket', TIMESTAMPTZ '2024-05-02', 'gamma', NULL),
        ('t3', 'ticket', TIMESTAMPTZ '2024-05-03', 'gamma', NULL), ('t4', 'ticket', TIMESTAMPTZ '2024-05-04', 'gamma', NULL),
        ('t5', 'ticket', TIMESTAMPTZ '2024-05-05', 'gamma', NULL), ('t6', 'ticket', TIMESTAMPTZ '2024-05-06', 'gamma', NULL)`);
  });
  afterAll(() => e.close());

  it('ranks linked organizations by month-end MRR, leaving the unlinked customer out', async () => {
    const dive = await topCustomers.run(ctx(e));
    const customers = dive.data.customers as TopCustomer[];
    // gamma 500.00, acme 50.00 × 20 = 1000.00, beta 160.00 × 5 = 800.00, delta 100.00
    expect(customers.map((c) => [c.organization, c.name, c.mrr])).toEqual([
      ['acme', 'Acme', 1000],
      ['beta', 'Beta', 800],
      ['gamma', 'Gamma', 500],
      ['delta', 'Delta', 100],
    ]);
    const two = await topCustomers.run(ctx(e, 2));
    expect((two.data.customers as TopCustomer[]).map((c) => c.organization)).toEqual(['acme', 'beta']);
  });

  it('collapsed usage, unused seats and low NPS → unhappy, with each signal shown', async () => {
    const dive = await topCustomers.run(ctx(e));
    const acme = (dive.data.customers as TopCustomer[])[0] as TopCustomer;
    expect(acme.health).toBe('unhappy');
    // monthly active users Jan–Mar 0, 10, 0 (mean 10/3), Apr–Jun 0, 0, 2 (mean 2/3): (2/3 − 10/3) / (10/3) = −0.8
    expect(signal(acme, 'usage')).toMatchObject({
      signal: 'usage',
      verdict: 'bad',
      detail: 'monthly active users 3.3 → 0.7 (3 months vs 3 before, -80%)',
    });
    expect(signal(acme, 'usage')?.value).toBeCloseTo(-0.8, 10);
    // Own baseline: 10 people-months before, 2 after: P(X ≤ 2 | Binomial(12, ½)) = 79/4096; peers flat.
    expect(signal(acme, 'usage')).toMatchObject({
      test: 'poisson-conditional-binomial',
      n: 12,
      peers: { medianChange: 0, n: 3 },
    });
    expect(signal(acme, 'usage')?.pValue).toBeCloseTo(79 / 4096, 12);
    expect(signal(acme, 'usage')?.qValue).toBeLessThan(0.05);
    // 10 key actions (every event) before: under 20, not judged
    expect(signal(acme, 'keyActions')).toMatchObject({ verdict: 'neutral', judged: false });
    // 2 people active in the last 3 months of 20 paid seats = 0.1 < 0.2
    expect(signal(acme, 'seats')).toMatchObject({ value: 0.1, verdict: 'bad' });
    // 5 detractors of 5: NPS −100, its interval wholly below 0 (no company NPS to compare with here)
    expect(signal(acme, 'nps')).toMatchObject({ value: -100, verdict: 'bad', n: 5, interval: [-100, -100] });
    // Every customer's MRR is flat: the same value for all tells nothing, so the signal is dropped.
    expect(signal(acme, 'mrr')).toBeUndefined();
    expect(acme.nps).toEqual({ responses: 5, nps: -100, meanScore: 3 });
    expect(acme.seats).toEqual({ used: 2, paid: 20 });
    expect(dive.findings[0]?.title).toBe('Acme ($1,000.00 MRR) is unhappy: usage, seats, NPS');
    expect(dive.findings[0]?.evidence).toMatchObject({ organization: 'acme', mrrAtStake: 1000 });
  });

  it('steady usage, full seats and promoters → happy', async () => {
    const dive = await topCustomers.run(ctx(e));
    const beta = (dive.data.customers as TopCustomer[])[1] as TopCustomer;
    expect(beta.health).toBe('happy');
    expect(signal(beta, 'usage')).toMatchObject({ value: 0, verdict: 'good' }); // 5 → 5
    expect(signal(beta, 'seats')).toMatchObject({ value: 1, verdict: 'good' }); // 5 of 5
    expect(signal(beta, 'nps')).toMatchObject({ value: 100, verdict: 'good' }); // 5 promoters of 5
    expect(beta.signals.filter((s) => s.verdict === 'bad')).toEqual([]);
  });

  it('rising tickets alone → at-risk; a scheduled cancellation → unhappy', async () => {
    const dive = await topCustomers.run(ctx(e));
    const [, , gamma, delta] = dive.data.customers as TopCustomer[];
    expect(gamma?.health).toBe('at-risk');
    // 0 → 6: P(all 6 in the last window | Binomial(6, ½)) = 1/64
    expect(signal(gamma as TopCustomer, 'tickets')).toMatchObject({ value: 6, verdict: 'bad', n: 6 });
    expect(signal(gamma as TopCustomer, 'tickets')?.pValue).toBeCloseTo(1 / 64, 12);
    expect(signal(gamma as TopCustomer, 'seats')).toBeUndefined(); // 1 seat: not seat-based
    expect(delta?.health).toBe('unhappy');
    expect(signal(delta as TopCustomer, 'cancellation')).toMatchObject({
      verdict: 'bad',
      detail: 'a subscription is set to cancel at the end of 2024-06',
    });
    expect(dive.summary).toBe(
      // 2400.00 of 11400.00 (the unlinked customer's 9000.00 included) = 21%
      'Of the top 4 customers by MRR (21% of MRR): 1 happy, 0 neutral, 1 at-risk, 2 unhappy. ' +
        'Needs attention: Acme (unhappy), Gamma (at-risk), Delta (unhappy).',
    );
    expect(dive.findings).toHaveLength(3);
  });
});

describe('top-customers: health rules and not enough data', () => {
  const s = (signal: Signal['signal'], verdict: Signal['verdict']): Signal => ({
    signal,
    verdict,
    value: null,
    detail: '',
  });

  it('counts usage and key actions once, as the worse of the two', () => {
    expect(healthOf([s('usage', 'bad'), s('keyActions', 'bad')])).toBe('at-risk');
    // key actions too few to judge: usage alone decides the activity verdict
    expect(
      healthOf([s('usage', 'good'), { ...s('keyActions', 'neutral'), judged: false }, s('nps', 'good')]),
    ).toBe('happy');
    expect(healthOf([s('usage', 'good'), s('keyActions', 'good'), s('nps', 'neutral')])).toBe('neutral');
    expect(healthOf([s('usage', 'good'), s('keyActions', 'good'), s('nps', 'good')])).toBe('happy');
    expect(healthOf([s('usage', 'bad'), s('nps', 'bad')])).toBe('unhappy');
    expect(healthOf([s('cancellation', 'bad'), s('nps', 'good'), s('usage', 'good')])).toBe('unhappy');
  });

  it('says "not enough data" when no billing is linked to organizations', async () => {
    const e = await freshEngine();
    await e.exec(sql`
      INSERT INTO billing_subscription_rows (row_key, customer_id, organization, plan, product, currency, amount, interval, interval_count, quantity, start_at, status)
      VALUES ('row-c1', 'c1', NULL, 'Flat', 'p', 'USD', 10000, 'month', 1, 1, TIMESTAMPTZ '2024-01-01', 'active')`);
    const dive = await topCustomers.run(ctx(e));
    expect(dive.summary).toMatch(/^Not enough data: no billing customer is linked to an organization/);
    expect(dive.data.customers).toEqual([]);
    expect(dive.findings).toEqual([]);
    await e.close();
  });
});

describe('top-customers: a company-wide ticket incident', () => {
  it('does not mark a customer whose tickets rose only with everyone’s', async () => {
    const e = await freshEngine();
    await e.exec(sql`
      INSERT INTO billing_subscription_rows (row_key, customer_id, organization, plan, product, currency, amount, interval, interval_count, quantity, start_at, status)
      VALUES ('row-c1', 'c1', 'x', 'Flat', 'p', 'USD', 10000, 'month', 1, 1, TIMESTAMPTZ '2024-01-01', 'active')`);
    // x: 1 ticket in February, 3 in May; 20 more in May from other organizations.
    // The rest of the company: 0 → 20, trend (20 + 1) / (0 + 1) = 21: x's 1 → 3 is far below it.
    await e.exec(sql`
      INSERT INTO feedback (id, kind, created_at, organization)
      SELECT 't' || CAST(i AS VARCHAR), 'ticket',
        CASE WHEN i = 0 THEN TIMESTAMPTZ '2024-02-05' ELSE TIMESTAMPTZ '2024-05-05' END,
        CASE WHEN i < 4 THEN 'x' ELSE 'other' || CAST(i AS VARCHAR) END
      FROM range(24) t(i)`);
    const dive = await topCustomers.run(ctx(e));
    const x = (dive.data.customers as TopCustomer[])[0] as TopCustomer;
    expect(x.tickets).toEqual({ last3: 3, previous3: 1 });
    expect(signal(x, 'tickets')).toMatchObject({
      verdict: 'neutral',
      detail: 'tickets 1 → 3 (3 months vs 3 before); company-wide × 21.0; not significant (q 0.99)',
    });
    await e.close();
  });
});

describe('top-customers: signals that hold up', () => {
  it('NPS 86 and flat-to-rising usage with tickets 1 → 3 is not at-risk; a real decline is', async () => {
    const e = await freshEngine();
    await insertOrganizations(e, [
      { key: 'star', properties: { name: 'Star' } },
      { key: 'fall', properties: { name: 'Fall' } },
      { key: 'calm', properties: { name: 'Calm' } },
    ]);
    await e.exec(sql`
      INSERT INTO billing_subscription_rows (row_key, customer_id, organization, plan, product, currency, amount, interval, interval_count, quantity, start_at, status)
      VALUES ('row-c1', 'c1', 'star', 'Team', 'p', 'USD', 1000, 'month', 1, 30, TIMESTAMPTZ '2024-01-01', 'active'),
             ('row-c2', 'c2', 'fall', 'Team', 'p', 'USD', 1000, 'month', 1, 20, TIMESTAMPTZ '2024-01-01', 'active'),
             ('row-c3', 'c3', 'calm', 'Team', 'p', 'USD', 1000, 'month', 1, 10, TIMESTAMPTZ '2024-01-01', 'active')`);
    // Star: 20 people every month, 24 from April. Fall: 15 people Jan–Mar, 4 from April. Calm: 8.
    await insertDiveEvents(e, [
      ...monthly('star', people('s', 20), JAN_JUN),
      ...monthly('star', people('s2-', 4), ['2024-04', '2024-05', '2024-06']),
      ...monthly('fall', people('f', 15), ['2024-01', '2024-02', '2024-03']),
      ...monthly('fall', people('f', 4), ['2024-04', '2024-05', '2024-06']),
      ...monthly('calm', people('c', 8), JAN_JUN),
    ]);
    // Star: 7 answers (6 promoters, 1 passive: NPS 86), 1 ticket in February, 3 in May.
    await e.exec(sql`
      INSERT INTO feedback (id, kind, created_at, organization, score)
      SELECT 'n' || CAST(i AS VARCHAR), 'nps', TIMESTAMPTZ '2024-05-10', 'star', CASE WHEN i = 0 THEN 8 ELSE 10 END
      FROM range(7) t(i);
      INSERT INTO feedback (id, kind, created_at, organization) VALUES
        ('t0', 'ticket', TIMESTAMPTZ '2024-02-01', 'star'), ('t1', 'ticket', TIMESTAMPTZ '2024-05-01', 'star'),
        ('t2', 'ticket', TIMESTAMPTZ '2024-05-02', 'star'), ('t3', 'ticket', TIMESTAMPTZ '2024-05-03', 'star');
      -- the rest of the company: 11 tickets before, 9 after, so the company-wide trend is flat
      INSERT INTO feedback (id, kind, created_at, organization)
      SELECT 'o' || CAST(i AS VARCHAR), 'ticket',
        CASE WHEN i < 11 THEN TIMESTAMPTZ '2024-02-10' ELSE TIMESTAMPTZ '2024-05-10' END, 'other'
      FROM range(20) t(i)`);
    const dive = await topCustomers.run(ctx(e, 3));
    const by = (o: string): TopCustomer =>
      (dive.data.customers as TopCustomer[]).find((c) => c.organization === o) as TopCustomer;
    const star = by('star');
    expect(star.health).toBe('happy');
    expect(signal(star, 'nps')).toMatchObject({ verdict: 'good', n: 7 });
    expect(signal(star, 'nps')?.value).toBeCloseTo(600 / 7, 10);
    expect(signal(star, 'tickets')).toMatchObject({ value: 3, baseline: 1, verdict: 'neutral' });
    // 1 → 3: P(X ≥ 3 | Binomial(4, ½)) = 5/16, nothing to see.
    expect(signal(star, 'tickets')?.pValue).toBeCloseTo(5 / 16, 12);
    const fall = by('fall');
    expect(fall.health).toBe('at-risk');
    expect(fall.signals.filter((x) => x.verdict === 'bad').map((x) => x.signal)).toEqual(['usage']);
    // 45 people-months before, 12 after: one-sided p = P(X ≤ 12 | Binomial(57, ½)).
    expect(signal(fall, 'usage')?.pValue).toBeLessThan(1e-4);
    expect(dive.findings.map((f) => f.evidence.organization)).toEqual(['fall']);
    expect(dive.findings[0]?.evidence.qValue).toBeLessThan(0.05);
    await e.close();
  });

  it('a fall everyone shares is not blamed on one customer (peers), and signals equal for all are dropped', async () => {
    const e = await freshEngine();
    await insertOrganizations(e, [
      { key: 'a', properties: { name: 'A' } },
      { key: 'b', properties: { name: 'B' } },
      { key: 'c', properties: { name: 'C' } },
    ]);
    await e.exec(sql`
      INSERT INTO billing_subscription_rows (row_key, customer_id, organization, plan, product, currency, amount, interval, interval_count, quantity, start_at, status)
      VALUES ('row-c1', 'c1', 'a', 'Team', 'p', 'USD', 3000, 'month', 1, 1, TIMESTAMPTZ '2024-01-01', 'active'),
             ('row-c2', 'c2', 'b', 'Team', 'p', 'USD', 2000, 'month', 1, 1, TIMESTAMPTZ '2024-01-01', 'active'),
             ('row-c3', 'c3', 'c', 'Team', 'p', 'USD', 1000, 'month', 1, 1, TIMESTAMPTZ '2024-01-01', 'active')`);
    // Every customer: 10 people Jan–Mar, then 5, 6 and 4 (a summer dip for everyone: −50%, −40%, −60%).
    await insertDiveEvents(e, [
      ...(
        [
          ['a', 5],
          ['b', 6],
          ['c', 4],
        ] as const
      ).flatMap(([o, after]) => [
        ...monthly(o, people(`${o}p`, 10), ['2024-01', '2024-02', '2024-03']),
        ...monthly(o, people(`${o}p`, after), ['2024-04', '2024-05', '2024-06']),
      ]),
    ]);
    const dive = await topCustomers.run(ctx(e, 3));
    const [a, b, c3] = dive.data.customers as TopCustomer[];
    expect(signal(a!, 'usage')?.peers?.medianChange).toBeCloseTo(-0.5, 10); // b −40%, c −60%
    expect(signal(c3!, 'usage')?.peers?.medianChange).toBeCloseTo(-0.45, 10);
    // c fell 60%, significantly (30 → 12 people-months), but only 15 points worse than its peers.
    expect(signal(c3!, 'usage')?.pValue).toBeLessThan(0.01);
    for (const c of [a!, b!, c3!]) {
      expect(signal(c, 'usage')).toMatchObject({ verdict: 'neutral' });
      expect(c.health).not.toBe('at-risk');
      // Same value for everyone: no tickets, no NPS answers, no cancellation, flat MRR — dropped.
      expect(c.signals.map((x) => x.signal).sort()).toEqual(['keyActions', 'usage']);
    }
    expect(dive.findings).toEqual([]);
    await e.close();
  });
});

describe('top-customers: feedback without an organization', () => {
  it('joins NPS answers by the person’s organization or the e-mail domain', async () => {
    const e = await freshEngine();
    await insertOrganizations(e, [{ key: 'x', properties: { name: 'X', email_domain: 'x.io' } }]);
    await e.exec(sql`
      INSERT INTO billing_subscription_rows (row_key, customer_id, organization, plan, product, currency, amount, interval, interval_count, quantity, start_at, status)
      VALUES ('row-c1', 'c1', 'x', 'Flat', 'p', 'USD', 10000, 'month', 1, 1, TIMESTAMPTZ '2024-01-01', 'active');
      INSERT INTO person_distinct_ids VALUES ('anon-1', 'px');
      INSERT INTO feedback (id, kind, created_at, distinct_id, email, score) VALUES
        ('n1', 'nps', TIMESTAMPTZ '2024-05-03', 'anon-1', NULL, 2),
        ('n2', 'nps', TIMESTAMPTZ '2024-05-04', NULL, 'ann@X.io', 4),
        ('n3', 'nps', TIMESTAMPTZ '2024-05-05', NULL, 'bob@elsewhere.com', 10)`);
    await insertDiveEvents(e, monthly('x', ['px'], JAN_JUN));
    const dive = await topCustomers.run(ctx(e));
    const x = (dive.data.customers as TopCustomer[])[0] as TopCustomer;
    // n1 via the person px (active in x), n2 via the domain x.io; n3 belongs to nobody we know
    expect(x.nps).toEqual({ responses: 2, nps: -100, meanScore: 3 });
    await e.close();
  });
});

describe('top-customers: a review month the data covers only in part', () => {
  /**
   * Acme: 40 people active in each of January–June, 1 of them in July's first 3 days; Beta, Gamma
   * and Delta: 3 people each month, all 3 again on July 2. The data ends on July 3. Judged on
   * May–July vs February–April, Acme would read 120 → 81 people-months (−32%) while its peers hold:
   * "at-risk: usage" from three days of July. Judged on the last complete months it is flat.
   */
  async function store(): Promise<DuckDbEngine> {
    const e = await freshEngine();
    const orgs = ['acme', 'beta', 'gamma', 'delta'];
    await insertOrganizations(
      e,
      orgs.map((key) => ({ key, properties: { name: key } })),
    );
    for (const [i, org] of orgs.entries())
      await e.exec(sql`
        INSERT INTO billing_subscription_rows (row_key, customer_id, organization, plan, product, currency, amount, interval, interval_count, quantity, start_at, status)
        VALUES (${`row-${org}`}, ${`c-${org}`}, ${org}, 'Flat', 'p', 'USD', ${(10 - i) * 10000}, 'month', 1, 1, TIMESTAMPTZ '2024-01-01', 'active')`);
    await insertDiveEvents(e, [
      ...monthly('acme', people('a', 40), JAN_JUN),
      { event: 'edit', person: 'a0', org: 'acme', at: '2024-07-02T12:00:00Z' },
      ...['beta', 'gamma', 'delta'].flatMap((org) => [
        ...monthly(org, people(org, 3), JAN_JUN),
        ...people(org, 3).map((p) => ({ event: 'edit', person: p, org, at: '2024-07-02T12:00:00Z' })),
      ]),
      { event: 'edit', person: 'beta0', org: 'beta', at: '2024-07-03T18:00:00Z' },
    ]);
    return e;
  }
  const july = (e: DuckDbEngine, asOf: Date): DeepDiveContext => ({
    engine: e,
    config: configSchema.parse({ topCustomers: 4 }),
    product: ALL_PRODUCTS,
    month: '2024-07',
    metrics: [],
    asOf,
  });

  it('compares usage over the last complete months, and says so', async () => {
    const e = await store();
    try {
      const dive = await topCustomers.run(july(e, new Date('2024-07-03T18:00:00Z')));
      const acme = (dive.data.customers as TopCustomer[]).find((c) => c.organization === 'acme')!;
      // Every customer flat (0% change): a signal equal for all is dropped; nothing is bad.
      expect(signal(acme, 'usage')).toBeUndefined();
      expect(acme.signals.filter((x) => x.verdict === 'bad')).toEqual([]);
      expect(acme.health).not.toBe('at-risk');
      expect(dive.data.windows).toEqual({
        last3: { from: '2024-04', to: '2024-06' },
        previous3: { from: '2024-01', to: '2024-03' },
      });
      expect(dive.method).toContain('The data ends inside 2024-07');
      // Read from the store when the caller does not give the data's end: the same answer.
      const noEnd: DeepDiveContext = july(e, new Date(0));
      delete noEnd.asOf;
      expect((await topCustomers.run(noEnd)).data).toEqual(dive.data);
      // Data to July 31 (the month complete): July is judged, and Acme's 1 person in July is a fall.
      const whole = await topCustomers.run(july(e, new Date('2024-07-31T12:00:00Z')));
      expect(whole.data.windows).toMatchObject({ last3: { from: '2024-05', to: '2024-07' } });
      const acmeWhole = (whole.data.customers as TopCustomer[]).find((c) => c.organization === 'acme')!;
      expect(signal(acmeWhole, 'usage')).toMatchObject({ verdict: 'bad' });
    } finally {
      await e.close();
    }
  });
});
