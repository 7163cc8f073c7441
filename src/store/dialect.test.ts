/**
 * Every Dialect method, spelled by each engine's dialect and run on that engine (DuckDB in memory,
 * ClickHouse in-process through chdb) on the same inputs: the answers must be identical, value for
 * value. Inputs are chosen where engines differ: week starts, month ends and leap days, timestamps
 * before 1970 and with microseconds, JSON keys with `$` and dots, numbers written as `1.0`, nulls
 * everywhere a function may skip or propagate them, halves for rounding.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openChdb } from './clickhouse/test-chdb.js';
import type { Dialect, TimeUnit } from './dialect.js';
import { DuckDbEngine } from './duckdb/engine.js';
import type { Engine, Row } from './engine.js';
import { join, raw, sql, type Sql } from './sql.js';

let engines: Engine[] = [];

beforeAll(async () => {
  engines = [await DuckDbEngine.open(':memory:'), await openChdb({ migrate: false })];
});
afterAll(async () => {
  for (const e of engines) await e.close();
});

/** Runs `build(dialect)` on every engine; returns the rows of each, the first engine's first. */
async function onEach(build: (d: Dialect) => Sql): Promise<Row[][]> {
  return Promise.all(engines.map((e) => e.query(build(e.dialect))));
}

async function expectSame(build: (d: Dialect) => Sql): Promise<Row[]> {
  const [duck, ...others] = await onEach(build);
  for (const o of others) expect(o).toEqual(duck);
  return duck as Row[];
}

/** `(VALUES (0, a), (1, b)…) AS alias(i, name)`, values bound. */
function values(alias: string, name: string, list: readonly (string | number | null)[]): Sql {
  return sql`(VALUES ${join(list.map((v, i) => sql`(${i}, ${v})`))}) AS ${raw(alias)}(i, ${raw(name)})`;
}

const TIMESTAMPS = [
  '2024-01-01T00:00:00Z', // a monday, new year
  '2024-01-07T23:59:59.999999Z', // a sunday, last microsecond
  '2024-01-08T00:00:00.000001Z', // the monday after
  '2024-02-29T12:34:56.789Z', // leap day
  '2024-03-31T23:00:00Z', // month end
  '2023-12-31T23:59:59Z', // year end, a sunday
  '2024-06-15T08:00:00.123456Z',
  '1969-12-31T12:00:00Z', // before the epoch, a wednesday
  '2025-01-31T10:00:00Z',
  '2024-10-05T00:00:00Z', // a saturday
];
const UNITS: TimeUnit[] = ['second', 'minute', 'hour', 'day', 'week', 'month', 'quarter', 'year'];

describe('dialects agree on time', () => {
  const ts = (d: Dialect) => d.sqlTimestamp(raw('iso'));

  it('truncates, keys, counts intervals and reads epoch seconds the same way', async () => {
    const rows = await expectSame((d) => {
      const t = raw('t.ts');
      const cols = [
        ...UNITS.map((u) => sql`${d.sqlDateTrunc(u, t)} AS ${raw(`trunc_${u}`)}`),
        sql`${d.sqlDateTrunc('week', t, 'sunday')} AS trunc_week_sunday`,
        sql`${d.sqlMonthKey(t)} AS month_key`,
        sql`${d.sqlDayKey(t)} AS day_key`,
        sql`${d.sqlEpochSeconds(t)} AS epoch`,
        sql`${d.sqlIntervalNumber('day', t)} AS n_day`,
        sql`${d.sqlIntervalNumber('week', t)} AS n_week_sunday`,
        sql`${d.sqlIntervalNumber('week', t, 'monday')} AS n_week_monday`,
        sql`${d.sqlIntervalNumber('month', t)} AS n_month`,
      ];
      return sql`SELECT t.i, ${join(cols)} FROM (SELECT i, ${ts(d)} AS ts FROM ${values('v', 'iso', TIMESTAMPS)}) t ORDER BY t.i`;
    });
    // Hand-checked anchors: the engines agreeing on a wrong answer would not do.
    expect(rows[1]).toMatchObject({
      trunc_week: '2024-01-01T00:00:00.000Z',
      trunc_week_sunday: '2024-01-07T00:00:00.000Z',
      month_key: '2024-01',
      day_key: '2024-01-07',
    });
    expect(rows[7]).toMatchObject({
      trunc_week: '1969-12-29T00:00:00.000Z',
      n_day: -1,
      epoch: -43200,
      n_month: -1,
    });
  });

  it('adds intervals and counts boundaries between timestamps the same way', async () => {
    const pairs = TIMESTAMPS.flatMap((a) => TIMESTAMPS.map((b) => [a, b] as const));
    const rows = await expectSame((d) => {
      const a = d.sqlTimestamp(raw('p.a'));
      const b = d.sqlTimestamp(raw('p.b'));
      const diffs = UNITS.map((u) => sql`${d.sqlDateDiff(u, a, b)} AS ${raw(`diff_${u}`)}`);
      return sql`SELECT p.i, ${join(diffs)}
        FROM (VALUES ${join(pairs.map(([x, y], i) => sql`(${i}, ${x}, ${y})`))}) AS p(i, a, b) ORDER BY p.i`;
    });
    // Sunday 23:59:59 → Monday 00:00: one day boundary, no whole week (DuckDB counts 7-day spans).
    expect(rows[1 * TIMESTAMPS.length + 2]).toMatchObject({ diff_day: 1, diff_week: 0, diff_second: 1 });
    await expectSame((d) => {
      const adds = UNITS.flatMap((u) =>
        [-1, 1, 13].map(
          (n) =>
            sql`${d.sqlDateAdd(u, raw(String(n)), raw('t.ts'))} AS ${raw(`add_${u}_${n < 0 ? 'm' : ''}${Math.abs(n)}`)}`,
        ),
      );
      return sql`SELECT t.i, ${join(adds)} FROM (SELECT i, ${ts(d)} AS ts FROM ${values('v', 'iso', TIMESTAMPS)}) t ORDER BY t.i`;
    });
  });
});

