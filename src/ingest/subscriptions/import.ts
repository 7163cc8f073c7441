import { z } from 'zod';
import { InputError } from '../../errors.js';
import type { Engine } from '../../store/engine.js';
import { readCsv, type CsvRejected } from '../csv.js';
import { readInput, writeRejects } from '../input.js';
import { recordImport } from '../ledger.js';
import type { ImportReport } from '../report.js';
import { storeBillingRows } from '../stripe/load.js';
import { emptyBillingRows, type BillingRow } from '../stripe/normalize.js';
import {
  currencyCode,
  dateText,
  fieldErrorOf,
  ISO_DATES,
  integerText,
  MAX_AMOUNT,
  MAX_INTERVAL_COUNT,
  MAX_QUANTITY,
  shown,
  type DateFormat,
} from '../validate.js';

/**
 * The generic subscription CSV (SPEC §3.2), a full alternative to Stripe objects:
 * `customer_id,organization,plan,product,currency,amount,interval,interval_count,quantity,start,end,status`
 * and an optional `id`. `amount` is minor units per interval and per unit of `quantity` (a seat
 * price; quantity 1 for a flat plan); `end` is empty while active. A customer named here is read
 * only from this source by the revenue engine.
 *
 * Every row is a subscription of its own (docs/ingest.md, "Subscription CSV"): its key is its
 * `id` when it has one, else its customer, plan, product and start together with its occurrence
 * among the file's rows sharing those four, so two subscriptions of one customer on the same plan
 * and day are two rows, and re-importing a file stores nothing twice.
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

/** The ledger's rules for subscription rows not stored again. */
export const SUBSCRIPTION_RULES = {
  unchanged: 'subscription key, unchanged',
  repeated: 'id repeated in the file (the last row wins)',
} as const;

const INTERVALS = ['day', 'week', 'month', 'year'] as const;

/** A cell whose blank means `fallback`, else checked by `schema`. */
function blankOr<T>(fallback: T, schema: z.ZodType<T>): z.ZodType<T> {
  return z.string().transform((s, ctx) => {
    if (s.trim() === '') return fallback;
    const r = schema.safeParse(s);
    if (r.success) return r.data;
    for (const issue of r.error.issues) ctx.addIssue({ code: 'custom', message: issue.message });
    return z.NEVER;
  });
}

const optionalText = z.string().transform((s) => s.trim() || null);

/** The schema of one row (cells by column name), with dates written in `dates`. */
export function subscriptionRowSchema(dates: DateFormat = ISO_DATES) {
  return z
    .object({
      id: z
        .string()
        .optional()
        .transform((s) => s?.trim() || null),
      customer_id: z.string().trim().min(1, 'missing'),
      organization: optionalText,
      plan: z.string().trim(),
      product: z.string().trim(),
      currency: currencyCode,
      amount: integerText(-MAX_AMOUNT, MAX_AMOUNT, 'an amount in minor units'),
      interval: z
        .string()
        .trim()
        .toLowerCase()
        .pipe(
          z.enum(INTERVALS, { error: (i) => `expected day, week, month or year, got ${shown(i.input)}` }),
        ),
      interval_count: blankOr(1, integerText(1, MAX_INTERVAL_COUNT, 'an interval count')),
      quantity: blankOr(1, integerText(0, MAX_QUANTITY, 'a quantity')),
      start: blankOr<Date | null>(null, dateText(dates)).refine((d) => d !== null, 'missing'),
      end: blankOr<Date | null>(null, dateText(dates)),
      status: optionalText,
    })
    .superRefine((r, ctx) => {
      if (r.end && r.start && r.end < r.start)
        ctx.addIssue({ code: 'custom', path: ['end'], message: 'is before start' });
    });
}

export interface ImportSubscriptionsOptions {
  /** Where to write `<file>.<time>.rejects` with the bad rows verbatim (none written when absent). */
  rejectsDir?: string;
  /** How `start` and `end` are written (`--date-format`); default ISO 8601. */
  dateFormat?: DateFormat;
}

