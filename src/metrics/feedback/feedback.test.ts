import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { configSchema } from '../../config/schema.js';
import { monthsEndingAt, type Month } from '../../domain/month.js';
import { DuckDbEngine } from '../../store/duckdb/engine.js';
import { join, sql } from '../../store/sql.js';
import { insertEvents, type TestEvent } from '../../../test/helpers/test-events.js';
import { ALL_PRODUCTS, productScope, type MetricValues, type ProductScope } from '../types.js';
import { titleTheme } from './counts.js';
import { computeFeedback } from './index.js';
import { maybeTwin } from '../../../test/helpers/twin.js';

let e: DuckDbEngine;
beforeEach(async () => {
  e = await DuckDbEngine.open(':memory:');
  await e.migrate();
  e = await maybeTwin(e);
});
afterEach(() => e.close());

interface Row {
  id: string;
  kind: string;
  at: string;
  distinctId?: string;
  email?: string;
  organization?: string;
  score?: number;
  title?: string;
  tags?: string[];
  status?: string;
  closedAt?: string;
}

async function insertFeedback(rows: Row[]): Promise<void> {
  await e.exec(sql`INSERT INTO feedback (id, kind, created_at, distinct_id, email, organization, score, title, tags, status, closed_at)
    VALUES ${join(
      rows.map(
        (
          r,
        ) => sql`(${r.id}, ${r.kind}, CAST(${r.at} AS TIMESTAMPTZ), ${r.distinctId ?? null}, ${r.email ?? null},
          ${r.organization ?? null}, ${r.score ?? null}, ${r.title ?? null}, CAST(${r.tags ?? []} AS VARCHAR[]),
          ${r.status ?? null}, CAST(${r.closedAt ?? null} AS TIMESTAMPTZ))`,
      ),
    )}`);
}

const survey = (
  person: string,
  at: string,
  survey: string,
  response: unknown,
  distinctId?: string,
): TestEvent => ({
  event: 'survey sent',
  person,
  distinctId,
  at,
  properties: { $survey_id: survey, $survey_response: response },
});

/**
 * NPS answers (2024, UTC):
 *   survey S1 (0–10): P1 Jan 10 → 3 (as anon-1), P1 Jan 31 23:59:59 → 10 (as p1), P3 Jan 15 → 7,
 *     P4 Jan 20 → "6" (a numeric string), P2 Feb 1 00:00:00 → 9
 *   S2 (a 1–5 rating: 5, 4), S3 (free text), S4 (8 and 11): not NPS surveys, ignored
 *   feedback rows of kind nps: n1 p1 (→ P1) Jan 20 → 0; n2 ext-9 (unknown id) Feb 10 → 6;
 *     n3/n4 email z@x.io Feb 11 → 10, Feb 12 → 8; n5 anonymous Feb 13 → 9
 * Jan: P1's latest is 10 (Jan 31 beats n1's 0 on Jan 20), P3 7, P4 6 → 3 answers: 1 P, 1 passive, 1 D, NPS 0.
 * Feb: P2 9, ext-9 6, z@x.io 8 (latest), n5 9 → 4 answers: 2 P, 1 passive, 1 D, NPS 100·(2−1)/4 = 25.
 */
const SURVEYS: TestEvent[] = [
  survey('P1', '2024-01-10T00:00:00Z', 'S1', 3, 'anon-1'),
  survey('P1', '2024-01-31T23:59:59Z', 'S1', 10, 'p1'),
  survey('P3', '2024-01-15T00:00:00Z', 'S1', 7),
  survey('P4', '2024-01-20T00:00:00Z', 'S1', '6'),
  survey('P2', '2024-02-01T00:00:00Z', 'S1', 9),
  survey('P5', '2024-01-12T00:00:00Z', 'S2', 5),
  survey('P6', '2024-01-13T00:00:00Z', 'S2', 4),
  survey('P7', '2024-01-14T00:00:00Z', 'S3', 'great'),
  survey('P8', '2024-01-14T00:00:00Z', 'S4', 8),
  survey('P9', '2024-01-14T00:00:00Z', 'S4', 11),
];

