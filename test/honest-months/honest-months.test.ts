/**
 * Months the data cannot speak for (issue 15, item 9), on small hand-computed stores: what the
 * data covers and whether the review's month is complete; nothing carried past the data's end
 * (MRR in 2300-01 is n/a, not the last known MRR); the month holding the data's end measured at
 * it; real zeros (an empty month inside the data) against no data at all; an unfinished month
 * said so on top, its counts judged pro rata and the rest not judged.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { poissonGammaPredictive } from '../../src/analyses/stats/predictive.js';
import { configSchema, type Config } from '../../src/config/schema.js';
import type { Month } from '../../src/domain/month.js';
import type { Review } from '../../src/domain/review.js';
import { importStripeFile } from '../../src/ingest/stripe/import.js';
import { renderHtml } from '../../src/render/html.js';
import { renderJson } from '../../src/render/json.js';
import { renderMarkdown } from '../../src/render/markdown.js';
import { validateReview } from '../../src/render/schema.js';
import { buildReview } from '../../src/review/build.js';
import { monthCoverage } from '../../src/review/coverage.js';
import { fiveLineSummary } from '../../src/review/summary.js';
import { DuckDbEngine } from '../../src/store/duckdb/engine.js';
import { join, sql } from '../../src/store/sql.js';
import { currentLine, customer, invoice, price, writeJsonl } from '../helpers/stripe-fixtures.js';
import { insertEvents, type TestEvent } from '../helpers/test-events.js';

const engines: DuckDbEngine[] = [];
afterEach(async () => {
  for (const e of engines.splice(0)) await e.close();
});
async function fresh(): Promise<DuckDbEngine> {
  const e = await DuckDbEngine.open(':memory:');
  await e.migrate();
  engines.push(e);
  return e;
}
const config: Config = configSchema.parse({ reporting: { currency: 'USD', fx: {} } });
const at = (iso: string) => new Date(iso);

describe('whether a month is covered (monthCoverage)', () => {
  const first = at('2025-06-26T08:00:00Z');
  const last = at('2026-11-05T10:00:00Z');
  const later = at('2026-12-01T00:00:00Z');
  it('complete: over, and the data runs past its last day', () => {
    expect(monthCoverage('2026-10', first, last, later)).toEqual({
      status: 'complete',
      days: 31,
      coveredDays: 31,
      from: '2026-10-01',
      to: '2026-10-31',
    });
    // A record on the month's last day is enough.
    expect(monthCoverage('2026-10', first, at('2026-10-31T00:00:01Z'), later).status).toBe('complete');
  });
  it('partial: over, but the data ends inside it (5 of 30 days) or starts inside it (26..30 June)', () => {
    expect(monthCoverage('2026-11', first, last, later)).toEqual({
      status: 'partial',
      days: 30,
      coveredDays: 5,
      from: '2026-11-01',
      to: '2026-11-05',
    });
    expect(monthCoverage('2025-06', first, last, later)).toMatchObject({
      status: 'partial',
      coveredDays: 5,
      from: '2025-06-26',
      to: '2025-06-30',
    });
  });
  it('unfinished: the review is generated inside the month (6 of 31 days)', () => {
    const fresh = at('2026-12-06T09:00:00Z');
    expect(monthCoverage('2026-12', first, fresh, at('2026-12-06T19:00:00Z'))).toEqual({
      status: 'unfinished',
      days: 31,
      coveredDays: 6,
      from: '2026-12-01',
      to: '2026-12-06',
    });
  });
  it('outside: after the data, before it, or no data at all', () => {
    for (const m of ['2300-01', '2026-12', '2024-01', '2025-05'])
      expect(monthCoverage(m, first, last, later)).toMatchObject({ status: 'outside', coveredDays: 0 });
    expect(monthCoverage('2026-10', null, null, later).status).toBe('outside');
  });
});

describe('the pro-rata count test', () => {
  it('predicts a count over a share of a month: mean e × the trailing mean (Poisson–gamma)', () => {
    // Six months of 10: r = 60.5, p = 6 / (6 + e). Full month: mean 60.5 × (1/6) / (6/6) = 10.08.
    const full = poissonGammaPredictive([10, 10, 10, 10, 10, 10]);
    expect(full.mean).toBeCloseTo(60.5 / 6, 10);
    // Half a month: p = 6 / 6.5, mean = 60.5 × 0.5 / 6 = 5.0417, variance = mean / p = 5.4618.
    const half = poissonGammaPredictive([10, 10, 10, 10, 10, 10], 0.5);
    expect(half.p).toBeCloseTo(6 / 6.5, 12);
    expect(half.mean).toBeCloseTo((60.5 * 0.5) / 6, 10);
    expect(half.variance).toBeCloseTo((60.5 * 0.5) / 6 / (6 / 6.5), 10);
  });
});

/**
 * Data from 2024-01-01 to 2024-04-15 (the last event): the data's end.
 * - c1 pays $100 a month (invoices on the 1st, Jan–Apr), plus $7 of metered usage invoiced Feb 10;
 *   c2 pays $50 a month from Jan 20 (lines Jan 20–Feb 20, Feb 20–Mar 20, Mar 20–Apr 20).
 *   MRR: Jan–Mar 150 at each month's end. April is measured at the data's end, Apr 15: c1's
 *   Apr 1–May 1 line and c2's Mar 20–Apr 20 line both cover it: 150. (At Apr 30, c2's renewal is
 *   not in the data, and it would read as churned: MRR 100, churned 50.)
 * - p1 is active in Jan, Mar and Apr, not in Feb; p2 only in Jan.
 * - tickets: 2 in January, 1 in March; NPS answers 10 (Jan) and 0 (Mar).
 */
