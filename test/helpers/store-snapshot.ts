import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { Engine } from '../../src/store/engine.js';
import { eventsWithPersons } from '../../src/store/events.js';
import { raw } from '../../src/store/sql.js';

/**
 * What an import leaves in the store, as sorted lines of text per table: every column a reader
 * sees except when and by which run a row was written (`imported_at`; the `imports` ledger, whose
 * rows a crash and its re-import split in two, is compared by its totals).
 */
export const SNAPSHOT_QUERIES: Record<string, string> = {
  // An event's person as every reader sees it (identity overrides applied): the person_id it was
  // written with depends on which chunk or import stored it before its merge arrived.
  events: `SELECT uuid, event, distinct_id, person_id, timestamp, properties::VARCHAR, organization,
    groups::VARCHAR, has_set, source FROM ${eventsWithPersons().toString()}`,
  persons: 'SELECT person_id, properties::VARCHAR, is_identified, created_at FROM persons',
  person_distinct_ids: 'SELECT distinct_id, person_id FROM person_distinct_ids',
  identity_merges: 'SELECT event_uuid, kind, from_id, into_id, timestamp FROM identity_merges',
  groups: 'SELECT group_type, group_key, properties::VARCHAR, created_at FROM groups',
  // `version` is the time of the import that read an object from a file (migration 011): when,
  // not what.
  billing_customers: 'SELECT * EXCLUDE (version) FROM billing_customers',
  billing_products: 'SELECT * EXCLUDE (version) FROM billing_products',
  billing_prices: 'SELECT * EXCLUDE (version) FROM billing_prices',
  billing_coupons: 'SELECT * EXCLUDE (version) FROM billing_coupons',
  billing_subscriptions: 'SELECT * EXCLUDE (version) FROM billing_subscriptions',
  billing_subscription_items: 'SELECT * EXCLUDE (version) FROM billing_subscription_items',
  billing_subscription_states: 'SELECT * FROM billing_subscription_states',
  billing_invoices: 'SELECT * EXCLUDE (version) FROM billing_invoices',
  billing_invoice_lines: 'SELECT * EXCLUDE (version) FROM billing_invoice_lines',
  billing_credit_notes: 'SELECT * EXCLUDE (version) FROM billing_credit_notes',
  billing_events: 'SELECT * FROM billing_events',
  // Per kind: an import killed and re-imported is two ledger rows whose counts add up.
  imports_inserted: `SELECT kind, sum(inserted)::BIGINT AS inserted, count(*) FILTER (WHERE finished_at IS NULL) AS unfinished
    FROM imports GROUP BY kind`,
};

export type Snapshot = Record<string, string[]>;

export async function snapshot(engine: Engine, tables = Object.keys(SNAPSHOT_QUERIES)): Promise<Snapshot> {
  const out: Snapshot = {};
  for (const t of tables) {
    const rows = await engine.query(raw(SNAPSHOT_QUERIES[t]!));
    out[t] = rows.map((r) => JSON.stringify(Object.values(r))).sort();
  }
  return out;
}

/** The tables of the store (not temporary), sorted: a leftover staging table shows here. */
export async function tableNames(engine: Engine): Promise<string[]> {
  const rows = await engine.query<{ name: string }>(
    raw(`SELECT table_name AS name FROM information_schema.tables
      WHERE table_catalog = current_database() AND table_schema = 'main' ORDER BY 1`),
  );
  return rows.map((r) => r.name);
}

/** Rows of `got` that `want` lacks and vice versa, per table (at most `max` each), for a readable failure. */
export function snapshotDiff(
  got: Snapshot,
  want: Snapshot,
  max = 3,
): Record<string, { missing: string[]; extra: string[] }> {
  const diff: Record<string, { missing: string[]; extra: string[] }> = {};
  for (const t of Object.keys(want)) {
    const g = multiset(got[t] ?? []);
    const w = multiset(want[t] ?? []);
    const missing = minus(w, g);
    const extra = minus(g, w);
    if (missing.length || extra.length) {
      diff[t] = { missing: missing.slice(0, max), extra: extra.slice(0, max) };
      if (missing.length > max) diff[t].missing.push(`… ${missing.length} in all`);
      if (extra.length > max) diff[t].extra.push(`… ${extra.length} in all`);
    }
  }
  return diff;
}

/**
 * The one row each of `queries` returns from the chdb store in folder `dir`, read by a child
 * process: chdb binds one data folder per process, so a test reads each of its stores from a new
 * one. ClickHouse's 64-bit integers come back as strings. Needs the built CLI (`dist/`).
 */
export async function readChdbStore<K extends string>(
  dir: string,
  queries: Record<K, string>,
): Promise<Record<K, Record<string, unknown>>> {
  const dist = (file: string) => JSON.stringify(new URL(`../../dist/store/${file}`, import.meta.url).href);
  const script = `import { openEngine } from ${dist('registry.js')};
import { raw } from ${dist('sql.js')};
const e = await openEngine(${JSON.stringify(`chdb:${dir}`)}, { create: false });
const out = {};
for (const [name, q] of Object.entries(${JSON.stringify(queries)})) out[name] = await e.query(raw(q));
await e.close();
console.log(JSON.stringify(out));`;
  const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', script]);
  const rows = JSON.parse(stdout) as Record<K, Record<string, unknown>[]>;
  const one = {} as Record<K, Record<string, unknown>>;
  for (const name of Object.keys(queries) as K[]) {
    if (rows[name].length !== 1)
      throw new Error(`${name}: ${rows[name].length} rows, not one (${queries[name]})`);
    one[name] = rows[name][0]!;
  }
  return one;
}

function multiset(rows: string[]): Map<string, number> {
  const m = new Map<string, number>();
  for (const r of rows) m.set(r, (m.get(r) ?? 0) + 1);
  return m;
}

function minus(a: Map<string, number>, b: Map<string, number>): string[] {
  const out: string[] = [];
  for (const [k, n] of a) for (let i = b.get(k) ?? 0; i < n; i++) out.push(k);
  return out;
}
