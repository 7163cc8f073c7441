import { describe, expect, it } from 'vitest';
import { configSchema, type Config } from '../../config/schema.js';
import { monthEnd, monthsEndingAt, type Month } from '../../domain/month.js';
import { InputError } from '../../errors.js';
import { importStripeFile } from '../../ingest/stripe/import.js';
import { DuckDbEngine } from '../../store/duckdb/engine.js';
import { sql } from '../../store/sql.js';
import { ALL_PRODUCTS, type MetricValues, type ProductScope } from '../types.js';
import {
  customerRevenueTimeline,
  queryBillingCurrencies,
  queryFirstBillingMonth,
  queryHasSubscriptionStates,
  revenueGrid,
  sqlBillingAmounts,
  sqlFxValues,
} from './customer-mrr.js';
import { revenueFamily } from './revenue.js';
import {
  creditNote,
  currentLine,
  customer,
  invoice,
  oldLine,
  price,
  product,
  subscription,
  subscriptionEvent,
  writeJsonl,
  type CurrentLineFixture,
  type LineSpec,
  type OldLineFixture,
} from '../../../test/helpers/stripe-fixtures.js';
import { maybeTwin } from '../../../test/helpers/twin.js';

const MONTHS = monthsEndingAt('2024-06', 6); // 2024-01 … 2024-06

function config(over: Record<string, unknown> = {}): Config {
  return configSchema.parse({ reporting: { currency: 'USD', fx: { EUR: 1.1 } }, ...over });
}

async function load(objects: unknown[]): Promise<DuckDbEngine> {
  const e = await DuckDbEngine.open(':memory:');
  await e.migrate();
  const report = await importStripeFile(e, writeJsonl('billing.jsonl', objects));
  expect(report.rejected).toEqual([]);
  return maybeTwin(e);
}

async function compute(
  e: DuckDbEngine,
  cfg: Config = config(),
  product: ProductScope = ALL_PRODUCTS,
  months: Month[] = MONTHS,
): Promise<Map<string, (number | null)[]>> {
  // These small stores stand for exports made at the end of the months asked: the data's end is
  // given (the rule for months after it is tested in test/honest-months/).
  const asOf = monthEnd(months.at(-1)!);
  const values: MetricValues[] = await revenueFamily.compute({
    engine: e,
    config: cfg,
    product,
    months,
    asOf,
  });
  return new Map(values.map((v) => [v.id, months.map((m) => v.values.get(m) ?? null)]));
}

/** One line per month from `from` (first of month) for `n` months, each on its own invoice. */
function monthly(
  cust: string,
  shape: (s: LineSpec) => CurrentLineFixture | OldLineFixture,
  spec: Omit<LineSpec, 'id' | 'start' | 'end'>,
  from: Month,
  n: number,
  opts: { status?: 'paid' | 'open' | 'void' | 'uncollectible' } = {},
): ReturnType<typeof invoice>[] {
  return Array.from({ length: n }, (_, i) => {
    const [y, m] = from.split('-').map(Number) as [number, number];
    const s = new Date(Date.UTC(y, m - 1 + i, 1)).toISOString().slice(0, 10);
    const e = new Date(Date.UTC(y, m + i, 1)).toISOString().slice(0, 10);
    const id = `${cust}_${spec.price.id}_${s}`;
    return invoice('in_' + id, cust, s, [shape({ ...spec, id: 'il_' + id, start: s, end: e })], opts);
  });
}

// Prices (amounts in cents). prod_core is the main product; prod_addon a second one.
const pA100 = price('pA100', 'prod_core', 10000, 'month', { nickname: 'Core' });
const pA150 = price('pA150', 'prod_core', 15000, 'month', { nickname: 'Core Plus' });
const pAnnual = price('pAnnual', 'prod_core', 120000, 'year', { nickname: 'Core Annual' });
const p50 = price('p50', 'prod_core', 5000, 'month');
const p60 = price('p60', 'prod_core', 6000, 'month');
const p80 = price('p80', 'prod_core', 8000, 'month');
const p90 = price('p90', 'prod_core', 9000, 'month');
const pQ = price('pQ', 'prod_core', 30000, 'month', { count: 3, nickname: 'Quarterly' });
const pSeat = price('pSeat', 'prod_core', 1000, 'month', { nickname: 'Seats' });
const pEur = price('pEur', 'prod_core', 10000, 'month', { currency: 'eur' });
const p40 = price('p40', 'prod_core', 4000, 'month');
const pAddon = price('pAddon', 'prod_addon', 6000, 'month');
const p100 = price('p100', 'prod_core', 10000, 'month');
const p200 = price('p200', 'prod_core', 20000, 'month', { nickname: 'Business' });
const pOne = price('pOne', 'prod_core', 5000, null);
const pMeter = price('pMeter', 'prod_core', 1, 'month', { metered: true });
const PRICES = [
  pA100,
  pA150,
  pAnnual,
  p50,
  p60,
  p80,
  p90,
  pQ,
  pSeat,
  pEur,
  p40,
  pAddon,
  p100,
  p200,
  pOne,
  pMeter,
];