async function store(): Promise<DuckDbEngine> {
  const e = await fresh();
  const p100 = price('p100', 'prod', 10000, 'month', { nickname: 'Pro' });
  const p50 = price('p50', 'prod', 5000, 'month', { nickname: 'Starter' });
  const pUse = price('pUse', 'prod', 1, 'month', { metered: true });
  const line = (id: string, p: typeof p100, start: string, end: string) =>
    currentLine({ id, amount: p.unit_amount!, price: p, start, end, subscription: `sub_${id.slice(3, 5)}` });
  const objects = [
    customer('c1'),
    customer('c2'),
    p100,
    p50,
    pUse,
    ...(
      [
        ['2024-01-01', '2024-02-01'],
        ['2024-02-01', '2024-03-01'],
        ['2024-03-01', '2024-04-01'],
        ['2024-04-01', '2024-05-01'],
      ] as const
    ).map(([s, t]) => invoice(`in_c1_${s}`, 'c1', s, [line(`il_c1_${s}`, p100, s, t)])),
    invoice('in_c1_use', 'c1', '2024-02-10', [
      currentLine({
        id: 'il_use',
        amount: 700,
        price: pUse,
        start: '2024-01-10',
        end: '2024-02-10',
        subscription: 'sub_c1',
      }),
    ]),
    ...(
      [
        ['2024-01-20', '2024-02-20'],
        ['2024-02-20', '2024-03-20'],
        ['2024-03-20', '2024-04-20'],
      ] as const
    ).map(([s, t]) => invoice(`in_c2_${s}`, 'c2', s, [line(`il_c2_${s}`, p50, s, t)])),
  ];
  const report = await importStripeFile(e, writeJsonl('billing.jsonl', objects));
  expect(report.rejected).toEqual([]);
  const events: TestEvent[] = [
    { event: 'pageview', person: 'p1', at: '2024-01-01T09:00:00' },
    { event: 'pageview', person: 'p2', at: '2024-01-10T09:00:00' },
    { event: 'pageview', person: 'p1', at: '2024-03-03T09:00:00' },
    { event: 'pageview', person: 'p1', at: '2024-04-15T18:00:00' },
  ];
  await insertEvents(e, events);
  const fb: [string, string, string, number | null][] = [
    ['t1', 'ticket', '2024-01-03', null],
    ['t2', 'ticket', '2024-01-04', null],
    ['t3', 'ticket', '2024-03-05', null],
    ['n1', 'nps', '2024-01-08', 10],
    ['n2', 'nps', '2024-03-08', 0],
  ];
  await e.exec(
    sql`INSERT INTO feedback (id, kind, created_at, distinct_id, score) VALUES ${join(
      fb.map(([id, kind, day, score]) => sql`(${id}, ${kind}, CAST(${day} AS TIMESTAMPTZ), 'p1', ${score})`),
    )}`,
  );
  return e;
}

