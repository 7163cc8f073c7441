import type { KeyedBatch, KeyedLoadOptions, KeyedOutcome } from '../engine.js';
import { ident, raw, sql, type SqlValue } from '../sql.js';
import { inTransaction } from '../transaction.js';
import type { DuckDbEngine } from './engine.js';

/**
 * DuckDB's `Engine.loadKeyed` (store/engine.ts): an importer's keyed, versioned bulk write as ONE
 * transaction. Each batch is appended with DuckDB's appender into the TEMP table
 * `stageName(table)` (the table's columns plus `_line`, the row's index in the batch), its derived
 * column computed, its `skip` rows deleted, its outcome counted against the stored rows, then the
 * stored rows it replaces (by `replaceOn`) are deleted and the stage inserted, in a handful of
 * statements however many rows there are. Then `finish` (the ledger row), then COMMIT: a kill at
 * any instant leaves the store as before the import or as after it, never a
 * deleted-but-not-reinserted row; the TEMP stages die with the process.
 */
export async function loadKeyed(
  engine: DuckDbEngine,
  batches: readonly KeyedBatch[],
  o: KeyedLoadOptions = {},
): Promise<KeyedOutcome[]> {
  await dropLeftoverStages(engine);
  const loaded = batches.filter((b) => b.rows.length > 0);
  const outcomes: KeyedOutcome[] = batches.map(() => ({ inserted: 0, updated: 0, unchanged: 0, skipped: 0 }));
  try {
    await inTransaction(engine, async () => {
      for (const [i, b] of batches.entries()) {
        if (b.rows.length === 0) continue;
        const columns = await stageRows(engine, b);
        const stage = ident(stageName(b.table));
        if (b.derive) {
          await engine.exec(
            sql`UPDATE ${stage} SET ${ident(b.derive.column)} = ${b.derive.value} WHERE ${b.derive.where}`,
          );
        }
        if (b.skip) await engine.exec(sql`DELETE FROM ${stage} s WHERE ${b.skip}`);
        const ids = b.count?.ids;
        if (b.count && (ids === 'all' || ids?.length)) {
          outcomes[i] = await countOutcome(engine, b, columns, b.count.ids, b.count.ignore);
        }
        await mergeStage(engine, b, columns);
      }
      await o.finish?.(outcomes);
    });
  } finally {
    for (const b of loaded) await engine.exec(sql`DROP TABLE IF EXISTS ${ident(stageName(b.table))}`);
  }
  return outcomes;
}

const stageName = (table: string): string => `_stage_${table}`;

async function columnsOf(engine: DuckDbEngine, table: string): Promise<string[]> {
  const rows = await engine.query<{ column_name: string }>(
    sql`SELECT column_name FROM information_schema.columns WHERE table_name = ${table} AND table_schema = 'main' ORDER BY ordinal_position`,
  );
  return rows.map((r) => r.column_name);
}

/**
 * Appends the batch's rows to a fresh TEMP stage of its table. `_line` is each row's index in
 * the batch (0-based): the order they are inserted in. Returns the table's columns.
 */
async function stageRows(engine: DuckDbEngine, b: KeyedBatch): Promise<string[]> {
  const stage = ident(stageName(b.table));
  const columns = await columnsOf(engine, b.table);
  await engine.exec(
    sql`CREATE OR REPLACE TEMP TABLE ${stage} AS SELECT *, 0::BIGINT AS _line FROM ${ident(b.table)} LIMIT 0`,
  );
  await engine.append(
    stageName(b.table),
    b.rows.map((r, i) => [...columns.map((c) => (r[c] ?? b.defaults?.[c] ?? null) as SqlValue), i]),
  );
  return columns;
}

/** Replaces the stored rows the stage holds (by `replaceOn`) with the stage; drops the stage. */
async function mergeStage(engine: DuckDbEngine, b: KeyedBatch, columns: string[]): Promise<void> {
  const stage = ident(stageName(b.table));
  const table = ident(b.table);
  const keys = (b.replaceOn ?? b.key).map((k) => ident(k).toString()).join(', ');
  const list = raw(columns.map((c) => ident(c).toString()).join(', '));
  await engine.exec(sql`DELETE FROM ${table} WHERE (${raw(keys)}) IN (SELECT (${raw(keys)}) FROM ${stage})`);
  await engine.exec(sql`INSERT INTO ${table} (${list}) SELECT ${list} FROM ${stage} ORDER BY _line`);
  await engine.exec(sql`DROP TABLE IF EXISTS ${stage}`);
}

/**
 * How many of `ids` (the key's first column) are new, changed, or the same as stored; those no
 * longer staged were dropped by `skip`.
 */
async function countOutcome(
  engine: DuckDbEngine,
  b: KeyedBatch,
  columns: readonly string[],
  ids: readonly string[] | 'all',
  ignore: readonly string[],
): Promise<KeyedOutcome> {
  const key = b.key[0]!;
  const content = columns.filter((c) => !ignore.includes(c) && !b.key.includes(c));
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
    FROM ${ident(stageName(b.table))} s LEFT JOIN ${ident(b.table)} t ON t.${k} = s.${k}
    ${which}`);
  const inserted = row?.inserted ?? 0;
  const updated = row?.updated ?? 0;
  const unchanged = row?.unchanged ?? 0;
  const skipped = distinct ? distinct.length - inserted - updated - unchanged : 0;
  return { inserted, updated, unchanged, skipped };
}

/**
 * Drops the persistent `stage_billing_*` tables an import killed before this version could leave
 * (they held a copy of what it was loading; nothing reads them).
 */
async function dropLeftoverStages(engine: DuckDbEngine): Promise<void> {
  const left = await engine.query<{ name: string }>(
    raw(`SELECT table_name AS name FROM information_schema.tables
      WHERE table_schema = 'main' AND table_name LIKE 'stage\\_billing\\_%' ESCAPE '\\' ORDER BY 1`),
  );
  for (const t of left) await engine.exec(sql`DROP TABLE IF EXISTS ${ident(t.name)}`);
}
