/**
 * top-customers and churn-reasons on a small generated demo company (src/demo): each finds the
 * effect the generator planted and lists in truth.json. 200 organizations is about the smallest
 * company where the planted churn segment is still significant after Benjamini–Hochberg.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChurnEffect, DemoTruth, TopCustomersEffect } from '../../demo/truth.js';
import { demoStore, diveContext, type DemoStore } from '../../../test/helpers/demo-store.js';
import { churnReasons, type ChurnDriver, type ChurnedCustomer } from './churn-reasons.js';
import { MIN_NPS_ANSWERS, topCustomers, type TopCustomer } from './top-customers.js';
import type { DeepDiveContext } from './types.js';

describe('top-customers and churn-reasons find the demo company’s planted effects', () => {
  let store: DemoStore;
  let ctx: DeepDiveContext;
  let truth: DemoTruth;
  beforeAll(async () => {
    store = await demoStore({ seed: 11, orgs: 200, events: 40_000, until: '2025-06-15' });
    truth = store.truth;
    ctx = diveContext(store);
  });
  afterAll(() => store.close());

  it('flags the planted top customer whose usage collapsed and NPS fell', async () => {
    const planted = truth.effects.find((x): x is TopCustomersEffect => x.deepDive === 'top-customers');
    expect(planted).toBeDefined();
    const dive = await topCustomers.run(ctx);
    const customers = dive.data.customers as TopCustomer[];
    const c = customers.find((x) => x.organization === planted?.organization);
    expect(c).toBeDefined();
    expect(planted?.expectedHealth).toContain(c?.health);
    const bad = c?.signals.filter((s) => s.verdict === 'bad').map((s) => s.signal);
    expect(bad).toEqual(expect.arrayContaining(['usage']));
    // Its NPS (answers 1–5) is bad when it has enough answers to judge, never good.
    const nps = c?.signals.find((s) => s.signal === 'nps');
    if (nps && (nps.n ?? 0) >= MIN_NPS_ANSWERS) expect(nps.verdict).toBe('bad');
    else expect(nps?.verdict ?? 'neutral').toBe('neutral');
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