describe('dialects agree on JSON', () => {
  const DOCS = [
    '{"a": "x", "$groups": {"organization": "acme"}, "a.b": 2, "n": 1.0, "m": 1e3, "s": " 12 ", "t": true, "z": null}',
    '{"a": {"b": "c", "d": [1, 2]}, "n": -3.5, "m": 10000000000000000000, "s": "12abc"}',
    '{"a": "é\\"q", "n": "7", "m": 0.1, "s": ""}',
    '[1, 2]',
    '{}',
    null,
  ];
  const PATHS = [
    ['a'],
    ['$groups', 'organization'],
    ['a.b'],
    ['a', 'b'],
    ['n'],
    ['m'],
    ['s'],
    ['t'],
    ['z'],
    ['missing'],
  ];

  it('reads strings and numbers at literal key paths the same way', async () => {
    const rows = await expectSame((d) => {
      const cols = PATHS.flatMap((p, k) => [
        sql`${d.sqlJsonString(raw('v.doc'), p)} AS ${raw(`s${k}`)}`,
        sql`${d.sqlJsonNumber(raw('v.doc'), p)} AS ${raw(`n${k}`)}`,
      ]);
      return sql`SELECT v.i, ${join(cols)} FROM ${values('v', 'doc', DOCS)} ORDER BY v.i`;
    });
    expect(rows[0]).toMatchObject({
      s0: 'x',
      s1: 'acme',
      s2: '2',
      s4: '1.0',
      n4: 1,
      s5: '1000.0',
      n6: 12,
      s7: 'true',
      s8: null,
      s9: null,
    });
    expect(rows[1]).toMatchObject({ s3: 'c', s0: '{"b":"c","d":[1,2]}', n6: null });
  });
});

