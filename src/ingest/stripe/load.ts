import {
  dropLeftoverStages,
  mergeStage,
  pruneStage,
  stageName,
  stageRows,
} from '../../store/duckdb/bulk-upsert.js';
import { DuckDbEngine } from '../../store/duckdb/engine.js';
import type { Engine } from '../../store/engine.js';
import { ident, raw, sql, type Sql, type SqlValue } from '../../store/sql.js';
import { inTransaction } from '../../store/transaction.js';
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
 * Stores normalized billing rows as ONE transaction (a staged swap): every table's rows are
 * appended to TEMP stages, the stored rows they replace are deleted and the stages inserted,
 * then `finish` runs, then COMMIT. A kill at any instant leaves the store as before the import
 * or as after it, never a deleted-but-not-reinserted object; the stages die with the process.
 * Invoice lines are replaced per invoice. A staged row older (`version`) than the stored row of
 * its key is dropped, as is an event-carried invoice (and its lines) where the invoice was
 * imported directly.
 */
export async function storeBillingRows(
  engine: Engine,
  data: BillingRows,
  opts: StoreBillingOptions = {},
): Promise<Outcome> {
  if (!(engine instanceof DuckDbEngine)) {
    throw new Error(
      `the ${engine.name} store cannot bulk-load billing objects yet; import into a DuckDB file`,
    );
  }
  await dropLeftoverStages(engine);
  const outcome: Outcome = { inserted: 0, updated: 0, unchanged: 0, older: 0 };
  const version = opts.version ?? new Date();
  const tables = (Object.keys(data.rows) as BillingTable[]).filter((t) => data.rows[t].length > 0);
  try {
    await inTransaction(engine, async () => {
      for (const table of tables) {
        const spec = {
          table,
          rows: dedupe(
            table,
            VERSIONED.has(table)
              ? data.rows[table].map((r) => (r.version instanceof Date ? r : { ...r, version }))
              : data.rows[table],
          ),
          defaultFor: (c: string) => defaultFor(table, c),
          // An invoice's lines are always those of its latest import.
          replaceOn: table === 'billing_invoice_lines' ? ['invoice_id'] : KEYS[table],
          dropFromStage: dropCondition(table),
        };
        const columns = await stageRows(engine, spec);
        if (table === 'billing_subscription_rows') {
          await engine.exec(
            sql`UPDATE ${ident(stageName(table))} SET row_key = ${raw(SUBSCRIPTION_ROW_KEY)} WHERE id IS NULL`,
          );
        }
        await pruneStage(engine, spec);
        const ids = opts.count?.[table];
        if (ids === 'all' || ids?.length) {
          const o = await countOutcome(engine, table, columns, ids);
          outcome.inserted += o.inserted;
          outcome.updated += o.updated;
          outcome.unchanged += o.unchanged;
          outcome.older += o.older;
        }
        await mergeStage(engine, spec, columns);
      }
      await opts.finish?.(outcome);
    });
  } finally {
    for (const table of tables) await engine.exec(sql`DROP TABLE IF EXISTS ${ident(stageName(table))}`);
  }
  return outcome;
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
    // Lines follow their invoice: staged after it, so the invoice's stored row is already the
    // winner; lines whose staged invoice lost are dropped.
    return sql`(s.source LIKE 'event:%' AND s.invoice_id IN ${direct})
      OR ${older('invoice_id', 'billing_invoices')}`;
  }
  if (VERSIONED.has(table)) return older('id', table);
  return undefined;
}

/**
 * How many of `ids` (the key of `table`) are new, changed, or the same as stored; those no longer
 * staged were dropped as older than the stored state.
 */
async function countOutcome(
  engine: DuckDbEngine,
  table: BillingTable,
  columns: readonly string[],
  ids: readonly string[] | 'all',
): Promise<Outcome> {
  const key = KEYS[table][0]!;
  const content = columns.filter((c) => !PROVENANCE.has(c) && !KEYS[table].includes(c));
  const differs = content.length
    ? raw(
        '(' +
          content.map((c) => `t.${ident(c).toString()}`).join(', ') +
          ') IS DISTINCT FROM (' +
          content.map((c) => `s.${ident(c).toString()}`).join(', ') +
          ')',
      )
    : raw('false');
  const k = ident(key);
  const distinct = ids === 'all' ? null : [...new Set(ids)];
  const which = distinct ? sql`WHERE s.${k} IN (SELECT unnest(${distinct}))` : raw('');
  const [row] = await engine.query<{ inserted: number; updated: number; unchanged: number }>(sql`
    SELECT count(*) FILTER (WHERE t.${k} IS NULL)::INTEGER AS inserted,
      count(*) FILTER (WHERE t.${k} IS NOT NULL AND ${differs})::INTEGER AS updated,
      count(*) FILTER (WHERE t.${k} IS NOT NULL AND NOT (${differs}))::INTEGER AS unchanged
    FROM ${ident(stageName(table))} s LEFT JOIN ${ident(table)} t ON t.${k} = s.${k}
    ${which}`);
  const inserted = row?.inserted ?? 0;
  const updated = row?.updated ?? 0;
  const unchanged = row?.unchanged ?? 0;
  const older = distinct ? distinct.length - inserted - updated - unchanged : 0;
  return { inserted, updated, unchanged, older };
}

function defaultFor(table: BillingTable, column: string): SqlValue {
  if (column === 'deleted' || column === 'proration') return false;
  if (table === 'billing_invoice_lines' && (column === 'discount_amount' || column === 'tax_amount'))
    return 0;
  return null;
}
