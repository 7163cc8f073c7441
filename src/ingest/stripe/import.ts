import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { InputError } from '../../errors.js';
import type { Engine } from '../../store/engine.js';
import { recordImport } from '../ledger.js';
import type { ImportReport, RejectedRecord } from '../report.js';
import { loadBillingRows } from './load.js';
import {
  addStripeObject,
  emptyBillingRows,
  RecordError,
  type BillingRows,
  type BillingTable,
} from './normalize.js';
import { readStripeRecords } from './read.js';

export interface ImportStripeOptions {
  /** Where to write `<file>.rejects` with the bad records verbatim (none written when absent). */
  rejectsDir?: string;
}

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

function readText(file: string): string {
  const bytes = readFileSync(file);
  const data = file.endsWith('.gz') ? gunzipSync(bytes) : bytes;
  return new TextDecoder('utf-8', { fatal: false }).decode(data);
}

/**
 * Imports Stripe API objects (SPEC §3.2) from one file or every JSON file of a directory.
 * Good records are kept; each bad one is reported with its line/record and reason. Idempotent on
 * object ids: a re-imported object replaces the stored one.
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

export async function importStripeFile(
  engine: Engine,
  file: string,
  opts: ImportStripeOptions = {},
): Promise<ImportReport> {
  const { records, rejected, rejectedText } = readStripeRecords(readText(file));
  const unreadable = rejected.length;
  const rejectedLines: string[] = [...rejectedText];
  const all = emptyBillingRows();
  const topIds = new Map<BillingTable, string[]>();
  for (const r of records) {
    const one = emptyBillingRows();
    try {
      addStripeObject(one, r.value, file);
    } catch (e) {
      if (!(e instanceof RecordError)) throw e;
      const o = r.value as { object?: unknown; id?: unknown };
      const record = typeof o?.id === 'string' ? o.id : undefined;
      rejected.push({
        line: r.line,
        reason: `${record ? `${String(o.object)} ${record}: ` : ''}field '${e.field}': ${e.message}`,
        field: e.field,
      });
      rejectedLines.push(r.text);
      continue;
    }
    merge(all, one);
    const type = (r.value as { object: string }).object;
    const table = TOP_LEVEL_TABLE[type];
    const id = (r.value as { id?: unknown }).id;
    if (table && typeof id === 'string') topIds.set(table, [...(topIds.get(table) ?? []), id]);
  }
  rejected.sort((a, b) => a.line - b.line);
  const inserted = await loadBillingRows(
    engine,
    all,
    [...topIds].map(([table, ids]) => ({ table, ids })),
  );
  const good = Object.values(all.counts).reduce((a, b) => a + b, 0);
  const skippedCount = Object.values(all.skipped).reduce((a, b) => a + b, 0);
  const report: ImportReport = {
    file,
    kind: 'stripe',
    records: records.length + unreadable,
    inserted,
    updated: 0,
    duplicates: good - inserted,
    duplicateRules: good - inserted ? { 'stripe id': good - inserted } : {},
    rejected,
  };
  if (skippedCount) report.skipped = all.skipped;
  if (rejected.length && opts.rejectsDir) {
    mkdirSync(opts.rejectsDir, { recursive: true });
    const out = join(opts.rejectsDir, `${basename(file)}.rejects`);
    writeFileSync(out, rejectedLines.join('\n') + (rejectedLines.length ? '\n' : ''));
    report.rejectsFile = out;
  }
  await recordImport(engine, report);
  return report;
}

function merge(into: BillingRows, from: BillingRows): void {
  for (const [t, rows] of Object.entries(from.rows)) into.rows[t as BillingTable].push(...rows);
  for (const [k, n] of Object.entries(from.counts)) into.counts[k] = (into.counts[k] ?? 0) + n;
  for (const [k, n] of Object.entries(from.skipped)) into.skipped[k] = (into.skipped[k] ?? 0) + n;
}

export type { RejectedRecord };
