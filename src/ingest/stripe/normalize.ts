import type { SqlValue } from '../../store/sql.js';
import {
  check,
  CLOCK_SKEW_MS,
  currencyCode,
  FieldError,
  integer,
  intervalCount,
  minorUnits,
  quantity,
  shown,
  unixSeconds,
} from '../validate.js';

/**
 * Stripe API objects → rows of the billing_* tables (schema: store/duckdb/migrations/001–003).
 * Pure: no SQL. Both invoice-line shapes of SPEC §3.2 are read:
 * - older: `line.price`/`line.plan` (expanded), `line.proration`, `line.subscription`, `line.type`;
 * - current: `line.pricing.price_details.{price,product}`, `line.parent.subscription_item_details
 *   .{proration, subscription, subscription_item}` or `parent.invoice_item_details`.
 * What a line does not carry (interval, unit amount, product) is resolved at query time from
 * billing_prices / billing_subscription_items, so the order of imports does not matter.
 * Every expanded price or plan met anywhere (lines, subscription items) is stored as a price.
 */
export type BillingTable =
  | 'billing_customers'
  | 'billing_products'
  | 'billing_prices'
  | 'billing_coupons'
  | 'billing_subscriptions'
  | 'billing_subscription_items'
  | 'billing_subscription_states'
  | 'billing_invoices'
  | 'billing_invoice_lines'
  | 'billing_credit_notes'
  | 'billing_events'
  | 'billing_subscription_rows';

export type BillingRow = Record<string, SqlValue>;

export interface BillingRows {
  rows: Record<BillingTable, BillingRow[]>;
  /** Top-level records by imported object type. */
  counts: Record<string, number>;
  skipped: Record<string, number>;
}

export const IMPORTED_TYPES = new Set([
  'customer',
  'subscription',
  'invoice',
  'event',
  'product',
  'price',
  'plan',
  'coupon',
  'credit_note',
]);

type Obj = Record<string, unknown>;

/** A bad value in a Stripe object (the validation layer's FieldError, named for this importer). */
export { FieldError as RecordError };

export function emptyBillingRows(): BillingRows {
  return {
    rows: {
      billing_customers: [],
      billing_products: [],
      billing_prices: [],
      billing_coupons: [],
      billing_subscriptions: [],
      billing_subscription_items: [],
      billing_subscription_states: [],
      billing_invoices: [],
      billing_invoice_lines: [],
      billing_credit_notes: [],
      billing_events: [],
      billing_subscription_rows: [],
    },
    counts: {},
    skipped: {},
  };
}

function isObj(v: unknown): v is Obj {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function obj(v: unknown): Obj | null {
  return isObj(v) ? v : null;
}

/** An id from an expanded object or an id-only reference. */
function ref(v: unknown): string | null {
  if (typeof v === 'string') return v;
  if (isObj(v) && typeof v.id === 'string') return v.id;
  return null;
}

function str(o: Obj, key: string): string | null {
  const v = o[key];
  if (v === undefined || v === null) return null;
  if (typeof v !== 'string') throw new FieldError(key, `expected a string, got ${shown(v)}`);
  return v;
}

/** A value checked by a schema of the validation layer; null when absent. */
function valid<T>(o: Obj, key: string, schema: Parameters<typeof check<T>>[0]): T | null {
  const v = o[key];
  return v === undefined || v === null ? null : check(schema, v, key);
}

/** An amount in minor units. */
const amount = (o: Obj, key: string): number | null => valid(o, key, minorUnits);
const count = (o: Obj, key: string): number | null => valid(o, key, quantity);
const every = (o: Obj, key: string): number | null => valid(o, key, intervalCount);
const months = (o: Obj, key: string): number | null => valid(o, key, integer(0, 1200, 'a number of months'));

const percent = (o: Obj, key: string): number | null => {
  const v = o[key];
  if (v === undefined || v === null) return null;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0 || v > 100) {
    throw new FieldError(key, `expected a percentage 0 to 100, got ${shown(v)}`);
  }
  return v;
};

function bool(o: Obj, key: string): boolean | null {
  const v = o[key];
  if (v === undefined || v === null) return null;
  if (typeof v !== 'boolean') throw new FieldError(key, `expected true or false, got ${shown(v)}`);
  return v;
}

