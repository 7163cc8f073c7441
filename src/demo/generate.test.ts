import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { parse as parseCsv } from 'csv-parse/sync';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../config/load.js';
import { parse as parseYaml } from 'yaml';
import { DuckDbEngine } from '../store/duckdb/engine.js';
import { raw, sql } from '../store/sql.js';
import { writeDemoFiles, type DemoFiles } from './generate.js';
import type { DemoTruth } from './truth.js';

const UNTIL = '2025-06-15';
const small = { orgs: 60, events: 60_000, until: UNTIL };

function digest(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string, prefix: string): void => {
    for (const name of readdirSync(d, { withFileTypes: true })) {
      if (name.isDirectory()) walk(join(d, name.name), `${prefix}${name.name}/`);
      else
        out[prefix + name.name] = createHash('sha256')
          .update(readFileSync(join(d, name.name)))
          .digest('hex');
    }
  };
  walk(dir, '');
  return out;
}

function jsonl(file: string): Array<Record<string, unknown>> {
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

let files: DemoFiles;
let truth: DemoTruth;
let lines: string[];

beforeAll(async () => {
  files = await writeDemoFiles({ outDir: mkdtempSync(join(tmpdir(), 'demo-a-')), seed: 7, ...small });
  truth = JSON.parse(readFileSync(files.truth, 'utf8')) as DemoTruth;
  lines = gunzipSync(readFileSync(files.events)).toString('utf8').split('\n').filter(Boolean);
});

describe('writeDemoFiles', () => {
  it('is deterministic: same seed, same bytes; another seed, other bytes', async () => {
    const again = await writeDemoFiles({ outDir: mkdtempSync(join(tmpdir(), 'demo-b-')), seed: 7, ...small });
    const other = await writeDemoFiles({ outDir: mkdtempSync(join(tmpdir(), 'demo-c-')), seed: 8, ...small });
    const a = digest(files.dir);
    expect(Object.keys(a).length).toBeGreaterThanOrEqual(13);
    expect(digest(again.dir)).toEqual(a);
    const b = digest(other.dir);
    expect(b['events.jsonl.gz']).not.toBe(a['events.jsonl.gz']);
    expect(b['stripe/invoices.jsonl']).not.toBe(a['stripe/invoices.jsonl']);
  });

  it('names the review month: the last complete month before --until', () => {
    expect(files.month).toBe('2025-05');
    expect(truth.month).toBe('2025-05');
  });

  it('writes no event at or after the start of the --until day (the importer would call it future)', () => {
    const end = Date.parse(`${UNTIL}T00:00:00Z`);
    const late = lines
      .map((l) => (JSON.parse(l) as { timestamp: string }).timestamp)
      .filter((t) => Date.parse(t) >= end);
    expect(late).toEqual([]);
    // The world still runs up to that day: the last event lies within its final day.
    const last = Math.max(
      ...lines.map((l) => Date.parse((JSON.parse(l) as { timestamp: string }).timestamp)),
    );
    expect(end - last).toBeLessThan(24 * 3600_000);
  });

  it('by default ends its data at the start of today: nothing in the future', async () => {
    const d = await writeDemoFiles({
      outDir: mkdtempSync(join(tmpdir(), 'demo-now-')),
      seed: 3,
      orgs: 40,
      events: 20_000,
    });
    const today = new Date();
    const start = Date.UTC(today.getUTCFullYear(), today.getUTCMonth(), today.getUTCDate());
    const stamps = gunzipSync(readFileSync(d.events))
      .toString('utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => Date.parse((JSON.parse(l) as { timestamp: string }).timestamp));
    expect(stamps.length).toBeGreaterThan(10_000);
    expect(stamps.filter((t) => t >= start)).toEqual([]);
  });

  it('meets the --events target within a few percent', () => {
    expect(Math.abs(lines.length - small.events) / small.events).toBeLessThan(0.05);
    expect(truth.events).toBe(lines.length);
  });

  it('writes PostHog-format events (SPEC §3.1), with a few duplicates and offsets', () => {
    const events = lines.map(
      (l) =>
        JSON.parse(l) as {
          uuid: string;
          event: string;
          distinct_id: string;
          timestamp: string;
          properties: Record<string, unknown>;
        },
    );
    for (const e of events.slice(0, 2000)) {
      expect(typeof e.uuid).toBe('string');
      expect(typeof e.event).toBe('string');
      expect(typeof e.distinct_id).toBe('string');
      expect(Number.isNaN(Date.parse(e.timestamp))).toBe(false);
      expect(typeof e.properties).toBe('object');
    }
    const names = new Set(events.map((e) => e.event));
    for (const n of [
      '$pageview',
      '$identify',
      '$groupidentify',
      '$feature_flag_called',
      'survey sent',
      'signed up',
      'invite sent',
    ]) {
      expect(names.has(n)).toBe(true);
    }
    const identify = events.find((e) => e.event === '$identify' && e.properties.$set);
    expect(identify?.properties.$anon_distinct_id).toBeTypeOf('string');
    const group = events.find((e) => e.event === '$groupidentify');
    expect(Object.keys(group?.properties.$group_set as object).sort()).toEqual([
      'country',
      'email_domain',
      'employees',
      'industry',
      'name',
      'plan',
    ]);
    const survey = events.find((e) => e.event === 'survey sent');
    expect(survey?.properties.$survey_response).toBeGreaterThanOrEqual(0);
    expect(events.some((e) => '$feature/new-insights-ui' in e.properties)).toBe(true);
    expect(
      events.filter((e) => (e.properties.$groups as { organization?: string } | undefined)?.organization)
        .length,
    ).toBeGreaterThan(events.length * 0.9);
    expect(new Set(events.map((e) => e.uuid)).size).toBeLessThan(events.length);
    expect(events.some((e) => /[+-]\d\d:\d\d$/.test(e.timestamp))).toBe(true);
  });

  it('writes Stripe objects with both invoice line shapes, EUR, tax, a coupon and a refund (SPEC §3.2)', () => {
    const invoices = jsonl(join(files.stripe, 'invoices.jsonl'));
    expect(invoices.every((i) => i.object === 'invoice')).toBe(true);
    const allLines = invoices.flatMap((i) => (i.lines as { data: Array<Record<string, unknown>> }).data);
    expect(allLines.some((l) => 'price' in l && 'proration' in l && 'subscription' in l)).toBe(true);
    expect(
      allLines.some(
        (l) =>
          (l.pricing as { price_details?: unknown } | undefined)?.price_details &&
          (l.parent as { subscription_item_details?: unknown } | undefined)?.subscription_item_details,
      ),
    ).toBe(true);
    expect(invoices.some((i) => i.currency === 'eur')).toBe(true);
    expect(allLines.some((l) => Array.isArray(l.taxes) && l.taxes.length > 0)).toBe(true);
    expect(
      invoices.some((i) => Array.isArray(i.total_discount_amounts) && i.total_discount_amounts.length > 0),
    ).toBe(true);
    expect(invoices.some((i) => i.status === 'uncollectible' || i.status === 'open')).toBe(true);
    for (const [file, object] of [
      ['customers.jsonl', 'customer'],
      ['subscriptions.jsonl', 'subscription'],
      ['events.jsonl', 'event'],
      ['products.jsonl', 'product'],
      ['prices.jsonl', 'price'],
      ['coupons.jsonl', 'coupon'],
      ['credit_notes.jsonl', 'credit_note'],
    ] as const) {
      const rows = jsonl(join(files.stripe, file));
      expect(rows.length, file).toBeGreaterThan(0);
      expect(
        rows.every((r) => r.object === object),
        file,
      ).toBe(true);
    }
    const customers = jsonl(join(files.stripe, 'customers.jsonl'));
    expect(customers.some((c) => (c.metadata as Record<string, string>).group_key)).toBe(true);
  });

  it('writes feedback with the SPEC §3.3 columns and every kind', () => {
    const rows = parseCsv<Record<string, string>>(readFileSync(files.feedback[0] ?? '', 'utf8'), {
      columns: true,
    });
    expect(Object.keys(rows[0] ?? {})).toEqual([
      'id',
      'kind',
      'created_at',
      'distinct_id',
      'email',
      'organization',
      'score',
      'title',
      'body',
      'tags',
      'status',
      'closed_at',
    ]);
    const kinds = new Set(rows.map((r) => r.kind));
    for (const k of ['ticket', 'request', 'interview', 'nps']) expect(kinds.has(k)).toBe(true);
    expect(rows.some((r) => r.kind === 'ticket' && r.status === 'open')).toBe(true);
    const cancellations = jsonl(files.feedback[1] ?? '');
    expect(cancellations.length).toBeGreaterThan(0);
    expect(cancellations.every((c) => c.kind === 'cancellation')).toBe(true);
  });

  it('writes a valid config naming the demo products, steps and ICP rule', () => {
    const config = parseConfig(parseYaml(readFileSync(files.config, 'utf8')), files.config);
    expect(config.products.map((p) => p.name)).toEqual(['analytics', 'session-replay']);
    expect(config.onboarding.steps).toHaveLength(5);
    expect(config.icp.all).toEqual([{ property: 'employees', op: '>=', value: 50 }]);
    expect(config.reporting.fx.EUR).toBeGreaterThan(1);
  });

  it('lists an effect for each of the five deep dives and an anomaly in truth.json', () => {
    expect(truth.effects.map((e) => e.deepDive).sort()).toEqual([
      'churn-reasons',
      'icp-vs-non-icp',
      'leading-indicators',
      'onboarding-funnel',
      'top-customers',
    ]);
    expect(truth.anomalies.length).toBeGreaterThan(0);
    expect(truth.anomalies[0]).toMatchObject({ metricId: 'tickets', month: '2025-05', direction: 'up' });
  });
});

describe('the planted effects, checked on the raw files', () => {
  let e: DuckDbEngine;
  beforeAll(async () => {
    e = await DuckDbEngine.open(':memory:');
    // Test-only reading of the generated file with DuckDB's reader; the file path is ours.
    await e.exec(
      raw(
        `create table ev as select event, distinct_id, timestamp::timestamptz as ts, properties->>'$.$groups.organization' as org, properties from read_json('${files.events.replaceAll("'", "''")}', format='newline_delimited', columns={event:'VARCHAR', distinct_id:'VARCHAR', timestamp:'VARCHAR', properties:'JSON'})`,
      ),
    );
    await e.exec(
      raw(
        `create table g as select properties->>'$.$group_key' as k, max((properties->'$.$group_set'->>'employees')::int) as emp from ev where event = '$groupidentify' group by 1`,
      ),
    );
  });

  it('icp-vs-non-icp: ICP organizations use the planted event far more in the review month', async () => {
    const icp = truth.effects.find((x) => x.deepDive === 'icp-vs-non-icp');
    if (icp?.deepDive !== 'icp-vs-non-icp') throw new Error('no icp effect');
    const rows = await e.query<{ icp: boolean; rate: number; orgs: number }>(sql`
      with a as (select org, bool_or(event = ${icp.event}) as used from ev
                 where strftime(ts, '%Y-%m') = ${truth.month} and org is not null group by 1)
      select g.emp >= ${icp.rule.value} as icp, avg(used::int) as rate, count(*) as orgs from a join g on g.k = a.org group by 1`);
    const rate = (flag: boolean): number => rows.find((r) => r.icp === flag)?.rate ?? NaN;
    expect(rate(true) - rate(false)).toBeGreaterThan(0.4);
  });

  it('leading-indicators: users who do the event ≥ threshold times in the window are retained far more', async () => {
    const li = truth.effects.find((x) => x.deepDive === 'leading-indicators');
    if (li?.deepDive !== 'leading-indicators') throw new Error('no leading indicator');
    const rows = await e.query<{ did: boolean; retained: number; users: number }>(sql`
      with s as (select distinct_id, min(ts) as t0 from ev where event = 'signed up' group by 1),
      x as (select s.distinct_id,
              count(*) filter (where ev.event = ${li.event} and ev.ts < s.t0 + to_days(${li.windowDays}::int)) as n,
              count(*) filter (where ev.ts >= s.t0 + interval 56 day and ev.ts < s.t0 + interval 90 day and ev.event = '$pageview') as later
            from s join ev using (distinct_id)
            where s.t0 < ${new Date(`${UNTIL}T00:00:00Z`)} - interval 90 day group by 1)
      select n >= ${li.threshold} as did, avg((later > 0)::int) as retained, count(*) as users from x group by 1`);
    const ret = (flag: boolean): number => rows.find((r) => r.did === flag)?.retained ?? NaN;
    expect(ret(true)).toBeGreaterThan(ret(false) + 0.3);
  });

  it('onboarding-funnel: the planted step has the biggest drop (distinct users per step)', async () => {
    const ob = truth.effects.find((x) => x.deepDive === 'onboarding-funnel');
    if (ob?.deepDive !== 'onboarding-funnel') throw new Error('no funnel');
    // The last step is also a regular action, so compare the first four steps only.
    const steps = ob.steps.slice(0, 4);
    const rows = await e.query<{ event: string; users: number }>(sql`
      select event, count(distinct distinct_id) as users from ev where list_contains(${steps}, event) group by 1`);
    const count = (s: string): number => rows.find((r) => r.event === s)?.users ?? 0;
    const conv = steps.slice(1).map((s, i) => count(s) / count(steps[i] ?? ''));
    const worst = steps[1 + conv.indexOf(Math.min(...conv))];
    expect(worst).toBe(ob.biggestDrop);
  });

  it('churn-reasons: the review month churns several times the trailing months, mostly in the planted plan', () => {
    const ch = truth.effects.find((x) => x.deepDive === 'churn-reasons');
    if (ch?.deepDive !== 'churn-reasons') throw new Error('no churn effect');
    const subs = jsonl(join(files.stripe, 'subscriptions.jsonl'));
    const endedIn = (m: string): number =>
      subs.filter(
        (s) =>
          typeof s.ended_at === 'number' &&
          new Date(s.ended_at * 1000).toISOString().slice(0, 7) === m &&
          s.trial_end !== s.ended_at,
      ).length;
    const trailing = ['2024-11', '2024-12', '2025-01', '2025-02', '2025-03', '2025-04'].map(endedIn);
    const mean = trailing.reduce((a, b) => a + b, 0) / trailing.length;
    expect(endedIn(ch.month)).toBeGreaterThan(2 * Math.max(1, mean));
    expect(ch.churnedInSegment.length).toBeGreaterThan(ch.churned.length / 2);
  });

  it('top-customers: the planted customer’s active users collapse in the last three months', async () => {
    const tc = truth.effects.find((x) => x.deepDive === 'top-customers');
    if (tc?.deepDive !== 'top-customers') throw new Error('no top customer');
    const rows = await e.query<{ recent: boolean; users: number }>(sql`
      with m as (select strftime(ts, '%Y-%m') as month, count(distinct distinct_id) as n from ev
        where org = ${tc.organization} and event not like '$%' and strftime(ts, '%Y-%m') between '2024-11' and ${truth.month} group by 1)
      select month >= ${tc.params.since} as recent, avg(n) as users from m group by 1`);
    const users = (flag: boolean): number => rows.find((r) => r.recent === flag)?.users ?? NaN;
    expect(users(true)).toBeLessThan(users(false) * 0.6);
  });

  it('tickets anomaly: the review month has far more tickets than any trailing month', () => {
    const rows = parseCsv<Record<string, string>>(readFileSync(files.feedback[0] ?? '', 'utf8'), {
      columns: true,
    });
    const tickets = (m: string): number =>
      rows.filter((r) => r.kind === 'ticket' && (r.created_at ?? '').startsWith(m)).length;
    const trailing = ['2024-11', '2024-12', '2025-01', '2025-02', '2025-03', '2025-04'].map(tickets);
    expect(tickets(truth.month)).toBeGreaterThan(1.8 * Math.max(...trailing));
  });
});
