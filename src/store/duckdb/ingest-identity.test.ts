/**
 * Identity resolved only where new merges reach (`resolveIdentity`, its proof in the comment
 * there) must give the map a full recomputation gives. Random merge histories, many seeds: ids of
 * a small pool so components grow, merge and split (a late `$identify` of an already identified
 * anonymous id is refused, an earlier one wins), every kind of merge, timestamps in no order
 * across files. Each history is imported file by file into one store (each import resolves
 * only its area) and as one file into another; the map, every event's person and the persons
 * must be equal, and a full recomputation afterwards must change nothing.
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
    const ts = new Date(Date.UTC(2026, 0, 1) + r.int(0, 30 * 24 * 60) * 60_000).toISOString();
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
  it('equals the full recomputation on random merge histories (20 seeds, 4 files each)', async () => {
    let changedComponents = 0;
    for (let seed = 1; seed <= 20; seed++) {
      const lines = history(seed, 48, seed % 2 ? 8 : 14);
      const cuts = [0, 12, 24, 36, 48];
      const files = cuts.slice(1).map((end, k) => {
        const f = join(dir, `s${seed}-${k}.jsonl`);
        writeFileSync(f, lines.slice(cuts[k], end).join('\n') + '\n');
        return f;
      });
      const whole = join(dir, `s${seed}.jsonl`);
      writeFileSync(whole, lines.join('\n') + '\n');

      const stepwise = await store();
      const once = await store();
      try {
        let people = 0;
        for (const f of files) {
          await importEvents(stepwise, f);
          const [p] = await stepwise.query<{ n: number }>(
            raw('SELECT count(DISTINCT person_id)::INTEGER AS n FROM person_distinct_ids'),
          );
          if (people && p!.n !== people) changedComponents++;
          people = p!.n;
        }
        await importEvents(once, whole);
        const label = `seed ${seed}`;
        const map = await stepwise.query(MAP);
        expect(map, label).toEqual(await once.query(MAP));
        expect(await stepwise.query(RESOLVED), label).toEqual(await once.query(RESOLVED));
        expect(await stepwise.query(PERSONS), label).toEqual(await once.query(PERSONS));
        // A full recomputation over every event finds nothing to change.
        await applyIdentity(stepwise);
        expect(await stepwise.query(MAP), label).toEqual(map);
      } finally {
        await stepwise.close();
        await once.close();
      }
    }
    // The histories did move people between imports (else the area was never exercised).
    expect(changedComponents).toBeGreaterThan(20);
  }, 120_000);
});
