/**
 * DuckDB's side of the engine-neutral bulk operations (store/engine.ts `tables`, `scan`,
 * `insert`, `upsert`): what `sextant migrate` and the decision loop use, and what the importers
 * move onto in phase 2 of the ClickHouse work. Rows travel as plain JS; every value is appended
 * as text into a staging table through DuckDB's appender and cast once, set-based, by the INSERT
 * (DuckDB parses ISO timestamps with their microseconds and zone, JSON text, numbers' shortest
 * round-trip text exactly).
 */
import {
  JSDuckDBValueConverter,
  VARCHAR,
  LIST,
  listValue,
  type DuckDBConnection,
  type DuckDBType,
  type DuckDBValue,
} from '@duckdb/node-api';
import type { Row, TableInfo } from '../engine.js';

interface Column {
  name: string;
  type: string;
}

const q = (name: string): string => '"' + name.replaceAll('"', '""') + '"';
const lit = (s: string): string => "'" + s.replaceAll("'", "''") + "'";
const isList = (type: string): boolean => type.endsWith('[]');
const isTimestamp = (type: string): boolean => type.startsWith('TIMESTAMP');

async function columnsOf(conn: DuckDBConnection, table: string): Promise<Column[]> {
  const reader = await conn.runAndReadAll(
    `SELECT column_name, data_type FROM information_schema.columns
     WHERE table_schema = 'main' AND table_name = ${lit(table)} ORDER BY ordinal_position`,
  );
  return reader.getRowsJS().map(([name, type]) => ({ name: name as string, type: type as string }));
}

export async function tables(conn: DuckDBConnection): Promise<TableInfo[]> {
  const reader = await conn.runAndReadAll(
    `SELECT table_name FROM information_schema.tables
     WHERE table_schema = 'main' AND table_type = 'BASE TABLE' AND table_name <> 'schema_migrations'
       AND table_name NOT LIKE '\\_%' ESCAPE '\\' AND table_name NOT LIKE 'stage\\_%' ESCAPE '\\'
     ORDER BY table_name`,
  );
  const out: TableInfo[] = [];
  for (const [name] of reader.getRowsJS()) {
    const table = name as string;
    out.push({ name: table, columns: (await columnsOf(conn, table)).map((c) => c.name) });
  }
  return out;
}

export async function* scan(
  conn: DuckDBConnection,
  table: string,
  columns: readonly string[],
  batchRows: number,
  where?: { text: string; values: DuckDBValue[]; types: DuckDBType[] },
): AsyncIterable<Row[]> {
  const types = new Map((await columnsOf(conn, table)).map((c) => [c.name, c.type]));
  const select = columns.map((c) => {
    const t = types.get(c);
    if (t === undefined) throw new Error(`${table} has no column ${c}`);
    // Microseconds and an explicit zone: the text every engine's insert reads back exactly.
    return isTimestamp(t) ? `strftime(${q(c)}, '%Y-%m-%dT%H:%M:%S.%fZ') AS ${q(c)}` : q(c);
  });
  const from = `SELECT ${select.join(', ')} FROM ${q(table)}`;
  const result = where
    ? await conn.stream(`${from} WHERE ${where.text}`, where.values, where.types)
    : await conn.stream(from);
  let batch: Row[] = [];
  for (;;) {
    const chunk = await result.fetchChunk();
    if (!chunk || chunk.rowCount === 0) break;
    for (const values of chunk.convertRows(JSDuckDBValueConverter)) {
      const row: Row = {};
      columns.forEach((c, i) => {
        const v = values[i];
        row[c] = typeof v === 'bigint' ? toNumberOrString(v) : v;
      });
      batch.push(row);
      // At most batchRows per batch (a DuckDB chunk holds 2,048 rows).
      if (batch.length >= batchRows) {
        yield batch;
        batch = [];
      }
    }
  }
  if (batch.length > 0) yield batch;
}

function toNumberOrString(v: bigint): number | string {
  return v <= BigInt(Number.MAX_SAFE_INTEGER) && v >= BigInt(Number.MIN_SAFE_INTEGER)
    ? Number(v)
    : v.toString();
}

function asText(v: unknown): string {
  if (v instanceof Date) return v.toISOString();
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'bigint' || typeof v === 'boolean') return String(v);
  return JSON.stringify(v);
}

