import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { configSchema } from '../../config/schema.js';
import { monthsEndingAt } from '../../domain/month.js';
import { writeDemoFiles } from '../../demo/generate.js';
import { importStripe } from '../../ingest/stripe/import.js';
import { DuckDbEngine } from '../../store/duckdb/engine.js';
import { ALL_PRODUCTS, productScope } from '../types.js';
import { revenueFamily } from './revenue.js';

describe('revenue on the demo company', () => {
  it('imports its Stripe files cleanly and holds the movement identity every month, per product', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sextant-demo-rev-'));
    const files = await writeDemoFiles({ outDir: dir, seed: 7, orgs: 60, events: 1, until: '2025-07-15' });
    const config = configSchema.parse(parse(readFileSync(files.config, 'utf8')));
    const e = await DuckDbEngine.open(':memory:');
    await e.migrate();
    const reports = await importStripe(e, files.stripe);
    for (const r of reports) expect(r.rejected, r.file).toEqual([]);
    const months = monthsEndingAt(files.month, 13);
    const scopes = [ALL_PRODUCTS, ...config.products.map((p) => productScope(config, p.name))];
    let sawMovement = false;
    for (const product of scopes) {
      const values = await revenueFamily.compute({ engine: e, config, product, months });
      const v = (id: string, i: number): number =>
        values.find((x) => x.id === id)?.values.get(months[i] ?? '') ?? 0;
      for (let i = 1; i < months.length; i++) {
        const moved =
          v('new_mrr', i) +
          v('expansion_mrr', i) +
          v('reactivation_mrr', i) -
          v('contraction_mrr', i) -
          v('churned_mrr', i);
        // Exact in cents: both sides are sums of integer cents.
        expect(Math.round(v('mrr', i) * 100), `${product.name} ${months[i]}`).toBe(
          Math.round((v('mrr', i - 1) + moved) * 100),
        );
        if (moved !== 0) sawMovement = true;
      }
    }
    expect(sawMovement).toBe(true);
    const all = await revenueFamily.compute({ engine: e, config, product: ALL_PRODUCTS, months });
    expect(all.find((x) => x.id === 'mrr')?.values.get(files.month)).toBeGreaterThan(0);
    await e.close();
  });
});