/**
 * Tickets: t1 A Jan 5 open; t2 A Jan 31 23:59:59 closed Feb 1 00:00; t3 B Feb 10 resolved (no
 * closed_at); t5 B Feb 1 00:00 open; t4 (no org) Mar 31 23:00 closed Apr 2.
 * Requests (Feb): "Please add dark mode", "Dark mode!!", tags [sso, product:replay], "SSO" [sso],
 * "Export to CSV".
 */
const FEEDBACK: Row[] = [
  { id: 'n1', kind: 'nps', at: '2024-01-20T00:00:00Z', distinctId: 'p1', score: 0 },
  { id: 'n2', kind: 'nps', at: '2024-02-10T00:00:00Z', distinctId: 'ext-9', score: 6 },
  { id: 'n3', kind: 'nps', at: '2024-02-11T00:00:00Z', email: 'z@x.io', score: 10 },
  { id: 'n4', kind: 'nps', at: '2024-02-12T00:00:00Z', email: 'z@x.io', score: 8 },
  { id: 'n5', kind: 'nps', at: '2024-02-13T00:00:00Z', score: 9 },
  { id: 't1', kind: 'ticket', at: '2024-01-05T00:00:00Z', organization: 'A', status: 'open' },
  {
    id: 't2',
    kind: 'ticket',
    at: '2024-01-31T23:59:59Z',
    organization: 'A',
    closedAt: '2024-02-01T00:00:00Z',
  },
  { id: 't3', kind: 'ticket', at: '2024-02-10T00:00:00Z', organization: 'B', status: 'resolved' },
  { id: 't5', kind: 'ticket', at: '2024-02-01T00:00:00Z', organization: 'B', status: 'open' },
  { id: 't4', kind: 'ticket', at: '2024-03-31T23:00:00Z', closedAt: '2024-04-02T00:00:00Z' },
  { id: 'r1', kind: 'request', at: '2024-02-03T00:00:00Z', title: 'Please add dark mode' },
  { id: 'r2', kind: 'request', at: '2024-02-04T00:00:00Z', title: 'Dark mode!!' },
  { id: 'r3', kind: 'request', at: '2024-02-05T00:00:00Z', tags: ['sso', 'product:replay'] },
  { id: 'r4', kind: 'request', at: '2024-02-06T00:00:00Z', title: 'SSO', tags: ['sso'] },
  { id: 'r5', kind: 'request', at: '2024-02-07T00:00:00Z', title: 'Export to CSV' },
];

const MONTHS = monthsEndingAt('2024-04', 5); // 2023-12 … 2024-04

const CONFIG = configSchema.parse({
  products: [
    { name: 'replay', events: ['recording_*'] },
    { name: 'billing', events: ['invoice_*'] },
  ],
});

async function seed(): Promise<void> {
  await insertEvents(e, SURVEYS);
  await e.exec(sql`INSERT INTO person_distinct_ids VALUES ('anon-1', 'P1'), ('p1', 'P1')`);
  await insertFeedback(FEEDBACK);
}

async function metrics(
  product: ProductScope = ALL_PRODUCTS,
  months: Month[] = MONTHS,
): Promise<Map<string, MetricValues>> {
  const list = await computeFeedback({ engine: e, config: CONFIG, product, months });
  return new Map(list.map((m) => [m.id, m]));
}

function values(m: Map<string, MetricValues>, id: string, months: Month[] = MONTHS): Array<number | null> {
  const metric = m.get(id);
  if (!metric) throw new Error(`no metric ${id}`);
  return months.map((mo) => metric.values.get(mo) ?? null);
}

