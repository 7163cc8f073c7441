import { createServer, type Server } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { directContext, type AppContext } from '../../src/app/context.js';
import { slackNotifier } from '../../src/app/notify.js';
import { runSchedule, scheduleNotifications, scheduleRuns } from '../../src/app/schedule.js';
import { configSchema } from '../../src/config/schema.js';
import { loadReview } from '../../src/review/store.js';
import type { ClickHouseEngine } from '../../src/store/clickhouse/engine.js';
import { openChdb } from '../../src/store/clickhouse/test-chdb.js';
import { sql } from '../../src/store/sql.js';

/**
 * The monthly schedule's ledger on ClickHouse (chdb in-process): every write is a whole row through
 * `Engine.upsert`, a newer version of the (month, product) or (month, channel) row that the
 * ReplacingMergeTree keeps, so a retried build or summary leaves one row with the latest state
 * (DuckDB's `ON CONFLICT … DO UPDATE` and `UPDATE`, used before, do not run there). The summary is
 * posted to a real HTTP server on loopback standing in for Slack's webhook.
 */

let engine: ClickHouseEngine;
let dir = '';
let receiver: Server;
let webhook = '';
const answers: number[] = [];
let posts = 0;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'sextant-schedule-chdb-'));
  engine = await openChdb();
  // One paying customer (the generic subscription rows an import stores), written as the store's rows.
  await engine.insert('billing_subscription_rows', [
    {
      row_key: 'row-k1',
      customer_id: 'k1',
      organization: 'org-a',
      plan: 'Team',
      product: 'prod_x',
      currency: 'USD',
      amount: 1000,
      interval: 'month',
      interval_count: 1,
      quantity: 3,
      start_at: '2024-01-01T00:00:00Z',
      end_at: null,
      status: 'active',
    },
  ]);
  receiver = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      posts++;
      const status = answers.shift() ?? 200;
      res.statusCode = status;
      res.end(status === 200 ? 'ok' : 'no_service');
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  webhook = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/services/T1/B1/secret`;
});

afterAll(async () => {
  await engine?.close();
  if (receiver) await new Promise<void>((resolve) => receiver.close(() => resolve()));
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const config = configSchema.parse({
  server: { schedule: { enabled: true, day: 3, time: '06:00', products: ['all'] }, notify: { slack: true } },
});
const context = (now: string): AppContext => directContext(engine, config, { now: () => new Date(now) });

describe('the schedule on a chdb: store', () => {
  it('redoes a killed build and retries a refused summary, one ledger row each, latest state', async () => {
    // A run killed while building April's review: started, never finished.
    await engine.upsert(
      'schedule_runs',
      [
        {
          month: '2024-04',
          product: 'all',
          due_at: '2024-05-03T06:00:00Z',
          started_at: '2024-05-03T06:00:00Z',
          attempts: 1,
          built_at: null,
          error: null,
        },
      ],
      ['month', 'product'],
    );
    answers.push(500);
    let o = await runSchedule(context('2024-05-03T06:05:00Z'), { notifiers: [slackNotifier(webhook)] });
    expect(o).toMatchObject({
      due: { month: '2024-04' },
      built: ['all'],
      failed: [],
      sent: [],
      unsent: ['slack'],
    });
    expect(await scheduleRuns(context('2024-05-03T06:05:00Z'), '2024-04')).toEqual([
      {
        month: '2024-04',
        product: 'all',
        dueAt: '2024-05-03T06:00:00.000Z',
        startedAt: '2024-05-03T06:05:00.000Z',
        attempts: 2,
        builtAt: '2024-05-03T06:05:00.000Z',
        error: null,
      },
    ]);
    expect((await loadReview(engine, 'all', '2024-04'))?.generatedAt).toBe('2024-05-03T06:05:00.000Z');
    expect(await scheduleNotifications(context('2024-05-03T06:05:00Z'), '2024-04')).toEqual([
      {
        month: '2024-04',
        channel: 'slack',
        attempts: 1,
        sentAt: null,
        error: 'the webhook answered 500: no_service',
      },
    ]);

    // The next check builds nothing and sends what is missing; the row is replaced, not doubled.
    o = await runSchedule(context('2024-05-03T07:05:00Z'), { notifiers: [slackNotifier(webhook)] });
    expect(o).toMatchObject({ built: [], sent: ['slack'], unsent: [] });
    expect(posts).toBe(2);
    expect(await scheduleNotifications(context('2024-05-03T07:05:00Z'), '2024-04')).toEqual([
      { month: '2024-04', channel: 'slack', attempts: 2, sentAt: '2024-05-03T07:05:00.000Z', error: null },
    ]);
    // One row per key in the table itself, read FINAL (the engine's setting), and nothing else stored.
    const [counts] = await engine.query<{ runs: number; notifications: number }>(sql`
      SELECT (SELECT count(*) FROM schedule_runs) AS runs, (SELECT count(*) FROM schedule_notifications) AS notifications`);
    expect([Number(counts?.runs), Number(counts?.notifications)]).toEqual([1, 1]);

    // Later the same month: nothing again.
    o = await runSchedule(context('2024-05-20T12:00:00Z'), { notifiers: [slackNotifier(webhook)] });
    expect(o).toMatchObject({ built: [], sent: [], unsent: [] });
    expect(posts).toBe(2);
  }, 180_000);
});
