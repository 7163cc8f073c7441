/**
 * `POST /webhooks/stripe`: a Stripe event, verified with the `Stripe-Signature` header against the
 * signing secret by the `stripe` package on the RAW body (a bad or stale signature — older than
 * Stripe's default 300 s tolerance — is a 400 and nothing is stored), then stored through the
 * Stripe importer: the event (its subscription states and `invoice.*` invoices), and its
 * `data.object` when that is a customer, product, price, coupon, subscription or credit note.
 */
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import Stripe from 'stripe';
import { InputError } from '../../errors.js';
import { importStripeFile } from '../../ingest/stripe/import.js';
import type { ServerDeps } from '../app.js';

/**
 * `data.object` types stored as objects too. Invoices are not: an `invoice.*` event's invoice is
 * already kept by the event (as a gap-filler that a directly imported invoice always replaces).
 */
const OBJECTS_STORED = new Set([
  'customer',
  'product',
  'price',
  'plan',
  'coupon',
  'subscription',
  'credit_note',
]);

export function webhookRoutes(d: ServerDeps): Hono {
  const app = new Hono();
  // Read before the signature is checked, so bounded: Stripe's events are a few kB to ~100 kB.
  const limit = bodyLimit({
    maxSize: 1024 * 1024,
    onError: (c) => c.json({ error: 'the body is larger than 1 MB' }, 413),
  });
  app.post('/webhooks/stripe', limit, async (c) => {
    if (!d.stripeWebhookSecret) {
      return c.json(
        {
          error: 'no Stripe signing secret configured (server.stripeWebhookSecret or STRIPE_WEBHOOK_SECRET)',
        },
        503,
      );
    }
    const body = Buffer.from(await c.req.arrayBuffer());
    const signature = c.req.header('stripe-signature');
    if (!signature) throw new InputError('missing', { field: 'Stripe-Signature' });
    let event: { id: string; type: string; data: { object: unknown } };
    try {
      event = Stripe.webhooks.constructEvent(body, signature, d.stripeWebhookSecret);
    } catch (e) {
      throw new InputError((e as Error).message, { field: 'Stripe-Signature' });
    }
    const records: unknown[] = [event];
    const object = event.data.object as { object?: unknown } | null;
    if (object && typeof object.object === 'string' && OBJECTS_STORED.has(object.object))
      records.push(object);
    const report = await d.queue.run(async () => {
      const file = join(d.spoolDir, `stripe-${event.id.replace(/[^A-Za-z0-9_-]/g, '_')}.jsonl`);
      await writeFile(file, records.map((r) => JSON.stringify(r)).join('\n') + '\n');
      try {
        return await importStripeFile(d.engine, file);
      } finally {
        await rm(file, { force: true });
      }
    });
    const bad = report.rejected[0];
    if (bad) throw new InputError(bad.reason, { record: event.id, field: bad.field });
    return c.json({ received: true, id: event.id, type: event.type, inserted: report.inserted });
  });
  return app;
}