/** Unix seconds → Date, a time from 1970 to 2099. */
const time = (o: Obj, key: string): Date | null => valid(o, key, unixSeconds);

function required(o: Obj, key: string): string {
  const v = str(o, key);
  if (v === null || v === '') throw new FieldError(key, 'missing');
  return v;
}

function json(v: unknown): string | null {
  return v === undefined || v === null ? null : JSON.stringify(v);
}

function currency(o: Obj): string | null {
  return valid(o, 'currency', currencyCode);
}

/** Runs `fn`; a bad value inside it is named under `prefix` (`items.price.currency`). */
function within<T>(prefix: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof FieldError) throw new FieldError(`${prefix}.${e.field}`, e.message);
    throw e;
  }
}

function sumAmounts(list: unknown, filter: (x: Obj) => boolean = () => true): number {
  if (!Array.isArray(list)) return 0;
  let total = 0;
  for (const x of list) if (isObj(x) && filter(x)) total += amount(x, 'amount') ?? 0;
  return total;
}

function dataOf(list: unknown): unknown[] {
  if (Array.isArray(list)) return list;
  const o = obj(list);
  return o && Array.isArray(o.data) ? o.data : [];
}

/** A price or a (legacy) plan object → billing_prices row. */
function priceRow(p: Obj): BillingRow {
  const recurring = obj(p.recurring);
  const isPlan = p.object === 'plan';
  return {
    id: required(p, 'id'),
    product: ref(p.product),
    nickname: str(p, 'nickname'),
    currency: currency(p),
    unit_amount: isPlan ? amount(p, 'amount') : amount(p, 'unit_amount'),
    interval: recurring ? str(recurring, 'interval') : isPlan ? str(p, 'interval') : null,
    interval_count: recurring
      ? within('recurring', () => every(recurring, 'interval_count'))
      : isPlan
        ? every(p, 'interval_count')
        : null,
    usage_type: recurring ? str(recurring, 'usage_type') : isPlan ? str(p, 'usage_type') : null,
    raw: json(p),
  };
}

function addPrice(out: BillingRows, p: unknown): void {
  const o = obj(p);
  if (o && typeof o.id === 'string' && (o.object === 'price' || o.object === 'plan')) {
    out.rows.billing_prices.push(priceRow(o));
    const product = obj(o.product);
    if (product && typeof product.id === 'string') addProduct(out, product);
  }
}

function addProduct(out: BillingRows, p: Obj): void {
  out.rows.billing_products.push({ id: required(p, 'id'), name: str(p, 'name'), raw: json(p) });
}

function addCustomer(out: BillingRows, c: Obj, source: string): void {
  out.rows.billing_customers.push({
    id: required(c, 'id'),
    email: str(c, 'email'),
    name: str(c, 'name'),
    currency: currency(c),
    metadata: json(c.metadata ?? {}),
    organization: null,
    created: time(c, 'created'),
    deleted: bool(c, 'deleted') ?? false,
    source,
    raw: json(c),
  });
  for (const s of dataOf(c.subscriptions)) {
    const so = obj(s);
    if (so && so.object === 'subscription') within('subscriptions', () => addSubscription(out, so, source));
  }
}

interface ItemInfo {
  id: string;
  price: Obj | null;
  priceId: string | null;
  quantity: number | null;
  currentPeriodEnd: Date | null;
}

function subscriptionItems(s: Obj): ItemInfo[] {
  const items: ItemInfo[] = [];
  for (const it of dataOf(s.items)) {
    const o = obj(it);
    if (!o) continue;
    const price = obj(o.price) ?? obj(o.plan);
    items.push(
      within('items', () => ({
        id: required(o, 'id'),
        price,
        priceId: ref(o.price) ?? ref(o.plan),
        quantity: count(o, 'quantity'),
        currentPeriodEnd: time(o, 'current_period_end') ?? time(s, 'current_period_end'),
      })),
    );
  }
  return items;
}

