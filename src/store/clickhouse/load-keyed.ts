import { randomBytes } from 'node:crypto';
import type { Engine, KeyedBatch, KeyedLoadOptions, KeyedOutcome, Row } from '../engine.js';
import { faultPoint } from '../fault.js';
import { ident, raw, sql, type Sql } from '../sql.js';
import { INTERNAL_COLUMNS } from './schema.js';

/**
 * ClickHouse's `Engine.loadKeyed` (store/engine.ts), written natively: no DuckDB stage. Each batch
 * is inserted into a `Memory` table (the table's columns plus `_line`), its `skip` rows left out
 * (the same standard SQL as on DuckDB: ClickHouse 26 runs correlated EXISTS), its outcome counted
 * against the stored rows (read FINAL, the latest version of each key), then inserted into the
 * table: a newer `_version` of each key, which the ReplacingMergeTree keeps. Rows replaced by
 * `replaceOn` but not by key (an invoice's lines no longer on it) are removed AFTER the new rows
 * are in (a `_deleted` version), then `finish` writes the ledger, last.
 *
 * ClickHouse has no transaction over several inserts, so this is not atomic: a kill part way
 * leaves some tables with their new rows and the ledger without the import, never a stored row
 * gone without its replacement (nothing is deleted before what replaces it is stored). Running the
 * import again completes it: each row is stored again as the same latest version (the ledger then
 * counts it unchanged, as a re-import does). See docs/clickhouse.md, "Imports".
 *
 * A `derive`d column is DuckDB SQL (the subscription CSV's row key, migration 010): not run here.
 */
export async function loadKeyed(
  engine: Engine,
  batches: readonly KeyedBatch[],
  o: KeyedLoadOptions & { sweep?: boolean } = {},
): Promise<KeyedOutcome[]> {
  // In-process (chdb), no other process can be loading: scratch tables left are a killed load's
  // (empty since the restart, `Memory`), dropped here. On a server they may be another import's.
  if (o.sweep) {
    const left = await engine.query<{ name: string }>(
      sql`SELECT name FROM system.tables WHERE database = currentDatabase()
        AND (startsWith(name, '_sextant_load_') OR startsWith(name, '_sextant_keep_'))`,
    );
    for (const t of left) await engine.exec(sql`DROP TABLE IF EXISTS ${ident(t.name)} SYNC`);
  }
  const derived = batches.find((b) => b.derive && b.rows.length > 0);
  if (derived) {
    throw new Error(
      `${derived.table}: its ${derived.derive?.column} is computed by DuckDB SQL; import it through a DuckDB stage (store/staging.ts)`,
    );
  }
  const outcomes: KeyedOutcome[] = batches.map(() => ({ inserted: 0, updated: 0, unchanged: 0, skipped: 0 }));
  // Unique per load: two imports at once (a webhook beside a CLI import) never share a stage.
  const tag = randomBytes(6).toString('hex');
  const scratch: string[] = [];
  try {
    for (const [i, b] of batches.entries()) {
      if (b.rows.length === 0) continue;
      const columns = await columnTypes(engine, b.table);
      const names = columns.map(([c]) => c);
      const loaded = `_sextant_load_${tag}_${b.table}`;
      const kept = `_sextant_keep_${tag}_${b.table}`;
      scratch.push(loaded, kept);
      const defs = columns.map(([c, t]) => `${ident(c).toString()} ${t}`).join(', ');
      faultPoint(`loadKeyed ${b.table}: load`);
      await engine.exec(
        raw(`CREATE TABLE ${ident(loaded).toString()} (${defs}, _line Int64) ENGINE = Memory`),
      );
      await engine.insert(
        loaded,
        b.rows.map((r, line) => {
          const out: Row = { _line: line };
          for (const c of names) out[c] = r[c] ?? b.defaults?.[c] ?? null;
          return out;
        }),
      );
      const keep = b.skip ? sql`WHERE NOT ifNull((${b.skip}), false)` : raw('');
      await engine.exec(
        sql`CREATE TABLE ${ident(kept)} ENGINE = Memory AS SELECT * FROM ${ident(loaded)} AS s ${keep}`,
      );
      const ids = b.count?.ids;
      if (b.count && (ids === 'all' || ids?.length)) {
        outcomes[i] = await countOutcome(engine, b, kept, names, b.count.ids, b.count.ignore);
      }
      const list = raw(names.map((c) => ident(c).toString()).join(', '));
      faultPoint(`loadKeyed ${b.table}: insert`);
      await engine.exec(
        sql`INSERT INTO ${ident(b.table)} (${list}) SELECT ${list} FROM ${ident(kept)} ORDER BY _line`,
      );
      const replaceOn = b.replaceOn ?? b.key;
      faultPoint(`loadKeyed ${b.table}: inserted`);
      if (replaceOn.join() !== b.key.join()) await removeReplaced(engine, b, kept, replaceOn);
    }
    faultPoint('loadKeyed: ledger');
    await o.finish?.(outcomes);
    faultPoint('loadKeyed: done');
  } finally {
    for (const t of scratch) await engine.exec(sql`DROP TABLE IF EXISTS ${ident(t)} SYNC`);
  }
  return outcomes;
}

