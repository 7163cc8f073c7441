/**
 * `POST /webhooks/stripe`: a Stripe event, verified with the `Stripe-Signature` header against the
 * signing secret by the `stripe` package on the RAW body (a bad or stale signature — older than
 * Stripe's default 300 s tolerance — is a 400 and nothing is stored), then stored through the
 * Stripe importer: the event (its subscription states and `invoice.*` invoices), and its
 * `data.object` when that is a customer, product, price, coupon, subscription or credit note.
 *
 * Order (docs/ingest.md, "Stripe"): Stripe does not deliver events in order and retries them for
 * days, so each object's state is applied in the order of the events' `created`: an event older
 * than the state stored for its object (`version`) is kept as an event but does not overwrite the
 * object. An event dated more than 5 minutes in the future is a 400.
 */
import { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import Stripe from 'stripe';
import { InputError } from '../../errors.js';
import { importStripeRecords } from '../../ingest/stripe/import.js';
import { CLOCK_SKEW_MS } from '../../ingest/validate.js';
import { withImportStore } from '../../store/staging.js';
import type { ServerDeps } from '../app.js';

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
    let event: { id: string; type: string; created: unknown; data: { object: unknown } };
    try {
      event = Stripe.webhooks.constructEvent(body, signature, d.stripeWebhookSecret);
    } catch (e) {
      throw new InputError((e as Error).message, { field: 'Stripe-Signature' });
    }
    const now = new Date();
    if (typeof event.created === 'number' && event.created * 1000 > now.getTime() + CLOCK_SKEW_MS) {
      throw new InputError(
        `the event is dated in the future (${new Date(event.created * 1000).toISOString()}, more than ${CLOCK_SKEW_MS / 60_000} minutes after this server's clock)`,
        { record: event.id, field: 'created' },
      );
    }
    // Through Engine.loadKeyed on the store itself (store/staging.ts `keyedOnly`).
    const report = await d.queue.run(() =>
      withImportStore(
        d.engine,
        (e) =>
          importStripeRecords(e, [{ line: 1, value: event, text: body }], [], {
            file: `webhook:${event.id}`,
            now,
            eventObjects: true,
          }),
        { without: ['events'], keyedOnly: true },
      ),
    );
    const bad = report.rejected[0];
    if (bad) throw new InputError(bad.reason, { record: event.id, field: bad.field });
    return c.json({
      received: true,
      id: event.id,
      type: event.type,
      inserted: report.inserted,
      duplicate: report.duplicates > 0,
    });
  });
  return app;
}
