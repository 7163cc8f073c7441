/**
 * Identity resolved only where new merges reach (`resolveIdentity`, its proof in the comment
 * there) must give the map a full recomputation gives. Random merge histories, many seeds: ids of
 * a small pool so components grow, merge and split (a late `$identify` of an already identified
 * anonymous id is refused, an earlier one wins), every kind of merge, timestamps in no order
 * across files. Each history is imported file by file into one store (each import resolves
 * only its area) and, after each file, compared with a store that imported everything so far as
 * one file: the map, every event's person and the persons must be equal, and a full
 * recomputation afterwards must change nothing. Timestamps fall on quarter hours of 3 days, so
 * merges at one time (ties broken by uuid) are common.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Random } from '../../demo/random.js';
import { applyIdentity } from '../../ingest/posthog/identity.js';
import { importEvents } from '../../ingest/posthog/import-events.js';
import { eventsWithPersons } from '../events.js';
import { raw, sql } from '../sql.js';
import { runSextant } from '../../../test/helpers/cli.js';
import { DuckDbEngine } from './engine.js';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'sextant-identity-area-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A history of `n` events over a pool of `ids` distinct ids, with merges of every kind. */
function history(seed: number, n: number, ids: number): string[] {
  const r = new Random(seed);
  const id = (): string => `u${r.int(0, ids - 1)}`;
  const lines: string[] = [];
  for (let i = 0; i < n; i++) {
    const ts = new Date(Date.UTC(2026, 0, 1) + r.int(0, 3 * 24 * 4) * 15 * 60_000).toISOString();
    const into = id();
    const roll = r.float();
    const [event, properties]: [string, Record<string, unknown>] =
      roll < 0.35
        ? ['$identify', { $anon_distinct_id: id(), $set: { plan: `p${r.int(0, 3)}` } }]
        : roll < 0.45
          ? ['$create_alias', { alias: id() }]
          : roll < 0.5
            ? ['$merge_dangerously', { alias: id() }]
            : ['page viewed', r.chance(0.3) ? { $set_once: { first: `f${i}` } } : {}];
    lines.push(
      JSON.stringify({ event, distinct_id: into, timestamp: ts, uuid: `e-${seed}-${i}`, properties }),
    );
  }
  return lines;
}

const MAP = raw('SELECT distinct_id, person_id FROM person_distinct_ids ORDER BY distinct_id');
const RESOLVED = sql`SELECT uuid, person_id FROM ${eventsWithPersons()} ORDER BY uuid`;
const PERSONS = raw(
  'SELECT person_id, is_identified, created_at, properties::VARCHAR AS p FROM persons ORDER BY person_id',
);

async function store(): Promise<DuckDbEngine> {
  const e = await DuckDbEngine.open(':memory:');
  await e.migrate();
  return e;
}

describe('identity resolved where new merges reach', () => {
  it('equals the full recomputation after every file of random merge histories (12 seeds, 4 files each)', async () => {
    let moved = 0;
    for (let seed = 1; seed <= 12; seed++) {
      const lines = history(seed, 48, seed % 2 ? 8 : 14);
      const cuts = [0, 12, 24, 36, 48];
      const stepwise = await store();
      try {
        let before: { distinct_id: string; person_id: string }[] = [];
        for (let k = 1; k < cuts.length; k++) {
          const label = `seed ${seed}, file ${k}`;
          const part = join(dir, `s${seed}-${k}.jsonl`);
          writeFileSync(part, lines.slice(cuts[k - 1], cuts[k]).join('\n') + '\n');
          await importEvents(stepwise, part);
          // The same events as one file into a fresh store: every merge new, the whole map.
          const prefix = join(dir, `s${seed}-0-${k}.jsonl`);
          writeFileSync(prefix, lines.slice(0, cuts[k]).join('\n') + '\n');
          const once = await store();
          try {
            await importEvents(once, prefix);
            const map = await stepwise.query<{ distinct_id: string; person_id: string }>(MAP);
            expect(map, label).toEqual(await once.query(MAP));
            expect(await stepwise.query(RESOLVED), label).toEqual(await once.query(RESOLVED));
            expect(await stepwise.query(PERSONS), label).toEqual(await once.query(PERSONS));
            const was = new Map(before.map((r) => [r.distinct_id, r.person_id]));
            moved += map.filter(
              (r) => was.has(r.distinct_id) && was.get(r.distinct_id) !== r.person_id,
            ).length;
            before = map;
          } finally {
            await once.close();
          }
        }
        // A full recomputation over every event finds nothing to change.
        await applyIdentity(stepwise);
        expect(await stepwise.query(MAP), `seed ${seed}`).toEqual(before);
      } finally {
        await stepwise.close();
      }
    }
    // Ids did move between persons from one file to the next (merges, and refusals that split).
    expect(moved).toBeGreaterThan(12);
  }, 120_000);
});

