import type { Engine, KeyedBatch, KeyedOutcome, Row } from '../../store/engine.js';
import { raw, sql, type Sql } from '../../store/sql.js';
import type { BillingRow, BillingRows, BillingTable } from './normalize.js';

/** Primary-key columns of each table; a re-imported object replaces the stored one. */
export const KEYS: Record<BillingTable, string[]> = {
  billing_customers: ['id'],
  billing_products: ['id'],
  billing_prices: ['id'],
  billing_coupons: ['id'],
  billing_subscriptions: ['id'],
  billing_subscription_items: ['id'],
  billing_subscription_states: ['state_id', 'item_id'],
  billing_invoices: ['id'],
  billing_invoice_lines: ['invoice_id', 'id'],
  billing_credit_notes: ['id'],
  billing_events: ['id'],
  billing_subscription_rows: ['row_key'],
};

/**
 * The key of a subscription CSV row without an `id` column value (docs/ingest.md, "Subscription
 * CSV"): its customer, plan, product and start, and its occurrence among the file's rows with
 * those four. The same expression is in migration 010, which keyed the rows stored before.
 */
export const SUBSCRIPTION_ROW_KEY = `'row:' || md5(to_json([customer_id, coalesce(plan, ''), coalesce(product, ''), epoch_us(start_at)::VARCHAR])::VARCHAR) || ':' || occurrence`;

/** Tables whose rows carry `version` (migration 011): an older state never replaces a newer one. */
const VERSIONED = new Set<BillingTable>([
  'billing_customers',
  'billing_products',
  'billing_prices',
  'billing_coupons',
  'billing_subscriptions',
  'billing_subscription_items',
  'billing_invoices',
  'billing_invoice_lines',
  'billing_credit_notes',
]);

/** Columns that say where and when a row came from, not what it says: not compared for `updated`. */
const PROVENANCE = new Set(['source', 'version', 'imported_at']);

const fromEvent = (r: BillingRow): boolean => typeof r.source === 'string' && r.source.startsWith('event:');
const versionOf = (r: BillingRow): number => (r.version instanceof Date ? r.version.getTime() : -Infinity);

/**
 * One row per key, as the store would keep them if the rows arrived one by one: a newer version
 * wins, then the later row; an invoice carried by an event never replaces one imported directly.
 */
function dedupe(table: BillingTable, rows: BillingRow[]): BillingRow[] {
  const byKey = new Map<string, BillingRow>();
  for (const r of rows) {
    const key = KEYS[table].map((k) => String(r[k])).join('\u0000');
    const before = byKey.get(key);
    if (before && !fromEvent(before) && fromEvent(r)) continue;
    if (before && versionOf(before) > versionOf(r)) continue;
    byKey.set(key, r);
  }
  return [...byKey.values()];
}

/** What became of the file's top-level records of one table, by their ids (ledger counts). */
export interface Outcome {
  /** Keys not stored before. */
  inserted: number;
  /** Keys stored before with different content. */
  updated: number;
  /** Keys stored before with the same content. */
  unchanged: number;
  /** Keys whose stored state is newer than the one read (not applied). */
  older: number;
}

export interface StoreBillingOptions {
  /** The version of rows read from an export (not carried by an event): the import's time. */
  version?: Date;
  /**
   * Top-level records whose outcome to count, by table: their ids, or `all` for every row
   * staged (the subscription CSV, whose keys are computed in SQL).
   */
  count?: Partial<Record<BillingTable, readonly string[] | 'all'>>;
  /**
   * Runs inside the storing transaction after the rows are in place, with the outcome counts
   * summed over tables: the importer writes its ledger row here, so both commit together.
   */
  finish?: (outcome: Outcome) => Promise<void>;
}

/**
 * Stores normalized billing rows in ONE atomic step with the ledger (`Engine.loadKeyed`): every
 * table's rows are bulk-loaded, the stored rows they replace are replaced by key, then `finish`
 * runs, and all of it commits together. A kill at any instant leaves the store as before the
 * import or as after it, never a deleted-but-not-reinserted object. Invoice lines are replaced
 * per invoice. A row older (`version`) than the stored row of its key is not stored, nor is an
 * event-carried invoice (and its lines) where the invoice was imported directly.
 */
export async function storeBillingRows(
  engine: Engine,
  data: BillingRows,
  opts: StoreBillingOptions = {},
): Promise<Outcome> {
  if (!engine.loadKeyed) {
    throw new Error(
      `the ${engine.name} store has no keyed bulk loader (Engine.loadKeyed): import billing through a DuckDB stage of it (store/staging.ts)`,
    );
  }
  const version = opts.version ?? new Date();
  const tables = (Object.keys(data.rows) as BillingTable[]).filter((t) => data.rows[t].length > 0);
  const batches: KeyedBatch[] = tables.map((table) => {
    const ids = opts.count?.[table];
    return {
      table,
      rows: dedupe(
        table,
        VERSIONED.has(table)
          ? data.rows[table].map((r) => (r.version instanceof Date ? r : { ...r, version }))
          : data.rows[table],
      ),
      key: KEYS[table],
      defaults: defaultsOf(table),
      // An invoice's lines are always those of its latest import.
      replaceOn: table === 'billing_invoice_lines' ? ['invoice_id'] : KEYS[table],
      derive:
        table === 'billing_subscription_rows'
          ? { column: 'row_key', value: raw(SUBSCRIPTION_ROW_KEY), where: raw('id IS NULL') }
          : undefined,
      skip: dropCondition(table),
      count: ids === 'all' || ids?.length ? { ids, ignore: [...PROVENANCE] } : undefined,
    };
  });
  const sum = (outcomes: readonly KeyedOutcome[]): Outcome => {
    const outcome: Outcome = { inserted: 0, updated: 0, unchanged: 0, older: 0 };
    for (const o of outcomes) {
      outcome.inserted += o.inserted;
      outcome.updated += o.updated;
      outcome.unchanged += o.unchanged;
      outcome.older += o.skipped;
    }
    return outcome;
  };
  const outcomes = await engine.loadKeyed(batches, {
    finish: async (o) => {
      await opts.finish?.(sum(o));
    },
  });
  return sum(outcomes);
}

/** Staged rows (aliased `s`) that must not replace what is stored. */
function dropCondition(table: BillingTable): Sql | undefined {
  const direct = raw(`(SELECT id FROM billing_invoices WHERE source NOT LIKE 'event:%')`);
  const older = (key: string, of: string, versionOf = 's.version'): Sql =>
    raw(`EXISTS (SELECT 1 FROM ${of} t WHERE t.id = s.${key} AND t.version > ${versionOf})`);
  if (table === 'billing_invoices') {
    return sql`(s.source LIKE 'event:%' AND s.id IN ${direct}) OR ${older('id', 'billing_invoices')}`;
  }
  if (table === 'billing_invoice_lines') {
    // Lines follow their invoice: loaded after it, so the invoice's stored row is already the
    // winner; lines whose loaded invoice lost are dropped.
    return sql`(s.source LIKE 'event:%' AND s.invoice_id IN ${direct})
      OR ${older('invoice_id', 'billing_invoices')}`;
  }
  if (VERSIONED.has(table)) return older('id', table);
  return undefined;
}

/** Values of columns a row leaves out (else null). */
function defaultsOf(table: BillingTable): Row {
  const out: Row = { deleted: false, proration: false };
  if (table === 'billing_invoice_lines') {
    out.discount_amount = 0;
    out.tax_amount = 0;
  }
  return out;
}
