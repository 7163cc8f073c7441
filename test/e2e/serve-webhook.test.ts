import { readFileSync } from 'node:fs';
import Stripe from 'stripe';
import { afterEach, describe, expect, it } from 'vitest';
import { sql } from '../../src/store/sql.js';
import { startTestServer, WEBHOOK_SECRET, type TestServer } from './serve-harness.js';

const FIXTURES = new URL('../fixtures/real/stripe-fixtures/', import.meta.url);
const fixture = (name: string): Record<string, unknown> =>
  JSON.parse(readFileSync(new URL(name, FIXTURES), 'utf8')) as Record<string, unknown>;

let server: TestServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function post(s: TestServer, payload: string, signature: string | undefined): Promise<Response> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (signature !== undefined) headers['stripe-signature'] = signature;
  return fetch(`${s.url}/webhooks/stripe`, { method: 'POST', headers, body: payload });
}

async function counts(s: TestServer): Promise<{ events: number; customers: number; prices: number }> {
  const [row] = await s.engine.query<{ events: number; customers: number; prices: number }>(
    sql`SELECT (SELECT count(*) FROM billing_events)::INT AS events,
               (SELECT count(*) FROM billing_customers)::INT AS customers,
               (SELECT count(*) FROM billing_prices)::INT AS prices`,
  );
  return row!;
}

describe('Stripe webhook', () => {
  it('stores a signed event and its data.object (the real SDK signs it)', async () => {
    server = await startTestServer();
    await server.listen();
    // Stripe's own fixture customer, delivered as a customer.created event.
    const customer = fixture('customer.json');
    const created = {
      id: 'evt_test_customer_created',
      object: 'event',
      api_version: '2025-03-31.basil',
      created: Math.floor(Date.now() / 1000),
      livemode: false,
      pending_webhooks: 1,
      request: { id: null, idempotency_key: null },
      type: 'customer.created',
      data: { object: customer },
    };
    // Bytes as Stripe sends them (indented JSON): verification runs on the raw body.
    const payload = JSON.stringify(created, null, 2);
    const signature = Stripe.webhooks.generateTestHeaderString({ payload, secret: WEBHOOK_SECRET });
    const res = await post(server, payload, signature);
    expect(res.status, await res.clone().text()).toBe(200);
    // Stripe's fixture event, unchanged: a plan.created whose data.object is a plan (stored as a price).
    const planEvent = readFileSync(new URL('event.json', FIXTURES), 'utf8');
    const res2 = await post(
      server,
      planEvent,
      Stripe.webhooks.generateTestHeaderString({ payload: planEvent, secret: WEBHOOK_SECRET }),
    );
    expect(res2.status, await res2.clone().text()).toBe(200);

    const events = await server.engine.query<{ id: string; type: string }>(
      sql`SELECT id, type FROM billing_events ORDER BY id`,
    );
    expect(events).toEqual([
      { id: 'evt_1Pgc76B7WZ01zgkWwyRHS12y', type: 'plan.created' },
      { id: 'evt_test_customer_created', type: 'customer.created' },
    ]);
    const customers = await server.engine.query<{ id: string }>(sql`SELECT id FROM billing_customers`);
    expect(customers).toEqual([{ id: customer.id }]);
    const prices = await server.engine.query<{ id: string }>(sql`SELECT id FROM billing_prices`);
    expect(prices).toEqual([{ id: 'price_1PgafmB7WZ01zgkW6dKueIc5' }]);
    // A retried delivery stores nothing twice.
    const again = await post(server, payload, signature);
    expect(again.status).toBe(200);
    expect(await counts(server)).toEqual({ events: 2, customers: 1, prices: 1 });
  });

  it('rejects a bad, stale, missing or tampered signature with 400 and stores nothing', async () => {
    server = await startTestServer();
    await server.listen();
    const payload = readFileSync(new URL('event.json', FIXTURES), 'utf8');
    const wrongSecret = Stripe.webhooks.generateTestHeaderString({ payload, secret: 'whsec_other' });
    // Signed correctly but 10 minutes ago: beyond Stripe's 300 s tolerance.
    const stale = Stripe.webhooks.generateTestHeaderString({
      payload,
      secret: WEBHOOK_SECRET,
      timestamp: Math.floor(Date.now() / 1000) - 600,
    });
    const good = Stripe.webhooks.generateTestHeaderString({ payload, secret: WEBHOOK_SECRET });
    const tampered = payload.replace('"plan.created"', '"plan.deleted"');
    for (const [body, sig] of [
      [payload, wrongSecret],
      [payload, stale],
      [payload, undefined],
      [tampered, good],
    ] as const) {
      const res = await post(server, body, sig);
      expect(res.status).toBe(400);
      expect(((await res.json()) as { error: string }).error).toContain('Stripe-Signature');
    }
    expect(await counts(server)).toEqual({ events: 0, customers: 0, prices: 0 });
  });

  it('answers 503 when no signing secret is configured', async () => {
    server = await startTestServer({ stripeWebhookSecret: undefined });
    const res = await server.app.request('/webhooks/stripe', { method: 'POST', body: '{}' });
    expect(res.status).toBe(503);
  });
});
