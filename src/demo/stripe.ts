/**
 * The demo company's billing as Stripe API objects (SPEC §3.2), typed with the `stripe` package's
 * own types (a `Pick` of the fields we fill, so every field name and value type is checked).
 * Invoices from the first months use the older line shape (`line.price`, `line.proration`,
 * `line.subscription`); later ones the current shape (`pricing.price_details`,
 * `parent.subscription_item_details`), as an account that lived through the API change would.
 */
import type Stripe from 'stripe';
import { COUPON, PRICES, PRODUCTS, TAX_RATES, type PriceDef } from './catalog.js';
import {
  DAY,
  intervalMonths,
  itemsAt,
  periodStarts,
  addMonthsClamped,
  type Org,
  type Sub,
  type World,
} from './company.js';
import { Random } from './random.js';
import { compareText } from '../domain/order.js';

type CurrentLine = Pick<
  Stripe.InvoiceLineItem,
  | 'id'
  | 'object'
  | 'amount'
  | 'currency'
  | 'description'
  | 'discount_amounts'
  | 'discountable'
  | 'invoice'
  | 'livemode'
  | 'metadata'
  | 'parent'
  | 'period'
  | 'quantity'
  | 'subtotal'
  | 'taxes'
> & {
  /** As on the wire: the SDK types `unit_amount_decimal` as its Decimal class; JSON carries a string. */
  pricing: Omit<Stripe.InvoiceLineItem.Pricing, 'unit_amount_decimal'> & { unit_amount_decimal: string };
};
/** The pre-2025 line shape: the price expanded on the line, proration and subscription on the line. */
type LegacyLine = Pick<
  Stripe.InvoiceLineItem,
  | 'id'
  | 'object'
  | 'amount'
  | 'currency'
  | 'description'
  | 'discount_amounts'
  | 'discountable'
  | 'livemode'
  | 'metadata'
  | 'period'
  | 'quantity'
> & {
  price: DemoPrice;
  proration: boolean;
  subscription: string;
  subscription_item: string;
  type: 'subscription';
  tax_amounts: Array<{ amount: number; inclusive: boolean; tax_rate: string; taxable_amount: number }>;
};
export type DemoInvoice = Pick<
  Stripe.Invoice,
  | 'id'
  | 'object'
  | 'amount_due'
  | 'amount_paid'
  | 'amount_remaining'
  | 'billing_reason'
  | 'collection_method'
  | 'created'
  | 'currency'
  | 'customer'
  | 'customer_email'
  | 'discounts'
  | 'livemode'
  | 'metadata'
  | 'number'
  | 'parent'
  | 'period_end'
  | 'period_start'
  | 'status'
  | 'status_transitions'
  | 'subtotal'
  | 'total'
  | 'total_discount_amounts'
  | 'total_taxes'
> & {
  lines: { object: 'list'; data: Array<CurrentLine | LegacyLine>; has_more: boolean; url: string };
  subscription?: string;
  tax?: number;
};
export type DemoPrice = Pick<
  Stripe.Price,
  | 'id'
  | 'object'
  | 'active'
  | 'currency'
  | 'nickname'
  | 'product'
  | 'recurring'
  | 'type'
  | 'unit_amount'
  | 'billing_scheme'
  | 'created'
  | 'livemode'
>;
export type DemoProduct = Pick<Stripe.Product, 'id' | 'object' | 'active' | 'name' | 'created' | 'livemode'>;
export type DemoCoupon = Pick<
  Stripe.Coupon,
  | 'id'
  | 'object'
  | 'percent_off'
  | 'amount_off'
  | 'currency'
  | 'duration'
  | 'duration_in_months'
  | 'name'
  | 'created'
  | 'livemode'
  | 'valid'
>;
export type DemoCustomer = Pick<
  Stripe.Customer,
  'id' | 'object' | 'email' | 'name' | 'currency' | 'metadata' | 'created' | 'livemode' | 'delinquent'
>;
export type DemoSubscriptionItem = Pick<
  Stripe.SubscriptionItem,
  'id' | 'object' | 'quantity' | 'subscription' | 'created' | 'current_period_start' | 'current_period_end'
