import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { eventsWithPersons } from '../../store/events.js';
import { raw, type Sql } from '../../store/sql.js';
import { DuckDbEngine } from '../../store/duckdb/engine.js';
import { ledgerBalances, type ImportReport } from '../report.js';
import { applyIdentity } from './identity.js';
import { defaultConfig } from '../../config/load.js';
import { buildReview } from '../../review/build.js';
import { finishInterruptedImports, importEvents } from './import-events.js';
import { cdnowEvents } from '../../../test/helpers/real-sets.js';

/** Events with their person now (identity overrides applied), as every analysis reads them. */
const EVENTS = eventsWithPersons().toString();

let engine: DuckDbEngine;
let dir: string;

beforeEach(async () => {
  engine = await DuckDbEngine.open(':memory:');
  await engine.migrate();
  dir = mkdtempSync(join(tmpdir(), 'sextant-events-'));
});
afterEach(async () => {
  await expectLedgersBalance(engine);
  await engine.close();
});

/**
 * Every finished events import's row in the store adds up (docs/ingest.md, "The import ledger"):
 * records = inserted + duplicates + rejected, duplicates = the sum of its rules.
 */
async function expectLedgersBalance(db: DuckDbEngine): Promise<void> {
  const bad = await db.query(
    raw(`SELECT source, records, inserted, duplicates, rejected, duplicate_rules::VARCHAR AS rules FROM imports
    WHERE kind = 'events' AND finished_at IS NOT NULL AND (records <> inserted + duplicates + rejected
      OR duplicates <> coalesce((SELECT sum(v::BIGINT) FROM (SELECT unnest(map_values(duplicate_rules::MAP(VARCHAR, BIGINT))) AS v)), 0))`),
  );
  expect(bad, 'imports rows whose counts do not add up').toEqual([]);
}

const ev = (o: Record<string, unknown>): string => JSON.stringify(o);

function write(name: string, content: string | Buffer): string {
  const f = join(dir, name);
  writeFileSync(f, content);
  return f;
}

async function rows<T>(q: string): Promise<T[]> {
  return engine.query<T & Record<string, unknown>>(raw(q));
}

/** `fn` with a second, fresh store beside the test's, closed afterwards. */
async function withOtherStore(fn: (other: DuckDbEngine) => Promise<void>): Promise<void> {
  const other = await DuckDbEngine.open(':memory:');
  try {
    await other.migrate();
    await fn(other);
    await expectLedgersBalance(other);
  } finally {
    await other.close();
  }
}

describe('formats', () => {
  const lines = [
    ev({
      uuid: 'u1',
      event: 'a',
      distinct_id: 'd1',
      timestamp: '2024-01-31T23:30:00-05:00',
      properties: { $groups: { organization: 'o1' } },
    }),
    ev({ uuid: 'u2', event: 'b', distinct_id: 42, timestamp: '2024-02-01 10:00:00', properties: {} }),
  ];

  async function check(file: string): Promise<void> {
    const r = await importEvents(engine, file);
    expect(r).toMatchObject({ records: 2, inserted: 2, duplicates: 0, rejected: [] });
    const got = await rows<{ uuid: string; distinct_id: string; ts: string; organization: string | null }>(
      "SELECT uuid, distinct_id, strftime(timestamp, '%Y-%m-%dT%H:%M:%S') AS ts, organization FROM events ORDER BY uuid",
    );
    // 23:30 at -05:00 is 04:30 the next day in UTC: February.
    expect(got).toEqual([
      { uuid: 'u1', distinct_id: 'd1', ts: '2024-02-01T04:30:00', organization: 'o1' },
      { uuid: 'u2', distinct_id: '42', ts: '2024-02-01T10:00:00', organization: null },
    ]);
  }

  it('reads JSON Lines', async () => check(write('e.jsonl', lines.join('\n') + '\n')));
  it('reads gzip JSON Lines, by extension or by magic bytes', async () => {
    await check(write('e.jsonl.gz', gzipSync(lines.join('\n'))));
    await engine.exec(raw('DELETE FROM events'));
    await check(write('e-gz-without-extension.jsonl', gzipSync(lines.join('\n'))));
  });
  it('reads every member of a multi-member gzip file, whole or in chunks', async () => {
    // `cat a.gz b.gz` is valid gzip; its trailer gives the size of the last member only.
    const many = Array.from({ length: 3000 }, (_, i) => e('n', `d${i}`, '2024-03-01T00:00:00Z', {}, `m${i}`));
    const gz = Buffer.concat([gzipSync(many.join('\n') + '\n'), gzipSync(lines.join('\n') + '\n')]);
    const f = write('members.jsonl.gz', gz);
    expect(await importEvents(engine, f)).toMatchObject({ records: 3000 + lines.length, rejected: [] });
    await withOtherStore(async (other) => {
      const chunked = await importEvents(other, f, { chunkBytes: 64 * 1024 });
      expect(chunked).toMatchObject({ records: 3000 + lines.length, rejected: [] });
      const count = 'SELECT count(*)::INTEGER AS n FROM events';
      expect(await other.query(raw(count))).toEqual(await rows(count));
    });
  });
  it('reads a JSON array, and JSON Lines in a .json file', async () => {
    await check(write('e.json', '[\n' + lines.join(',\n') + '\n]'));
    await engine.exec(raw('DELETE FROM events'));
    await check(write('e2.json', lines.join('\n')));
  });
  it('reads CSV with a JSON properties column', async () => {
    const csv =
      'event,distinct_id,timestamp,properties,uuid\n' +
      'a,d1,2024-01-31T23:30:00-05:00,"{""$groups"":{""organization"":""o1""}}",u1\n' +
      'b,42,2024-02-01 10:00:00,{},u2\n';
    await check(write('e.csv', csv));
  });
  it('reads Parquet', async () => {
    const src = write('src.jsonl', lines.join('\n'));
    const pq = join(dir, 'e.parquet');
    await engine.exec(
      raw(`COPY (SELECT event, distinct_id::VARCHAR AS distinct_id, "timestamp", properties::VARCHAR AS properties, uuid
        FROM read_json('${src}', columns = {event: 'VARCHAR', distinct_id: 'VARCHAR', "timestamp": 'VARCHAR', properties: 'JSON', uuid: 'VARCHAR'}))
        TO '${pq}' (FORMAT parquet)`),
    );
    await check(pq);
  });
});

/** Events with given fields and defaults; `t` is a UTC ISO time. */
function e(
  event: string,
  distinct_id: string,
  t: string,
  properties: Record<string, unknown> = {},
  uuid?: string,
): string {
  return ev({ ...(uuid ? { uuid } : {}), event, distinct_id, timestamp: t, properties });
}

async function importLines(name: string, lines: string[]): Promise<ImportReport> {
  return importEvents(engine, write(name, lines.join('\n') + '\n'));
}

describe('SDK payload shapes', () => {
  it('takes distinct_id from properties when absent at the top level, and merges top-level $set', async () => {
    const r = await importLines('sdk.jsonl', [
      ev({
        event: '$pageview',
        timestamp: '2024-03-01 12:00:00',
        properties: { distinct_id: 'from-props', $set: { a: 1 } },
        $set: { b: 2 },
        $set_once: { c: 3 },
      }),
    ]);
    expect(r.rejected).toEqual([]);
    const [row] = await rows<{ distinct_id: string; properties: string }>(
      'SELECT distinct_id, properties FROM events',
    );
    expect(row?.distinct_id).toBe('from-props');
    const props = JSON.parse(row!.properties) as Record<string, unknown>;
    expect(props.$set).toEqual({ a: 1, b: 2 });
    expect(props.$set_once).toEqual({ c: 3 });
  });
});