describe('dialects agree on aggregates', () => {
  // Groups: a has values and nulls, b one value, c only nulls.
  const ROWS: [string, number | null, number | null, string | null][] = [
    ['a', 3, 1, 'p'],
    ['a', 1, 2, null],
    ['a', 10, 3, 'q'],
    ['a', null, 4, 'r'],
    ['a', 4, 5, 's'],
    ['a', 2.5, 6, 't'],
    ['b', 7, 1, 'u'],
    ['b', 8, 1, 'w'], // tied on y with 'u': the total order picks by s
    ['b', 9, 1, 'v'],
    ['c', null, 1, null],
  ];
  // Whole and fractional JS numbers in one VALUES column need a CAST on ClickHouse (no common type
  // for BIGINT and DOUBLE parameters), as the templates spell it.
  const table = sql`(VALUES ${join(ROWS.map((r) => sql`(${r[0]}, CAST(${r[1]} AS DOUBLE), ${r[2]}, ${r[3]})`))}) AS t(g, x, y, s)`;

  it('medians, quantiles, arg max/min, distinct and conditional counts', async () => {
    const rows = await expectSame(
      (d) => sql`SELECT g, ${d.sqlMedian(raw('x'))} AS med, ${d.sqlQuantile(raw('x'), 0.9)} AS p90,
          ${d.sqlQuantile(raw('x'), 0.25)} AS p25, ${d.sqlArgMax(raw('s'), raw('y'))} AS amax,
          ${d.sqlArgMin(raw('s'), raw('y'))} AS amin, ${d.sqlCountDistinct(raw('s'))} AS nd,
          ${d.sqlCountIf(sql`x > 2`)} AS big
        FROM ${table} GROUP BY g ORDER BY g`,
    );
    expect(rows[0]).toMatchObject({ g: 'a', med: 3, amax: 't', amin: 'p', nd: 5, big: 4 });
    expect(rows[1]).toMatchObject({ g: 'b', amax: 'w', amin: 'u' });
    expect(rows[2]).toMatchObject({ g: 'c', med: null, p90: null, amax: null, big: 0 });
  });

  it('aggregates over no rows are null, counts 0', async () => {
    await expectSame(
      (d) => sql`SELECT ${d.sqlMedian(raw('x'))} AS med, sum(x) AS s, max(x) AS mx, avg(x) AS a, count(*) AS n
        FROM ${table} WHERE g = 'none'`,
    );
  });

  it('quantiles interpolate to the same double', async () => {
    // Values whose interpolation rounds differently with lo + (hi − lo)·d and lo·(1 − d) + hi·d.
    const xs = Array.from({ length: 97 }, (_, i) => 1000.5 + Math.sin(i + 1) * 777.777);
    const many = sql`(VALUES ${join(xs.map((x) => sql`(${x})`))}) AS t(x)`;
    await expectSame(
      (d) =>
        sql`SELECT ${join([0.1, 0.25, 0.5, 0.9, 0.99].map((q, k) => sql`${d.sqlQuantile(raw('x'), q)} AS ${raw(`q${k}`)}`))} FROM ${many}`,
    );
  });
});

