import { writeFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';

/** A small deterministic generator (mulberry32), so a failing kill can be replayed. */
export function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * PostHog-format events as gzip JSON Lines, with what makes an import more than an append:
 * anonymous ids merged by `$identify`, `$set` person properties, organizations in `$groups` with
 * `$groupidentify`, a uuid repeated far apart in the file (so two chunks store it), a few events
 * without uuid, and `prefix`-named users so a second file overlaps the first in people.
 */
export function writeEventsFile(file: string, opts: { n: number; seed: number; from: string }): void {
  const rnd = random(opts.seed);
  const start = Date.parse(opts.from);
  const lines: string[] = [];
  const repeated: string[] = [];
  for (let i = 0; i < opts.n; i++) {
    const user = Math.floor(rnd() * 120);
    const org = `org-${user % 9}`;
    const ts = new Date(start + i * 37_000 + Math.floor(rnd() * 1000)).toISOString();
    const uuid = `${opts.seed.toString(16).padStart(8, '0')}-0000-4000-8000-${i.toString(16).padStart(12, '0')}`;
    let e: Record<string, unknown>;
    if (i % 97 === 5) {
      e = {
        event: '$identify',
        distinct_id: `user-${user}`,
        timestamp: ts,
        uuid,
        properties: {
          $anon_distinct_id: `anon-${user}`,
          $set: { email: `u${user}@${org}.test`, plan: `p${i % 3}` },
        },
      };
    } else if (i % 131 === 7) {
      e = {
        event: '$groupidentify',
        distinct_id: `user-${user}`,
        timestamp: ts,
        uuid,
        properties: {
          $group_type: 'organization',
          $group_key: org,
          $group_set: { name: org.toUpperCase(), seats: i },
        },
      };
    } else {
      const anon = rnd() < 0.3;
      e = {
        event: ['page viewed', 'report created', 'report exported', 'invite sent'][Math.floor(rnd() * 4)],
        distinct_id: anon ? `anon-${user}` : `user-${user}`,
        timestamp: ts,
        properties: { $groups: { organization: org }, path: `/r/${Math.floor(rnd() * 50)}`, n: i },
      };
      // Events without uuid are kept as they are (their identity is the importer's rule).
      if (i % 53 !== 11) e.uuid = uuid;
    }
    const line = JSON.stringify(e);
    lines.push(line);
    if (i % 211 === 3) repeated.push(line);
  }
  // The repeats go at the end, chunks away from their first copies.
  writeFileSync(file, gzipSync([...lines, ...repeated].join('\n') + '\n'));
}