function companyObjects(): unknown[] {
  return [
    product('prod_core', 'Core product'),
    product('prod_addon', 'Add-on'),
    ...PRICES,
    customer('c1', { metadata: { group_key: 'org-1' } }),
    customer('c2', { email: 'ann@beta.io' }),
    // c1: $100 Jan–Feb, upgraded to $150 from March (current line shape). Its January invoice also
    // has a one-time charge, and February's invoice is refunded by a credit note: neither is MRR.
    invoice('in_c1_jan', 'c1', '2024-01-01', [
      currentLine({
        id: 'il_c1_jan',
        amount: 10000,
        price: pA100,
        start: '2024-01-01',
        end: '2024-02-01',
        subscription: 'sub_c1',
      }),
      currentLine({
        id: 'il_c1_setup',
        amount: 5000,
        price: pOne,
        start: '2024-01-01',
        end: '2024-01-01',
        subscription: null,
      }),
    ]),
    ...monthly('c1', currentLine, { amount: 10000, price: pA100, subscription: 'sub_c1' }, '2024-02', 1),
    creditNote('cn_c1', 'in_c1_pA100_2024-02-01', 'c1', 10000, '2024-02-10'),
    ...monthly('c1', currentLine, { amount: 15000, price: pA150, subscription: 'sub_c1' }, '2024-03', 4),
    // c2: annual $1,200 from Jan 15 (older line shape) → $100 a month.
    invoice('in_c2', 'c2', '2024-01-15', [
      oldLine({
        id: 'il_c2',
        amount: 120000,
        price: pAnnual,
        start: '2024-01-15',
        end: '2025-01-15',
        subscription: 'sub_c2',
      }),
    ]),
    // c3: $50 Jan–Feb, no March invoice (churn), back at $60 in May (reactivation).
    ...monthly('c3', currentLine, { amount: 5000, price: p50, subscription: 'sub_c3' }, '2024-01', 2),
    ...monthly('c3', currentLine, { amount: 6000, price: p60, subscription: 'sub_c3b' }, '2024-05', 2),
    // c4: trial Jan 10–Feb 10 ($0 line), then $80 a month: new in February.
    invoice('in_c4_trial', 'c4', '2024-01-10', [
      currentLine({
        id: 'il_c4_trial',
        amount: 0,
        price: p80,
        start: '2024-01-10',
        end: '2024-02-10',
        subscription: 'sub_c4',
      }),
    ]),
    ...['02', '03', '04', '05', '06'].map((m) =>
      invoice(`in_c4_${m}`, 'c4', `2024-${m}-10`, [
        currentLine({
          id: `il_c4_${m}`,
          amount: 8000,
          price: p80,
          start: `2024-${m}-10`,
          end: `2024-${String(Number(m) + 1).padStart(2, '0')}-10`,
          subscription: 'sub_c4',
        }),
      ]),
    ),
    // c5: quarterly $300 with a 50% first-quarter coupon: $50/month in Q1, $100 in Q2.
    invoice('in_c5_q1', 'c5', '2024-01-01', [
      currentLine({
        id: 'il_c5_q1',
        amount: 30000,
        discount: 15000,
        price: pQ,
        start: '2024-01-01',
        end: '2024-04-01',
        subscription: 'sub_c5',
      }),
    ]),
    invoice('in_c5_q2', 'c5', '2024-04-01', [
      currentLine({
        id: 'il_c5_q2',
        amount: 30000,
        price: pQ,
        start: '2024-04-01',
        end: '2024-07-01',
        subscription: 'sub_c5',
      }),
    ]),
    // c6: 5 seats × $10 Jan–Mar, 3 seats from April; a metered line of $12.34 in March.
    ...monthly(
      'c6',
      currentLine,
      { amount: 5000, quantity: 5, price: pSeat, subscription: 'sub_c6' },
      '2024-01',
      2,
    ),
    invoice('in_c6_mar', 'c6', '2024-03-01', [
      currentLine({
        id: 'il_c6_mar',
        amount: 5000,
        quantity: 5,
        price: pSeat,
        start: '2024-03-01',
        end: '2024-04-01',
        subscription: 'sub_c6',
      }),
      currentLine({
        id: 'il_c6_usage',
        amount: 1234,
        quantity: 1234,
        price: pMeter,
        start: '2024-02-01',
        end: '2024-03-01',
        subscription: 'sub_c6',
      }),
    ]),
    ...monthly(
      'c6',
      currentLine,
      { amount: 3000, quantity: 3, price: pSeat, subscription: 'sub_c6' },
      '2024-04',
      3,
    ),
    // c7: €100 a month; reporting.fx EUR 1.1 → $110.
    ...monthly('c7', currentLine, { amount: 10000, price: pEur, subscription: 'sub_c7' }, '2024-01', 6),
    // c8: January void, February uncollectible, paid from March: new in March.
    ...monthly('c8', currentLine, { amount: 9000, price: p90, subscription: 'sub_c8' }, '2024-01', 1, {
      status: 'void',
    }),
    ...monthly('c8', currentLine, { amount: 9000, price: p90, subscription: 'sub_c8' }, '2024-02', 1, {
      status: 'uncollectible',
    }),
    ...monthly('c8', currentLine, { amount: 9000, price: p90, subscription: 'sub_c8' }, '2024-03', 4),
    // c9: two subscriptions (older line shape): $40 Jan–Jun, an add-on $60 Feb–Mar.
    ...monthly('c9', oldLine, { amount: 4000, price: p40, subscription: 'sub_c9a' }, '2024-01', 6),
    ...monthly('c9', oldLine, { amount: 6000, price: pAddon, subscription: 'sub_c9b' }, '2024-02', 2),
    // c10: $100 since December; upgraded to $200 on Jan 20 with proration lines. Its regular lines
    // carry no price (current shape): the interval comes from the subscription item.
    subscription('sub_c10', 'c10', 'active', [{ id: 'si_c10', price: p200 }], { start: '2023-12-01' }),
    ...monthly(
      'c10',
      currentLine,
      { amount: 10000, price: p100, subscription: 'sub_c10', itemOnly: 'si_c10' },
      '2023-12',
      2,
    ),
    invoice('in_c10_upgrade', 'c10', '2024-01-20', [
      currentLine({
        id: 'il_c10_old',
        amount: -3548,
        proration: true,
        price: p100,
        start: '2024-01-20',
        end: '2024-02-01',
        subscription: 'sub_c10',
      }),
      currentLine({
        id: 'il_c10_new',
        amount: 7097,
        proration: true,
        price: p200,
        start: '2024-01-20',
        end: '2024-02-01',
        subscription: 'sub_c10',
      }),
    ]),
    ...monthly(
      'c10',
      currentLine,
      { amount: 20000, price: p200, subscription: 'sub_c10', itemOnly: 'si_c10' },
      '2024-02',
      5,
    ),
  ];
}

