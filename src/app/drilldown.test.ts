import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { insertEvents } from '../../test/helpers/test-events.js';
import { sampleReview } from '../../test/helpers/sample-review.js';
import { configSchema } from '../config/schema.js';
import { importSubscriptions } from '../ingest/subscriptions/import.js';
import { DuckDbEngine } from '../store/duckdb/engine.js';
import { sql } from '../store/sql.js';
import { directContext, type AppContext } from './context.js';
import { canDrillMetric, drillFinding, drillMetric } from './drilldown.js';
import { monthlyMetrics } from './metrics.js';

/**
 * A tiny company by hand. Revenue (generic CSV, USD): k1 pays 3 × $10 from January; k2 $50 from
 * 10 February, ended 15 March; k3 $20 from January, upgraded to $40 on 1 March. Usage in March:
 * u1 (org-a) 3 events, u2 (org-a) 1 "invite sent" (first ever), u4 (no org) 2 (first ever); u3
 * only in February; u5 only `$identify` (not activity). Feedback in March: two tickets, NPS from
 * u1 (9 then 6: the latest counts) and from x@y.z (3).
 */
const SUBS = `customer_id,organization,plan,product,currency,amount,interval,interval_count,quantity,start,end,status
k1,org-a,Team,prod_x,usd,1000,month,1,3,2024-01-01,,active
k2,org-b,Pro,prod_x,usd,5000,month,1,1,2024-02-10,2024-03-15,canceled
k3,org-c,Basic,prod_x,usd,2000,month,1,1,2024-01-01,2024-03-01,canceled
k3,org-c,Pro,prod_x,usd,4000,month,1,1,2024-03-01,,active
`;

let e: DuckDbEngine;
let ctx: AppContext;
const dir = mkdtempSync(join(tmpdir(), 'sextant-drill-'));

beforeAll(async () => {
  e = await DuckDbEngine.open(':memory:');
  await e.migrate();
  writeFileSync(join(dir, 'subs.csv'), SUBS);
  await importSubscriptions(e, join(dir, 'subs.csv'));
  await insertEvents(e, [
    { event: 'use', person: 'u1', at: '2024-01-20T10:00:00', organization: 'org-a' },
    { event: 'use', person: 'u1', at: '2024-03-01T10:00:00', organization: 'org-a' },
    { event: 'use', person: 'u1', at: '2024-03-02T10:00:00', organization: 'org-a' },
    { event: 'use', person: 'u1', at: '2024-03-31T23:59:59', organization: 'org-a' },
    { event: 'invite sent', person: 'u2', at: '2024-03-10T10:00:00', organization: 'org-a' },
    { event: 'use', person: 'u3', at: '2024-02-10T10:00:00', organization: 'org-b' },
    { event: 'use', person: 'u3', at: '2024-02-11T10:00:00', organization: 'org-b' },
    { event: 'use', person: 'u4', at: '2024-03-05T10:00:00' },
    { event: 'use', person: 'u4', at: '2024-03-06T10:00:00' },
    { event: '$identify', person: 'u5', at: '2024-03-06T10:00:00' },
    { event: 'use', person: 'u1', at: '2024-04-01T00:00:00', organization: 'org-a' }, // April
  ]);
  await e.exec(
    sql`INSERT INTO persons VALUES ('u1', '{"email":"ann@a.io","name":"Ann"}', true, '2024-01-20')`,
  );
  await e.exec(sql`INSERT INTO feedback (id, kind, created_at, distinct_id, email, organization, score, title, status)
    VALUES ('t0', 'ticket', '2024-02-28T10:00:00Z', NULL, NULL, 'org-a', NULL, 'old', 'open'),
           ('t1', 'ticket', '2024-03-02T10:00:00Z', NULL, 'ann@a.io', 'org-a', NULL, 'Export broken', 'open'),
           ('t2', 'ticket', '2024-03-20T10:00:00Z', NULL, NULL, 'org-b', NULL, 'Slow', 'closed'),
           ('n1', 'nps', '2024-03-05T10:00:00Z', 'u1', NULL, NULL, 9, NULL, NULL),
           ('n2', 'nps', '2024-03-07T10:00:00Z', NULL, 'x@y.z', NULL, 3, NULL, NULL),
           ('n3', 'nps', '2024-03-20T10:00:00Z', 'u1', NULL, NULL, 6, NULL, NULL)`);
  ctx = directContext(e, configSchema.parse({ keyActions: ['invite sent'] }));
});