function addSubscription(out: BillingRows, s: Obj, source: string): ItemInfo[] {
  const id = required(s, 'id');
  const customer = ref(s.customer);
  if (!customer) throw new FieldError('customer', 'missing');
  const items = subscriptionItems(s);
  for (const it of items) {
    const price = it.price;
    if (price) within(`items.${price.object === 'plan' ? 'plan' : 'price'}`, () => addPrice(out, price));
    out.rows.billing_subscription_items.push({
      id: it.id,
      subscription_id: id,
      price_id: it.priceId,
      quantity: it.quantity,
      source,
    });
  }
  out.rows.billing_subscriptions.push({
    id,
    customer_id: customer,
    status: str(s, 'status'),
    created: time(s, 'created'),
    start_date: time(s, 'start_date'),
    trial_start: time(s, 'trial_start'),
    trial_end: time(s, 'trial_end'),
    cancel_at_period_end: bool(s, 'cancel_at_period_end'),
    canceled_at: time(s, 'canceled_at'),
    ended_at: time(s, 'ended_at'),
    currency: currency(s),
    items: JSON.stringify(
      items.map((it) => ({
        id: it.id,
        price: it.priceId,
        product: it.price ? ref(it.price.product) : null,
        quantity: it.quantity,
      })),
    ),
    discount: json(s.discount ?? (Array.isArray(s.discounts) && s.discounts.length ? s.discounts : null)),
    metadata: json(s.metadata ?? {}),
    source,
    raw: json(s),
  });
  return items;
}

/** A subscription snapshot from a `customer.subscription.*` event → state rows (one per item). */
function addSubscriptionState(
  out: BillingRows,
  s: Obj,
  eventId: string,
  at: Date,
  deleted: boolean,
  source: string,
): void {
  const subscriptionId = required(s, 'id');
  const items = subscriptionItems(s);
  const discount = obj(s.discount) ?? (Array.isArray(s.discounts) ? obj(s.discounts[0]) : null);
  const coupon = discount ? (obj(discount.coupon) ?? obj(obj(obj(discount.source)?.coupon))) : null;
  for (const it of items) {
    const p = it.price;
    if (p) within(`items.${p.object === 'plan' ? 'plan' : 'price'}`, () => addPrice(out, p));
    const recurring = p ? obj(p.recurring) : null;
    const isPlan = p?.object === 'plan';
    out.rows.billing_subscription_states.push({
      state_id: eventId,
      subscription_id: subscriptionId,
      customer_id: ref(s.customer),
      valid_from: at,
      status: deleted ? 'canceled' : str(s, 'status'),
      currency: currency(s),
      item_id: it.id,
      price_id: it.priceId,
      product: p ? ref(p.product) : null,
      quantity: it.quantity,
      unit_amount: p ? (isPlan ? amount(p, 'amount') : amount(p, 'unit_amount')) : null,
      interval: recurring ? str(recurring, 'interval') : isPlan && p ? str(p, 'interval') : null,
      interval_count: recurring
        ? every(recurring, 'interval_count')
        : isPlan && p
          ? every(p, 'interval_count')
          : null,
      usage_type: recurring ? str(recurring, 'usage_type') : isPlan && p ? str(p, 'usage_type') : null,
      percent_off: coupon ? percent(coupon, 'percent_off') : null,
      amount_off: coupon ? amount(coupon, 'amount_off') : null,
      discount_end: discount ? time(discount, 'end') : null,
      cancel_at_period_end: bool(s, 'cancel_at_period_end'),
      current_period_end: it.currentPeriodEnd,
      canceled_at: time(s, 'canceled_at'),
      ended_at: time(s, 'ended_at') ?? (deleted ? at : null),
      source,
    });
  }
}