describe('string fields', () => {
  // Classification reads a field's type from its first character and takes a string's text
  // between the quotes unless it holds a backslash: escapes, quotes, unicode and spacing must
  // come out exactly as JSON.parse reads them, on the fast path and on the line-by-line path
  // (which a bad record forces).
  const tricky = [
    'plain',
    'quote " inside',
    'back\\slash',
    'tab\tand newline\n',
    'caf\u00e9 \ud83d\ude00',
    '  spaced  ',
    '',
  ];
  const good = tricky.map((name, i) =>
    JSON.stringify({
      uuid: ` u${i}`,
      event: `${name}!`,
      distinct_id: `d ${name}`,
      timestamp: '2024-03-01T12:00:00Z',
      properties: { $groups: { organization: `org "${name}"` } },
    })
      // spaces around every colon and comma between fields (not inside the strings' escapes)
      .replace(/(?<!\\)":/g, '" :  ')
      .replace(/(?<!\\)","/g, '" ,  "')
      .replace('{"uuid"', '{ "uuid"'),
  );
  for (const withBad of [false, true]) {
    it(`reads escaped and spaced strings exactly (${withBad ? 'line-by-line path' : 'fast path'})`, async () => {
      const r = await importLines('s.jsonl', withBad ? [...good, '{"event": 1}'] : good);
      expect(r.inserted).toBe(tricky.length);
      const got = await rows<{ uuid: string; event: string; distinct_id: string; organization: string }>(
        'SELECT uuid, event, distinct_id, organization FROM events ORDER BY uuid',
      );
      expect(got).toEqual(
        tricky.map((name, i) => ({
          uuid: ` u${i}`,
          event: `${name}!`,
          distinct_id: `d ${name}`,
          organization: `org "${name}"`,
        })),
      );
    });
  }
  it('reads the same strings from CSV (quoted fields, JSON properties column)', async () => {
    const q = (v: string) => `"${v.replaceAll('"', '""')}"`;
    const csv = [
      'event,distinct_id,timestamp,properties,uuid',
      ...tricky.map((name, i) =>
        [
          q(`${name}!`),
          q(`d ${name}`),
          '2024-03-01T12:00:00Z',
          q(JSON.stringify({ $groups: { organization: `org "${name}"` } })),
          q(` u${i}`),
        ].join(','),
      ),
    ].join('\n');
    const r = await importEvents(engine, write('s.csv', csv + '\n'));
    expect(r.rejected).toEqual([]);
    const got = await rows<{ event: string; distinct_id: string; organization: string }>(
      'SELECT event, distinct_id, organization FROM events ORDER BY uuid',
    );
    expect(got).toEqual(
      tricky.map((name) => ({ event: `${name}!`, distinct_id: `d ${name}`, organization: `org "${name}"` })),
    );
  });
  it('names the JSON type of a wrong-typed field', async () => {
    const r = await importLines('t.jsonl', [
      ev({ event: 12, distinct_id: 'a', timestamp: '2024-03-01T12:00:00Z' }),
      ev({ event: 'e', distinct_id: true, timestamp: '2024-03-01T12:00:00Z' }),
      ev({ event: 'e', distinct_id: 'a', timestamp: 1.5 }),
      ev({ event: 'e', distinct_id: 'a', timestamp: '2024-03-01T12:00:00Z', properties: [1] }),
      ev({ event: 'e', distinct_id: 'a', timestamp: '2024-03-01T12:00:00Z', uuid: 7 }),
      // a number beyond 2^53 keeps its digits (written by hand: JSON.stringify would round it)
      '{"event": "e", "distinct_id": 9007199254740993, "timestamp": "2024-03-01T12:00:00Z", "uuid": ""}',
    ]);
    expect(r.rejected.map((x) => [x.line, x.field, x.reason])).toEqual([
      [1, 'event', 'must be a string, got number'],
      [2, 'distinct_id', 'must be a string or number, got boolean'],
      [3, 'timestamp', 'must be an ISO 8601 string, got number'],
      [4, 'properties', 'must be an object, got array'],
      [5, 'uuid', 'must be a string, got number'],
    ]);
    // An empty uuid counts as none (the content hash keys the event).
    const [row] = await rows<{ distinct_id: string; uuid: string }>('SELECT distinct_id, uuid FROM events');
    expect(row?.distinct_id).toBe('9007199254740993');
    expect(row?.uuid).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
  });
});

describe('bad records', () => {
  it('keeps every good record and reports each bad one with its physical line and reason', async () => {
    const blob = 'x'.repeat(10 * 1024 * 1024);
    const file = write(
      'mixed.jsonl',
      Buffer.concat([
        Buffer.from(e('ok', 'd1', '2024-03-01T00:00:00Z') + '\n'), // 1 good
        Buffer.from('{"event":"trunc","distinct_id":"d1","timest\n'), // 2 truncated JSON
        Buffer.from('\n'), // 3 blank: not a record
        Buffer.from([0x7b, 0x22, 0x65, 0xff, 0xfe, 0x22, 0x7d, 0x0a]), // 4 invalid UTF-8
        Buffer.from(ev({ event: 7, distinct_id: 'd1', timestamp: '2024-03-01T00:00:00Z' }) + '\n'), // 5
        Buffer.from(ev({ distinct_id: 'd1', timestamp: '2024-03-01T00:00:00Z' }) + '\n'), // 6 no event
        Buffer.from(ev({ event: 'x', timestamp: '2024-03-01T00:00:00Z' }) + '\n'), // 7 no distinct_id
        Buffer.from(ev({ event: 'x', distinct_id: 'd1', timestamp: 'yesterday' }) + '\n'), // 8
        Buffer.from(
          ev({ event: 'x', distinct_id: 'd1', timestamp: '2024-03-01T00:00:00Z', properties: [1] }) + '\n',
        ), // 9
        Buffer.from('[1,2]\n'), // 10 not an object
        Buffer.from(e('big', 'd2', '2024-03-02T00:00:00Z', { blob }) + '\n'), // 11 good, 10 MB
        Buffer.from(ev({ event: 'x', distinct_id: { a: 1 }, timestamp: '2024-03-01T00:00:00Z' }) + '\n'), // 12
        Buffer.from(e('last', 'd3', '2024-03-03T00:00:00Z')), // 13 good, no final newline
      ]),
    );
    const rejectsDir = join(dir, 'rejects');
    const r = await importEvents(engine, file, { rejectsDir });
    expect(r.records).toBe(12); // 13 lines less the blank one
    expect(r.inserted).toBe(3);
    expect(r.rejected).toEqual([
      { line: 2, reason: 'invalid JSON (truncated or malformed)' },
      { line: 4, reason: 'not valid UTF-8' },
      { line: 5, field: 'event', reason: 'must be a string, got number' },
      { line: 6, field: 'event', reason: 'missing' },
      { line: 7, field: 'distinct_id', reason: 'missing' },
      { line: 8, field: 'timestamp', reason: 'not an ISO 8601 timestamp: yesterday' },
      { line: 9, field: 'properties', reason: 'must be an object, got array' },
      { line: 10, reason: 'not a JSON object' },
      { line: 12, field: 'distinct_id', reason: 'must be a string or number, got object' },
    ]);
    const got = await rows<{ event: string; n: number }>(
      "SELECT event, length(json_extract_string(properties, '$.blob'))::INTEGER AS n FROM events ORDER BY event",
    );
    expect(got).toEqual([
      { event: 'big', n: 10 * 1024 * 1024 },
      { event: 'last', n: null },
      { event: 'ok', n: null },
    ]);
    // The rejects file holds the 9 bad lines byte for byte, invalid UTF-8 included.
    const rejected = readFileSync(r.rejectsFile!);
    const original = readFileSync(file);
    const originalLines = splitLines(original);
    expect(splitLines(rejected)).toEqual([2, 4, 5, 6, 7, 8, 9, 10, 12].map((n) => originalLines[n - 1]));
  });

  it('keeps line numbers right after invalid UTF-8 lines in a gzip file', async () => {
    const parts: Buffer[] = [];
    for (let i = 1; i <= 5000; i++) {
      if (i === 10 || i === 11 || i === 4000) parts.push(Buffer.from([0x7b, 0xc3, 0x28, 0x7d, 0x0a]));
      else if (i === 4500) parts.push(Buffer.from('{"event":\n'));
      else parts.push(Buffer.from(e('n', 'd' + (i % 7), '2024-03-01T00:00:00Z', { line: i }) + '\n'));
    }
    const r = await importEvents(engine, write('shifted.jsonl.gz', gzipSync(Buffer.concat(parts))));
    expect(r.rejected.map((x) => x.line)).toEqual([10, 11, 4000, 4500]);
    expect(r.inserted).toBe(4996);
  });

  it('rejects a line longer than 32 MB by name and keeps counting lines after it', async () => {
    const huge = e('huge', 'd', '2024-03-01T00:00:00Z', { blob: 'x'.repeat(33 * 1024 * 1024) });
    const r = await importLines('long.jsonl', [
      e('a', 'd', '2024-03-01T00:00:00Z'),
      huge,
      '{"event"',
      e('b', 'd', '2024-03-01T00:00:00Z'),
    ]);
    expect(r.rejected).toEqual([
      { line: 2, reason: 'line longer than 32 MB' },
      { line: 3, reason: 'invalid JSON (truncated or malformed)' },
    ]);
    expect(r.inserted).toBe(2);
  });

  it('numbers JSON array records and CSV lines', async () => {
    const arr = `[${e('a', 'd', '2024-03-01T00:00:00Z')}, 5, ${ev({ event: 'b', distinct_id: 'd', timestamp: 'soon' })}]`;
    const r1 = await importEvents(engine, write('arr.json', arr), { rejectsDir: join(dir, 'rj') });
    expect(r1.rejected).toEqual([
      { line: 2, reason: 'not a JSON object' },
      { line: 3, field: 'timestamp', reason: 'not an ISO 8601 timestamp: soon' },
    ]);
    expect(readFileSync(r1.rejectsFile!, 'utf8').split('\n')[0]).toBe('5');
    const csv =
      'event,distinct_id,timestamp,properties\na,d,2024-03-01,{}\nb,d,2024-03-01,{bad\n,d,2024-03-01,{}\n';
    const r2 = await importEvents(engine, write('e.csv', csv));
    expect(r2.rejected).toEqual([
      { line: 3, field: 'properties', reason: 'not valid JSON' },
      { line: 4, field: 'event', reason: 'missing' },
    ]);
  });
});

describe('validation before the store sees a value', () => {
  const now = new Date('2026-06-15T12:00:00Z');
  const at = (timestamp: string, n: number): string =>
    ev({ event: 'e', distinct_id: 'd', timestamp, properties: { n } });
  const cases: [string, string | null][] = [
    ['2024-02-29T10:00:00Z', null], // a leap day: fine
    ['2025-02-30T10:00:00Z', 'not a calendar date: 2025-02-30T10:00:00Z'], // not rolled to 03-02
    ['2025-02-29', 'not a calendar date: 2025-02-29'],
    ['2025-04-31 08:00:00', 'not a calendar date: 2025-04-31 08:00:00'],
    ['2025-01-01T24:30:00Z', 'not an ISO 8601 timestamp: 2025-01-01T24:30:00Z'],
    ['0001-01-01T00:00:00Z', 'before 1970-01-01: 0001-01-01T00:00:00Z'],
    ['1969-12-31T23:59:59Z', 'before 1970-01-01: 1969-12-31T23:59:59Z'],
    // what `offset: 1e15` gave through the capture payload
    [new Date(Date.parse('2024-01-01T00:00:00Z') - 1e15).toISOString(), 'before 1970-01-01: -0296'], // year −29663 (−29664 in ISO years),
    [
      '9999-12-31T00:00:00Z',
      'in the future (more than the clock-skew allowance after the import): 9999-12-31T00:00:00Z',
    ],
    [
      '2026-06-15T13:30:00Z',
      'in the future (more than the clock-skew allowance after the import): 2026-06-15T13:30:00Z',
    ],
    ['2026-06-15T14:30:00+02:00', null], // 12:30 UTC: within the hour's allowance
    ['1970-01-01T00:00:00Z', null],
  ];
  const lines = cases.map(([t], i) => at(t, i));
  const expected = cases.flatMap(([, reason], i) =>
    reason === null
      ? []
      : [{ line: i + 1, field: 'timestamp', reason: expect.stringContaining(reason) as string }],
  );

  it('rejects impossible dates, implausible years and events beyond the clock-skew allowance, by line', async () => {
    // Every format: JSON Lines (fast and line-by-line paths), CSV, a JSON array.
    const variants: [string, string][] = [
      ['v.jsonl', lines.join('\n') + '\n'],
      ['v.json', '[' + lines.join(',\n') + ']'],
      [
        'v.csv',
        'event,distinct_id,timestamp,properties\n' +
          cases.map(([t], i) => `e,d,${t},"{""n"":${i}}"`).join('\n') +
          '\n',
      ],
    ];
    for (const [name, content] of variants) {
      await withOtherStore(async (db) => {
        const r = await importEvents(db, write(name, content), { now });
        expect(r.rejected, name).toEqual(
          name.endsWith('.csv') ? expected.map((x) => ({ ...x, line: x.line + 1 })) : expected,
        );
        expect(ledgerBalances(r), name).toBe(true);
        const kept = await db.query<{ n: number }>(
          raw("SELECT (properties ->> 'n')::INTEGER AS n FROM events ORDER BY 1"),
        );
        expect(
          kept.map((k) => k.n),
          name,
        ).toEqual(cases.flatMap(([, reason], i) => (reason === null ? [i] : [])));
      });
    }
  });

  it('takes a configured clock-skew allowance', async () => {
    const f = write('skew.jsonl', at('2026-06-15T13:30:00Z', 1) + '\n');
    expect((await importEvents(engine, f, { now })).inserted).toBe(0);
    expect((await importEvents(engine, f, { now, clockSkewMs: 2 * 3600_000 })).inserted).toBe(1);
    await expect(importEvents(engine, f, { now, clockSkewMs: -1 })).rejects.toThrow();
  });

  it('rejects invalid UTF-8 with its line in every format, never storing a replaced character', async () => {
    const latin1 = (s: string): Buffer => Buffer.from(s, 'latin1'); // é as the single byte e9
    const good = e('ok', 'd', '2024-03-01T00:00:00Z', { n: 0 });
    const jsonl = Buffer.concat([
      Buffer.from(good + '\n'),
      latin1('{"event":"caf\u00e9","distinct_id":"d","timestamp":"2024-03-01T00:00:00Z"}\n'),
      Buffer.from(e('ok', 'd', '2024-03-01T00:00:00Z', { n: 2 }) + '\n'),
    ]);
    const csv = Buffer.concat([
      Buffer.from('event,distinct_id,timestamp\nok,d,2024-03-01T00:00:00Z\n'),
      latin1('caf\u00e9,d,2024-03-01T00:00:00Z\n'),
      Buffer.from('ok2,d,2024-03-01T00:00:00Z\n'),
    ]);
    for (const [name, content, line] of [
      ['u.jsonl', jsonl, 2],
      ['u.jsonl.gz', gzipSync(jsonl), 2],
      ['u.csv', csv, 3],
    ] as const) {
      await withOtherStore(async (db) => {
        const r = await importEvents(db, write(name, content));
        expect(r.rejected, name).toEqual([{ line, reason: 'not valid UTF-8' }]);
        expect(r.inserted, name).toBe(2);
        expect(
          await db.query(raw("SELECT count(*)::INTEGER AS n FROM events WHERE contains(event, '\ufffd')")),
        ).toEqual([{ n: 0 }]);
      });
    }
  });
});

function splitLines(b: Buffer): string[] {
  const out: string[] = [];
  let start = 0;
  for (let i = 0; i < b.length; i++) {
    if (b[i] === 0x0a) {
      out.push(b.subarray(start, i).toString('latin1'));
      start = i + 1;
    }
  }
  if (start < b.length) out.push(b.subarray(start).toString('latin1'));
  return out;
}

describe('dedupe', () => {
  it('stores a uuid repeated in a file once, and a re-import stores nothing', async () => {
    const lines = [
      e('a', 'd1', '2024-03-01T00:00:00Z', {}, 'u1'),
      e('a', 'd1', '2024-03-01T00:00:00Z', {}, 'u1'), // same uuid
      e('b', 'd1', '2024-03-01T00:00:00Z', { k: 1 }), // no uuid ...
      // ... the same content at the same instant: a second event (issue 15: identical records
      // of one file are distinct events; before, they were merged)
      e('b', 'd1', '2024-03-01T00:00:00.000+00:00', { k: 1 }),
      e('b', 'd1', '2024-03-01T00:00:01Z', { k: 1 }), // a different instant
    ];
    const r1 = await importLines('d.jsonl', lines);
    expect(r1).toMatchObject({
      records: 5,
      inserted: 4,
      duplicates: 1,
      duplicateRules: { 'uuid, repeated in the file': 1 },
    });
    expect(ledgerBalances(r1)).toBe(true);
    const r2 = await importLines('d.jsonl', lines);
    expect(r2).toMatchObject({
      records: 5,
      inserted: 0,
      duplicates: 5,
      // Both records of u1 count as already stored: what an earlier import stored comes first.
      duplicateRules: { 'uuid, already stored': 2, 'content+occurrence, already stored': 3 },
    });
    expect(ledgerBalances(r2)).toBe(true);
    expect(await rows('SELECT count(*)::INTEGER AS n FROM events')).toEqual([{ n: 4 }]);
    const [derived] = await rows<{ uuid: string }>(
      "SELECT uuid FROM events WHERE event = 'b' ORDER BY timestamp LIMIT 1",
    );
    expect(derived?.uuid).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
  });
});

describe('identity of an event without uuid (content + occurrence)', () => {
  it('stores every purchase of a real purchase log, repeated ones included; a re-import stores none', async () => {
    const lines = cdnowEvents();
    expect(lines).toHaveLength(69_659);
    // 255 lines repeat an earlier line exactly: the content rule alone would have lost them.
    expect(lines.length - new Set(lines).size).toBe(255);
    const f = write('cdnow.jsonl', lines.join('\n') + '\n');
    const r1 = await importEvents(engine, f);
    expect(r1).toMatchObject({ records: 69_659, inserted: 69_659, duplicates: 0, rejected: [] });
    expect(ledgerBalances(r1)).toBe(true);
    const [sum] = await rows<{ n: number; cds: number; cents: number }>(
      `SELECT count(*)::INTEGER AS n, sum((properties ->> 'quantity')::INTEGER)::INTEGER AS cds,
        sum(round((properties ->> 'revenue')::DECIMAL(12, 2) * 100))::BIGINT AS cents FROM events`,
    );
    // Against the source file itself: every CD and every cent.
    const cds = lines.reduce(
      (a, l) => a + (JSON.parse(l) as { properties: { quantity: number } }).properties.quantity,
      0,
    );
    const cents = lines.reduce(
      (a, l) =>
        a + Math.round((JSON.parse(l) as { properties: { revenue: number } }).properties.revenue * 100),
      0,
    );
    expect(sum).toEqual({ n: 69_659, cds, cents });
    const r2 = await importEvents(engine, f, { chunkBytes: 1024 * 1024 });
    expect(r2).toMatchObject({
      records: 69_659,
      inserted: 0,
      duplicates: 69_659,
      duplicateRules: { 'content+occurrence, already stored': 69_659 },
    });
    expect(await rows('SELECT count(*)::INTEGER AS n FROM events')).toEqual([{ n: 69_659 }]);
  }, 300_000);

  it('stores the overlap of two exports once: the k-th copy in one is the k-th copy in the other', async () => {
    const buy = (id: string, day: string, usd: string): string =>
      `{"event":"order completed","distinct_id":"${id}","timestamp":"${day}","properties":{"revenue":${usd}}}`;
    const a = [
      buy('c1', '1997-01-01', '10.00'),
      buy('c1', '1997-01-01', '10.00'), // bought twice that day
      buy('c2', '1997-01-02', '5.00'),
      buy('c1', '1997-01-01', '10.00'), // and a third time
    ];
    // B starts in the middle of A (its copies 2 and 3 of c1 are copies 1 and 2 in B), then goes on.
    const b = [a[1]!, a[2]!, a[3]!, buy('c1', '1997-01-01', '10.00'), buy('c3', '1997-01-03', '1.00')];
    const ra = await importEvents(engine, write('a.jsonl', a.join('\n') + '\n'));
    expect(ra).toMatchObject({ records: 4, inserted: 4, duplicates: 0 });
    const rb = await importEvents(engine, write('b.jsonl', b.join('\n') + '\n'));
    // c1: A has 3 copies, B 3 → none new; c2 already stored; c3 new.
    expect(rb).toMatchObject({
      records: 5,
      inserted: 1,
      duplicates: 4,
      duplicateRules: { 'content+occurrence, already stored': 4 },
    });
    expect(ledgerBalances(rb)).toBe(true);
    expect(
      await rows('SELECT distinct_id AS d, count(*)::INTEGER AS n FROM events GROUP BY 1 ORDER BY 1'),
    ).toEqual([
      { d: 'c1', n: 3 },
      { d: 'c2', n: 1 },
      { d: 'c3', n: 1 },
    ]);
    // A later export with a fourth copy stores the fourth only.
    const c = [a[0]!, a[0]!, a[0]!, a[0]!];
    expect(await importEvents(engine, write('c.jsonl', c.join('\n') + '\n'))).toMatchObject({
      inserted: 1,
      duplicates: 3,
    });
  });

  it('compares properties in canonical form: key order (at every depth) and number spelling do not count', async () => {
    const a = `{"event":"e","distinct_id":"d","timestamp":"2024-03-01T10:00:00Z","properties":{"a":1,"b":{"x":1.0,"y":[1,2,{"p":-0.0,"q":"1.0"}]},"n":null,"s":"text"}}`;
    // The same content: keys reordered everywhere, 1 as 1.0 / 1e0 / 10e-1, -0.0 as 0, another
    // spelling of the instant.
    const same = `{"properties":{"s":"text","n":null,"b":{"y":[1e0,2.0,{"q":"1.0","p":0}],"x":10e-1},"a":1.00},"timestamp":"2024-03-01T11:00:00+01:00","distinct_id":"d","event":"e"}`;
    // Different content: array order, a string "1" for the number 1, null against missing, a
    // nested key moved up a level.
    const different = [
      `{"event":"e","distinct_id":"d","timestamp":"2024-03-01T10:00:00Z","properties":{"a":1,"b":{"x":1.0,"y":[2,1,{"p":-0.0,"q":"1.0"}]},"n":null,"s":"text"}}`,
      `{"event":"e","distinct_id":"d","timestamp":"2024-03-01T10:00:00Z","properties":{"a":"1","b":{"x":1.0,"y":[1,2,{"p":-0.0,"q":"1.0"}]},"n":null,"s":"text"}}`,
      `{"event":"e","distinct_id":"d","timestamp":"2024-03-01T10:00:00Z","properties":{"a":1,"b":{"x":1.0,"y":[1,2,{"p":-0.0,"q":"1.0"}]},"s":"text"}}`,
      `{"event":"e","distinct_id":"d","timestamp":"2024-03-01T10:00:00Z","properties":{"a":1,"b":{"x":1.0,"y":[1,2,{"q":"1.0"}]},"p":-0.0,"n":null,"s":"text"}}`,
    ];
    expect(await importEvents(engine, write('a.jsonl', a + '\n'))).toMatchObject({ inserted: 1 });
    const r = await importEvents(engine, write('b.jsonl', [same, ...different].join('\n') + '\n'));
    expect(r).toMatchObject({
      records: 5,
      inserted: 4,
      duplicates: 1,
      duplicateRules: { 'content+occurrence, already stored': 1 },
    });
    // The same in a CSV export (properties as a JSON column) and a JSON array.
    const csv = `event,distinct_id,timestamp,properties\ne,d,2024-03-01 10:00:00,"${JSON.stringify((JSON.parse(same) as { properties: unknown }).properties).replaceAll('"', '""')}"\n`;
    expect(await importEvents(engine, write('c.csv', csv))).toMatchObject({ inserted: 0, duplicates: 1 });
    expect(await importEvents(engine, write('c.json', `[${same}]`))).toMatchObject({
      inserted: 0,
      duplicates: 1,
    });
  });

  it('numbers identical records across chunks as in one read, and keeps the file order on the line-by-line path', async () => {
    const x = e('x', 'd', '2024-03-01T00:00:00Z', { v: 1 });
    const y = e('y', 'd', '2024-03-01T00:00:00Z', { v: 1 });
    const lines = [x, y, x, x, y, x];
    const f = write('rep.jsonl', lines.join('\n') + '\n');
    await importEvents(engine, f);
    const keys = 'SELECT uuid FROM events ORDER BY uuid';
    const whole = await rows(keys);
    expect(whole).toHaveLength(6);
    for (const variant of [{ chunkBytes: 1 }, { bad: true }]) {
      await withOtherStore(async (other) => {
        // One line per chunk, or the line-by-line path (a bad line at the end forces it).
        const file = variant.bad ? write('rep-bad.jsonl', [...lines, '{"event":'].join('\n') + '\n') : f;
        const r = await importEvents(other, file, variant.bad ? {} : { chunkBytes: 1 });
        expect(r).toMatchObject({ inserted: 6, duplicates: 0 });
        expect(await other.query(raw(keys))).toEqual(whole);
        // A re-import chunked one line per chunk stores nothing.
        expect(await importEvents(other, f, { chunkBytes: 1 })).toMatchObject({ inserted: 0, duplicates: 6 });
      });
    }
  });

  it('keeps the derived key of a record fixed (a change would store every re-imported event twice)', async () => {
    await importLines('k.jsonl', [
      e('order completed', '00002', '1997-01-12', { quantity: 5, revenue: 77 }),
      e('order completed', '00002', '1997-01-12', { quantity: 5, revenue: 77 }),
    ]);
    expect(await rows('SELECT uuid FROM events ORDER BY rowid')).toEqual([
      { uuid: GOLDEN_KEYS[0] },
      { uuid: GOLDEN_KEYS[1] },
    ]);
  });

  it('gives events stored under the old content key the new key (migration 008), so a re-import stores nothing', async () => {
    const lines = [
      e('b', 'd1', '2024-03-01T00:00:00Z', { k: 1, z: { b: 2, a: 1 } }),
      e('b', 'd1', '2024-03-01T00:00:00Z', { k: 1.5 }),
      e('$identify', 'user', '2024-03-01T01:00:00Z', { $anon_distinct_id: 'd1' }),
    ];
    // A store written by the old rule: md5 of (event, distinct_id, timestamp, properties text).
    await engine.exec(
      raw(`INSERT INTO events (uuid, event, distinct_id, person_id, timestamp, properties, source, imported_at)
      SELECT regexp_replace(md5(event || chr(31) || distinct_id || chr(31) || strftime(ts, '%Y-%m-%dT%H:%M:%S.%fZ') || chr(31) || properties),
          '^(.{8})(.{4})(.{4})(.{4})(.{12})$', '\\1-\\2-\\3-\\4-\\5'), event, distinct_id, distinct_id, ts, properties, 'old', now()
      FROM (SELECT j ->> 'event' AS event, j ->> 'distinct_id' AS distinct_id, (j ->> 'timestamp')::TIMESTAMPTZ AS ts,
        json(j -> 'properties')::VARCHAR AS properties FROM (SELECT unnest([${lines.map((l) => `'${l}'`).join(', ')}])::JSON AS j))`),
    );
    await engine.exec(
      raw(
        `INSERT INTO identity_merges SELECT uuid, event, 'd1', 'user', timestamp FROM events WHERE event = '$identify'`,
      ),
    );
    // The migration again, as on a store from before it.
    await engine.exec(raw('DELETE FROM schema_migrations WHERE version = 8'));
    await engine.migrate();
    const r = await importLines('old.jsonl', lines);
    expect(r).toMatchObject({ records: 3, inserted: 0, duplicates: 3 });
    expect(
      await rows(
        'SELECT count(*)::INTEGER AS n FROM identity_merges m JOIN events e ON e.uuid = m.event_uuid',
      ),
    ).toEqual([{ n: 1 }]);
  });
});

/** The keys of the golden record: occurrence 1 and 2 (computed once; they must never change). */
const GOLDEN_KEYS = ['07929663-83b1-6efe-7f6a-dc4d083b6ace', '9b32fafe-0467-0016-7d3d-93cc1f62bc3d'];

describe('identity', () => {
  async function personOf(id: string): Promise<string | undefined> {
    const r = await rows<{ p: string }>(
      `SELECT person_id AS p FROM person_distinct_ids WHERE distinct_id = '${id}'`,
    );
    return r[0]?.p;
  }

  it('puts events before and after an $identify in one person, across imports', async () => {
    await importLines('1.jsonl', [
      e('$pageview', 'anon1', '2024-03-01T10:00:00Z'),
      e('signed_up', 'anon1', '2024-03-01T10:01:00Z'),
    ]);
    expect(await personOf('anon1')).toBe('anon1');
    await importLines('2.jsonl', [
      e('$identify', 'user1', '2024-03-01T10:02:00Z', {
        $anon_distinct_id: 'anon1',
        $set: { email: 'a@x.io' },
      }),
      e('$pageview', 'user1', '2024-03-02T09:00:00Z'),
    ]);
    const got = await rows<{ distinct_id: string; person_id: string }>(
      `SELECT DISTINCT distinct_id, person_id FROM ${EVENTS} ORDER BY distinct_id`,
    );
    expect(got).toEqual([
      { distinct_id: 'anon1', person_id: 'user1' },
      { distinct_id: 'user1', person_id: 'user1' },
    ]);
    expect(
      await rows(
        "SELECT person_id, is_identified, strftime(created_at, '%Y-%m-%dT%H:%M') AS created FROM persons",
      ),
    ).toEqual([{ person_id: 'user1', is_identified: true, created: '2024-03-01T10:00' }]);
  });

  it('resolves a chain of merges (identify, alias, merge_dangerously) to one person', async () => {
    await importLines('c.jsonl', [
      e('$pageview', 'a', '2024-03-01T00:00:00Z'),
      e('$identify', 'b', '2024-03-01T01:00:00Z', { $anon_distinct_id: 'a' }), // a → b
      e('$create_alias', 'c', '2024-03-01T02:00:00Z', { alias: 'b' }), // b → c
      e('$merge_dangerously', 'd', '2024-03-01T03:00:00Z', { alias: 'c' }), // c → d
      e('$pageview', 'e', '2024-03-01T04:00:00Z'), // unrelated
    ]);
    // The person is the earliest merge target: b (01:00) before c (02:00) and d (03:00).
    for (const id of ['a', 'b', 'c', 'd']) expect(await personOf(id)).toBe('b');
    expect(await personOf('e')).toBe('e');
    expect(await rows(`SELECT count(DISTINCT person_id)::INTEGER AS n FROM ${EVENTS}`)).toEqual([{ n: 2 }]);
    expect(await rows('SELECT person_id FROM persons ORDER BY 1')).toEqual([
      { person_id: 'b' },
      { person_id: 'e' },
    ]);
  });

  it('refuses an $identify that would merge an already identified id (PostHog rule)', async () => {
    await importLines('r.jsonl', [
      e('$identify', 'alice', '2024-03-01T00:00:00Z', { $anon_distinct_id: 'anon' }),
      // The same anonymous id identified as someone else later: refused, anon stays with alice.
      e('$identify', 'bob', '2024-03-02T00:00:00Z', { $anon_distinct_id: 'anon' }),
      // An identified id as the anonymous side of $identify: refused.
      e('$identify', 'carol', '2024-03-03T00:00:00Z', { $anon_distinct_id: 'alice' }),
      // $merge_dangerously merges identified persons anyway.
      e('$merge_dangerously', 'dave', '2024-03-04T00:00:00Z', { alias: 'bob' }),
    ]);
    expect(await personOf('anon')).toBe('alice');
    expect(await personOf('bob')).toBe('dave');
    expect(await personOf('carol')).toBe('carol');
  });

  it('$set: latest per key wins; $set_once: earliest wins; arrival order does not matter', async () => {
    await importLines('s2.jsonl', [
      e('x', 'p', '2024-03-03T00:00:00Z', { $set: { plan: 'pro' }, $set_once: { first: 'c' } }),
      e('x', 'p', '2024-03-02T00:00:00Z', {
        $set: { plan: 'team', seats: 3 },
        $set_once: { first: 'b', ref: 'ad' },
      }),
    ]);
    await importLines('s1.jsonl', [
      e('x', 'p', '2024-03-01T00:00:00Z', { $set: { plan: 'free' }, $set_once: { first: 'a' } }),
      // Top-level $set of an SDK payload counts too.
      ev({ event: 'y', distinct_id: 'p', timestamp: '2024-03-04T00:00:00Z', $set: { seats: 5 } }),
    ]);
    const [p] = await rows<{ properties: string }>("SELECT properties FROM persons WHERE person_id = 'p'");
    // plan: latest $set (03-03 'pro'); seats: latest (03-04, 5); first: earliest $set_once (03-01 'a').
    expect(JSON.parse(p!.properties)).toEqual({ plan: 'pro', seats: 5, first: 'a', ref: 'ad' });
  });

  it('applyIdentity derives identity for events stored by another path', async () => {
    await engine.exec(
      raw(`INSERT INTO events (uuid, event, distinct_id, person_id, timestamp, properties) VALUES
        ('x1', '$pageview', 'anon9', 'anon9', '2024-03-01T00:00:00Z', '{}'),
        ('x2', '$identify', 'user9', 'user9', '2024-03-01T00:01:00Z', '{"$anon_distinct_id":"anon9","$set":{"k":"v"}}')`),
    );
    await applyIdentity(engine);
    expect(await rows(`SELECT DISTINCT person_id FROM ${EVENTS}`)).toEqual([{ person_id: 'user9' }]);
    expect(await rows('SELECT person_id, properties FROM persons')).toEqual([
      { person_id: 'user9', properties: '{"k":"v"}' },
    ]);
  });
});

describe('groups', () => {
  it('keeps the latest $group_set value per key, whatever the arrival order', async () => {
    const gi = (t: string, set: Record<string, unknown>): string =>
      e('$groupidentify', 'u', t, { $group_type: 'organization', $group_key: 'acme', $group_set: set });
    await importLines('g2.jsonl', [
      gi('2024-03-05T00:00:00Z', { name: 'Acme Inc', employees: 50 }),
      e('$pageview', 'u', '2024-02-20T00:00:00Z', { $groups: { organization: 'acme', project: 7 } }),
    ]);
    await importLines('g1.jsonl', [
      gi('2024-03-01T00:00:00Z', { name: 'Acme', industry: 'retail', employees: 10 }),
    ]);
    const got = await rows<{ group_type: string; group_key: string; properties: string; created: string }>(
      "SELECT group_type, group_key, properties, strftime(created_at, '%Y-%m-%d') AS created FROM groups ORDER BY 1",
    );
    expect(got.map((g) => ({ ...g, properties: JSON.parse(g.properties) as unknown }))).toEqual([
      // name and employees from 03-05 (latest), industry only ever set on 03-01; first seen 02-20.
      {
        group_type: 'organization',
        group_key: 'acme',
        properties: { name: 'Acme Inc', employees: 50, industry: 'retail' },
        created: '2024-02-20',
      },
      { group_type: 'project', group_key: '7', properties: {}, created: '2024-02-20' },
    ]);
  });
});

describe('real PostHog capture output', () => {
  it('imports with identity and groups resolved', async () => {
    const r = await importEvents(engine, 'test/fixtures/real/posthog-payloads/decoded_events.jsonl');
    // The dump replays some requests: 6 events arrive twice with the same uuid and are stored once.
    expect(r).toMatchObject({ records: 88, inserted: 82, duplicates: 6, rejected: [] });
    const user = 'pWAkITyQ3CN7332UqQxnH6p3FV8VJd7pY647EdNkxWc';
    const anon = '018a981f-4b2d-78ae-947b-bedbaa02a0f4';
    // The one $identify merges the posthog-js anonymous device id into the logged-in user:
    // 79 lines of the user + 3 of the anonymous id (before the $identify at 09:15:02.325), less 6 repeats.
    expect(
      await rows(
        `SELECT person_id, count(*)::INTEGER AS n FROM ${EVENTS} WHERE distinct_id IN ('${user}', '${anon}') GROUP BY 1`,
      ),
    ).toEqual([{ person_id: user, n: 76 }]);
    const [person] = await rows<{ properties: string; is_identified: boolean; created: string }>(
      `SELECT properties, is_identified, strftime(created_at, '%Y-%m-%dT%H:%M:%S.%g') AS created FROM persons WHERE person_id = '${user}'`,
    );
    expect(person).toEqual({
      properties: '{"email":"xavier@posthog.com"}',
      is_identified: true,
      created: '2023-09-15T09:15:02.318',
    });
    // 7 persons: the merged user and 6 distinct ids of posthog-node / batch-export events.
    expect(await rows('SELECT count(*)::INTEGER AS n FROM persons')).toEqual([{ n: 7 }]);
    const groups = await rows<{ group_type: string; name: unknown; ingested: unknown; site: unknown }>(
      `SELECT group_type, properties ->> 'name' AS name, properties ->> 'ingested_event' AS ingested,
        properties ->> 'site_url' AS site FROM groups ORDER BY group_type`,
    );
    expect(groups).toEqual([
      { group_type: 'instance', name: null, ingested: null, site: 'http://localhost:8000' },
      { group_type: 'organization', name: 'X', ingested: null, site: null },
      // ingested_event false at 09:15:02, true at 09:15:18: the latest wins.
      { group_type: 'project', name: 'Default Project', ingested: 'true', site: null },
    ]);
    expect(
      await rows(
        "SELECT count(*)::INTEGER AS n FROM events WHERE organization = '018a981e-f55c-0000-a85d-25c15e555d5d'",
      ),
    ).toEqual([{ n: 71 }]); // 76 lines with this $groups.organization, less 5 repeats
  });
});

describe('chunked loading of clean JSON Lines', () => {
  const TABLES = [
    `SELECT uuid, event, distinct_id, person_id, timestamp::VARCHAR AS t, properties::VARCHAR AS p, organization FROM ${EVENTS} ORDER BY uuid`,
    'SELECT * FROM person_distinct_ids ORDER BY distinct_id',
    'SELECT event_uuid, kind, from_id, into_id FROM identity_merges ORDER BY event_uuid',
    'SELECT person_id, properties::VARCHAR AS p, is_identified, created_at::VARCHAR AS c FROM persons ORDER BY person_id',
    'SELECT group_type, group_key, properties::VARCHAR AS p, created_at::VARCHAR AS c FROM groups ORDER BY ALL',
  ];
  const UUID_TIME_N =
    "SELECT uuid, strftime(timestamp, '%H:%M') AS t, properties ->> 'n' AS n FROM events ORDER BY uuid";
  const snapshot = (db: DuckDbEngine): Promise<unknown[][]> =>
    Promise.all(TABLES.map((q) => db.query(raw(q))));
  const expectSameTables = async (db: DuckDbEngine, expected: unknown[][]): Promise<void> => {
    const got = await snapshot(db);
    TABLES.forEach((q, i) => expect(got[i], q).toEqual(expected[i]));
  };

  it('stores the same events, identity, persons and groups one line per chunk as in one chunk', async () => {
    const file = 'test/fixtures/real/posthog-payloads/decoded_events.jsonl';
    const whole = await importEvents(engine, file);
    const expected = await snapshot(engine);
    await withOtherStore(async (other) => {
      // chunkBytes 1: every line is its own chunk (88 chunks).
      const chunked = await importEvents(other, file, { chunkBytes: 1 });
      expect(chunked).toMatchObject({ records: 88, inserted: 82, duplicates: 6, rejected: [] });
      expect(chunked).toMatchObject({ records: whole.records, inserted: whole.inserted });
      await expectSameTables(other, expected);
    });
  }, 180_000); // 88 chunks of one line each, twice: slow on a loaded machine

  it('keeps the earliest timestamp of a uuid across chunks, and a re-import stores nothing', async () => {
    const lines = [
      e('a', 'd1', '2024-03-01T05:00:00Z', { n: 1 }, 'u1'), // chunk 1
      e('b', 'd2', '2024-03-01T00:00:00Z', {}, 'u2'),
      e('a', 'd1', '2024-03-01T04:00:00Z', { n: 2 }, 'u1'), // earlier: replaces line 1
      e('a', 'd1', '2024-03-01T04:00:00Z', { n: 3 }, 'u1'), // same instant, later line: loses
    ];
    const f = write('c.jsonl', lines.join('\n') + '\n');
    const r1 = await importEvents(engine, f, { chunkBytes: 1 });
    // 4 records, 2 uuids: 2 stored, 2 duplicates.
    expect(r1).toMatchObject({ records: 4, inserted: 2, duplicates: 2 });
    expect(await rows(UUID_TIME_N)).toEqual([
      { uuid: 'u1', t: '04:00', n: '2' },
      { uuid: 'u2', t: '00:00', n: null },
    ]);
    expect(
      await rows("SELECT strftime(created_at, '%H:%M') AS c FROM persons WHERE person_id = 'd1'"),
    ).toEqual([{ c: '04:00' }]);
    const r2 = await importEvents(engine, f, { chunkBytes: 1 });
    expect(r2).toMatchObject({ records: 4, inserted: 0, duplicates: 4 });
    expect(await rows('SELECT count(*)::INTEGER AS n FROM events')).toEqual([{ n: 2 }]);
  });

  it('keeps the identity merge of the event that wins a uuid stored by two chunks', async () => {
    const lines = [
      e('pageview', 'anonA', '2024-03-01T01:00:00Z', {}, 'pa'),
      e('pageview', 'anonB', '2024-03-01T02:00:00Z', {}, 'pb'),
      e('$identify', 'user', '2024-03-01T05:00:00Z', { $anon_distinct_id: 'anonA' }, 'm1'),
      // The same uuid, earlier: this one is kept, and with it its merge (anonB, not anonA).
      e('$identify', 'user', '2024-03-01T04:00:00Z', { $anon_distinct_id: 'anonB' }, 'm1'),
    ];
    const f = write('moved.jsonl', lines.join('\n') + '\n');
    const whole = await importEvents(engine, f);
    const expected = await snapshot(engine);
    expect(whole).toMatchObject({ records: 4, inserted: 3, duplicates: 1 });
    expect(await rows('SELECT from_id, into_id FROM identity_merges')).toEqual([
      { from_id: 'anonB', into_id: 'user' },
    ]);
    expect(await rows(`SELECT distinct_id, person_id FROM ${EVENTS} ORDER BY distinct_id`)).toEqual([
      { distinct_id: 'anonA', person_id: 'anonA' },
      { distinct_id: 'anonB', person_id: 'user' },
      { distinct_id: 'user', person_id: 'user' },
    ]);
    await withOtherStore(async (other) => {
      expect(await importEvents(other, f, { chunkBytes: 1 })).toMatchObject({
        records: 4,
        inserted: 3,
        duplicates: 1,
      });
      await expectSameTables(other, expected);
    });
  });

  it('keeps what the chunks before a bad record stored and finishes the file line by line', async () => {
    const lines = [
      e('a', 'd1', '2024-03-01T05:00:00Z', { n: 1 }, 'u1'), // chunk 1: stored by the fast path
      e('b', 'd2', '2024-03-01T00:00:00Z', {}, 'u2'), // chunk 2: stored by the fast path
      '{"event": "broken"', // chunk 3: the fast path stops; the whole file is read line by line
      e('a', 'd1', '2024-03-01T04:00:00Z', { n: 2 }, 'u1'), // earlier: replaces what chunk 1 stored
      e('c', 'd3', '2024-03-01T06:00:00Z', {}, 'u3'),
    ];
    const r = await importEvents(engine, write('mixed.jsonl', lines.join('\n') + '\n'), { chunkBytes: 1 });
    expect(r).toMatchObject({
      records: 5,
      inserted: 3,
      duplicates: 1,
      rejected: [{ line: 3, reason: 'invalid JSON (truncated or malformed)' }],
    });
    expect(await rows(UUID_TIME_N)).toEqual([
      { uuid: 'u1', t: '04:00', n: '2' },
      { uuid: 'u2', t: '00:00', n: null },
      { uuid: 'u3', t: '06:00', n: null },
    ]);
    expect(
      await rows("SELECT person_id, strftime(created_at, '%H:%M') AS c FROM persons ORDER BY person_id"),
    ).toEqual([
      { person_id: 'd1', c: '04:00' },
      { person_id: 'd2', c: '00:00' },
      { person_id: 'd3', c: '06:00' },
    ]);
    expect(
      await rows(
        'SELECT records::INTEGER AS r, inserted::INTEGER AS i, rejected::INTEGER AS b FROM imports WHERE finished_at IS NOT NULL',
      ),
    ).toEqual([{ r: 5, i: 3, b: 1 }]);
  });

  it('refreshes the persons and groups of an import interrupted after its chunks were stored', async () => {
    const file = 'test/fixtures/real/posthog-payloads/decoded_events.jsonl';
    const later = write('later.jsonl', e('x', 'someone-else', '2024-03-01T00:00:00Z') + '\n');
    // What two complete imports leave.
    await importEvents(engine, file, { chunkBytes: 1 });
    await importEvents(engine, later);
    const expected = await snapshot(engine);
    // The first import again, stopped after its chunks committed: no persons, groups or finish.
    await withOtherStore(async (other) => {
      await importEvents(other, file, { chunkBytes: 1 });
      // The overrides of ids whose person a later chunk changed are written at the end too:
      // undone here, and every event put back on its own distinct_id (a store that lost more).
      await other.exec(
        raw(`DELETE FROM persons; DELETE FROM groups; UPDATE imports SET finished_at = NULL;
        DELETE FROM person_overrides; UPDATE events SET person_id = distinct_id`),
      );
      expect(
        await other.query(raw(`SELECT count(*)::INTEGER AS n FROM ${EVENTS} WHERE person_id <> distinct_id`)),
      ).toEqual([{ n: 0 }]);
      await importEvents(other, later);
      await expectSameTables(other, expected);
      expect(
        await other.query(raw('SELECT count(*)::INTEGER AS n FROM imports WHERE finished_at IS NULL')),
      ).toEqual([{ n: 0 }]);
    });
  }, 180_000); // 88 chunks of one line each, twice: slow on a loaded machine

  it('records the identity merge of the stored copy of a uuid only, whole or chunked', async () => {
    // Both orders of a pageview and an $identify sharing a uuid: the earlier pageview is stored,
    // so no merge may be recorded (the $identify is a duplicate that is not stored).
    const pv = e('pageview', 'A', '2024-03-01T01:00:00Z', {}, 'm1');
    const identify = e('$identify', 'B', '2024-03-01T05:00:00Z', { $anon_distinct_id: 'A' }, 'm1');
    for (const lines of [
      [pv, identify],
      [identify, pv],
    ]) {
      const f = write('order.jsonl', lines.join('\n') + '\n');
      for (const chunkBytes of [undefined, 1]) {
        await withOtherStore(async (other) => {
          await importEvents(other, f, { chunkBytes });
          const label = `${lines[0] === pv ? 'pageview first' : '$identify first'}, chunkBytes ${chunkBytes}`;
          expect(await other.query(raw('SELECT event FROM events')), label).toEqual([{ event: 'pageview' }]);
          expect(await other.query(raw('SELECT * FROM identity_merges')), label).toEqual([]);
          expect(await other.query(raw('SELECT * FROM person_distinct_ids ORDER BY 1')), label).toEqual([
            { distinct_id: 'A', person_id: 'A' },
          ]);
        });
      }
    }
    // A uuid stored before: a later $identify with it records no merge either.
    await importEvents(engine, write('pv.jsonl', pv + '\n'));
    await importEvents(engine, write('id.jsonl', identify + '\n'));
    expect(await rows('SELECT count(*)::INTEGER AS n FROM identity_merges')).toEqual([{ n: 0 }]);
  });

  describe('an import that fails part way', () => {
    /** `db` whose `nth` statement matching `re` throws, as a crash or a full disk there would. */
    const crashing = (db: DuckDbEngine, re: RegExp, nth = 1): DuckDbEngine => {
      let seen = 0;
      const fail =
        <A extends unknown[], R>(fn: (...a: A) => Promise<R>) =>
        async (...a: A): Promise<R> => {
          if (re.test(String(a[0])) && ++seen === nth) throw new Error('injected failure');
          return fn.apply(db, a);
        };
      return new Proxy(db, {
        get(target, prop) {
          if (prop === 'exec') return fail((q: Sql) => target.exec(q));
          if (prop === 'query') return fail((q: Sql) => target.query(q));
          const v: unknown = Reflect.get(target, prop);
          return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
        },
      });
    };
    const other = (name: string): string =>
      write(name, e('x', 'someone-else', '2024-03-01T23:00:00Z', {}, 'later') + '\n');

    it('keeps the chunks stored before the failure, and the next import finishes them', async () => {
      const lines = [
        e('pageview', 'anon', '2024-03-01T01:00:00Z', { $set: { plan: 'free' } }, 'u1'),
        e('$identify', 'user', '2024-03-01T02:00:00Z', { $anon_distinct_id: 'anon' }, 'u2'),
        e('pageview', 'user', '2024-03-01T03:00:00Z', {}, 'u3'),
      ];
      const f = write('three.jsonl', lines.join('\n') + '\n');
      const later = other('later.jsonl');
      await importEvents(engine, f, { chunkBytes: 1 });
      await importEvents(engine, later);
      const expected = await snapshot(engine);
      await withOtherStore(async (db) => {
        // The third chunk fails: the first two are committed, their import unfinished.
        await expect(
          importEvents(crashing(db, /INSERT INTO events/, 3), f, { chunkBytes: 1 }),
        ).rejects.toThrow(
          'injected failure (2 events stored before this are kept; the next events import or review finishes them)',
        );
        expect(
          await db.query(raw('SELECT count(*)::INTEGER AS n, count(finished_at)::INTEGER AS f FROM imports')),
        ).toEqual([{ n: 1, f: 0 }]);
        expect(await db.query(raw(`SELECT uuid, person_id FROM ${EVENTS} ORDER BY uuid`))).toEqual([
          { uuid: 'u1', person_id: 'anon' }, // moved at the end of the import, which never came
          { uuid: 'u2', person_id: 'user' },
        ]);
        await importEvents(db, f, { chunkBytes: 1 }); // stores u3
        await importEvents(db, later);
        await expectSameTables(db, expected);
        expect(
          await db.query(raw('SELECT count(*)::INTEGER AS n FROM imports WHERE finished_at IS NULL')),
        ).toEqual([{ n: 0 }]);
      });
    });

    it('is finished by a review build too, without another import', async () => {
      const f0 = write(
        'f0.jsonl',
        e('pageview', 'A', '2024-03-01T00:00:00Z', { $set: { plan: 'free' } }, 'u0') + '\n',
      );
      const lines = [
        e('$identify', 'B', '2024-03-01T05:00:00Z', { $anon_distinct_id: 'A' }, 'u1'),
        e('a', 'B', '2024-03-01T06:00:00Z', { n: 1, $groups: { company: 'acme' } }, 'u2'),
        e('a', 'B', '2024-03-01T04:00:00Z', { n: 2, $groups: { company: 'acme' } }, 'u2'), // kept
      ];
      const f1 = write('f1.jsonl', lines.join('\n') + '\n');
      await importEvents(engine, f0);
      await importEvents(engine, f1, { chunkBytes: 1 });
      const expected = await snapshot(engine);
      await withOtherStore(async (db) => {
        await importEvents(db, f0);
        await expect(importEvents(crashing(db, /_ingest_cands AS/), f1, { chunkBytes: 1 })).rejects.toThrow(
          'injected failure',
        );
        expect(await finishInterruptedImports(db)).toBe(1);
        await expectSameTables(db, expected);
        expect(await finishInterruptedImports(db)).toBe(0);
      });
      await withOtherStore(async (db) => {
        await importEvents(db, f0);
        await expect(importEvents(crashing(db, /_ingest_cands AS/), f1, { chunkBytes: 1 })).rejects.toThrow(
          'injected failure',
        );
        await buildReview({ engine: db, config: defaultConfig(), product: 'all', month: '2024-03' });
        await expectSameTables(db, expected);
        expect(
          await db.query(raw('SELECT count(*)::INTEGER AS n FROM imports WHERE finished_at IS NULL')),
        ).toEqual([{ n: 0 }]);
      });
    });

    it('drops the person events left when the next import merges their id again', async () => {
      // The interrupted import maps a3 to U1 without moving a3's event; the next maps U1 into U2.
      const f0 = write(
        'f0.jsonl',
        e('pv', 'a3', '2024-03-01T02:00:00Z', { $set: { plan: 'free' } }, 'k6') + '\n',
      );
      const first = e('$identify', 'U1', '2024-03-01T04:00:00Z', { $anon_distinct_id: 'a3' }, 'k4');
      const f1 = write(
        'f1.jsonl',
        [first, e('pv', 'U1', '2024-03-01T05:00:00Z', {}, 'k8')].join('\n') + '\n',
      );
      const f2 = write(
        'f2.jsonl',
        e('$identify', 'U2', '2024-03-01T01:00:00Z', { $anon_distinct_id: 'U1' }, 'k2') + '\n',
      );
      // What complete imports of what was committed leave.
      for (const f of [f0, write('f1a.jsonl', first + '\n'), f2]) await importEvents(engine, f);
      const expected = await snapshot(engine);
      expect(expected[3]).toEqual([
        { person_id: 'U2', p: '{"plan":"free"}', is_identified: true, c: '2024-03-01 01:00:00+00' },
      ]);
      await withOtherStore(async (db) => {
        await importEvents(db, f0);
        await expect(
          importEvents(crashing(db, /INSERT INTO events/, 2), f1, { chunkBytes: 1 }),
        ).rejects.toThrow('injected failure');
        await importEvents(db, f2);
        await expectSameTables(db, expected);
      });
    });

    it('leaves no imports row when it failed before storing anything', async () => {
      const f = write('one.jsonl', e('a', 'd1', '2024-03-01T00:00:00Z', {}, 'u1') + '\n');
      await expect(importEvents(crashing(engine, /INSERT INTO events/), f)).rejects.toThrow(
        /^injected failure$/,
      );
      expect(await rows('SELECT count(*)::INTEGER AS n FROM imports')).toEqual([{ n: 0 }]);
      expect(await rows('SELECT count(*)::INTEGER AS n FROM events')).toEqual([{ n: 0 }]);
    });

    it('moves events to the person a merge made, and drops the person merged away', async () => {
      const f0 = write(
        'f0.jsonl',
        e('pageview', 'A', '2024-03-01T00:00:00Z', { $set: { plan: 'free' } }, 'u0') + '\n',
      );
      const f1 = write(
        'f1.jsonl',
        e('$identify', 'B', '2024-03-01T05:00:00Z', { $anon_distinct_id: 'A' }, 'u1') + '\n',
      );
      const later = other('later.jsonl');
      for (const f of [f0, f1, later]) await importEvents(engine, f);
      const expected = await snapshot(engine);
      expect(expected[3]).toEqual([
        { person_id: 'B', p: '{"plan":"free"}', is_identified: true, c: '2024-03-01 00:00:00+00' },
        { person_id: 'someone-else', p: '{}', is_identified: false, c: '2024-03-01 23:00:00+00' },
      ]);
      await withOtherStore(async (db) => {
        await importEvents(db, f0);
        // f1's events and merge are committed; its end (moving A's events to B, persons) fails.
        await expect(importEvents(crashing(db, /FROM _ingest_changed/), f1)).rejects.toThrow(
          'injected failure',
        );
        expect(await db.query(raw('SELECT person_id FROM persons ORDER BY 1'))).toEqual([{ person_id: 'A' }]);
        await importEvents(db, later);
        await expectSameTables(db, expected);
      });
    });

    it('removes the duplicates it stored across chunks when the next import finishes it', async () => {
      const lines = [
        e('a', 'd1', '2024-03-01T05:00:00Z', { n: 1 }, 'u1'),
        e('b', 'd2', '2024-03-01T00:00:00Z', {}, 'u2'),
        e('a', 'd1', '2024-03-01T04:00:00Z', { n: 2 }, 'u1'), // earlier: the one kept
      ];
      const f = write('dup.jsonl', lines.join('\n') + '\n');
      // With a bad line, the fast path stores two chunks and the line-based path the file again.
      const withBad = write('dup-bad.jsonl', [...lines, '{"event": "broken"'].join('\n') + '\n');
      for (const [file, step] of [
        [f, /_ingest_cands AS/],
        [withBad, /_ingest_cands AS/],
      ] as const) {
        await withOtherStore(async (db) => {
          await expect(importEvents(crashing(db, step), file, { chunkBytes: 1 })).rejects.toThrow(
            'injected failure',
          );
          const [stored] = await db.query<{ n: number }>(raw('SELECT count(*)::INTEGER AS n FROM events'));
          expect(stored?.n, 'u1 stored twice before the failure').toBeGreaterThan(2);
          await importEvents(db, other('later.jsonl'));
          expect(await db.query(raw(UUID_TIME_N))).toEqual([
            { uuid: 'later', t: '23:00', n: null },
            { uuid: 'u1', t: '04:00', n: '2' },
            { uuid: 'u2', t: '00:00', n: null },
          ]);
          expect(
            await db.query(
              raw("SELECT strftime(created_at, '%H:%M') AS c FROM persons WHERE person_id = 'd1'"),
            ),
          ).toEqual([{ c: '04:00' }]);
          expect(
            await db.query(
              raw(
                'SELECT inserted::INTEGER AS i FROM imports WHERE finished_at IS NOT NULL ORDER BY imported_at',
              ),
            ),
          ).toEqual([{ i: 2 }, { i: 1 }]);
        });
      }
    });
  });
});
