import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { configSchema } from '../../config/schema.js';
import { monthEnd } from '../../domain/month.js';
import { customerRevenueTimeline } from '../../metrics/revenue/customer-mrr.js';
import { revenueFamily } from '../../metrics/revenue/revenue.js';
import { ALL_PRODUCTS } from '../../metrics/types.js';
import { DuckDbEngine } from '../../store/duckdb/engine.js';
import { raw } from '../../store/sql.js';
import { telcoSubscriptions } from '../../../test/helpers/telco.js';
import { ledgerBalances } from '../report.js';
import { importSubscriptions, SUBSCRIPTION_RULES } from './import.js';

const CSV = `customer_id,organization,plan,product,currency,amount,interval,interval_count,quantity,start,end,status
k1,org-a,Team,prod_x,usd,1000,month,1,3,2024-01-01,,active
k2,org-b,Annual,prod_x,eur,120000,year,1,1,2024-02-15,2024-04-10,canceled
k3,,Trial,prod_x,usd,5000,month,1,1,2024-01-01,2024-02-01,trialing
k3,,Pro,prod_x,usd,5000,month,1,1,2024-02-01,,active
bad,,x,p,usd,abc,month,1,1,2024-01-01,,active
`;

describe('importSubscriptions (generic CSV)', () => {
  it('imports good rows, rejects bad ones by line and field, and feeds the revenue engine', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sextant-subs-'));
    const file = join(dir, 'subs.csv');
    writeFileSync(file, CSV);
    const e = await DuckDbEngine.open(':memory:');
    await e.migrate();
    const report = await importSubscriptions(e, file, { rejectsDir: dir });
    expect(report).toMatchObject({ records: 5, inserted: 4, duplicates: 0 });
    expect(report.rejected).toEqual([
      { line: 6, field: 'amount', reason: "expected an amount in minor units (an integer), got 'abc'" },
    ]);
    const again = await importSubscriptions(e, file);
    expect(again).toMatchObject({ inserted: 0, duplicates: 4 });

    const config = configSchema.parse({ reporting: { fx: { EUR: 1.1 } } });
    const months = ['2024-01', '2024-02', '2024-03', '2024-04'];
    // These small files stand for exports made at the end of the months asked: the data's end is
    // given (the rule for months after it is tested in test/honest-months/).
    const asOf = monthEnd(months.at(-1)!);
    const values = await revenueFamily.compute({ engine: e, config, product: ALL_PRODUCTS, months, asOf });
    const get = (id: string) => months.map((m) => values.find((v) => v.id === id)?.values.get(m));
    // Jan: k1 3 × $10 = 30 (k3 trialing = 0). Feb: 30 + k2 €1,200/12 × 1.1 = 110 + k3 50 = 190.
    // Apr: k2 ended Apr 10 → 190 − 110 = 80.
    expect(get('mrr')).toEqual([30, 190, 190, 80]);
    expect(get('new_mrr')).toEqual([30, 160, 0, 0]);
    expect(get('churned_mrr')).toEqual([0, 0, 0, 110]);
    const timeline = await customerRevenueTimeline({
      engine: e,
      config,
      product: ALL_PRODUCTS,
      months: ['2024-02'],
      asOf,
    });
    expect(timeline.find((r) => r.customerId === 'k1')).toMatchObject({
      organization: 'org-a',
      plan: 'Team',
      mrr: 30,
    });
    await e.close();
  });
});

async function store(): Promise<DuckDbEngine> {
  const e = await DuckDbEngine.open(':memory:');
  await e.migrate();
  return e;
}

const HEADER =
  'customer_id,organization,plan,product,currency,amount,interval,interval_count,quantity,start,end,status';

function csvFile(name: string, lines: string[]): string {
  const dir = mkdtempSync(join(tmpdir(), 'sextant-subs-'));
  const file = join(dir, name);
  writeFileSync(file, lines.join('\n') + '\n');
  return file;
}

