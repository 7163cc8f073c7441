import { describe, expect, it } from 'vitest';
import { raw, sql } from '../sql.js';
import { DuckDbEngine } from './engine.js';

describe('DuckDB engine', () => {
  it('limits the threads of every connection of the store, and refuses a count that is not one', async () => {
    const e = await DuckDbEngine.open(':memory:');
    const other = await e.connect();
    await e.limitThreads(1);
    const threads = async (x: DuckDbEngine) =>
      Number((await x.query<{ t: unknown }>(sql`SELECT current_setting('threads') AS t`))[0]!.t);
    expect(await threads(e)).toBe(1);
    expect(await threads(other)).toBe(1);
    await e.limitThreads(2);
    expect(await threads(other)).toBe(2);
    await expect(e.limitThreads(0)).rejects.toThrow(/threads/);
    await expect(e.limitThreads(1.5)).rejects.toThrow(/threads/);
    await e.close();
  });

  it('binds every value as a parameter, never as SQL text', async () => {
    const e = await DuckDbEngine.open(':memory:');
    const evil = "x'); DROP TABLE t; --";
    await e.exec(raw('CREATE TABLE t (s VARCHAR)'));
    await e.exec(sql`INSERT INTO t VALUES (${evil})`);
    const rows = await e.query<{ s: string; n: number }>(
      sql`SELECT s, (SELECT count(*) FROM t) AS n FROM t WHERE s = ${evil}`,
    );
    expect(rows).toEqual([{ s: evil, n: 1 }]);
    await e.close();
  });

  it('returns plain JS values: integers as numbers, timestamps as UTC ISO strings', async () => {
    const e = await DuckDbEngine.open(':memory:');
    const [row] = await e.query(
      sql`SELECT 42::BIGINT AS i, ${new Date('2024-01-31T23:30:00-05:00')} AS t, list_contains(${['a', 'b']}, 'b') AS has, ${1.5} AS f`,
    );
    expect(row).toEqual({ i: 42, t: '2024-02-01T04:30:00.000Z', has: true, f: 1.5 });
    await e.close();
  });

  it('migrates once, idempotently', async () => {
    const e = await DuckDbEngine.open(':memory:');
    await e.migrate();
    await e.migrate();
    const [row] = await e.query<{ n: number }>(raw('SELECT count(*) AS n FROM schema_migrations'));
    expect(row?.n).toBeGreaterThanOrEqual(1);
    const tables = await e.query<{ name: string }>(
      raw('SELECT table_name AS name FROM information_schema.tables ORDER BY 1'),
    );
    expect(tables.map((t) => t.name)).toEqual(
      expect.arrayContaining(['events', 'person_distinct_ids', 'billing_invoice_lines', 'feedback', 'todos']),
    );
    await e.close();
  });
});