afterAll(async () => {
  await e.close();
  rmSync(dir, { recursive: true, force: true });
});

const drill = (metricId: string, month = '2024-03') => drillMetric(ctx, { product: 'all', month, metricId });
const col = (d: Awaited<ReturnType<typeof drill>>, key: string) => d?.rows.map((r) => r[key]);

describe('drill-down from a metric cell', () => {
  it('revenue: the customers each movement is made of, largest first', async () => {
    const mrr = await drill('paying_customers');
    // k3 $40 (upgraded), k1 $30; k2 ended on the 15th
    expect(mrr?.rows.map((r) => [r.name, r.mrr, r.previousMrr, r.movement])).toEqual([
      ['k3', 40, 20, 'expansion'],
      ['k1', 30, 30, 'flat'],
    ]);
    expect(col(await drill('churned_customers'), 'name')).toEqual(['k2']);
    expect(col(await drill('churned_mrr'), 'previousMrr')).toEqual([50]);
    expect(col(await drill('expansion_mrr'), 'name')).toEqual(['k3']);
    expect(col(await drill('new_mrr', '2024-02'), 'name')).toEqual(['k2']);
    expect(col(await drill('net_revenue_retention'), 'name')).toEqual(['k2', 'k3', 'k1']); // paying in Feb
  });

  it('agrees with the metric: the list has as many customers as the count says', async () => {
    const metrics = await monthlyMetrics(ctx, { month: '2024-03', product: 'all', months: 3 });
    const value = (id: string) => metrics.find((m) => m.id === id)?.current;
    expect((await drill('paying_customers'))?.total).toBe(value('paying_customers'));
    expect((await drill('churned_customers'))?.total).toBe(value('churned_customers'));
    expect((await drill('active_users'))?.total).toBe(value('active_users'));
    expect((await drill('new_users'))?.total).toBe(value('new_users'));
    expect((await drill('tickets'))?.total).toBe(value('tickets'));
    expect((await drill('nps_responses'))?.total).toBe(value('nps_responses'));
  });

  it('usage: active, new, organizations and key actions, most events first', async () => {
    const active = await drill('active_users');
    expect(active?.rows.map((r) => [r.actor, r.events, r.organization, r.email])).toEqual([
      ['u1', 3, 'org-a', 'ann@a.io'],
      ['u4', 2, null, null],
      ['u2', 1, 'org-a', null],
    ]);
    expect(col(await drill('new_users'), 'actor')).toEqual(['u4', 'u2']);
    expect((await drill('active_organizations'))?.rows.map((r) => [r.actor, r.events])).toEqual([
      ['org-a', 4],
    ]);
    expect(col(await drill('key_action:invite sent'), 'actor')).toEqual(['u2']);
  });

  it('feedback: the tickets of the month, and each person’s latest NPS answer', async () => {
    expect(col(await drill('tickets'), 'title')).toEqual(['Export broken', 'Slow']);
    expect((await drill('nps'))?.rows.map((r) => [r.person, r.score])).toEqual([
      ['email:x@y.z', 3],
      ['u1', 6],
    ]);
  });

  it('says which metrics have no list', async () => {
    expect(canDrillMetric('mrr')).toBe(true);
    expect(canDrillMetric('activation_rate')).toBe(false);
    expect(await drill('activation_rate')).toBeNull();
  });
});

describe('drill-down from a finding', () => {
  it("a finding naming an organization lists that organization's users; the churn dive its churned customers", async () => {
    const review = sampleReview({ month: '2024-03' });
    const top = review.deepDives.find((d) => d.id === 'top-customers')!;
    top.findings = [{ title: 'org-a is at risk', detail: '', evidence: { organization: 'org-a' } }];
    const users = await drillFinding(ctx, review, 'top-customers', 0);
    expect(users?.rows.map((r) => [r.actor, r.events])).toEqual([
      ['u1', 3],
      ['u2', 1],
    ]);
    const churn = review.deepDives.find((d) => d.id === 'churn-reasons')!;
    churn.findings = [{ title: 'Most common reason: price', detail: '', evidence: {} }];
    churn.data.churned = [{ organization: 'org-b', name: 'B Inc', mrr: 50 }];
    const churned = await drillFinding(ctx, review, 'churn-reasons', 0);
    expect(churned?.rows).toEqual([{ name: 'B Inc', organization: 'org-b', mrr: 50 }]);
    expect(await drillFinding(ctx, review, 'churn-reasons', 5)).toBeNull();
  });
});
