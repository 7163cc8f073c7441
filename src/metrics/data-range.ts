/**
 * What the store's data covers: the first and last instant of each source (docs/metrics.md,
 * "Null or zero"). The review's data coverage states them, and the metric families read them to
 * know which months the data can speak for.
 *
 * - events: the first and last event.
 * - billing: from the first instant revenue history covers (an invoice line's period start, a
 *   subscription state, a CSV row's start: where MRR can start) to the last thing that HAPPENED
 *   in it — an invoice or subscription created, a subscription event, a cancellation or end, a
 *   line's period start, a CSV row's start or end. Not a period's end: an annual invoice issued
 *   in March covers the next March, but says nothing about whether the customer is still there
 *   after the data was exported.
 * - feedback: the first and last item.
 *
 * `last` overall is the data's end: the latest instant any source reaches, taken as the moment
 * the data was exported. Sparse sources (a few invoices a month, a feedback item a week) are not
 * held to it on their own.
 */
import type { Engine } from '../store/engine.js';
import { join, raw, sql, type Sql } from '../store/sql.js';

export interface SourceRange {
  first: Date | null;
  last: Date | null;
}

export interface DataRanges {
  events: SourceRange;
  billing: SourceRange;
  feedback: SourceRange;
  /** The earliest `first` of any source. */
  first: Date | null;
  /** The latest `last` of any source: the data's end. */
  last: Date | null;
}

type Row = Record<string, string | null>;

const date = (v: string | null | undefined): Date | null =>
  v === null || v === undefined ? null : new Date(v);

function extreme(values: (Date | null)[], pick: 'min' | 'max'): Date | null {
  let out: Date | null = null;
  for (const v of values) {
    if (v === null) continue;
    if (out === null || (pick === 'min' ? v < out : v > out)) out = v;
  }
  return out;
}

const BILLING_FIRST: [string, string][] = [
  ['billing_invoice_lines', 'period_start'],
  ['billing_subscription_states', 'valid_from'],
  ['billing_subscription_rows', 'start_at'],
];
const BILLING_LAST: [string, string][] = [
  ['billing_customers', 'created'],
  ['billing_invoices', 'created'],
  ['billing_invoice_lines', 'period_start'],
  ['billing_events', 'created'],
  ['billing_subscriptions', 'created'],
  ['billing_subscriptions', 'canceled_at'],
  ['billing_subscriptions', 'ended_at'],
  ['billing_subscription_states', 'valid_from'],
  ['billing_subscription_rows', 'start_at'],
  ['billing_subscription_rows', 'end_at'],
];

/** Every source's range, in one statement. */
export async function dataRanges(engine: Engine): Promise<DataRanges> {
  const cols: Sql[] = [
    sql`(SELECT min(timestamp) FROM events) AS ev_first`,
    sql`(SELECT max(timestamp) FROM events) AS ev_last`,
    sql`(SELECT min(created_at) FROM feedback) AS fb_first`,
    sql`(SELECT max(created_at) FROM feedback) AS fb_last`,
    ...BILLING_FIRST.map(([t, c], i) => raw(`(SELECT min(${c}) FROM ${t}) AS bf${i}`)),
    ...BILLING_LAST.map(([t, c], i) => raw(`(SELECT max(${c}) FROM ${t}) AS bl${i}`)),
  ];
  const [r = {}] = await engine.query<Row>(sql`SELECT ${join(cols)}`);
  const events = { first: date(r.ev_first), last: date(r.ev_last) };
  const feedback = { first: date(r.fb_first), last: date(r.fb_last) };
  const billing = {
    first: extreme(
      BILLING_FIRST.map((_, i) => date(r[`bf${i}`])),
      'min',
    ),
    last: extreme(
      BILLING_LAST.map((_, i) => date(r[`bl${i}`])),
      'max',
    ),
  };
  // A billing source with an end but no revenue history (only customers, say) still has an end.
  return {
    events,
    billing,
    feedback,
    first: extreme([events.first, billing.first, feedback.first], 'min'),
    last: extreme([events.last, billing.last, feedback.last], 'max'),
  };
}
