import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { DuckDbEngine } from '../store/duckdb/engine.js';
import { raw } from '../store/sql.js';
import { run } from './program.js';

describe('sextant import feedback', () => {
  it('exits 0 on a clean file, 2 with one line naming file, line and field on bad records', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sextant-cli-feedback-'));
    const db = join(dir, 'store', 'sextant.duckdb');
    const good = join(dir, 'good.jsonl');
    const bad = join(dir, 'bad.csv');
    writeFileSync(good, JSON.stringify({ id: 'a', kind: 'ticket', created_at: '2024-01-05' }) + '\n');
    writeFileSync(bad, 'id,kind,created_at\nb,request,2024-01-06\nc,ticket,yesterday\n');
    const err = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    const out = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    try {
      expect(await run(['--db', db, 'import', 'feedback', good])).toBe(0);
      expect(await run(['--db', db, 'import', 'feedback', bad])).toBe(2);
      const lines = err.mock.calls.map((c) => String(c[0]));
      expect(lines.at(-1)).toMatch(/bad\.csv:3, field 'created_at': not an ISO 8601 date: 'yesterday'/);
      expect(String(out.mock.calls.at(-1)?.[0])).toContain(
        '2 records: 1 new, 0 updated, 0 duplicates, 1 rejected',
      );
      // A file that is not there is bad input too, named in the message.
      expect(await run(['--db', db, 'import', 'feedback', join(dir, 'missing.csv')])).toBe(2);
      expect(String(err.mock.calls.at(-1)?.[0])).toMatch(/missing\.csv: cannot read/);
    } finally {
      err.mockRestore();
      out.mockRestore();
    }
    // The rejects file sits beside the database; the good records of both files are stored.
    expect(readdirSync(join(dir, 'store', 'rejects'))).toEqual([
      expect.stringMatching(/^bad\.csv\.\d{8}T\d{6}Z\.rejects$/),
    ]);
    const e = await DuckDbEngine.open(db);
    const rows = await e.query<{ id: string }>(raw('SELECT id FROM feedback ORDER BY id'));
    await e.close();
    expect(rows.map((r) => r.id)).toEqual(['a', 'b']);
  });
});
