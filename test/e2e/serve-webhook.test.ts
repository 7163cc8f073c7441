import { readFileSync } from 'node:fs';
import Stripe from 'stripe';
import { afterEach, describe, expect, it } from 'vitest';
import { sql } from '../../src/store/sql.js';
import { stripeEvent } from '../helpers/stripe-fixtures.js';
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

  it('applies events in the order of their created: an older event replayed after a newer one changes nothing', async () => {
    server = await startTestServer();
    await server.listen();
    const s = server;
    const now = Math.floor(Date.now() / 1000);
    const send = async (event: Record<string, unknown>): Promise<Response> => {
      const payload = JSON.stringify(event);
      return post(s, payload, Stripe.webhooks.generateTestHeaderString({ payload, secret: WEBHOOK_SECRET }));
    };
    // Stripe's fixture subscription, in two states: 1 seat active (older), 5 seats past due (newer).
    const base = fixture('subscription.json');
    const withState = (status: string, quantity: number): Record<string, unknown> => {
      const items = base.items as { data: Record<string, unknown>[] };
      return { ...base, status, items: { ...items, data: items.data.map((it) => ({ ...it, quantity })) } };
    };
    const event = stripeEvent;
    const older = event('evt_older', 'customer.subscription.updated', now - 120, withState('active', 1));
    const newer = event('evt_newer', 'customer.subscription.updated', now - 60, withState('past_due', 5));
    expect((await send(newer)).status).toBe(200);
    // Stripe retries and does not order deliveries: the older event arrives last.
    expect((await send(older)).status).toBe(200);
    const subs = await s.engine.query<{ status: string; items: string }>(
      sql`SELECT status, items FROM billing_subscriptions WHERE id = ${base.id as string}`,
    );
    expect(subs.map((x) => [x.status, (JSON.parse(x.items) as { quantity: number }[])[0]?.quantity])).toEqual(
      [['past_due', 5]],
    );
    // Both events are kept, and both states stay in the subscription's history at their times.
    const states = await s.engine.query<{ state_id: string; status: string; quantity: number }>(
      sql`SELECT state_id, status, quantity FROM billing_subscription_states ORDER BY valid_from`,
    );
    expect(states).toEqual([
      { state_id: 'evt_older', status: 'active', quantity: 1 },
      { state_id: 'evt_newer', status: 'past_due', quantity: 5 },
    ]);
    // A newer event still applies.
    const newest = event('evt_newest', 'customer.subscription.updated', now - 10, withState('active', 7));
    expect((await send(newest)).status).toBe(200);
    const [sub] = await s.engine.query<{ status: string }>(
      sql`SELECT status FROM billing_subscriptions WHERE id = ${base.id as string}`,
    );
    expect(sub?.status).toBe('active');

    // The same for an invoice carried by invoice.* events: paid, then a replayed finalized.
    const invoice = { ...fixture('invoice.json'), status: 'paid' };
    expect((await send(event('evt_paid', 'invoice.paid', now - 30, invoice))).status).toBe(200);
    expect(
      (await send(event('evt_final', 'invoice.finalized', now - 90, { ...invoice, status: 'open' }))).status,
    ).toBe(200);
    const [inv] = await s.engine.query<{ status: string }>(
      sql`SELECT status FROM billing_invoices WHERE id = ${invoice.id as string}`,
    );
    expect(inv?.status).toBe('paid');
  });

  it('rejects an event dated in the future beyond the clock-skew allowance (400 with the reason)', async () => {
    server = await startTestServer();
    await server.listen();
    const at = (created: number) =>
      JSON.stringify({
        id: `evt_at_${created}`,
        object: 'event',
        created,
        type: 'customer.created',
        data: { object: fixture('customer.json') },
      });
    const now = Math.floor(Date.now() / 1000);
    const future = at(now + 3600);
    const res = await post(
      server,
      future,
      Stripe.webhooks.generateTestHeaderString({ payload: future, secret: WEBHOOK_SECRET }),
    );
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: string }).error).toMatch(
      /record evt_at_\d+, field 'created': the event is dated in the future .*more than 5 minutes after this server's clock/,
    );
    expect(await counts(server)).toEqual({ events: 0, customers: 0, prices: 0 });
    // Within the allowance (a clock 2 minutes ahead) it is taken.
    const skewed = at(now + 120);
    const ok = await post(
      server,
      skewed,
      Stripe.webhooks.generateTestHeaderString({ payload: skewed, secret: WEBHOOK_SECRET }),
    );
    expect(ok.status).toBe(200);
  });

  it('answers 503 when no signing secret is configured', async () => {
    server = await startTestServer({ stripeWebhookSecret: undefined });
    const res = await server.app.request('/webhooks/stripe', { method: 'POST', body: '{}' });
    expect(res.status).toBe(503);
  });
});
