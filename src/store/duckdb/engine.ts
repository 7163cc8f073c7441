import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  BIGINT,
  BOOLEAN,
  DOUBLE,
  DuckDBInstance,
  LIST,
  TIMESTAMPTZ,
  VARCHAR,
  listValue,
  timestampTZValue,
  type DuckDBConnection,
  type DuckDBType,
  type DuckDBValue,
} from '@duckdb/node-api';
import type { Engine, Row, TableInfo } from '../engine.js';
import { raw, type Sql, type SqlValue } from '../sql.js';
import * as copy from './copy.js';
import { duckdbDialect } from './dialect.js';

const MIGRATIONS_DIR = fileURLToPath(new URL('./migrations/', import.meta.url));

/** Plain JS values out of DuckDB's: safe bigints as numbers, timestamps as ISO strings. */
export function toPlain(v: unknown): unknown {
  if (typeof v === 'bigint') {
    return v <= BigInt(Number.MAX_SAFE_INTEGER) && v >= BigInt(Number.MIN_SAFE_INTEGER)
      ? Number(v)
      : v.toString();
  }
  if (v instanceof Date) return v.toISOString();
  if (Array.isArray(v)) return v.map(toPlain);
  if (v !== null && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) out[k] = toPlain(x);
    return out;
  }
  return v;
}

function bind(value: SqlValue): { value: DuckDBValue; type: DuckDBType } {
  if (value === null) return { value: null, type: VARCHAR };
  if (typeof value === 'string') return { value, type: VARCHAR };
  if (typeof value === 'boolean') return { value, type: BOOLEAN };
  if (typeof value === 'bigint') return { value, type: BIGINT };
  if (typeof value === 'number') {
    return Number.isSafeInteger(value) ? { value: BigInt(value), type: BIGINT } : { value, type: DOUBLE };
  }
  if (value instanceof Date) {
    return { value: timestampTZValue(BigInt(value.getTime()) * 1000n), type: TIMESTAMPTZ };
  }
  if (value.every((x) => typeof x === 'string')) return { value: listValue([...value]), type: LIST(VARCHAR) };
  return { value: listValue([...value]), type: LIST(DOUBLE) };
}

export class DuckDbEngine implements Engine {
  readonly name = 'duckdb' as const;
  readonly dialect = duckdbDialect;
  readonly target: string;
  readonly #instance: DuckDBInstance;
  readonly #conn: DuckDBConnection;

  private constructor(target: string, instance: DuckDBInstance, conn: DuckDBConnection) {
    this.target = target;
    this.#instance = instance;
    this.#conn = conn;
  }

  /** Opens (creating if needed) a DuckDB file, or `:memory:`. */
  static async open(path: string): Promise<DuckDbEngine> {
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
    const instance = await DuckDBInstance.create(path);
    const conn = await instance.connect();
    await conn.run("SET TimeZone = 'UTC'");
    return new DuckDbEngine(path, instance, conn);
  }

  /** The raw connection, for code inside `store/duckdb/` only. */
  get connection(): DuckDBConnection {
    return this.#conn;
  }

  async query<T = Row>(q: Sql): Promise<T[]> {
    const { text, values } = q.render((i) => `$${i + 1}`, 'duckdb');
    const bound = values.map(bind);
    const reader = await this.#conn.runAndReadAll(
      text,
      bound.map((b) => b.value),
      bound.map((b) => b.type),
    );
    return reader.getRowObjectsJS().map((r) => toPlain(r) as T);
  }

  async exec(q: Sql): Promise<void> {
    const { text, values } = q.render((i) => `$${i + 1}`, 'duckdb');
    if (values.length === 0) {
      await this.#conn.run(text);
      return;
    }
    const bound = values.map(bind);
    await this.#conn.run(
      text,
      bound.map((b) => b.value),
      bound.map((b) => b.type),
    );
  }

  /**
   * Appends rows through DuckDB's appender (no per-row INSERT). Values are appended in `columns`
   * order; the table's other columns take their defaults.
   */
  async append(table: string, rows: Iterable<readonly SqlValue[]>): Promise<void> {
    const appender = await this.#conn.createAppender(table);
    try {
      for (const row of rows) {
        for (const v of row) {
          if (v === null) appender.appendNull();
          else {
            const b = bind(v);
            appender.appendValue(b.value, b.type);
          }
        }
        appender.endRow();
      }
      appender.flushSync();
    } finally {
      appender.closeSync();
    }
  }

  async migrate(): Promise<void> {
    await this.#conn.run(
      'CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name VARCHAR, applied_at TIMESTAMPTZ)',
    );
    const done = new Set(
      (await this.query<{ version: number }>(raw('SELECT version FROM schema_migrations'))).map(
        (r) => r.version,
      ),
    );
    const files = readdirSync(MIGRATIONS_DIR)
      .filter((f) => /^\d+_.+\.sql$/.test(f))
      .sort();
    for (const f of files) {
      const version = Number(f.split('_')[0]);
      if (done.has(version)) continue;
      const text = readFileSync(MIGRATIONS_DIR + f, 'utf8');
      await this.#conn.run('BEGIN TRANSACTION');
      try {
        await this.#conn.run(text);
        await this.#conn.run('INSERT INTO schema_migrations VALUES ($1, $2, now())', [version, f]);
        await this.#conn.run('COMMIT');
      } catch (e) {
        await this.#conn.run('ROLLBACK');
        throw new Error(`migration ${f} failed on ${this.target}: ${(e as Error).message}`);
      }
    }
  }

  tables(): Promise<TableInfo[]> {
    return copy.tables(this.#conn);
  }

  scan(table: string, columns: readonly string[], batchRows: number): AsyncIterable<Row[]> {
    return copy.scan(this.#conn, table, columns, batchRows);
  }

  insert(table: string, rows: readonly Row[]): Promise<void> {
    return copy.insert(this.#conn, table, rows);
  }

  upsert(table: string, rows: readonly Row[], key: readonly string[]): Promise<void> {
    return copy.upsert(this.#conn, table, rows, key);
  }

  async truncate(table: string): Promise<void> {
    await this.#conn.run(`DELETE FROM "${table.replaceAll('"', '""')}"`);
  }

  close(): Promise<void> {
    this.#conn.closeSync();
    this.#instance.closeSync();
    return Promise.resolve();
  }
}