describe('dialects agree on scalars', () => {
  it('globs, safe division, null-skipping least/greatest, rounding, bits, conditionals', async () => {
    const rows = await expectSame((d) => {
      const nums = [2.5, -2.5, 0.5, 1.4999999999999998, 3.5, -0.5, 7, null];
      const cols = [
        ...['ab*', 'a?c', '*%*', '*_*', 'a\\*', '*', '[ax]*', 'a\\?'].map(
          (p, k) => sql`${d.sqlGlob(raw('v.s'), p)} AS ${raw(`glob${k}`)}`,
        ),
        sql`${d.sqlSafeDivide(raw('v.i'), raw('v.i - 1'))} AS div`,
        sql`${d.sqlLeast([raw('v.a'), raw('v.b')])} AS lo`,
        sql`${d.sqlGreatest([raw('v.a'), raw('v.b'), raw('v.c')])} AS hi`,
        sql`${d.sqlRound(raw('v.x'))} AS r`,
        sql`${d.sqlBitTest(raw('v.i'), 1)} AS bit1`,
        sql`${d.sqlIf(sql`v.i > 2`, sql`'big'`, sql`'small'`)} AS size`,
      ];
      const rows = nums.map(
        (x, i) =>
          sql`(${i}, ${['abc', 'a%c', 'a_c', 'a*', 'xyz', 'ab', 'a?c', null][i] ?? null}, CAST(${x} AS DOUBLE),
            ${[1, null, 3, null, 5, 6, null, 8][i] ?? null}, ${[2, 2, null, null, 1, 9, 4, 0][i] ?? null}, ${[null, 5, 0, null, 2, 3, null, 1][i] ?? null})`,
      );
      return sql`SELECT v.i, ${join(cols)} FROM (VALUES ${join(rows)}) AS v(i, s, x, a, b, c) ORDER BY v.i`;
    });
    expect(rows.map((r) => r.r)).toEqual([3, -3, 1, 1, 4, -1, 7, null]);
    expect(rows[1]).toMatchObject({ div: null, lo: 2, hi: 5, glob0: false });
    expect(rows[2]).toMatchObject({ div: 2 });
    expect(rows[3]).toMatchObject({ lo: null, hi: null, glob3: false, glob4: false });
    // Only `*` and `?` are special, as in matchesGlob: `[` and `\\` are themselves.
    expect(rows.map((r) => r.glob6)).toEqual([false, false, false, false, false, false, false, null]);
  });

  it('arrays: contains, length, element past the end', async () => {
    await expectSame(
      (d) => sql`SELECT ${d.sqlArrayContains(sql`${['a', 'b']}`, sql`'b'`)} AS has,
        ${d.sqlArrayLength(sql`${['a', 'b']}`)} AS n, ${d.sqlArrayElement(sql`${['a', 'b']}`, raw('2'))} AS second,
        ${d.sqlArrayElement(sql`${['a', 'b']}`, raw('3'))} AS third`,
    );
  });

  it('lead is null past the last row of its partition', async () => {
    await expectSame(
      (d) => sql`SELECT p, x, ${d.sqlLead(raw('x'), raw('PARTITION BY p ORDER BY x'))} AS nx
        FROM (VALUES ('a', 1), ('a', 5), ('b', 2)) AS t(p, x) ORDER BY p, x`,
    );
  });

  it('a values table joins like a table', async () => {
    await expectSame(
      (d) => sql`SELECT t.x, v.name FROM (VALUES (1), (2), (3)) AS t(x)
        JOIN ${d.sqlValues(
          'v',
          ['k', 'name'],
          [
            [raw('1'), sql`${'one'}`],
            [raw('3'), sql`${'three'}`],
          ],
        )} ON v.k = t.x ORDER BY t.x`,
    );
  });

  it('tests membership in a scratch table the same way, GLOBAL on ClickHouse (a cluster sends the set to its shards)', async () => {
    for (const e of engines) {
      await e.stageRows('_dialect_scratch_keys', ['k'], [{ k: 'a' }, { k: 'c' }, { k: null }]);
      try {
        const rows = await e.query<Row>(
          sql`SELECT x FROM ${e.dialect.sqlValues(
            't',
            ['x'],
            ['a', 'b', 'c', 'd'].map((v) => [sql`${v}`]),
          )}
            WHERE ${e.dialect.sqlInScratch(raw('x'), '_dialect_scratch_keys', 'k')} ORDER BY x`,
        );
        expect(rows.map((r) => r.x)).toEqual(['a', 'c']);
      } finally {
        await e.dropStaged('_dialect_scratch_keys');
      }
    }
    // A plain IN would run the subquery on each shard, which has no such table.
    expect(engines[1]!.dialect.sqlInScratch(raw('x'), 't', 'k').toString()).toMatch(/\bGLOBAL IN \(SELECT/);
    expect(engines[0]!.dialect.sqlInScratch(raw('x'), 't', 'k').toString()).not.toMatch(/GLOBAL/);
  });

  it('hashes are stable and distinct within an engine', async () => {
    for (const e of engines) {
      const d = e.dialect;
      const [r] = await e.query<Row>(
        sql`SELECT ${d.sqlHash64(sql`${'a'}`)} = ${d.sqlHash64(sql`${'a'}`)} AS same, ${d.sqlHash64(sql`${'a'}`)} <> ${d.sqlHash64(sql`${'b'}`)} AS differ`,
      );
      expect([r?.same, r?.differ].map(Boolean)).toEqual([true, true]);
    }
  });
});

describe('dialects agree on running counts and materialized CTEs', () => {
  it('numbers rows in partition order identically within each partition', async () => {
    const events = Array.from({ length: 60 }, (_, i) => [`p${i % 4}`, (i * 37) % 61, i % 3 === 0] as const);
    const src = sql`SELECT * FROM (VALUES ${join(events.map(([p, t, s]) => sql`(${p}, ${t}, ${s})`))}) AS e(p, t, s)`;
    const [duck, ch] = await onEach(
      (
        d,
      ) => sql`WITH ${d.sqlMaterialized('rc', d.sqlRunningCounts(src, [raw('p')], [raw('t')], [{ when: raw('s'), as: 'n' }]))}
        SELECT p, t, s, n FROM rc ORDER BY p, t`,
    );
    // Counts are comparable within a partition: compare each row's count with its partition's first.
    const relative = (rows: Row[]) =>
      rows.map((r) => {
        const first = rows.find((x) => x.p === r.p) as Row;
        return [r.p, r.t, Number(r.n) - Number(first.n) + (first.s ? 1 : 0)];
      });
    expect(relative(ch as Row[])).toEqual(relative(duck as Row[]));
    expect((duck as Row[]).length).toBe(60);
  });
});