> & { price: DemoPrice };
export type DemoSubscription = Pick<
  Stripe.Subscription,
  | 'id'
  | 'object'
  | 'customer'
  | 'status'
  | 'created'
  | 'start_date'
  | 'billing_cycle_anchor'
  | 'trial_start'
  | 'trial_end'
  | 'cancel_at_period_end'
  | 'cancel_at'
  | 'canceled_at'
  | 'ended_at'
  | 'currency'
  | 'metadata'
  | 'livemode'
  | 'collection_method'
> & {
  items: { object: 'list'; data: DemoSubscriptionItem[]; has_more: boolean; url: string };
  discounts: string[];
};
export type DemoEvent = Pick<
  Stripe.Event,
  'id' | 'object' | 'api_version' | 'created' | 'livemode' | 'pending_webhooks' | 'type'
> & {
  data: { object: DemoSubscription | DemoInvoice; previous_attributes?: Record<string, unknown> };
};
export type DemoCreditNote = Pick<
  Stripe.CreditNote,
  | 'id'
  | 'object'
  | 'amount'
  | 'currency'
  | 'created'
  | 'customer'
  | 'invoice'
  | 'reason'
  | 'status'
  | 'type'
  | 'livemode'
  | 'memo'
>;

export interface StripeFiles {
  products: DemoProduct[];
  prices: DemoPrice[];
  coupons: DemoCoupon[];
  customers: DemoCustomer[];
  subscriptions: DemoSubscription[];
  invoices: DemoInvoice[];
  events: DemoEvent[];
  creditNotes: DemoCreditNote[];
}

const s = (ms: number): number => Math.floor(ms / 1000);

export function stripePrice(p: PriceDef, created: number): DemoPrice {
  return {
    id: p.id,
    object: 'price',
    active: true,
    billing_scheme: 'per_unit',
    created: s(created),
    currency: p.currency,
    livemode: false,
    nickname: p.nickname,
    product: PRODUCTS[p.product].id,
    recurring: {
      interval: p.interval,
      interval_count: 1,
      meter: null,
      usage_type: 'licensed',
      trial_period_days: null,
    },
    type: 'recurring',
    unit_amount: p.unitAmount,
  };
}

