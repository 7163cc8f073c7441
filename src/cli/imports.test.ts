import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCaptured } from '../../test/helpers/cli-in-process.js';

describe('sextant imports', () => {
  it('lists what was imported when, from which file, with which counts, and a total line', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sextant-cli-imports-'));
    const db = join(dir, 'sextant.duckdb');
    const fb = join(dir, 'feedback.csv');
    writeFileSync(fb, 'id,kind,created_at,score\nf1,nps,2024-01-01,9\nf2,nps,2024-01-01,x\n');
    const billing = join(dir, 'billing.jsonl');
    writeFileSync(
      billing,
      JSON.stringify({ object: 'customer', id: 'cus_1' }) +
        '\n' +
        JSON.stringify({ object: 'charge', id: 'ch_1' }) +
        '\n',
    );
    expect((await runCaptured(['--db', db, 'import', 'feedback', fb])).code).toBe(2);
    expect((await runCaptured(['--db', db, 'import', 'stripe', billing])).code).toBe(0);
    expect((await runCaptured(['--db', db, 'import', 'stripe', billing])).code).toBe(0);

    const json = await runCaptured(['--db', db, '--json', 'imports']);
    expect(json.code).toBe(0);
    const parsed = JSON.parse(json.out) as {
      imports: Array<Record<string, unknown>>;
      total: Record<string, number>;
    };
    expect(
      parsed.imports.map((r) => [r.kind, r.source, r.records, r.inserted, r.duplicates, r.rejected]),
    ).toEqual([
      ['feedback', fb, 2, 1, 0, 1],
      ['stripe', billing, 2, 1, 0, 0],
      ['stripe', billing, 2, 0, 1, 0],
    ]);
    expect(parsed.total).toEqual({
      imports: 3,
      records: 6,
      inserted: 2,
      updated: 0,
      duplicates: 1,
      skipped: 2,
      rejected: 1,
      unfinished: 0,
    });

    const text = await runCaptured(['--db', db, 'imports']);
    const lines = text.out.trimEnd().split('\n');
    expect(lines).toHaveLength(5);
    expect(lines[0]).toMatch(
      /^imported at \(UTC\)\s+kind\s+records\s+new\s+updated\s+duplicates\s+skipped\s+rejected\s+file$/,
    );
    expect(lines[1]).toMatch(
      /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ\s+feedback\s+2\s+1\s+0\s+0\s+0\s+1 → .*feedback\.csv\..*rejects.*feedback\.csv$/,
    );
    expect(lines[3]).toMatch(/stripe\s+2\s+0\s+0\s+1 \(1 stripe id, unchanged\)\s+1\s+0\s+.*billing\.jsonl$/);
    expect(lines[4]).toMatch(/^total: 3 imports\s+6\s+2\s+0\s+1\s+2\s+1$/);

    const kind = await runCaptured(['--db', db, 'imports', '--kind', 'stripe']);
    expect(kind.out.trimEnd().split('\n')).toHaveLength(4);
    const bad = await runCaptured(['--db', db, 'imports', '--kind', 'charges']);
    expect(bad.code).toBe(2);
    expect(bad.err).toContain(
      "field '--kind': expected one of events, stripe, subscriptions, feedback, got 'charges'",
    );
  });
});
