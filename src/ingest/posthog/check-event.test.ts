import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DuckDbEngine } from '../../store/duckdb/engine.js';
import { TimestampReader } from '../../store/duckdb/timestamp-reader.js';
import { importEvents } from './import-events.js';
import {
  checkEvent,
  commonTimestampMicros,
  EVENT_RULES,
  latestEventTime,
  faultReason,
  type TimestampReading,
} from './rules.js';

// The capture API acknowledges what `checkEvent` accepts, before the importer ever sees it
// (server/capture/service.ts): the two must agree on every record, reason for reason.

const now = new Date('2024-06-01T00:00:00.000Z');
const ok = { event: 'e', distinct_id: 'd', timestamp: '2024-05-01T00:00:00Z', properties: {} };
const timestamps = [
  '2024-05-01',
  '2024-05-01T10:00',
  '2024-05-01T10:00:00',
  '2024-05-01 10:00:00Z',
  '2024-05-01T10:00:00.123456789Z',
  '2024-05-01T10:00:00.5Z',
  '2024-05-01T10:00:00+02',
  '2024-05-01T10:00:00+0230',
  '2024-05-01T10:00:00-02:30',
  '2024-05-01T10:00:00+14:00',
  '2024-05-01T10:00:00+15:00',
  '2024-05-01T10:00:00 UTC',
  '2024-05-01T10:00:00 America/New_York',
  '2024-5-1',
  '2024/05/01',
  '  2024-05-01T10:00:00Z ',
  '2024-05-01T24:00:00',
  '2024-05-01T10:00:00z',
  '2024-05-01T10',
  '2024-05-01T25:00:00',
  '2024-02-30',
  '2023-02-29T00:00:00Z',
  '2024-02-29T00:00:00Z',
  '2024-05-01T10:00:60',
  '2024-05-01 10:00:00.',
  '20240501',
  'yesterday',
  '',
  'infinity',
  '-infinity',
  '1969-12-31T23:59:59.999999Z',
  '1970-01-01T00:00:00Z',
  '0024-05-01',
  '2024-06-01T00:59:59.999999Z',
  '2024-06-01T01:00:00Z',
  '2024-06-01T01:00:00.000001Z',
  '2024-06-01T03:00:00+02:00',
  '2024-06-01T03:00:00.000001+02:00',
  '9999-12-31T23:59:59Z',
  '2024-05-01T10:00:00.' + 'x'.repeat(60),
  '2024-05-01T10:00:00ZZ',
  '2024-05-01T10:00:00+02:00:00',
];
const records: Record<string, unknown>[] = [
  ok,
  { ...ok, event: undefined },
  { ...ok, event: null },
  { ...ok, event: 5 },
  { ...ok, event: true },
  { ...ok, event: ['a'] },
  { ...ok, event: { a: 1 } },
  { ...ok, event: '' },
  { ...ok, distinct_id: undefined },
  { ...ok, distinct_id: null },
  { ...ok, distinct_id: 42 },
  { ...ok, distinct_id: 4.5 },
  { ...ok, distinct_id: '' },
  { ...ok, distinct_id: false },
  { ...ok, distinct_id: [] },
  { ...ok, distinct_id: {} },
  { ...ok, timestamp: undefined },
  { ...ok, timestamp: null },
  { ...ok, timestamp: 1714521600000 },
  { ...ok, timestamp: {} },
  ...timestamps.map((timestamp) => ({ ...ok, timestamp })),
  { ...ok, properties: null },
  { ...ok, properties: [] },
  { ...ok, properties: 'x' },
  { ...ok, properties: 3 },
  { ...ok, uuid: 'u-1' },
  { ...ok, uuid: '' },
  { ...ok, uuid: null },
  { ...ok, uuid: 7 },
  { ...ok, uuid: { a: 1 } },
  { ...ok, event: 5, distinct_id: null, timestamp: 'x', uuid: 1 },
  { ...ok, timestamp: 'not a time', properties: [] },
];

describe('checkEvent (the capture API) and the events importer', () => {
  it('reject the same records with the same field and reason', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sextant-check-'));
    const engine = await DuckDbEngine.open(':memory:');
    const reader = new TimestampReader();
    try {
      await engine.migrate();
      const file = join(dir, 'events.jsonl');
      writeFileSync(file, records.map((r) => JSON.stringify(r) + '\n').join(''));
      const report = await importEvents(engine, file, { now });
      const byImporter = new Map(
        report.rejected.map((r) => [r.line, { field: r.field ?? null, reason: r.reason }]),
      );

      const texts = records.map((r) => r.timestamp).filter((t): t is string => typeof t === 'string');
      const unusual = await reader.read(texts.filter((t) => commonTimestampMicros(t) === undefined));
      const read = (t: string): TimestampReading => {
        const us = commonTimestampMicros(t);
        return us !== undefined ? { us } : unusual.get(t)!;
      };
      const latestUs = latestEventTime(now).getTime() * 1000;
      const mismatches: string[] = [];
      records.forEach((r, i) => {
        const f = checkEvent(r, latestUs, read);
        const mine = f ? { field: EVENT_RULES[f.key].field, reason: faultReason(f) } : undefined;
        const theirs = byImporter.get(i + 1);
        if (JSON.stringify(mine) !== JSON.stringify(theirs)) {
          mismatches.push(
            `${JSON.stringify(r)}: checkEvent ${JSON.stringify(mine)}, importer ${JSON.stringify(theirs)}`,
          );
        }
      });
      expect(mismatches).toEqual([]);
      // Both ways round: the list holds good and bad records of every rule it can reach.
      expect(report.rejected.length).toBeGreaterThan(30);
      expect(report.inserted).toBeGreaterThan(10);
    } finally {
      await reader.close();
      await engine.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('reads the common ISO shapes in JS to the microsecond, leaving the rest to the store', () => {
    expect(commonTimestampMicros('2024-05-01T10:00:00.1234567Z')).toBe(
      Date.parse('2024-05-01T10:00:00.123Z') * 1000 + 456,
    );
    expect(commonTimestampMicros('2024-05-01T10:00:00+02:30')).toBe(
      Date.parse('2024-05-01T07:30:00Z') * 1000,
    );
    expect(commonTimestampMicros('2024-05-01')).toBe(Date.parse('2024-05-01T00:00:00Z') * 1000);
    expect(commonTimestampMicros('0099-01-01')).toBe(new Date('0099-01-01T00:00:00Z').getTime() * 1000);
    for (const t of ['2024/05/01', '2024-05-01T24:00:00', '2024-02-30', '2024-05-01T10:00:00 UTC', 'x']) {
      expect(commonTimestampMicros(t), t).toBeUndefined();
    }
  });
});
