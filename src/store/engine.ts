import type { Dialect, EngineName } from './dialect.js';
import type { Sql } from './sql.js';

export type Row = Record<string, unknown>;

/** A table of the store and its columns, in order: what a copy between engines reads and writes. */
export interface TableInfo {
  name: string;
  columns: readonly string[];
}

/**
 * A connection to one store. Impure: it runs what a dialect spells. Only code under
 * `store/<engine>/` talks to a driver; everything else holds an `Engine`.
 *
 * Values come back as plain JS: numbers for integers that fit, strings for text, ISO strings for
 * timestamps, parsed values for JSON/arrays/structs. Big integers beyond 2^53 come back as strings.
 */
export interface Engine {
  readonly name: EngineName;
  readonly dialect: Dialect;
  /** Where it is, for messages: a file path or a URL without password. */
  readonly target: string;
  /** Runs a query and returns every row. */
  query<T = Row>(q: Sql): Promise<T[]>;
  /** Runs a statement (or several, separated by `;`, when it has no parameters). */
  exec(q: Sql): Promise<void>;
  /** Applies pending migrations; idempotent. */
  migrate(): Promise<void>;
  close(): Promise<void>;
  /**
   * Another connection to the same store, for reads that must not wait for this one's work (the
   * server's readers beside its capture loader, a review's independent queries). It sees what is
   * committed when each of its statements starts (DuckDB's MVCC; ClickHouse's parts). Closing it
   * leaves the store open; closing this engine closes it too. Absent: one connection only.
   */
  connect?(): Promise<Engine>;
  /**
   * At most `n` threads for this process's queries from now on (every connection of the store):
   * what `sextant serve` uses to keep a core for answering requests while a review is built.
   * Absent: the engine decides (a ClickHouse server schedules its own threads).
   */
  limitThreads?(n: number): Promise<void>;

  /** The store's data tables (not its migration bookkeeping), with their columns in order. */
  tables(): Promise<TableInfo[]>;
  /**
   * Every row of `table` (only `columns`), in batches of at most `batchRows`, without loss:
   * timestamps as ISO strings with microseconds (`2024-01-31T23:30:00.123456Z`), JSON as its
   * text, lists as arrays. What `insert` takes back on any engine. With `where` (a condition on
   * the table's columns, e.g. keys sent with `stageRows`), only the rows it holds for.
   */
  scan(table: string, columns: readonly string[], batchRows: number, where?: Sql): AsyncIterable<Row[]>;
  /**
   * A scratch table `name` of text columns holding `rows` (replacing one of that name): keys an
   * import sends to the store to select by (`scan(…, where)` with `col IN (SELECT k FROM name)`),
   * so that it reads what it needs, not the whole table. DuckDB: a TEMP table; ClickHouse: a
   * `Memory` table (one server; on a cluster an IN over it needs GLOBAL, not done yet).
   * Never listed by `tables`. Removed by `dropStaged`.
   */
  stageRows(name: string, columns: readonly string[], rows: readonly Row[]): Promise<void>;
  dropStaged(name: string): Promise<void>;
  /**
   * Appends rows, set-based (one bulk load, never a statement per row). Values by column name:
   * timestamps as ISO strings or Dates, JSON as text, lists as arrays; a column a row leaves out
   * takes its default. `dedupToken`: an insert retried with the same token stores nothing twice
   * (ClickHouse's `insert_deduplication_token`, on `events` since migration 005; DuckDB's insert
   * is a transaction, so a failed one stored nothing and the token is not needed).
   */
  insert(table: string, rows: readonly Row[], o?: { dedupToken?: string }): Promise<void>;
  /**
   * Appends the rows of a Parquet file (written by DuckDB's `COPY … TO`: the stage's new events,
   * store/staging.ts), `columns` in the file's order, as one insert that ClickHouse parses itself
   * (no row passes through JS). `dedupToken` as for `insert`. A server is sent the file's bytes
   * through the client (no shared filesystem); chdb, in this process, reads the file. Absent: the
   * caller inserts rows.
   */
  appendParquet?(
    table: string,
    columns: readonly string[],
    file: string,
    o?: { dedupToken?: string },
  ): Promise<void>;
  /**
   * Stores rows, each replacing the stored row with the same values of `key` (the table's
   * primary key). DuckDB deletes and inserts in one transaction; ClickHouse inserts a newer
   * version that its ReplacingMergeTree keeps (reads see only the latest, see clickhouse/schema.ts).
   */
  upsert(table: string, rows: readonly Row[], key: readonly string[]): Promise<void>;
  /**
   * Deletes the stored rows with the keys of `rows` (only the `key` columns are read). DuckDB
   * deletes; ClickHouse inserts a newer version marked deleted (`_deleted = 1`), which reads
   * with `final = 1` no longer return.
   */
  remove(table: string, rows: readonly Row[], key: readonly string[]): Promise<void>;
  /**
   * `scan`'s rows (of `columns`, where `where` holds) written to a local Parquet file for DuckDB
   * to read (`read_parquet`): the stored events an import on a stage asks for
   * (store/staging.ts), with no row passing through JS. Timestamps keep their microseconds, JSON
   * its text. A server's answer is streamed to the file through the client; chdb, in this
   * process, writes it. No file, or an empty one, when no row holds. Absent: the caller scans.
   */
  scanToParquet?(table: string, columns: readonly string[], file: string, where?: Sql): Promise<void>;
  /** Deletes every row of `table` (on a cluster, on every shard). */
  truncate(table: string): Promise<void>;
  /**
   * Replaces every row of `table` by `batches`, atomically: a reader, or a store opened after a
   * kill, sees the old rows or the new ones, never a part. DuckDB deletes and inserts in one
   * transaction; ClickHouse fills a twin table and exchanges the two (single node only).
   */
  replace(table: string, batches: AsyncIterable<Row[]>): Promise<void>;
  /**
   * Makes a table of `select`'s rows named `name` that every connection of this store can read
   * while it is open, outside the store's own data (never in a file, never in `tables`), and
   * returns how to name it in FROM. What a review build computes once and several of its
   * queries read (store/build-scope.ts). Absent: the build reads subqueries instead.
   */
  shareTable?(name: string, select: Sql): Promise<Sql>;
  /** Drops a table `shareTable` made (nothing when it is gone). */
  dropSharedTable?(name: string): Promise<void>;
  /**
   * An importer's whole store step, atomic: each batch in order is bulk-loaded into a scratch
   * copy of its table, its `skip` rows dropped (a row older than the stored one of its key), its
   * `count` taken against what is stored, then it replaces the stored rows by key; then `finish`
   * runs (the import's ledger row, written with this engine) and everything commits together. A
   * kill at any instant leaves the store as before the step or as after it: a stored row is never
   * deleted without its replacement. DuckDB: one transaction. Absent: the engine's imports run on
   * a DuckDB stage of it (store/staging.ts).
   */
  loadKeyed?(batches: readonly KeyedBatch[], o?: KeyedLoadOptions): Promise<KeyedOutcome[]>;
}

