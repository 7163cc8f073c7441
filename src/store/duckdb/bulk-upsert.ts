import { ident, raw, sql, type Sql, type SqlValue } from '../sql.js';
import type { DuckDbEngine } from './engine.js';

/**
 * Set-based upsert through a staging table (DuckDB only), in two steps so that an importer can
 * make its whole import one transaction: `stageRows` appends the rows with DuckDB's appender into
 * the TEMP table `stageName(table)` (same columns as `table`, plus `_line`); the importer may
 * drop staged rows (`pruneStage`) and count what is left; `mergeStage` then deletes the stored rows the stage replaces and
 * inserts the stage, in two statements however many rows there are, and drops the stage.
 *
 * Stages are TEMP tables: a killed import leaves none behind (the persistent `stage_*` tables of
 * earlier versions are dropped by `dropLeftoverStages`). Neither step opens a transaction.
 */
export interface UpsertSpec {
  table: string;
  /** Rows by column name; a missing column takes `defaultFor(column)` (else null). */
  rows: readonly Record<string, SqlValue>[];
  defaultFor?: (column: string) => SqlValue;
  /** Stored rows matching any staged row on these columns are replaced. */
  replaceOn: readonly string[];
  /** A condition on staged rows (stage aliased `s`) that are dropped before the merge. */
  dropFromStage?: Sql;
}

export const stageName = (table: string): string => `_stage_${table}`;

async function columnsOf(engine: DuckDbEngine, table: string): Promise<string[]> {
  const rows = await engine.query<{ column_name: string }>(
    sql`SELECT column_name FROM information_schema.columns WHERE table_name = ${table} AND table_schema = 'main' ORDER BY ordinal_position`,
  );
  return rows.map((r) => r.column_name);
}

/**
 * Appends `rows` to a fresh TEMP stage of `table`. `_line` is each row's index in `rows` (0-based),
 * so a later row of the same key is known. Returns the table's columns.
 */
export async function stageRows(engine: DuckDbEngine, spec: UpsertSpec): Promise<string[]> {
  const { table } = spec;
  const stage = ident(stageName(table));
  const columns = await columnsOf(engine, table);
  await engine.exec(
    sql`CREATE OR REPLACE TEMP TABLE ${stage} AS SELECT *, 0::BIGINT AS _line FROM ${ident(table)} LIMIT 0`,
  );
  await engine.append(
    stageName(table),
    spec.rows.map((r, i) => [...columns.map((c) => r[c] ?? spec.defaultFor?.(c) ?? null), i]),
  );
  return columns;
}

/** Deletes the staged rows `dropFromStage` names. */
export async function pruneStage(engine: DuckDbEngine, spec: UpsertSpec): Promise<void> {
  if (spec.dropFromStage) {
    await engine.exec(sql`DELETE FROM ${ident(stageName(spec.table))} s WHERE ${spec.dropFromStage}`);
  }
}

/** Replaces the stored rows the stage holds (by `replaceOn`) with the stage; drops the stage. */
export async function mergeStage(engine: DuckDbEngine, spec: UpsertSpec, columns: string[]): Promise<void> {
  const stage = ident(stageName(spec.table));
  const table = ident(spec.table);
  const keys = spec.replaceOn.map((k) => ident(k).toString()).join(', ');
  const list = raw(columns.map((c) => ident(c).toString()).join(', '));
  await engine.exec(sql`DELETE FROM ${table} WHERE (${raw(keys)}) IN (SELECT (${raw(keys)}) FROM ${stage})`);
  await engine.exec(sql`INSERT INTO ${table} (${list}) SELECT ${list} FROM ${stage} ORDER BY _line`);
  await engine.exec(sql`DROP TABLE IF EXISTS ${stage}`);
}

/**
 * Drops the persistent `stage_billing_*` tables an import killed before this version could leave
 * (they held a copy of what it was loading; nothing reads them).
 */
export async function dropLeftoverStages(engine: DuckDbEngine): Promise<void> {
  const left = await engine.query<{ name: string }>(
    raw(`SELECT table_name AS name FROM information_schema.tables
      WHERE table_schema = 'main' AND table_name LIKE 'stage\\_billing\\_%' ESCAPE '\\' ORDER BY 1`),
  );
  for (const t of left) await engine.exec(sql`DROP TABLE IF EXISTS ${ident(t.name)}`);
}
