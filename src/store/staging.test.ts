/**
 * The DuckDB stage of a ClickHouse import (staging.ts): the stored events are not copied into the
 * stage, only those keyed by the records being imported (their uuids, their people's ids); the
 * events the import stored are appended; an import that changed a stored event writes nothing.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { finishInterruptedImports, importEvents } from '../ingest/posthog/import-events.js';
import { openChdb } from './clickhouse/test-chdb.js';
import type { Engine } from './engine.js';
import { eventImportSteps } from './registry.js';
import { raw } from './sql.js';
import { withImportStore } from './staging.js';

let ch: Engine;
let dir: string;
beforeAll(async () => {
  ch = await openChdb();
  dir = mkdtempSync(join(tmpdir(), 'sextant-staging-'));
});
afterAll(async () => {
  await ch.close();
});

const line = (uuid: string, t: string, distinctId = 'd'): string =>
  JSON.stringify({ event: 'x', distinct_id: distinctId, timestamp: t, uuid, properties: {} });

async function staged(fn: (e: Engine) => Promise<unknown>): Promise<string[]> {
  const progress: string[] = [];
  await withImportStore(ch, fn, { onProgress: (l) => progress.push(l) });
  return progress.filter((l) => /events/.test(l) && !l.startsWith('staging'));
}

const uuids = async (): Promise<string[]> =>
  (await ch.query<{ uuid: string }>(raw('SELECT uuid FROM events ORDER BY uuid'))).map((r) => r.uuid);

describe('a ClickHouse import through the DuckDB stage', () => {
  it('reads only the stored events keyed by the file, and appends only the events an import stored', async () => {
    const f1 = join(dir, 'a.jsonl');
    writeFileSync(
      f1,
      [line('u1', '2024-03-01T00:00:00Z'), line('u2', '2024-03-02T00:00:00Z')].join('\n') + '\n',
    );
    expect(await staged((e) => importEvents(e, f1))).toEqual(['appending 2 events']);
    const f2 = join(dir, 'b.jsonl');
    // u2 again (a duplicate, not stored) and two new ones, all of person d: d's 2 events are read.
    writeFileSync(
      f2,
      [
        line('u2', '2024-03-02T00:00:00Z'),
        line('u3', '2024-03-03T00:00:00Z'),
        line('u4', '2024-03-04T00:00:00Z'),
      ].join('\n') + '\n',
    );
    expect(await staged((e) => importEvents(e, f2))).toEqual([
      'read 2 stored events keyed by the batch (2 in all)',
      'appending 2 events',
    ]);
    expect(await uuids()).toEqual(['u1', 'u2', 'u3', 'u4']);
    // The same file again: nothing new, events untouched.
    expect(await staged((e) => importEvents(e, f2))).toEqual([
      'read 4 stored events keyed by the batch (4 in all)',
    ]);
    expect(await uuids()).toEqual(['u1', 'u2', 'u3', 'u4']);
    // A new person's events: none of the stored events is read.
    const f3 = join(dir, 'c.jsonl');
    writeFileSync(f3, line('u5', '2024-03-05T00:00:00Z', 'someone-else') + '\n');
    expect(await staged((e) => importEvents(e, f3))).toEqual(['appending 1 events']);
    // A stored uuid under another person is still found (a duplicate, read by its uuid alone).
    const f4 = join(dir, 'd.jsonl');
    writeFileSync(f4, line('u1', '2024-03-01T00:00:00Z', 'a-third-one') + '\n');
    let staged4 = -1;
    await withImportStore(ch, async (e) => {
      const r = await importEvents(e, f4);
      staged4 = r.duplicates;
    });
    expect(staged4).toBe(1);
    expect(await uuids()).toEqual(['u1', 'u2', 'u3', 'u4', 'u5']);
  });

  it('refuses to write back an import that removed a stored event it was given', async () => {
    const before = await uuids();
    const f = join(dir, 'e.jsonl');
    writeFileSync(f, line('u6', '2024-03-06T00:00:00Z') + '\n');
    await expect(
      withImportStore(ch, async (e) => {
        await importEvents(e, f);
        await e.exec(raw("DELETE FROM events WHERE uuid = 'u1'"));
      }),
    ).rejects.toThrow('the import removed or changed 1 stored events: nothing written back');
    expect(await uuids()).toEqual(before);
  });

  // The bulk path (a Parquet file the store parses: `Engine.appendParquet`) and the row path of
  // an engine without it (`Engine.insert`).
  for (const path of ['appendParquet', 'insert'] as const) {
    it(`sends a batch whose acknowledgment was lost again, and ClickHouse stores it once (${path})`, async () => {
      const before = (await uuids()).length;
      const f = join(dir, `lost-ack-${path}.jsonl`);
      const v = `v-${path}`;
      writeFileSync(
        f,
        [line(`${v}1`, '2024-04-01T00:00:00Z', v), line(`${v}2`, '2024-04-02T00:00:00Z', v)].join('\n') +
          '\n',
      );
      // The insert reaches the store, then the connection drops before its answer.
      let dropped = 0;
      const insert: Engine['insert'] = async (table, rows, o) => {
        await ch.insert(table, rows, o);
        if (table === 'events' && dropped++ === 0) throw new Error('socket hang up');
      };
      const appendParquet: NonNullable<Engine['appendParquet']> = async (table, columns, file, o) => {
        await ch.appendParquet?.(table, columns, file, o);
        if (table === 'events' && dropped++ === 0) throw new Error('socket hang up');
      };
      const flaky = new Proxy(ch, {
        get(t, p): unknown {
          if (p === 'insert') return insert;
          if (p === 'appendParquet') return path === 'appendParquet' ? appendParquet : undefined;
          const v: unknown = Reflect.get(t, p, t);
          return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(t) : v;
        },
      });
      const progress: string[] = [];
      await withImportStore(flaky, (e) => importEvents(e, f), { onProgress: (l) => progress.push(l) });
      expect(dropped).toBe(2);
      expect(progress).toContain('appending batch 1 again after: socket hang up');
      expect((await uuids()).length).toBe(before + 2);
    });
  }

  it('leaves out the tables an import does not read, and refuses to write one back', async () => {
    expect((await uuids()).length).toBeGreaterThan(0);
    // The stage of an import that does not read events holds none of them.
    let staged = -1;
    await withImportStore(
      ch,
      async (e) => {
        [{ n: staged }] = await e.query<{ n: number }>(raw('SELECT count(*) AS n FROM events'));
      },
      { without: ['events'] },
    );
    expect(staged).toBe(0);
    const before = await uuids();
    await expect(
      withImportStore(
        ch,
        (e) =>
          e.exec(
            raw(
              `INSERT INTO events (uuid, event, distinct_id, person_id, timestamp) VALUES ('z', 'x', 'd', 'd', '2024-03-05')`,
            ),
          ),
        { without: ['events'] },
      ),
    ).rejects.toThrow('the import wrote events, which it was not staged with: nothing written back');
    expect(await uuids()).toEqual(before);
  });

  it('imports events on ClickHouse only through the stage: the engine has no import steps of its own', async () => {
    // The neutral importer finds an engine's steps in the registry (store/event-import.ts);
    // ClickHouse has none, so a direct import says where to go and stores nothing, and the
    // stage (a DuckDB store) has them.
    expect(await eventImportSteps(ch)).toBeUndefined();
    const f = join(dir, 'direct.jsonl');
    writeFileSync(f, line('direct-1', '2024-03-06T00:00:00Z') + '\n');
    const before = await uuids();
    await expect(importEvents(ch, f)).rejects.toThrow(
      /needs a store that loads events itself.*withImportStore/,
    );
    expect(await finishInterruptedImports(ch)).toBe(0);
    expect(await uuids()).toEqual(before);
    await withImportStore(ch, async (e) => {
      expect(await eventImportSteps(e)).toBeDefined();
      const report = await importEvents(e, f);
      expect(report).toMatchObject({ records: 1, inserted: 1, duplicates: 0 });
    });
    expect(await uuids()).toEqual([...before, 'direct-1'].sort());
  });
});
