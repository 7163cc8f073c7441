/**
 * Identity as overrides (docs/ingest.md, "Identity"): events keep the person_id they were written
 * with, a merge that arrives later is recorded in `person_overrides` (distinct_id → person now,
 * versioned) and every read resolves an event's person through `eventsWithPersons()`. Each case
 * runs on DuckDB and on ClickHouse (chdb: the same imports through the DuckDB stage, the same
 * query text), with hand-computed answers.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openChdb } from '../../store/clickhouse/test-chdb.js';
import { DuckDbEngine } from '../../store/duckdb/engine.js';
import type { Engine } from '../../store/engine.js';
import { eventsWithPersons } from '../../store/events.js';
import { withImportStore } from '../../store/staging.js';
import { raw, sql } from '../../store/sql.js';
import { importEvents } from './import-events.js';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'sextant-overrides-'));
});

let fileNo = 0;
function file(lines: readonly string[]): string {
  const f = join(dir, `f${++fileNo}.jsonl`);
  writeFileSync(f, lines.join('\n') + '\n');
  return f;
}

function e(event: string, distinctId: string, timestamp: string, uuid: string, props: object = {}): string {
  return JSON.stringify({ event, distinct_id: distinctId, timestamp, uuid, properties: props });
}

const identify = (into: string, anon: string, t: string, uuid: string): string =>
  e('$identify', into, t, uuid, { $anon_distinct_id: anon });

interface Stores {
  engines: Engine[];
  /** Imports `f` into every store (ClickHouse through its import stage). */
  importAll(f: string, o?: { chunkBytes?: number }): Promise<void>;
  close(): Promise<void>;
}

async function stores(): Promise<Stores> {
  const duck = await DuckDbEngine.open(':memory:');
  await duck.migrate();
  const ch = await openChdb();
  return {
    engines: [duck, ch],
    async importAll(f, o = {}) {
      await importEvents(duck, f, o);
      await withImportStore(ch, (s) => importEvents(s, f, o));
    },
    async close() {
      await duck.close();
      await ch.close();
    },
  };
}

/** Every event's person now, as every analysis reads it. */
const RESOLVED = sql`SELECT uuid, person_id FROM ${eventsWithPersons()} ORDER BY uuid`;
/** The person_id each event was written with. */
const WRITTEN = raw('SELECT uuid, person_id FROM events ORDER BY uuid');
const OVERRIDES = raw('SELECT distinct_id, person_id, version FROM person_overrides ORDER BY distinct_id');
const PERSONS = raw(
  'SELECT person_id, is_identified, created_at, properties FROM persons ORDER BY person_id',
);

/** `q` on every engine: the answers must be equal; returns DuckDB's. */
async function same<T>(s: Stores, q: ReturnType<typeof sql>): Promise<T[]> {
  const [a, ...rest] = await Promise.all(s.engines.map((x) => x.query<T>(q)));
  for (const [i, b] of rest.entries()) expect(b, `${s.engines[i + 1]!.name}: ${q.toString()}`).toEqual(a);
  return a!;
}

const byUuid = (pairs: Record<string, string>): { uuid: string; person_id: string }[] =>
  Object.entries(pairs).map(([uuid, person_id]) => ({ uuid, person_id }));