const tuple = (alias: string, cols: readonly string[]): Sql =>
  raw('(' + cols.map((c) => `${alias}.${ident(c).toString()}`).join(', ') + ')');

/**
 * The stored rows that share a `replaceOn` value with a kept row but not its key (lines no longer
 * on their invoice): removed by key, now that their replacements are stored.
 */
async function removeReplaced(
  engine: Engine,
  b: KeyedBatch,
  kept: string,
  replaceOn: readonly string[],
): Promise<void> {
  const stale = await engine.query(sql`
    SELECT ${raw(b.key.map((c) => `t.${ident(c).toString()} AS ${ident(c).toString()}`).join(', '))}
    FROM ${ident(b.table)} AS t
    WHERE ${tuple('t', replaceOn)} IN (SELECT ${tuple('k', replaceOn)} FROM ${ident(kept)} AS k)
      AND ${tuple('t', b.key)} NOT IN (SELECT ${tuple('k', b.key)} FROM ${ident(kept)} AS k)`);
  if (stale.length) {
    faultPoint(`loadKeyed ${b.table}: remove replaced`);
    await engine.remove(b.table, stale, b.key);
  }
}

/** The table's columns and their ClickHouse types, in order, without the internal ones. */
async function columnTypes(engine: Engine, table: string): Promise<[string, string][]> {
  const rows = await engine.query<{ name: string; type: string }>(
    sql`SELECT name, type FROM system.columns WHERE database = currentDatabase() AND table = ${table}
      AND NOT has(${[...INTERNAL_COLUMNS]}, name) ORDER BY position`,
  );
  if (rows.length === 0) throw new Error(`no table ${table} in the ClickHouse store`);
  return rows.map((r) => [r.name, r.type]);
}

/** As DuckDB counts it (duckdb/load-keyed.ts): new, changed or the same as stored; the rest skipped. */
async function countOutcome(
  engine: Engine,
  b: KeyedBatch,
  kept: string,
  columns: readonly string[],
  ids: readonly string[] | 'all',
  ignore: readonly string[],
): Promise<KeyedOutcome> {
  const k = ident(b.key[0]!);
  const content = columns.filter((c) => !ignore.includes(c) && !b.key.includes(c));
  const differs = content.length
    ? sql`(${tuple('t', content)} IS DISTINCT FROM ${tuple('s', content)})`
    : raw('false');
  const distinct = ids === 'all' ? null : [...new Set(ids)];
  const which = distinct ? sql`WHERE has(${distinct}, s.${k})` : raw('');
  const [row] = await engine.query<{ inserted: number; updated: number; unchanged: number }>(sql`
    SELECT toInt64(countIf(t.${k} IS NULL)) AS inserted,
      toInt64(countIf(t.${k} IS NOT NULL AND ${differs})) AS updated,
      toInt64(countIf(t.${k} IS NOT NULL AND NOT ${differs})) AS unchanged
    FROM ${ident(kept)} AS s LEFT JOIN ${ident(b.table)} AS t ON t.${k} = s.${k}
    ${which}`);
  const inserted = Number(row?.inserted ?? 0);
  const updated = Number(row?.updated ?? 0);
  const unchanged = Number(row?.unchanged ?? 0);
  const skipped = distinct ? distinct.length - inserted - updated - unchanged : 0;
  return { inserted, updated, unchanged, skipped };
}
