import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DuckDbEngine } from '../duckdb/engine.js';
import { raw, sql } from '../sql.js';
import type { ClickHouseEngine } from './engine.js';
import { CURRENT_TABLES, MIGRATIONS } from './migrations/index.js';
import { INTERNAL_COLUMNS, SCHEMA_MIGRATIONS, createDatabase, createTable } from './schema.js';
import { openChdb } from './test-chdb.js';

let duck: DuckDbEngine;
let ch: ClickHouseEngine;

beforeAll(async () => {
  duck = await DuckDbEngine.open(':memory:');
  await duck.migrate();
  ch = await openChdb();
});
afterAll(async () => {
  await duck.close();
  await ch.close();
});

/** The ClickHouse type a DuckDB column maps to (clickhouse/migrations/001_init.ts). */
function expectedType(duckType: string, nullable: boolean): string {
  const base: Record<string, string> = {
    VARCHAR: 'String',
    JSON: 'String',
    BIGINT: 'Int64',
    INTEGER: 'Int32',
    DOUBLE: 'Float64',
    BOOLEAN: 'Bool',
    'TIMESTAMP WITH TIME ZONE': "DateTime64(6, 'UTC')",
  };
  if (duckType === 'VARCHAR[]') return 'Array(String)'; // never null in ClickHouse: [] stands for null
  const t = base[duckType];
  if (!t)
    throw new Error(`no ClickHouse type for DuckDB ${duckType}: add one to schema.test.ts and 001_init.ts`);
  return nullable ? `Nullable(${t})` : t;
}

describe('the ClickHouse schema mirrors the DuckDB store', () => {
  it('has every DuckDB table and column, in order, with the matching type and nullability', async () => {
    const duckCols = await duck.query<{ t: string; c: string; type: string; nullable: string }>(
      raw(
        `SELECT table_name AS t, column_name AS c, data_type AS type, is_nullable AS nullable
       FROM information_schema.columns WHERE table_schema = 'main' AND table_name <> 'schema_migrations'
       ORDER BY table_name, ordinal_position`,
      ),
    );
    const chCols = await ch.query<{ t: string; c: string; type: string }>(
      sql`SELECT table AS t, name AS c, type FROM system.columns
          WHERE database = currentDatabase() AND table <> 'schema_migrations' AND name NOT IN ${[...INTERNAL_COLUMNS]}
          ORDER BY table, position`,
    );
    // A new DuckDB migration (store/duckdb/migrations) needs its twin in store/clickhouse/migrations.
    expect(chCols.map((r) => `${r.t}.${r.c} ${r.type}`)).toEqual(
      duckCols.map((r) => `${r.t}.${r.c} ${expectedType(r.type, r.nullable === 'YES')}`),
    );
  });

  it('keys every versioned table by its DuckDB primary key', async () => {
    const pks = await duck.query<{ t: string; cols: string[] }>(
      raw(`SELECT table_name AS t, constraint_column_names AS cols FROM duckdb_constraints()
           WHERE constraint_type = 'PRIMARY KEY' AND table_name <> 'schema_migrations' ORDER BY 1`),
    );
    const keys = await ch.query<{ t: string; key: string; engine: string }>(
      sql`SELECT name AS t, sorting_key AS key, engine FROM system.tables
          WHERE database = currentDatabase() AND name <> 'schema_migrations' ORDER BY name`,
    );
    for (const { t, cols } of pks) {
      const k = keys.find((x) => x.t === t);
      expect({ t, engine: k?.engine, key: k?.key.replace(/^\((.*)\)$/, '$1') }).toEqual({
        t,
        engine: 'ReplacingMergeTree',
        key: cols.join(', '),
      });
    }
    expect(keys.find((k) => k.t === 'events')).toMatchObject({ engine: 'MergeTree' });
  });
});

describe('the cluster schema (?cluster=NAME)', () => {
  const ctx = { database: 'sextant', cluster: 'sextant_cluster' };
  // Spelled for a store where every table of the previous migrations exists in its old shape.
  const inspect = { tableExists: () => Promise.resolve(true), hasColumn: () => Promise.resolve(false) };
  let statements: string[] = [];
  beforeAll(async () => {
    statements = [createDatabase(ctx), ...createTable(SCHEMA_MIGRATIONS, ctx)];
    for (const m of MIGRATIONS) statements.push(...(await m.statements(ctx, inspect)));
  });

  it("is valid ClickHouse: every statement parses with ClickHouse's own parser", async () => {
    // No cluster can run here (chdb hosts no remote shards): formatQuery parses and re-prints.
    expect(statements.length).toBeGreaterThan(30);
    for (const s of statements) {
      const formatted = await ch.formatQuery(s);
      // DDL on every node; an INSERT goes to one replica, which replicates it.
      if (!formatted.startsWith('INSERT')) expect(formatted).toMatch(/ON CLUSTER sextant_cluster/);
    }
  });

  it('shards events and persons by person, replicates the rest whole on every node', async () => {
    const text = (await Promise.all(statements.map((s) => ch.formatQuery(s)))).join('\n');
    expect(text).toMatch(
      /CREATE TABLE IF NOT EXISTS events_local ON CLUSTER sextant_cluster[\s\S]*ReplicatedMergeTree\('\/clickhouse\/tables\/\{shard\}\/\{database\}\/events', '\{replica\}'\)/,
    );
    expect(text).toMatch(
      /CREATE TABLE IF NOT EXISTS events ON CLUSTER sextant_cluster AS events_local\s+ENGINE = Distributed\('sextant_cluster', 'sextant', 'events_local', cityHash64\(person_id\)\)/,
    );
    expect(text).toMatch(
      /persons_local[\s\S]*Distributed\('sextant_cluster', 'sextant', 'persons_local', cityHash64\(person_id\)\)/,
    );
    expect(text).toMatch(
      /CREATE TABLE IF NOT EXISTS billing_invoice_lines ON CLUSTER sextant_cluster[\s\S]*ReplicatedReplacingMergeTree\('\/clickhouse\/tables\/all\/\{database\}\/billing_invoice_lines', '\{shard\}-\{replica\}', _version, _deleted\)/,
    );
    expect(text).not.toMatch(/billing_invoice_lines_local/);
  });

  it('single-node statements name no cluster, and chdb ran them: every table of the schema exists', async () => {
    const single: string[] = [];
    for (const m of MIGRATIONS) single.push(...(await m.statements({ database: 'x' }, inspect)));
    expect(single.join('\n')).not.toMatch(/ON CLUSTER|Replicated|Distributed/);
    const rows = await ch.query<{ name: string }>(
      sql`SELECT name FROM system.tables WHERE database = currentDatabase() AND engine LIKE '%MergeTree' ORDER BY name`,
    );
    expect(rows.map((r) => r.name)).toEqual([...CURRENT_TABLES.keys(), 'schema_migrations'].sort());
  });
});