/**
 * One subscription CSV. Rows are validated (validate.ts) before the store sees them: a bad row is
 * rejected with its line and column, the good rows are stored, with the ledger row, in one
 * transaction.
 */
export async function importSubscriptions(
  engine: Engine,
  file: string,
  opts: ImportSubscriptionsOptions = {},
): Promise<ImportReport> {
  const input = await readInput(file);
  const csv = readCsv(input.bytes);
  const missing = csv.columns.length ? SUBSCRIPTION_COLUMNS.filter((c) => !csv.columns.includes(c)) : [];
  if (missing.length) {
    throw new InputError(
      `missing column(s) ${missing.join(', ')} (want ${SUBSCRIPTION_COLUMNS.join(',')}, and optionally id)`,
      { file, line: 1, field: missing[0] },
    );
  }
  const rejected: CsvRejected[] = [...csv.rejected];
  if (input.damage) {
    const last = Math.max(1, ...csv.records.map((r) => r.line), ...rejected.map((r) => r.line));
    rejected.push({ line: last + 1, reason: input.damage.reason, raw: input.damage.tail });
  }
  const schema = subscriptionRowSchema(opts.dateFormat);
  const rows = emptyBillingRows();
  const occurrences = new Map<string, number>();
  const ids = new Map<string, number>();
  for (const rec of csv.records) {
    const r = schema.safeParse(rec.cells);
    if (!r.success) {
      const e = fieldErrorOf(r.error);
      rejected.push({ line: rec.line, field: e.field, reason: e.message, raw: rec.raw });
      continue;
    }
    const v = r.data;
    const start = v.start;
    const row: BillingRow = {
      customer_id: v.customer_id,
      organization: v.organization,
      plan: v.plan,
      product: v.product,
      currency: v.currency,
      amount: v.amount,
      interval: v.interval,
      interval_count: v.interval_count,
      quantity: v.quantity,
      start_at: start,
      end_at: v.end,
      status: v.status,
      source: file,
      id: v.id,
      occurrence: null,
    };
    if (v.id !== null) {
      // Final key; the same id again in the file is the same subscription (the last row wins).
      row.row_key = `id:${v.id}`;
      ids.set(v.id, (ids.get(v.id) ?? 0) + 1);
    } else {
      const identity = JSON.stringify([v.customer_id, v.plan, v.product, start.getTime()]);
      const n = (occurrences.get(identity) ?? 0) + 1;
      occurrences.set(identity, n);
      row.occurrence = n;
      // Unique in the file; the loader computes the stored key (SUBSCRIPTION_ROW_KEY) from it.
      row.row_key = `pending:${identity}:${n}`;
    }
    rows.rows.billing_subscription_rows.push(row);
  }
  rejected.sort((a, b) => a.line - b.line);
  const good = rows.rows.billing_subscription_rows.length;
  const report: ImportReport = {
    file,
    kind: 'subscriptions',
    records: good + rejected.length,
    inserted: 0,
    updated: 0,
    duplicates: 0,
    duplicateRules: {},
    rejected: rejected.map(({ line, reason, field }) => (field ? { line, reason, field } : { line, reason })),
  };
  if (rejected.length && opts.rejectsDir) {
    report.rejectsFile = writeRejects(
      opts.rejectsDir,
      file,
      rejected.map((r) => r.raw),
      csv.header,
    );
  }
  const repeated = [...ids.values()].reduce((n, k) => n + k - 1, 0);
  await storeBillingRows(engine, rows, {
    count: { billing_subscription_rows: 'all' },
    finish: async (o) => {
      report.inserted = o.inserted;
      report.updated = o.updated;
      report.duplicates = o.unchanged + repeated;
      const rules: Record<string, number> = {
        [SUBSCRIPTION_RULES.unchanged]: o.unchanged,
        [SUBSCRIPTION_RULES.repeated]: repeated,
      };
      report.duplicateRules = Object.fromEntries(Object.entries(rules).filter(([, n]) => n > 0));
      await recordImport(engine, report);
    },
  });
  return report;
}
