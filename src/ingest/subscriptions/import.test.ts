import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { configSchema } from '../../config/schema.js';
import { customerRevenueTimeline } from '../../metrics/revenue/customer-mrr.js';
import { revenueFamily } from '../../metrics/revenue/revenue.js';
import { ALL_PRODUCTS } from '../../metrics/types.js';
import { DuckDbEngine } from '../../store/duckdb/engine.js';
import { importSubscriptions } from './import.js';

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
    const values = await revenueFamily.compute({ engine: e, config, product: ALL_PRODUCTS, months });
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
    });
    expect(timeline.find((r) => r.customerId === 'k1')).toMatchObject({
      organization: 'org-a',
      plan: 'Team',
      mrr: 30,
    });
    await e.close();
  });
});
