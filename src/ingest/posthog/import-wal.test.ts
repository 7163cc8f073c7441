import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { raw } from '../../store/sql.js';
import { DuckDbEngine } from '../../store/duckdb/engine.js';
import { sizeBytes } from '../../store/duckdb/ingest-events.js';
import { importEvents } from './import-events.js';

let dir = '';
afterEach(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function walSize(db: string): number {
  return existsSync(`${db}.wal`) ? statSync(`${db}.wal`).size : 0;
}

it('reads DuckDB size settings as bytes', () => {
  expect(sizeBytes('16.0 MiB')).toBe(16 * 1024 * 1024);
  expect(sizeBytes('256.0 KiB')).toBe(256 * 1024);
  expect(sizeBytes('1.0 GB')).toBe(1e9);
  expect(sizeBytes('0 bytes')).toBe(0);
  expect(sizeBytes('lots')).toBeUndefined();
});

// A process that imports small files again and again (the server's capture loader) keeps its
// WAL within the store's checkpoint threshold: the imports run with checkpoints held back, and
// nothing committed afterwards would let DuckDB checkpoint by itself.
it('a long-running process importing small files keeps the WAL under the checkpoint threshold', async () => {
  dir = mkdtempSync(join(tmpdir(), 'sextant-wal-'));
  const db = join(dir, 'store.duckdb');
  const engine = await DuckDbEngine.open(db);
  try {
    await engine.migrate();
    await engine.exec(raw(`SET checkpoint_threshold = '256KB'`));
    const [before] = await engine.query<{ c: string }>(
      raw(`SELECT current_setting('checkpoint_threshold') AS c`),
    );
    const threshold = sizeBytes(before?.c ?? '') ?? 0;
    expect(threshold).toBeGreaterThan(0);
    let stored = 0;
    for (let k = 0; k < 4; k++) {
      const file = join(dir, `part-${k}.jsonl`);
      const lines = Array.from({ length: 2000 }, (_, i) =>
        JSON.stringify({
          uuid: `00000000-0000-4000-8000-${String(k * 10_000 + i).padStart(12, '0')}`,
          event: i % 3 ? 'page viewed' : 'report exported',
          distinct_id: `user-${i % 97}`,
          timestamp: new Date(Date.UTC(2026, 9, 1 + (i % 28), i % 24)).toISOString(),
          properties: { $current_url: `https://example.com/reports/${i}`, plan: i % 2 ? 'pro' : 'free', k },
        }),
      );
      writeFileSync(file, lines.join('\n') + '\n');
      const report = await importEvents(engine, file);
      stored += report.inserted;
      expect(report.inserted).toBe(2000);
      // Each import writes more than the threshold to the WAL (checked: without the checkpoint at
      // its end this fails at the first import, 395,277 bytes, and the WAL grows by every import).
      expect(walSize(db)).toBeLessThanOrEqual(threshold);
    }
    const [after] = await engine.query<{ c: string; n: number }>(
      raw(`SELECT current_setting('checkpoint_threshold') AS c, (SELECT count(*)::INTEGER FROM events) AS n`),
    );
    expect(after?.c).toBe(before?.c);
    expect(after?.n).toBe(stored);
  } finally {
    await engine.close();
  }
});
