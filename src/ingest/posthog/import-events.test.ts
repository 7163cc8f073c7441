import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { raw } from '../../store/sql.js';
import { DuckDbEngine } from '../../store/duckdb/engine.js';
import { importEvents } from './import-events.js';

let engine: DuckDbEngine;
let dir: string;

beforeEach(async () => {
  engine = await DuckDbEngine.open(':memory:');
  await engine.migrate();
  dir = mkdtempSync(join(tmpdir(), 'sextant-events-'));
});
afterEach(async () => {
  await engine.close();
});

const ev = (o: Record<string, unknown>): string => JSON.stringify(o);

function write(name: string, content: string | Buffer): string {
  const f = join(dir, name);
  writeFileSync(f, content);
  return f;
}

async function rows<T>(q: string): Promise<T[]> {
  return engine.query<T & Record<string, unknown>>(raw(q));
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