export function buildStripe(world: World): StripeFiles {
  const created = world.start - 30 * DAY;
  const out: StripeFiles = {
    products: Object.values(PRODUCTS).map((p) => ({
      id: p.id,
      object: 'product',
      active: true,
      name: p.name,
      created: s(created),
      livemode: false,
    })),
    prices: PRICES.map((p) => stripePrice(p, created)),
    coupons: [
      {
        id: COUPON.id,
        object: 'coupon',
        percent_off: COUPON.percentOff,
        amount_off: null,
        currency: null,
        duration: 'repeating',
        duration_in_months: COUPON.durationInMonths,
        name: COUPON.name,
        created: s(created),
        livemode: false,
        valid: true,
      },
    ],
    customers: [],
    subscriptions: [],
    invoices: [],
    events: [],
    creditNotes: [],
  };
  // Invoices created before this use the older line shape.
  const cutover = addMonthsClamped(world.start, 4);
  let invoiceNumber = 1;
  let refunded = false;
  for (const org of world.orgs) {
    if (!org.customerId) continue;
    const r = Random.derive(world.seed, 'stripe', org.index);
    const firstSub = org.subs[0];
    out.customers.push({
      id: org.customerId,
      object: 'customer',
      email: `billing@${org.domain}`,
      name: org.name,
      currency: org.currency,
      metadata: org.linkByMetadata ? { group_key: org.key } : {},
      created: s(firstSub?.created ?? org.createdAt),
      livemode: false,
      delinquent: org.subs.some((x) => [...x.unpaid.values()].includes('open')),
    });
    for (const sub of org.subs) {
      if (sub.created >= world.until) continue;
      const snapshot = (at: number): DemoSubscription => subscriptionAt(org, sub, at, world.until);
      out.subscriptions.push(snapshot(world.until));
      out.events.push(event(r, 'customer.subscription.created', sub.created, snapshot(sub.created)));
      for (const c of sub.changes) {
        if (c.at >= world.until) continue;
        const before = itemsAt(sub, c.at - 1)[c.item];
        out.events.push(
          event(r, 'customer.subscription.updated', c.at, snapshot(c.at), {
            items: {
              object: 'list',
              data: [{ id: before?.id, quantity: before?.quantity, price: { id: before?.price.id } }],
            },
          }),
        );
      }
      if (sub.trialEnd !== null && sub.converted && sub.trialEnd < world.until) {
        out.events.push(
          event(r, 'customer.subscription.updated', sub.trialEnd, snapshot(sub.trialEnd), {
            status: 'trialing',
          }),
        );
      }
      if (sub.canceledAt !== null && sub.canceledAt < world.until && sub.converted) {
        out.events.push(
          event(r, 'customer.subscription.updated', sub.canceledAt, snapshot(sub.canceledAt), {
            cancel_at_period_end: false,
          }),
        );
      }
      if (sub.endedAt !== null && sub.endedAt < world.until) {
        out.events.push(event(r, 'customer.subscription.deleted', sub.endedAt, snapshot(sub.endedAt)));
      }
      const invoices = invoicesOf(org, sub, world, r, cutover, () => invoiceNumber++);
      for (const inv of invoices) {
        out.invoices.push(inv);
        if (inv.status === 'uncollectible' || inv.status === 'open') {
          out.events.push(event(r, 'invoice.payment_failed', inv.created * 1000 + 3_600_000, inv));
        }
        // One refund: half of an enterprise invoice three months before the review month.
        if (
          !refunded &&
          org.enterprise &&
          inv.status === 'paid' &&
          inv.total > 0 &&
          inv.created * 1000 >= world.until - 150 * DAY
        ) {
          refunded = true;
          out.creditNotes.push({
            id: `cn_${r.base62(24)}`,
            object: 'credit_note',
            amount: Math.round(inv.total / 2),
            currency: inv.currency,
            created: inv.created + 5 * 86400,
            customer: org.customerId,
            invoice: inv.id,
            reason: 'product_unsatisfactory',
            status: 'issued',
            type: 'post_payment',
            livemode: false,
            memo: 'Partial refund for the reporting outage',
          });
        }
      }
    }
  }
  out.events.sort((a, b) => a.created - b.created || compareText(a.id, b.id));
  return out;
}

function event(
  r: Random,
  type: string,
  at: number,
  object: DemoSubscription | DemoInvoice,
  previous?: Record<string, unknown>,
): DemoEvent {
  return {
    id: `evt_${r.base62(24)}`,
    object: 'event',
    api_version: '2025-03-31.basil',
    created: s(at),
    livemode: false,
    pending_webhooks: 0,
    type: type as Stripe.Event['type'],
    data: previous ? { object, previous_attributes: previous } : { object },
  };
}

function subscriptionAt(org: Org, sub: Sub, at: number, until: number): DemoSubscription {
  const items = itemsAt(sub, at);
  const starts = periodStarts(sub, Math.max(at + 1, sub.paidStart + 1));
  const periodStart =
    sub.trialEnd !== null && at < sub.trialEnd ? sub.created : (starts[starts.length - 1] ?? sub.paidStart);
  const periodEnd =
    sub.trialEnd !== null && at < sub.trialEnd
      ? sub.trialEnd
      : addMonthsClamped(periodStart, intervalMonths(items[0]!.price));
  const ended = sub.endedAt !== null && sub.endedAt <= at;
  const canceled = sub.canceledAt !== null && sub.canceledAt <= at;
  const unpaidOpen = [...sub.unpaid.values()].includes('open') && at >= until;
  const status: Stripe.Subscription.Status = ended
    ? 'canceled'
    : sub.trialEnd !== null && at < sub.trialEnd
      ? 'trialing'
      : unpaidOpen
        ? 'past_due'
        : 'active';
  return {
    id: sub.id,
    object: 'subscription',
    customer: org.customerId ?? '',
    status,
    created: s(sub.created),
    start_date: s(sub.created),
    billing_cycle_anchor: s(sub.paidStart),
    trial_start: sub.trialStart === null ? null : s(sub.trialStart),
    trial_end: sub.trialEnd === null ? null : s(sub.trialEnd),
    cancel_at_period_end: canceled && !ended && sub.converted,
    cancel_at: canceled && sub.endedAt !== null ? s(sub.endedAt) : null,
    canceled_at: canceled ? s(sub.canceledAt ?? at) : null,
    ended_at: ended ? s(sub.endedAt ?? at) : null,
    currency: org.currency,
    metadata: { group_key: org.key },
    livemode: false,
    collection_method: 'charge_automatically',
    discounts: sub.coupon ? [`di_${sub.id.slice(4, 18)}`] : [],
    items: {
      object: 'list',
      has_more: false,
      url: `/v1/subscription_items?subscription=${sub.id}`,
      data: items.map((it) => ({
        id: it.id,
        object: 'subscription_item',
        quantity: it.quantity,
        subscription: sub.id,
        created: s(sub.created),
        current_period_start: s(periodStart),
        current_period_end: s(periodEnd),
        price: stripePrice(it.price, world0(sub)),
      })),
    },
  };
}

