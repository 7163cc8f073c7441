import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addMonths, lastCompleteMonth } from '../../src/domain/month.js';
import { runSextant, waitFor } from '../helpers/cli.js';
import { startServe, type ServeProcess } from './serve-process.js';

/**
 * `sextant serve` (the built CLI) on a ClickHouse store: `chdb:<dir>`, ClickHouse in-process through
 * the same `@clickhouse/client` code a server gets. The monthly schedule records its runs, and the
 * decision loop its decisions and to-dos, through `Engine.upsert` (a newer version of the row on
 * ClickHouse's ReplacingMergeTrees; before, the schedule's `ON CONFLICT … DO UPDATE` failed to
 * parse there and no run was ever recorded). Everything is written through the HTTP API on
 * loopback and read back, then again after a restart on the same store.
 */

const TOKEN = 'chdb-admin-token';
const ENV = { SEXTANT_ADMIN_TOKEN: TOKEN, SEXTANT_PROJECT_KEY: 'phc_chdb_test', STRIPE_WEBHOOK_SECRET: '' };
const auth = { authorization: `Bearer ${TOKEN}` };
const month = lastCompleteMonth(new Date());
const thisMonth = addMonths(month, 1);
let dir = '';
let db = '';
let configFile = '';

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'sextant-serve-chdb-'));
  db = `chdb:${join(dir, 'store')}`;
  const csv = join(dir, 'subs.csv');
  writeFileSync(
    csv,
    `customer_id,organization,plan,product,currency,amount,interval,interval_count,quantity,start,end,status
k1,org-a,Team,prod_x,usd,1000,month,1,3,2024-01-01,,active
k2,org-b,Pro,prod_x,usd,4000,month,1,1,2024-02-01,,active
`,
  );
  const imported = await runSextant(['--db', db, 'import', 'subscriptions', csv]);
  expect(imported.stderr + imported.stdout).toContain('2 records: 2 new');
  expect(imported.code).toBe(0);
  configFile = join(dir, 'sextant.config.yaml');
  writeFileSync(
    configFile,
    `server:\n  schedule: { enabled: true, day: 1, time: "00:00", products: [all] }\n`,
  );
});

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function serve(): Promise<ServeProcess> {
  const s = await startServe(db, ENV, ['--config', configFile]);
  await waitFor(() => /schedule: (nothing left|next run)/.test(s.stdout()), 'the schedule', 180_000);
  return s;
}