describe('identity overrides, on DuckDB and ClickHouse', () => {
  it('a chain A→B, then B→C (in a later import), resolves every event to C; events are not rewritten', async () => {
    const s = await stores();
    try {
      await s.importAll(
        file([
          e('$pageview', 'a', '2024-03-01T10:00:00Z', 'u1'),
          e('$pageview', 'a', '2024-03-01T11:00:00Z', 'u2'),
          e('$pageview', 'b', '2024-03-02T10:00:00Z', 'u3'),
        ]),
      );
      // a → b: a's two events are already stored (late merge).
      await s.importAll(
        file([
          identify('b', 'a', '2024-03-02T12:00:00Z', 'u4'),
          e('$pageview', 'a', '2024-03-02T13:00:00Z', 'u5'),
        ]),
      );
      expect(await same(s, RESOLVED)).toEqual(byUuid({ u1: 'b', u2: 'b', u3: 'b', u4: 'b', u5: 'b' }));
      expect(await same(s, OVERRIDES)).toEqual([{ distinct_id: 'a', person_id: 'b', version: 1 }]);
      // c was identified (x → c, 02-28) before b was (03-02): merging b into c makes the person c,
      // the earliest identified id of the component {a, b, c, x}.
      await s.importAll(
        file([
          identify('c', 'x', '2024-02-28T00:00:00Z', 'u6'),
          e('$merge_dangerously', 'c', '2024-03-03T00:00:00Z', 'u7', { alias: 'b' }),
          e('$pageview', 'c', '2024-03-03T01:00:00Z', 'u8'),
        ]),
      );
      const all = { u1: 'c', u2: 'c', u3: 'c', u4: 'c', u5: 'c', u6: 'c', u7: 'c', u8: 'c' };
      expect(await same(s, RESOLVED)).toEqual(byUuid(all));
      // Written as they were: a's first two on a, b's and the post-merge a event on b, the last import's on c.
      expect(await same(s, WRITTEN)).toEqual(
        byUuid({ u1: 'a', u2: 'a', u3: 'b', u4: 'b', u5: 'b', u6: 'c', u7: 'c', u8: 'c' }),
      );
      // a's override moved on (version 2), b got one; x has no events, c is its own.
      expect(await same(s, OVERRIDES)).toEqual([
        { distinct_id: 'a', person_id: 'c', version: 2 },
        { distinct_id: 'b', person_id: 'c', version: 2 },
      ]);
      // One person, created at its first event (u6, 02-28), identified.
      expect(await same(s, PERSONS)).toEqual([
        { person_id: 'c', is_identified: true, created_at: '2024-02-28T00:00:00.000Z', properties: '{}' },
      ]);
      // An analysis-shaped count: events per person now.
      expect(
        await same(
          s,
          sql`SELECT person_id, count(*) AS n FROM ${eventsWithPersons()} GROUP BY person_id ORDER BY person_id`,
        ),
      ).toEqual([{ person_id: 'c', n: 8 }]);
    } finally {
      await s.close();
    }
  });

  it('a late, earlier-dated $identify takes an anonymous id from the person it was merged into', async () => {
    const s = await stores();
    try {
      await s.importAll(
        file([
          e('$pageview', 'anon', '2024-03-01T10:00:00Z', 'v1'),
          e('$pageview', 'bob', '2024-03-01T11:00:00Z', 'v2'),
          e('$pageview', 'alice', '2024-03-01T12:00:00Z', 'v3'),
        ]),
      );
      await s.importAll(file([identify('alice', 'anon', '2024-03-03T00:00:00Z', 'v4')]));
      expect(await same(s, RESOLVED)).toEqual(byUuid({ v1: 'alice', v2: 'bob', v3: 'alice', v4: 'alice' }));
      // Arrives last, dated first: anon's first $identify is bob's (PostHog: an anonymous id is
      // identified once), so alice's is refused and anon's events go to bob.
      await s.importAll(file([identify('bob', 'anon', '2024-03-02T00:00:00Z', 'v5')]));
      expect(await same(s, RESOLVED)).toEqual(
        byUuid({ v1: 'bob', v2: 'bob', v3: 'alice', v4: 'alice', v5: 'bob' }),
      );
      expect(await same(s, WRITTEN)).toEqual(
        byUuid({ v1: 'anon', v2: 'bob', v3: 'alice', v4: 'alice', v5: 'bob' }),
      );
      expect(await same(s, OVERRIDES)).toEqual([{ distinct_id: 'anon', person_id: 'bob', version: 2 }]);
      // alice lost anon's 10:00 event: created at her own 12:00 one; bob has it.
      expect(await same(s, PERSONS)).toEqual([
        { person_id: 'alice', is_identified: true, created_at: '2024-03-01T12:00:00.000Z', properties: '{}' },
        { person_id: 'bob', is_identified: true, created_at: '2024-03-01T10:00:00.000Z', properties: '{}' },
      ]);

      // The same five events in one import, in another order: the same persons now.
      const one = await DuckDbEngine.open(':memory:');
      try {
        await one.migrate();
        await importEvents(
          one,
          file([
            identify('bob', 'anon', '2024-03-02T00:00:00Z', 'v5'),
            identify('alice', 'anon', '2024-03-03T00:00:00Z', 'v4'),
            e('$pageview', 'alice', '2024-03-01T12:00:00Z', 'v3'),
            e('$pageview', 'bob', '2024-03-01T11:00:00Z', 'v2'),
            e('$pageview', 'anon', '2024-03-01T10:00:00Z', 'v1'),
          ]),
        );
        expect(await one.query(RESOLVED)).toEqual(await s.engines[0]!.query(RESOLVED));
        expect(await one.query(PERSONS)).toEqual(await s.engines[0]!.query(PERSONS));
        // Written after its merges were known: nothing to override.
        expect(await one.query(OVERRIDES)).toEqual([]);
      } finally {
        await one.close();
      }
    } finally {
      await s.close();
    }
  });

  it('a merge imported again, or repeated under another uuid, writes no new override', async () => {
    const s = await stores();
    try {
      await s.importAll(file([e('$pageview', 'anon', '2024-03-01T10:00:00Z', 'w1')]));
      const merge = file([identify('user', 'anon', '2024-03-01T11:00:00Z', 'w2')]);
      await s.importAll(merge);
      const once = [{ distinct_id: 'anon', person_id: 'user', version: 1 }];
      expect(await same(s, OVERRIDES)).toEqual(once);
      await s.importAll(merge); // the same uuid: a duplicate, not stored
      // The same merge again under a new uuid, later: stored, same person, no override change.
      await s.importAll(file([identify('user', 'anon', '2024-03-01T12:00:00Z', 'w3')]));
      expect(await same(s, OVERRIDES)).toEqual(once);
      expect(await same(s, RESOLVED)).toEqual(byUuid({ w1: 'user', w2: 'user', w3: 'user' }));
      expect(await same(s, raw('SELECT count(*) AS n FROM identity_merges'))).toEqual([{ n: 2 }]);
    } finally {
      await s.close();
    }
  });

  it('real posthog-js capture output: the anonymous device id joins the user, its $identify first or last', async () => {
    const real = 'test/fixtures/real/posthog-payloads/decoded_events.jsonl';
    const user = 'pWAkITyQ3CN7332UqQxnH6p3FV8VJd7pY647EdNkxWc';
    const anon = '018a981f-4b2d-78ae-947b-bedbaa02a0f4';
    // The dump's first line is the $identify; the same lines with it last, loaded one line per
    // chunk, store the anonymous id's events before the merge is known (a late merge).
    const [first, ...rest] = readFileSync(real, 'utf8').trimEnd().split('\n');
    expect(JSON.parse(first!)).toMatchObject({ event: '$identify' });
    const late = file([...rest, first!]);
    const perPerson = sql`SELECT person_id, count(*) AS n FROM ${eventsWithPersons()}
      WHERE distinct_id IN (${user}, ${anon}) GROUP BY person_id`;
    const whole = await stores();
    const chunked = await stores();
    try {
      await whole.importAll(real);
      await chunked.importAll(late, { chunkBytes: 1 });
      // 79 lines of the user + 3 of the anonymous id, less 6 repeated uuids (import-events.test.ts).
      expect(await same(whole, perPerson)).toEqual([{ person_id: user, n: 76 }]);
      expect(await same(chunked, perPerson)).toEqual([{ person_id: user, n: 76 }]);
      // $identify first: resolved before the anonymous id's events are written, no override.
      expect(await same(whole, OVERRIDES)).toEqual([]);
      // Last: the anonymous id's 2 stored events (a pageview, an $opt_in sent twice) stay written
      // on it, and one override moves them.
      expect(await same(chunked, OVERRIDES)).toEqual([{ distinct_id: anon, person_id: user, version: 1 }]);
      expect(
        await same(
          chunked,
          sql`SELECT count(*) AS n FROM events WHERE distinct_id = ${anon} AND person_id = ${anon}`,
        ),
      ).toEqual([{ n: 2 }]);
      expect(await same(chunked, RESOLVED)).toEqual(await whole.engines[0]!.query(RESOLVED));
      expect(await same(chunked, PERSONS)).toEqual(await whole.engines[0]!.query(PERSONS));
    } finally {
      await whole.close();
      await chunked.close();
    }
  }, 300_000);
});