function world0(sub: Sub): number {
  return sub.created - 30 * DAY;
}

interface LineSpec {
  item: { id: string; price: PriceDef; quantity: number };
  amount: number;
  start: number;
  end: number;
  proration: boolean;
  description: string;
}

function invoicesOf(
  org: Org,
  sub: Sub,
  world: World,
  r: Random,
  cutover: number,
  nextNumber: () => number,
): DemoInvoice[] {
  const out: DemoInvoice[] = [];
  const taxPercent = org.taxRate ? TAX_RATES[org.taxRate].percent : 0;
  const taxRateId = org.taxRate ? TAX_RATES[org.taxRate].id : null;
  const discountId = `di_${sub.id.slice(4, 18)}`;
  const make = (
    at: number,
    lines: LineSpec[],
    reason: Stripe.Invoice.BillingReason,
    status: 'paid' | 'open' | 'uncollectible',
    couponOn: boolean,
  ): void => {
    const legacy = at < cutover;
    const id = `in_${r.base62(24)}`;
    let subtotal = 0;
    let discountTotal = 0;
    let taxTotal = 0;
    const data = lines.map((l): CurrentLine | LegacyLine => {
      const discount = couponOn && !l.proration ? Math.round((l.amount * COUPON.percentOff) / 100) : 0;
      const tax = taxRateId ? Math.round(((l.amount - discount) * taxPercent) / 100) : 0;
      subtotal += l.amount;
      discountTotal += discount;
      taxTotal += tax;
      const common = {
        id: `il_${r.base62(24)}`,
        object: 'line_item' as const,
        amount: l.amount,
        currency: org.currency,
        description: l.description,
        discount_amounts: discount ? [{ amount: discount, discount: discountId }] : [],
        discountable: !l.proration,
        livemode: false,
        metadata: {},
        period: { start: s(l.start), end: s(l.end) },
        quantity: l.item.quantity,
      };
      if (legacy) {
        return {
          ...common,
          price: stripePrice(l.item.price, world.start - 30 * DAY),
          proration: l.proration,
          subscription: sub.id,
          subscription_item: l.item.id,
          type: 'subscription',
          tax_amounts: taxRateId
            ? [{ amount: tax, inclusive: false, tax_rate: taxRateId, taxable_amount: l.amount - discount }]
            : [],
        };
      }
      return {
        ...common,
        invoice: id,
        parent: {
          type: 'subscription_item_details',
          invoice_item_details: null,
          subscription_item_details: {
            invoice_item: null,
            proration: l.proration,
            proration_details: { credited_items: null },
            subscription: sub.id,
            subscription_item: l.item.id,
          },
        },
        pricing: {
          type: 'price_details',
          price_details: { price: l.item.price.id, product: PRODUCTS[l.item.price.product].id },
          unit_amount_decimal: String(l.item.price.unitAmount),
        },
        subtotal: l.amount,
        taxes: taxRateId
          ? [
              {
                amount: tax,
                tax_behavior: 'exclusive',
                tax_rate_details: { tax_rate: taxRateId },
                taxability_reason: 'standard_rated',
                taxable_amount: l.amount - discount,
                type: 'tax_rate_details',
              },
            ]
          : [],
      };
    });
    const total = subtotal - discountTotal + taxTotal;
    const paid = status === 'paid';
    const inv: DemoInvoice = {
      id,
      object: 'invoice',
      amount_due: total,
      amount_paid: paid ? total : 0,
      amount_remaining: paid ? 0 : total,
      billing_reason: reason,
      collection_method: 'charge_automatically',
      created: s(at),
      currency: org.currency,
      customer: org.customerId,
      customer_email: `billing@${org.domain}`,
      discounts: couponOn ? [discountId] : [],
      livemode: false,
      metadata: {},
      number: `LUMEN-${String(nextNumber()).padStart(6, '0')}`,
      parent: legacy
        ? null
        : {
            type: 'subscription_details',
            quote_details: null,
            subscription_details: { metadata: null, subscription: sub.id },
          },
      period_start: s(lines[0]?.start ?? at),
      period_end: s(lines[0]?.end ?? at),
      status,
      status_transitions: {
        finalized_at: s(at + 3_600_000),
        marked_uncollectible_at: status === 'uncollectible' ? s(at + 21 * DAY) : null,
        paid_at: paid ? s(at + 3_600_000) : null,
        voided_at: null,
      },
      subtotal,
      total,
      total_discount_amounts: discountTotal ? [{ amount: discountTotal, discount: discountId }] : [],
      total_taxes:
        legacy || !taxRateId
          ? []
          : [
              {
                amount: taxTotal,
                tax_behavior: 'exclusive',
                tax_rate_details: { tax_rate: taxRateId },
                taxability_reason: 'standard_rated',
                taxable_amount: subtotal - discountTotal,
                type: 'tax_rate_details',
              },
            ],
      lines: { object: 'list', data, has_more: false, url: `/v1/invoices/${id}/lines` },
      ...(legacy ? { subscription: sub.id, tax: taxTotal } : {}),
    };
    out.push(inv);
  };

  if (sub.trialStart !== null && sub.trialEnd !== null) {
    make(
      sub.trialStart,
      sub.items.map((it) => ({
        item: it,
        amount: 0,
        start: sub.trialStart ?? 0,
        end: sub.trialEnd ?? 0,
        proration: false,
        description: `Trial period for ${planLabel(it.price)}`,
      })),
      'subscription_create',
      'paid',
      false,
    );
  }
  if (!sub.converted) return out;
  const starts = periodStarts(sub, world.until);
  const n = intervalMonths(sub.items[0]!.price);
  starts.forEach((t, k) => {
    const end = addMonthsClamped(sub.paidStart, (k + 1) * n);
    const items = itemsAt(sub, t);
    const lines: LineSpec[] = [];
    // Prorations for changes during the previous period land on this invoice.
    const prev = k > 0 ? starts[k - 1] : undefined;
    if (prev !== undefined) {
      for (const c of sub.changes) {
        if (c.at < prev || c.at >= t) continue;
        const before = itemsAt(sub, c.at - 1)[c.item];
        if (!before) continue;
        const frac = (t - c.at) / (t - prev);
        const unused = Math.round(before.price.unitAmount * before.quantity * frac);
        const remaining = Math.round(c.price.unitAmount * c.quantity * frac);
        lines.push({
          item: before,
          amount: -unused,
          start: c.at,
          end: t,
          proration: true,
          description: `Unused time on ${before.quantity} × ${planLabel(before.price)}`,
        });
        lines.push({
          item: { id: before.id, price: c.price, quantity: c.quantity },
          amount: remaining,
          start: c.at,
          end: t,
          proration: true,
          description: `Remaining time on ${c.quantity} × ${planLabel(c.price)}`,
        });
      }
    }
    for (const it of items) {
      lines.push({
        item: it,
        amount: it.price.unitAmount * it.quantity,
        start: t,
        end,
        proration: false,
        description: `${it.quantity} × ${planLabel(it.price)}`,
      });
    }
    const couponOn = sub.coupon && t < addMonthsClamped(sub.paidStart, COUPON.durationInMonths);
    const reason: Stripe.Invoice.BillingReason =
      k === 0 && sub.trialStart === null ? 'subscription_create' : 'subscription_cycle';
    make(t, lines, reason, sub.unpaid.get(k) ?? 'paid', couponOn);
  });
  return out;
}

function planLabel(p: PriceDef): string {
  return `${p.nickname ?? PRODUCTS[p.product].name} (per ${p.interval})`;
}
