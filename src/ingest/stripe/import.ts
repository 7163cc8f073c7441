import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { InputError } from '../../errors.js';
import type { Engine } from '../../store/engine.js';
import { sql } from '../../store/sql.js';
import { readInput, writeRejects } from '../input.js';
import { recordImport } from '../ledger.js';
import type { ImportReport, RejectedRecord } from '../report.js';
import { FieldError } from '../validate.js';
import { storeBillingRows } from './load.js';
import { addStripeObject, emptyBillingRows, type BillingRows, type BillingTable } from './normalize.js';
import { readStripeRecords, type StripeRecord, type UnreadableRecord } from './read.js';

export interface ImportStripeOptions {
  /** Where to write `<file>.<time>.rejects` with the bad records verbatim (none written when absent). */
  rejectsDir?: string;
  /** The time that "in the future" is judged by (default: now). */
  now?: Date;
}

/** The table of each imported top-level type: where its id is looked up for the ledger. */
const TOP_LEVEL_TABLE: Record<string, BillingTable> = {
  customer: 'billing_customers',
  subscription: 'billing_subscriptions',
  invoice: 'billing_invoices',
  event: 'billing_events',
  product: 'billing_products',
  price: 'billing_prices',
  plan: 'billing_prices',
  coupon: 'billing_coupons',
  credit_note: 'billing_credit_notes',
};

/** The ledger's rules for Stripe records that are not stored again (docs/ingest.md, "Stripe"). */
export const STRIPE_RULES = {
  unchanged: 'stripe id, unchanged',
  older: 'stripe id, older than stored',
  repeated: 'stripe id, repeated in the file',
} as const;

/** The files a path names: itself, or a directory's `.json`, `.jsonl`, `.ndjson` (optionally `.gz`) files. */
export function stripeFiles(fileOrDir: string): string[] {
  let st;
  try {
    st = statSync(fileOrDir);
  } catch {
    throw new InputError('no such file or directory', { file: fileOrDir });
  }
  if (!st.isDirectory()) return [fileOrDir];
  return readdirSync(fileOrDir)
    .filter((f) => /\.(json|jsonl|ndjson)(\.gz)?$/i.test(f))
    .sort()
    .map((f) => join(fileOrDir, f));
}

/**
 * Imports Stripe API objects (SPEC §3.2) from one file or every JSON file of a directory, each
 * file as one transaction (see importStripeFile).
 */
export async function importStripe(
  engine: Engine,
  fileOrDir: string,
  opts: ImportStripeOptions = {},
): Promise<ImportReport[]> {
  const reports: ImportReport[] = [];
  for (const file of stripeFiles(fileOrDir)) reports.push(await importStripeFile(engine, file, opts));
  return reports;
}

/**
 * One Stripe file. Every value is validated (validate.ts) before the store sees it: a bad record
 * is rejected with its line and field, and the good ones are stored, with the ledger row, in one
 * transaction. A re-imported object replaces the stored one (ids are Stripe's); one carried by an
 * event never replaces a newer state (`version`).
 */
export async function importStripeFile(
  engine: Engine,
  file: string,
  opts: ImportStripeOptions = {},
): Promise<ImportReport> {
  const input = await readInput(file);
  const { records, rejected } = readStripeRecords(input.bytes);
  if (input.damage) {
    const last = Math.max(0, ...records.map((r) => r.line), ...rejected.map((r) => r.line));
    rejected.push({ line: last + 1, reason: input.damage.reason, text: input.damage.tail });
  }
  return importStripeRecords(engine, records, rejected, { ...opts, file });
}

export interface ImportStripeRecordsOptions extends ImportStripeOptions {
  /** The report's `file`: a path, or what the records came from (`webhook:<event id>`). */
  file: string;
  /** Store each event's `data.object` as the object's state as of the event (the webhook). */
  eventObjects?: boolean;
}