function lineRow(out: BillingRows, inv: Obj, invoiceId: string, l: Obj, source: string): BillingRow {
  const parent = obj(l.parent);
  const subDetails = parent ? obj(parent.subscription_item_details) : null;
  const itemDetails = parent ? obj(parent.invoice_item_details) : null;
  // The fixture files carry both detail objects; `parent.type` says which one applies.
  const details =
    parent?.type === 'invoice_item_details' ? (itemDetails ?? subDetails) : (subDetails ?? itemDetails);
  const priceDetails = obj(obj(l.pricing)?.price_details);
  const priceObj = obj(l.price) ?? obj(l.plan) ?? (priceDetails ? obj(priceDetails.price) : null);
  if (priceObj) addPrice(out, priceObj);
  const recurring = priceObj ? obj(priceObj.recurring) : null;
  const isPlan = priceObj?.object === 'plan';
  const inclusiveOld = sumAmounts(l.tax_amounts, (x) => x.inclusive === true);
  const inclusiveNew = sumAmounts(l.taxes, (x) => x.tax_behavior === 'inclusive');
  const lineAmount = amount(l, 'amount');
  if (lineAmount === null) throw new FieldError('amount', 'missing');
  const period = obj(l.period);
  const lineType =
    str(l, 'type') ??
    (parent?.type === 'subscription_item_details'
      ? 'subscription'
      : parent?.type === 'invoice_item_details'
        ? 'invoiceitem'
        : null);
  const invoiceSubscription =
    ref(inv.subscription) ?? ref(obj(obj(inv.parent)?.subscription_details)?.subscription);
  return {
    id: required(l, 'id'),
    invoice_id: invoiceId,
    customer_id: ref(inv.customer),
    subscription_id:
      ref(l.subscription) ??
      (details ? ref(details.subscription) : null) ??
      (lineType === 'subscription' ? invoiceSubscription : null),
    subscription_item_id: ref(l.subscription_item) ?? (subDetails ? ref(subDetails.subscription_item) : null),
    product: priceObj ? ref(priceObj.product) : priceDetails ? ref(priceDetails.product) : null,
    price_id: ref(l.price) ?? ref(l.plan) ?? (priceDetails ? ref(priceDetails.price) : null),
    plan: priceObj ? str(priceObj, 'nickname') : null,
    currency: currency(l) ?? currency(inv),
    amount: lineAmount - inclusiveOld - inclusiveNew,
    discount_amount: sumAmounts(l.discount_amounts),
    tax_amount: sumAmounts(l.tax_amounts) + sumAmounts(l.taxes),
    period_start: period ? time(period, 'start') : null,
    period_end: period ? time(period, 'end') : null,
    interval: recurring ? str(recurring, 'interval') : isPlan && priceObj ? str(priceObj, 'interval') : null,
    interval_count: recurring
      ? every(recurring, 'interval_count')
      : isPlan && priceObj
        ? every(priceObj, 'interval_count')
        : null,
    quantity: count(l, 'quantity'),
    proration: bool(l, 'proration') ?? (details ? bool(details, 'proration') : null) ?? false,
    usage_type: recurring
      ? str(recurring, 'usage_type')
      : isPlan && priceObj
        ? str(priceObj, 'usage_type')
        : null,
    line_type: lineType,
    invoice_status: str(inv, 'status'),
    description: str(l, 'description'),
    source,
  };
}

function addInvoice(out: BillingRows, inv: Obj, source: string): void {
  const id = required(inv, 'id');
  const transitions = obj(inv.status_transitions);
  const lines = obj(inv.lines);
  out.rows.billing_invoices.push({
    id,
    customer_id: ref(inv.customer),
    subscription_id: ref(inv.subscription) ?? ref(obj(obj(inv.parent)?.subscription_details)?.subscription),
    status: str(inv, 'status'),
    currency: currency(inv),
    created: time(inv, 'created'),
    period_start: time(inv, 'period_start'),
    period_end: time(inv, 'period_end'),
    paid_at: transitions ? time(transitions, 'paid_at') : null,
    subtotal: amount(inv, 'subtotal'),
    tax: amount(inv, 'tax') ?? (Array.isArray(inv.total_taxes) ? sumAmounts(inv.total_taxes) : null),
    total: amount(inv, 'total'),
    amount_paid: amount(inv, 'amount_paid'),
    billing_reason: str(inv, 'billing_reason'),
    source,
    raw: json({ ...inv, lines: lines ? { ...lines, data: undefined } : undefined }),
  });
  for (const l of dataOf(inv.lines)) {
    const lo = obj(l);
    if (!lo) throw new FieldError('lines.data', 'a line is not an object');
    out.rows.billing_invoice_lines.push(within('lines', () => lineRow(out, inv, id, lo, source)));
  }
}

/** What an import knows beyond the object itself. */
export interface NormalizeOptions {
  /** The time to judge "in the future" by (default: now). */
  now?: Date;
  /**
   * Also store an event's `data.object` as the object's state as of the event (the webhook does:
   * its events are the live feed of objects' changes), for the types in EVENT_OBJECTS.
   */
  eventObjects?: boolean;
}