describe('revenue metrics on a hand-computed company (USD, EUR at 1.1)', () => {
  // Month-end MRR per customer, dollars (Dec is only c10 = 100):
  //        c1   c2   c3  c4  c5   c6  c7   c8  c9   c10 | total
  //   Jan 100  100  50   0  50   50 110   0   40  200 | 700
  //   Feb 100  100  50  80  50   50 110   0  100  200 | 840
  //   Mar 150  100   0  80  50   50 110  90  100  200 | 930
  //   Apr 150  100   0  80 100   30 110  90   40  200 | 900
  //   May 150  100  60  80 100   30 110  90   40  200 | 960
  //   Jun 150  100  60  80 100   30 110  90   40  200 | 960
  it('computes MRR, movements, customers, rates, ARPA and ARR', async () => {
    const e = await load(companyObjects());
    const m = await compute(e);
    expect(m.get('mrr')).toEqual([700, 840, 930, 900, 960, 960]);
    // Jan: c1 100 + c2 100 + c3 50 + c5 50 + c6 50 + c7 110 + c9 40 = 500 new; c10 +100 expansion.
    // Feb: c4 80 new; c9 +60 expansion. Mar: c8 90 new; c1 +50 expansion; c3 50 churned.
    // Apr: c5 +50 expansion; c6 −20 and c9 −60 contraction. May: c3 60 reactivation.
    expect(m.get('new_mrr')).toEqual([500, 80, 90, 0, 0, 0]);
    expect(m.get('expansion_mrr')).toEqual([100, 60, 50, 50, 0, 0]);
    expect(m.get('contraction_mrr')).toEqual([0, 0, 0, 80, 0, 0]);
    expect(m.get('churned_mrr')).toEqual([0, 0, 50, 0, 0, 0]);
    expect(m.get('reactivation_mrr')).toEqual([0, 0, 0, 0, 60, 0]);
    expect(m.get('net_new_mrr')).toEqual([600, 140, 90, -30, 60, 0]);
    expect(m.get('paying_customers')).toEqual([8, 9, 9, 9, 10, 10]);
    expect(m.get('churned_customers')).toEqual([0, 0, 1, 0, 0, 0]);
    // customer churn Mar = 1 / 9 paying at the end of Feb.
    expect(m.get('customer_churn_rate')?.[2]).toBeCloseTo(1 / 9, 12);
    // growth: Jan (700 − 100) / 100 = 6; Feb 140 / 700 = 0.2.
    expect(m.get('mrr_growth')?.[0]).toBeCloseTo(6, 12);
    expect(m.get('mrr_growth')?.[1]).toBeCloseTo(0.2, 12);
    // revenue churn Mar = 50 / 840; Apr = 80 / 930.
    expect(m.get('revenue_churn_rate')?.[2]).toBeCloseTo(50 / 840, 12);
    expect(m.get('revenue_churn_rate')?.[3]).toBeCloseTo(80 / 930, 12);
    // NRR Apr = (930 + 50 − 80) / 930; GRR Apr = (930 − 80) / 930.
    expect(m.get('net_revenue_retention')?.[3]).toBeCloseTo(900 / 930, 12);
    expect(m.get('gross_revenue_retention')?.[3]).toBeCloseTo(850 / 930, 12);
    // ARPA Jun = 960 / 10; ARR Jun = 960 × 12.
    expect(m.get('arpa')?.[5]).toBe(96);
    expect(m.get('arr')?.[5]).toBe(11520);
    // Usage revenue: only c6's metered $12.34 on the March invoice.
    expect(m.get('usage_revenue')).toEqual([0, 0, 12.34, 0, 0, 0]);
    await e.close();
  });

  it('holds the movement identity every month', async () => {
    const e = await load(companyObjects());
    const m = await compute(e, config(), ALL_PRODUCTS, monthsEndingAt('2024-06', 13));
    const get = (id: string, i: number): number => m.get(id)?.[i] ?? 0;
    for (let i = 1; i < 13; i++) {
      const movements =
        get('new_mrr', i) +
        get('expansion_mrr', i) +
        get('reactivation_mrr', i) -
        get('contraction_mrr', i) -
        get('churned_mrr', i);
      expect(get('mrr', i)).toBeCloseTo(get('mrr', i - 1) + movements, 9);
    }
    // Months before the first billing data (Dec 2023) have no value, not 0.
    expect(m.get('mrr')?.slice(0, 6)).toEqual([null, null, null, null, null, null]);
    expect(m.get('mrr')?.[6]).toBe(100);
    await e.close();
  });

  it('scopes to a product through its Stripe products', async () => {
    const e = await load(companyObjects());
    const addon: ProductScope = { name: 'addon', events: [], stripeProducts: ['prod_addon'] };
    const m = await compute(e, config(), addon);
    // Only c9's add-on: $60 Feb–Mar; new in Feb, churned from the add-on in Apr.
    expect(m.get('mrr')).toEqual([0, 60, 60, 0, 0, 0]);
    expect(m.get('new_mrr')).toEqual([0, 60, 0, 0, 0, 0]);
    expect(m.get('churned_mrr')).toEqual([0, 0, 0, 60, 0, 0]);
    const none = await compute(e, config(), { name: 'x', events: [], stripeProducts: [] });
    expect(none.get('mrr')).toEqual([null, null, null, null, null, null]);
    await e.close();
  });

  it('gives a per-customer timeline with organizations linked by metadata or email domain', async () => {
    const e = await load(companyObjects());
    await e.exec(
      sql`INSERT INTO groups VALUES ('organization', 'org-beta', ${'{"email_domain":"beta.io"}'}, NULL)`,
    );
    const rows = await customerRevenueTimeline({
      engine: e,
      config: config(),
      product: ALL_PRODUCTS,
      months: ['2024-03'],
    });
    const byCustomer = new Map(rows.map((r) => [r.customerId, r]));
    expect(byCustomer.get('c1')).toMatchObject({
      organization: 'org-1',
      mrr: 150,
      previousMrr: 100,
      movement: 'expansion',
      plan: 'Core Plus',
      interval: 'month',
    });
    expect(byCustomer.get('c2')).toMatchObject({
      organization: 'org-beta',
      mrr: 100,
      movement: 'flat',
      plan: 'Core Annual',
      interval: 'year',
    });
    expect(byCustomer.get('c3')).toMatchObject({
      organization: null,
      mrr: 0,
      previousMrr: 50,
      movement: 'churned',
    });
    expect(byCustomer.get('c7')).toMatchObject({ mrr: 110, currency: 'EUR' });
    expect(rows.length).toBe(10); // c1–c10 all paid at the end of Feb or Mar
    await e.close();
  });
});

