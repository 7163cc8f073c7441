/**
 * An import of many new people: a company whose history is mostly `$identify` (each a new person
 * with an anonymous id and a `$set`). The import's batches run under a bounded memory limit, but
 * persons are stored with their primary key's index, which DuckDB cannot spill: 2M `$identify`
 * failed at the end of the import under 800MB, and every later import failed the same way. The
 * end of the import now has room for the persons (512 bytes per distinct_id, within the caller's
 * limit). Here at a tenth of the scale: the batches'
 * limit set to 256MB (`SEXTANT_IMPORT_MEMORY`, a test hook), 400,000 `$identify` (without the fix:
 * "Out of Memory Error", exit 1).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DuckDbEngine } from '../../src/store/duckdb/engine.js';
import { raw } from '../../src/store/sql.js';
import { runSextant } from '../helpers/cli.js';

const N = 400_000;
let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'sextant-many-persons-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('an import of 400,000 new people under a 256MB batch limit', () => {
  it('stores every person, with its anonymous id and $set, and finishes the import', async () => {
    const file = join(dir, 'identify.jsonl');
    const start = Date.UTC(2026, 0, 1);
    const lines: string[] = [];
    for (let i = 0; i < N; i++) {
      lines.push(
        JSON.stringify({
          event: '$identify',
          distinct_id: `user_${i}`,
          timestamp: new Date(start + i * 1000).toISOString(),
          uuid: `id-${i}`,
          properties: { $anon_distinct_id: `anon_${i}`, $set: { email: `u${i}@x.example` } },
        }),
      );
    }
    writeFileSync(file, lines.join('\n') + '\n');
    const db = join(dir, 's.duckdb');
    const run = await runSextant(['--db', db, 'import', 'events', file], { SEXTANT_IMPORT_MEMORY: '256MB' });
    expect(run.stderr).not.toMatch(/Out of Memory/);
    expect(run.code).toBe(0);

    const engine = await DuckDbEngine.open(db);
    try {
      const [c] = await engine.query<{ persons: number; ids: number; unfinished: number }>(
        raw(`SELECT (SELECT count(*) FROM persons)::INTEGER AS persons,
          (SELECT count(*) FROM person_distinct_ids)::INTEGER AS ids,
          (SELECT count(*) FROM imports WHERE finished_at IS NULL)::INTEGER AS unfinished`),
      );
      expect(c).toEqual({ persons: N, ids: 2 * N, unfinished: 0 });
      const last = `user_${N - 1}`;
      expect(
        await engine.query(
          raw(
            `SELECT person_id, properties::VARCHAR AS p, is_identified FROM persons WHERE person_id = '${last}'`,
          ),
        ),
      ).toEqual([{ person_id: last, p: `{"email":"u${N - 1}@x.example"}`, is_identified: true }]);
      expect(
        await engine.query(
          raw(`SELECT person_id FROM person_distinct_ids WHERE distinct_id = 'anon_${N - 1}'`),
        ),
      ).toEqual([{ person_id: last }]);
    } finally {
      await engine.close();
    }
  }, 120_000);
});