describe('NPS', () => {
  it('one latest answer per person per month, from survey events and nps rows', async () => {
    await seed();
    const m = await metrics();
    // Data range Jan…Mar (feedback to Mar 31): Dec and Apr null; Mar has no answers.
    //                                        Dec   Jan  Feb  Mar  Apr
    expect(values(m, 'nps_responses')).toEqual([null, 3, 4, 0, null]);
    expect(values(m, 'nps_promoters')).toEqual([null, 1, 2, 0, null]);
    expect(values(m, 'nps_passives')).toEqual([null, 1, 1, 0, null]);
    expect(values(m, 'nps_detractors')).toEqual([null, 1, 1, 0, null]);
    expect(values(m, 'nps')).toEqual([null, 0, 25, null, null]);
    // Under 10 answers: no interval, said so.
    expect(m.get('nps')?.detail?.get('2024-02')).toMatchObject({ responses: 4, interval: null });
  });

  it('has a 95% interval from 10 answers on', async () => {
    // 5 × 10, 2 × 7, 3 × 0: NPS = 100·(0.5 − 0.3) = 20; SE = 100·√((0.5 + 0.3 − 0.2²)/10) = 100·√0.076
    // = 27.568; ±1.95996·SE = ±54.033 → [−34.03, 74.03].
    const scores = [10, 10, 10, 10, 10, 7, 7, 0, 0, 0];
    await insertFeedback(
      scores.map((s, i) => ({
        id: `a${i}`,
        kind: 'nps',
        at: '2024-04-15T00:00:00Z',
        distinctId: `d${i}`,
        score: s,
      })),
    );
    const m = await metrics();
    expect(values(m, 'nps')).toEqual([null, null, null, null, 20]);
    const interval = m.get('nps')?.detail?.get('2024-04')?.interval as {
      low: number;
      high: number;
      level: number;
    };
    expect(interval.low).toBeCloseTo(-34.03, 2);
    expect(interval.high).toBeCloseTo(74.03, 2);
    expect(interval.level).toBe(0.95);
  });

  it('is null throughout when the store has no NPS answer at all', async () => {
    await insertEvents(e, [survey('P5', '2024-01-12T00:00:00Z', 'S2', 5)]); // a 1–5 survey only
    await insertFeedback([{ id: 't', kind: 'ticket', at: '2024-02-01T00:00:00Z' }]);
    const m = await metrics();
    expect(values(m, 'nps_responses')).toEqual([null, null, null, null, null]);
    expect(values(m, 'tickets')).toEqual([null, 0, 1, null, null]);
  });
});

describe('tickets, requests, interviews', () => {
  it('tickets opened, open at month end, per organization', async () => {
    await seed();
    const m = await metrics();
    // Opened: Jan t1, t2; Feb t3, t5; Mar t4.
    expect(values(m, 'tickets')).toEqual([null, 2, 2, 1, null]);
    expect(m.get('tickets')?.detail?.get('2024-01')).toEqual({ byOrganization: { A: 2 } });
    expect(m.get('tickets')?.detail?.get('2024-03')).toEqual({ byOrganization: { '(none)': 1 } });
    // Open at the end of Jan: t1, t2 (closed exactly at Feb 1 00:00, i.e. after Jan's end) = 2;
    // Feb: t1, t5 (t2 closed, t3 resolved without closed_at) = 2; Mar: t1, t5, t4 = 3.
    expect(values(m, 'tickets_open')).toEqual([null, 2, 2, 3, null]);
  });

  it('feature requests and their themes; interviews never recorded → null', async () => {
    await seed();
    const m = await metrics();
    expect(values(m, 'feature_requests')).toEqual([null, 0, 5, 0, null]);
    // dark mode: r1, r2 (titles); sso: r3, r4 (tags; product: tags are not themes); csv export: r5.
    expect(m.get('feature_requests')?.detail?.get('2024-02')).toEqual({
      themes: [
        { theme: 'dark mode', requests: 2 },
        { theme: 'sso', requests: 2 },
        { theme: 'csv export', requests: 1 },
      ],
    });
    expect(values(m, 'interviews')).toEqual([null, null, null, null, null]);
  });

  it('title themes drop filler words and word order', () => {
    expect(titleTheme('Please add DARK mode!')).toBe('dark mode');
    expect(titleTheme('Mode: dark')).toBe('dark mode');
    expect(titleTheme('Please add')).toBeNull();
  });
});

describe('per product', () => {
  it('untagged feedback counts for every product; product: tags pin a row to their product', async () => {
    await seed();
    const billing = await metrics(productScope(CONFIG, 'billing'));
    const replay = await metrics(productScope(CONFIG, 'replay'));
    // r3 is tagged product:replay: billing sees 4 requests in Feb, replay all 5.
    expect(values(billing, 'feature_requests')).toEqual([null, 0, 4, 0, null]);
    expect(values(replay, 'feature_requests')).toEqual([null, 0, 5, 0, null]);
    // Survey answers and untagged rows count for every product.
    expect(values(billing, 'nps')).toEqual([null, 0, 25, null, null]);
  });
});
