import {
  closeSync,
  existsSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeSync,
} from 'node:fs';
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
import type { Engine, KeyedBatch, KeyedLoadOptions, KeyedOutcome, Row, TableInfo } from '../engine.js';
import { faultPoint } from '../fault.js';
import { clearDeadScratch } from '../scratch.js';
import { ident, raw, sql, type Sql, type SqlValue } from '../sql.js';
import * as copy from './copy.js';
import { duckdbDialect } from './dialect.js';
import { loadKeyed } from './load-keyed.js';
import { lockedMessage, lockHolderPid } from './lock.js';
import { repairIdentityMap } from './ingest-identity.js';

/** The in-memory database beside the store that holds `shareTable`'s tables. */
const SHARED_DATABASE = 'sextant_shared';

/** The migration that recomputes every store's identity map once (its file says why). */
const IDENTITY_MAP_MIGRATION = 28;

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
  /** The engine whose instance this connection shares (`connect`); none for the one that opened it. */
  readonly #owner: DuckDbEngine | undefined;
  readonly #children = new Set<DuckDbEngine>();
  #closed = false;

  private constructor(
    target: string,
    instance: DuckDBInstance,
    conn: DuckDBConnection,
    owner?: DuckDbEngine,
  ) {
    this.target = target;
    this.#instance = instance;
    this.#conn = conn;
    this.#owner = owner;
  }

  /**
   * Opens (creating if needed) a DuckDB file, or `:memory:`. A file whose WAL DuckDB cannot replay
   * because migrations were interrupted by a crash is recovered (see `migrate`).
   */
  static async open(path: string): Promise<DuckDbEngine> {
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
    const instance = await createInstance(path);
    // The WAL replayed: a marker left by migrations that were killed after their last commit
    // (or whose WAL DuckDB could replay) is stale. `migrate` writes a new one if any are pending.
    if (path !== ':memory:') {
      rmSync(migratingMarker(path), { force: true });
      // What killed imports left (chunk files, spooled batches): this process holds the store now.
      clearDeadScratch(path);
    }
    const conn = await instance.connect();
    await conn.run("SET TimeZone = 'UTC'");
    return new DuckDbEngine(path, instance, conn);
  }

  /**
   * A second connection on the same DuckDB instance: it runs beside this one (each statement on
   * DuckDB's threads), and sees what is committed when each of its statements starts, never an
   * open transaction of another connection. Same session settings (UTC).
   */
  async connect(): Promise<DuckDbEngine> {
    const owner = this.#owner ?? this;
    if (owner.#closed) throw new Error(`the store ${this.target} is closed`);
    const conn = await this.#instance.connect();
    await conn.run("SET TimeZone = 'UTC'");
    const child = new DuckDbEngine(this.target, this.#instance, conn, owner);
    owner.#children.add(child);
    return child;
  }

  /** DuckDB's `threads` setting, which is the instance's: every connection of the store. */
  async limitThreads(n: number): Promise<void> {
    if (!Number.isInteger(n) || n < 1) throw new Error(`threads must be a whole number ≥ 1, not ${n}`);
    await this.exec(raw(`SET threads = ${n}`));
  }

  /** The raw connection, for code inside `store/duckdb/` only. */
  get connection(): DuckDBConnection {
    return this.#conn;
  }

  async query<T = Row>(q: Sql): Promise<T[]> {
    const { text, values } = q.render((i) => `$${i + 1}`, 'duckdb');
    faultPoint(() => statementLabel(text));
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
    faultPoint(() => statementLabel(text));
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
   * In an in-memory database attached to the instance (`sextant_shared`): every connection of the
   * instance sees it, it never reaches the store file nor its WAL, and it is gone when the store
   * closes. Made from the connection at hand, in its own statement (committed when it returns).
   */
  async shareTable(name: string, select: Sql): Promise<Sql> {
    await this.exec(raw(`ATTACH IF NOT EXISTS ':memory:' AS ${SHARED_DATABASE}`));
    const table = raw(`${SHARED_DATABASE}.${ident(name).toString()}`);
    await this.exec(sql`CREATE OR REPLACE TABLE ${table} AS ${select}`);
    return table;
  }

  async dropSharedTable(name: string): Promise<void> {
    await this.exec(raw(`DROP TABLE IF EXISTS ${SHARED_DATABASE}.${ident(name).toString()}`));
  }

  /**
   * Appends rows through DuckDB's appender (no per-row INSERT). Values are appended in `columns`
   * order; the table's other columns take their defaults.
   */
  async append(table: string, rows: Iterable<readonly SqlValue[]>): Promise<void> {
    faultPoint(`append ${table}`);
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

  /**
   * Applies the pending migrations, each in its own transaction, then checkpoints. DuckDB cannot
   * replay from its WAL an ALTER of a table that has a non-constant default (`events.imported_at
   * DEFAULT now()`, `todos.id DEFAULT nextval(…)`: "Failure while replaying WAL file", duckdb
   * issues 18259, 20543), so a crash between a migration's commit and the next checkpoint left a
   * file that could never be opened again. Hence: the store is checkpointed first (the WAL is
   * empty), a marker file `<db>.migrating` is written, the migrations run, the store is
   * checkpointed and the marker removed. Should a crash land in between and the WAL not replay,
   * `open` knows from the marker that the WAL holds only the migrations' work, removes it and
   * opens the checkpointed state; the migrations then run again.
   */
  async migrate(): Promise<void> {
    const done = await this.#appliedMigrations();
    const pending = readdirSync(MIGRATIONS_DIR)
      .filter((f) => /^\d+_.+\.sql$/.test(f))
      .sort()
      .filter((f) => !done.has(Number(f.split('_')[0])));
    if (pending.length === 0) return;
    const file = this.target !== ':memory:';
    if (file) {
      faultPoint('checkpoint before migrations');
      await this.#conn.run('CHECKPOINT');
      writeDurably(migratingMarker(this.target), JSON.stringify({ pid: process.pid, pending }) + '\n');
    }
    await this.#runMigration(
      'schema_migrations',
      'CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name VARCHAR, applied_at TIMESTAMPTZ)',
    );
    for (const f of pending) {
      await this.#runMigration(f, readFileSync(MIGRATIONS_DIR + f, 'utf8'), Number(f.split('_')[0]));
    }
    if (file) {
      faultPoint('checkpoint after migrations');
      await this.#conn.run('CHECKPOINT');
      faultPoint('remove migrations marker');
      rmSync(migratingMarker(this.target), { force: true });
    }
  }

  async #appliedMigrations(): Promise<Set<number>> {
    const [t] = await this.query<{ n: number }>(
      raw(`SELECT count(*)::INTEGER AS n FROM information_schema.tables
        WHERE table_schema = 'main' AND table_name = 'schema_migrations'`),
    );
    if (!t?.n) return new Set();
    const rows = await this.query<{ version: number }>(raw('SELECT version FROM schema_migrations'));
    return new Set(rows.map((r) => r.version));
  }

  async #runMigration(name: string, text: string, version?: number): Promise<void> {
    faultPoint(`migration ${name}`);
    await this.#conn.run('BEGIN TRANSACTION');
    try {
      await this.#conn.run(text);
      // In the same transaction: a kill leaves the migration to run again, repair included.
      if (version === IDENTITY_MAP_MIGRATION) await repairIdentityMap(this);
      if (version !== undefined) {
        await this.#conn.run('INSERT INTO schema_migrations VALUES ($1, $2, now())', [version, name]);
      }
      faultPoint(`commit migration ${name}`);
      await this.#conn.run('COMMIT');
    } catch (e) {
      await this.#conn.run('ROLLBACK');
      throw new Error(`migration ${name} failed on ${this.target}: ${(e as Error).message}`);
    }
  }

  tables(): Promise<TableInfo[]> {
    return copy.tables(this.#conn);
  }

  scan(table: string, columns: readonly string[], batchRows: number, where?: Sql): AsyncIterable<Row[]> {
    if (!where) return copy.scan(this.#conn, table, columns, batchRows);
    const { text, values } = where.render((i) => `$${i + 1}`, 'duckdb');
    const bound = values.map(bind);
    return copy.scan(this.#conn, table, columns, batchRows, {
      text,
      values: bound.map((b) => b.value),
      types: bound.map((b) => b.type),
    });
  }

  stageRows(name: string, columns: readonly string[], rows: readonly Row[]): Promise<void> {
    return copy.stageRows(this.#conn, name, columns, rows);
  }

  async dropStaged(name: string): Promise<void> {
    await this.#conn.run(`DROP TABLE IF EXISTS temp.main."${name.replaceAll('"', '""')}"`);
  }

  insert(table: string, rows: readonly Row[], _o?: { dedupToken?: string }): Promise<void> {
    return copy.insert(this.#conn, table, rows);
  }

  upsert(table: string, rows: readonly Row[], key: readonly string[]): Promise<void> {
    return copy.upsert(this.#conn, table, rows, key);
  }

  remove(table: string, rows: readonly Row[], key: readonly string[]): Promise<void> {
    return copy.remove(this.#conn, table, rows, key);
  }

  replace(table: string, batches: AsyncIterable<Row[]>): Promise<void> {
    return copy.replace(this.#conn, table, batches);
  }

  loadKeyed(batches: readonly KeyedBatch[], o?: KeyedLoadOptions): Promise<KeyedOutcome[]> {
    return loadKeyed(this, batches, o);
  }

  async truncate(table: string): Promise<void> {
    await this.#conn.run(`DELETE FROM "${table.replaceAll('"', '""')}"`);
  }

  close(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    this.#closed = true;
    if (this.#owner) {
      // A connection of `connect`: the store stays open for the others.
      this.#owner.#children.delete(this);
      this.#conn.closeSync();
      return Promise.resolve();
    }
    faultPoint('close');
    for (const child of this.#children) {
      child.#closed = true;
      child.#conn.closeSync();
    }
    this.#children.clear();
    this.#conn.closeSync();
    this.#instance.closeSync();
    return Promise.resolve();
  }
}

/** A statement's first words, for fault points. */
function statementLabel(text: string): string {
  return text.replace(/\s+/g, ' ').trim().slice(0, 60);
}

/** Present while migrations run on `db` (see `DuckDbEngine.migrate`). */
export function migratingMarker(db: string): string {
  return `${db}.migrating`;
}

/**
 * `DuckDBInstance.create`, recovering a WAL that holds only interrupted migrations (the marker
 * says so; see `migrate`): it is removed and the checkpointed store is opened, whose migrations
 * then run again.
 */
async function createInstance(path: string): Promise<DuckDBInstance> {
  try {
    return await DuckDBInstance.create(path);
  } catch (e) {
    const message = (e as Error).message;
    const holder = lockHolderPid(message);
    if (holder !== undefined) throw new Error(lockedMessage(path, holder));
    const wal = `${path}.wal`;
    if (
      path === ':memory:' ||
      !/Failure while replaying WAL/i.test(message) ||
      !existsSync(migratingMarker(path)) ||
      !existsSync(wal)
    ) {
      throw e;
    }
    rmSync(wal);
    return DuckDBInstance.create(path);
  }
}

/** Writes `text` to `file` and flushes it to disk before returning. */
function writeDurably(file: string, text: string): void {
  const fd = openSync(file, 'w');
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  const dir = openSync(dirname(file), 'r');
  try {
    fsyncSync(dir);
  } finally {
    closeSync(dir);
  }
}
