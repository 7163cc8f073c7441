/**
 * Builders for small Stripe fixtures used by the revenue tests, typed with the `stripe` package's
 * own types (each fixture is a `Pick` of the real object type, so a field's name and type are
 * Stripe's). The current API shape is what the package types; the older line shape (`line.price`,
 * `line.proration`, `line.type`) is typed here explicitly, as the pre-2025 API returned it.
 * Dates are `YYYY-MM-DD` (UTC midnight).
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type Stripe from 'stripe';

export const ts = (day: string): number => Date.parse(day + 'T00:00:00Z') / 1000;

/** A Stripe webhook event envelope (as Stripe delivers it) around `object`, dated `created` (s). */
export const stripeEvent = (id: string, type: string, created: number, object: Record<string, unknown>) => ({
  id,
  object: 'event',
  api_version: '2025-03-31.basil',
  created,
  livemode: false,
  pending_webhooks: 1,
  request: { id: null, idempotency_key: null },
  type,
  data: { object },
});

export type CustomerFixture = Pick<
  Stripe.Customer,
  'id' | 'object' | 'email' | 'name' | 'metadata' | 'created' | 'currency'
>;
export type PriceFixture = Pick<
  Stripe.Price,
  'id' | 'object' | 'product' | 'nickname' | 'currency' | 'unit_amount' | 'recurring' | 'type'
>;
export type ProductFixture = Pick<Stripe.Product, 'id' | 'object' | 'name'>;
export type CurrentLineFixture = Pick<
  Stripe.InvoiceLineItem,
  | 'id'
  | 'object'
  | 'amount'
  | 'currency'
  | 'description'
  | 'period'
  | 'quantity'
  | 'parent'
  | 'pricing'
  | 'discount_amounts'
  | 'taxes'
>;
/** The pre-2025 line: price and plan expanded on the line, `proration`, `subscription`, `type`. */
export type OldLineFixture = Pick<
  Stripe.InvoiceLineItem,
  'id' | 'object' | 'amount' | 'currency' | 'description' | 'period' | 'quantity'
> & {
  price: PriceFixture;
  proration: boolean;
  subscription: string | null;
  subscription_item: string | null;
  type: 'subscription' | 'invoiceitem';
  discount_amounts: { amount: number; discount: string }[];
};
export type InvoiceFixture = Pick<
  Stripe.Invoice,
  | 'id'
  | 'object'
  | 'customer'
  | 'status'
  | 'currency'
  | 'created'
  | 'period_start'
  | 'period_end'
  | 'status_transitions'
  | 'subtotal'
  | 'total'
  | 'amount_paid'
  | 'billing_reason'
> & {
  lines: { object: 'list'; data: (CurrentLineFixture | OldLineFixture)[]; has_more: false; url: string };
};
export type SubscriptionItemFixture = Pick<
  Stripe.SubscriptionItem,
  'id' | 'object' | 'price' | 'quantity' | 'current_period_start' | 'current_period_end' | 'subscription'
>;
export type SubscriptionFixture = Pick<
  Stripe.Subscription,
  | 'id'
  | 'object'
  | 'customer'
  | 'status'
  | 'currency'
  | 'cancel_at_period_end'
  | 'canceled_at'
  | 'ended_at'
  | 'start_date'
  | 'created'
> & {
  items: { object: 'list'; data: SubscriptionItemFixture[]; has_more: false; url: string };
  discounts: DiscountFixture[];
};
export type CouponFixture = Pick<
  Stripe.Coupon,
  'id' | 'object' | 'percent_off' | 'amount_off' | 'currency' | 'duration' | 'duration_in_months'
>;
/** A discount as the current API returns it: the coupon under `source.coupon` (expanded here). */
export type DiscountFixture = Pick<Stripe.Discount, 'id' | 'object' | 'start' | 'end'> & {
  source: { type: 'coupon'; coupon: CouponFixture };
};
export type EventFixture = Pick<Stripe.Event, 'id' | 'object' | 'type' | 'created'> & {
  data: { object: SubscriptionFixture | InvoiceFixture };
};
export type CreditNoteFixture = Pick<
  Stripe.CreditNote,
  'id' | 'object' | 'invoice' | 'customer' | 'currency' | 'total' | 'amount' | 'created' | 'reason'