/** Stripe records already read (a file's, or a webhook's event) → the store, in one transaction. */
export async function importStripeRecords(
  engine: Engine,
  records: readonly StripeRecord[],
  unreadable: readonly UnreadableRecord[],
  opts: ImportStripeRecordsOptions,
): Promise<ImportReport> {
  const { file } = opts;
  const now = opts.now ?? new Date();
  const rejected: UnreadableRecord[] = [...unreadable];
  const all = emptyBillingRows();
  const top: Partial<Record<BillingTable, string[]>> = {};
  let good = 0;
  for (const r of records) {
    const one = emptyBillingRows();
    try {
      addStripeObject(one, r.value, file, { now, eventObjects: opts.eventObjects });
    } catch (e) {
      if (!(e instanceof FieldError)) throw e;
      const o = r.value as { object?: unknown; id?: unknown } | null;
      const what = typeof o?.id === 'string' ? `${String(o.object)} ${o.id}: ` : '';
      rejected.push({ line: r.line, field: e.field, reason: what + e.message, text: r.text });
      continue;
    }
    merge(all, one);
    if (Object.keys(one.skipped).length > 0) continue;
    good++;
    const o = r.value as { object: string; id: string };
    const table = TOP_LEVEL_TABLE[o.object];
    if (table) (top[table] ??= []).push(o.id);
  }
  rejected.sort((a, b) => a.line - b.line);
  const report: ImportReport = {
    file,
    kind: 'stripe',
    records: records.length + unreadable.length,
    inserted: 0,
    updated: 0,
    duplicates: 0,
    duplicateRules: {},
    rejected: rejected.map(({ line, reason, field }) => (field ? { line, reason, field } : { line, reason })),
  };
  if (Object.keys(all.skipped).length) report.skipped = all.skipped;
  if (rejected.length && opts.rejectsDir) {
    report.rejectsFile = writeRejects(
      opts.rejectsDir,
      file,
      rejected.map((r) => r.text),
    );
  }
  await storeBillingRows(engine, all, {
    count: top,
    version: now,
    finish: async (o) => {
      const distinct = Object.values(top).reduce((n, ids) => n + new Set(ids).size, 0);
      const rules: Record<string, number> = {
        [STRIPE_RULES.unchanged]: o.unchanged,
        [STRIPE_RULES.older]: o.older,
        [STRIPE_RULES.repeated]: good - distinct,
      };
      report.inserted = o.inserted;
      report.updated = o.updated;
      report.duplicateRules = Object.fromEntries(Object.entries(rules).filter(([, n]) => n > 0));
      report.duplicates = o.unchanged + o.older + good - distinct;
      await recordImport(engine, report);
    },
  });
  const unbilled = await subscriptionsWithoutHistory(
    engine,
    all.rows.billing_subscriptions.map((s) => String(s.id)),
  );
  if (unbilled.length) {
    report.warnings = [
      `no revenue history: ${unbilled.length} subscription${unbilled.length === 1 ? ' has' : 's have'} no invoices ` +
        `or subscription events in the store (e.g. ${unbilled.slice(0, 3).join(', ')}); ` +
        `export invoices too (\`stripe invoices list\`) and import them`,
    ];
  }
  return report;
}

/** Of `ids`, the subscriptions with no invoice, invoice line or subscription state stored. */
async function subscriptionsWithoutHistory(engine: Engine, ids: readonly string[]): Promise<string[]> {
  if (ids.length === 0) return [];
  const rows = await engine.query<{ id: string }>(sql`
    SELECT s.id FROM (SELECT DISTINCT unnest(${[...ids]}) AS id) s
    WHERE s.id NOT IN (SELECT subscription_id FROM billing_invoice_lines WHERE subscription_id IS NOT NULL)
      AND s.id NOT IN (SELECT subscription_id FROM billing_invoices WHERE subscription_id IS NOT NULL)
      AND s.id NOT IN (SELECT subscription_id FROM billing_subscription_states)
    ORDER BY s.id`);
  return rows.map((r) => r.id);
}

function merge(into: BillingRows, from: BillingRows): void {
  for (const [t, rows] of Object.entries(from.rows)) into.rows[t as BillingTable].push(...rows);
  for (const [k, n] of Object.entries(from.counts)) into.counts[k] = (into.counts[k] ?? 0) + n;
  for (const [k, n] of Object.entries(from.skipped)) into.skipped[k] = (into.skipped[k] ?? 0) + n;
}

export type { RejectedRecord };