/** One table's rows for `Engine.loadKeyed`. */
export interface KeyedBatch {
  table: string;
  /**
   * The rows, at most one per key (the caller keeps the one that wins), in the order they are
   * stored. Values as `insert` takes them; a column a row leaves out (or sets null) takes
   * `defaults[column]`, else null.
   */
  rows: readonly Row[];
  /** The table's key. The ledger counts by its first column. */
  key: readonly string[];
  /** Stored rows matching a row on these columns are replaced (default `key`): an invoice's lines. */
  replaceOn?: readonly string[];
  defaults?: Row;
  /** A column the store computes where `where` holds for a row (the subscription CSV's row key). */
  derive?: { column: string; value: Sql; where: Sql };
  /**
   * Rows not stored: a condition on a loaded row (aliased `s`) against the stored tables (which
   * hold the batches before this one already), e.g. a stored row of its key with a newer version.
   */
  skip?: Sql;
  /**
   * What became of the rows, for the ledger: `ids` (values of the key's first column) or `all`
   * rows; `ignore`: columns that say where a row came from, not what it says (a row that differs
   * from the stored one only there is unchanged).
   */
  count?: { ids: readonly string[] | 'all'; ignore: readonly string[] };
}

export interface KeyedLoadOptions {
  /**
   * Runs after the batches are stored and before they commit, with their outcomes (in batch
   * order): an importer writes its ledger row here, so both commit together.
   */
  finish?: (outcomes: KeyedOutcome[]) => Promise<void>;
}

/** What became of a batch's counted rows (zeros when it counts none). */
export interface KeyedOutcome {
  /** Keys not stored before. */
  inserted: number;
  /** Keys stored before with different content. */
  updated: number;
  /** Keys stored before with the same content. */
  unchanged: number;
  /** Distinct `count.ids` not stored because of `skip` (their stored state is newer). */
  skipped: number;
}