>;

export function customer(
  id: string,
  opts: { email?: string; metadata?: Record<string, string> } = {},
): CustomerFixture {
  return {
    id,
    object: 'customer',
    email: opts.email ?? null,
    name: id.toUpperCase(),
    metadata: opts.metadata ?? {},
    created: ts('2023-01-01'),
    currency: 'usd',
  };
}

export function product(id: string, name: string): ProductFixture {
  return { id, object: 'product', name };
}

export function price(
  id: string,
  productId: string,
  unitAmount: number,
  interval: Stripe.Price.Recurring.Interval | null,
  opts: { count?: number; currency?: string; nickname?: string; metered?: boolean } = {},
): PriceFixture {
  return {
    id,
    object: 'price',
    product: productId,
    nickname: opts.nickname ?? null,
    currency: opts.currency ?? 'usd',
    unit_amount: unitAmount,
    type: interval ? 'recurring' : 'one_time',
    recurring: interval
      ? {
          interval,
          interval_count: opts.count ?? 1,
          meter: null,
          usage_type: opts.metered ? 'metered' : 'licensed',
          trial_period_days: null,
        }
      : null,
  };
}

export interface LineSpec {
  id: string;
  amount: number;
  price: PriceFixture;
  start: string;
  end: string;
  quantity?: number;
  proration?: boolean;
  subscription?: string | null;
  discount?: number;
  /** Current shape only: leave the price out of the line (resolved from the subscription item). */
  itemOnly?: string;
  /** Current shape only: tax included in `amount`. */
  inclusiveTax?: number;
}

/** A line in the current API shape (`pricing.price_details`, `parent.subscription_item_details`). */
export function currentLine(s: LineSpec): CurrentLineFixture {
  const subscription = s.subscription === undefined ? 'sub_' + s.id : s.subscription;
  return {
    id: s.id,
    object: 'line_item',
    amount: s.amount,
    currency: s.price.currency,
    description: null,
    period: { start: ts(s.start), end: ts(s.end) },
    quantity: s.quantity ?? 1,
    discount_amounts: s.discount ? [{ amount: s.discount, discount: 'di_' + s.id }] : [],
    taxes: s.inclusiveTax
      ? [
          {
            amount: s.inclusiveTax,
            tax_behavior: 'inclusive',
            tax_rate_details: { tax_rate: 'txr_' + s.id },
            taxability_reason: 'standard_rated',
            taxable_amount: s.amount - s.inclusiveTax,
            type: 'tax_rate_details',
          },
        ]
      : [],
    pricing: s.itemOnly
      ? { type: 'price_details', unit_amount_decimal: null }
      : {
          type: 'price_details',
          price_details: { price: s.price.id, product: s.price.product as string },
          unit_amount_decimal: null,
        },
    parent: subscription
      ? {
          type: 'subscription_item_details',
          invoice_item_details: null,
          subscription_item_details: {
            invoice_item: null,
            proration: s.proration ?? false,
            proration_details: null,
            subscription,
            subscription_item: s.itemOnly ?? 'si_' + s.id,
          },
        }
      : {
          type: 'invoice_item_details',
          subscription_item_details: null,
          invoice_item_details: {
            invoice_item: 'ii_' + s.id,
            proration: s.proration ?? false,
            proration_details: null,
            subscription: null,
          },
        },
  };
}

/** A line in the older API shape (`line.price`, `line.proration`, `line.subscription`, `line.type`). */
export function oldLine(s: LineSpec): OldLineFixture {
  const subscription = s.subscription === undefined ? 'sub_' + s.id : s.subscription;
  return {
    id: s.id,
    object: 'line_item',
    amount: s.amount,
    currency: s.price.currency,
    description: null,
    period: { start: ts(s.start), end: ts(s.end) },
    quantity: s.quantity ?? 1,
    price: s.price,
    proration: s.proration ?? false,
    subscription,
    subscription_item: subscription ? 'si_' + s.id : null,
    type: subscription ? 'subscription' : 'invoiceitem',
    discount_amounts: s.discount ? [{ amount: s.discount, discount: 'di_' + s.id }] : [],
  };
}