async function mrr(
  e: DuckDbEngine,
  months: string[],
  config = configSchema.parse({}),
): Promise<(number | null | undefined)[]> {
  // These small files stand for exports made at the end of the months asked: the data's end is
  // given (the rule for months after it is tested in test/honest-months/).
  const asOf = monthEnd(months.at(-1)!);
  const values = await revenueFamily.compute({ engine: e, config, product: ALL_PRODUCTS, months, asOf });
  return months.map((m) => values.find((v) => v.id === 'mrr')?.values.get(m));
}

describe('subscription CSV identity: every row is a subscription of its own', () => {
  it('keeps two subscriptions of one customer on the same plan and day (both count in MRR)', async () => {
    const e = await store();
    // A second workspace of k1 and an add-on seat row: same customer, plan, product and start.
    const file = csvFile('subs.csv', [
      HEADER,
      'k1,org-a,Team,prod_x,usd,1000,month,1,1,2024-01-01,,active',
      'k1,org-a,Team,prod_x,usd,1000,month,1,1,2024-01-01,,active',
      'k1,org-a,Team,prod_x,usd,2500,month,1,2,2024-01-01,,active',
    ]);
    const r = await importSubscriptions(e, file);
    expect(r).toMatchObject({ records: 3, inserted: 3, updated: 0, duplicates: 0 });
    expect(ledgerBalances(r)).toBe(true);
    // 10 + 10 + 2 × 25 = 70 (the old key kept one row: 25 × 2 = 50).
    expect(await mrr(e, ['2024-01'])).toEqual([70]);
    // Re-importing the same file stores nothing twice.
    const again = await importSubscriptions(e, file);
    expect(again).toMatchObject({ records: 3, inserted: 0, updated: 0, duplicates: 3 });
    expect(again.duplicateRules).toEqual({ [SUBSCRIPTION_RULES.unchanged]: 3 });
    expect(await mrr(e, ['2024-01'])).toEqual([70]);
    await e.close();
  });

  it('without ids: a re-export with one more row adds it; a changed end updates the row it belongs to', async () => {
    const e = await store();
    const base = [
      'k1,,Team,prod_x,usd,1000,month,1,1,2024-01-01,,active',
      'k1,,Team,prod_x,usd,1000,month,1,1,2024-01-01,,active',
      'k2,,Pro,prod_x,usd,5000,month,1,1,2024-01-15,,active',
    ];
    await importSubscriptions(e, csvFile('export-1.csv', [HEADER, ...base]));
    // A month later: k2 cancelled (end and status filled in), and k1 took a third seat-workspace.
    const next = await importSubscriptions(
      e,
      csvFile('export-2.csv', [
        HEADER,
        base[0]!,
        base[1]!,
        'k1,,Team,prod_x,usd,1000,month,1,1,2024-01-01,,active',
        'k2,,Pro,prod_x,usd,5000,month,1,1,2024-01-15,2024-02-20,canceled',
      ]),
    );
    expect(next).toMatchObject({ records: 4, inserted: 1, updated: 1, duplicates: 2 });
    const [n] = await e.query<{ n: number }>(
      raw('SELECT count(*)::INTEGER AS n FROM billing_subscription_rows'),
    );
    expect(n?.n).toBe(4);
    // Jan: 10 + 10 + 10 + 50 = 80; Feb: k2 ended on the 20th → 30; Mar: 30.
    expect(await mrr(e, ['2024-01', '2024-02', '2024-03'])).toEqual([80, 30, 30]);
    await e.close();
  });

  it('with an id column: the id is the key (a changed row is an update), repeated ids keep the last row', async () => {
    const e = await store();
    const first = await importSubscriptions(
      e,
      csvFile('ids.csv', [
        'id,' + HEADER,
        'sub_1,k1,,Team,prod_x,usd,1000,month,1,1,2024-01-01,,active',
        'sub_2,k1,,Team,prod_x,usd,1000,month,1,1,2024-01-01,,active',
        // A row without an id in a file with the column: keyed on its content and occurrence.
        ',k3,,Team,prod_x,usd,700,month,1,1,2024-01-01,,active',
      ]),
    );
    expect(first).toMatchObject({ inserted: 3, duplicates: 0 });
    const second = await importSubscriptions(
      e,
      csvFile('ids-2.csv', [
        'id,' + HEADER,
        // sub_1 moved to a yearly plan starting later: still sub_1.
        'sub_1,k1,,Team,prod_x,usd,12000,year,1,1,2024-02-01,,active',
        'sub_2,k1,,Team,prod_x,usd,1000,month,1,1,2024-01-01,,active',
        'sub_2,k1,,Team,prod_x,usd,1500,month,1,1,2024-01-01,,active',
      ]),
    );
    expect(second).toMatchObject({ records: 3, inserted: 0, updated: 2, duplicates: 1 });
    expect(second.duplicateRules).toEqual({ [SUBSCRIPTION_RULES.repeated]: 1 });
    const rows = await e.query<{ id: string | null; amount: number; interval: string }>(
      raw('SELECT id, amount, interval FROM billing_subscription_rows ORDER BY id NULLS LAST'),
    );
    expect(rows).toEqual([
      { id: 'sub_1', amount: 12000, interval: 'year' },
      { id: 'sub_2', amount: 1500, interval: 'month' },
      { id: null, amount: 700, interval: 'month' },
    ]);
    await e.close();
  });

  it('keys the rows stored before migration 010 as a re-import of their file does', async () => {
    const e = await store();
    // A store as the old key left it: rebuild the old table, hold a row, replay migration 010.
    await e.exec(
      raw(`DROP TABLE billing_subscription_rows;
      CREATE TABLE billing_subscription_rows (customer_id VARCHAR NOT NULL, organization VARCHAR, plan VARCHAR,
        product VARCHAR, currency VARCHAR NOT NULL, amount BIGINT NOT NULL, interval VARCHAR NOT NULL,
        interval_count INTEGER NOT NULL, quantity BIGINT NOT NULL, start_at TIMESTAMPTZ NOT NULL, end_at TIMESTAMPTZ,
        status VARCHAR, source VARCHAR, PRIMARY KEY (customer_id, plan, product, start_at));
      INSERT INTO billing_subscription_rows VALUES
        ('k"1 é', 'org', 'Team', 'prod_x', 'USD', 1000, 'month', 1, 3, TIMESTAMPTZ '2024-01-01 12:30:00+00', NULL, 'active', 'old.csv');
      DELETE FROM schema_migrations WHERE version = 10;`),
    );
    await e.migrate();
    const r = await importSubscriptions(
      e,
      csvFile('old.csv', [
        HEADER,
        '"k""1 é",org,Team,prod_x,usd,1000,month,1,3,2024-01-01T12:30:00Z,,active',
      ]),
    );
    expect(r).toMatchObject({ inserted: 0, updated: 0, duplicates: 1 });
    await e.close();
  });
});

describe('subscription CSV: a real third-party export (IBM Telco churn)', () => {
  it('keeps every row, and its MRR is the sum of the file', async () => {
    const { csv, activeJune, activeMay, rows } = telcoSubscriptions();
    expect(rows).toBe(7043);
    const e = await store();
    const file = csvFile('telco-subscriptions.csv', [csv.trimEnd()]);
    const r = await importSubscriptions(e, file);
    expect(r).toMatchObject({ records: 7043, inserted: 7043, updated: 0, duplicates: 0, rejected: [] });
    const [n] = await e.query<{ n: number }>(
      raw('SELECT count(*)::INTEGER AS n FROM billing_subscription_rows'),
    );
    expect(n?.n).toBe(7043);
    const [may, june] = await mrr(e, ['2024-05', '2024-06']);
    // June: the 5,174 customers who did not churn; May: everyone with a month of tenure.
    expect(june).toBeCloseTo(activeJune / 100, 6);
    expect(may).toBeCloseTo(activeMay / 100, 6);
    const again = await importSubscriptions(e, file);
    expect(again).toMatchObject({ inserted: 0, duplicates: 7043 });
    await e.close();
  });
});
