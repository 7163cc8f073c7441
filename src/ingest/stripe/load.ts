import type { Engine } from '../../store/engine.js';
import { ident, raw, sql, type SqlValue } from '../../store/sql.js';
import type { BillingRow, BillingRows, BillingTable } from './normalize.js';

/** An engine that can bulk-append rows (DuckDB's appender); the ClickHouse engine will add its own. */
export interface AppendingEngine extends Engine {
  append(table: string, rows: Iterable<readonly SqlValue[]>): Promise<void>;
}

export function appendingEngine(engine: Engine): AppendingEngine {
  if (typeof (engine as Partial<AppendingEngine>).append !== 'function') {
    throw new Error(
      `the ${engine.name} store cannot bulk-load billing objects yet; import into a DuckDB file`,
    );
  }
  return engine as AppendingEngine;
}

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

async function columnsOf(engine: Engine, table: string): Promise<string[]> {
  const rows = await engine.query<{ column_name: string }>(
    sql`SELECT column_name FROM information_schema.columns WHERE table_name = ${table} AND table_schema = 'main' ORDER BY ordinal_position`,
  );
  return rows.map((r) => r.column_name);
}

/**
 * Loads normalized rows set-based: each table's rows are appended into a staging table, then
 * replace the stored rows with the same key in two statements. Invoice lines are replaced per
 * invoice (an invoice's lines are always the ones of its latest import). Returns the keys of
 * `countIn` that were new.
 */
export async function loadBillingRows(
  engine: Engine,
  data: BillingRows,
  countIn: { table: BillingTable; ids: string[] }[],
): Promise<number> {
  const e = appendingEngine(engine);
  let inserted = 0;
  const tables = Object.keys(data.rows) as BillingTable[];
  for (const table of tables) {
    const rows = dedupe(table, data.rows[table]);
    if (rows.length === 0) continue;
    const stage = `stage_${table}`;
    const columns = await columnsOf(e, table);
    await e.exec(sql`CREATE OR REPLACE TABLE ${ident(stage)} AS SELECT * FROM ${ident(table)} LIMIT 0`);
    try {
      await e.append(
        stage,
        rows.map((r) => columns.map((c) => r[c] ?? defaultFor(table, c))),
      );
      if (table === 'billing_invoices') {
        // An event-carried invoice does not replace one imported directly.
        await e.exec(
          sql`DELETE FROM ${ident(stage)} WHERE source LIKE 'event:%' AND id IN (SELECT id FROM billing_invoices WHERE source NOT LIKE 'event:%')`,
        );
      }
      if (table === 'billing_invoice_lines') {
        await e.exec(
          sql`DELETE FROM ${ident(stage)} WHERE source LIKE 'event:%' AND invoice_id IN (SELECT id FROM billing_invoices WHERE source NOT LIKE 'event:%')`,
        );
      }
      const wanted = countIn.find((c) => c.table === table);
      if (wanted && wanted.ids.length) {
        const [row] = await e.query<{ n: number }>(
          sql`SELECT count(DISTINCT id) AS n FROM ${ident(stage)} s WHERE ${e.dialect.sqlArrayContains(sql`${wanted.ids}`, raw('s.id'))} AND s.id NOT IN (SELECT id FROM ${ident(table)})`,
        );
        inserted += row?.n ?? 0;
      }
      const keys = KEYS[table];
      const match =
        table === 'billing_invoice_lines'
          ? raw('invoice_id IN (SELECT invoice_id FROM ' + stage + ')')
          : raw(`(${keys.join(', ')}) IN (SELECT (${keys.join(', ')}) FROM ${stage})`);
      await e.exec(sql`DELETE FROM ${ident(table)} WHERE ${match}`);
      await e.exec(sql`INSERT INTO ${ident(table)} SELECT * FROM ${ident(stage)}`);
    } finally {
      await e.exec(sql`DROP TABLE IF EXISTS ${ident(stage)}`);
    }
  }
  return inserted;
}

function defaultFor(table: BillingTable, column: string): SqlValue {
  if (column === 'deleted' || column === 'proration') return false;
  if (table === 'billing_invoice_lines' && (column === 'discount_amount' || column === 'tax_amount'))
    return 0;
  return null;
}