describe('a map that lags its merges', () => {
  const line = (event: string, id: string, t: string, uuid: string, properties: object = {}): string =>
    JSON.stringify({ event, distinct_id: id, timestamp: `2026-02-0${t}T10:00:00Z`, uuid, properties });
  const first = [
    line('page viewed', 'a1', '1', 'p1', { $set: { plan: 'free' } }),
    line('$identify', 'u1', '2', 'i1', { $anon_distinct_id: 'a1' }),
    line('page viewed', 'u2', '2', 'p2'),
  ];
  // Other people, with a merge of their own: the area of this import does not reach a1 or u1.
  const second = [
    line('$identify', 'u3', '3', 'i2', { $anon_distinct_id: 'b1' }),
    line('page viewed', 'u2', '4', 'p3'),
  ];

  it('is made whole by migration 028 and by `sextant migrate`; imports alone would not', async () => {
    const files = [first, second].map((lines, k) => {
      const f = join(dir, `lag-${k}.jsonl`);
      writeFileSync(f, lines.join('\n') + '\n');
      return f;
    });
    const clean = await store();
    for (const f of files) await importEvents(clean, f);
    const want = {
      map: await clean.query(MAP),
      resolved: await clean.query(RESOLVED),
      persons: await clean.query(PERSONS),
    };
    await clean.close();
    expect(want.map).toContainEqual({ distinct_id: 'a1', person_id: 'u1' });

    // As a kill between a ClickHouse import's write-back of identity_merges and of the map leaves it.
    const db = join(dir, 'lagging.duckdb');
    let e = await DuckDbEngine.open(db);
    await e.migrate();
    await importEvents(e, files[0]!);
    await e.exec(raw(`UPDATE person_distinct_ids SET person_id = 'a1' WHERE distinct_id = 'a1'`));
    await importEvents(e, files[1]!);
    expect(await e.query(MAP)).toContainEqual({ distinct_id: 'a1', person_id: 'a1' });
    await e.close();

    // `sextant migrate` into a DuckDB file makes the copy whole (the source stays as it is).
    const copy = join(dir, 'copy.duckdb');
    const run = await runSextant(['--db', db, 'migrate', '--to', copy]);
    expect(run.code, run.stderr).toBe(0);
    const c = await DuckDbEngine.open(copy);
    expect(await c.query(MAP)).toEqual(want.map);
    expect(await c.query(RESOLVED)).toEqual(want.resolved);
    expect(await c.query(PERSONS)).toEqual(want.persons);
    await c.close();

    // Migration 028 again, as on a store from before it.
    e = await DuckDbEngine.open(db);
    await e.exec(raw('DELETE FROM schema_migrations WHERE version = 28'));
    await e.migrate();
    expect(await e.query(MAP)).toEqual(want.map);
    expect(await e.query(RESOLVED)).toEqual(want.resolved);
    expect(await e.query(PERSONS)).toEqual(want.persons);
    await e.close();
  }, 60_000);
});
