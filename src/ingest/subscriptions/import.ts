import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { parse } from 'csv-parse/sync';
import { InputError } from '../../errors.js';
import type { Engine } from '../../store/engine.js';
import { sql } from '../../store/sql.js';
import { loadBillingRows } from '../stripe/load.js';
import { emptyBillingRows, type BillingRow } from '../stripe/normalize.js';
import { recordImport } from '../ledger.js';
import type { ImportReport, RejectedRecord } from '../report.js';

/**
 * The generic subscription CSV (SPEC §3.2), a full alternative to Stripe objects:
 * `customer_id,organization,plan,product,currency,amount,interval,interval_count,quantity,start,end,status`.
 * `amount` is minor units per interval and per unit of `quantity` (a seat price; quantity 1 for a
 * flat plan); `end` is empty while active. One row per (customer, plan, product, start): a
 * re-import replaces it. A customer named here is read only from this source by the revenue engine.
 */
export const SUBSCRIPTION_COLUMNS = [
  'customer_id',
  'organization',
  'plan',
  'product',
  'currency',
  'amount',
  'interval',
  'interval_count',
  'quantity',
  'start',
  'end',
  'status',
] as const;

const INTERVALS = new Set(['day', 'week', 'month', 'year']);

class FieldError extends Error {
  constructor(
    readonly field: string,
    reason: string,
  ) {
    super(reason);
  }
}

function integer(v: string, field: string, fallback?: number): number {
  if (v === '' && fallback !== undefined) return fallback;
  if (!/^-?\d+$/.test(v)) throw new FieldError(field, `expected an integer, got '${v}'`);
  return Number(v);
}

function timestamp(v: string, field: string): Date {
  const iso = /^\d{4}-\d{2}-\d{2}$/.test(v) ? v + 'T00:00:00Z' : v;
  const hasZone = /(Z|[+-]\d{2}:?\d{2})$/.test(iso);
  const d = new Date(hasZone ? iso : iso + 'Z');
  if (v === '' || isNaN(d.getTime()))
    throw new FieldError(field, `expected a date or ISO timestamp, got '${v}'`);
  return d;
}

/** One CSV record → a billing_subscription_rows row; throws FieldError naming the column. */
export function subscriptionRow(r: Record<string, string>, source: string): BillingRow {
  const customer = (r.customer_id ?? '').trim();
  if (!customer) throw new FieldError('customer_id', 'missing');
  const currency = (r.currency ?? '').trim().toUpperCase();
  if (!/^[A-Z]{3}$/.test(currency))
    throw new FieldError('currency', `expected a three-letter code, got '${r.currency ?? ''}'`);
  const interval = (r.interval ?? '').trim().toLowerCase();
  if (!INTERVALS.has(interval))
    throw new FieldError('interval', `expected day, week, month or year, got '${r.interval ?? ''}'`);
  const intervalCount = integer((r.interval_count ?? '').trim(), 'interval_count', 1);
  if (intervalCount < 1) throw new FieldError('interval_count', 'must be at least 1');
  const quantity = integer((r.quantity ?? '').trim(), 'quantity', 1);
  if (quantity < 0) throw new FieldError('quantity', 'must not be negative');
  const amount = integer((r.amount ?? '').trim(), 'amount');
  const start = timestamp((r.start ?? '').trim(), 'start');
  const endText = (r.end ?? '').trim();
  const end = endText === '' ? null : timestamp(endText, 'end');
  if (end && end < start) throw new FieldError('end', 'is before start');
  return {
    customer_id: customer,
    organization: (r.organization ?? '').trim() || null,
    plan: (r.plan ?? '').trim(),
    product: (r.product ?? '').trim(),
    currency,
    amount,
    interval,
    interval_count: intervalCount,
    quantity,
    start_at: start,
    end_at: end,
    status: (r.status ?? '').trim() || null,
    source,
  };
}

export async function importSubscriptions(
  engine: Engine,
  file: string,
  opts: { rejectsDir?: string } = {},
): Promise<ImportReport> {
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch {
    throw new InputError('cannot read the file', { file });
  }
  const text = (file.endsWith('.gz') ? gunzipSync(bytes) : bytes).toString('utf8');
  let records: string[][];
  try {
    records = parse(text, { relax_column_count: true, skip_empty_lines: true, bom: true });
  } catch (e) {
    throw new InputError(`not a CSV file: ${(e as Error).message}`, { file });
  }
  const header = (records[0] ?? []).map((h) => h.trim().toLowerCase());
  const missing = SUBSCRIPTION_COLUMNS.filter((c) => !header.includes(c));
  if (missing.length) {
    throw new InputError(`missing column(s) ${missing.join(', ')} (want ${SUBSCRIPTION_COLUMNS.join(',')})`, {
      file,
      line: 1,
      field: missing[0],
    });
  }
  const rows = emptyBillingRows();
  const rejected: RejectedRecord[] = [];
  const bad: string[] = [];
  records.slice(1).forEach((cells, i) => {
    const line = i + 2;
    const rec = Object.fromEntries(header.map((h, j) => [h, cells[j] ?? '']));
    try {
      rows.rows.billing_subscription_rows.push(subscriptionRow(rec, file));
    } catch (e) {
      if (!(e instanceof FieldError)) throw e;
      rejected.push({ line, field: e.field, reason: `field '${e.field}': ${e.message}` });
      bad.push(cells.join(','));
    }
  });
  const count = async (): Promise<number> =>
    Number(
      (await engine.query<{ n: number }>(sql`SELECT count(*) AS n FROM billing_subscription_rows`))[0]?.n ??
        0,
    );
  const before = await count();
  await loadBillingRows(engine, rows, []);
  const inserted = (await count()) - before;
  const report: ImportReport = {
    file,
    kind: 'subscriptions',
    records: records.length - 1,
    inserted,
    updated: 0,
    duplicates: rows.rows.billing_subscription_rows.length - inserted,
    duplicateRules:
      rows.rows.billing_subscription_rows.length > inserted
        ? { 'customer, plan, product, start': rows.rows.billing_subscription_rows.length - inserted }
        : {},
    rejected,
  };
  if (rejected.length && opts.rejectsDir) {
    mkdirSync(opts.rejectsDir, { recursive: true });
    report.rejectsFile = join(opts.rejectsDir, `${basename(file)}.rejects`);
    writeFileSync(report.rejectsFile, [records[0]?.join(',') ?? '', ...bad].join('\n') + '\n');
  }
  await recordImport(engine, report);
  return report;
}
