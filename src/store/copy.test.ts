import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openChdb } from './clickhouse/test-chdb.js';
import { copyStore } from './copy.js';
import { DuckDbEngine } from './duckdb/engine.js';
import type { Engine, Row } from './engine.js';
import { raw, sql } from './sql.js';

let source: DuckDbEngine;

/** Every table's rows, each table in a stable order, at full precision (through `scan`). */
async function snapshot(e: Engine): Promise<Record<string, Row[]>> {
  const out: Record<string, Row[]> = {};
  for (const t of await e.tables()) {
    const rows: Row[] = [];
    for await (const batch of e.scan(t.name, t.columns, 1000)) rows.push(...batch);
    out[t.name] = rows
      .map((r) => JSON.stringify(r))
      .sort()
      .map((s) => JSON.parse(s) as Row);
  }
  return out;
}

beforeAll(async () => {
  source = await DuckDbEngine.open(':memory:');
  await source.migrate();
  // Microseconds, a JSON text with a `$` key and escapes, a null list, a 2^53+ integer, unicode.
  await source.exec(sql`INSERT INTO events (uuid, event, distinct_id, person_id, timestamp, properties, organization, source)
    SELECT 'u' || i, CASE WHEN i % 3 = 0 THEN 'signed up' ELSE '$pageview' END, 'd' || (i % 7), 'p' || (i % 7),
      TIMESTAMPTZ '2024-01-31 23:59:59.123456+00' + to_microseconds(i * 1000003),
      '{"$groups": {"organization": "o' || (i % 3) || '"}, "q": "a\\"b", "n": ' || i || '.5}', 'o' || (i % 3), 'test'
    FROM range(2500) t(i)`);
  await source.exec(
    raw(`INSERT INTO feedback (id, kind, created_at, score, title, tags, status)
    VALUES ('f1', 'nps', TIMESTAMPTZ '2024-02-01 00:00:00.000001+00', 9, 'Ünïcode ✓', ['a', 'product:x'], NULL),
           ('f2', 'ticket', TIMESTAMPTZ '1999-12-31 23:59:59+00', NULL, NULL, NULL, 'open')`),
  );
  await source.exec(
    raw(`INSERT INTO billing_invoice_lines (id, invoice_id, amount, quantity, proration, period_start)
    VALUES ('l1', 'in1', 9007199254740993, 3, true, TIMESTAMPTZ '2024-03-01 00:00:00+00')`),
  );
});
afterAll(async () => {
  await source.close();
});

describe('copyStore (sextant migrate)', () => {
  it('copies DuckDB → ClickHouse → DuckDB without losing or changing a value', async () => {
    const ch = await openChdb();
    const back = await DuckDbEngine.open(':memory:');
    await back.migrate();
    try {
      const first = await copyStore(source, ch, { batchRows: 700 });
      expect(first.find((t) => t.table === 'events')).toMatchObject({ rows: 2500, status: 'copied' });
      await copyStore(ch, back, { batchRows: 700 });
      const [a, b] = [await snapshot(source), await snapshot(back)];
      // The one documented change: ClickHouse has no null arrays, so a null list comes back [].
      expect(b.feedback?.find((r) => r.id === 'f2')?.tags).toEqual([]);
      const f2 = a.feedback?.find((r) => r.id === 'f2') as Row;
      expect(f2.tags).toBeNull();
      f2.tags = [];
      expect(b).toEqual(a);
      expect(a.events).toHaveLength(2500);
      expect(a.billing_invoice_lines?.[0]).toMatchObject({ amount: '9007199254740993' });
      expect(a.events?.[0]?.timestamp).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
      // ClickHouse answers the same about what it holds (a null list reads as []).
      const [feedback] = await ch.query(raw(`SELECT tags, created_at FROM feedback WHERE id = 'f2'`));
      expect(feedback).toEqual({ tags: [], created_at: '1999-12-31T23:59:59.000Z' });
    } finally {
      await ch.close();
      await back.close();
    }
  });

  it('is safe to run again: copies nothing twice, and stops on a partial table unless told to replace', async () => {
    const ch = await openChdb();
    try {
      await copyStore(source, ch);
      const again = await copyStore(source, ch);
      expect(again.every((t) => t.status === 'kept')).toBe(true);
      const [n] = await ch.query<{ n: number }>(raw('SELECT count(*) AS n FROM events'));
      expect(n?.n).toBe(2500);
      // An interrupted copy: the target holds part of a table.
      await ch.truncate('events');
      await ch.insert('events', [
        { uuid: 'x', event: 'e', distinct_id: 'd', person_id: 'p', timestamp: '2024-01-01T00:00:00Z' },
      ]);
      await expect(copyStore(source, ch)).rejects.toThrow(
        /table events has 1 rows on .* and 2500 here.*--replace/,
      );
      const replaced = await copyStore(source, ch, { replace: true });
      expect(replaced.find((t) => t.table === 'events')).toMatchObject({ rows: 2500, status: 'replaced' });
      const [a, b] = [await snapshot(source), await snapshot(ch)];
      (a.feedback?.find((r) => r.id === 'f2') as Row).tags = [];
      expect(b).toEqual(a);
    } finally {
      await ch.close();
    }
  });
});