export function invoice(
  id: string,
  customerId: string,
  created: string,
  lines: (CurrentLineFixture | OldLineFixture)[],
  opts: { status?: Stripe.Invoice.Status; paidAt?: string; currency?: string } = {},
): InvoiceFixture {
  const status = opts.status ?? 'paid';
  const total = lines.reduce((a, l) => a + l.amount, 0);
  return {
    id,
    object: 'invoice',
    customer: customerId,
    status,
    currency: opts.currency ?? lines[0]?.currency ?? 'usd',
    created: ts(created),
    period_start: ts(created),
    period_end: ts(created),
    status_transitions: {
      finalized_at: ts(created),
      marked_uncollectible_at: status === 'uncollectible' ? ts(created) : null,
      paid_at: status === 'paid' ? ts(opts.paidAt ?? created) : null,
      voided_at: status === 'void' ? ts(created) : null,
    },
    subtotal: total,
    total,
    amount_paid: status === 'paid' ? total : 0,
    billing_reason: 'subscription_cycle',
    lines: { object: 'list', data: lines, has_more: false, url: `/v1/invoices/${id}/lines` },
  };
}

export function subscription(
  id: string,
  customerId: string,
  status: Stripe.Subscription.Status,
  items: { id: string; price: PriceFixture; quantity?: number; periodEnd?: string }[],
  opts: {
    canceledAt?: string;
    endedAt?: string;
    cancelAtPeriodEnd?: boolean;
    start?: string;
    /** A percent-off coupon applied until `until`. */
    percentOff?: { percent: number; until: string };
  } = {},
): SubscriptionFixture {
  return {
    id,
    object: 'subscription',
    customer: customerId,
    status,
    currency: items[0]?.price.currency ?? 'usd',
    cancel_at_period_end: opts.cancelAtPeriodEnd ?? false,
    canceled_at: opts.canceledAt ? ts(opts.canceledAt) : null,
    ended_at: opts.endedAt ? ts(opts.endedAt) : null,
    start_date: ts(opts.start ?? '2024-01-01'),
    created: ts(opts.start ?? '2024-01-01'),
    discounts: opts.percentOff
      ? [
          {
            id: 'di_' + id,
            object: 'discount',
            start: ts(opts.start ?? '2024-01-01'),
            end: ts(opts.percentOff.until),
            source: {
              type: 'coupon',
              coupon: {
                id: 'co_' + id,
                object: 'coupon',
                percent_off: opts.percentOff.percent,
                amount_off: null,
                currency: null,
                duration: 'repeating',
                duration_in_months: 2,
              },
            },
          },
        ]
      : [],
    items: {
      object: 'list',
      has_more: false,
      url: `/v1/subscription_items?subscription=${id}`,
      data: items.map((it) => ({
        id: it.id,
        object: 'subscription_item',
        price: it.price as Stripe.Price,
        quantity: it.quantity ?? 1,
        subscription: id,
        current_period_start: ts(opts.start ?? '2024-01-01'),
        current_period_end: ts(it.periodEnd ?? '2099-01-01'),
      })),
    },
  };
}

export function subscriptionEvent(
  id: string,
  type: 'customer.subscription.created' | 'customer.subscription.updated' | 'customer.subscription.deleted',
  at: string,
  sub: SubscriptionFixture,
): EventFixture {
  return { id, object: 'event', type, created: ts(at), data: { object: sub } };
}

/** Writes objects as JSON Lines into a fresh temp directory; returns the file path. */
export function writeJsonl(name: string, objects: unknown[]): string {
  const dir = mkdtempSync(join(tmpdir(), 'sextant-stripe-'));
  const file = join(dir, name);
  writeFileSync(file, objects.map((o) => JSON.stringify(o)).join('\n') + '\n');
  return file;
}

export function creditNote(
  id: string,
  invoiceId: string,
  customerId: string,
  amount: number,
  created: string,
): CreditNoteFixture {
  return {
    id,
    object: 'credit_note',
    invoice: invoiceId,
    customer: customerId,
    currency: 'usd',
    total: amount,
    amount,
    created: ts(created),
    reason: 'product_unsatisfactory',
  };
}