/** Appends `rows` into `table` through a text staging table; returns nothing until all are in. */
export async function insert(conn: DuckDBConnection, table: string, rows: readonly Row[]): Promise<void> {
  if (rows.length === 0) return;
  const all = await columnsOf(conn, table);
  if (all.length === 0) throw new Error(`no table ${table} in this DuckDB store`);
  const present = new Set(rows.flatMap((r) => Object.keys(r)));
  const cols = all.filter((c) => present.has(c.name));
  const unknown = [...present].filter((k) => !all.some((c) => c.name === k));
  if (unknown.length > 0) throw new Error(`${table} has no column ${unknown.join(', ')}`);
  const stage = `stage_copy_${table}`;
  await conn.run(
    `CREATE OR REPLACE TABLE ${q(stage)} (${cols.map((c) => `${q(c.name)} ${isList(c.type) ? 'VARCHAR[]' : 'VARCHAR'}`).join(', ')})`,
  );
  try {
    const appender = await conn.createAppender(stage);
    try {
      for (const r of rows) {
        for (const c of cols) {
          const v = r[c.name];
          if (v === null || v === undefined) appender.appendNull();
          else if (isList(c.type)) {
            appender.appendValue(listValue((v as unknown[]).map((x) => asText(x))), LIST(VARCHAR));
          } else appender.appendVarchar(asText(v));
        }
        appender.endRow();
      }
      appender.flushSync();
    } finally {
      appender.closeSync();
    }
    const names = cols.map((c) => q(c.name)).join(', ');
    const casts = cols.map((c) => `CAST(${q(c.name)} AS ${c.type}) AS ${q(c.name)}`).join(', ');
    await conn.run(`INSERT INTO ${q(table)} (${names}) SELECT ${casts} FROM ${q(stage)}`);
  } finally {
    await conn.run(`DROP TABLE IF EXISTS ${q(stage)}`);
  }
}

/** A TEMP table `name` of VARCHAR `columns` holding `rows` (store/engine.ts `stageRows`). */
export async function stageRows(
  conn: DuckDBConnection,
  name: string,
  columns: readonly string[],
  rows: readonly Row[],
): Promise<void> {
  await conn.run(
    `CREATE OR REPLACE TEMP TABLE ${q(name)} (${columns.map((c) => `${q(c)} VARCHAR`).join(', ')})`,
  );
  if (rows.length === 0) return;
  const appender = await conn.createAppender(name, 'main', 'temp');
  try {
    for (const r of rows) {
      for (const c of columns) {
        const v = r[c];
        if (v === null || v === undefined) appender.appendNull();
        else appender.appendVarchar(asText(v));
      }
      appender.endRow();
    }
    appender.flushSync();
  } finally {
    appender.closeSync();
  }
}

/** Deletes the stored rows with the keys of `rows` (store/engine.ts `remove`). */
export async function remove(
  conn: DuckDBConnection,
  table: string,
  rows: readonly Row[],
  key: readonly string[],
): Promise<void> {
  if (rows.length === 0) return;
  await deleteKeys(conn, table, await columnsOf(conn, table), rows, key);
}

async function deleteKeys(
  conn: DuckDBConnection,
  table: string,
  cols: readonly Column[],
  rows: readonly Row[],
  key: readonly string[],
): Promise<void> {
  const keyCols = key.map((k) => {
    const c = cols.find((x) => x.name === k);
    if (!c) throw new Error(`${table} has no key column ${k}`);
    return c;
  });
  // One bound list per key column, zipped by unnest: no SQL text from values.
  const lists = keyCols.map((c) => listValue(rows.map((r) => asText(r[c.name]))));
  const unnests = keyCols.map((c, i) => `unnest($${i + 1}) AS k${i}`).join(', ');
  const match = keyCols.map((c, i) => `${q(c.name)} = CAST(k${i} AS ${c.type})`).join(' AND ');
  await conn.run(
    `DELETE FROM ${q(table)} WHERE EXISTS (SELECT 1 FROM (SELECT ${unnests}) WHERE ${match})`,
    lists,
    lists.map(() => LIST(VARCHAR)),
  );
}

/** Deletes the stored rows with the keys of `rows`, then inserts `rows`, in one transaction. */
export async function upsert(
  conn: DuckDBConnection,
  table: string,
  rows: readonly Row[],
  key: readonly string[],
): Promise<void> {
  if (rows.length === 0) return;
  const cols = await columnsOf(conn, table);
  await conn.run('BEGIN TRANSACTION');
  try {
    await deleteKeys(conn, table, cols, rows, key);
    await insert(conn, table, rows);
    await conn.run('COMMIT');
  } catch (e) {
    await conn.run('ROLLBACK');
    throw e;
  }
}

/** Every row of `table` replaced by `batches`, in one transaction (nothing changes on a failure). */
export async function replace(
  conn: DuckDBConnection,
  table: string,
  batches: AsyncIterable<Row[]>,
): Promise<void> {
  await conn.run('BEGIN TRANSACTION');
  try {
    await conn.run(`DELETE FROM ${q(table)}`);
    for await (const rows of batches) await insert(conn, table, rows);
    await conn.run('COMMIT');
  } catch (e) {
    await conn.run('ROLLBACK');
    throw e;
  }
}