describe('revenue rules with their options', () => {
  it('starts MRR when the invoice is issued (default) or when it is paid (billing.mrrFrom)', async () => {
    const objects = [
      p100,
      // $100 for January, paid late on Feb 3; February's invoice stays open (past due).
      invoice(
        'in_late',
        'c1',
        '2024-01-01',
        [
          currentLine({
            id: 'il_late',
            amount: 10000,
            price: p100,
            start: '2024-01-01',
            end: '2024-02-01',
            subscription: 's',
          }),
        ],
        { paidAt: '2024-02-03' },
      ),
      invoice(
        'in_open',
        'c1',
        '2024-02-01',
        [
          currentLine({
            id: 'il_open',
            amount: 10000,
            price: p100,
            start: '2024-02-01',
            end: '2024-03-01',
            subscription: 's',
          }),
        ],
        { status: 'open' },
      ),
    ];
    const e = await load(objects);
    const months = ['2024-01', '2024-02', '2024-03'];
    // issued: Jan 100 (issued Jan 1), Feb 100 (open = past due, counts until canceled), Mar 0.
    expect((await compute(e, config(), ALL_PRODUCTS, months)).get('mrr')).toEqual([100, 100, 0]);
    // paid: Jan 0 (paid only on Feb 3), Feb 0 (the Jan line ended; Feb's is unpaid), Mar 0.
    const paid = await compute(e, config({ billing: { mrrFrom: 'paid' } }), ALL_PRODUCTS, months);
    expect(paid.get('mrr')).toEqual([0, 0, 0]);
    await e.close();
  });

  it('churns a canceled annual plan at the end of the paid period (default) or at cancellation', async () => {
    const objects = [
      pAnnual,
      subscription('sub_y', 'cy', 'active', [{ id: 'si_y', price: pAnnual }], {
        canceledAt: '2024-03-15',
        cancelAtPeriodEnd: true,
      }),
      invoice('in_y', 'cy', '2024-01-01', [
        oldLine({
          id: 'il_y',
          amount: 120000,
          price: pAnnual,
          start: '2024-01-01',
          end: '2025-01-01',
          subscription: 'sub_y',
        }),
      ]),
    ];
    const e = await load(objects);
    // 1200 / 12 = 100 a month until the period ends on 2025-01-01.
    expect((await compute(e)).get('mrr')).toEqual([100, 100, 100, 100, 100, 100]);
    const atCancel = await compute(e, config({ billing: { churnAt: 'cancellation' } }));
    expect(atCancel.get('mrr')).toEqual([100, 100, 0, 0, 0, 0]);
    expect(atCancel.get('churned_mrr')).toEqual([0, 0, 100, 0, 0, 0]);
    await e.close();
  });

  it('fills gaps in invoice history from subscription events', async () => {
    const p30 = price('p30', 'prod_core', 3000, 'month');
    const only = (q: number, status: 'active' | 'canceled' = 'active') =>
      subscription('sub_ev', 'cev', status, [{ id: 'si_ev', price: p30, quantity: q }]);
    const gap = subscription('sub_gap', 'cgap', 'active', [{ id: 'si_gap', price: p50 }]);
    const objects = [
      p30,
      p50,
      // Only events: $30 from Jan 5, 2 seats ($60) from Mar 10, deleted May 20.
      subscriptionEvent('evt_1', 'customer.subscription.created', '2024-01-05', only(1)),
      subscriptionEvent('evt_2', 'customer.subscription.updated', '2024-03-10', only(2)),
      subscriptionEvent('evt_3', 'customer.subscription.deleted', '2024-05-20', only(2, 'canceled')),
      // Invoices for Jan and Mar, February's missing: the event state ($50) fills it.
      subscriptionEvent('evt_4', 'customer.subscription.created', '2024-01-01', gap),
      invoice('in_g1', 'cgap', '2024-01-01', [
        currentLine({
          id: 'il_g1',
          amount: 5000,
          price: p50,
          start: '2024-01-01',
          end: '2024-02-01',
          subscription: 'sub_gap',
        }),
      ]),
      invoice('in_g3', 'cgap', '2024-03-01', [
        currentLine({
          id: 'il_g3',
          amount: 5000,
          price: p50,
          start: '2024-03-01',
          end: '2024-04-01',
          subscription: 'sub_gap',
        }),
      ]),
    ];
    const e = await load(objects);
    const rows = await customerRevenueTimeline({
      engine: e,
      config: config(),
      product: ALL_PRODUCTS,
      months: MONTHS,
      asOf: monthEnd('2024-06'),
    });
    const series = (c: string) =>
      MONTHS.map((m) => rows.find((r) => r.customerId === c && r.month === m)?.mrr ?? 0);
    expect(series('cev')).toEqual([30, 30, 60, 60, 0, 0]);
    // The state has no end, so after the invoices stop the events keep it at $50 (no cancellation seen).
    expect(series('cgap')).toEqual([50, 50, 50, 50, 50, 50]);
    await e.close();
  });

  it('counts a 100%-discounted period and inclusive tax as no MRR, and a subscription coupon while it applies', async () => {
    const objects = [
      p100,
      // cz: January fully discounted (0), February $110 with $10 inclusive tax → $100: new in Feb.
      invoice('in_z1', 'cz', '2024-01-01', [
        currentLine({
          id: 'il_z1',
          amount: 10000,
          discount: 10000,
          price: p100,
          start: '2024-01-01',
          end: '2024-02-01',
          subscription: 'sub_z',
        }),
      ]),
      invoice('in_z2', 'cz', '2024-02-01', [
        currentLine({
          id: 'il_z2',
          amount: 11000,
          inclusiveTax: 1000,
          price: p100,
          start: '2024-02-01',
          end: '2024-03-01',
          subscription: 'sub_z',
        }),
      ]),
      // cp: only events; $100 with 50% off until Mar 1 → 50, 50, then 100 from March.
      subscriptionEvent(
        'evt_cp',
        'customer.subscription.created',
        '2024-01-01',
        subscription('sub_cp', 'cp', 'active', [{ id: 'si_cp', price: p100 }], {
          percentOff: { percent: 50, until: '2024-03-01' },
        }),
      ),
    ];
    const e = await load(objects);
    const months = ['2024-01', '2024-02', '2024-03'];
    const rows = await customerRevenueTimeline({
      engine: e,
      config: config(),
      product: ALL_PRODUCTS,
      months,
      asOf: monthEnd('2024-03'),
    });
    const series = (c: string) =>
      months.map((m) => rows.find((r) => r.customerId === c && r.month === m)?.mrr ?? 0);
    expect(series('cz')).toEqual([0, 100, 0]);
    expect(rows.find((r) => r.customerId === 'cz' && r.month === '2024-02')?.movement).toBe('new');
    expect(series('cp')).toEqual([50, 50, 100]);
    await e.close();
  });

  it('refuses an amount in a currency with no reporting.fx rate, naming the currency', async () => {
    const pGbp = price('pGbp', 'prod_core', 1000, 'month', { currency: 'gbp' });
    const e = await load([
      pGbp,
      ...monthly('cg', currentLine, { amount: 1000, price: pGbp, subscription: 's' }, '2024-01', 1),
    ]);
    await expect(compute(e)).rejects.toThrow(InputError);
    await expect(compute(e)).rejects.toThrow(/GBP/);
    await e.close();
  });
});