async function call(s: ServeProcess, method: string, path: string, body?: unknown): Promise<Response> {
  return fetch(`${s.url}${path}`, {
    method,
    headers: { ...auth, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

const CAPTURED = [
  { event: 'signed up', distinct_id: 'a', timestamp: '2024-03-01T10:00:00Z' },
  { event: 'signed up', distinct_id: 'b', timestamp: '2024-03-01T11:00:00Z' },
  { event: 'signed up', distinct_id: 'c', timestamp: '2024-03-02T09:00:00Z' },
];
const TRENDS = {
  kind: 'trends',
  events: ['signed up'],
  dateFrom: '2024-03-01',
  dateTo: '2024-03-02',
  interval: 'day',
};
// a and b on the 1st, c on the 2nd.
const SIGNED_UP = {
  series: [
    {
      event: 'signed up',
      points: [
        { date: '2024-03-01', value: 2 },
        { date: '2024-03-02', value: 1 },
      ],
    },
  ],
};

interface ReviewJson {
  product: string;
  month: string;
  metrics: { id: string; current: number | null }[];
  previous: {
    month: string;
    decision: { outcome: string; note: string | null } | null;
    todos: { id: number; title: string; status: string; owner: string | null }[];
  } | null;
}

interface ScheduleJson {
  runs: { month: string; product: string; attempts: number; builtAt: string | null; error: string | null }[];
}

describe('sextant serve on a chdb: store', () => {
  const note = 'Annual plans for <b>org-a</b>; watch mrr';
  let todoId = 0;

  it('builds last month at start; a review, a decision, a to-do and captured events through the API, read back', async () => {
    const s = await serve();
    try {
      expect(s.stdout()).toContain(`sextant serve: schedule: built the all review of ${month}`);
      expect(s.stdout()).not.toContain('check failed');
      // The schedule's ledger: one run, built, on the first attempt.
      const status = (await (await call(s, 'GET', '/api/schedule')).json()) as ScheduleJson;
      expect(status.runs.map((r) => [r.month, r.product, r.attempts, r.error])).toEqual([
        [month, 'all', 1, null],
      ]);
      expect(status.runs[0]!.builtAt).not.toBeNull();
      const built = (await (await call(s, 'GET', `/api/reviews/all/${month}`)).json()) as ReviewJson;
      expect([built.product, built.month]).toEqual(['all', month]);
      expect(built.metrics.map((m) => m.id)).toContain('mrr');

      const decided = await call(s, 'POST', '/api/decisions', {
        product: 'all',
        month,
        outcome: 'continue',
        note,
      });
      expect(decided.status).toBe(201);
      const added = await call(s, 'POST', '/api/todos', {
        product: 'all',
        month,
        title: 'Call org-a about its seats',
        owner: 'Ada',
      });
      expect(added.status).toBe(201);
      todoId = ((await added.json()) as { id: number }).id;
      expect(todoId).toBe(1);
      expect((await call(s, 'POST', `/api/todos/${todoId}/done`)).status).toBe(200);

      // A review built through the API carries the decision and the to-do forward.
      const res = await call(s, 'POST', `/api/reviews/all/${thisMonth}`);
      expect(res.status).toBe(201);
      const review = (await res.json()) as ReviewJson;
      expect(review.month).toBe(thisMonth);
      expect(review.previous?.month).toBe(month);
      expect(review.previous?.decision).toMatchObject({ outcome: 'continue', note });
      expect(review.previous?.todos.map((t) => [t.id, t.title, t.status, t.owner])).toEqual([
        [todoId, 'Call org-a about its seats', 'done', 'Ada'],
      ]);
      const list = (await (await call(s, 'GET', '/api/reviews')).json()) as ReviewJson[];
      expect(list.map((r) => [r.product, r.month])).toEqual([
        ['all', thisMonth],
        ['all', month],
      ]);

      // Captured events (PostHog's /batch/) are loaded into the chdb store on a DuckDB stage of it.
      const captured = await fetch(`${s.url}/batch/`, {
        method: 'POST',
        body: JSON.stringify({ api_key: ENV.SEXTANT_PROJECT_KEY, batch: CAPTURED }),
      });
      expect(captured.status).toBe(200);
      // Acknowledged once in the capture log; the loader fills the store in the background.
      let series: unknown = null;
      for (let i = 0; i < 240 && JSON.stringify(series) !== JSON.stringify(SIGNED_UP); i++) {
        if (i > 0) await new Promise((r) => setTimeout(r, 500));
        series = await (await call(s, 'POST', '/api/query', TRENDS)).json();
      }
      expect(series).toEqual(SIGNED_UP);
      expect(s.stderr()).not.toContain('failed (kept, retried)');
      expect(await s.stop()).toEqual({ code: 0, signal: null });
    } finally {
      await s.kill();
    }
    // The capture log lives beside the chdb folder, not in a folder named `chdb:` here.
    expect(s.stdout()).toContain(`capture log: ${join(dir, 'store.capture-log')} `);
    expect(existsSync('chdb:')).toBe(false);
  }, 300_000);

  it('restarted on the same store: builds nothing again; changed rows replace the stored ones', async () => {
    const s = await serve();
    try {
      expect(s.stdout()).toContain(`sextant serve: schedule: nothing left to do for ${month}`);
      expect(s.stdout()).not.toContain('schedule: built');
      const status = (await (await call(s, 'GET', '/api/schedule')).json()) as ScheduleJson;
      expect(status.runs.map((r) => [r.month, r.attempts])).toEqual([[month, 1]]);

      // Reopened and reassigned, decided again: each a newer version of the same row, read once.
      expect((await call(s, 'POST', `/api/todos/${todoId}/reopen`)).status).toBe(200);
      expect((await call(s, 'POST', `/api/todos/${todoId}/owner`, { owner: 'Grace' })).status).toBe(200);
      const decided = await call(s, 'POST', '/api/decisions', {
        product: 'all',
        month,
        outcome: 'reprioritize',
        note: null,
      });
      expect(decided.status).toBe(201);
      const todos = (await (await call(s, 'GET', '/api/todos?product=all')).json()) as {
        id: number;
        status: string;
        owner: string | null;
      }[];
      expect(todos.map((t) => [t.id, t.status, t.owner])).toEqual([[todoId, 'open', 'Grace']]);
      const rebuilt = (await (await call(s, 'POST', `/api/reviews/all/${thisMonth}`)).json()) as ReviewJson;
      expect(rebuilt.previous?.decision).toMatchObject({ outcome: 'reprioritize', note: null });
      expect(rebuilt.previous?.todos.map((t) => [t.id, t.status, t.owner])).toEqual([
        [todoId, 'open', 'Grace'],
      ]);
      const list = (await (await call(s, 'GET', '/api/reviews')).json()) as ReviewJson[];
      expect(list).toHaveLength(2);
      // The captured events are still there, once each.
      expect(await (await call(s, 'POST', '/api/query', TRENDS)).json()).toEqual(SIGNED_UP);
      expect(await s.stop()).toEqual({ code: 0, signal: null });
    } finally {
      await s.kill();
    }
  }, 300_000);
});
