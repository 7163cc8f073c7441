/**
 * top-customers and churn-reasons on a small generated demo company (src/demo): each finds the
 * effect the generator planted and lists in truth.json. 200 organizations is about the smallest
 * company where the planted churn segment is still significant after Benjamini–Hochberg.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../config/load.js';
import { writeDemoFiles } from '../../demo/generate.js';
import type { ChurnEffect, DemoTruth, TopCustomersEffect } from '../../demo/truth.js';
import { importFeedback } from '../../ingest/feedback/import.js';
import { importEvents } from '../../ingest/posthog/import-events.js';
import { importStripe } from '../../ingest/stripe/import.js';
import { ALL_PRODUCTS } from '../../metrics/types.js';
import { DuckDbEngine } from '../../store/duckdb/engine.js';
import { churnReasons, type ChurnDriver, type ChurnedCustomer } from './churn-reasons.js';
import { topCustomers, type TopCustomer } from './top-customers.js';
import type { DeepDiveContext } from './types.js';

describe('top-customers and churn-reasons find the demo company’s planted effects', () => {
  let dir: string;
  let e: DuckDbEngine;
  let ctx: DeepDiveContext;
  let truth: DemoTruth;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sextant-customer-dives-'));
    const files = await writeDemoFiles({
      outDir: dir,
      seed: 11,
      orgs: 200,
      events: 40_000,
      until: '2025-06-15',
    });
    truth = JSON.parse(readFileSync(files.truth, 'utf8')) as DemoTruth;
    e = await DuckDbEngine.open(':memory:');
    await e.migrate();
    const rejects = join(dir, 'rejects');
    await importEvents(e, files.events, { rejectsDir: rejects });
    await importStripe(e, files.stripe, { rejectsDir: rejects });
    for (const f of files.feedback) await importFeedback(e, f, { rejectsDir: rejects });
    ctx = {
      engine: e,
      config: loadConfig(files.config),
      product: ALL_PRODUCTS,
      month: files.month,
      metrics: [],
    };
  }, 120_000);
  afterAll(async () => {
    await e.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('flags the planted top customer whose usage collapsed and NPS fell', async () => {
    const planted = truth.effects.find((x): x is TopCustomersEffect => x.deepDive === 'top-customers');
    expect(planted).toBeDefined();
    const dive = await topCustomers.run(ctx);
    const customers = dive.data.customers as TopCustomer[];
    const c = customers.find((x) => x.organization === planted?.organization);
    expect(c).toBeDefined();
    expect(planted?.expectedHealth).toContain(c?.health);
    const bad = c?.signals.filter((s) => s.verdict === 'bad').map((s) => s.signal);
    expect(bad).toEqual(expect.arrayContaining(['usage', 'nps']));
    expect(dive.findings.some((f) => f.evidence.organization === planted?.organization)).toBe(true);
    // by MRR descending
    const mrr = customers.map((x) => x.mrr);
    expect(mrr).toEqual([...mrr].sort((a, b) => b - a));
  });

  it('says churn was high, names the planted segment and theme, and lists the churned', async () => {
    const planted = truth.effects.find((x): x is ChurnEffect => x.deepDive === 'churn-reasons');
    expect(planted).toBeDefined();
    const dive = await churnReasons.run(ctx);
    expect(dive.data.high).toBe(planted?.high);
    const churned = (dive.data.churned as ChurnedCustomer[]).map((c) => c.organization);
    expect(churned).toEqual(expect.arrayContaining(planted?.churned ?? ['?']));
    // The planted segment is plan = Starter: the billing plan or the organization's own `plan` property.
    const top = (dive.data.drivers as ChurnDriver[])[0];
    expect(top?.significant).toBe(true);
    expect(top?.dimension).toMatch(/plan$/);
    expect(top?.value.toLowerCase()).toBe(planted?.segment.value.toLowerCase());
    expect((dive.data.reasons as { theme: string }[])[0]?.theme).toBe(planted?.theme);
  });
});