describe('the MRR query, part by part', () => {
  // Two customers: c1 pays $100 from 2024-03 (monthly), c2 pays EUR 100 from 2024-02 to 2024-04.
  const objects = (): unknown[] => [
    product('prod_core', 'Core product'),
    pA100,
    pEur,
    customer('c1'),
    customer('c2'),
    ...monthly('c1', currentLine, { amount: 10000, price: pA100, subscription: 'sub_1' }, '2024-03', 2),
    ...monthly('c2', currentLine, { amount: 10000, price: pEur, subscription: 'sub_2' }, '2024-02', 3),
  ];

  it('first billing month: the earliest period start of any line, null on an empty store', async () => {
    const e = await load(objects());
    try {
      expect(await queryFirstBillingMonth(e)).toBe('2024-02');
    } finally {
      await e.close();
    }
    const empty = await load([]);
    try {
      expect(await queryFirstBillingMonth(empty)).toBeNull();
      expect(await queryHasSubscriptionStates(empty)).toBe(false);
    } finally {
      await empty.close();
    }
  });

  it('currencies: those of non-zero amounts reaching the grid; subscription states: none without events', async () => {
    const e = await load(objects());
    try {
      const start = e.dialect.sqlTimestamp(sql`${'2024-01-01T00:00:00.000Z'}`);
      const got = await queryBillingCurrencies(e, sqlBillingAmounts(start));
      expect([...got].sort()).toEqual(['EUR', 'USD']);
      // A grid starting after every line ends reaches no line.
      const late = e.dialect.sqlTimestamp(sql`${'2025-01-01T00:00:00.000Z'}`);
      expect(await queryBillingCurrencies(e, sqlBillingAmounts(late))).toEqual([]);
      expect(await queryHasSubscriptionStates(e)).toBe(false);
    } finally {
      await e.close();
    }
  });

  it('the grid (pure): history back to the first billing month, months measured at the data end', () => {
    const asOf = new Date('2024-06-15T00:00:00Z');
    const g = revenueGrid(['2024-05', '2024-06'], '2024-02', asOf);
    expect(g.grid).toEqual(['2024-02', '2024-03', '2024-04', '2024-05', '2024-06']);
    expect(g.firstIdx).toBe(3);
    expect(g.lastMonth).toBe('2024-06');
    expect(g.endOf('2024-06')).toEqual(asOf); // the month holding the data's end
    expect(g.endOf('2024-05')).toEqual(new Date('2024-06-01T00:00:00Z'));
    // No billing before: one month of history; at most ten years of it.
    expect(revenueGrid(['2024-05'], null, null).grid).toEqual(['2024-04', '2024-05']);
    expect(revenueGrid(['2024-05'], '2001-01', null).grid).toHaveLength(121);
    expect(() => revenueGrid([], null, null)).toThrow('no months');
  });

  it('fx (pure): a rate per currency present in minor units; a currency without a rate names its field', () => {
    const cfg = config({ reporting: { currency: 'USD', fx: { EUR: 1.1 } } });
    const values = (q: ReturnType<typeof sqlFxValues>) => q.render(() => '?').values;
    const v = values(sqlFxValues(cfg, ['USD', 'EUR', null]));
    expect(v.slice(0, 3)).toEqual(['USD', 1, 'EUR']);
    expect(v[3]).toBeCloseTo(1.1, 12);
    // JPY has no minor unit: one yen is 100 × rate US cents.
    const jpy = values(sqlFxValues(config({ reporting: { currency: 'USD', fx: { JPY: 0.0067 } } }), ['JPY']));
    expect(jpy[0]).toBe('JPY');
    expect(jpy[1]).toBeCloseTo(0.67, 12);
    // No currency present: the reporting currency at 1.
    expect(values(sqlFxValues(cfg, []))).toEqual(['USD', 1]);
    expect(() => sqlFxValues(cfg, ['GBP'])).toThrow(InputError);
    expect(() => sqlFxValues(cfg, ['GBP'])).toThrow(/reporting\.fx has no rate for GBP/);
  });
});
