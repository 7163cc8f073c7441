import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runSextant } from '../../test/helpers/cli.js';

// The built CLI (`npm run build` first; `npm test` does), run as a child process without blocking
// the test worker (a blocked worker misses vitest's heartbeats on a busy machine).
async function sextant(args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  const r = await runSextant(args);
  return { status: r.code, stdout: r.stdout, stderr: r.stderr };
}

describe('sextant import events (built CLI)', () => {
  it('exits 0 on a clean file and 2 with a summary of the bad records on stderr', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sextant-cli-events-'));
    const db = join(dir, 'store', 'sextant.duckdb');
    const good = join(dir, 'good.jsonl');
    const bad = join(dir, 'bad.jsonl');
    const ev = (event: string, t: string): string =>
      JSON.stringify({ event, distinct_id: 'd1', timestamp: t, properties: {} });
    writeFileSync(good, ev('a', '2024-01-05T00:00:00Z') + '\n' + ev('b', '2024-01-06T00:00:00Z') + '\n');
    writeFileSync(bad, ev('c', '2024-01-07T00:00:00Z') + '\n{"event":"d"\n' + ev('e', 'later') + '\n');

    const ok = await sextant(['--db', db, 'import', 'events', good]);
    expect(ok.stderr).toBe('');
    expect(ok.stdout).toBe(`${good}: 2 records: 2 new, 0 updated, 0 duplicates, 0 rejected\n`);
    expect(ok.status).toBe(0);

    const again = await sextant(['--db', db, 'import', 'events', good, bad]);
    expect(again.status).toBe(2);
    expect(again.stdout).toContain(
      `${good}: 2 records: 0 new, 0 updated, 2 duplicates (2 content+occurrence, already stored), 0 rejected\n`,
    );
    const lines = again.stderr.trimEnd().split('\n');
    // The summary: counts per reason, the bad records (at most 5 shown), then the one-line error.
    expect(lines.slice(1, 6)).toEqual([
      `  1 × invalid JSON (truncated or malformed) (first: line 2)`,
      `  1 × field 'timestamp': not an ISO 8601 timestamp (first: line 3)`,
      '  the bad records:',
      `    ${bad}:2: invalid JSON (truncated or malformed)`,
      `    ${bad}:3, field 'timestamp': not an ISO 8601 timestamp: later`,
    ]);
    expect(lines).toHaveLength(7);
    expect(lines[6]).toMatch(
      new RegExp(
        `^sextant: ${bad}:2: invalid JSON \\(truncated or malformed\\) \\(2 bad records in all; written to (.+\\.rejects)\\)$`,
      ),
    );
    const rejects = /written to (.+\.rejects)\)$/.exec(lines[6]!)![1]!;
    expect(lines[0]).toBe(`sextant: ${bad}: 2 of 3 records rejected, all written to ${rejects}:`);
    expect(rejects.startsWith(join(dir, 'store', 'rejects', 'bad.jsonl.'))).toBe(true);
    expect(readFileSync(rejects, 'utf8')).toBe('{"event":"d"\n' + ev('e', 'later') + '\n');

    const verbose = await sextant(['--db', db, '--verbose', 'import', 'events', bad]);
    expect(verbose.status).toBe(2);
    expect(verbose.stderr).toContain(`    ${bad}:3, field 'timestamp': not an ISO 8601 timestamp: later\n`);

    const missing = await sextant(['--db', db, 'import', 'events', join(dir, 'nope.jsonl')]);
    expect(missing.status).toBe(2);
    expect(missing.stderr).toMatch(/nope\.jsonl: cannot read/);
  });

  it('rejects events dated beyond the clock-skew allowance, which --clock-skew sets', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sextant-cli-skew-'));
    const db = join(dir, 'sextant.duckdb');
    const soon = join(dir, 'soon.jsonl');
    const t = new Date(Date.now() + 5 * 3600_000).toISOString(); // 5 hours ahead
    writeFileSync(soon, JSON.stringify({ event: 'a', distinct_id: 'd', timestamp: t }) + '\n');
    const strict = await sextant(['--db', db, 'import', 'events', soon]);
    expect(strict.status).toBe(2);
    expect(strict.stderr).toContain(
      `in the future (more than the clock-skew allowance after the import): ${t}`,
    );
    const lenient = await sextant(['--db', db, 'import', 'events', '--clock-skew', '6h', soon]);
    expect(lenient.stdout).toBe(`${soon}: 1 record: 1 new, 0 updated, 0 duplicates, 0 rejected\n`);
    expect(lenient.status).toBe(0);
    const wrong = await sextant(['--db', db, 'import', 'events', '--clock-skew', 'soon', soon]);
    expect(wrong.status).toBe(2);
    expect(wrong.stderr).toContain("field '--clock-skew': not a duration");
  });
});