const NOW = at('2024-06-01T00:00:00Z');
async function review(e: DuckDbEngine, month: Month, now = NOW): Promise<Review> {
  return buildReview({ engine: e, config, product: 'all', month, now });
}
function series(r: Review, id: string, from?: Month): (number | null)[] {
  const m = r.metrics.find((x) => x.id === id);
  if (!m) throw new Error(`no metric ${id}`);
  return m.series.filter((p) => from === undefined || p.month >= from).map((p) => p.value);
}

describe('a review of months the data can and cannot speak for', () => {
  it('April, where the data ends on the 15th: partial, said so on top, revenue measured at the data’s end', async () => {
    const e = await store();
    const r = await review(e, '2024-04');
    expect(r.dataCoverage).toMatchObject({
      complete: false,
      status: 'partial',
      period: { days: 30, coveredDays: 15, from: '2024-04-01', to: '2024-04-15' },
      first: '2024-01-01',
      last: '2024-04-15',
      events: { count: 4, first: '2024-01-01', last: '2024-04-15', imported: false, rejected: 0 },
      // Billing's last day is the last thing that happened in it (c1's April invoice), not the
      // end of a period it covers (May 1).
      billing: { first: '2024-01-01', last: '2024-04-01', imported: true, rejected: 0 },
      feedback: { count: 5, first: '2024-01-03', last: '2024-03-08' },
    });
    expect(r.dataCoverage.statement).toMatch(
      /^The data ends on 2024-04-15: it covers 15 of 2024-04's 30 days/,
    );
    expect(series(r, 'mrr', '2024-01')).toEqual([150, 150, 150, 150]);
    expect(series(r, 'churned_mrr', '2024-01')).toEqual([0, 0, 0, 0]);
    expect(series(r, 'paying_customers', '2024-01')).toEqual([2, 2, 2, 2]);
    // MRR is an instant value: its change stays (150 → 150); a count summed over a partial month's
    // days has none.
    const mrr = r.metrics.find((m) => m.id === 'mrr')!;
    expect(mrr.change).toBe(0);
    expect(r.metrics.find((m) => m.id === 'tickets')!.change).toBeNull();
    expect(r.anomalies).toEqual([]);
    // On top of every document.
    const md = renderMarkdown(r).markdown;
    expect(md.split('\n\n')[2]).toMatch(/^> \*\*Incomplete month\.\*\* The data ends on 2024-04-15/);
    expect(renderHtml(r)).toMatch(
      /<p class="incomplete" role="alert">\s*<strong>Incomplete month\.<\/strong>\s+The data ends/,
    );
    expect(fiveLineSummary(r)[0]).toMatch(/^Note: The data ends on 2024-04-15/);
    expect(validateReview(JSON.parse(renderJson(r))).errors).toEqual([]);
  });

  it('March, inside the data: complete, and an empty month before it holds real zeros', async () => {
    const e = await store();
    const r = await review(e, '2024-03');
    expect(r.dataCoverage).toMatchObject({ complete: true, status: 'complete', statement: null });
    expect(renderMarkdown(r).markdown).not.toContain('Incomplete month');
    // Before the first data (2023-03 … 2023-12): null; January–March computed.
    expect(series(r, 'active_users').slice(0, 10)).toEqual(Array(10).fill(null));
    // p1 and p2 in January, nobody in February (a real 0), p1 in March.
    expect(series(r, 'active_users', '2024-01')).toEqual([2, 0, 1]);
    expect(series(r, 'new_users', '2024-01')).toEqual([2, 0, 0]);
    // Growth: Jan from a month before the data (null), Feb −100%, Mar from a 0 base (null).
    expect(series(r, 'user_growth_rate', '2024-01')).toEqual([null, -1, null]);
    expect(series(r, 'tickets', '2024-01')).toEqual([2, 0, 1]);
    // NPS with no answers is null, its answer count a real 0.
    expect(series(r, 'nps', '2024-01')).toEqual([100, null, -100]);
    expect(series(r, 'nps_responses', '2024-01')).toEqual([1, 0, 1]);
    // No new customer after January: a real 0; January's growth is from no MRR: null.
    expect(series(r, 'new_mrr', '2024-01')).toEqual([150, 0, 0]);
    expect(series(r, 'mrr_growth', '2024-01')).toEqual([null, 0, 0]);
    // Metered usage invoiced in February; none in the other months of billing's range.
    expect(series(r, 'usage_revenue', '2024-01')).toEqual([0, 7, 0]);
    const active = r.metrics.find((m) => m.id === 'active_users')!;
    expect(active.change).toBeNull(); // from 0 to 1: no relative change from a 0 base
  });

  it('May, after the data ends: outside, every metric n/a — nothing carried forward', async () => {
    const e = await store();
    const r = await review(e, '2024-05');
    expect(r.dataCoverage).toMatchObject({ complete: false, status: 'outside', period: { coveredDays: 0 } });
    expect(r.dataCoverage.statement).toBe(
      'No data for 2024-05: the data ends on 2024-04-15. Metrics after that cannot be computed and are n/a, not carried forward. No anomalies are judged for a month outside the data.',
    );
    for (const m of r.metrics) expect(m.current, m.id).toBeNull();
    expect(series(r, 'mrr', '2024-01')).toEqual([150, 150, 150, 150, null]);
    expect(series(r, 'usage_revenue', '2024-01')).toEqual([0, 7, 0, 0, null]);
  });

  it('2300-01: outside, every value of every metric null, "n/a" in the documents', async () => {
    const e = await store();
    const r = await review(e, '2300-01');
    expect(r.dataCoverage.status).toBe('outside');
    for (const m of r.metrics)
      expect(
        m.series.every((p) => p.value === null),
        m.id,
      ).toBe(true);
    expect(r.anomalies).toEqual([]);
    const md = renderMarkdown(r).markdown;
    expect(md).toContain('> **Outside the data.** No data for 2300-01: the data ends on 2024-04-15.');
    expect(md).toMatch(/\| MRR \| [^\n]*\| n\/a \| n\/a \|$/m);
    expect(renderHtml(r)).toMatch(/<strong>Outside the data\.<\/strong>\s+No data for 2300-01/);
    expect(fiveLineSummary(r)[1]).toBe('Revenue: MRR n/a, n/a paying customers, revenue churn n/a');
  });

  it('a month before the data: outside, and says where the data starts', async () => {
    const e = await store();
    const r = await review(e, '2023-06');
    expect(r.dataCoverage.status).toBe('outside');
    expect(r.dataCoverage.statement).toMatch(/^No data for 2023-06: the data starts on 2024-01-01\./);
    for (const m of r.metrics) expect(m.current, m.id).toBeNull();
  });
});