describe('person_overrides on ClickHouse (ReplacingMergeTree, read FINAL)', () => {
  let ch: Engine;
  beforeAll(async () => {
    ch = await openChdb();
  });
  afterAll(async () => {
    await ch.close();
  });

  it('reads the latest version of a distinct_id’s override, before and after a merge of parts', async () => {
    await ch.insert('events', [
      { uuid: 'e1', event: 'x', distinct_id: 'a', person_id: 'a', timestamp: '2024-03-01T00:00:00.000000Z' },
      { uuid: 'e2', event: 'x', distinct_id: 'z', person_id: 'z', timestamp: '2024-03-01T00:00:00.000000Z' },
    ]);
    // Two inserts, two parts: a → b, then a → c.
    await ch.upsert('person_overrides', [{ distinct_id: 'a', person_id: 'b', version: 1 }], ['distinct_id']);
    await ch.upsert('person_overrides', [{ distinct_id: 'a', person_id: 'c', version: 2 }], ['distinct_id']);
    const q = sql`SELECT uuid, person_id FROM ${eventsWithPersons()} ORDER BY uuid`;
    const want = byUuid({ e1: 'c', e2: 'z' });
    expect(await ch.query(q)).toEqual(want);
    await ch.exec(raw('OPTIMIZE TABLE person_overrides FINAL'));
    expect(await ch.query(q)).toEqual(want);
    expect(await ch.query(raw('SELECT count(*) AS n FROM person_overrides'))).toEqual([{ n: 1 }]);
  });
});
