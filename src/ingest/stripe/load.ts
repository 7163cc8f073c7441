import { bulkUpsert } from '../../store/duckdb/bulk-upsert.js';
import { DuckDbEngine } from '../../store/duckdb/engine.js';
import type { Engine } from '../../store/engine.js';
import { raw, sql, type SqlValue } from '../../store/sql.js';
import type { BillingRow, BillingRows, BillingTable } from './normalize.js';

/** Primary-key columns of each table; a re-imported object replaces the stored one. */
const KEYS: Record<BillingTable, string[]> = {
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
  billing_subscription_rows: ['customer_id', 'plan', 'product', 'start_at'],
};

const fromEvent = (r: BillingRow): boolean => typeof r.source === 'string' && r.source.startsWith('event:');

/** Last one wins, except that an invoice carried by an event never replaces one imported directly. */
function dedupe(table: BillingTable, rows: BillingRow[]): BillingRow[] {
  const byKey = new Map<string, BillingRow>();
  for (const r of rows) {
    const key = KEYS[table].map((k) => String(r[k])).join('\u0000');
    const before = byKey.get(key);
    if (before && !fromEvent(before) && fromEvent(r)) continue;
    byKey.set(key, r);
  }
  return [...byKey.values()];
}

/**
 * Loads normalized rows set-based (store/duckdb/bulk-upsert.ts: appender into a staging table,
 * then replace by key). Invoice lines are replaced per invoice. Returns how many of the ids in
 * `countIn` were new.
 */
export async function loadBillingRows(
  engine: Engine,
  data: BillingRows,
  countIn: { table: BillingTable; ids: string[] }[],
): Promise<number> {
  if (!(engine instanceof DuckDbEngine)) {
    throw new Error(
      `the ${engine.name} store cannot bulk-load billing objects yet; import into a DuckDB file`,
    );
  }
  let inserted = 0;
  for (const table of Object.keys(data.rows) as BillingTable[]) {
    const rows = dedupe(table, data.rows[table]);
    // An event-carried invoice (and its lines) does not replace an invoice imported directly.
    const direct = raw(`(SELECT id FROM billing_invoices WHERE source NOT LIKE 'event:%')`);
    const dropFromStage =
      table === 'billing_invoices'
        ? sql`s.source LIKE 'event:%' AND s.id IN ${direct}`
        : table === 'billing_invoice_lines'
          ? sql`s.source LIKE 'event:%' AND s.invoice_id IN ${direct}`
          : undefined;
    inserted += await bulkUpsert(engine, {
      table,
      rows,
      defaultFor: (c) => defaultFor(table, c),
      // An invoice's lines are always those of its latest import.
      replaceOn: table === 'billing_invoice_lines' ? ['invoice_id'] : KEYS[table],
      dropFromStage,
      countNewIds: countIn.find((c) => c.table === table)?.ids,
    });
  }
  return inserted;
}

function defaultFor(table: BillingTable, column: string): SqlValue {
  if (column === 'deleted' || column === 'proration') return false;
  if (table === 'billing_invoice_lines' && (column === 'discount_amount' || column === 'tax_amount'))
    return 0;
  return null;
}