/** `data.object` types stored as objects when `eventObjects` is set. */
export const EVENT_OBJECTS = new Set([
  'customer',
  'product',
  'price',
  'plan',
  'coupon',
  'subscription',
  'credit_note',
]);

/** Rows added by `fn`, each dated `version` (the loader keeps a newer stored state). */
function stamped(out: BillingRows, version: Date, fn: (into: BillingRows) => void): void {
  const into = emptyBillingRows();
  fn(into);
  for (const [t, rows] of Object.entries(into.rows)) {
    out.rows[t as BillingTable].push(...rows.map((r) => ({ ...r, version })));
  }
}

function addEvent(out: BillingRows, e: Obj, source: string, opts: NormalizeOptions): void {
  const id = required(e, 'id');
  const type = required(e, 'type');
  const created = time(e, 'created');
  if (!created) throw new FieldError('created', 'missing');
  const now = (opts.now ?? new Date()).getTime();
  if (created.getTime() > now + CLOCK_SKEW_MS) {
    throw new FieldError(
      'created',
      `dated in the future: ${created.toISOString()} is more than ${CLOCK_SKEW_MS / 60_000} minutes after now`,
    );
  }
  const data = obj(e.data);
  const o = data ? obj(data.object) : null;
  out.rows.billing_events.push({
    id,
    type,
    created,
    object_id: o ? ref(o) : null,
    object: json(o),
    previous_attributes: json(data?.previous_attributes),
    source,
  });
  if (!o) return;
  within('data.object', () => {
    if (o.object === 'subscription' && type.startsWith('customer.subscription.')) {
      addSubscriptionState(out, o, id, created, type === 'customer.subscription.deleted', source);
    }
    // An invoice carried by an `invoice.*` event fills the history where the invoice itself was
    // not imported; the loader never lets it replace an invoice imported directly, nor a state
    // of a later event.
    if (o.object === 'invoice' && type.startsWith('invoice.') && typeof o.id === 'string') {
      stamped(out, created, (into) => addInvoice(into, o, `event:${id}`));
    }
    if (opts.eventObjects && typeof o.object === 'string' && EVENT_OBJECTS.has(o.object)) {
      stamped(out, created, (into) => {
        addStripeObject(into, o, `event:${id}`);
        if (type === 'customer.deleted') for (const c of into.rows.billing_customers) c.deleted = true;
      });
    }
  });
}

/** Adds one top-level Stripe object to `out`; throws RecordError naming the field at fault. */
export function addStripeObject(
  out: BillingRows,
  value: unknown,
  source: string,
  opts: NormalizeOptions = {},
): void {
  const o = obj(value);
  if (!o) throw new FieldError('object', 'not a JSON object');
  const type = o.object;
  if (typeof type !== 'string') throw new FieldError('object', 'missing the Stripe `object` type');
  if (!IMPORTED_TYPES.has(type)) {
    out.skipped[type] = (out.skipped[type] ?? 0) + 1;
    return;
  }
  switch (type) {
    case 'customer':
      addCustomer(out, o, source);
      break;
    case 'subscription':
      addSubscription(out, o, source);
      break;
    case 'invoice':
      addInvoice(out, o, source);
      break;
    case 'event':
      addEvent(out, o, source, opts);
      break;
    case 'product':
      addProduct(out, o);
      break;
    case 'price':
    case 'plan':
      addPrice(out, o);
      break;
    case 'coupon':
      out.rows.billing_coupons.push({
        id: required(o, 'id'),
        percent_off: percent(o, 'percent_off'),
        amount_off: amount(o, 'amount_off'),
        currency: currency(o),
        duration: str(o, 'duration'),
        duration_in_months: months(o, 'duration_in_months'),
        raw: json(o),
      });
      break;
    case 'credit_note':
      out.rows.billing_credit_notes.push({
        id: required(o, 'id'),
        invoice_id: ref(o.invoice),
        customer_id: ref(o.customer),
        currency: currency(o),
        amount: amount(o, 'total') ?? amount(o, 'amount'),
        created: time(o, 'created'),
        reason: str(o, 'reason'),
        raw: json(o),
      });
      break;
  }
  out.counts[type] = (out.counts[type] ?? 0) + 1;
}
