/**
 * The Stripe webhook on a ClickHouse store (chdb, in-process): the route stores through
 * `Engine.loadKeyed` on the store itself, no DuckDB stage (store/staging.ts `keyedOnly`). A signed
 * event over HTTP is stored with its object; Stripe's unordered retries are applied in the order
 * of the events' `created` (an older state delivered last changes nothing, both events kept);
 * a retried delivery stores nothing twice.
 */
import { readFileSync } from 'node:fs';
import Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openChdb } from '../../src/store/clickhouse/test-chdb.js';
import type { Engine } from '../../src/store/engine.js';
import { sql } from '../../src/store/sql.js';
import { stripeEvent } from '../helpers/stripe-fixtures.js';
import { startTestServer, WEBHOOK_SECRET, type TestServer } from './serve-harness.js';

const FIXTURES = new URL('../fixtures/real/stripe-fixtures/', import.meta.url);
const fixture = (name: string): Record<string, unknown> =>
  JSON.parse(readFileSync(new URL(name, FIXTURES), 'utf8')) as Record<string, unknown>;

let chdb: Engine;
let server: TestServer;

beforeAll(async () => {
  chdb = await openChdb();
  // The app's store is chdb (the webhook writes `d.engine`); the harness's own DuckDB file only
  // backs its capture log, which this test does not use.
  server = await startTestServer({ engine: chdb });
  await server.listen();
});

afterAll(async () => {
  await server?.close();
  await chdb?.close();
});

const event = stripeEvent;

async function send(e: Record<string, unknown>): Promise<Response> {
  const payload = JSON.stringify(e, null, 2);
  const signature = Stripe.webhooks.generateTestHeaderString({ payload, secret: WEBHOOK_SECRET });
  return fetch(`${server.url}/webhooks/stripe`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'stripe-signature': signature },
    body: payload,
  });
}

describe('Stripe webhook on a chdb: store', () => {
  it('stores events natively, newer state wins whatever the delivery order, a retry stores nothing twice', async () => {
    const now = Math.floor(Date.now() / 1000);
    const base = fixture('subscription.json');
    const withState = (status: string, quantity: number): Record<string, unknown> => {
      const items = base.items as { data: Record<string, unknown>[] };
      return { ...base, status, items: { ...items, data: items.data.map((it) => ({ ...it, quantity })) } };
    };
    const newer = event('evt_newer', 'customer.subscription.updated', now - 60, withState('past_due', 5));
    const older = event('evt_older', 'customer.subscription.updated', now - 120, withState('active', 1));
    const first = await send(newer);
    expect(first.status, await first.clone().text()).toBe(200);
    // Stripe does not order deliveries: the older event arrives last, then the newer one again.
    expect((await send(older)).status).toBe(200);
    const retry = await send(newer);
    expect(retry.status).toBe(200);
    expect(((await retry.json()) as { duplicate: boolean }).duplicate).toBe(true);

    const subs = await chdb.query<{ status: string; items: string }>(
      sql`SELECT status, items FROM billing_subscriptions WHERE id = ${base.id as string}`,
    );
    expect(subs.map((x) => [x.status, (JSON.parse(x.items) as { quantity: number }[])[0]?.quantity])).toEqual(
      [['past_due', 5]],
    );
    const states = await chdb.query<{ state_id: string; status: string; quantity: number }>(
      sql`SELECT state_id, status, quantity FROM billing_subscription_states ORDER BY valid_from`,
    );
    expect(states).toEqual([
      { state_id: 'evt_older', status: 'active', quantity: 1 },
      { state_id: 'evt_newer', status: 'past_due', quantity: 5 },
    ]);
    const events = await chdb.query<{ id: string }>(sql`SELECT id FROM billing_events ORDER BY id`);
    expect(events).toEqual([{ id: 'evt_newer' }, { id: 'evt_older' }]);
    // One ledger row per delivery, each complete.
    const ledger = await chdb.query<{ source: string; finished: number }>(
      sql`SELECT source, finished_at IS NOT NULL AS finished FROM imports ORDER BY imported_at`,
    );
    expect(ledger.map((r) => [r.source, Boolean(r.finished)])).toEqual([
      ['webhook:evt_newer', true],
      ['webhook:evt_older', true],
      ['webhook:evt_newer', true],
    ]);
  });
});
