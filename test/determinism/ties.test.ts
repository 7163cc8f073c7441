/**
 * Ties broken by chance (issue 15, item 7): each place that picked "the first row" among rows tied
 * on its order now has a total order. Every test loads the same small hand-made rows in two (or
 * more) physical orders, and asserts the same answer — the one the documented tie-break gives.
 * The whole-review version of this, on a generated company, is test/e2e/import-order.test.ts.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  freshEngine,
  insertDiveEvents,
  insertOrganizations,
  type DiveEvent,
} from '../helpers/dive-test-data.js';
import { icpVsNonIcp } from '../../src/analyses/dives/icp-vs-non-icp.js';
import { topCustomers } from '../../src/analyses/dives/top-customers.js';
import { compareIndicators } from '../../src/analyses/dives/leading-indicators.js';
import { sqlFeedbackWithOrganization } from '../../src/analyses/dives/organization-facts.js';
import { configSchema, type Config } from '../../src/config/schema.js';
import { monthEnd } from '../../src/domain/month.js';
import { compareNullableText, compareText } from '../../src/domain/order.js';
import { importEvents } from '../../src/ingest/posthog/import-events.js';
import { importStripeFile } from '../../src/ingest/stripe/import.js';
import { funnel } from '../../src/insights/funnel.js';
import { engineWith, type TestEvent } from '../helpers/insight-events.js';
import { customerRevenueTimeline } from '../../src/metrics/revenue/customer-mrr.js';
import { revenueFamily } from '../../src/metrics/revenue/revenue.js';
import {
  currentLine,
  customer,
  invoice,
  price,
  subscription,
  subscriptionEvent,
  writeJsonl,
} from '../helpers/stripe-fixtures.js';
import { ALL_PRODUCTS } from '../../src/metrics/types.js';
import type { DuckDbEngine } from '../../src/store/duckdb/engine.js';
import { raw, sql } from '../../src/store/sql.js';

const engines: DuckDbEngine[] = [];
afterEach(async () => {
  for (const e of engines.splice(0)) await e.close();
});
async function fresh(): Promise<DuckDbEngine> {
  const e = await freshEngine();
  engines.push(e);
  return e;
}
const config = (over: Record<string, unknown> = {}): Config =>
  configSchema.parse({ reporting: { currency: 'USD', fx: {} }, ...over });

describe('text order', () => {
  it('is code-unit order, whatever the locale', () => {
    const words = ['z', 'y', 'j', 'ä', 'b', 'a-b', 'ab', 'Ab', 'aB'];
    expect([...words].sort(compareText)).toEqual(['Ab', 'a-b', 'aB', 'ab', 'b', 'j', 'y', 'z', 'ä']);
    // What localeCompare would have done: two machines, two orders.
    expect('y'.localeCompare('j', 'lt')).toBeLessThan(0); // eslint-disable-line no-restricted-properties
    expect('y'.localeCompare('j', 'en')).toBeGreaterThan(0); // eslint-disable-line no-restricted-properties
    expect(compareText('y', 'j')).toBeGreaterThan(0);
    expect(compareText('a', 'a')).toBe(0);
    expect(['b', null, 'a'].sort(compareNullableText)).toEqual([null, 'a', 'b']);
    expect(compareNullableText(undefined, null)).toBe(0);
  });
});

describe("the dialect's argMax / argMin", () => {
  // (group, value, by): g1 ties on by = 5 between 'beta' and 'alpha'; g2 has a null `by`.
  const rows: [string, string, number | null][] = [
    ['g1', 'beta', 5],
    ['g1', 'alpha', 5],
    ['g1', 'gamma', 1],
    ['g2', 'late', null],
    ['g2', 'early', 2],
    ['g2', 'mid', 3],
  ];
  async function pick(order: typeof rows): Promise<Record<string, unknown>[]> {
    const e = await fresh();
    await e.exec(raw('CREATE TABLE t (g VARCHAR, v VARCHAR, b INTEGER)'));
    for (const [g, v, b] of order) await e.exec(sql`INSERT INTO t VALUES (${g}, ${v}, ${b})`);
    const d = e.dialect;
    return e.query(sql`SELECT g, ${d.sqlArgMax(raw('v'), raw('b'))} AS hi, ${d.sqlArgMin(raw('v'), raw('b'))} AS lo
      FROM t GROUP BY g ORDER BY g`);
  }
  it('breaks ties on `by` by the value itself, in any row order, and ignores a null `by`', async () => {
    const want = [
      { g: 'g1', hi: 'beta', lo: 'gamma' },
      { g: 'g2', hi: 'mid', lo: 'early' },
    ];
    expect(await pick(rows)).toEqual(want);
    expect(await pick([...rows].reverse())).toEqual(want);
    // A tie for the minimum goes to the smallest value.
    const minTie: typeof rows = [
      ['g1', 'q', 1],
      ['g1', 'p', 1],
    ];
    expect((await pick(minTie))[0]).toMatchObject({ hi: 'q', lo: 'p' });
    expect((await pick([...minTie].reverse()))[0]).toMatchObject({ hi: 'q', lo: 'p' });
  });
});

describe('revenue', () => {
  // These stores stand for exports made at the end of March: the data's end is given, or March
  // (and February's carried state) would be measured at the last invoice's instant or be null
  // after it (honest months, test/honest-months/).
  const EXPORTED_MARCH = monthEnd('2024-03');
  const alpha = price('p_alpha', 'prod_x', 5000, 'month', { nickname: 'Alpha' });
  const beta = price('p_beta', 'prod_x', 5000, 'month', { nickname: 'Beta' });
  const line = (id: string, p: typeof alpha) =>
    currentLine({ id, amount: 5000, price: p, start: '2024-03-01', end: '2024-04-01' });

  async function loadFiles(files: unknown[][]): Promise<DuckDbEngine> {
    const e = await fresh();
    for (const [i, objects] of files.entries()) {
      const r = await importStripeFile(e, writeJsonl(`part${i}.jsonl`, objects));
      expect(r.rejected).toEqual([]);
    }
    return e;
  }

  it("a customer's main plan among lines of equal MRR is the same whatever the import order", async () => {
    const a = [customer('c1'), alpha, beta, invoice('in_a', 'c1', '2024-03-01', [line('il_a', alpha)])];
    const b = [invoice('in_b', 'c1', '2024-03-01', [line('il_b', beta)])];
    const plans: unknown[] = [];
    for (const files of [
      [a, b],
      [b, a],
    ]) {
      const e = await loadFiles(files);
      const rows = await customerRevenueTimeline({
        engine: e,
        config: config(),
        product: ALL_PRODUCTS,
        months: ['2024-03'],
        asOf: EXPORTED_MARCH,
      });
      expect(rows).toHaveLength(1);
      expect(rows[0]!.mrr).toBe(100);
      plans.push(rows[0]!.plan);
    }
    // 50 + 50: tied, so the greatest plan name (the dialect's argMax tie-break).
    expect(plans).toEqual(['Beta', 'Beta']);
  });

  it('two subscription events of the same second count once, the greater event id winning', async () => {
    const seat = price('p_seat', 'prod_x', 1000, 'month', { nickname: 'Seat' });
    const sub = (quantity: number) =>
      subscription('sub_1', 'c2', 'active', [{ id: 'si_1', price: seat, quantity }]);
    const first = subscriptionEvent('evt_A', 'customer.subscription.created', '2024-02-01', sub(1));
    const second = subscriptionEvent('evt_B', 'customer.subscription.updated', '2024-02-01', sub(3));
    const mrr: unknown[] = [];
    for (const files of [
      [[customer('c2'), first, second]],
      [[customer('c2'), second, first]],
      [[second], [customer('c2'), first]],
    ]) {
      const e = await loadFiles(files);
      const values = await revenueFamily.compute({
        engine: e,
        config: config(),
        product: ALL_PRODUCTS,
        months: ['2024-02', '2024-03'],
        asOf: EXPORTED_MARCH,
      });
      mrr.push(['2024-02', '2024-03'].map((m) => values.find((v) => v.id === 'mrr')!.values.get(m)));
    }
    // evt_B (3 seats × $10) wins the tie; before, both states counted: $40.
    expect(mrr).toEqual([
      [30, 30],
      [30, 30],
      [30, 30],
    ]);
  });

  it('sums rates exactly: 1 + 3 + 14 cents a year is 1.5 cents a month, rounded to 2', async () => {
    const yearly = (id: string, cents: number) =>
      invoice(`in_${id}`, 'c3', '2024-01-01', [
        currentLine({
          id: `il_${id}`,
          amount: cents,
          price: price(`p_${id}`, 'prod_x', cents, 'year'),
          start: '2024-01-01',
          end: '2025-01-01',
        }),
      ]);
    for (const order of [
      ['a', 'b', 'c'],
      ['c', 'b', 'a'],
    ]) {
      const cents: Record<string, number> = { a: 1, b: 3, c: 14 };
      const prices = order.map((k) => price(`p_${k}`, 'prod_x', cents[k]!, 'year'));
      const e = await loadFiles([[customer('c3'), ...prices, ...order.map((k) => yearly(k, cents[k]!))]]);
      const values = await revenueFamily.compute({
        engine: e,
        config: config(),
        product: ALL_PRODUCTS,
        months: ['2024-03'],
        asOf: EXPORTED_MARCH,
      });
      // In doubles 1/12 + 3/12 + 14/12 = 1.4999999999999998 cents, which rounded to 1.
      expect(values.find((v) => v.id === 'mrr')!.values.get('2024-03')).toBe(0.02);
    }
  });
});

describe('top customers: a cancellation scheduled by one of two same-second events', () => {
  it('follows the greater event id, whatever the import order', async () => {
    const plan = price('p_plan', 'prod_x', 10000, 'month', { nickname: 'Plan' });
    const sub = (cancel: boolean) =>
      subscription('sub_9', 'c9', 'active', [{ id: 'si_9', price: plan }], { cancelAtPeriodEnd: cancel });
    const kept = subscriptionEvent('evt_A', 'customer.subscription.updated', '2024-03-10', sub(false));
    const cancel = subscriptionEvent('evt_B', 'customer.subscription.updated', '2024-03-10', sub(true));
    const billing = [
      customer('c9', { metadata: { group_key: 'org9' } }),
      plan,
      invoice('in_9', 'c9', '2024-03-01', [
        currentLine({
          id: 'il_9',
          amount: 10000,
          price: plan,
          start: '2024-03-01',
          end: '2024-04-01',
          subscription: 'sub_9',
        }),
      ]),
    ];
    const verdicts: unknown[] = [];
    for (const events of [
      [kept, cancel],
      [cancel, kept],
    ]) {
      const e = await fresh();
      for (const [i, objects] of [billing, ...events.map((x) => [x])].entries()) {
        expect((await importStripeFile(e, writeJsonl(`f${i}.jsonl`, objects))).rejected).toEqual([]);
      }
      const dive = await topCustomers.run({
        engine: e,
        config: config(),
        product: ALL_PRODUCTS,
        month: '2024-03',
        metrics: [],
      });
      const [c] = dive.data.customers as {
        organization: string;
        signals: { signal: string; verdict: string }[];
      }[];
      verdicts.push([c?.organization, c?.signals.find((x) => x.signal === 'cancellation')?.verdict]);
    }
    expect(verdicts).toEqual([
      ['org9', 'bad'],
      ['org9', 'bad'],
    ]);
  });
});

describe('organization of a feedback row', () => {
  it('among organizations with as many of its person’s events, is the greatest key, in any row order', async () => {
    const events: DiveEvent[] = [
      { event: 'x', person: 'p1', org: 'org_a', at: '2024-03-01T10:00:00Z' },
      { event: 'x', person: 'p1', org: 'org_a', at: '2024-03-02T10:00:00Z' },
      { event: 'x', person: 'p1', org: 'org_b', at: '2024-03-03T10:00:00Z' },
      { event: 'x', person: 'p1', org: 'org_b', at: '2024-03-04T10:00:00Z' },
    ];
    const orgs: unknown[] = [];
    for (const order of [events, [...events].reverse()]) {
      const e = await fresh();
      await insertDiveEvents(e, order);
      await e.exec(sql`INSERT INTO person_distinct_ids VALUES ('p1', 'p1')`);
      await e.exec(
        sql`INSERT INTO feedback (id, kind, created_at, distinct_id) VALUES ('f1', 'ticket', TIMESTAMPTZ '2024-03-05', 'p1')`,
      );
      const ctx = { engine: e, config: config(), product: ALL_PRODUCTS, month: '2024-03', metrics: [] };
      const [row] = await e.query<{ organization: string }>(
        sql`SELECT organization FROM (${sqlFeedbackWithOrganization(ctx)}) f`,
      );
      orgs.push(row?.organization);
    }
    expect(orgs).toEqual(['org_b', 'org_b']);
  });
});

describe('funnel breakdown by first touch', () => {
  it('takes the smallest value among step events of the same instant, in any row order', async () => {
    const events: TestEvent[] = [
      { event: 'A', person: 'p1', at: '2024-01-02T10:00:00', props: { plan: 'pro' } },
      { event: 'A', person: 'p1', at: '2024-01-02T10:00:00', props: { plan: 'free' } },
      { event: 'B', person: 'p1', at: '2024-01-02T11:00:00' },
    ];
    const values: unknown[] = [];
    for (const order of [events, [...events].reverse()]) {
      const e = await engineWith(order);
      engines.push(e);
      const r = await funnel(e, {
        dateFrom: '2024-01-01',
        dateTo: '2024-01-31',
        steps: ['A', 'B'],
        breakdown: { property: 'plan' },
      });
      values.push((r.breakdowns ?? []).map((b) => [b.value, b.steps.map((s) => s.count)]));
    }
    expect(values).toEqual([[['free', [1, 1]]], [['free', [1, 1]]]]);
  });
});

describe('icp-vs-non-icp NPS', () => {
  it("counts a person's two answers of the same instant once, the higher score, in any row order", async () => {
    const list = Array.from({ length: 24 }, (_, i) => ({
      key: `${i < 12 ? 'icp' : 'non'}${i}`,
      icp: i < 12,
    }));
    const events: DiveEvent[] = [];
    for (const o of list) {
      const person = `p-${o.key}`;
      events.push({ event: '$pageview', person, org: o.key, at: '2024-05-03T10:00:00Z' });
      events.push({ event: '$pageview', person, org: o.key, at: '2024-04-03T10:00:00Z' });
      // Two answers at the same instant: 10 and 0 (ICP), 8 and 3 (non-ICP).
      const [hi, lo] = o.icp ? [10, 0] : [8, 3];
      for (const score of [hi, lo]) {
        events.push({
          event: 'survey sent',
          person,
          org: o.key,
          at: '2024-05-10T10:00:00Z',
          props: { $survey_id: 'nps', $survey_response: score },
        });
      }
    }
    const results: unknown[] = [];
    for (const order of [events, [...events].reverse()]) {
      const e = await fresh();
      await insertOrganizations(
        e,
        list.map((o) => ({ key: o.key, properties: { employees: o.icp ? 100 : 10 } })),
      );
      await insertDiveEvents(e, order);
      const dive = await icpVsNonIcp.run({
        engine: e,
        config: config({ icp: { all: [{ property: 'employees', op: '>=', value: 50 }] } }),
        product: ALL_PRODUCTS,
        month: '2024-05',
        metrics: [],
      });
      const nps = dive.data.nps as { icp: { nps: number; n: number }; nonIcp: { nps: number; n: number } };
      results.push([nps.icp.nps, nps.icp.n, nps.nonIcp.nps, nps.nonIcp.n]);
    }
    // ICP: 12 promoters (10 beats 0) → NPS 100; non-ICP: 12 passives (8 beats 3) → NPS 0.
    expect(results).toEqual([
      [100, 12, 0, 12],
      [100, 12, 0, 12],
    ]);
  });
});

describe('leading indicators', () => {
  it('ranks rules tied on every measure by event name', () => {
    const rule = (event: string) => ({ event, score: 0.4, threshold: 2, windowDays: 7, outcomeDays: 56 });
    const a = [rule('invite sent'), rule('dashboard created'), rule('alert created')];
    const names = (xs: typeof a) => xs.map((x) => x.event);
    expect(names([...a].sort(compareIndicators))).toEqual([
      'alert created',
      'dashboard created',
      'invite sent',
    ]);
    expect(names([...a].reverse().sort(compareIndicators))).toEqual(names([...a].sort(compareIndicators)));
  });
});

describe('person properties from events of the same instant', () => {
  // Already a total order before issue 15 ($set latest wins, ties by uuid); kept here so a change
  // to the identity code cannot bring chance back.
  it('take the $set of the greater uuid whichever file is imported first', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sextant-ties-'));
    const line = (uuid: string, plan: string) =>
      JSON.stringify({
        uuid,
        event: '$pageview',
        distinct_id: 'u1',
        timestamp: '2024-03-01T10:00:00Z',
        properties: { $set: { plan } },
      }) + '\n';
    const f1 = join(dir, 'one.jsonl');
    const f2 = join(dir, 'two.jsonl');
    writeFileSync(f1, line('00000000-0000-4000-8000-000000000002', 'pro'));
    writeFileSync(f2, line('00000000-0000-4000-8000-000000000001', 'free'));
    const plans: unknown[] = [];
    for (const files of [
      [f1, f2],
      [f2, f1],
    ]) {
      const e = await fresh();
      for (const f of files) await importEvents(e, f);
      const [p] = await e.query<{ plan: string }>(
        sql`SELECT json_extract_string(properties, '$.plan') AS plan FROM persons WHERE person_id = 'u1'`,
      );
      plans.push(p?.plan);
    }
    expect(plans).toEqual(['pro', 'pro']);
  });
});
