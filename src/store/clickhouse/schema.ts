/**
 * The ClickHouse schema, described once and spelled for a single server (or chdb) or for a
 * cluster (`?cluster=NAME`). Columns mirror the DuckDB store (store/duckdb/migrations) one for one
 * — same names, same nullability — so a copy between engines is a plain insert and every analysis
 * reads the same columns; `schema.test.ts` checks the two stay in step.
 *
 * Table engines:
 * - `events` is an append-only MergeTree, partitioned by month and ordered for the queries that
 *   dominate (an event name, a time range, then each person's events in time order).
 * - Everything that changes (Stripe objects, persons, groups, reviews, decisions, to-dos, the import
 *   ledger) is a ReplacingMergeTree ordered by the DuckDB primary key, with a `_version` (insert
 *   time in µs: the latest write wins) and `_deleted` flag, both hidden from `SELECT *`. An upsert is an insert; every query runs
 *   with `final = 1` (clickhouse/engine.ts), so reads see exactly one row per key, the latest,
 *   without waiting for a background merge.
 *
 * On a cluster, `events` and `persons` are sharded by a hash of the person (a person's events on
 * one shard, so funnels, retention and per-person windows stay shard-local): a replicated local
 * table `<name>_local` on every node plus a `Distributed` table `<name>` that queries read. The
 * other tables are small and joined from everywhere, so every node holds a full replicated copy
 * under the table's own name. See docs/clickhouse.md.
 */

export interface TableDef {
  name: string;
  /** [name, ClickHouse type, default expression?], in the DuckDB table's column order. */
  columns: readonly (readonly [string, string, string?])[];
  /** ReplacingMergeTree keyed by `orderBy` (versioned) or an append-only MergeTree. */
  versioned: boolean;
  orderBy: readonly string[];
  /** A prefix of `orderBy` for the sparse index, when the full sort key is longer than needed. */
  primaryKey?: readonly string[];
  partitionBy?: string;
  /** Cluster only: the sharding expression. Without one, every node holds the whole table. */
  shardBy?: string;
}

export const VERSION_COLUMN = '_version';
export const DELETED_COLUMN = '_deleted';
/** Columns ClickHouse keeps for its own bookkeeping: never copied, never read by analyses. */
export const INTERNAL_COLUMNS: readonly string[] = [VERSION_COLUMN, DELETED_COLUMN];

export interface SchemaContext {
  /** The database tables live in. */
  database: string;
  /** `?cluster=NAME`: the schema is created ON CLUSTER, sharded and replicated. */
  cluster?: string;
}

/** A ClickHouse identifier, quoted: backslashes and backticks escaped. */
export const ident = (name: string): string =>
  '`' + name.replaceAll('\\', '\\\\').replaceAll('`', '\\`') + '`';
/** A ClickHouse string literal: backslashes and quotes escaped. */
export const str = (s: string): string => "'" + s.replaceAll('\\', '\\\\').replaceAll("'", "\\'") + "'";
const onCluster = (ctx: SchemaContext): string => (ctx.cluster ? ` ON CLUSTER ${ident(ctx.cluster)}` : '');

function columnList(t: TableDef): string {
  const cols = t.columns.map(([n, type, dflt]) => `  ${ident(n)} ${type}${dflt ? ` DEFAULT ${dflt}` : ''}`);
  if (t.versioned) {
    // MATERIALIZED: set at insert, never part of `SELECT *` nor of an insert's columns, so rows
    // read and written back (an upsert) get a fresh version. A delete (phase 2) inserts _deleted = 1
    // with insert_allow_materialized_columns.
    cols.push(`  ${ident(VERSION_COLUMN)} UInt64 MATERIALIZED toUnixTimestamp64Micro(now64(6))`);
    cols.push(`  ${ident(DELETED_COLUMN)} UInt8 MATERIALIZED 0`);
  }
  return cols.join(',\n');
}

function engineOf(t: TableDef, ctx: SchemaContext): string {
  const kind = t.versioned ? 'ReplacingMergeTree' : 'MergeTree';
  const versionArgs = t.versioned ? [ident(VERSION_COLUMN), ident(DELETED_COLUMN)] : [];
  if (!ctx.cluster) return `${kind}(${versionArgs.join(', ')})`;
  // One replication group per shard for sharded tables; one group across the whole cluster for
  // the tables every node holds (replica names must then be unique cluster-wide: {shard}-{replica}).
  const path = t.shardBy
    ? `/clickhouse/tables/{shard}/{database}/${t.name}`
    : `/clickhouse/tables/all/{database}/${t.name}`;
  const replica = t.shardBy ? '{replica}' : '{shard}-{replica}';
  return `Replicated${kind}(${[str(path), str(replica), ...versionArgs].join(', ')})`;
}

function tableSettings(t: TableDef): string {
  return [
    t.partitionBy ? `PARTITION BY ${t.partitionBy}` : '',
    `ORDER BY (${t.orderBy.join(', ')})`,
    t.primaryKey ? `PRIMARY KEY (${t.primaryKey.join(', ')})` : '',
  ]
    .filter(Boolean)
    .join('\n');
}

/** The name a query reads: the table itself, or on a cluster its Distributed table. */
export function localName(t: TableDef, ctx: SchemaContext): string {
  return ctx.cluster && t.shardBy ? `${t.name}_local` : t.name;
}

/** CREATE statements for one table (two on a cluster when sharded: local, then Distributed). */
export function createTable(t: TableDef, ctx: SchemaContext): string[] {
  const local = localName(t, ctx);
  const out = [
    `CREATE TABLE IF NOT EXISTS ${ident(local)}${onCluster(ctx)}\n(\n${columnList(t)}\n)\nENGINE = ${engineOf(t, ctx)}\n${tableSettings(t)}`,
  ];
  if (ctx.cluster && t.shardBy) {
    out.push(
      `CREATE TABLE IF NOT EXISTS ${ident(t.name)}${onCluster(ctx)} AS ${ident(local)}\n` +
        `ENGINE = Distributed(${str(ctx.cluster)}, ${str(ctx.database)}, ${str(local)}, ${t.shardBy})`,
    );
  }
  return out;
}

/** ALTER … ADD COLUMN for a table (on a cluster: the local table, then its Distributed table). */
export function addColumn(t: TableDef, ctx: SchemaContext, name: string, type: string): string[] {
  const targets = ctx.cluster && t.shardBy ? [localName(t, ctx), t.name] : [t.name];
  return targets.map(
    (n) => `ALTER TABLE ${ident(n)}${onCluster(ctx)} ADD COLUMN IF NOT EXISTS ${ident(name)} ${type}`,
  );
}

export function createDatabase(ctx: SchemaContext): string {
  return `CREATE DATABASE IF NOT EXISTS ${ident(ctx.database)}${onCluster(ctx)}`;
}

/** The migrations bookkeeping table: a full copy on every node. */
export const SCHEMA_MIGRATIONS: TableDef = {
  name: 'schema_migrations',
  columns: [
    ['version', 'Int32'],
    ['name', 'Nullable(String)'],
    ['applied_at', "Nullable(DateTime64(6, 'UTC'))"],
  ],
  versioned: true,
  orderBy: ['version'],
};