describe('stageRows and a keyed scan (what an import reads of a large table)', () => {
  it('returns exactly the rows whose keys were staged, the same on both engines, and leaves no table', async () => {
    const ch = await openChdb();
    try {
      await copyStore(source, ch);
      // Keys with a quote, a backslash and one that matches nothing: values, never SQL text.
      const keys = [{ k: 'u7' }, { k: 'u2499' }, { k: "u'1\\" }, { k: 'nope' }];
      const people = [{ k: 'p3' }];
      const read = async (e: Engine): Promise<string[]> => {
        await e.stageRows('_test_keys', ['k'], keys);
        await e.stageRows('_test_people', ['k'], people);
        const out: string[] = [];
        const where = raw(
          `uuid IN (SELECT k FROM _test_keys) OR (person_id IN (SELECT k FROM _test_people) AND timestamp < '2024-02-01 00:01:00')`,
        );
        for await (const batch of e.scan('events', ['uuid', 'timestamp', 'properties'], 2, where)) {
          expect(batch.length).toBeLessThanOrEqual(2);
          out.push(...batch.map((r) => JSON.stringify(r)));
        }
        await e.dropStaged('_test_keys');
        await e.dropStaged('_test_people');
        expect((await e.tables()).map((t) => t.name)).not.toContain('_test_keys');
        return out.sort();
      };
      const [a, b] = [await read(source), await read(ch)];
      expect(b).toEqual(a);
      // u7 and u2499 by key; p3 (i % 7 = 3) before 00:01 (event i is at 23:59:59.123456 + i ·
      // 1.000003 s, so i ≤ 60): i = 3, 10, …, 59, nine events. 11 in all.
      expect(a).toHaveLength(11);
      expect(a.some((r) => r.includes('"u7"'))).toBe(true);
      expect(a.some((r) => r.includes('"u2499"'))).toBe(true);
      expect(a.some((r) => r.includes('"u59"'))).toBe(true);
      // Dropping what is not there is fine (a retry after a kill).
      await ch.dropStaged('_test_keys');
    } finally {
      await ch.close();
    }
  });
});

describe('upsert and remove by key (what a ClickHouse import writes instead of a table swap)', () => {
  it('leaves the same rows on both engines: replaced by key, removed by key, the rest untouched', async () => {
    const ch = await openChdb();
    const duck = await DuckDbEngine.open(':memory:');
    await duck.migrate();
    try {
      const rows = async (e: Engine): Promise<Row[]> =>
        e.query(raw('SELECT distinct_id, person_id FROM person_distinct_ids ORDER BY distinct_id'));
      for (const e of [duck, ch] as Engine[]) {
        await e.insert('person_distinct_ids', [
          { distinct_id: 'a', person_id: 'a' },
          { distinct_id: 'b', person_id: 'b' },
          { distinct_id: "c'\\", person_id: 'c' },
        ]);
        await e.upsert('person_distinct_ids', [{ distinct_id: 'b', person_id: 'a' }], ['distinct_id']);
        await e.remove(
          'person_distinct_ids',
          [{ distinct_id: "c'\\", person_id: 'ignored' }],
          ['distinct_id'],
        );
        await e.remove('person_distinct_ids', [{ distinct_id: 'not there' }], ['distinct_id']);
      }
      const expected = [
        { distinct_id: 'a', person_id: 'a' },
        { distinct_id: 'b', person_id: 'a' },
      ];
      expect(await rows(duck)).toEqual(expected);
      expect(await rows(ch)).toEqual(expected);
      // Removed, then stored again: back (a newer version than the deletion).
      await ch.upsert('person_distinct_ids', [{ distinct_id: "c'\\", person_id: 'c2' }], ['distinct_id']);
      expect(await rows(ch)).toEqual([...expected, { distinct_id: "c'\\", person_id: 'c2' }]);
      await expect(ch.remove('events', [{ uuid: 'x' }], ['uuid'])).rejects.toThrow(/not keyed by/);
      // A key with a timestamp (the ledger's), given as the ISO text `scan` gives.
      const ledger = { source: 's', kind: 'events', records: 0, inserted: 0, rejected: 0 };
      await ch.insert('imports', [
        { ...ledger, imported_at: '2024-05-01T10:00:00.000001Z' },
        { ...ledger, imported_at: '2024-05-01T10:00:00.000002Z' },
      ]);
      await ch.remove(
        'imports',
        [{ source: 's', kind: 'events', imported_at: '2024-05-01T10:00:00.000001Z' }],
        ['source', 'kind', 'imported_at'],
      );
      // The other one stays (ClickHouse's own text of it, to the microsecond).
      expect(
        await ch.query(raw(`SELECT toString(imported_at) AS t FROM imports WHERE source = 's'`)),
      ).toEqual([{ t: '2024-05-01 10:00:00.000002' }]);
    } finally {
      await ch.close();
      await duck.close();
    }
  });
});
