import { describe, expect, it } from 'vitest';
import { raw, sql } from '../sql.js';
import { openChdb } from './test-chdb.js';

describe('ClickHouse engine (chdb, through @clickhouse/client)', () => {
  it('binds every value as a typed parameter, never as SQL text', async () => {
    const e = await openChdb({ migrate: false });
    const evil = "x'); DROP TABLE t; --\\";
    await e.exec(raw('CREATE TABLE t (s String) ENGINE = MergeTree ORDER BY s'));
    await e.exec(sql`INSERT INTO t VALUES (${evil})`);
    const rows = await e.query<{ s: string; n: number }>(
      sql`SELECT s, (SELECT count(*) FROM t) AS n FROM t WHERE s = ${evil}`,
    );
    expect(rows).toEqual([{ s: evil, n: 1 }]);
    await e.close();
  });

  it('returns plain JS values exactly as the DuckDB engine does', async () => {
    const e = await openChdb({ migrate: false });
    const [row] = await e.query(
      sql`SELECT toInt64(42) AS i, ${new Date('2024-01-31T23:30:00.123-05:00')} AS t, ${1.5} AS f, toUInt64(9007199254740993) AS big, count(*) AS c, [toDate('2024-01-02')] AS d,
        toDateTime64('2024-01-01 00:00:00.123456', 6, 'UTC') AS micro, CAST(NULL AS Nullable(Int64)) AS nul,
        sum(toInt64(2)) AS s, ${true} AS yes, ${null} AS nothing`,
    );
    expect(row).toEqual({
      i: 42,
      t: '2024-02-01T04:30:00.123Z',
      f: 1.5,
      big: '9007199254740993',
      c: 1,
      d: ['2024-01-02T00:00:00.000Z'],
      micro: '2024-01-01T00:00:00.123Z',
      nul: null,
      s: 2,
      yes: true,
      nothing: null,
    });
    await e.close();
  });

  it('migrates once, idempotently, with every DuckDB table', async () => {
    const e = await openChdb();
    await e.migrate();
    const [row] = await e.query<{ n: number }>(raw('SELECT count(*) AS n FROM schema_migrations'));
    expect(row?.n).toBeGreaterThanOrEqual(1);
    const tables = (await e.tables()).map((t) => t.name);
    expect(tables).toEqual(
      expect.arrayContaining(['events', 'person_distinct_ids', 'billing_invoice_lines', 'feedback', 'todos']),
    );
    await e.close();
  });

  it('upserts by key: reads see one row per key, the latest', async () => {
    const e = await openChdb();
    const review = (at: string, body: string) => ({
      product: 'all',
      month: '2024-01',
      generated_at: at,
      review: body,
    });
    await e.upsert('reviews', [review('2024-02-01T00:00:00Z', '{"v":1}')], ['product', 'month']);
    await e.upsert('reviews', [review('2024-02-02T00:00:00Z', '{"v":2}')], ['product', 'month']);
    expect(await e.query(raw('SELECT month, generated_at, review FROM reviews'))).toEqual([
      { month: '2024-01', generated_at: '2024-02-02T00:00:00.000Z', review: '{"v":2}' },
    ]);
    await expect(e.upsert('reviews', [], ['month'])).rejects.toThrow(/not keyed by/);
    await e.close();
  });

  it('stores an events batch sent again with the same deduplication token once (migration 005)', async () => {
    const e = await openChdb();
    const batch = [
      { uuid: 'a', event: 'x', distinct_id: 'd', person_id: 'd', timestamp: '2024-01-01T00:00:00.000001Z' },
      { uuid: 'b', event: 'x', distinct_id: 'd', person_id: 'd', timestamp: '2024-01-02T00:00:00Z' },
    ];
    const count = async (): Promise<number> =>
      (await e.query<{ n: number }>(raw('SELECT count(*) AS n FROM events')))[0]!.n;
    await e.insert('events', batch, { dedupToken: 'import-1:0' });
    await e.insert('events', batch, { dedupToken: 'import-1:0' }); // the retry
    expect(await count()).toBe(2);
    // Another token is another batch (the same rows, on purpose here): stored.
    await e.insert('events', batch, { dedupToken: 'import-1:1' });
    expect(await count()).toBe(4);
    // The token is the batch's only: the next insert without one is not deduplicated by it.
    await e.insert('events', batch.slice(0, 1));
    expect(await count()).toBe(5);
    await e.close();
  });
});