describe('an unfinished month', () => {
  /**
   * 100 people active and 10 tickets in each of January to June; July so far (the review is
   * generated on `now`): 30 people and, from the 1st, 2 tickets a day for `days` days.
   */
  async function busy(days: number): Promise<DuckDbEngine> {
    const e = await fresh();
    const events: TestEvent[] = [];
    const tickets: string[] = [];
    for (const [i, m] of ['01', '02', '03', '04', '05', '06'].entries()) {
      for (let p = 0; p < 100; p++)
        events.push({
          event: 'pageview',
          person: `p${p}`,
          at: `2024-${m}-${String(1 + (p % 28)).padStart(2, '0')}T09:00:00`,
        });
      for (let t = 0; t < 10; t++) tickets.push(`2024-${m}-${String(2 + t * 2).padStart(2, '0')}T10:00:00Z`);
      void i;
    }
    for (let p = 0; p < 30; p++)
      events.push({
        event: 'pageview',
        person: `p${p}`,
        at: `2024-07-${String(1 + (p % days)).padStart(2, '0')}T09:00:00`,
      });
    for (let d = 1; d <= days; d++)
      for (const h of ['10', '14']) tickets.push(`2024-07-${String(d).padStart(2, '0')}T${h}:00:00Z`);
    await insertEvents(e, events);
    await e.exec(
      sql`INSERT INTO feedback (id, kind, created_at) VALUES ${join(
        tickets.map((t, i) => sql`(${`t${i}`}, 'ticket', CAST(${t} AS TIMESTAMPTZ))`),
      )}`,
    );
    return e;
  }

  it('judges counts pro rata and leaves the rest unjudged (20 of 31 days)', async () => {
    const e = await busy(20);
    const r = await review(e, '2024-07', at('2024-07-20T20:00:00Z'));
    expect(r.dataCoverage).toMatchObject({ status: 'unfinished', period: { days: 31, coveredDays: 20 } });
    expect(r.dataCoverage.statement).toContain('2024-07 is not over: this review covers 20 of its 31 days');
    expect(r.dataCoverage.statement).toContain('judged pro rata over its 20 of 31 days');
    // 40 tickets in 20 days against 10 a month: 10 × 20/31 = 6.45 expected, flagged.
    const tickets = r.anomalies.find((a) => a.metricId === 'tickets');
    expect(tickets).toMatchObject({ direction: 'up', actual: 40 });
    expect(tickets!.expected).toBeCloseTo((10 * 20) / 31, 6);
    expect(tickets!.explanation).toMatch(/judged pro rata over 20 of 31 days$/);
    // 30 active people so far against 100 a month is not news: not judged.
    expect(r.anomalies.map((a) => a.metricId)).toEqual(['tickets']);
    expect(r.metrics.find((m) => m.id === 'active_users')!.change).toBeNull();
    expect(r.highlights.some((h) => h.source === 'metric:active_users')).toBe(false);
  });

  it('judges nothing before 14 days are in', async () => {
    const e = await busy(10);
    const r = await review(e, '2024-07', at('2024-07-10T20:00:00Z'));
    expect(r.dataCoverage.status).toBe('unfinished');
    expect(r.dataCoverage.statement).toContain(
      'No anomalies are judged before 14 days of the month are in (10 so far).',
    );
    expect(r.anomalies).toEqual([]);
  });

  it('a store with no billing: every revenue metric n/a, never $0, in the JSON and the documents', async () => {
    const e = await busy(20);
    const r = await review(e, '2024-06', at('2024-07-20T20:00:00Z'));
    expect(r.dataCoverage.status).toBe('complete');
    for (const m of r.metrics.filter((x) => x.group === 'revenue'))
      expect(
        m.series.every((p) => p.value === null),
        m.id,
      ).toBe(true);
    // The usage it has is real.
    expect(series(r, 'active_users', '2024-06')).toEqual([100]);
    expect(fiveLineSummary(r)[0]).toBe('Revenue: MRR n/a, n/a paying customers, revenue churn n/a');
    const md = renderMarkdown(r).markdown;
    expect(md).toMatch(/\| MRR \| [^\n]*\| n\/a \| n\/a \|$/m);
    expect(md).not.toMatch(/\$0(\.00)?\b/);
  });

  it('the same data once the month is over and covered: judged as a complete month', async () => {
    const e = await busy(20);
    // Data to July 31: the month is complete.
    await insertEvents(e, [{ event: 'pageview', person: 'p0', at: '2024-07-31T12:00:00' }], 'late');
    const r = await review(e, '2024-07', at('2024-08-02T00:00:00Z'));
    expect(r.dataCoverage.status).toBe('complete');
    expect(r.anomalies.map((a) => a.metricId).sort()).toEqual(
      expect.arrayContaining(['active_users', 'tickets']),
    );
  });
});
